import { SafetensorError } from '../errors.js';
import { DTYPE_INFO, type Dtype } from '../dtype/dtypes.js';

/**
 * numpy-style indexing of one tensor: integers (negative from the end), ranges with
 * steps (negative steps too), `...`, and trailing dimensions left out. A plan says which
 * byte runs of the tensor the result needs, so only those bytes are read.
 */

/** One index: an integer, a range, `'...'`, or a string like `'1:10:2'`, `'-1'`, `':'`. */
export type SliceIndex = number | string | SliceRange | null;

export interface SliceRange {
  start?: number | null;
  stop?: number | null;
  step?: number | null;
}

interface DimSelection {
  start: number;
  step: number;
  count: number;
  /** False for an integer index: the dimension is dropped from the result. */
  keep: boolean;
}

/** What a slice reads and how it is assembled. */
export interface SlicePlan {
  readonly shape: number[];
  /** Byte runs of the tensor's data, in result order. */
  readonly runs: ByteRun[];
  readonly byteLength: number;
}

export interface ByteRun {
  offset: number;
  length: number;
}

/** Parses `'0:2, ::2, -1'` into indices; accepts the pieces already split too. */
export function parseSliceIndices(indices: readonly SliceIndex[]): (number | SliceRange | 'ellipsis')[] {
  const out: (number | SliceRange | 'ellipsis')[] = [];
  for (const index of indices) {
    if (typeof index === 'string') {
      for (const part of index.split(',')) out.push(parseIndexText(part.trim(), index));
    } else if (index === null) {
      out.push({});
    } else if (typeof index === 'number') {
      if (!Number.isSafeInteger(index)) throw invalid(`index ${index} is not an integer`);
      out.push(index);
    } else if (typeof index === 'object') {
      for (const key of ['start', 'stop', 'step'] as const) {
        const v = index[key];
        if (v !== undefined && v !== null && !Number.isSafeInteger(v)) throw invalid(`${key} ${String(v)} is not an integer`);
      }
      out.push(index);
    } else {
      throw invalid(`unsupported index ${String(index)}`);
    }
  }
  return out;
}

function parseIndexText(text: string, whole: string): number | SliceRange | 'ellipsis' {
  if (text === '...' || text === '…') return 'ellipsis';
  const parts = text.split(':');
  const int = (s: string): number | null => {
    const t = s.trim();
    if (t === '') return null;
    if (!/^[+-]?\d+$/.test(t)) throw invalid(`cannot read ${JSON.stringify(t)} in index ${JSON.stringify(whole)}`);
    return Number(t);
  };
  if (parts.length === 1) {
    const v = int(parts[0]!);
    if (v === null) throw invalid(`empty index in ${JSON.stringify(whole)}`);
    return v;
  }
  if (parts.length > 3) throw invalid(`too many colons in ${JSON.stringify(text)}`);
  return { start: int(parts[0]!), stop: int(parts[1]!), step: parts.length === 3 ? int(parts[2]!) : null };
}

