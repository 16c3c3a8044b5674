import { DTYPE_INFO, type Dtype } from '../dtype/dtypes.js';
import { elementCount } from '../dtype/tensor.js';
import { TensorsafeError } from '../errors.js';
import type { TensorEntry } from './tensor-set.js';
import { numericView, type NumericView } from './values.js';

/**
 * What one tensor's values are, without holding them: counts, range, mean, standard deviation and a
 * histogram, read in two streaming passes of bounded chunks (the range and mean first, then the
 * spread around the mean and the histogram over the range). Every value is taken as a float64: the
 * integers exactly up to 2^53 (64-bit minimum and maximum exactly, as decimal text), the minifloats
 * through the float codecs; BOOL as 0 and 1; a complex tensor as its real and its imaginary parts.
 *
 * The numbers are numpy's, computed in float64: min and max are `np.nanmin`/`np.nanmax` (±inf
 * included); mean and std (`ddof=0`) are over the finite values; the histogram is `np.histogram` of
 * the finite values with `bins` equal bins over their own range (edges from `np.linspace`, the last
 * bin closed), bin for bin.
 */

/** Bins of a histogram by default: enough to show a distribution's shape, few enough to read. */
export const HISTOGRAM_BINS = 64;
/** Most bins asked for: the counts cross to the page in one message. */
export const MAX_HISTOGRAM_BINS = 4096;
/** Elements decoded per step: bounds memory (8 MiB of float64 at most) whatever the tensor's size. */
export const SUMMARY_CHUNK_ELEMENTS = 1 << 20;

export interface Histogram {
  /** The outer edges: the finite values' minimum and maximum (±0.5 around a single value; 0 and 1 when there is none). */
  readonly min: number;
  readonly max: number;
  /** Values per bin; they sum to the count of finite values. */
  readonly counts: number[];
}

/** The statistics of one part of a tensor's values (a real tensor has one; a complex one, its real and its imaginary part). */
export interface ValueSummary {
  readonly part: 'values' | 'real' | 'imaginary';
  /** Values summarised (elements of the tensor). */
  readonly count: number;
  readonly nan: number;
  readonly posInf: number;
  readonly negInf: number;
  /** Values equal to zero (−0 included). */
  readonly zeros: number;
  /** Values neither NaN nor infinite. */
  readonly finite: number;
  /** Smallest and largest value but NaN (±inf included); NaN when every value is NaN. */
  readonly min: number;
  readonly max: number;
  /** For 64-bit integers: the exact minimum and maximum, in decimal (beyond 2^53 `min`/`max` are rounded). */
  readonly minExact?: string;
  readonly maxExact?: string;
  /** Mean and population standard deviation of the finite values (NaN when there is none). */
  readonly mean: number;
  readonly std: number;
  readonly histogram: Histogram;
}

export interface TensorValueSummary {
  readonly name: string;
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  readonly elements: number;
  readonly parts: ValueSummary[];
}

