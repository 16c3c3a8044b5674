import { EXTRA_ZIP64, SIG_CENTRAL, SIG_EOCD, SIG_EOCD64, SIG_EOCD64_LOCATOR, SIG_LOCAL, U16_MAX, U32_MAX } from '../formats/zip/bytes.js';

/**
 * The records of a zip archive of stored (uncompressed) members, as Python's zipfile writes them for
 * numpy.savez: a local header before each member, then the central directory and its end record,
 * with zip64 fields where a size, an offset or the member count does not fit the classic ones (whose
 * field then holds U32_MAX, or U16_MAX for counts: "see the zip64 field").
 */

/** Version needed: 2.0 for stored members, 4.5 for zip64. */
const VERSION_20 = 20;
const VERSION_45 = 45;
/** General purpose flag bit 11: the name is UTF-8. */
const FLAG_UTF8 = 0x0800;
/** MS-DOS date of 1980-01-01, the earliest a zip can hold: the output does not depend on the clock. */
const DOS_DATE_1980 = (1 << 5) | 1;

export interface ZipMember {
  readonly name: Uint8Array;
  readonly size: number;
  readonly crc: number;
  /** Offset of its local header. */
  readonly offset: number;
}

const isAscii = (b: Uint8Array): boolean => b.every((c) => c < 0x80);

/** The zip64 extended information extra field holding these values (8 bytes each); empty for none. */
function zip64Extra(values: readonly number[]): Uint8Array {
  if (values.length === 0) return new Uint8Array(0);
  const out = new Uint8Array(4 + 8 * values.length);
  const v = new DataView(out.buffer);
  v.setUint16(0, EXTRA_ZIP64, true);
  v.setUint16(2, 8 * values.length, true);
  values.forEach((x, i) => v.setBigUint64(4 + 8 * i, BigInt(x), true));
  return out;
}

/**
 * A local header or central record: its fixed fields (`fixed` bytes, the signature and whatever
 * `fill` sets), then the 26 bytes both share at `shared` (version needed to extra length), the
 * name and the extra field.
 */
function record(fixed: number, shared: number, m: Omit<ZipMember, 'offset'>, extra: Uint8Array, fill: (v: DataView, version: number) => void): Uint8Array {
  const out = new Uint8Array(fixed + m.name.length + extra.length);
  const v = new DataView(out.buffer);
  const version = extra.length > 0 ? VERSION_45 : VERSION_20;
  const bigSize = m.size >= U32_MAX;
  fill(v, version);
  v.setUint16(shared, version, true);
  v.setUint16(shared + 2, isAscii(m.name) ? 0 : FLAG_UTF8, true);
  // method (stored) and time: 0
  v.setUint16(shared + 8, DOS_DATE_1980, true);
  v.setUint32(shared + 10, m.crc, true);
  v.setUint32(shared + 14, bigSize ? U32_MAX : m.size, true);
  v.setUint32(shared + 18, bigSize ? U32_MAX : m.size, true);
  v.setUint16(shared + 22, m.name.length, true);
  v.setUint16(shared + 24, extra.length, true);
  out.set(m.name, fixed);
  out.set(extra, fixed + m.name.length);
  return out;
}

/** A member's local header, with a zip64 extra field (both sizes) when its size needs one. */
export function localHeader(m: Omit<ZipMember, 'offset'>): Uint8Array {
  const extra = zip64Extra(m.size >= U32_MAX ? [m.size, m.size] : []);
  return record(30, 4, m, extra, (v) => v.setUint32(0, SIG_LOCAL, true));
}

/** A member's central directory record, with a zip64 extra field (sizes, offset) for what needs one. */
function centralRecord(m: ZipMember): Uint8Array {
  const bigOffset = m.offset >= U32_MAX;
  const extra = zip64Extra([...(m.size >= U32_MAX ? [m.size, m.size] : []), ...(bigOffset ? [m.offset] : [])]);
  return record(46, 6, m, extra, (v, version) => {
    v.setUint32(0, SIG_CENTRAL, true);
    v.setUint16(4, version, true); // version made by
    // comment length, disk, internal and external attributes: 0
    v.setUint32(42, bigOffset ? U32_MAX : m.offset, true);
  });
}

/** The central directory, the zip64 end records when needed, and the end of central directory record. */
export function centralDirectory(members: readonly ZipMember[], start: number): Uint8Array {
  const parts = members.map(centralRecord);
  const cdSize = parts.reduce((n, p) => n + p.length, 0);
  const zip64 = members.length >= U16_MAX || cdSize >= U32_MAX || start >= U32_MAX;
  if (zip64) {
    const rec = new Uint8Array(56 + 20);
    const v = new DataView(rec.buffer);
    v.setUint32(0, SIG_EOCD64, true);
    v.setBigUint64(4, 44n, true);
    v.setUint16(12, VERSION_45, true);
    v.setUint16(14, VERSION_45, true);
    v.setBigUint64(24, BigInt(members.length), true);
    v.setBigUint64(32, BigInt(members.length), true);
    v.setBigUint64(40, BigInt(cdSize), true);
    v.setBigUint64(48, BigInt(start), true);
    v.setUint32(56, SIG_EOCD64_LOCATOR, true);
    v.setBigUint64(64, BigInt(start + cdSize), true);
    v.setUint32(72, 1, true);
    parts.push(rec);
  }
  const end = new Uint8Array(22);
  const v = new DataView(end.buffer);
  v.setUint32(0, SIG_EOCD, true);
  v.setUint16(8, zip64 ? U16_MAX : members.length, true);
  v.setUint16(10, zip64 ? U16_MAX : members.length, true);
  v.setUint32(12, zip64 ? U32_MAX : cdSize, true);
  v.setUint32(16, zip64 ? U32_MAX : start, true);
  parts.push(end);
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return all;
}
