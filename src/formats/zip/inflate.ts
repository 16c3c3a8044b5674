import { Inflate } from 'fflate';
import { INFLATE_INPUT_CHUNK_BYTES } from './limits.js';
import { InflateProblem } from './inflate-problem.js';

export { InflateProblem };

/**
 * Raw DEFLATE (RFC 1951) decoding that stops as soon as the output exceeds `expectedSize`.
 * Input is pushed in chunks of at most `chunkBytes`, so a bomb is caught after at most about
 * 1032 × chunkBytes of output, whatever its declared sizes say.
 */
export class BoundedInflater {
  private readonly inflater: Inflate;
  private out: Uint8Array;
  private length = 0;
  private done = false;

  constructor(
    readonly expectedSize: number,
    initialCapacity = expectedSize,
  ) {
    this.out = new Uint8Array(Math.min(expectedSize, Math.max(0, initialCapacity)));
    this.inflater = new Inflate((chunk: Uint8Array) => this.accept(chunk));
  }

  private accept(chunk: Uint8Array): void {
    const need = this.length + chunk.length;
    if (need > this.expectedSize) {
      throw new InflateProblem('TooLong', `inflates to more than the declared ${this.expectedSize} bytes`);
    }
    if (need > this.out.length) {
      const grown = new Uint8Array(Math.min(this.expectedSize, Math.max(need, this.out.length * 2)));
      grown.set(this.out.subarray(0, this.length));
      this.out = grown;
    }
    this.out.set(chunk, this.length);
    this.length = need;
  }

  /** Pushes compressed bytes; `final` marks the last of them. */
  push(input: Uint8Array, final: boolean, chunkBytes = INFLATE_INPUT_CHUNK_BYTES): void {
    if (this.done) throw new InflateProblem('BadDeflate', 'input pushed after the final chunk');
    const step = Math.max(1, chunkBytes);
    let at = 0;
    do {
      const end = Math.min(input.length, at + step);
      const last = final && end === input.length;
      try {
        this.inflater.push(input.subarray(at, end), last);
      } catch (e) {
        if (e instanceof InflateProblem) throw e;
        const reason = e instanceof Error ? e.message : String(e);
        throw new InflateProblem('BadDeflate', `invalid deflate data (${reason})`, { cause: e });
      }
      at = end;
    } while (at < input.length);
    if (final) this.done = true;
  }

  /** The output, after the final push; throws when it is shorter than expected. */
  result(): Uint8Array {
    if (!this.done) throw new InflateProblem('BadDeflate', 'the final chunk was never pushed');
    if (this.length !== this.expectedSize) {
      throw new InflateProblem('TooShort', `inflates to ${this.length} bytes, not the declared ${this.expectedSize}`);
    }
    return this.length === this.out.length ? this.out : this.out.subarray(0, this.length);
  }
}

/**
 * Inflates raw DEFLATE data whose decoded size must be exactly `expectedSize` (not more: zip bombs;
 * not less: truncation). Throws InflateProblem. Uses the platform's zlib when there is one (Node: several
 * times faster, output bounded by `maxOutputLength`), the portable decoder otherwise.
 */
export function inflateRawExact(data: Uint8Array, expectedSize: number, chunkBytes = INFLATE_INPUT_CHUNK_BYTES): Uint8Array {
  const native = nativeInflateRaw();
  if (native && expectedSize > 0 && data.length > 0) return inflateExactWith(native, data, expectedSize);
  return inflateRawExactPortable(data, expectedSize, chunkBytes);
}

/** inflateRawExact with the portable decoder (fflate), input pushed `chunkBytes` at a time: what browsers run. */
export function inflateRawExactPortable(data: Uint8Array, expectedSize: number, chunkBytes = INFLATE_INPUT_CHUNK_BYTES): Uint8Array {
  const inflater = new BoundedInflater(expectedSize, Math.min(expectedSize, Math.max(65536, data.length * 4)));
  inflater.push(data, true, chunkBytes);
  return inflater.result();
}

/** Node's zlib.inflateRawSync / inflateSync (RFC 1951 / RFC 1950): the options used. */
export type NativeInflate = (data: Uint8Array, options: { maxOutputLength: number; chunkSize: number }) => Uint8Array;

/** Node's zlib.inflate: the same, on libuv's thread pool (several chunks inflate at once, off the main thread). */
export type NativeInflateAsync = (data: Uint8Array, options: { maxOutputLength: number; chunkSize: number }, done: (error: Error | null, out: Uint8Array) => void) => void;