/** Plans a slice of a tensor with the given dtype and shape. */
export function planSlice(name: string, dtype: Dtype, shape: readonly number[], indices: readonly SliceIndex[]): SlicePlan {
  const parsed = parseSliceIndices(indices);
  const ellipses = parsed.filter((p) => p === 'ellipsis').length;
  if (ellipses > 1) throw invalid(`an index can only have a single ellipsis ('...'), tensor \`${name}\``);
  const explicit = parsed.length - ellipses;
  if (explicit > shape.length) {
    throw new SafetensorError('TooManySlices', `more slicing indexes than dimensions in tensor \`${name}\`: ${explicit} indexes for shape [${shape.join(', ')}]`, {
      location: `tensor ${name}`,
    });
  }
  const expanded: (number | SliceRange)[] = [];
  for (const p of parsed) {
    if (p === 'ellipsis') for (let k = 0; k < shape.length - explicit; k++) expanded.push({});
    else expanded.push(p);
  }
  while (expanded.length < shape.length) expanded.push({});

  const dims: DimSelection[] = expanded.map((index, d) => select(name, d, shape[d]!, index));
  const bits = DTYPE_INFO[dtype].bits;
  const resultShape = dims.filter((s) => s.keep).map((s) => s.count);
  const total = dims.reduce((n, s) => n * s.count, 1);
  if (total === 0) return { shape: resultShape, runs: [], byteLength: 0 };

  // Row-major strides in elements.
  const strides: number[] = new Array<number>(shape.length);
  let stride = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = stride;
    stride *= shape[d]!;
  }
  // The innermost dimensions taken whole, plus one more taken with step 1, form contiguous runs;
  // the dimensions before them are walked to find where each run starts.
  let inner = shape.length;
  let runElements = 1;
  while (inner > 0) {
    const s = dims[inner - 1]!;
    if (s.start === 0 && s.step === 1 && s.count === shape[inner - 1]) {
      runElements *= s.count;
      inner--;
    } else break;
  }
  const outer = dims.slice(0, inner).map((s) => ({ start: s.start, step: s.step, count: s.count }));
  const last = outer[inner - 1];
  if (last && (last.step === 1 || last.count === 1)) {
    runElements *= last.count;
    last.count = 1;
  }
  const runBits = runElements * bits;
  const runs: ByteRun[] = [];
  const counters = new Array<number>(outer.length).fill(0);
  const runCount = outer.reduce((n, s) => n * s.count, 1);
  for (let r = 0; r < runCount; r++) {
    let element = 0;
    for (let d = 0; d < outer.length; d++) element += (outer[d]!.start + counters[d]! * outer[d]!.step) * strides[d]!;
    const bitOffset = element * bits;
    if (bitOffset % 8 !== 0 || runBits % 8 !== 0) {
      throw new SafetensorError(
        'MisalignedSlice',
        `The slice is slicing for subbytes dtypes, and the slice does not end up at a byte boundary, this is invalid: tensor \`${name}\` (${dtype}) element ${element}`,
        { location: `tensor ${name}` },
      );
    }
    runs.push({ offset: bitOffset / 8, length: runBits / 8 });
    for (let d = outer.length - 1; d >= 0; d--) {
      if (++counters[d]! < outer[d]!.count) break;
      counters[d] = 0;
    }
  }
  return { shape: resultShape, runs, byteLength: (total * bits) / 8 };
}

/** numpy's (Python's `slice.indices`) rules for one dimension. */
function select(name: string, d: number, size: number, index: number | SliceRange): DimSelection {
  if (typeof index === 'number') {
    const i = index < 0 ? index + size : index;
    if (i < 0 || i >= size) {
      throw new SafetensorError('SliceOutOfRange', `index ${index} out of bounds for tensor dimension #${d} of size ${size} (tensor \`${name}\`)`, {
        location: `tensor ${name}`,
      });
    }
    return { start: i, step: 1, count: 1, keep: false };
  }
  const step = index.step ?? 1;
  if (step === 0) throw invalid(`slice step cannot be zero (tensor \`${name}\`, dimension #${d})`);
  const lower = step > 0 ? 0 : -1;
  const upper = step > 0 ? size : size - 1;
  const bound = (v: number | null | undefined, dflt: number): number => {
    if (v === null || v === undefined) return dflt;
    const w = v < 0 ? v + size : v;
    return w < lower ? lower : w > upper ? upper : w;
  };
  const start = bound(index.start, step > 0 ? lower : upper);
  const stop = bound(index.stop, step > 0 ? upper : lower);
  const count = step > 0 ? (stop > start ? Math.ceil((stop - start) / step) : 0) : start > stop ? Math.ceil((start - stop) / -step) : 0;
  return { start, step, count, keep: true };
}

function invalid(message: string): SafetensorError {
  return new SafetensorError('InvalidSlice', message);
}

/**
 * Groups runs whose bytes lie within `gap` of each other into spans read at once
 * (a few large reads instead of many small ones on HTTP and files).
 */
export function coalesceRuns(runs: readonly ByteRun[], gap: number): { spans: ByteRun[]; spanOf: number[] } {
  const order = runs.map((_, i) => i);
  let sorted = true;
  for (let i = 1; i < runs.length && sorted; i++) if (runs[i]!.offset < runs[i - 1]!.offset) sorted = false;
  if (!sorted) order.sort((a, b) => runs[a]!.offset - runs[b]!.offset);
  const spans: ByteRun[] = [];
  const spanOf = new Array<number>(runs.length);
  for (const i of order) {
    const r = runs[i]!;
    const last = spans[spans.length - 1];
    if (last && r.offset <= last.offset + last.length + gap) {
      last.length = Math.max(last.length, r.offset + r.length - last.offset);
    } else {
      spans.push({ offset: r.offset, length: r.length });
    }
    spanOf[i] = spans.length - 1;
  }
  return { spans, spanOf };
}
