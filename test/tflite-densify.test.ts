import { describe, expect, it } from 'vitest';
import { densePositions } from '../src/formats/tflite/densify.js';
import type { TfliteDimensionMetadata, TfliteIndexVector, TfliteSparsity } from '../src/formats/tflite/sparsity.js';
import { MemorySource } from '../src/io/byte-source.js';

/**
 * densify.ts on sparsity parameters built here (the fixtures of test/formats.test.ts and
 * test/tflite.test.ts cover real FlatBuffers): where each stored value lands, worked out by hand from
 * the schema's description, and every inconsistency TFLite's FormatConverter would skip or write out
 * of bounds refused with a message saying what.
 */

/** Index vectors laid out one after another in a memory source, as int32, uint16 or uint8. */
function vectors(): { add: (values: number[], width?: 1 | 2 | 4) => TfliteIndexVector; source: () => MemorySource } {
  const parts: number[] = [];
  return {
    add(values, width = 4) {
      const start = parts.length;
      for (const v of values) for (let b = 0; b < width; b++) parts.push((v >>> (8 * b)) & 0xff);
      return { start, count: values.length, width };
    },
    source: () => new MemorySource(new Uint8Array(parts), 'sparsity'),
  };
}

const dense = (denseSize: number): TfliteDimensionMetadata => ({ sparse: false, denseSize });
const refuse = (why: string, limit?: boolean): Error => Object.assign(new Error(why), { limit: limit === true });

async function positions(shape: number[], sp: (v: ReturnType<typeof vectors>) => TfliteSparsity, values: number, budget?: { left: number }): Promise<number[]> {
  const v = vectors();
  const s = sp(v);
  return Array.from(await densePositions(v.source(), shape, s, 4, values, refuse, budget));
}

describe('TFLite densify: positions', () => {
  it('CSR rows: the stored values of row i are indices segments[i]..segments[i+1]', async () => {
    // [[0, a, 0, b], [0, 0, 0, 0], [c, 0, 0, 0]]
    const got = await positions([3, 4], (v) => ({ traversalOrder: [0, 1], blockMap: [], dims: [dense(3), { sparse: true, denseSize: 0, segments: v.add([0, 2, 2, 3], 1), indices: v.add([1, 3, 0], 2) }] }), 3);
    expect(got).toEqual([1, 3, 8]);
  });

  it('column-major traversal: traversal order [1, 0]', async () => {
    // a 2x3 traversed column by column, all dense: positions 0, 3, 1, 4, 2, 5.
    expect(await positions([2, 3], () => ({ traversalOrder: [1, 0], blockMap: [], dims: [dense(3), dense(2)] }), 6)).toEqual([0, 3, 1, 4, 2, 5]);
  });

  it('1x2 blocks along dimension 1: block index × 2 + index in the block', async () => {
    // 2x4 in blocks of 2 columns; row 0 keeps block 1, row 1 keeps blocks 0 and 1.
    const got = await positions([2, 4], (v) => ({
      traversalOrder: [0, 1, 2],
      blockMap: [1],
      dims: [dense(2), { sparse: true, denseSize: 0, segments: v.add([0, 1, 3]), indices: v.add([1, 0, 1]) }, dense(2)],
    }), 6);
    expect(got).toEqual([2, 3, 4, 5, 6, 7]);
  });

  it('2x2 blocks with the block traversed column first', async () => {
    // 2x2 tensor, one 2x2 block, block dimensions traversed in order [3, 2]: positions 0, 2, 1, 3.
    const got = await positions([2, 2], () => ({ traversalOrder: [0, 1, 3, 2], blockMap: [0, 1], dims: [dense(1), dense(1), dense(2), dense(2)] }), 4);
    expect(got).toEqual([0, 2, 1, 3]);
  });
});

