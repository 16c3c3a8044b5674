import { TensorsafeError } from '../errors.js';
import type { ByteSource } from '../io/byte-source.js';
import { readChunks } from '../io/read-chunks.js';
import { swapChunks, swapInto } from './byte-swap.js';
import { DEFAULT_CHUNK_BYTES } from './tensor-set.js';

/**
 * Bytes of a strided view (torch and numpy tensors: an offset, a shape and strides into a
 * storage) as a contiguous row-major stream, in bounded chunks. Contiguous views are copied
 * range by range; others (transposes, slices with steps, expanded tensors with zero strides,
 * Fortran order) are gathered from the span of storage they touch: in one read when it is at most
 * MAX_GATHER_SPAN, else in blocks of output, each from one read of its span
 * or from one read per contiguous run, at most MAX_GATHER_READS reads in all (the same whether the
 * source is a file or memory: an array is not refused stored and read deflated).
 *
 * The copy is a tight typed-array loop per element width (1, 2 or 4-byte words) over a table of
 * source offsets of the innermost dimensions, after dimensions that step over each other are merged:
 * no per-element odometer, no per-element call.
 */

/** Largest storage span gathered in memory for one non-contiguous view; larger ones are gathered in blocks. */
export const MAX_GATHER_SPAN = 64 << 20;
/** Separate reads one view larger than MAX_GATHER_SPAN may take: a layout that needs more (a many-dimensional Fortran-order array) is refused, not read for minutes. */
export const MAX_GATHER_READS = 1 << 20;
/** Entries of the offset table of the innermost dimensions: bounds its memory (4 or 8 bytes an entry). */
const GATHER_TABLE_ENTRIES = 1 << 14;
/** Bytes of one tile of a tiled gather: small enough that the cache lines it reads and writes stay in the first-level cache. */
const GATHER_TILE_BYTES = 16 << 10;
/** Tile shapes whose offset tables are kept (full tiles and the edge tiles of each kind). */
const MAX_TILE_SHAPES = 64;
/** Largest read that gathers several nearby runs of a large view at once. */
const COALESCE_WINDOW_BYTES = 8 << 20;
/** Bytes between two runs of a large view read and dropped rather than spent a read on (or a run's length, if longer). */
const COALESCE_GAP_BYTES = 1024;
/** Contiguous runs at least this long are copied as bytes (set), shorter ones element by element. */
const RUN_COPY_BYTES = 64;
/** Dimensions shown in a refusal's shape and strides. */
const SHOWN_DIMS = 12;

export interface StridedView {
  /** Byte offset of element [0, 0, …] in the source. */
  readonly base: number;
  readonly elementSize: number;
  readonly shape: readonly number[];
  /** Strides in elements; non-negative. */
  readonly stride: readonly number[];
  /** Byte-swap units of this width (2, 4 or 8) after reading: big-endian storages. 0 for none. */
  readonly swap?: number;
  /** The tensor, for messages. */
  readonly name?: string;
}

/** Number of elements of a shape. */
function count(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** True when the view is plain row-major over consecutive elements (an empty view has nothing to gather). */
export function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  if (shape.includes(0)) return true;
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d]! !== 1 && stride[d]! !== expected) return false;
    expected *= shape[d]!;
  }
  return true;
}

/** Bytes from the first to one past the last element the view touches (0 for an empty view). */
export function spanBytes(view: StridedView): number {
  if (count(view.shape) === 0) return 0;
  return spanElements(view.shape, view.stride) * view.elementSize;
}

function spanElements(shape: readonly number[], stride: readonly number[]): number {
  let last = 0;
  shape.forEach((n, d) => (last += (n - 1) * stride[d]!));
  return last + 1;
}

interface Layout {
  readonly shape: number[];
  readonly stride: number[];
}

/** The same view with size-1 dimensions dropped and neighbours merged where the outer steps exactly over the inner (row-major pairs, broadcast pairs). */
function merged(shape: readonly number[], stride: readonly number[]): Layout {
  const s: number[] = [];
  const t: number[] = [];
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = s.length - 1;
    if (last >= 0 && t[last] === stride[d]! * shape[d]!) {
      s[last] = s[last]! * shape[d]!;
      t[last] = stride[d]!;
    } else {
      s.push(shape[d]!);
      t.push(stride[d]!);
    }
  }
  return { shape: s, stride: t };
}

