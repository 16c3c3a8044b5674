/**
 * The records of a zip archive of stored (uncompressed) members, as Python's zipfile writes them for
 * numpy.savez: a local header before each member, then the central directory and its end record,
 * with zip64 fields where a size, an offset or the member count does not fit the classic ones.
 */

/** Classic zip fields that hold 0xFFFFFFFF (or 0xFFFF for counts) mean "see the zip64 field". */
const ZIP32_MAX = 0xffffffff;
const ZIP16_MAX = 0xffff;
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

/** A member's local header, with a zip64 extra field (both sizes) when its size needs one. */
export function localHeader(m: Omit<ZipMember, 'offset'>): Uint8Array {
  const zip64 = m.size >= ZIP32_MAX;
  const extra = zip64 ? 20 : 0;
  const out = new Uint8Array(30 + m.name.length + extra);
  const v = new DataView(out.buffer);
  v.setUint32(0, 0x04034b50, true);
  v.setUint16(4, zip64 ? VERSION_45 : VERSION_20, true);
  v.setUint16(6, isAscii(m.name) ? 0 : FLAG_UTF8, true);
  v.setUint16(8, 0, true); // stored
  v.setUint16(10, 0, true);
  v.setUint16(12, DOS_DATE_1980, true);
  v.setUint32(14, m.crc, true);
  v.setUint32(18, zip64 ? ZIP32_MAX : m.size, true);
  v.setUint32(22, zip64 ? ZIP32_MAX : m.size, true);
  v.setUint16(26, m.name.length, true);
  v.setUint16(28, extra, true);
  out.set(m.name, 30);
  if (zip64) {
    const x = 30 + m.name.length;
    v.setUint16(x, 0x0001, true);
    v.setUint16(x + 2, 16, true);
    v.setBigUint64(x + 4, BigInt(m.size), true);
    v.setBigUint64(x + 12, BigInt(m.size), true);
  }
  return out;
}

/** The central directory, the zip64 end records when needed, and the end of central directory record. */
export function centralDirectory(members: readonly ZipMember[], start: number): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const m of members) {
    const bigSize = m.size >= ZIP32_MAX;
    const bigOffset = m.offset >= ZIP32_MAX;
    const extra = (bigSize ? 16 : 0) + (bigOffset ? 8 : 0);
    const extraLength = extra > 0 ? 4 + extra : 0;
    const out = new Uint8Array(46 + m.name.length + extraLength);
    const v = new DataView(out.buffer);
    const version = extra > 0 ? VERSION_45 : VERSION_20;
    v.setUint32(0, 0x02014b50, true);
    v.setUint16(4, version, true);
    v.setUint16(6, version, true);
    v.setUint16(8, isAscii(m.name) ? 0 : FLAG_UTF8, true);
    v.setUint16(10, 0, true);
    v.setUint16(12, 0, true);
    v.setUint16(14, DOS_DATE_1980, true);
    v.setUint32(16, m.crc, true);
    v.setUint32(20, bigSize ? ZIP32_MAX : m.size, true);
    v.setUint32(24, bigSize ? ZIP32_MAX : m.size, true);
    v.setUint16(28, m.name.length, true);
    v.setUint16(30, extraLength, true);
    // comment length, disk, internal and external attributes: 0
    v.setUint32(42, bigOffset ? ZIP32_MAX : m.offset, true);
    out.set(m.name, 46);
    if (extra > 0) {
      let x = 46 + m.name.length;
      v.setUint16(x, 0x0001, true);
      v.setUint16(x + 2, extra, true);
      x += 4;
      if (bigSize) {
        v.setBigUint64(x, BigInt(m.size), true);
        v.setBigUint64(x + 8, BigInt(m.size), true);
        x += 16;
      }
      if (bigOffset) v.setBigUint64(x, BigInt(m.offset), true);
    }
    parts.push(out);
  }
  const cdSize = parts.reduce((n, p) => n + p.length, 0);
  const zip64 = members.length >= ZIP16_MAX || cdSize >= ZIP32_MAX || start >= ZIP32_MAX;
  if (zip64) {
    const rec = new Uint8Array(56 + 20);
    const v = new DataView(rec.buffer);
    v.setUint32(0, 0x06064b50, true);
    v.setBigUint64(4, 44n, true);
    v.setUint16(12, VERSION_45, true);
    v.setUint16(14, VERSION_45, true);
    v.setBigUint64(24, BigInt(members.length), true);
    v.setBigUint64(32, BigInt(members.length), true);
    v.setBigUint64(40, BigInt(cdSize), true);
    v.setBigUint64(48, BigInt(start), true);
    v.setUint32(56, 0x07064b50, true);
    v.setBigUint64(64, BigInt(start + cdSize), true);
    v.setUint32(72, 1, true);
    parts.push(rec);
  }
  const end = new Uint8Array(22);
  const v = new DataView(end.buffer);
  v.setUint32(0, 0x06054b50, true);
  v.setUint16(8, zip64 ? ZIP16_MAX : members.length, true);
  v.setUint16(10, zip64 ? ZIP16_MAX : members.length, true);
  v.setUint32(12, zip64 ? ZIP32_MAX : cdSize, true);
  v.setUint32(16, zip64 ? ZIP32_MAX : start, true);
  parts.push(end);
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return all;
}
