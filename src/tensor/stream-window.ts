import { TensorsafeError } from '../errors.js';

/**
 * Bytes [skip, skip + length) of a stream that can only be read in order (an inflating zip member), as
 * chunks of `chunkBytes` (the last may be shorter). The output reuses one buffer: a chunk is valid until
 * the next is asked for. The rest of the stream is read to its end too, so that the stream's own
 * checks at the end (sizes, CRC-32) run; a stream that ends early is an error naming `what`.
 */
export async function* streamWindow(stream: AsyncIterable<Uint8Array>, skip: number, length: number, chunkBytes: number, what: string): AsyncGenerator<Uint8Array> {
  const step = Math.max(1, Math.min(chunkBytes, length));
  const out = new Uint8Array(length === 0 ? 0 : step);
  let filled = 0;
  let at = 0; // stream offset of the next input byte
  let taken = 0;
  for await (const chunk of stream) {
    const start = at;
    at += chunk.byteLength;
    let from = Math.max(0, skip + taken - start);
    while (taken < length && from < chunk.byteLength) {
      const n = Math.min(chunk.byteLength - from, out.byteLength - filled, length - taken);
      out.set(chunk.subarray(from, from + n), filled);
      from += n;
      filled += n;
      taken += n;
      if (filled === out.byteLength || taken === length) {
        yield out.subarray(0, filled);
        filled = 0;
      }
    }
  }
  if (taken < length) {
    throw new TensorsafeError('InvalidTensor', `${what}: the data ends after ${taken} of its ${length} bytes`);
  }
}