/**
 * `maxGatherSpan` is MAX_GATHER_SPAN and `maxReads` MAX_GATHER_READS; tests set them lower to reach
 * the paths of large views with small ones.
 */
export async function* stridedChunks(
  source: ByteSource,
  view: StridedView,
  chunkBytes = DEFAULT_CHUNK_BYTES,
  maxGatherSpan = MAX_GATHER_SPAN,
  maxReads = MAX_GATHER_READS,
): AsyncGenerator<Uint8Array> {
  const es = view.elementSize;
  const total = count(view.shape) * es;
  if (total === 0) return;
  const step = Math.max(es, Math.floor(chunkBytes / es) * es);
  if (isContiguous(view.shape, view.stride)) {
    yield* swapChunks(readChunks(source, view.base, total, step), view.swap);
    return;
  }
  const layout = merged(view.shape, view.stride);
  const span = spanBytes(view);
  if (span <= maxGatherSpan) {
    const bytes = aligned(await source.read(view.base, span), es);
    if (total <= maxGatherSpan && !hasLongRuns(layout, es)) {
      // The whole output fits the budget too: gathered tile by tile, where both sides stay in cache.
      const out = inPlaceSwapped(gatherTiled(bytes, layout, es), view.swap);
      for (let at = 0; at < total; at += step) yield out.subarray(at, Math.min(total, at + step));
      return;
    }
    const gather = new Gather(bytes, layout, es);
    for (let done = 0; done < total; done += step) {
      const out = new Uint8Array(Math.min(step, total - done));
      gather.fill(out);
      yield inPlaceSwapped(out, view.swap);
    }
    return;
  }
  yield* gatherInBlocks(source, view, layout, step, Math.max(maxGatherSpan, es), maxReads);
}

/**
 * A gather from bytes in memory into row-major output, element after element. The innermost merged
 * dimensions are a table of word offsets (or, for one dimension, a stride); the outer ones an
 * odometer that moves once per table. A unit-stride innermost dimension with long runs is copied run
 * by run as bytes.
 */
class Gather {
  private readonly word: number;
  private readonly k: number; // words per element
  private readonly src: Uint8Array | Uint16Array | Uint32Array;
  private readonly outer: Layout; // dimensions the odometer walks (strides in words)
  private readonly counters: number[];
  private offset = 0; // word offset of the current block
  private at = 0; // position within the block (elements)
  private readonly blockLength: number; // elements of one block (a table, a strided row, or a run)
  private readonly table?: Int32Array | Float64Array;
  private readonly innerStride: number; // words, when there is no table
  private readonly run: boolean;

  constructor(
    private readonly bytes: Uint8Array,
    layout: Layout,
    private readonly es: number,
  ) {
    this.word = wordOf(es);
    this.k = es / this.word;
    this.src = words(bytes, this.word);
    const { shape, stride } = layout;
    const n = shape.length;
    const wordStride = stride.map((s) => s * this.k);
    this.run = hasLongRuns(layout, es);
    let m = Math.min(1, n);
    if (!this.run) while (m < n && count(shape.slice(n - m - 1)) <= GATHER_TABLE_ENTRIES) m++;
    this.outer = { shape: shape.slice(0, n - m), stride: wordStride.slice(0, n - m) };
    this.counters = new Array<number>(n - m).fill(0);
    this.blockLength = count(shape.slice(n - m));
    this.innerStride = m === 1 ? wordStride[n - 1]! : 0;
    if (m > 1) {
      const innerShape = shape.slice(n - m);
      const innerStride = wordStride.slice(n - m);
      this.table = offsetTable(innerShape, innerStride, 1, spanElements(innerShape, innerStride) >= 2 ** 31);
    }
  }

  /** Fills `out` (a whole number of elements) with the next elements of the view. */
  fill(out: Uint8Array): void {
    const dst = words(out, this.word);
    const k = this.k;
    let o = 0; // element position in out
    const n = out.byteLength / this.es;
    while (o < n) {
      const c = Math.min(n - o, this.blockLength - this.at);
      if (this.run) {
        const from = (this.offset / this.k + this.at) * this.es;
        out.set(this.bytes.subarray(from, from + c * this.es), o * this.es);
      } else if (this.table) copyTable(dst, o * k, this.src, this.offset, this.table, this.at, c, k);
      else copyStrided(dst, o * k, this.src, this.offset + this.at * this.innerStride, this.innerStride, c, k);
      o += c;
      this.at += c;
      if (this.at === this.blockLength) {
        this.at = 0;
        const { shape, stride } = this.outer;
        for (let d = shape.length - 1; d >= 0; d--) {
          this.offset += stride[d]!;
          if (++this.counters[d]! < shape[d]!) break;
          this.offset -= stride[d]! * shape[d]!;
          this.counters[d] = 0;
        }
      }
    }
  }
}

