import { malformed } from '../../io/format-problem.js';

/** Reads a little-endian unsigned integer of `size` bytes (1 to 8): a number, or -1 when it is above 2^53 - 1. */
export function uintLE(bytes: Uint8Array, at: number, size: number): number {
  let v = 0;
  let scale = 1;
  for (let i = 0; i < size; i++) {
    v += bytes[at + i]! * scale;
    scale *= 256;
  }
  return Number.isSafeInteger(v) ? v : -1;
}

/** True when `size` bytes at `at` are all 0xFF: HDF5's undefined address ("never allocated"). */
export function isUndefinedAddress(bytes: Uint8Array, at: number, size: number): boolean {
  for (let i = 0; i < size; i++) if (bytes[at + i] !== 0xff) return false;
  return true;
}

/**
 * Sequential fields of bytes in memory (a header message's body, a chunk index block), every read
 * bounds-checked: running past the end is a FormatProblem naming `what` and where it starts.
 */
export class FieldReader {
  pos = 0;

  constructor(
    readonly bytes: Uint8Array,
    /** What the bytes are, for messages (`dataset /a: layout message`). */
    readonly what: string,
    /** File offset of bytes[0], when they came from the file. */
    readonly fileOffset?: number,
  ) {}

  /** The file offset of `pos` (for FormatProblems), when known. */
  offsetOf(pos = this.pos): number | undefined {
    return this.fileOffset === undefined ? undefined : this.fileOffset + pos;
  }

  need(n: number, field: string): void {
    if (this.pos + n > this.bytes.length) {
      throw malformed(`${this.what}: ${field} (${n} bytes at byte ${this.pos}) runs past its end (${this.bytes.length} bytes)`, this.offsetOf());
    }
  }

  u8(field: string): number {
    this.need(1, field);
    return this.bytes[this.pos++]!;
  }

  /** An unsigned little-endian integer of `size` bytes; one above 2^53 - 1 is malformed. */
  uint(size: number, field: string): number {
    this.need(size, field);
    const v = uintLE(this.bytes, this.pos, size);
    if (v < 0) throw malformed(`${this.what}: ${field} at byte ${this.pos} is larger than any file offset or size`, this.offsetOf());
    this.pos += size;
    return v;
  }

  /** An address of `size` bytes: undefined for the undefined address (all bits set). */
  address(size: number, field: string): number | undefined {
    this.need(size, field);
    if (isUndefinedAddress(this.bytes, this.pos, size)) {
      this.pos += size;
      return undefined;
    }
    return this.uint(size, field);
  }

  take(n: number, field: string): Uint8Array {
    this.need(n, field);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  skip(n: number, field: string): void {
    this.need(n, field);
    this.pos += n;
  }
}
