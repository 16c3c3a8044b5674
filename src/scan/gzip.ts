import { Gunzip } from 'fflate';

/**
 * gzip (RFC 1952), every member, decompressed with a bound: `pickle.load(gzip.open(...))` and joblib read
 * gzipped pickles, so what a gzip file holds is scanned like a file of its own.
 */

/** Largest decompressed size scanned: a gzip bomb stops here (reported, never called safe). */
export const MAX_GUNZIPPED_BYTES = 256 << 20;
/** Compressed bytes pushed at a time: the bound is checked between pushes. */
const GZIP_INPUT_CHUNK_BYTES = 64 << 10;

/**
 * Why a gzip file could not be decompressed: `limit` (too large to check) or `invalid`. Internal control
 * flow, not a TensorsafeError: the scanner, its only caller, turns it into a finding; none escapes.
 */
export class GunzipProblem extends Error {
  constructor(
    readonly kind: 'limit' | 'invalid',
    message: string,
  ) {
    super(message);
    this.name = 'GunzipProblem';
  }
}

/** Decompresses every member of a gzip stream; throws GunzipProblem past `limit` bytes or on damage. */
export function gunzipBounded(data: Uint8Array, limit = MAX_GUNZIPPED_BYTES): Uint8Array {
  const chunks: Uint8Array[] = [];
  let length = 0;
  let ended = false;
  const gunzip = new Gunzip((chunk, final) => {
    length += chunk.length;
    if (length > limit) throw new GunzipProblem('limit', `decompresses to more than ${limit} bytes (MAX_GUNZIPPED_BYTES)`);
    chunks.push(chunk);
    if (final) ended = true;
  });
  try {
    for (let at = 0; at < data.length; at += GZIP_INPUT_CHUNK_BYTES) {
      gunzip.push(data.subarray(at, Math.min(data.length, at + GZIP_INPUT_CHUNK_BYTES)), at + GZIP_INPUT_CHUNK_BYTES >= data.length);
    }
  } catch (e) {
    if (e instanceof GunzipProblem) throw e;
    throw new GunzipProblem('invalid', `not valid gzip data (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!ended && length === 0) throw new GunzipProblem('invalid', 'the gzip stream ends before any data');
  const out = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
