import { Inflate } from 'fflate';
import { crc32 } from './crc32.js';
import { zipBzip2Decoder } from './bzip2.js';
import { METHOD_BZIP2, METHOD_DEFLATE, METHOD_LZMA, type ZipEntry } from './entry.js';
import { InflateProblem } from './inflate-problem.js';
import { INFLATE_INPUT_CHUNK_BYTES, ZIP_READ_CHUNK_BYTES } from './limits.js';
import { zipLzmaDecoder } from './lzma.js';

/**
 * What a compressed member's data actually decodes to, whatever its declared size says, for a scanner:
 * Python's zipfile (np.load of an .npz) reads a deflated member to the end of its deflate stream when
 * the declared size is larger, and runs what it read before a damaged tail, so the bytes a loader gets
 * are not the declared ones. Decoded as far as asked and no further (a header needs a few bytes, not
 * the member), and never past `limit` bytes, so a member of any size, or a bomb, is read in bounded
 * memory and time. `ZipEntry.read()` is the reader's strict counterpart: exactly the declared size.
 */
export interface DecodedMember {
  /** The bytes decoded so far, at most `limit`: a view, valid until the next `ensure`. */
  bytes(): Uint8Array;
  /** Decodes until at least `n` bytes are there, or the data ends, fails or passes the limit. */
  ensure(n: number): Promise<void>;
  /** The data ended within the limit: `bytes()` is all it decodes to. */
  readonly ended: boolean;
  /** It decodes to more than `limit` bytes: `bytes()` is the first `limit`. */
  readonly over: boolean;
  /** Why the data cannot be decoded past `bytes()` (damaged data, a truncated stream), or undefined. */
  readonly problem: string | undefined;
  /** The CRC-32 of `bytes()` (the member's, once it `ended`). */
  readonly crc: number;
}

/** A deflate, bzip2 or LZMA member (the methods a non-strict archive reads) as it decodes, up to `limit` bytes. */
export function decodeMember(entry: ZipEntry, limit: number): DecodedMember {
  if (entry.method === METHOD_DEFLATE) return new InflatedMember(entry, limit);
  if (entry.method === METHOD_BZIP2 || entry.method === METHOD_LZMA) return new RedecodedMember(entry, limit);
  throw new TypeError(`decodeMember: entry ${entry.name} has compression method ${entry.method}`);
}

/** Output kept, grown by doubling up to the limit; what passes the limit is counted, not kept. */
class Output {
  buffer = new Uint8Array(0);
  length = 0;
  over = false;
  crc = 0;
  constructor(readonly limit: number) {}

  add(chunk: Uint8Array): void {
    const n = Math.min(chunk.length, this.limit - this.length);
    if (n < chunk.length) this.over = true;
    if (n <= 0) return;
    if (this.length + n > this.buffer.length) {
      const grown = new Uint8Array(Math.min(this.limit, Math.max(this.length + n, this.buffer.length * 2, 1 << 16)));
      grown.set(this.buffer.subarray(0, this.length));
      this.buffer = grown;
    }
    this.buffer.set(chunk.subarray(0, n), this.length);
    this.crc = crc32(chunk.subarray(0, n), this.crc);
    this.length += n;
  }
}

/** Deflate, inflated in steps of INFLATE_INPUT_CHUNK_BYTES of input as bytes are asked for. */
class InflatedMember implements DecodedMember {
  private out: Output;
  private inflater: Inflate;
  private readonly raw;
  private rawAt = 0;
  private chunk: Uint8Array = new Uint8Array(0);
  private chunkAt = 0;
  ended = false;
  problem: string | undefined;

  constructor(
    private readonly entry: ZipEntry,
    private readonly limit: number,
  ) {
    this.out = new Output(limit);
    this.inflater = this.inflaterInto(this.out);
    this.raw = entry.rawSource();
  }

  private inflaterInto(out: Output): Inflate {
    return new Inflate((chunk: Uint8Array) => out.add(chunk));
  }

  bytes(): Uint8Array {
    return this.out.buffer.subarray(0, this.out.length);
  }
  get over(): boolean {
    return this.out.over;
  }
  get crc(): number {
    return this.out.crc;
  }

