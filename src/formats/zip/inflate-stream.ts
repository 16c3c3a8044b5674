import { Inflate } from 'fflate';
import { crc32 } from './crc32.js';
import { METHOD_DEFLATE, type ZipEntry } from './entry.js';
import { InflateProblem } from './inflate-problem.js';
import { INFLATE_INPUT_CHUNK_BYTES, ZIP_READ_CHUNK_BYTES } from './limits.js';
import { quoteName, zipError } from './report.js';

/**
 * The uncompressed bytes of a deflated entry as a stream, inflated while they are read: memory holds
 * one step's output (at most ~1032 × INFLATE_INPUT_CHUNK_BYTES), never the whole entry, so a member of
 * any size streams in bounded memory. The output must be exactly the declared size (zip bombs,
 * truncation), and, when the stream is read to its end, its CRC-32 must be the recorded one.
 * Stop early (for a header) by returning from the iteration: nothing more is read.
 */
export async function* inflateEntryChunks(entry: ZipEntry, sourceName: string): AsyncGenerator<Uint8Array> {
  if (entry.method !== METHOD_DEFLATE) throw new TypeError(`inflateEntryChunks: entry ${entry.name} is not deflated`);
  const raw = entry.rawSource();
  const fail = (code: 'BadDeflate' | 'SizeMismatch' | 'BadCrc', message: string, cause?: unknown): Error =>
    zipError(sourceName, code, `entry ${quoteName(entry.name)}: ${message}`, { entry: entry.name, offset: entry.dataOffset }, cause);
  const pending: Uint8Array[] = [];
  let produced = 0;
  const inflater = new Inflate((chunk: Uint8Array) => {
    produced += chunk.byteLength;
    if (produced > entry.size) throw new InflateProblem('TooLong', `inflates to more than the declared ${entry.size} bytes (a zip bomb?)`);
    if (chunk.byteLength > 0) pending.push(chunk);
  });
  let crc = 0;
  const total = entry.compressedSize;
  let at = 0;
  do {
    const data = await raw.read(at, Math.min(ZIP_READ_CHUNK_BYTES, total - at));
    at += data.byteLength;
    let p = 0;
    do {
      const end = Math.min(data.byteLength, p + INFLATE_INPUT_CHUNK_BYTES);
      try {
        inflater.push(data.subarray(p, end), at === total && end === data.byteLength);
      } catch (e) {
        if (e instanceof InflateProblem) throw fail('SizeMismatch', e.message, e);
        throw fail('BadDeflate', `invalid deflate data (${e instanceof Error ? e.message : String(e)})`, e);
      }
      p = end;
      while (pending.length > 0) {
        const chunk = pending.shift()!;
        crc = crc32(chunk, crc);
        yield chunk;
      }
    } while (p < data.byteLength);
  } while (at < total);
  if (produced !== entry.size) throw fail('SizeMismatch', `inflates to ${produced} bytes, not the declared ${entry.size}`);
  if (crc !== entry.crc32) throw fail('BadCrc', `the inflated bytes do not match the recorded CRC-32 (changed after the archive was written)`);
}