export interface SummaryOptions {
  bins?: number;
  /** Elements per chunk (default SUMMARY_CHUNK_ELEMENTS). */
  chunkElements?: number;
  /** Bytes read so far over the bytes both passes read (twice the tensor's). */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/** Summarises a tensor's values (see the module comment), reading its bytes twice, in bounded chunks. */
export async function summarizeTensor(entry: TensorEntry, options: SummaryOptions = {}): Promise<TensorValueSummary> {
  const bins = options.bins ?? HISTOGRAM_BINS;
  if (!Number.isInteger(bins) || bins < 1 || bins > MAX_HISTOGRAM_BINS) throw new TensorsafeError('InvalidArgument', `bins must be an integer from 1 to ${MAX_HISTOGRAM_BINS}, got ${bins}`);
  const elements = elementCount(entry.shape);
  const complex = entry.dtype === 'C64';
  const parts = complex ? [new Accumulator('real'), new Accumulator('imaginary')] : [new Accumulator('values')];
  const total = 2 * entry.byteLength;
  let done = 0;
  const pass = async (visit: (view: NumericView) => void): Promise<void> => {
    for await (const { bytes, count } of wholeElements(entry, elements, options.chunkElements ?? SUMMARY_CHUNK_ELEMENTS)) {
      if (options.signal?.aborted) throw new TensorsafeError('Aborted', `the summary of ${entry.name} was cancelled`, { location: entry.name });
      visit(numericView(entry.dtype, bytes, count));
      done += bytes.byteLength;
      options.onProgress?.(done, total);
    }
  };
  await pass((view) => parts.forEach((p, i) => p.firstPass(view, complex ? i : 0, complex ? 2 : 1)));
  for (const p of parts) p.startSecond(bins);
  await pass((view) => parts.forEach((p, i) => p.secondPass(view, complex ? i : 0, complex ? 2 : 1)));
  return { name: entry.name, dtype: entry.dtype, shape: [...entry.shape], elements, parts: parts.map((p) => p.result()) };
}

/** A tensor's bytes in chunks of whole elements (whole groups of 4 for F6, of 2 for F4), with the element count of each. */
async function* wholeElements(entry: TensorEntry, elements: number, chunkElements: number): AsyncGenerator<{ bytes: Uint8Array; count: number }> {
  const bits = DTYPE_INFO[entry.dtype].bits;
  // The smallest run of whole bytes that is whole elements: 3 bytes of F6, 1 of F4, one element otherwise.
  const unit = bits === 6 ? 3 : bits === 4 ? 1 : bits / 8;
  const perUnit = (unit * 8) / bits;
  const chunkBytes = Math.max(unit, Math.floor(chunkElements / perUnit) * unit);
  let carry = new Uint8Array(0);
  let left = elements;
  const emit = (bytes: Uint8Array): { bytes: Uint8Array; count: number } => {
    const count = Math.min(left, (bytes.byteLength / unit) * perUnit);
    left -= count;
    return { bytes, count };
  };
  for await (const chunk of entry.chunks(chunkBytes)) {
    let bytes = chunk;
    if (carry.byteLength > 0) {
      bytes = new Uint8Array(carry.byteLength + chunk.byteLength);
      bytes.set(carry);
      bytes.set(chunk, carry.byteLength);
    }
    const whole = bytes.byteLength - (bytes.byteLength % unit);
    carry = bytes.slice(whole);
    if (whole > 0) yield emit(bytes.subarray(0, whole));
  }
  // The last byte of an F4 or F6 tensor can hold fewer elements than a unit: emit's count caps it.
  if (carry.byteLength > 0 && left > 0) {
    const padded = new Uint8Array(unit);
    padded.set(carry);
    yield emit(padded);
  }
}

/** Compensated (Neumaier) sum: float64 accumulation whose error does not grow with the count. */
class Sum {
  private s = 0;
  private c = 0;
  add(x: number): void {
    const t = this.s + x;
    this.c += Math.abs(this.s) >= Math.abs(x) ? this.s - t + x : x - t + this.s;
    this.s = t;
  }
  get value(): number {
    return this.s + this.c;
  }
}

const TWO_32 = 4294967296;

class Accumulator {
  private count = 0;
  private nan = 0;
  private posInf = 0;
  private negInf = 0;
  private zeros = 0;
  private finite = 0;
  private min = Infinity;
  private max = -Infinity;
  private finiteMin = Infinity;
  private finiteMax = -Infinity;
  /** 64-bit integers: the extremes as (high word, low word), compared exactly. */
  private minWords: [number, number] | undefined;
  private maxWords: [number, number] | undefined;
  private signedWords = true;
  private readonly sum = new Sum();
  private readonly squares = new Sum();
  private mean = NaN;
  private counts: Float64Array = new Float64Array(0);
  private edges: Float64Array = new Float64Array(0);
  private low = 0;
  private high = 0;
  private norm = 0;

  constructor(private readonly part: ValueSummary['part']) {}

  /** The first pass: counts, extremes and the sum. */
  firstPass(view: NumericView, start: number, step: number): void {
    if (view instanceof BigInt64Array || view instanceof BigUint64Array) return this.firstWords(view);
    const n = view.length;
    let min = this.min;
    let max = this.max;
    let fmin = this.finiteMin;
    let fmax = this.finiteMax;
    let zeros = 0;
    let seen = 0;
    if (view instanceof Float32Array || view instanceof Float64Array) {
      let nan = 0;
      let pos = 0;
      let neg = 0;
      for (let i = start; i < n; i += step) {
        const x = view[i]!;
        seen++;
        if (x !== x) {
          nan++;
          continue;
        }
        if (x < min) min = x;
        if (x > max) max = x;
        if (x === Infinity) pos++;
        else if (x === -Infinity) neg++;
        else {
          if (x === 0) zeros++;
          if (x < fmin) fmin = x;
          if (x > fmax) fmax = x;
          this.sum.add(x);
        }
      }
      this.nan += nan;
      this.posInf += pos;
      this.negInf += neg;
      this.finite += seen - nan - pos - neg;
    } else {
      for (let i = start; i < n; i += step) {
        const x = view[i]!;
        if (x < min) min = x;
        if (x > max) max = x;
        if (x === 0) zeros++;
        this.sum.add(x);
      }
      seen = n;
      fmin = min;
      fmax = max;
      this.finite += n;
    }
    this.count += seen;
    this.zeros += zeros;
    this.min = min;
    this.max = max;
    this.finiteMin = fmin;
    this.finiteMax = fmax;
  }

