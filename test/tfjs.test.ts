import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { isTensorsafeError } from '../src/errors.js';
import type { ByteSource } from '../src/io/byte-source.js';
import { MemorySource } from '../src/io/byte-source.js';
import { tfjsReader } from '../src/formats/tfjs/reader.js';
import { MAX_TFJS_DIMS, MAX_TFJS_STRING_METADATA_BYTES } from '../src/formats/tfjs/limits.js';
import { findModels } from '../src/node/batch.js';
import { safetensorsNameFor } from '../src/node/convert.js';
import { openInsideFolder } from '../src/node/inside-folder.js';
import { readEntry, type TensorSet } from '../src/tensor/tensor-set.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';

/**
 * The TF.js reader against tfjs-core itself: every weight of every fixture, and every code of every
 * quantization, read by tensorsafe equals what tfjs-core's `io.decodeWeights` gives, bit for bit; shard
 * paths that leave the model's folder are refused; the CLI reads model.json through the registry.
 */

const DIR = path.join(import.meta.dirname, 'fixtures', 'formats', 'tfjs');

beforeAll(async () => {
  await tf.setBackend('cpu');
});

type Spec = tf.io.WeightsManifestEntry;

/** tfjs-core's decoding of `data` by `specs`: each weight's values as bytes (string weights skipped). */
async function tfjsDecoded(data: Uint8Array, specs: Spec[]): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  const decoded = tf.io.decodeWeights(data.slice().buffer, specs);
  for (const s of specs) {
    if (s.dtype === 'string') continue;
    const v = (await decoded[s.name]!.data()) as Float32Array | Int32Array | Uint8Array;
    out.set(s.name, new Uint8Array(v.buffer, v.byteOffset, v.byteLength).slice());
  }
  tf.dispose(Object.values(decoded));
  return out;
}

/** Opens a manifest over in-memory shards. */
function openMemory(json: unknown, shards: Record<string, Uint8Array>): Promise<TensorSet> {
  const source = new MemorySource(new TextEncoder().encode(JSON.stringify(json)), 'model.json');
  const openSibling = async (p: string): Promise<ByteSource> => {
    const b = shards[p];
    if (!b) throw new Error(`no shard ${p}`);
    return new MemorySource(b, p);
  };
  return tfjsReader.open!(source, { openSibling }).then((p) => p.tensors);
}

async function expectSameAsTfjs(set: TensorSet, want: Map<string, Uint8Array>): Promise<void> {
  expect(set.tensors.map((t) => t.name)).toEqual([...want.keys()]);
  for (const t of set.tensors) {
    const got = await readEntry(t);
    expect(Buffer.from(got).equals(Buffer.from(want.get(t.name)!)), t.name).toBe(true);
  }
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'opened',
    (e: unknown) => (isTensorsafeError(e) ? e.code : `not coded: ${String(e)}`),
  );
}

