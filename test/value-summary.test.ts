/**
 * A tensor's value summary (tensor/value-summary.ts) against numpy's statistics of the same values
 * (scripts/make-value-summary-fixtures.py): counts, extremes and histogram bins exactly; mean and
 * standard deviation within SUM_TOLERANCE (float64 sums in another order: numpy sums pairwise, the
 * summary with compensation).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openModel, type OpenedModel } from '../src/node/open-model.js';
import { DTYPES, DTYPE_INFO, type Dtype } from '../src/dtype/dtypes.js';
import { toFloat32 } from '../src/dtype/float-codecs.js';
import { memoryTensor } from '../src/tensor/memory-tensor.js';
import { summarizeTensor, type ValueSummary } from '../src/tensor/value-summary.js';
import { ROOT } from './helpers/paths.js';

const DIR = path.join(ROOT, 'test', 'fixtures', 'value-summary');
/** Relative error allowed on mean and std: two float64 summations of ≤ 600 values in different orders. */
const SUM_TOLERANCE = 1e-12;

type Expected = Omit<ValueSummary, 'min' | 'max' | 'mean' | 'std'> & { min: number | string; max: number | string; mean: number | string; std: number | string };
const EXPECTED = JSON.parse(readFileSync(path.join(DIR, 'values.expected.json'), 'utf8')) as { bins: number; tensors: Record<string, { dtype: string; shape: number[]; parts: Expected[] }> };

const num = (v: number | string): number => (typeof v === 'number' ? v : Number(v));

function expectSummary(got: ValueSummary, want: Expected, where: string): void {
  const { mean, std, min, max, ...exact } = want;
  // An extreme of −0 and 0 is either (numpy keeps the first it meets): both say 0.
  exact.histogram = { ...exact.histogram, min: exact.histogram.min + 0, max: exact.histogram.max + 0 };
  const { mean: gm, std: gs, min: gmin, max: gmax, ...gotExact } = got;
  expect(gotExact, where).toEqual(exact);
  // -0 and 0 are one extreme (numpy may keep either).
  expect(gmin === num(min) || (Number.isNaN(gmin) && Number.isNaN(num(min))), `${where} min ${gmin} vs ${min}`).toBe(true);
  expect(gmax === num(max) || (Number.isNaN(gmax) && Number.isNaN(num(max))), `${where} max ${gmax} vs ${max}`).toBe(true);
  for (const [g, w, what] of [[gm, num(mean), 'mean'], [gs, num(std), 'std']] as const) {
    if (Number.isNaN(w)) expect(g, `${where} ${what}`).toBeNaN();
    else expect(Math.abs(g - w), `${where} ${what} ${g} vs ${w}`).toBeLessThanOrEqual(SUM_TOLERANCE * Math.max(Math.abs(w), 1e-300));
  }
}

describe('value summary of a tensor', () => {
  let model: OpenedModel;
  beforeAll(async () => {
    model = await openModel(path.join(DIR, 'values.safetensors'));
  });
  afterAll(async () => {
    await model?.close();
  });

  it('equals numpy for every tensor of the fixture (every native dtype, BF16, F8_E5M2, C64, NaN and infinities, 64-bit extremes)', async () => {
    expect(model.tensors.map((t) => t.name).sort()).toEqual(Object.keys(EXPECTED.tensors).sort());
    for (const t of model.tensors) {
      const want = EXPECTED.tensors[t.name]!;
      const got = await summarizeTensor(t, { bins: EXPECTED.bins });
      expect(got.dtype).toBe(want.dtype);
      expect(got.parts.length, t.name).toBe(want.parts.length);
      got.parts.forEach((p, i) => expectSummary(p, want.parts[i]!, `${t.name}/${p.part}`));
      for (const p of got.parts) expect(p.histogram.counts.reduce((a, b) => a + b, 0), t.name).toBe(p.finite);
    }
  });

  it('gives the same answer whatever the chunk size (chunks cut inside elements are carried whole)', async () => {
    for (const t of model.tensors) {
      const whole = await summarizeTensor(t);
      const small = await summarizeTensor(t, { chunkElements: 7 });
      expect({ ...small, parts: small.parts.map(({ mean: _m, std: _s, ...p }) => p) }, t.name).toEqual({ ...whole, parts: whole.parts.map(({ mean: _m, std: _s, ...p }) => p) });
      small.parts.forEach((p, i) => {
        const w = whole.parts[i]!;
        if (!Number.isNaN(w.mean)) expect(Math.abs(p.mean - w.mean)).toBeLessThanOrEqual(SUM_TOLERANCE * Math.max(1e-300, Math.abs(w.mean)));
      });
    }
  });

  it('reads every minifloat (F8, F6, F4, E8M0) through the codecs: the same summary as its values decoded to F32', async () => {
    const minifloats = DTYPES.filter((d) => DTYPE_INFO[d].kind === 'float' && DTYPE_INFO[d].bits <= 8);
    expect(minifloats.length).toBeGreaterThanOrEqual(8);
    for (const dtype of minifloats) {
      const bits = DTYPE_INFO[dtype].bits;
      const elements = 1001; // odd, and not a multiple of 4: F4's and F6's last byte is part padding
      const bytes = new Uint8Array(Math.ceil((elements * bits) / 8));
      for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 97 + 13) & 255;
      const decoded = toFloat32(dtype as Dtype, bytes, elements);
      const asF32 = await summarizeTensor(memoryTensor('x', 'F32', [elements], new Uint8Array(decoded.buffer), 4));
      const got = await summarizeTensor(memoryTensor('x', dtype, [elements], bytes, 1), { chunkElements: 12 });
      expect({ ...got.parts[0], mean: 0 }, dtype).toEqual({ ...asF32.parts[0], mean: 0 });
      expect(Math.abs(got.parts[0]!.mean - asF32.parts[0]!.mean)).toBeLessThanOrEqual(1e-12 * Math.abs(asF32.parts[0]!.mean) + 1e-300);
    }
  });

  it('reports progress over both passes and stops when cancelled', async () => {
    const t = model.tensors.find((x) => x.name === 'f64')!;
    const seen: number[] = [];
    await summarizeTensor(t, { chunkElements: 100, onProgress: (done, total) => seen.push(done / total) });
    expect(seen.at(-1)).toBe(1);
    expect(seen.length).toBe(12);
    const controller = new AbortController();
    controller.abort();
    await expect(summarizeTensor(t, { signal: controller.signal })).rejects.toMatchObject({ code: 'Aborted' });
    await expect(summarizeTensor(t, { bins: 0 })).rejects.toMatchObject({ code: 'InvalidArgument' });
  });
});