  /** I64 and U64 through their 32-bit words: exact extremes, each value rounded once to float64, no BigInt per element. */
  private firstWords(view: BigInt64Array | BigUint64Array): void {
    const words = new Uint32Array(view.buffer, view.byteOffset, view.length * 2);
    const signed = view instanceof BigInt64Array;
    this.signedWords = signed;
    let [minHi, minLo] = this.minWords ?? [Infinity, Infinity];
    let [maxHi, maxLo] = this.maxWords ?? [-Infinity, -Infinity];
    let zeros = 0;
    const n = view.length;
    for (let i = 0; i < n; i++) {
      const lo = words[2 * i]!;
      const hi = signed ? words[2 * i + 1]! | 0 : words[2 * i + 1]!;
      if (hi < minHi || (hi === minHi && lo < minLo)) {
        minHi = hi;
        minLo = lo;
      }
      if (hi > maxHi || (hi === maxHi && lo > maxLo)) {
        maxHi = hi;
        maxLo = lo;
      }
      if (hi === 0 && lo === 0) zeros++;
      this.sum.add(hi * TWO_32 + lo);
    }
    this.count += n;
    this.finite += n;
    this.zeros += zeros;
    if (n > 0) {
      this.minWords = [minHi, minLo];
      this.maxWords = [maxHi, maxLo];
      this.min = this.finiteMin = minHi * TWO_32 + minLo;
      this.max = this.finiteMax = maxHi * TWO_32 + maxLo;
    }
  }

  /** Between the passes: the mean, and the histogram's edges as np.histogram makes them. */
  startSecond(bins: number): void {
    this.mean = this.finite > 0 ? this.sum.value / this.finite : NaN;
    let first = this.finite > 0 ? this.finiteMin : 0;
    let last = this.finite > 0 ? this.finiteMax : 1;
    if (first === last) {
      first -= 0.5;
      last += 0.5;
    }
    this.low = first;
    this.high = last;
    // np.linspace(first, last, bins + 1): i·step + first, the last edge exactly `last`.
    const step = (last - first) / bins;
    this.edges = new Float64Array(bins + 1);
    for (let i = 0; i <= bins; i++) this.edges[i] = i * step + first;
    this.edges[bins] = last;
    this.norm = bins / (last - first);
    this.counts = new Float64Array(bins);
  }

  /** The second pass: squared distances from the mean, and the histogram (finite values only). */
  secondPass(view: NumericView, start: number, step: number): void {
    const values: ArrayLike<number> = view instanceof BigInt64Array || view instanceof BigUint64Array ? wordsAsNumbers(view) : view;
    const mean = this.mean;
    const { counts, edges, low: first, high: last, norm } = this;
    const bins = counts.length;
    const n = values.length;
    for (let i = start; i < n; i += step) {
      const x = values[i]!;
      if (!(x >= first && x <= last)) continue; // NaN and ±inf are outside every bin
      const d = x - mean;
      this.squares.add(d * d);
      // np.histogram's index: truncated (x − first)·norm, then moved by at most one bin to agree with the edges.
      let k = Math.trunc((x - first) * norm);
      if (k === bins) k--;
      if (x < edges[k]!) k--;
      else if (x >= edges[k + 1]! && k !== bins - 1) k++;
      counts[k]!++;
    }
  }

  result(): ValueSummary {
    const exact = this.minWords && this.maxWords ? { minExact: wordsText(this.minWords, this.signedWords), maxExact: wordsText(this.maxWords, this.signedWords) } : {};
    return {
      part: this.part,
      count: this.count,
      nan: this.nan,
      posInf: this.posInf,
      negInf: this.negInf,
      zeros: this.zeros,
      finite: this.finite,
      min: this.count > this.nan ? this.min : NaN,
      max: this.count > this.nan ? this.max : NaN,
      ...exact,
      mean: this.mean,
      std: this.finite > 0 ? Math.sqrt(this.squares.value / this.finite) : NaN,
      histogram: { min: this.low + 0, max: this.high + 0, counts: Array.from(this.counts) },
    };
  }
}

/** A 64-bit integer chunk as float64 values (each rounded once), from its 32-bit words. */
function wordsAsNumbers(view: BigInt64Array | BigUint64Array): Float64Array {
  const words = new Uint32Array(view.buffer, view.byteOffset, view.length * 2);
  const signed = view instanceof BigInt64Array;
  const out = new Float64Array(view.length);
  for (let i = 0; i < out.length; i++) out[i] = (signed ? words[2 * i + 1]! | 0 : words[2 * i + 1]!) * TWO_32 + words[2 * i]!;
  return out;
}

function wordsText([hi, lo]: [number, number], signed: boolean): string {
  const v = (BigInt(hi) << 32n) + BigInt(lo);
  return (signed ? BigInt.asIntN(64, v) : BigInt.asUintN(64, v)).toString();
}
