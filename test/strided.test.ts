import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemorySource } from '../src/io/byte-source.js';
import { isTensorsafeError } from '../src/errors.js';
import { checkGatherable, MAX_GATHER_READS, stridedChunks, type StridedView } from '../src/tensor/strided.js';

/**
 * Strided gathers (tensor/strided.ts) against a plain element-by-element reference, on every path:
 * contiguous reads, a gather from the span in memory, run-by-run reads, and column blocks (a view
 * whose first dimension is unit-stride: Fortran order, transposes), reached with small views by
 * lowering the gather budget; with and without a byte swap, in any chunk size.
 */

function reference(bytes: Uint8Array, view: StridedView): Uint8Array {
  const es = view.elementSize;
  const n = view.shape.reduce((a, b) => a * b, 1);
  const out = new Uint8Array(n * es);
  const idx = new Array<number>(view.shape.length).fill(0);
  for (let e = 0; e < n; e++) {
    let off = 0;
    idx.forEach((i, d) => (off += i * view.stride[d]!));
    for (let b = 0; b < es; b++) out[e * es + b] = bytes[view.base + off * es + (view.swap ? es - 1 - b : b)]!;
    for (let d = idx.length - 1; d >= 0; d--) {
      if (++idx[d]! < view.shape[d]!) break;
      idx[d] = 0;
    }
  }
  return out;
}

async function gather(bytes: Uint8Array, view: StridedView, chunkBytes: number, budget?: number): Promise<Uint8Array> {
  const parts: number[] = [];
  for await (const c of stridedChunks(new MemorySource(bytes), view, chunkBytes, budget)) {
    expect(c.byteLength).toBeLessThanOrEqual(Math.max(chunkBytes, view.elementSize));
    expect(c.byteLength % view.elementSize).toBe(0);
    parts.push(...c);
  }
  return Uint8Array.from(parts);
}

/** A shape, and strides that lay it out in some order of its dimensions (a permuted contiguous array). */
const permuted = fc
  .array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 })
  .chain((shape) => fc.tuple(fc.constant(shape), fc.shuffledSubarray([...shape.keys()], { minLength: shape.length, maxLength: shape.length })));

