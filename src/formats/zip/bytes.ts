import { Fields } from '../../io/cursor.js';

export const U16_MAX = 0xffff;
export const U32_MAX = 0xffff_ffff;

/** Signature test without allocating. */
export function hasSignature(bytes: Uint8Array, at: number, signature: number): boolean {
  return (
    at >= 0 &&
    at + 4 <= bytes.length &&
    bytes[at] === (signature & 0xff) &&
    bytes[at + 1] === ((signature >>> 8) & 0xff) &&
    bytes[at + 2] === ((signature >>> 16) & 0xff) &&
    bytes[at + 3] === signature >>> 24
  );
}

export const SIG_LOCAL = 0x04034b50;
export const SIG_CENTRAL = 0x02014b50;
export const SIG_EOCD = 0x06054b50;
export const SIG_EOCD64 = 0x06064b50;
export const SIG_EOCD64_LOCATOR = 0x07064b50;
export const SIG_DATA_DESCRIPTOR = 0x08074b50;

/** Extra-field id of the ZIP64 extended information. */
export const EXTRA_ZIP64 = 0x0001;

/**
 * The data of the first extra field with this id, or undefined. A malformed extra area (a record
 * claiming more bytes than remain) ends the walk: `malformed` says so.
 */
export function findExtra(extra: Uint8Array, id: number): { data: Uint8Array | undefined; malformed: boolean } {
  const f = new Fields(extra);
  let at = 0;
  while (at + 4 <= extra.length) {
    const hid = f.u16(at);
    const len = f.u16(at + 2);
    if (at + 4 + len > extra.length) return { data: undefined, malformed: true };
    if (hid === id) return { data: extra.subarray(at + 4, at + 4 + len), malformed: false };
    at += 4 + len;
  }
  return { data: undefined, malformed: false };
}

/**
 * Resolves ZIP64 sentinels: each field whose classic value is the sentinel takes the next u64
 * (u32 for the disk number) from the ZIP64 extra field, in the APPNOTE order
 * (size, compressed size, local header offset, disk). A missing extra leaves the classic values
 * (as Python's zipfile does); an extra too short for the fields it must hold gives `problem`.
 */
export function resolveZip64(
  extra: Uint8Array,
  fields: { size: number; compressedSize: number; offset?: number; disk?: number },
): { size: number; compressedSize: number; offset: number; disk: number; zip64: boolean; problem?: string } {
  const out = { size: fields.size, compressedSize: fields.compressedSize, offset: fields.offset ?? 0, disk: fields.disk ?? 0, zip64: false };
  const needSize = fields.size === U32_MAX;
  const needCompressed = fields.compressedSize === U32_MAX;
  const needOffset = fields.offset === U32_MAX;
  const needDisk = fields.disk === U16_MAX;
  if (!needSize && !needCompressed && !needOffset && !needDisk) return out;
  const { data } = findExtra(extra, EXTRA_ZIP64);
  if (data === undefined) return out;
  out.zip64 = true;
  const f = new Fields(data);
  let at = 0;
  const take64 = (what: string): number | string => {
    if (at + 8 > data.length) return `the ZIP64 extra field (${data.length} bytes) has no room for the ${what}`;
    const v = f.u64Number(at);
    at += 8;
    if (v < 0) return `the ZIP64 ${what} is beyond 2^53`;
    return v;
  };
  for (const [need, key, what] of [
    [needSize, 'size', 'uncompressed size'],
    [needCompressed, 'compressedSize', 'compressed size'],
    [needOffset, 'offset', 'local header offset'],
  ] as const) {
    if (!need) continue;
    const v = take64(what);
    if (typeof v === 'string') return { ...out, problem: v };
    out[key] = v;
  }
  if (needDisk) {
    if (at + 4 > data.length) return { ...out, problem: `the ZIP64 extra field (${data.length} bytes) has no room for the disk number` };
    out.disk = f.u32(at);
  }
  return out;
}