type Words = Uint8Array | Uint16Array | Uint32Array;

/** Whether the innermost merged dimension is contiguous runs long enough to copy as bytes (Gather's run mode). */
function hasLongRuns(layout: Layout, es: number): boolean {
  const n = layout.shape.length;
  return n > 0 && layout.stride[n - 1] === 1 && layout.shape[n - 1]! * es >= RUN_COPY_BYTES;
}

/**
 * The whole view gathered into a new row-major buffer, tile by tile: a tile keeps whole (or halves) the
 * dimensions whose source or output stride is small, so the cache lines it reads and writes are few and
 * each is used fully before it is evicted (a Fortran-order array reads a line per element otherwise).
 * A tile is two tables of word offsets, source and output, for its shape; edge tiles get their own.
 */
function gatherTiled(bytes: Uint8Array, layout: Layout, es: number): Uint8Array {
  const word = wordOf(es);
  const k = es / word;
  const { shape, stride } = layout;
  const n = shape.length;
  const out = new Uint8Array(count(shape) * es);
  const src = words(bytes, word);
  const dst = words(out, word);
  const outStride = new Array<number>(n);
  for (let d = n - 1, s = 1; d >= 0; d--) {
    outStride[d] = s;
    s *= shape[d]!;
  }
  // Tile extents: halve, one at a time, the dimension whose elements lie farthest apart on the nearer side.
  const tile = [...shape];
  const budget = Math.max(1, Math.floor(GATHER_TILE_BYTES / es));
  while (count(tile) > budget) {
    let pick = -1;
    for (let d = 0; d < n; d++) {
      if (tile[d]! <= 1) continue;
      const key = tile[d]! * Math.min(stride[d]!, outStride[d]!);
      const best = pick < 0 ? -1 : tile[pick]! * Math.min(stride[pick]!, outStride[pick]!);
      if (key > best || (key === best && tile[d]! > tile[pick]!)) pick = d;
    }
    tile[pick] = Math.ceil(tile[pick]! / 2);
  }
  const tables = new Map<string, { s: Int32Array | Float64Array; o: Int32Array | Float64Array }>();
  const tablesFor = (ext: readonly number[]): { s: Int32Array | Float64Array; o: Int32Array | Float64Array } => {
    const key = ext.join(',');
    const known = tables.get(key);
    if (known) return known;
    const big = spanElements(ext, stride) * k >= 2 ** 31 || spanElements(ext, outStride) * k >= 2 ** 31;
    const made = { s: offsetTable(ext, stride, k, big), o: offsetTable(ext, outStride, k, big) };
    if (tables.size < MAX_TILE_SHAPES) tables.set(key, made);
    return made;
  };
  const grid = shape.map((x, d) => Math.ceil(x / tile[d]!));
  const at = new Array<number>(n).fill(0); // tile index per dimension
  const ext = [...tile];
  const tiles = count(grid);
  let srcBase = 0; // elements
  let outBase = 0;
  for (let t = 0; t < tiles; t++) {
    for (let d = 0; d < n; d++) ext[d] = Math.min(tile[d]!, shape[d]! - at[d]! * tile[d]!);
    const { s, o } = tablesFor(ext);
    copyTile(dst, outBase * k, src, srcBase * k, o, s, s.length, k);
    for (let d = n - 1; d >= 0; d--) {
      srcBase += tile[d]! * stride[d]!;
      outBase += tile[d]! * outStride[d]!;
      if (++at[d]! < grid[d]!) break;
      srcBase -= tile[d]! * stride[d]! * grid[d]!;
      outBase -= tile[d]! * outStride[d]! * grid[d]!;
      at[d] = 0;
    }
  }
  return out;
}

/**
 * The offset of each element of `shape`, row-major, over `stride` times `scale` (words per stride
 * unit): a gather's table. Float64 when an offset may pass 2^31 (`big`).
 */
