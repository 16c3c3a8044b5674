import { Fields } from '../../io/cursor.js';
import { EXTRA_ZIP64, findExtra, hasSignature, resolveZip64, SIG_LOCAL, U32_MAX } from './bytes.js';

/** Bytes of a local file header before its name and extra field. */
export const LOCAL_HEADER_BYTES = 30;

/** A local file header, ZIP64 sizes resolved from its extra field. */
export interface LocalHeader {
  flags: number;
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  nameBytes: Uint8Array;
  extraLength: number;
  /** Bytes of the header with its name and extra field: the data starts this far after the header. */
  length: number;
  /** Set when the ZIP64 extra field is too short for the sizes it must hold. */
  zip64Problem?: string;
}

/** Bytes needed to parse the header whose first 30 bytes are at `at`, or -1 when the signature is wrong. */
export function localHeaderLength(bytes: Uint8Array, at: number): number {
  if (at + LOCAL_HEADER_BYTES > bytes.length) return LOCAL_HEADER_BYTES;
  if (!hasSignature(bytes, at, SIG_LOCAL)) return -1;
  const f = new Fields(bytes);
  return LOCAL_HEADER_BYTES + f.u16(at + 26) + f.u16(at + 28);
}

/** Parses a local header; `bytes` must hold localHeaderLength(bytes, at) bytes from `at`. */
export function parseLocalHeader(bytes: Uint8Array, at: number): LocalHeader {
  const f = new Fields(bytes);
  const nameLength = f.u16(at + 26);
  const extraLength = f.u16(at + 28);
  const nameBytes = bytes.subarray(at + LOCAL_HEADER_BYTES, at + LOCAL_HEADER_BYTES + nameLength);
  const extra = bytes.subarray(at + LOCAL_HEADER_BYTES + nameLength, at + LOCAL_HEADER_BYTES + nameLength + extraLength);
  const size = f.u32(at + 22);
  const compressedSize = f.u32(at + 18);
  const z = resolveZip64(extra, { size, compressedSize });
  // APPNOTE 4.5.3: a local header's ZIP64 field holds both sizes whenever either is a sentinel.
  if ((size === U32_MAX) !== (compressedSize === U32_MAX)) {
    const { data } = findExtra(extra, EXTRA_ZIP64);
    if (data !== undefined && data.length >= 16) {
      const d = new Fields(data);
      const s64 = d.u64Number(0);
      const c64 = d.u64Number(8);
      if (s64 >= 0 && c64 >= 0) {
        z.size = size === U32_MAX ? s64 : size;
        z.compressedSize = compressedSize === U32_MAX ? c64 : compressedSize;
        delete z.problem;
      }
    }
  }
  const header: LocalHeader = {
    flags: f.u16(at + 6),
    method: f.u16(at + 8),
    crc32: f.u32(at + 14),
    compressedSize: z.compressedSize,
    size: z.size,
    nameBytes,
    extraLength,
    length: LOCAL_HEADER_BYTES + nameLength + extraLength,
  };
  if (z.problem !== undefined) header.zip64Problem = z.problem;
  return header;
}