describe('TFLite densify: refused', () => {
  const csr = (v: ReturnType<typeof vectors>, segments: number[], indices: number[]): TfliteSparsity => ({
    traversalOrder: [0, 1],
    blockMap: [],
    dims: [dense(2), { sparse: true, denseSize: 0, segments: v.add(segments), indices: v.add(indices) }],
  });
  it.each([
    ['a traversal order that is not one', [2, 2], () => ({ traversalOrder: [0, 0], blockMap: [], dims: [dense(2), dense(2)] }), 4, 'has the traversal order [0, 0]'],
    ['a traversal order of the wrong length', [2, 2], () => ({ traversalOrder: [0], blockMap: [], dims: [dense(2)] }), 2, 'has a traversal order of 1 dimensions'],
    ['a block map not ascending', [2, 2], () => ({ traversalOrder: [0, 1, 2, 3], blockMap: [1, 0], dims: [dense(1), dense(1), dense(2), dense(2)] }), 4, 'has the block map [1, 0]'],
    ['a dense size other than the dimension', [2, 2], () => ({ traversalOrder: [0, 1], blockMap: [], dims: [dense(2), dense(3)] }), 6, 'has a DENSE dimension (metadata 1) of size 3, but that dimension is 2'],
    ['a dimension not a whole number of blocks', [2, 3], () => ({ traversalOrder: [0, 1, 2], blockMap: [1], dims: [dense(2), dense(1), dense(2)] }), 4, 'has blocks of 2 along dimension 1 of size 3'],
    ['a sparse block dimension', [2, 2], (v: ReturnType<typeof vectors>) => ({ traversalOrder: [0, 1, 2], blockMap: [1], dims: [dense(2), dense(1), { sparse: true, denseSize: 2, segments: v.add([0, 1, 2]), indices: v.add([0, 1]) }] }), 2, 'has a SPARSE_CSR block dimension'],
    ['segments not one per node above plus one', [2, 3], (v: ReturnType<typeof vectors>) => csr(v, [0, 1], [0]), 1, 'has 2 segments for SPARSE_CSR dimension metadata 1, not one per node above plus one (3)'],
    ['segments not from 0', [2, 3], (v: ReturnType<typeof vectors>) => csr(v, [1, 1, 2], [0, 1]), 2, 'they must run from 0 to its 2 indices'],
    ['a segment past the indices, then back', [2, 3], (v: ReturnType<typeof vectors>) => csr(v, [0, 3, 2], [0, 1]), 2, 'has unsorted segments for SPARSE_CSR dimension metadata 1: segment 2 (2) is before segment 1 (3)'],
    ['an index outside the dimension', [2, 3], (v: ReturnType<typeof vectors>) => csr(v, [0, 1, 2], [0, 3]), 2, 'has index 3 (entry 1 of SPARSE_CSR dimension metadata 1), outside its dimension of size 3'],
    ['a negative Int32Vector index', [2, 3], (v: ReturnType<typeof vectors>) => csr(v, [0, 1, 2], [0, -1]), 2, 'has index -1'],
    ['a repeated index', [2, 3], (v: ReturnType<typeof vectors>) => csr(v, [0, 2, 2], [1, 1]), 2, 'has index 1 after 1 in segment 0'],
    ['indices not ascending', [2, 3], (v: ReturnType<typeof vectors>) => csr(v, [0, 2, 2], [2, 0]), 2, 'has index 0 after 2 in segment 0'],
    ['values other than the leaves', [2, 3], (v: ReturnType<typeof vectors>) => csr(v, [0, 1, 2], [0, 2]), 3, 'stores 3 values, but its sparsity describes 2'],
    [
      'block sizes TFLite\'s converter would read from other metadata',
      [2, 4, 8],
      () => ({ traversalOrder: [0, 1, 2, 4, 5, 3], blockMap: [0, 1, 2], dims: [dense(1), dense(1), dense(1), dense(4), dense(8), dense(2)] }),
      64,
      'has block sizes TFLite\'s converter reads otherwise',
    ],
  ] as [string, number[], (v: ReturnType<typeof vectors>) => TfliteSparsity, number, string][])('%s', async (_, shape, sp, values, message) => {
    await expect(positions(shape, sp, values)).rejects.toThrow(message);
  });

  it('a middle segment before the one above it', async () => {
    // 3 rows: segments [0, 2, 1, 3] end at the index count, but segment 2 is before segment 1.
    await expect(positions([3, 3], (v) => ({ traversalOrder: [0, 1], blockMap: [], dims: [dense(3), { sparse: true, denseSize: 0, segments: v.add([0, 2, 1, 3]), indices: v.add([0, 1, 2]) }] }), 3)).rejects.toThrow(
      'has unsorted segments for SPARSE_CSR dimension metadata 1: segment 2 (1) is before segment 1 (2)',
    );
  });

  it('a few bytes that expand to many: a limit past MAX_TFLITE_SPARSE_EXPANSION times the bytes stored and 1 MiB', async () => {
    // 4 MiB of float32 dense from 1 value, 1 index and 1025 one-byte segments (1030 bytes: 1024× is 1.05 MB).
    const sp = (v: ReturnType<typeof vectors>): TfliteSparsity => ({
      traversalOrder: [0, 1],
      blockMap: [],
      dims: [dense(1024), { sparse: true, denseSize: 0, segments: v.add([0, ...new Array<number>(1024).fill(1)], 1), indices: v.add([5], 1) }],
    });
    await expect(positions([1024, 1024], sp, 1)).rejects.toMatchObject({ message: expect.stringContaining('is 4194304 bytes dense from 1030 bytes of values and indices, more than MAX_TFLITE_SPARSE_EXPANSION (1024)'), limit: true });
    // A quarter of it (1 MiB) is allowed whatever it is made from.
    const quarter = (v: ReturnType<typeof vectors>): TfliteSparsity => ({
      traversalOrder: [0, 1],
      blockMap: [],
      dims: [dense(256), { sparse: true, denseSize: 0, segments: v.add([0, ...new Array<number>(256).fill(1)], 1), indices: v.add([5], 1) }],
    });
    expect(await positions([256, 1024], quarter, 1)).toEqual([5]);
  });

  it('the model-wide budget: entries and stored values of all sparse tensors, a limit', async () => {
    const budget = { left: 12 };
    const sp = (v: ReturnType<typeof vectors>): TfliteSparsity => ({ traversalOrder: [0, 1], blockMap: [], dims: [dense(2), { sparse: true, denseSize: 0, segments: v.add([0, 1, 2]), indices: v.add([0, 1]) }] });
    await positions([2, 2], sp, 2, budget); // 3 + 2 entries and 2 values: 7
    expect(budget.left).toBe(5);
    await expect(positions([2, 2], sp, 2, budget)).rejects.toMatchObject({ message: expect.stringContaining('MAX_TFLITE_SPARSE_MODEL_ENTRIES'), limit: true });
  });
});
