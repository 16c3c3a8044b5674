import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DTYPES, DTYPE_INFO, type Dtype } from '../src/dtype/dtypes.js';
import { bytesOf } from '../src/dtype/tensor.js';
import { load } from '../src/safetensors/load.js';
import { save } from '../src/safetensors/save.js';
import { safeOpen } from '../src/node/open-path.js';
import { openModel } from '../src/node/open-model.js';
import { fromTfjsTensor, fromTfjsTensors, TFJS_DTYPE_OF, toTfjsTensor, toTfjsTensors } from '../src/runtime/tfjs-tensors.js';
import { loadWeights, saveWeights, weightTensors, WeightsMismatchError, type LoadWeightsReport } from '../src/runtime/tfjs-weights.js';
import { matchKeys } from '../src/runtime/weight-names.js';
import { tempDir } from './helpers/temp.js';

/**
 * tensorsafe/tfjs with the real @tensorflow/tfjs on its CPU backend: every dtype to a tfjs tensor and
 * back; a LayersModel's weights saved to a safetensors file and loaded into a fresh model, bit for bit;
 * strict and non-strict loads that name each missing, unexpected and mismatched weight.
 */
beforeAll(async () => {
  tf.enableProdMode(); // no "install the node backend" hint on stderr
  await tf.setBackend('cpu');
});

const WIDE = ['F16', 'BF16', 'F8_E5M2', 'F8_E4M3', 'F8_E8M0', 'F8_E4M3FNUZ', 'F8_E5M2FNUZ', 'F6_E2M3', 'F6_E3M2', 'F4'] as const;

/** Sample values of each dtype that tfjs can hold (the narrowing ones inside int32's range), as bytes. */
function sample(dtype: Dtype): { shape: number[]; bytes: Uint8Array } {
  const shape = [2, 6];
  const n = 12;
  switch (dtype) {
    case 'F32': return { shape, bytes: bytesOf(new Float32Array([0, -0, 1.5, -2.25, 1e-40, 3.4e38, Infinity, -Infinity, Number.NaN, 0.1, -7, 65504])) };
    case 'F64': return { shape, bytes: bytesOf(new Float64Array([0, -0, 1.5, -2.25, 2 ** -140, 2 ** 127, Infinity, -Infinity, Number.NaN, Math.fround(0.1), -7, 65504])) };
    case 'I32': return { shape, bytes: bytesOf(new Int32Array([0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 5, 6, 7, 8, 9, 10, 11])) };
    case 'I8': return { shape, bytes: bytesOf(new Int8Array([0, 1, -1, 127, -128, 5, 6, 7, 8, 9, 10, 11])) };
    case 'U8': return { shape, bytes: new Uint8Array([0, 1, 255, 128, 127, 5, 6, 7, 8, 9, 10, 11]) };
    case 'I16': return { shape, bytes: bytesOf(new Int16Array([0, 1, -1, 32767, -32768, 5, 6, 7, 8, 9, 10, 11])) };
    case 'U16': return { shape, bytes: bytesOf(new Uint16Array([0, 1, 65535, 32768, 32767, 5, 6, 7, 8, 9, 10, 11])) };
    case 'U32': return { shape, bytes: bytesOf(new Uint32Array([0, 1, 2 ** 31 - 1, 3, 4, 5, 6, 7, 8, 9, 10, 11])) };
    case 'I64': return { shape, bytes: bytesOf(new BigInt64Array([0n, 1n, -1n, 2n ** 31n - 1n, -(2n ** 31n), 5n, 6n, 7n, 8n, 9n, 10n, 11n])) };
    case 'U64': return { shape, bytes: bytesOf(new BigUint64Array([0n, 1n, 2n ** 31n - 1n, 3n, 4n, 5n, 6n, 7n, 8n, 9n, 10n, 11n])) };
    case 'BOOL': return { shape, bytes: new Uint8Array([0, 1, 1, 0, 0, 1, 0, 1, 1, 1, 0, 0]) };
    case 'C64': return { shape, bytes: bytesOf(Float32Array.from({ length: 2 * n }, (_, i) => (i % 2 ? -i : i) / 4)) };
    default: {
      // The widened floats: every code but NaN (a NaN comes back NaN, its payload quieted; see below).
      const bits = DTYPE_INFO[dtype].bits;
      const bytes = new Uint8Array((n * bits) / 8);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 53 + 17) & (dtype.startsWith('F8') ? 0x7b : 0xff) & (bits === 16 && i % 2 ? 0x7b : 0xff);
      return { shape, bytes };
    }
  }
}

