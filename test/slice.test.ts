import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { save } from '../src/safetensors/save.js';
import { SafetensorsFile } from '../src/safetensors/reader.js';
import { MemorySource, type ByteSource } from '../src/io/byte-source.js';
import { SafetensorError } from '../src/errors.js';
import type { SliceRange } from '../src/safetensors/slice.js';

/** Python's slice.indices, written independently of the library, elementwise. */
function pyIndices(size: number, r: SliceRange): number[] {
  const step = r.step ?? 1;
  const norm = (v: number | null | undefined, dflt: number): number => {
    if (v === null || v === undefined) return dflt;
    let w = v < 0 ? v + size : v;
    if (step > 0) w = Math.min(Math.max(w, 0), size);
    else w = Math.min(Math.max(w, -1), size - 1);
    return w;
  };
  const start = norm(r.start, step > 0 ? 0 : size - 1);
  const stop = norm(r.stop, step > 0 ? size : -1);
  const out: number[] = [];
  for (let i = start; step > 0 ? i < stop : i > stop; i += step) out.push(i);
  return out;
}

/** Reference gather: result values by walking every selected coordinate. */
function naiveSlice(values: number[], shape: number[], index: (number | SliceRange)[]): { shape: number[]; values: number[] } {
  const sel = shape.map((size, d) => {
    const ix = index[d] ?? {};
    if (typeof ix === 'number') return { keep: false, idx: [ix < 0 ? ix + size : ix] };
    return { keep: true, idx: pyIndices(size, ix) };
  });
  const strides = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
  const out: number[] = [];
  const walk = (d: number, offset: number): void => {
    if (d === shape.length) {
      out.push(values[offset]!);
      return;
    }
    for (const i of sel[d]!.idx) walk(d + 1, offset + i * strides[d]!);
  };
  walk(0, 0);
  return { shape: sel.filter((s) => s.keep).map((s) => s.idx.length), values: out };
}

async function open(shape: number[], source?: (b: Uint8Array) => ByteSource): Promise<{ file: SafetensorsFile; values: number[] }> {
  const n = shape.reduce((a, b) => a * b, 1);
  const values = Array.from({ length: n }, (_, i) => i);
  const bytes = save({ t: { dtype: 'I32', shape, data: new Int32Array(values) } });
  return { file: await SafetensorsFile.open(source ? source(bytes) : new MemorySource(bytes)), values };
}

const rangeArb = fc.record({
  start: fc.option(fc.integer({ min: -7, max: 7 }), { nil: null }),
  stop: fc.option(fc.integer({ min: -7, max: 7 }), { nil: null }),
  step: fc.option(fc.integer({ min: -3, max: 3 }).filter((s) => s !== 0), { nil: null }),
});

describe('getSlice: numpy indexing', () => {
  it('matches elementwise numpy semantics on random shapes and indices', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 }).chain((shape) =>
          fc.tuple(
            fc.constant(shape),
            fc.tuple(...shape.map((d) => fc.oneof(rangeArb, fc.integer({ min: -d, max: d - 1 })))).chain((ix) => fc.integer({ min: 0, max: ix.length }).map((k) => ix.slice(0, k))),
          ),
        ),
        async ([shape, index]) => {
          const { file, values } = await open(shape);
          const got = await file.getSlice('t').get(...index);
          const want = naiveSlice(values, shape, index);
          expect(got.shape).toEqual(want.shape);
          expect([...(got.data as Int32Array)]).toEqual(want.values);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('reads only the bytes it needs from a file', async () => {
    const reads: [number, number][] = [];
    const { file } = await open([100, 1000], (b) => {
      const m = new MemorySource(b);
      return { name: 'counting', size: m.size, coalesceGap: 64, read: (o: number, l: number) => (reads.push([o, l]), m.read(o, l)) };
    });
    reads.length = 0;
    const rows = await file.getSlice('t').get('10:12');
    expect(rows.shape).toEqual([2, 1000]);
    expect((rows.data as Int32Array)[0]).toBe(10_000);
    expect(reads.reduce((n, r) => n + r[1], 0)).toBe(2 * 1000 * 4);
    reads.length = 0;
    const col = await file.getSlice('t').get(':', 5);
    expect(col.shape).toEqual([100]);
    expect([...(col.data as Int32Array)].slice(0, 3)).toEqual([5, 1005, 2005]);
    // 100 separate 4-byte runs, 3996 bytes apart: above the 64-byte gap, so each is read alone.
    expect(reads.reduce((n, r) => n + r[1], 0)).toBe(400);
  });

  it('takes indices as numpy text', async () => {
    const { file, values } = await open([4, 5, 6]);
    const slice = file.getSlice('t');
    const a = await slice.get('1:3, ::2, -1');
    const b = await slice.get({ start: 1, stop: 3 }, { step: 2 }, -1);
    expect(a.shape).toEqual([2, 3]);
    expect([...(a.data as Int32Array)]).toEqual([...(b.data as Int32Array)]);
    expect([...(a.data as Int32Array)]).toEqual(naiveSlice(values, [4, 5, 6], [{ start: 1, stop: 3 }, { step: 2 }, -1]).values);
    const e = await slice.get('..., 0');
    expect(e.shape).toEqual([4, 5]);
    const f = await slice.get(0, '...');
    expect(f.shape).toEqual([5, 6]);
    const all = await slice.get();
    expect(all.shape).toEqual([4, 5, 6]);
    const rev = await slice.get('::-1');
    expect((rev.data as Int32Array)[0]).toBe(90);
    expect(slice.shape).toEqual([4, 5, 6]);
    expect(slice.dtype).toBe('I32');
  });

  it('refuses bad indices with coded errors', async () => {
    const { file } = await open([4, 5]);
    const slice = file.getSlice('t');
    const code = async (...ix: Parameters<typeof slice.get>): Promise<string> => {
      try {
        await slice.get(...ix);
        return 'ok';
      } catch (e) {
        return (e as SafetensorError).code;
      }
    };
    expect(await code(0, 0, 0)).toBe('TooManySlices');
    expect(await code(4)).toBe('SliceOutOfRange');
    expect(await code(-5)).toBe('SliceOutOfRange');
    expect(await code('::0')).toBe('InvalidSlice');
    expect(await code('..., ...')).toBe('InvalidSlice');
    expect(await code('1:2:3:4')).toBe('InvalidSlice');
    expect(await code('a')).toBe('InvalidSlice');
    expect(await code(1.5)).toBe('InvalidSlice');
    expect(await code('2:1')).toBe('ok');
    expect(await code('10:20')).toBe('ok');
  });

  it('sub-byte dtypes slice on byte boundaries only', async () => {
    const bytes = save({ f: { dtype: 'F4', shape: [4, 4], data: new Uint8Array([0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe]) } });
    const file = await SafetensorsFile.open(new MemorySource(bytes));
    const rows = await file.getSlice('f').get('1:3');
    expect([...(rows.data as Uint8Array)]).toEqual([0x54, 0x76, 0x98, 0xba]);
    expect((await file.getSlice('f').get(':, 2:4')).shape).toEqual([4, 2]);
    await expect(file.getSlice('f').get(':, 1:2')).rejects.toMatchObject({ code: 'MisalignedSlice' });
  });
});
