import * as zlib from 'node:zlib';

/**
 * A tiny zip writer for crafting archives, sound or broken on purpose. Every field the reader checks
 * can be overridden; entry data can be virtual zeros (`{ zeros: n }`) so that multi-GB ZIP64
 * archives can be described without allocating them.
 */

export type Part = Uint8Array | { zeros: number };

export interface CraftEntry {
  name: string;
  /** Uncompressed bytes (a string is UTF-8), or virtual zeros (stored only). */
  data?: Uint8Array | string | { zeros: number };
  /** 0 stored (default), 8 deflate (compressed here with zlib), anything else: `data` written as is. */
  method?: number;
  /** The bytes written as the entry's data instead of the (compressed) data. */
  compressed?: Uint8Array;
  flags?: number;
  localFlags?: number;
  localMethod?: number;
  /** Raw name bytes (central, and local unless localNameBytes/localName is given). */
  nameBytes?: Uint8Array;
  localName?: string;
  localNameBytes?: Uint8Array;
  crc?: number;
  localCrc?: number;
  /** Declared sizes (central, and local unless the local ones are given). */
  size?: number;
  compressedSize?: number;
  localSize?: number;
  localCompressedSize?: number;
  localExtra?: Uint8Array;
  centralExtra?: Uint8Array;
  /** Write sizes (and the offset) through ZIP64 extra fields. */
  zip64?: boolean;
  /** Flag 0x08: zero sizes in the local header, a signed data descriptor after the data. */
  descriptor?: boolean;
  /** Pad the local extra field so that the data starts at a multiple of this (torch uses 64). */
  align?: number;
  /** The local header offset the central directory records (default: where it was written). */
  offset?: number;
  diskStart?: number;
  /** Only a central-directory record (pointing at `offset`), no local header or data. */
  centralOnly?: boolean;
  /** Bytes written before this entry's local header (a gap). */
  gapBefore?: Uint8Array;
}

export interface CraftOptions {
  /** Bytes before the archive; offsets ignore them unless `shiftOffsets` (like `zip -A`). */
  prefix?: Uint8Array;
  shiftOffsets?: boolean;
  /** Bytes after the end record and comment. */
  suffix?: Uint8Array;
  comment?: Uint8Array | string;
  /** Declared comment length (default: the comment's). */
  commentLength?: number;
  /** Declared entry counts in the end record(s) (default: the number of central records). */
  count?: number;
  countOnDisk?: number;
  /** Write ZIP64 end records (record + locator) with sentinels in the classic record. */
  zip64?: boolean;
  /** Where the ZIP64 locator says the ZIP64 record is (default: where it is, relative). */
  zip64RecordOffset?: number;
  /** Declared directory offset and size (default: the real ones). */
  cdOffset?: number;
  cdSize?: number;
  /** Bytes between the central directory and the end records. */
  gapBeforeEnd?: Uint8Array;
  disk?: number;
}

export interface CraftResult {
  parts: Part[];
  size: number;
  /** Absolute offsets of each entry's local header and data (-1 for centralOnly entries). */
  localOffsets: number[];
  dataOffsets: number[];
  cdOffset: number;
  eocdOffset: number;
}

const enc = new TextEncoder();
const U32 = 0xffffffff;

class Writer {
  parts: Part[] = [];
  size = 0;
  push(p: Part): void {
    this.parts.push(p);
    this.size += p instanceof Uint8Array ? p.length : p.zeros;
  }
}

