import type { ByteSource } from './byte-source.js';
import { malformed } from './format-problem.js';

/**
 * The one byte cursor for binary parsing: fixed-position fields of bytes in memory (`Fields`: zip
 * records), random access to a source a page at a time (`PagedReader`: FlatBuffers, HDF5, protobuf),
 * and a sequential reader with read-ahead (`Cursor`: GGUF). Every range a source is asked for is
 * checked against its size first: a read past the end is the file's fault (a FormatProblem), never an
 * I/O error. Reads return views of the bytes read, never copies.
 */

/** Page size of the paged reader: structures are read a page at a time, never a whole file. */
export const PAGE_BYTES = 64 * 1024;
/** Pages kept by a paged reader: bounds the memory of random-access walks (FlatBuffers, HDF5, protobuf). */
export const MAX_CACHED_PAGES = 32;

/** Fields at fixed positions of bytes in memory, little-endian unless told (any byteOffset; a view, no copy). */
export class Fields {
  private readonly dv: DataView;

  constructor(
    readonly bytes: Uint8Array,
    readonly littleEndian = true,
  ) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  u8(at: number): number {
    return this.dv.getUint8(at);
  }
  u16(at: number): number {
    return this.dv.getUint16(at, this.littleEndian);
  }
  u32(at: number): number {
    return this.dv.getUint32(at, this.littleEndian);
  }
  i32(at: number): number {
    return this.dv.getInt32(at, this.littleEndian);
  }
  u64(at: number): bigint {
    return this.dv.getBigUint64(at, this.littleEndian);
  }
  /** A u64 as a number, or -1 when it is above Number.MAX_SAFE_INTEGER (no real offset or size is). */
  u64Number(at: number): number {
    const v = this.dv.getBigUint64(at, this.littleEndian);
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? -1 : Number(v);
  }
}

export function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * Random access to a source a page at a time, every read checked against the source's size first
 * (a read past the end is the file's fault, reported as malformed, never an I/O error).
 */
export class PagedReader {
  private readonly pages = new Map<number, Uint8Array>();
  private lastPage: Uint8Array | undefined;
  private lastStart = 0;
  /** Bytes fetched from the source so far. */
  bytesRead = 0;

  constructor(
    readonly source: ByteSource,
    readonly pageBytes = PAGE_BYTES,
    readonly maxPages = MAX_CACHED_PAGES,
  ) {}

  get size(): number {
    return this.source.size;
  }

  /** Throws a FormatProblem unless [offset, offset + length) lies inside the source. */
  check(offset: number, length: number, what: string): void {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.source.size) {
      throw malformed(`${what} (${length} bytes at offset ${offset}) runs past the end of the file (${this.source.size} bytes)`, Number.isSafeInteger(offset) ? offset : undefined);
    }
  }

  /** `length` bytes at `offset`; a view, read-only. */
  async bytes(offset: number, length: number, what: string): Promise<Uint8Array> {
    this.check(offset, length, what);
    if (length === 0) return new Uint8Array(0);
    const hit = this.peek(offset, length);
    if (hit) return hit;
    const first = Math.floor(offset / this.pageBytes);
    const last = Math.floor((offset + length - 1) / this.pageBytes);
    if (first === last) {
      const page = await this.page(first);
      const from = offset - first * this.pageBytes;
      return page.subarray(from, from + length);
    }
    if (length > this.pageBytes * 2) {
      this.bytesRead += length;
      return this.source.read(offset, length);
    }
    const out = new Uint8Array(length);
    for (let p = first; p <= last; p++) {
      const page = await this.page(p);
      const pageStart = p * this.pageBytes;
      const from = Math.max(offset, pageStart);
      const to = Math.min(offset + length, pageStart + page.length);
      out.set(page.subarray(from - pageStart, to - pageStart), from - offset);
    }
    return out;
  }

  /**
   * The bytes when they are already in the most recently used page (no await), else undefined.
   * Callers bounds-check first (or fall back to `bytes`, which does).
   */
  peek(offset: number, length: number): Uint8Array | undefined {
    const last = this.lastPage;
    if (last === undefined) return undefined;
    const from = offset - this.lastStart;
    if (from < 0 || length < 0 || from + length > last.length) return undefined;
    return last.subarray(from, from + length);
  }

  /** Up to `length` bytes at `offset`, fewer at the end of the file. */
  async upTo(offset: number, length: number, what: string): Promise<Uint8Array> {
    this.check(offset, 0, what);
    return this.bytes(offset, Math.max(0, Math.min(length, this.source.size - offset)), what);
  }

  /** Little-endian numbers at `pos` (FlatBuffers, HDF5): bounds-checked like `bytes`, no allocation but the page. */
  async u8(pos: number, what: string): Promise<number> {
    return (this.peekChecked(pos, 1) ?? (await this.bytes(pos, 1, what)))[0]!;
  }
  async u16(pos: number, what: string): Promise<number> {
    const b = this.peekChecked(pos, 2) ?? (await this.bytes(pos, 2, what));
    return b[0]! | (b[1]! << 8);
  }
  async u32(pos: number, what: string): Promise<number> {
    const b = this.peekChecked(pos, 4) ?? (await this.bytes(pos, 4, what));
    return (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
  }
  async i32(pos: number, what: string): Promise<number> {
    const b = this.peekChecked(pos, 4) ?? (await this.bytes(pos, 4, what));
    return b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24);
  }
  async u64(pos: number, what: string): Promise<bigint> {
    const b = this.peekChecked(pos, 8) ?? (await this.bytes(pos, 8, what));
    return view(b).getBigUint64(0, true);
  }

  /** `peek`, for a range inside the source only (what `bytes` would check): the same answer without awaiting. */
  private peekChecked(offset: number, length: number): Uint8Array | undefined {
    return Number.isSafeInteger(offset) && offset >= 0 && offset + length <= this.source.size ? this.peek(offset, length) : undefined;
  }

  private async page(index: number): Promise<Uint8Array> {
    const hit = this.pages.get(index);
    if (hit) {
      this.pages.delete(index);
      this.pages.set(index, hit);
      this.lastPage = hit;
      this.lastStart = index * this.pageBytes;
      return hit;
    }
    const start = index * this.pageBytes;
    const length = Math.min(this.pageBytes, this.source.size - start);
    const page = await this.source.read(start, length);
    this.bytesRead += length;
    this.pages.set(index, page);
    if (this.pages.size > this.maxPages) this.pages.delete(this.pages.keys().next().value!);
    this.lastPage = page;
    this.lastStart = start;
    return page;
  }
}