describe('TF.js reader against tfjs-core decodeWeights', () => {
  for (const file of ['layers-model.json', 'graph-model.json', 'weights-manifest.json']) {
    it(`${file}: every weight equals tfjs-core's, bit for bit`, async () => {
      const json = JSON.parse(fs.readFileSync(path.join(DIR, file), 'utf8')) as { weightsManifest?: tf.io.WeightsManifestConfig } | tf.io.WeightsManifestConfig;
      const manifest = Array.isArray(json) ? json : json.weightsManifest!;
      const data = Buffer.concat(manifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(DIR, p)))));
      const want = await tfjsDecoded(new Uint8Array(data), manifest.flatMap((g) => g.weights));
      const source = new MemorySource(new Uint8Array(fs.readFileSync(path.join(DIR, file))), file);
      const { tensors } = await tfjsReader.open!(source, { openSibling: (r) => openInsideFolder(DIR, r) });
      try {
        await expectSameAsTfjs(tensors, want);
        // The graph-model's small string weight is kept in the metadata: the strings tfjs-core decodes.
        if (file === 'graph-model.json') {
          expect(tensors.leftOut).toEqual([]);
          const spec = manifest.flatMap((g) => g.weights).find((w) => w.name === 'labels')!;
          const decoded = tf.io.decodeWeights(new Uint8Array(data).slice().buffer, manifest.flatMap((g) => g.weights));
          const labels = (await decoded['labels']!.data()) as unknown as string[];
          tf.dispose(Object.values(decoded));
          expect(JSON.parse(tensors.metadata!['tfjs.string.labels']!)).toEqual({ shape: spec.shape, values: labels });
        }
      } finally {
        await tensors.close();
      }
    });
  }

  it('every float16 code (NaN payloads and signalling NaNs included) widens as tfjs-core widens it', async () => {
    const codes = new Uint16Array(65536).map((_, i) => i);
    const bytes = new Uint8Array(codes.buffer);
    const specs: Spec[] = [{ name: 'h', shape: [65536], dtype: 'float32', quantization: { dtype: 'float16' } }];
    const set = await openMemory([{ paths: ['a.bin'], weights: specs }], { 'a.bin': bytes });
    await expectSameAsTfjs(set, await tfjsDecoded(bytes, specs));
  });

  it('every uint8 and uint16 code, to float32 and to int32, with scales and mins that round, tie and wrap', async () => {
    const u16 = new Uint8Array(new Uint16Array(65536).map((_, i) => i).buffer);
    const u8 = new Uint8Array(256).map((_, i) => i);
    const cases: [number, number][] = [
      [0.1, -3.3],
      [1 / 3, 0.7],
      [0.5, -0.5],
      [1e5, -1e9], // int32: past 2^31, wrapped as Int32Array stores it
      [1e-30, 1e30],
      [3.4e38, 0], // float32: past its range, infinity
      [-0.5, 0.5],
    ];
    for (const [scale, min] of cases) {
      for (const dtype of ['float32', 'int32'] as const) {
        const specs: Spec[] = [
          { name: 'a', shape: [256], dtype, quantization: { dtype: 'uint8', scale, min } },
          { name: 'b', shape: [65536], dtype, quantization: { dtype: 'uint16', scale, min } },
        ];
        const data = new Uint8Array(256 + 2 * 65536);
        data.set(u8, 0);
        data.set(u16, 256);
        const set = await openMemory([{ paths: ['x.bin', 'y.bin'], weights: specs }], { 'x.bin': data.subarray(0, 257), 'y.bin': data.subarray(257) });
        await expectSameAsTfjs(set, await tfjsDecoded(data, specs));
      }
    }
  });

  it('a weight straddling several shards, empty shards between them, unaligned: equal to tfjs-core', async () => {
    const specs: Spec[] = [
      { name: 'b', shape: [1], dtype: 'bool' },
      { name: 'f', shape: [5], dtype: 'float32' },
      { name: 'c', shape: [2], dtype: 'complex64' },
    ];
    const data = new Uint8Array(1 + 20 + 16).map((_, i) => (i * 37 + 11) & 0xff);
    data[0] = 1;
    const shards = { s0: data.subarray(0, 2), s1: new Uint8Array(0), s2: data.subarray(2, 3), s3: data.subarray(3, 30), s4: data.subarray(30) };
    const set = await openMemory({ format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [{ paths: Object.keys(shards), weights: specs }] }, shards);
    await expectSameAsTfjs(set, await tfjsDecoded(data, specs));
    expect(set.tensors.map((t) => [t.dtype, t.fidelity])).toEqual([['BOOL', 'exact'], ['F32', 'exact'], ['C64', 'exact']]);
  });
});

describe('TF.js shard paths stay inside the model folder', () => {
  const specs: Spec[] = [{ name: 'w', shape: [1], dtype: 'float32' }];
  for (const p of ['/etc/passwd', '../w.bin', 'a/../../w.bin', '..\\w.bin', 'C:/w.bin', 'https://example.com/w.bin', 'file:///etc/passwd', '//host/w.bin', 'w.bin\0.png']) {
    it(`${JSON.stringify(p)} is refused before anything is opened`, async () => {
      let opened = 0;
      const source = new MemorySource(new TextEncoder().encode(JSON.stringify([{ paths: [p], weights: specs }])), 'model.json');
      const code = await codeOf(tfjsReader.open!(source, { openSibling: async () => (opened++, new MemorySource(new Uint8Array(4))) }));
      expect(code).toBe('ExternalDataRefused');
      expect(opened).toBe(0);
    });
  }

  it('a model with no folder (no openSibling) reads no shard', async () => {
    const source = new MemorySource(new TextEncoder().encode(JSON.stringify([{ paths: ['w.bin'], weights: specs }])), 'model.json');
    expect(await codeOf(tfjsReader.open!(source))).toBe('ExternalDataRefused');
    // A user who opened a model.json from disk with FileSource (README, Formats) is told how to read its shards.
    await expect(tfjsReader.open!(source)).rejects.toThrow(/openModel from tensorsafe\/node, or pass the open option openSibling/);
  });

  it('a shard that is a symbolic link out of the folder is refused (CLI: exit 3, nothing written)', async () => {
    const root = tempDir('tfjs-symlink');
    const outside = path.join(root, 'outside.bin');
    fs.writeFileSync(outside, new Uint8Array(4));
    const model = path.join(root, 'model');
    fs.mkdirSync(model);
    fs.symlinkSync(outside, path.join(model, 'w.bin'));
    fs.writeFileSync(path.join(model, 'model.json'), JSON.stringify({ format: 'layers-model', modelTopology: {}, weightsManifest: [{ paths: ['w.bin'], weights: specs }] }));
    const out = path.join(root, 'out');
    fs.mkdirSync(out);
    const r = await runCli('convert', path.join(model, 'model.json'), '-o', out);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('ExternalDataRefused');
    expect(fs.readdirSync(out)).toEqual([]);
  });
});