function offsetTable(shape: readonly number[], stride: readonly number[], scale: number, big: boolean): Int32Array | Float64Array {
  const length = count(shape);
  const table = big ? new Float64Array(length) : new Int32Array(length);
  const n = shape.length;
  const idx = new Array<number>(n).fill(0);
  let off = 0;
  for (let e = 0; e < length; e++) {
    table[e] = off * scale;
    for (let d = n - 1; d >= 0; d--) {
      off += stride[d]!;
      if (++idx[d]! < shape[d]!) break;
      off -= stride[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
  return table;
}

/** One tile: element j goes from word src[sb + s[j]] to dst[ob + o[j]]. */
function copyTile(dst: Words, ob: number, src: Words, sb: number, o: Int32Array | Float64Array, s: Int32Array | Float64Array, length: number, k: number): void {
  if (k === 1) {
    for (let j = 0; j < length; j++) dst[ob + o[j]!] = src[sb + s[j]!]!;
  } else if (k === 2) {
    for (let j = 0; j < length; j++) {
      const p = sb + s[j]!;
      const q = ob + o[j]!;
      dst[q] = src[p]!;
      dst[q + 1] = src[p + 1]!;
    }
  } else {
    for (let j = 0; j < length; j++) for (let t = 0; t < k; t++) dst[ob + o[j]! + t] = src[sb + s[j]! + t]!;
  }
}

/** c elements through a table of word offsets, from table position `at`; one loop per element width. */
function copyTable(dst: Words, to: number, src: Words, base: number, table: Int32Array | Float64Array, at: number, c: number, k: number): void {
  if (k === 1) {
    for (let j = 0; j < c; j++) dst[to + j] = src[base + table[at + j]!]!;
  } else if (k === 2) {
    for (let j = 0; j < c; j++) {
      const p = base + table[at + j]!;
      dst[to + 2 * j] = src[p]!;
      dst[to + 2 * j + 1] = src[p + 1]!;
    }
  } else {
    for (let j = 0; j < c; j++) {
      const p = base + table[at + j]!;
      for (let t = 0; t < k; t++) dst[to + j * k + t] = src[p + t]!;
    }
  }
}

/** c elements `stride` words apart, from word `from`. */
function copyStrided(dst: Words, to: number, src: Words, from: number, stride: number, c: number, k: number): void {
  if (k === 1) {
    for (let j = 0, p = from; j < c; j++, p += stride) dst[to + j] = src[p]!;
  } else if (k === 2) {
    for (let j = 0, p = from; j < c; j++, p += stride) {
      dst[to + 2 * j] = src[p]!;
      dst[to + 2 * j + 1] = src[p + 1]!;
    }
  } else {
    for (let j = 0, p = from; j < c; j++, p += stride) for (let t = 0; t < k; t++) dst[to + j * k + t] = src[p + t]!;
  }
}

/** A block of output: dimensions 0..k−1 fixed, `piece` indices of dimension k, the rest whole. */
interface BlockPlan {
  readonly k: number;
  readonly piece: number;
  readonly reads: number;
}

/** How a block of the sub-view is read: one read of its span, or one read per distinct contiguous run. */
function blockReads(shape: readonly number[], stride: readonly number[], es: number, budget: number): { reads: number; run?: Runs } {
  if (spanElements(shape, stride) * es <= budget) return { reads: 1 };
  const run = runsOf(shape, stride, es, Math.min(budget, COALESCE_WINDOW_BYTES));
  return { reads: run.reads, run };
}

interface Runs {
  /** Elements of one contiguous run. */
  readonly length: number;
  /** Dimensions that make up a run (their strides lay them out consecutively from stride 1). */
  readonly inRun: readonly boolean[];
  /** Distinct runs: the product of the other dimensions with a non-zero stride. */
  readonly runs: number;
  /** Reads they take at most, nearby runs read together (COALESCE_GAP_BYTES, within `window` bytes). */
  readonly reads: number;
  readonly window: number;
}

function runsOf(shape: readonly number[], stride: readonly number[], es: number, window: number): Runs {
  const order = [...shape.keys()].filter((d) => shape[d]! > 1 && stride[d]! > 0).sort((a, b) => stride[a]! - stride[b]!);
  const inRun = shape.map(() => false);
  let length = 1;
  for (const d of order) {
    if (stride[d] !== length) break;
    inRun[d] = true;
    length *= shape[d]!;
  }
  let runs = 1;
  for (const d of order) if (!inRun[d]) runs *= shape[d]!;
  // Runs along the innermost walked dimension lie `step` bytes apart: those close enough share a read.
  const walk = [...shape.keys()].filter((d) => !inRun[d] && shape[d]! > 1 && stride[d]! > 0);
  const runBytes = length * es;
  let reads = runs;
  if (walk.length > 0) {
    const last = walk[walk.length - 1]!;
    const step = stride[last]! * es;
    if (step >= runBytes && step - runBytes <= coalesceGap(runBytes) && step + runBytes <= window) {
      const perRead = Math.floor((window - runBytes) / step) + 1;
      reads = (runs / shape[last]!) * Math.ceil(shape[last]! / perRead);
    }
  }
  return { length, inRun, runs, reads, window };
}

/** Bytes between two runs read (and dropped) to save a read: at most the larger of COALESCE_GAP_BYTES and a run, so a read is at least half data or that small. */
function coalesceGap(runBytes: number): number {
  return Math.max(COALESCE_GAP_BYTES, runBytes);
}

/** The blocks that take the fewest reads, each at most `budget` bytes of output. */
function planBlocks(layout: Layout, es: number, budget: number): BlockPlan {
  const { shape, stride } = layout;
  let best: BlockPlan | undefined;
  for (let k = 0; k < shape.length; k++) {
    const inner = count(shape.slice(k + 1));
    if (inner * es > budget) continue;
    const piece = Math.min(shape[k]!, Math.floor(budget / (inner * es)));
    const blocks = count(shape.slice(0, k)) * Math.ceil(shape[k]! / piece);
    const { reads } = blockReads([piece, ...shape.slice(k + 1)], [stride[k]!, ...stride.slice(k + 1)], es, budget);
    const plan = { k, piece, reads: blocks * reads };
    if (!best || plan.reads < best.reads) best = plan;
  }
  return best!;
}

/**
 * Throws the GatherLimit error stridedChunks would throw for this view, before any byte is read: a
 * caller that must first bring the storage into memory (a deflated member) checks this first.
 */
export function checkGatherable(view: StridedView, maxGatherSpan = MAX_GATHER_SPAN, maxReads = MAX_GATHER_READS): void {
  if (count(view.shape) === 0 || isContiguous(view.shape, view.stride) || spanBytes(view) <= maxGatherSpan) return;
  const plan = planBlocks(merged(view.shape, view.stride), view.elementSize, Math.max(maxGatherSpan, view.elementSize));
  if (plan.reads > maxReads) throw gatherLimit(view, plan.reads, maxReads);
}

/** A view larger than the gather budget, in blocks of output rows, each gathered from what it touches. */
async function* gatherInBlocks(source: ByteSource, view: StridedView, layout: Layout, step: number, budget: number, maxReads: number): AsyncGenerator<Uint8Array> {
  const es = view.elementSize;
  const plan = planBlocks(layout, es, budget);
  if (plan.reads > maxReads) throw gatherLimit(view, plan.reads, maxReads);
  const { shape, stride } = layout;
  const { k, piece } = plan;
  const counters = new Array<number>(k).fill(0);
  const outerBlocks = count(shape.slice(0, k));
  let outerOffset = 0; // elements
  for (let b = 0; b < outerBlocks; b++) {
    for (let p0 = 0; p0 < shape[k]!; p0 += piece) {
      const subShape = [Math.min(piece, shape[k]! - p0), ...shape.slice(k + 1)];
      const subStride = [stride[k]!, ...stride.slice(k + 1)];
      const base = view.base + (outerOffset + p0 * stride[k]!) * es;
      const { run } = blockReads(subShape, subStride, es, budget);
      let from: { bytes: Uint8Array; layout: Layout };
      if (!run) {
        from = { bytes: aligned(await source.read(base, spanElements(subShape, subStride) * es), es), layout: merged(subShape, subStride) };
      } else {
        const staged = await stageRuns(source, base, subShape, subStride, run, es);
        from = { bytes: staged.bytes, layout: merged(subShape, staged.stride) };
      }
      let out: Uint8Array;
      if (hasLongRuns(from.layout, es)) {
        out = new Uint8Array(count(subShape) * es);
        new Gather(from.bytes, from.layout, es).fill(out);
      } else out = gatherTiled(from.bytes, from.layout, es);
      inPlaceSwapped(out, view.swap);
      for (let at = 0; at < out.byteLength; at += step) yield out.subarray(at, Math.min(out.byteLength, at + step));
    }
    for (let d = k - 1; d >= 0; d--) {
      outerOffset += stride[d]!;
      if (++counters[d]! < shape[d]!) break;
      outerOffset -= stride[d]! * shape[d]!;
      counters[d] = 0;
    }
  }
}

/**
 * The distinct contiguous runs of a sub-view, read into a compact buffer (runs close together in the
 * source in one read of at most `run.window` bytes), and the strides of the sub-view over that buffer:
 * run dimensions keep theirs, the others step over whole runs (row-major among themselves), broadcast
 * dimensions stay 0.
 */
async function stageRuns(source: ByteSource, base: number, shape: readonly number[], stride: readonly number[], run: Runs, es: number): Promise<{ bytes: Uint8Array; stride: number[] }> {
  const walk = [...shape.keys()].filter((d) => !run.inRun[d] && shape[d]! > 1 && stride[d]! > 0);
  const staged = stride.map((s, d) => (run.inRun[d] ? s : 0));
  let s = run.length;
  for (let i = walk.length - 1; i >= 0; i--) {
    staged[walk[i]!] = s;
    s *= shape[walk[i]!]!;
  }
  const runBytes = run.length * es;
  const gap = coalesceGap(runBytes);
  const bytes = new Uint8Array(run.runs * runBytes);
  // Runs waiting to be read together: staged from `first`, at source bytes `starts`, spanning [from, to).
  let first = 0;
  let starts: number[] = [];
  let from = 0;
  let to = 0;
  const flush = async (): Promise<void> => {
    if (starts.length === 0) return;
    if (starts.length === 1) {
      const target = bytes.subarray(first * runBytes, (first + 1) * runBytes);
      if (source.readInto) await source.readInto(target, from);
      else target.set(await source.read(from, runBytes));
    } else {
      const window = await source.read(from, to - from);
      starts.forEach((at, i) => bytes.set(window.subarray(at - from, at - from + runBytes), (first + i) * runBytes));
    }
    starts = [];
  };
  const idx = new Array<number>(walk.length).fill(0);
  let offset = 0; // elements
  for (let r = 0; r < run.runs; r++) {
    const at = base + offset * es;
    if (starts.length > 0 && at >= to && at - to <= gap && at + runBytes - from <= run.window) {
      starts.push(at);
      to = at + runBytes;
    } else {
      await flush();
      first = r;
      starts = [at];
      from = at;
      to = at + runBytes;
    }
    for (let i = walk.length - 1; i >= 0; i--) {
      const d = walk[i]!;
      offset += stride[d]!;
      if (++idx[i]! < shape[d]!) break;
      offset -= stride[d]! * shape[d]!;
      idx[i] = 0;
    }
  }
  await flush();
  return { bytes, stride: staged };
}

function gatherLimit(view: StridedView, reads: number, maxReads: number): TensorsafeError {
  const dims = (xs: readonly number[]): string => {
    const shown = xs.slice(0, SHOWN_DIMS).join(', ');
    return `(${shown}${xs.length > SHOWN_DIMS ? `, … ${xs.length} dimensions` : xs.length === 1 ? ',' : ''})`;
  };
  const what = view.name === undefined ? 'a tensor' : `tensor \`${view.name}\``;
  return new TensorsafeError(
    'GatherLimit',
    `${what} is a strided view of shape ${dims(view.shape)} and strides ${dims(view.stride)} (elements) over ${spanBytes(view)} bytes of storage: gathering it into row-major order would take ${reads} separate reads, more than MAX_GATHER_READS (${maxReads}); it is not read`,
    view.name === undefined ? undefined : { location: view.name },
  );
}

/** The widest word (4, 2 or 1 bytes) that divides an element: a gather copies elements word by word. */
function wordOf(es: number): number {
  return es % 4 === 0 ? 4 : es % 2 === 0 ? 2 : 1;
}

function words(bytes: Uint8Array, word: number): Words {
  if (word === 4) return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  if (word === 2) return new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
  return bytes;
}

/** The bytes, copied when their offset does not allow word views of the element size. */
function aligned(bytes: Uint8Array, es: number): Uint8Array {
  if (bytes.byteOffset % wordOf(es) === 0) return bytes;
  return bytes.slice();
}

/** A gathered chunk is this function's own buffer: swapped where it is. */
function inPlaceSwapped(bytes: Uint8Array, unit: number | undefined): Uint8Array {
  if (unit && unit > 1) swapInto(bytes, bytes, unit);
  return bytes;
}