/**
 * A sequential reader with a read-ahead buffer: `need(n)` (async) makes n bytes available at `pos`,
 * then the sync accessors consume them. Every range is checked against the source's size first.
 */
export class Cursor {
  private buf: Uint8Array = new Uint8Array(0);
  private bufStart = 0;
  private dv: DataView = new DataView(new ArrayBuffer(0));

  constructor(
    readonly source: ByteSource,
    public pos = 0,
    public littleEndian = true,
    readonly chunkBytes = PAGE_BYTES,
  ) {}

  /** Bytes buffered at `pos`. */
  available(): number {
    const off = this.pos - this.bufStart;
    return off < 0 || off > this.buf.length ? 0 : this.buf.length - off;
  }

  async need(n: number, what: string): Promise<void> {
    if (this.available() >= n) return;
    if (!Number.isSafeInteger(n) || n < 0 || this.pos + n > this.source.size) {
      throw malformed(`${what} (${n} bytes at offset ${this.pos}) runs past the end of the file (${this.source.size} bytes)`, this.pos);
    }
    const length = Math.min(this.source.size - this.pos, Math.max(n, this.chunkBytes));
    this.buf = await this.source.read(this.pos, length);
    this.bufStart = this.pos;
    this.dv = view(this.buf);
  }

  /** Moves past n bytes without reading them. */
  skip(n: number | bigint, what: string): void {
    const end = BigInt(this.pos) + BigInt(n);
    if (end > BigInt(this.source.size)) {
      throw malformed(`${what} (${n} bytes at offset ${this.pos}) runs past the end of the file (${this.source.size} bytes)`, this.pos);
    }
    this.pos = Number(end);
  }

  private o(n: number): number {
    const off = this.pos - this.bufStart;
    this.pos += n;
    return off;
  }

  u8(): number {
    return this.dv.getUint8(this.o(1));
  }
  u16(): number {
    return this.dv.getUint16(this.o(2), this.littleEndian);
  }
  u32(): number {
    return this.dv.getUint32(this.o(4), this.littleEndian);
  }
  u64(): bigint {
    return this.dv.getBigUint64(this.o(8), this.littleEndian);
  }
  /** A view of the next n bytes (after need(n)). */
  take(n: number): Uint8Array {
    const off = this.o(n);
    return this.buf.subarray(off, off + n);
  }
}