describe('tensors to and from @tensorflow/tfjs', () => {
  it('the table: float32, int32, bool and complex64 only; everything else widens or narrows to them', () => {
    expect(Object.keys(TFJS_DTYPE_OF).sort()).toEqual([...DTYPES].sort());
    expect(DTYPES.filter((d) => TFJS_DTYPE_OF[d] === 'float32')).toEqual(['F4', 'F6_E2M3', 'F6_E3M2', 'F8_E5M2', 'F8_E4M3', 'F8_E8M0', 'F8_E4M3FNUZ', 'F8_E5M2FNUZ', 'F16', 'BF16', 'F32', 'F64']);
    expect(DTYPES.filter((d) => TFJS_DTYPE_OF[d] === 'int32')).toEqual(['U8', 'I8', 'I16', 'U16', 'I32', 'U32', 'I64', 'U64']);
  });

  it.each([...DTYPES])('%s: to a tfjs tensor and back with { dtype }, bit for bit', async (dtype) => {
    const { shape, bytes } = sample(dtype);
    const t = toTfjsTensor(tf, { dtype, shape, data: bytes });
    try {
      expect([t.dtype, t.shape]).toEqual([TFJS_DTYPE_OF[dtype], shape]);
      const back = await fromTfjsTensor(t, { dtype });
      expect([back.dtype, back.shape]).toEqual([dtype, shape]);
      expect(bytesOf(back.data)).toEqual(bytes);
    } finally {
      t.dispose();
    }
  });

  it.each([...WIDE])('%s: the float32 values are the dtype\'s own (decoded as tensorsafe decodes them)', async (dtype) => {
    const { shape, bytes } = sample(dtype);
    const t = toTfjsTensor(tf, { dtype, shape, data: bytes });
    const { toFloat32 } = await import('../src/dtype/float-codecs.js');
    expect(Array.from(t.dataSync())).toEqual(Array.from(toFloat32(dtype, bytes, 12)));
    t.dispose();
  });

  it('F32, I32 and BOOL share the bytes with the CPU backend (zero copy); unaligned bytes are copied and read right', () => {
    const values = new Float32Array([1, 2, 3]);
    const t = toTfjsTensor(tf, { dtype: 'F32', shape: [3], data: values });
    expect(t.dataSync().buffer).toBe(values.buffer);
    t.dispose();
    const buffer = new Uint8Array(13);
    buffer.set(bytesOf(new Int32Array([7, -8, 9])), 1);
    const u = toTfjsTensor(tf, { dtype: 'I32', shape: [3], data: buffer.subarray(1) });
    expect(Array.from(u.dataSync())).toEqual([7, -8, 9]);
    u.dispose();
  });

  it('values tfjs cannot hold are LossyConversion, naming the tensor and element; F64 rounds only with lossy', async () => {
    const big = { dtype: 'I64' as const, shape: [2], data: new BigInt64Array([1n, 2n ** 31n]) };
    expect(() => toTfjsTensor(tf, big, { name: 'ids' })).toThrow(expect.objectContaining({ code: 'LossyConversion', message: expect.stringMatching(/`ids`.*2147483648 at element 1/) }));
    expect(() => toTfjsTensor(tf, { dtype: 'U64', shape: [1], data: new BigUint64Array([2n ** 63n]) })).toThrow(expect.objectContaining({ code: 'LossyConversion' }));
    expect(() => toTfjsTensor(tf, { dtype: 'U32', shape: [1], data: new Uint32Array([2 ** 31]) })).toThrow(expect.objectContaining({ code: 'LossyConversion' }));
    expect(() => toTfjsTensor(tf, { dtype: 'I64', shape: [1], data: new BigInt64Array([-(2n ** 31n) - 1n]) })).toThrow(expect.objectContaining({ code: 'LossyConversion' }));
    const f64 = { dtype: 'F64' as const, shape: [2], data: new Float64Array([0.5, 0.1]) };
    expect(() => toTfjsTensor(tf, f64, { name: 'p' })).toThrow(expect.objectContaining({ code: 'LossyConversion', message: expect.stringMatching(/`p`.*0\.1 at element 1.*lossy/) }));
    const rounded = toTfjsTensor(tf, f64, { lossy: true });
    expect(Array.from(rounded.dataSync())).toEqual([0.5, Math.fround(0.1)]);
    // And narrowing back: an int32 that does not fit, a float32 that is not an F16.
    const ints = tf.tensor([300], [1], 'int32');
    await expect(fromTfjsTensor(ints, { dtype: 'U8', name: 'n' })).rejects.toMatchObject({ code: 'LossyConversion' });
    await expect(fromTfjsTensor(rounded, { dtype: 'F16' })).rejects.toMatchObject({ code: 'LossyConversion' });
    await expect(fromTfjsTensor(rounded, { dtype: 'I32' })).rejects.toMatchObject({ code: 'InvalidArgument' });
    await expect(fromTfjsTensor(tf.tensor(['a']))).rejects.toMatchObject({ code: 'RuntimeDtype' });
    tf.dispose([rounded, ints]);
  });

  it('a safetensors file to a NamedTensorMap and back', async () => {
    const file = save({ a: { dtype: 'F16', shape: [2], data: new Uint16Array([0x3c00, 0xc000]) }, b: { dtype: 'I32', shape: [1], data: new Int32Array([5]) } });
    const map = await toTfjsTensors(tf, file);
    expect(Object.fromEntries(Object.entries(map).map(([k, v]) => [k, [v.dtype, Array.from(v.dataSync())]]))).toEqual({ a: ['float32', [1, -2]], b: ['int32', [5]] });
    const back = await fromTfjsTensors(map);
    expect([...back].map(([k, v]) => [k, v.dtype]).sort()).toEqual([['a', 'F32'], ['b', 'I32']]);
    tf.dispose(Object.values(map));
  });
});