function le(bytes: number, value: number | bigint): Uint8Array {
  const out = new Uint8Array(bytes);
  const v = new DataView(out.buffer);
  if (bytes === 2) v.setUint16(0, Number(value), true);
  else if (bytes === 4) v.setUint32(0, Number(value), true);
  else v.setBigUint64(0, BigInt(value), true);
  return out;
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function record(fields: [number, number | bigint][]): Uint8Array {
  return concat(fields.map(([n, v]) => le(n, v)));
}

function extraField(id: number, data: Uint8Array): Uint8Array {
  return concat([le(2, id), le(2, data.length), data]);
}

export function buildZipParts(entries: CraftEntry[], options: CraftOptions = {}): CraftResult {
  const w = new Writer();
  if (options.prefix) w.push(options.prefix);
  const base = options.shiftOffsets ? 0 : w.size;
  const central: Uint8Array[] = [];
  const localOffsets: number[] = [];
  const dataOffsets: number[] = [];
  for (const e of entries) {
    const method = e.method ?? 0;
    const raw = typeof e.data === 'string' ? enc.encode(e.data) : (e.data ?? new Uint8Array(0));
    const virtual = !(raw instanceof Uint8Array);
    const plain = raw instanceof Uint8Array ? raw : undefined;
    const stored: Part = e.compressed ?? (virtual ? raw : method === 8 ? new Uint8Array(zlib.deflateRawSync(plain!)) : plain!);
    const storedLength = stored instanceof Uint8Array ? stored.length : stored.zeros;
    const plainLength = plain ? plain.length : (raw as { zeros: number }).zeros;
    const crc = e.crc ?? (plain ? zlib.crc32(plain) : 0);
    const size = e.size ?? plainLength;
    const csize = e.compressedSize ?? storedLength;
    const flags = (e.flags ?? 0) | (e.descriptor ? 0x08 : 0);
    const nameBytes = e.nameBytes ?? enc.encode(e.name);
    const localNameBytes = e.localNameBytes ?? (e.localName !== undefined ? enc.encode(e.localName) : nameBytes);
    if (e.gapBefore) w.push(e.gapBefore);
    let offset = e.offset ?? -1;
    if (!e.centralOnly) {
      const at = w.size;
      offset = e.offset ?? at - base;
      const lsize = e.localSize ?? (e.descriptor ? 0 : size);
      const lcsize = e.localCompressedSize ?? (e.descriptor ? 0 : csize);
      let extra = e.localExtra ?? (e.zip64 ? extraField(1, record([[8, lsize], [8, lcsize]])) : new Uint8Array(0));
      if (e.align) {
        const headerEnd = at + 30 + localNameBytes.length + extra.length + 4;
        const pad = (e.align - (headerEnd % e.align)) % e.align;
        extra = concat([extra, extraField(0x4246, new Uint8Array(pad))]);
      }
      w.push(
        record([
          [4, 0x04034b50],
          [2, 20],
          [2, e.localFlags ?? flags],
          [2, e.localMethod ?? method],
          [2, 0],
          [2, 0x5821],
          [4, e.localCrc ?? (e.descriptor ? 0 : crc)],
          [4, e.zip64 ? U32 : lcsize],
          [4, e.zip64 ? U32 : lsize],
          [2, localNameBytes.length],
          [2, extra.length],
        ]),
      );
      w.push(localNameBytes);
      w.push(extra);
      localOffsets.push(at);
      dataOffsets.push(w.size);
      w.push(stored);
      if (e.descriptor) w.push(e.zip64 ? record([[4, 0x08074b50], [4, crc], [8, csize], [8, size]]) : record([[4, 0x08074b50], [4, crc], [4, csize], [4, size]]));
    } else {
      localOffsets.push(-1);
      dataOffsets.push(-1);
    }
    const cextra = e.centralExtra ?? (e.zip64 ? extraField(1, record([[8, size], [8, csize], [8, offset]])) : new Uint8Array(0));
    central.push(
      record([
        [4, 0x02014b50],
        [2, 0x031e],
        [2, 20],
        [2, flags],
        [2, method],
        [2, 0],
        [2, 0x5821],
        [4, crc],
        [4, e.zip64 ? U32 : csize],
        [4, e.zip64 ? U32 : size],
        [2, nameBytes.length],
        [2, cextra.length],
        [2, 0],
        [2, e.diskStart ?? 0],
        [2, 0],
        [4, 0o644 << 16],
        [4, e.zip64 ? U32 : offset],
      ]),
      nameBytes,
      cextra,
    );
  }
  const cdAt = w.size;
  const cd = concat(central);
  w.push(cd);
  if (options.gapBeforeEnd) w.push(options.gapBeforeEnd);
  const count = options.count ?? entries.length;
  const countOnDisk = options.countOnDisk ?? count;
  const cdOffset = options.cdOffset ?? cdAt - base;
  const cdSize = options.cdSize ?? cd.length;
  if (options.zip64) {
    const recordAt = w.size;
    w.push(
      record([
        [4, 0x06064b50],
        [8, 44],
        [2, 45],
        [2, 45],
        [4, options.disk ?? 0],
        [4, options.disk ?? 0],
        [8, countOnDisk],
        [8, count],
        [8, cdSize],
        [8, cdOffset],
      ]),
    );
    w.push(record([[4, 0x07064b50], [4, 0], [8, options.zip64RecordOffset ?? recordAt - base], [4, 1]]));
  }
  const comment = typeof options.comment === 'string' ? enc.encode(options.comment) : (options.comment ?? new Uint8Array(0));
  const eocdAt = w.size;
  w.push(
    record([
      [4, 0x06054b50],
      [2, options.zip64 ? 0xffff : (options.disk ?? 0)],
      [2, options.zip64 ? 0xffff : (options.disk ?? 0)],
      [2, options.zip64 ? 0xffff : countOnDisk],
      [2, options.zip64 ? 0xffff : count],
      [4, options.zip64 ? U32 : cdSize],
      [4, options.zip64 ? U32 : cdOffset],
      [2, options.commentLength ?? comment.length],
    ]),
  );
  w.push(comment);
  if (options.suffix) w.push(options.suffix);
  return { parts: w.parts, size: w.size, localOffsets, dataOffsets, cdOffset: cdAt, eocdOffset: eocdAt };
}

/** The archive's bytes (no virtual parts allowed). */
export function buildZip(entries: CraftEntry[], options: CraftOptions = {}): Uint8Array {
  return flatten(buildZipParts(entries, options).parts);
}

export function flatten(parts: Part[]): Uint8Array {
  return concat(parts.map((p) => (p instanceof Uint8Array ? p : new Uint8Array(p.zeros))));
}
