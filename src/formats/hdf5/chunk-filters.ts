import { malformed } from '../../io/format-problem.js';
import { InflateProblem, inflateRawExact, inflateZlibExactNativeAsync } from '../zip/inflate.js';
import { adler32, fletcher32 } from './storage-checksums.js';
import { FILTER_DEFLATE, FILTER_FLETCHER32, FILTER_SHUFFLE, type Filter } from './filter-pipeline.js';

/**
 * Undoes a dataset's filters on one stored chunk, last filter first, skipping those whose bit is set in
 * the chunk's filter mask. The result must be exactly `chunkBytes` long: deflate is told its exact output
 * size and stops past it (a bomb cannot grow), and a short result is malformed too. Asynchronous: the
 * platform's zlib (Node) inflates on its thread pool, so the chunks read ahead inflate at once.
 */
export async function unfilterChunk(stored: Uint8Array, filters: readonly Filter[], filterMask: number, chunkBytes: number, what: string, offset: number): Promise<Uint8Array> {
  // Size of the data before each filter, forward: fletcher32 adds 4 bytes, shuffle none, deflate is the one that varies.
  const sizeBefore: number[] = [];
  let size = chunkBytes;
  for (let i = 0; i < filters.length; i++) {
    sizeBefore.push(size);
    if (skipped(filterMask, i)) continue;
    if (filters[i]!.id === FILTER_FLETCHER32) size += 4;
  }
  let data = stored;
  for (let i = filters.length - 1; i >= 0; i--) {
    if (skipped(filterMask, i)) continue;
    const filter = filters[i]!;
    switch (filter.id) {
      case FILTER_FLETCHER32:
        data = checkFletcher32(data, what, offset);
        break;
      case FILTER_SHUFFLE:
        data = unshuffle(data, filter.clientData[0] ?? 1);
        break;
      case FILTER_DEFLATE:
        data = await inflateZlib(data, sizeBefore[i]!, what, offset);
        break;
      default:
        throw malformed(`${what}: filter ${filter.name} (${filter.id}) cannot be undone`, offset);
    }
  }
  if (data.length !== chunkBytes) {
    throw malformed(`${what}: decodes to ${data.length} bytes, not the chunk's ${chunkBytes}`, offset);
  }
  return data;
}

function skipped(mask: number, i: number): boolean {
  return i < 32 && ((mask >>> i) & 1) === 1;
}

function checkFletcher32(data: Uint8Array, what: string, offset: number): Uint8Array {
  if (data.length < 4) throw malformed(`${what}: ${data.length} bytes cannot hold a Fletcher-32 checksum`, offset);
  const body = data.subarray(0, data.length - 4);
  const t = data.length - 4;
  const stored = (data[t]! | (data[t + 1]! << 8) | (data[t + 2]! << 16) | (data[t + 3]! << 24)) >>> 0;
  const sum = fletcher32(body);
  // HDF5 before 1.6.3 stored the checksum with the bytes of each half swapped on little-endian machines: both are accepted, as HDF5 does.
  const swapped = (((sum & 0x00ff00ff) << 8) | ((sum >>> 8) & 0x00ff00ff)) >>> 0;
  if (stored !== sum && stored !== swapped) {
    throw malformed(`${what}: Fletcher-32 checksum 0x${stored.toString(16)} does not match the data's 0x${sum.toString(16)}`, offset);
  }
  return body;
}

/** The shuffle filter's inverse: byte j of every element was stored in the j-th plane of the chunk. */
export function unshuffle(data: Uint8Array, elementSize: number): Uint8Array {
  if (elementSize <= 1 || data.length < elementSize * 2) return data;
  const n = Math.floor(data.length / elementSize);
  const out = new Uint8Array(data.length);
  for (let j = 0; j < elementSize; j++) {
    const plane = data.subarray(j * n, (j + 1) * n);
    for (let i = 0, o = j; i < n; i++, o += elementSize) out[o] = plane[i]!;
  }
  // Bytes past the last whole element are stored as they are.
  out.set(data.subarray(n * elementSize), n * elementSize);
  return out;
}

/** A zlib stream (RFC 1950) that must inflate to exactly `expected` bytes, its Adler-32 checked. */
async function inflateZlib(data: Uint8Array, expected: number, what: string, offset: number): Promise<Uint8Array> {
  if (data.length < 6) throw malformed(`${what}: ${data.length} bytes are too few for a zlib stream`, offset);
  const cmf = data[0]!;
  const flg = data[1]!;
  if ((cmf & 0x0f) !== 8 || cmf >>> 4 > 7 || ((cmf << 8) | flg) % 31 !== 0 || flg & 0x20) {
    throw malformed(`${what}: not a zlib stream (header 0x${cmf.toString(16)} 0x${flg.toString(16)})`, offset);
  }
  let out: Uint8Array | undefined;
  try {
    // The platform's zlib (Node) checks the Adler-32 itself; elsewhere the raw data is inflated and checked here.
    const native = inflateZlibExactNativeAsync(data, expected);
    if (native) return await native;
    out = inflateRawExact(data.subarray(2, data.length - 4), expected);
  } catch (e) {
    if (e instanceof InflateProblem) {
      const why = e.kind === 'TooLong' ? `inflates to more than the chunk's ${expected} bytes` : e.kind === 'TooShort' ? `inflates to fewer than the chunk's ${expected} bytes` : e.message;
      throw malformed(`${what}: deflate data ${why}`, offset);
    }
    throw e;
  }
  const t = data.length - 4;
  const stored = ((data[t]! << 24) | (data[t + 1]! << 16) | (data[t + 2]! << 8) | data[t + 3]!) >>> 0;
  const sum = adler32(out);
  if (stored !== sum) throw malformed(`${what}: zlib Adler-32 0x${stored.toString(16)} does not match the data's 0x${sum.toString(16)}`, offset);
  return out;
}