interface NativeZlib {
  inflateRawSync: NativeInflate;
  inflateSync: NativeInflate;
  inflate: NativeInflateAsync;
}

let nativeZlib: NativeZlib | null | undefined;

/** Node's zlib, through process.getBuiltinModule (Node >= 20.16; no import, so browsers never see it); undefined elsewhere. */
function platformZlib(): NativeZlib | undefined {
  if (nativeZlib === undefined) {
    nativeZlib = null;
    const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
    try {
      const zlib = typeof proc?.getBuiltinModule === 'function' ? (proc.getBuiltinModule('node:zlib') as Partial<NativeZlib> | undefined) : undefined;
      if (typeof zlib?.inflateRawSync === 'function' && typeof zlib.inflateSync === 'function' && typeof zlib.inflate === 'function') {
        nativeZlib = { inflateRawSync: zlib.inflateRawSync.bind(zlib), inflateSync: zlib.inflateSync.bind(zlib), inflate: zlib.inflate.bind(zlib) };
      }
    } catch {
      nativeZlib = null;
    }
  }
  return nativeZlib ?? undefined;
}

/** The platform's raw inflate (Node's zlib.inflateRawSync), or undefined where there is none (browsers). */
export function nativeInflateRaw(): NativeInflate | undefined {
  return platformZlib()?.inflateRawSync;
}

/**
 * A zlib stream (RFC 1950: header, deflate data, Adler-32) inflated by the platform's zlib to exactly
 * `expectedSize` bytes, the Adler-32 checked by zlib; undefined where there is no platform zlib (the
 * caller then inflates the raw data portably and checks the Adler-32 itself). Throws InflateProblem.
 */
export function inflateZlibExactNative(data: Uint8Array, expectedSize: number): Uint8Array | undefined {
  const zlib = platformZlib();
  if (!zlib || expectedSize === 0) return undefined;
  return inflateExactWith(zlib.inflateSync, data, expectedSize);
}

/**
 * inflateZlibExactNative on the platform's thread pool: resolves to exactly `expectedSize` bytes (the
 * same bounds), rejects with InflateProblem; undefined where there is no platform zlib.
 */
export function inflateZlibExactNativeAsync(data: Uint8Array, expectedSize: number): Promise<Uint8Array> | undefined {
  const zlib = platformZlib();
  if (!zlib || expectedSize === 0) return undefined;
  return new Promise((resolve, reject) => {
    zlib.inflate(data, nativeOptions(data, expectedSize), (error, out) => {
      try {
        if (error) throw inflateProblemOf(error, expectedSize);
        resolve(exactOutput(out, expectedSize));
      } catch (e) {
        reject(e);
      }
    });
  });
}

/**
 * inflateRawExact through a native zlib: it stops (ERR_BUFFER_TOO_LARGE) once its output passes
 * `expectedSize` by one output chunk, so a bomb never grows; output buffers start no larger than four
 * times the input, so a small stream declaring a large size allocates little before it is found short.
 */
export function inflateExactWith(inflate: NativeInflate, data: Uint8Array, expectedSize: number): Uint8Array {
  let out: Uint8Array;
  try {
    out = inflate(data, nativeOptions(data, expectedSize));
  } catch (e) {
    throw inflateProblemOf(e, expectedSize);
  }
  return exactOutput(out, expectedSize);
}

function nativeOptions(data: Uint8Array, expectedSize: number): { maxOutputLength: number; chunkSize: number } {
  return { maxOutputLength: expectedSize, chunkSize: Math.max(64, Math.min(expectedSize, Math.max(65536, data.length * 4))) };
}

function inflateProblemOf(e: unknown, expectedSize: number): InflateProblem {
  const { code, message } = e as { code?: unknown; message?: unknown };
  if (code === 'ERR_BUFFER_TOO_LARGE') return new InflateProblem('TooLong', `inflates to more than the declared ${expectedSize} bytes`, { cause: e });
  // zlib's words for a failed Adler-32 (RFC 1950 streams only).
  if (message === 'incorrect data check') return new InflateProblem('BadDeflate', 'the zlib Adler-32 does not match the data', { cause: e });
  return new InflateProblem('BadDeflate', `invalid deflate data (${typeof message === 'string' ? message : String(e)})`, { cause: e });
}

function exactOutput(out: Uint8Array, expectedSize: number): Uint8Array {
  if (out.length !== expectedSize) throw new InflateProblem('TooShort', `inflates to ${out.length} bytes, not the declared ${expectedSize}`);
  // A plain Uint8Array over the Buffer's bytes: callers may slice() it and expect a copy.
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}