/** A small model: two dense layers and a batch normalization (whose moving statistics are weights too). */
function buildModel(names?: { first: string; second: string; norm: string }): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.dense({ units: 5, inputShape: [4], activation: 'relu', name: names?.first }),
      tf.layers.batchNormalization({ name: names?.norm, movingMeanInitializer: 'randomNormal', movingVarianceInitializer: 'ones' }),
      tf.layers.dense({ units: 3, name: names?.second }),
    ],
  });
}

/** Each weight's bytes by originalName. */
function weightBytes(model: tf.LayersModel): Map<string, Uint8Array> {
  return new Map(model.weights.map((w) => [w.originalName, new Uint8Array(bytesOf(w.read().dataSync()))]));
}

const INPUT = () => tf.tensor2d([[0.5, -1, 2, 0.25], [3, 1, -0.5, 0]]);

describe('loadWeights and saveWeights with a tfjs LayersModel', () => {
  it('saveWeights → file → loadWeights into a fresh model: the same weights bit for bit, the same predictions', async () => {
    const a = buildModel();
    const bytes = await saveWeights(a, { metadata: { format: 'tfjs' } });
    const file = path.join(tempDir('runtime-tfjs'), 'model.safetensors');
    fs.writeFileSync(file, bytes);

    const b = buildModel(); // tfjs names its layers anew: dense_Dense3 where a has dense_Dense1
    expect(b.weights.map((w) => w.originalName)).not.toEqual(a.weights.map((w) => w.originalName));
    expect(weightBytes(b)).not.toEqual(weightBytes(a));
    const handle = await safeOpen(file);
    const report = await loadWeights(tf, b, handle);
    await handle.close();
    expect(report.loaded.length).toBe(a.weights.length);
    expect([report.missing, report.unexpected, report.mismatched, report.widened]).toEqual([[], [], [], []]);
    expect(report.renamed.length).toBe(a.weights.length);
    // Weight for weight by position: the same bytes.
    a.weights.forEach((w, i) => expect([w.originalName, bytesOf(b.weights[i]!.read().dataSync())]).toEqual([w.originalName, bytesOf(w.read().dataSync())]));
    const [pa, pb] = [a.predict(INPUT()) as tf.Tensor, b.predict(INPUT()) as tf.Tensor];
    expect(bytesOf(pb.dataSync())).toEqual(bytesOf(pa.dataSync()));
    // The file's names are what tfjs's own model.save writes (originalName), and its metadata is kept.
    expect([...load(bytes).keys()].sort()).toEqual(a.weights.map((w) => w.originalName).sort());
    expect(await weightTensors(a).then((m) => [...m.keys()])).toEqual(a.weights.map((w) => w.originalName));
  });

  it('explicit layer names match as they are, with Keras\'s `:0` suffix too; F16 tensors widen (listed)', async () => {
    const names = { first: 'enc', second: 'head', norm: 'bn' };
    const a = buildModel(names);
    const weights = await weightTensors(a);
    const b = buildModel(names); // its variables are `enc/kernel_1` … but their originalName is `enc/kernel`
    expect(b.weights[0]!.name).not.toBe(b.weights[0]!.originalName);
    const renamedFile = save(Object.fromEntries([...weights].map(([k, v]) => [k === 'enc/kernel' ? 'enc/kernel:0' : k, v])));
    const report = await loadWeights(tf, b, renamedFile);
    expect(report.renamed).toEqual([{ tensor: 'enc/kernel:0', weight: 'enc/kernel' }]);
    expect(weightBytes(b)).toEqual(weightBytes(a));
    // The head's kernel stored as F16 (values chosen to be F16): loaded as float32, exactly.
    const kernel = new Float32Array([0.5, -1, 2, 0.25, 0, 1.5, -3, 4, 0.125, -0.75, 1, 2, 3, 4, 5]);
    const f16 = (await fromTfjsTensor(tf.tensor(kernel, [5, 3]), { dtype: 'F16' })).data as Uint16Array;
    const half = save({ ...Object.fromEntries(weights), 'head/kernel': { dtype: 'F16', shape: [5, 3], data: f16 } });
    const r2 = await loadWeights(tf, b, half);
    expect(r2.widened).toEqual([{ tensor: 'head/kernel', from: 'F16', to: 'float32' }]);
    expect(Array.from(b.getLayer('head').getWeights()[0]!.dataSync())).toEqual(Array.from(kernel));
  });

  describe('strict and non-strict', () => {
    const names = { first: 'enc', second: 'head', norm: 'bn' };
    /** A file for `buildModel(names)` with `bn/beta` left out, `head/kernel` of the wrong shape, `head/bias` of the wrong dtype, and an extra tensor. */
    async function misfit(): Promise<Uint8Array> {
      const w = await weightTensors(buildModel(names));
      w.delete('bn/beta');
      w.set('head/kernel', { dtype: 'F32', shape: [3, 5], data: new Float32Array(15) });
      w.set('head/bias', { dtype: 'BOOL', shape: [3], data: new Uint8Array(3) });
      w.set('extra/thing', { dtype: 'F32', shape: [1], data: new Float32Array(1) });
      return save(w);
    }

    it('strict (the default): WeightsMismatch names each missing, unexpected and mismatched weight, and sets none', async () => {
      const model = buildModel(names);
      const before = weightBytes(model);
      let error: unknown;
      try {
        await loadWeights(tf, model, await misfit());
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(WeightsMismatchError);
      const e = error as WeightsMismatchError;
      expect(e.code).toBe('WeightsMismatch');
      expect(e.message).toContain('missing `bn/beta`');
      expect(e.message).toContain('unexpected `extra/thing`');
      expect(e.message).toContain('`head/kernel` (F32 [3, 5] for a float32 [5, 3] weight)');
      expect(e.message).toContain('`head/bias` (BOOL [3] for a float32 [3] weight)');
      expect(e.report.missing).toEqual(['bn/beta']);
      expect(e.report.unexpected).toEqual(['extra/thing']);
      expect(e.report.mismatched.map((m) => m.tensor).sort()).toEqual(['head/bias', 'head/kernel']);
      expect(e.report.loaded).toEqual([]);
      expect(weightBytes(model)).toEqual(before);
    });

    it('non-strict: the weights that fit are set, the report lists the rest', async () => {
      const model = buildModel(names);
      const before = weightBytes(model);
      const file = await misfit();
      const report: LoadWeightsReport = await loadWeights(tf, model, file, { strict: false });
      expect(report.missing).toEqual(['bn/beta']);
      expect(report.unexpected).toEqual(['extra/thing']);
      expect([...report.mismatched].sort((x, y) => x.tensor.localeCompare(y.tensor))).toEqual([
        { weight: 'head/bias', tensor: 'head/bias', expected: { shape: [3], dtype: 'float32' }, found: { shape: [3], dtype: 'BOOL' } },
        { weight: 'head/kernel', tensor: 'head/kernel', expected: { shape: [5, 3], dtype: 'float32' }, found: { shape: [3, 5], dtype: 'F32' } },
      ]);
      expect([...report.loaded].sort()).toEqual(['bn/gamma', 'bn/moving_mean', 'bn/moving_variance', 'enc/bias', 'enc/kernel']);
      const after = weightBytes(model);
      const tensors = load(file);
      for (const name of report.loaded) expect([name, after.get(name)]).toEqual([name, bytesOf(tensors.get(name)!.data)]);
      for (const name of ['bn/beta', 'head/kernel', 'head/bias']) expect([name, after.get(name)]).toEqual([name, before.get(name)]);
    });

    it('a tensor that cannot be converted leaves the model as it was, even non-strict', async () => {
      const model = buildModel(names);
      const before = weightBytes(model);
      const w = await weightTensors(model);
      w.set('enc/bias', { dtype: 'F64', shape: [5], data: new Float64Array([0.1, 0, 0, 0, 0]) });
      await expect(loadWeights(tf, model, save(w), { strict: false })).rejects.toMatchObject({ code: 'LossyConversion' });
      expect(weightBytes(model)).toEqual(before);
      const report = await loadWeights(tf, model, save(w), { lossy: true });
      expect(report.widened).toEqual([{ tensor: 'enc/bias', from: 'F64', to: 'float32' }]);
    });

    it('two tensors naming one weight (`x` and `x:0`) are refused as ambiguous', async () => {
      const w = await weightTensors(buildModel(names));
      w.set('enc/bias:0', w.get('enc/bias')!);
      await expect(loadWeights(tf, buildModel(names), save(w))).rejects.toMatchObject({ code: 'InvalidArgument', message: expect.stringContaining('"enc/bias" and "enc/bias:0"') });
    });
  });

  it('from a TF.js model.json TensorSet (tensorsafe\'s reader): its weights by their manifest names', async () => {
    const set = await openModel(path.join(import.meta.dirname, 'fixtures', 'formats', 'tfjs', 'layers-model.json'));
    try {
      const model = tf.sequential({ layers: [tf.layers.dense({ units: 4, inputShape: [3], activation: 'relu', name: 'dense' })] });
      const report = await loadWeights(tf, model, set, { strict: false });
      expect([...report.loaded].sort()).toEqual(['dense/bias', 'dense/kernel']);
      expect([...report.unexpected].sort()).toEqual(['empty', 'flags', 'spectrum', 'steps']);
      // The values are the fixture's (its expected SHA-256 of each tensor's bytes, from tfjs-core's own writer).
      const expected = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, 'fixtures', 'formats', 'tfjs', 'layers-model.json.expected.json'), 'utf8')) as { tensors: { name: string; sha256: string }[] };
      const [kernel, bias] = model.getLayer('dense').getWeights().map((w) => createHash('sha256').update(bytesOf(w.dataSync())).digest('hex'));
      expect([kernel, bias]).toEqual(['dense/kernel', 'dense/bias'].map((n) => expected.tensors.find((t) => t.name === n)!.sha256));
    } finally {
      await set.close();
    }
  });
});

