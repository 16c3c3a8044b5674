import { malformed } from '../../io/format-problem.js';
import type { Hdf5Geometry } from './geometry.js';

/**
 * A sequential little-endian reader over bytes already read (a message body, a heap block, a chunk
 * index block), every field checked against their end: a field past it is malformed, named by `what`
 * (and the field, when the caller names it) at its absolute offset in the file when that is known
 * (the storage side gets message bodies without their offsets).
 */
export class Fields {
  pos = 0;

  constructor(
    readonly bytes: Uint8Array,
    /** Absolute offset of bytes[0] in the file, when the bytes came from a known place. */
    readonly at: number | undefined,
    /** What the bytes are, for messages (`dataset /a: data layout message`). */
    readonly what: string,
  ) {}

  get left(): number {
    return this.bytes.length - this.pos;
  }

  /** The file offset of `pos` (for FormatProblems), when known. */
  offsetOf(pos = this.pos): number | undefined {
    return this.at === undefined ? undefined : this.at + pos;
  }

  need(n: number, field?: string): void {
    if (n < 0 || this.pos + n > this.bytes.length) {
      throw malformed(`${this.named(field)} is cut short (${n} bytes wanted at its byte ${this.pos}, ${this.bytes.length} in all)`, this.offsetOf());
    }
  }

  skip(n: number, field?: string): void {
    this.need(n, field);
    this.pos += n;
  }

  u8(field?: string): number {
    this.need(1, field);
    return this.bytes[this.pos++]!;
  }

  u16(field?: string): number {
    this.need(2, field);
    const v = this.bytes[this.pos]! | (this.bytes[this.pos + 1]! << 8);
    this.pos += 2;
    return v;
  }

  u32(field?: string): number {
    this.need(4, field);
    const b = this.bytes;
    const v = (b[this.pos]! | (b[this.pos + 1]! << 8) | (b[this.pos + 2]! << 16)) + b[this.pos + 3]! * 0x1000000;
    this.pos += 4;
    return v;
  }

  /** An unsigned integer of `width` bytes; malformed past 2^53 (no size or offset of a real file is). */
  uint(width: number, field?: string): number {
    this.need(width, field);
    const v = uintLE(this.bytes, this.pos, width);
    if (v === undefined) throw malformed(`${this.named(field)}: a ${width}-byte value at its byte ${this.pos} is above 2^53`, this.offsetOf());
    this.pos += width;
    return v;
  }

  /** An unsigned integer of `width` bytes; undefined for all ones (HDF5's undefined address or unlimited size) or past 2^53. */
  maybe(width: number, field?: string): number | undefined {
    this.need(width, field);
    const v = uintAt(this.bytes, this.pos, width);
    this.pos += width;
    return v;
  }

  /** An address of `width` bytes as written (relative to the base): undefined for the undefined address (all ones), malformed past 2^53. */
  relativeAddress(width: number, field?: string): number | undefined {
    this.need(width, field);
    if (isUndefinedAddress(this.bytes, this.pos, width)) {
      this.pos += width;
      return undefined;
    }
    return this.uint(width, field);
  }

  /** A file address: the absolute offset (base added), or undefined for the undefined address. */
  address(g: Hdf5Geometry, field?: string): number | undefined {
    const v = this.relativeAddress(g.offsetSize, field);
    return v === undefined ? undefined : g.base + v;
  }

  length(g: Hdf5Geometry, field?: string): number {
    return this.uint(g.lengthSize, field);
  }

  take(n: number, field?: string): Uint8Array {
    this.need(n, field);
    const v = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** A NUL-terminated string of at most the rest of the bytes. */
  cString(): string {
    const end = this.bytes.indexOf(0, this.pos);
    if (end < 0) throw malformed(`${this.what}: a name without its terminating NUL`, this.offsetOf());
    const s = utf8(this.bytes.subarray(this.pos, end));
    this.pos = end + 1;
    return s;
  }

  private named(field: string | undefined): string {
    return field === undefined ? this.what : `${this.what}: ${field}`;
  }
}

/** An unsigned little-endian integer of `width` bytes; undefined past 2^53. */
export function uintLE(b: Uint8Array, at: number, width: number): number | undefined {
  let v = 0;
  for (let i = width - 1; i >= 0; i--) v = v * 256 + b[at + i]!;
  return v > Number.MAX_SAFE_INTEGER ? undefined : v;
}

/** True when `width` bytes at `at` are all 0xFF: HDF5's undefined address ("never allocated"). */
export function isUndefinedAddress(b: Uint8Array, at: number, width: number): boolean {
  for (let i = 0; i < width; i++) if (b[at + i] !== 0xff) return false;
  return true;
}

/** An unsigned little-endian integer of `width` bytes; undefined for all ones (undefined address) or past 2^53. */
export function uintAt(b: Uint8Array, at: number, width: number): number | undefined {
  return isUndefinedAddress(b, at, width) ? undefined : uintLE(b, at, width);
}

const DECODER = new TextDecoder('utf-8', { fatal: false });

export function utf8(b: Uint8Array): string {
  return DECODER.decode(b);
}

export function latin(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += String.fromCharCode(x);
  return s;
}

export function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}