describe('strided gathers', () => {
  it('equal the element-by-element reference on every path', async () => {
    await fc.assert(
      fc.asyncProperty(
        permuted,
        fc.constantFrom(1, 2, 4, 8),
        fc.boolean(),
        fc.integer({ min: 0, max: 16 }),
        fc.constantFrom(1, 7, 24, 1 << 20),
        fc.constantFrom(undefined, 0, 16, 64),
        async ([shape, order], es, swap, base, chunkBytes, budget) => {
          // Strides: the dimension listed last in `order` moves fastest.
          const stride = new Array<number>(shape.length).fill(0);
          let s = 1;
          for (let i = order.length - 1; i >= 0; i--) {
            stride[order[i]!] = s;
            s *= shape[order[i]!]!;
          }
          const bytes = Uint8Array.from({ length: base * es + s * es + 5 }, (_, i) => (i * 151 + 3) & 255);
          const view: StridedView = { base: base * es, elementSize: es, shape, stride, swap: swap && es > 1 ? es : 0 };
          expect(await gather(bytes, view, chunkBytes, budget)).toEqual(reference(bytes, view));
        },
      ),
      { numRuns: 600 },
    );
  });

  it('views of many tiles, with ragged edge tiles, equal the reference (tiled in-memory gathers)', async () => {
    for (const [shape, order, es] of [
      [[37, 41, 29], [2, 0, 1], 1],
      [[37, 41, 29], [1, 2, 0], 8],
      [[130, 67], [1, 0], 4],
      [[3, 3, 3, 3, 3, 3, 3, 3, 3], [8, 7, 6, 5, 4, 3, 2, 1, 0], 2],
    ] as [number[], number[], number][]) {
      const stride = new Array<number>(shape.length).fill(0);
      let s = 1;
      for (let i = order.length - 1; i >= 0; i--) {
        stride[order[i]!] = s;
        s *= shape[order[i]!]!;
      }
      const bytes = Uint8Array.from({ length: s * es + 3 }, (_, i) => (i * 151 + 7) & 255);
      const view: StridedView = { base: 3, elementSize: es, shape, stride, swap: es > 1 ? es : 0 };
      expect([shape, es, await gather(bytes, view, 4096)]).toEqual([shape, es, reference(bytes, view)]);
    }
  });

  it('a Fortran-order matrix larger than the budget is read one column run per column and block', async () => {
    const [rows, cols, es] = [300, 7, 4];
    const bytes = Uint8Array.from({ length: rows * cols * es }, (_, i) => (i * 13) & 255);
    const view: StridedView = { base: 0, elementSize: es, shape: [rows, cols], stride: [1, rows] };
    let reads = 0;
    const source = new MemorySource(bytes);
    const counting = { size: source.size, name: 'm', read: (o: number, n: number) => (reads++, source.read(o, n)) };
    const parts: number[] = [];
    for await (const c of stridedChunks(counting, view, 64, 1024)) parts.push(...c);
    expect(Uint8Array.from(parts)).toEqual(reference(bytes, view));
    // 1024-byte budget: 36 rows (of 28 bytes) per block, 9 blocks, one read per column each.
    expect(reads).toBe(Math.ceil(rows / 36) * cols);
  });

  it('a view larger than the budget is gathered in blocks read by the span or by the run, never element by element', async () => {
    // A 3-D Fortran-order u1 array (runs of 8 bytes along dim 0): blocks of rows, one read per run.
    const shape = [8, 6, 5];
    const view: StridedView = { base: 3, elementSize: 1, shape, stride: [1, 8, 48] };
    const bytes = Uint8Array.from({ length: 3 + 240 }, (_, i) => (i * 37 + 1) & 255);
    let reads = 0;
    const source = new MemorySource(bytes);
    const counting = { size: source.size, name: 'm', read: (o: number, n: number) => (reads++, source.read(o, n)) };
    const parts: number[] = [];
    for await (const c of stridedChunks(counting, view, 16, 64)) parts.push(...c);
    expect(Uint8Array.from(parts)).toEqual(reference(bytes, view));
    // 64-byte blocks: 2 rows of dim 0 (30 bytes each) per block, 4 blocks; 30 runs of 2 bytes per block, those
    // along the last dimension (48 bytes apart) read two at a time within a 64-byte read: 6 × 3 reads a block.
    expect(reads).toBe(4 * 18);
  });

  it('runs close together in the source are read together: a Fortran matrix of 1-byte runs takes a few reads, not one per run', async () => {
    const view: StridedView = { base: 0, elementSize: 1, shape: [5, 100], stride: [1, 5] };
    const bytes = Uint8Array.from({ length: 500 }, (_, i) => (i * 7) & 255);
    let reads = 0;
    const source = new MemorySource(bytes);
    const counting = { size: source.size, name: 'm', read: (o: number, n: number) => (reads++, source.read(o, n)) };
    const parts: number[] = [];
    for await (const c of stridedChunks(counting, view, 32, 128, 20)) parts.push(...c);
    expect(Uint8Array.from(parts)).toEqual(reference(bytes, view));
    // 5 output rows; each row's 100 elements lie 5 bytes apart: 26 to a 128-byte read, 4 reads a row.
    expect(reads).toBe(20);
  });

  it('a stepped slice larger than the budget is read one block span at a time, not one element at a time', async () => {
    // x[::2, ::2] of an 8×8 u1 matrix, with a 16-byte budget: each output row's span (7 bytes) is one read.
    const view: StridedView = { base: 0, elementSize: 1, shape: [4, 4], stride: [16, 2] };
    const bytes = Uint8Array.from({ length: 64 }, (_, i) => i);
    let reads = 0;
    const source = new MemorySource(bytes);
    const counting = { size: source.size, name: 'm', read: (o: number, n: number) => (reads++, source.read(o, n)) };
    const parts: number[] = [];
    for await (const c of stridedChunks(counting, view, 8, 16)) parts.push(...c);
    expect(Uint8Array.from(parts)).toEqual(reference(bytes, view));
    expect(reads).toBe(4);
  });

  it('refuses a view whose gather would take more than the read limit, naming the tensor, shape, strides and limit', async () => {
    // (2,)*10 in Fortran order: every run is one element, so a block gather takes one read per element.
    const shape = new Array<number>(10).fill(2);
    const stride = shape.map((_, d) => 2 ** d);
    const view: StridedView = { base: 0, elementSize: 1, shape, stride, name: 'w' };
    const source = new MemorySource(new Uint8Array(1024));
    const run = async (maxReads: number): Promise<unknown> => {
      try {
        for await (const _ of stridedChunks(source, view, 1 << 20, 64, maxReads));
        return 'ok';
      } catch (e) {
        return e;
      }
    };
    const e = await run(100);
    expect(isTensorsafeError(e) && e.code).toBe('GatherLimit');
    const message = (e as Error).message;
    expect(message).toContain('tensor `w`');
    expect(message).toContain('shape (2, 2, 2, 2, 2, 2, 2, 2, 2, 2)');
    expect(message).toContain('strides (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)');
    expect(message).toContain('1024 separate reads, more than MAX_GATHER_READS (100)');
    // The same verdict before any byte is read (a deflated member is checked before it is inflated).
    expect(() => checkGatherable(view, 64, 100)).toThrow(message);
    expect(() => checkGatherable(view, 64, 1024)).not.toThrow();
    expect(() => checkGatherable(view, 1024, 100)).not.toThrow(); // within the span budget: one read
    // Under the limit (and within the span budget) it is read.
    expect(await run(1024)).toBe('ok');
    expect(await run(MAX_GATHER_READS)).toBe('ok');
  });
});