  async ensure(n: number): Promise<void> {
    const total = this.entry.compressedSize;
    while (this.out.length < n && !this.ended && !this.out.over && this.problem === undefined) {
      if (this.chunkAt === this.chunk.length && this.rawAt < total) {
        this.chunk = await this.raw.read(this.rawAt, Math.min(ZIP_READ_CHUNK_BYTES, total - this.rawAt));
        this.rawAt += this.chunk.length;
        this.chunkAt = 0;
      }
      const end = Math.min(this.chunk.length, this.chunkAt + INFLATE_INPUT_CHUNK_BYTES);
      const final = this.rawAt === total && end === this.chunk.length;
      try {
        this.inflater.push(this.chunk.subarray(this.chunkAt, end), final);
      } catch (e) {
        await this.recover(this.rawAt - this.chunk.length + this.chunkAt, end - this.chunkAt, final, e);
      }
      this.chunkAt = end;
      if (final && this.problem === undefined) this.ended = true;
    }
  }

  /**
   * A step of input failed (damaged data, a truncated stream): what it decoded before the damage is lost
   * with it. Inflated again up to the step, then byte by byte through it, so that every byte decoded
   * before the damage is there (a loader reading the member in small steps gets them, and runs them).
   */
  private async recover(stepAt: number, stepLength: number, final: boolean, cause: unknown): Promise<void> {
    const out = new Output(this.limit);
    const inflater = this.inflaterInto(out);
    let reason = cause;
    try {
      for (let at = 0; at < stepAt && !out.over; at += ZIP_READ_CHUNK_BYTES) inflater.push(await this.raw.read(at, Math.min(ZIP_READ_CHUNK_BYTES, stepAt - at)), false);
      const step = await this.raw.read(stepAt, stepLength);
      for (let i = 0; i < step.length && !out.over; i++) inflater.push(step.subarray(i, i + 1), false);
      if (final && !out.over) inflater.push(new Uint8Array(0), true);
    } catch (e) {
      reason = e;
    }
    if (out.length >= this.out.length) this.out = out;
    this.problem = `invalid deflate data after ${this.out.length} bytes (${reason instanceof Error ? reason.message : String(reason)})`;
  }
}

/** First decoded bytes of a bzip2 or LZMA member (whole-buffer decoders), decoded again to a larger size when more are asked for: at most ~4/3 of the final work. */
class RedecodedMember implements DecodedMember {
  private decoded: Uint8Array = new Uint8Array(0);
  ended = false;
  over = false;
  problem: string | undefined;
  crc = 0;
  private data: Uint8Array | undefined;

  constructor(
    private readonly entry: ZipEntry,
    private readonly limit: number,
  ) {}

  bytes(): Uint8Array {
    return this.decoded;
  }

  async ensure(n: number): Promise<void> {
    if (this.decoded.length >= n || this.ended || this.over || this.problem !== undefined) return;
    // The decoders take their whole input: a prefix of it, twice the limit, decodes to at least the limit.
    this.data ??= await this.entry.rawSource().read(0, Math.min(this.entry.compressedSize, 2 * this.limit));
    const cut = this.data.length < this.entry.compressedSize;
    // One byte past the limit tells whether more would follow.
    const target = Math.min(this.limit + 1, Math.max(n, this.decoded.length * 4, 1 << 20));
    let decoder: { decode(): Uint8Array; produced(): Uint8Array } | undefined;
    try {
      decoder = this.entry.method === METHOD_LZMA ? zipLzmaDecoder(this.data, target) : zipBzip2Decoder(this.data, target);
      this.decoded = decoder.decode();
    } catch (e) {
      if (!(e instanceof InflateProblem)) throw e;
      this.decoded = decoder?.produced() ?? new Uint8Array(0);
      if (cut) this.over = true; // the input read ended, not the member's
      else if (e.kind === 'TooShort') this.ended = true;
      else this.problem = `${e.message}, after ${this.decoded.length} bytes`;
    }
    if (this.decoded.length > this.limit) {
      this.decoded = this.decoded.subarray(0, this.limit);
      this.over = true;
    }
    this.crc = crc32(this.decoded);
  }
}
