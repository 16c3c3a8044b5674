import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemorySource } from '../src/io/byte-source.js';
import { stridedChunks, type StridedView } from '../src/tensor/strided.js';

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
});
