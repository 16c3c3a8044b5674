import { malformed } from '../../io/format-problem.js';
import type { Hdf5Geometry } from './geometry.js';

/**
 * A sequential little-endian reader over bytes already read (a message body, a heap block), every
 * field checked against their end: a field past it is malformed, at its absolute offset in the file.
 */
export class Fields {
  pos = 0;

  constructor(
    readonly bytes: Uint8Array,
    /** Absolute offset of bytes[0] in the file (for messages). */
    readonly at: number,
    readonly what: string,
  ) {}

  get left(): number {
    return this.bytes.length - this.pos;
  }

  need(n: number): void {
    if (n < 0 || this.pos + n > this.bytes.length) throw malformed(`${this.what} is cut short (${n} bytes wanted at its byte ${this.pos}, ${this.bytes.length} in all)`, this.at + this.pos);
  }

  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }

  u8(): number {
    this.need(1);
    return this.bytes[this.pos++]!;
  }

  u16(): number {
    this.need(2);
    const v = this.bytes[this.pos]! | (this.bytes[this.pos + 1]! << 8);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const b = this.bytes;
    const v = (b[this.pos]! | (b[this.pos + 1]! << 8) | (b[this.pos + 2]! << 16)) + b[this.pos + 3]! * 0x1000000;
    this.pos += 4;
    return v;
  }

  /** An unsigned integer of `width` bytes; malformed past 2^53 (no size or offset of a real file is). */
  uint(width: number): number {
    const v = this.maybe(width);
    if (v === undefined) throw malformed(`${this.what}: a ${width}-byte value is undefined or above 2^53`, this.at + this.pos - width);
    return v;
  }

  /** An address or length of `width` bytes; undefined for HDF5's "undefined address" (all ones). */
  maybe(width: number): number | undefined {
    this.need(width);
    const v = uintAt(this.bytes, this.pos, width);
    this.pos += width;
    return v;
  }

  take(n: number): Uint8Array {
    this.need(n);
    const v = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** A file address (relative to the base): the absolute offset, or undefined when undefined. */
  address(g: Hdf5Geometry): number | undefined {
    const v = this.maybe(g.offsetSize);
    return v === undefined ? undefined : g.base + v;
  }

  length(g: Hdf5Geometry): number {
    return this.uint(g.lengthSize);
  }

  /** A NUL-terminated string of at most the rest of the bytes. */
  cString(): string {
    const end = this.bytes.indexOf(0, this.pos);
    if (end < 0) throw malformed(`${this.what}: a name without its terminating NUL`, this.at + this.pos);
    const s = utf8(this.bytes.subarray(this.pos, end));
    this.pos = end + 1;
    return s;
  }
}

/** An unsigned little-endian integer of `width` bytes; undefined for all ones (undefined address) or past 2^53. */
export function uintAt(b: Uint8Array, at: number, width: number): number | undefined {
  let allOnes = true;
  let v = 0;
  for (let i = width - 1; i >= 0; i--) {
    const byte = b[at + i]!;
    if (byte !== 0xff) allOnes = false;
    v = v * 256 + byte;
  }
  if (allOnes || v > Number.MAX_SAFE_INTEGER) return undefined;
  return v;
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
