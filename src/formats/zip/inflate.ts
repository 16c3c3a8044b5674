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
 * not less: truncation). Throws InflateProblem.
 */
export function inflateRawExact(data: Uint8Array, expectedSize: number, chunkBytes = INFLATE_INPUT_CHUNK_BYTES): Uint8Array {
  const inflater = new BoundedInflater(expectedSize, Math.min(expectedSize, Math.max(65536, data.length * 4)));
  inflater.push(data, true, chunkBytes);
  return inflater.result();
}