describe('TF.js limits and malformed manifests', () => {
  const cases: [string, unknown, string][] = [
    ['too many dimensions', [{ paths: [], weights: [{ name: 'w', shape: new Array(MAX_TFJS_DIMS + 1).fill(1), dtype: 'float32' }] }], 'TfjsLimit'],
    ['a negative dimension', [{ paths: [], weights: [{ name: 'w', shape: [-1], dtype: 'float32' }] }], 'InvalidTfjs'],
    ['a fractional dimension', [{ paths: [], weights: [{ name: 'w', shape: [1.5], dtype: 'float32' }] }], 'InvalidTfjs'],
    ['an unknown quantization', [{ paths: [], weights: [{ name: 'w', shape: [1], dtype: 'float32', quantization: { dtype: 'int4' } }] }], 'InvalidTfjs'],
    ['uint8 without scale', [{ paths: [], weights: [{ name: 'w', shape: [1], dtype: 'float32', quantization: { dtype: 'uint8', min: 0 } }] }], 'InvalidTfjs'],
    ['float16 of int32 (tfjs-core refuses it)', [{ paths: [], weights: [{ name: 'w', shape: [1], dtype: 'int32', quantization: { dtype: 'float16' } }] }], 'InvalidTfjs'],
    ['two weights of one name', [{ paths: [], weights: [{ name: 'w', shape: [0], dtype: 'float32' }, { name: 'w', shape: [0], dtype: 'int32' }] }], 'InvalidTfjs'],
    ['no weightsManifest', { modelTopology: {} }, 'InvalidTfjs'],
    ['paths not an array', [{ paths: 'w.bin', weights: [] }], 'InvalidTfjs'],
    ['elements past any size', [{ paths: [], weights: [{ name: 'w', shape: [2 ** 40, 2 ** 40], dtype: 'float32' }] }], 'InvalidTfjs'],
  ];
  for (const [what, json, code] of cases) {
    it(`${what}: ${code}`, async () => {
      const source = new MemorySource(new TextEncoder().encode(JSON.stringify(json)), 'model.json');
      expect(await codeOf(tfjsReader.open!(source, { openSibling: async () => new MemorySource(new Uint8Array(0)) }))).toBe(code);
    });
  }

  it.each(['"scale": 1e400, "min": 0', '"scale": 0.5, "min": -1e400'])('a quantization whose JSON number overflows to infinity (%s): InvalidTfjs', async (q) => {
    const text = `[{"paths": [], "weights": [{"name": "w", "shape": [1], "dtype": "float32", "quantization": {"dtype": "uint8", ${q}}}]}]`;
    const source = new MemorySource(new TextEncoder().encode(text), 'model.json');
    expect(await codeOf(tfjsReader.open!(source, { openSibling: async () => new MemorySource(new Uint8Array(0)) }))).toBe('InvalidTfjs');
  });

  it('a string weight whose lengths run past its shards is a shard mismatch', async () => {
    const shards = { 'a.bin': new Uint8Array([200, 0, 0, 0, 1]) };
    const set = openMemory([{ paths: ['a.bin'], weights: [{ name: 's', shape: [1], dtype: 'string' }] }], shards);
    expect(await codeOf(set)).toBe('TfjsShardMismatch');
  });
});