describe('which tensor sets which weight', () => {
  it("tfjs's generated layer names pair by their order within a class, never by their counter", () => {
    // The file from a model whose Dense layers were dense_Dense1 and dense_Dense2; the model now has
    // dense_Dense2 and dense_Dense3: matching the names as they are would put the file's second layer in the first.
    const file = matchKeys(['dense_Dense1/kernel', 'dense_Dense2/kernel', 'conv2d_Conv2D7/bias', 'head/kernel:0'], 'file', true);
    const model = matchKeys(['dense_Dense2/kernel', 'dense_Dense3/kernel', 'conv2d_Conv2D12/bias', 'head/kernel'], 'model', false);
    expect(file.get('dense_Dense1/kernel')).toBe(model.get('dense_Dense2/kernel'));
    expect(file.get('dense_Dense2/kernel')).toBe(model.get('dense_Dense3/kernel'));
    expect(file.get('conv2d_Conv2D7/bias')).toBe(model.get('conv2d_Conv2D12/bias'));
    expect(file.get('head/kernel:0')).toBe(model.get('head/kernel'));
    // A name that only looks generated (its prefix is not its class in snake_case) is matched as it is.
    const odd = matchKeys(['foo_Dense1/kernel'], 'model', false);
    expect(odd.get('foo_Dense1/kernel')).toBe('foo_Dense1/kernel');
    // `:0` is a file-side suffix only.
    expect(matchKeys(['x:0'], 'model', false).get('x:0')).toBe('x:0');
  });
});