describe('TF.js through the CLI', () => {
  it('a folder of TF.js models: batch conversion takes each model.json, never its shards (beside it or below) for models', async () => {
    const root = tempDir('tfjs-batch');
    const specs: Spec[] = [{ name: 'w', shape: [2], dtype: 'float32' }];
    fs.mkdirSync(path.join(root, 'a', 'weights'), { recursive: true });
    fs.writeFileSync(path.join(root, 'a', 'model.json'), JSON.stringify({ format: 'layers-model', modelTopology: {}, weightsManifest: [{ paths: ['group1-shard1of2.bin', 'weights/group1-shard2of2.bin'], weights: specs }] }));
    fs.writeFileSync(path.join(root, 'a', 'group1-shard1of2.bin'), new Uint8Array([1, 2, 3]));
    fs.writeFileSync(path.join(root, 'a', 'weights', 'group1-shard2of2.bin'), new Uint8Array([4, 5, 6, 7, 8]));
    // A manifest naming a file outside its folder does not hide that file.
    fs.writeFileSync(path.join(root, 'b.pt'), new Uint8Array([0x80, 2, 0x7d, 0x2e]));
    fs.mkdirSync(path.join(root, 'c'));
    fs.writeFileSync(path.join(root, 'c', 'model.json'), JSON.stringify([{ paths: ['../b.pt'], weights: specs }]));
    expect(findModels(root).map((m) => path.relative(root, m.path)).sort()).toEqual(['a/model.json', 'b.pt', 'c/model.json']);
    const r = await runCli('convert', root, '--recursive');
    expect(r.stdout).toContain('1 converted');
    expect(fs.existsSync(path.join(root, 'a', 'model.safetensors'))).toBe(true);
  });

  it('a model.json converts to model.safetensors (the name end `model.json` is not an extension)', () => {
    expect(safetensorsNameFor('/m/model.json')).toBe('model.safetensors');
    expect(safetensorsNameFor('/m/layers-model.json')).toBe('layers-model.safetensors');
  });

  it('inspect shows the manifest weights and the TF.js view; verify finds the conversion equal', async () => {
    const file = path.join(DIR, 'graph-model.json');
    const r = await runCli('inspect', file, '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { format: string; tensors: { name: string }[]; view?: { title: string }[] };
    expect(report.tensors.map((t) => t.name)).toContain('conv/weights_u8');
    expect(report.view?.map((s) => s.title)).toEqual(['TF.js', 'weights']);
    const out = tempDir('tfjs-cli');
    const c = await runCli('convert', file, '-o', out);
    expect(c.code).toBe(0);
    const written = fs.readdirSync(out).filter((f) => f.endsWith('.safetensors'));
    expect(written).toEqual(['graph-model.safetensors']);
    const v = await runCli('verify', file, path.join(out, written[0]!));
    expect(v.code).toBe(0);
  });
});

describe('TF.js notes', () => {
  it('a model of many quantized weights gets a short note: a count, ten names and how many more', async () => {
    const weights = Array.from({ length: 25 }, (_, i) => ({ name: `w${i}`, shape: [1], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.5, min: -1 } }));
    const set = await openMemory({ weightsManifest: [{ paths: ['g.bin'], weights }] }, { 'g.bin': new Uint8Array(25).fill(3) });
    const note = set.notes.find((n) => n.includes('dequantized as tfjs-core does'))!;
    expect(note).toMatch(/^25 weights dequantized as tfjs-core does \(q \* scale \+ min\): `w0` \(uint8 → float32\), .*`w9` \(uint8 → float32\) and 15 more$/);
    expect(note).not.toContain('`w10`');
    await set.close();
  });
});

describe('TF.js embedded form (weightSpecs + base64 weightData)', () => {
  /** tfjs-core's own encoding of some weights, as ModelArtifacts hold them. */
  async function artifacts(): Promise<{ specs: Spec[]; data: Uint8Array }> {
    const named = { 'dense/kernel': tf.tensor2d([1.5, -2, 3.25, 1e-30, -0, 7], [2, 3]), ids: tf.tensor1d([1, -5, 70000], 'int32'), mask: tf.tensor1d([1, 0, 1], 'bool') };
    const { data, specs } = await tf.io.encodeWeights(named);
    tf.dispose(Object.values(named));
    return { specs, data: new Uint8Array(data) };
  }
  const base64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

  it('reads weightData (one string, or a list of them concatenated) equal to tfjs-core decodeWeights', async () => {
    const { specs, data } = await artifacts();
    const want = await tfjsDecoded(data, specs);
    await expectSameAsTfjs(await openMemory({ modelTopology: { class_name: 'Sequential' }, format: 'layers-model', weightSpecs: specs, weightData: base64(data) }, {}), want);
    // WeightData may be a list of buffers: split inside a weight.
    await expectSameAsTfjs(await openMemory({ weightSpecs: specs, weightData: [base64(data.subarray(0, 5)), base64(data.subarray(5, 5)), base64(data.subarray(5))] }, {}), want);
  });

  it('refuses data that is not base64, data of the wrong length, and both forms at once', async () => {
    const { specs, data } = await artifacts();
    const open = (json: unknown): Promise<unknown> => openMemory(json, {});
    expect(await codeOf(open({ weightSpecs: specs, weightData: base64(data).slice(0, -4) }))).toBe('TfjsShardMismatch');
    expect(await codeOf(open({ weightSpecs: specs, weightData: base64(Buffer.concat([data, new Uint8Array(4)])) }))).toBe('TfjsShardMismatch');
    expect(await codeOf(open({ weightSpecs: specs, weightData: base64(data).replace(/.$/, '*') }))).toBe('InvalidTfjs');
    expect(await codeOf(open({ weightSpecs: specs, weightData: ` ${base64(data)}` }))).toBe('InvalidTfjs');
    expect(await codeOf(open({ weightSpecs: specs, weightData: {} }))).toBe('InvalidTfjs');
    expect(await codeOf(open({ weightSpecs: 'x', weightData: '' }))).toBe('InvalidTfjs');
    expect(await codeOf(open({ weightSpecs: specs, weightData: base64(data), weightsManifest: [] }))).toBe('InvalidTfjs');
  });

  it('the CLI inspects, scans and converts an embedded model.json (no shard opened)', async () => {
    const { specs, data } = await artifacts();
    const dir = tempDir('tfjs-embedded');
    const file = path.join(dir, 'model.json');
    fs.writeFileSync(file, JSON.stringify({ format: 'layers-model', generatedBy: 'TensorFlow.js tfjs-layers v4.22.0', weightSpecs: specs, weightData: base64(data) }));
    const i = await runCli('inspect', file, '--json');
    expect(i.code, i.stderr).toBe(0);
    expect(i.stdout).toContain('embedded, base64');
    const s = await runCli('scan', file);
    expect(s.code, s.stdout).toBe(0);
    const c = await runCli('convert', file);
    expect(c.code, c.stderr).toBe(0);
    expect(fs.readdirSync(dir).sort()).toEqual(['model.json', 'model.safetensors']);
    expect((await runCli('verify', file, path.join(dir, 'model.safetensors'))).code).toBe(0);
  });
});

describe('TF.js string weights', () => {
  const encode = (values: string[]): Uint8Array => {
    const parts = values.map((v) => new TextEncoder().encode(v));
    const out = new Uint8Array(parts.reduce((n, p) => n + 4 + p.length, 0));
    let at = 0;
    for (const p of parts) {
      new DataView(out.buffer).setUint32(at, p.length, true);
      out.set(p, at + 4);
      at += 4 + p.length;
    }
    return out;
  };

  it(`keeps UTF-8 ones up to MAX_TFJS_STRING_METADATA_BYTES in the metadata, leaves larger or binary ones out with the reason`, async () => {
    const small = encode(['a', 'ü', '']);
    const large = encode(['x'.repeat(MAX_TFJS_STRING_METADATA_BYTES)]);
    const binary = Uint8Array.of(2, 0, 0, 0, 0xff, 0xfe);
    const w = Float32Array.of(1.5);
    const shard = Buffer.concat([small, large, binary, new Uint8Array(w.buffer)]);
    const weights = [
      { name: 'small', shape: [3], dtype: 'string' },
      { name: 'large', shape: [1], dtype: 'string' },
      { name: 'binary', shape: [1], dtype: 'string' },
      { name: 'w', shape: [1], dtype: 'float32' },
    ];
    const set = await openMemory([{ paths: ['a.bin'], weights }], { 'a.bin': new Uint8Array(shard) });
    expect(set.tensors.map((t) => t.name)).toEqual(['w']);
    expect(set.metadata).toEqual({ 'tfjs.string.small': JSON.stringify({ shape: [3], values: ['a', 'ü', ''] }) });
    expect(set.leftOut).toEqual([
      { path: 'large', what: expect.stringContaining('more than MAX_TFJS_STRING_METADATA_BYTES') },
      { path: 'binary', what: expect.stringContaining('not UTF-8') },
    ]);
    expect(set.notes.join('\n')).toContain('tfjs.string.<name>');
  });
});
