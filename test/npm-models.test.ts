/**
 * Real models shipped in npm packages (scripts/fetch-npm-models.sh unpacks them into
 * .cache/npm-models/; skipped with one line when absent):
 * - handtrackjs 0.1.5's TF.js graph-models (float32, float16, uint8, all made by tfjs-converter 3.5.0
 *   from one model) and its older bare weights manifest: converted to safetensors, every weight equal to
 *   what tfjs-core's `io.decodeWeights` gives, bit for bit; and `--to tfjs --quantize uint8|float16`
 *   of the float32 model writes the codes and quantization fields of the package's own uint8 and
 *   float16 models, byte for byte: tfjs-converter's rounding, reproduced on a real model.
 * - @mediapipe/face_detection's .tflite models: converted, every tensor equal to its buffer as flatc
 *   dumps it (SHA-256s committed by scripts/make-npm-models-expected.py; CI has no flatc).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { convertModel } from '../src/node/convert.js';
import { openModel } from '../src/node/open-model.js';
import { readEntry } from '../src/tensor/tensor-set.js';
import { tempDir } from './helpers/temp.js';

const ROOT = path.join(import.meta.dirname, '..');
const CACHE = path.join(ROOT, '.cache', 'npm-models');
const HAVE = fs.existsSync(path.join(CACHE, 'handtrackjs', '.sha256')) && fs.existsSync(path.join(CACHE, 'mediapipe-face_detection', '.sha256'));
if (!HAVE) console.log(`npm model tests skipped: ${path.relative(ROOT, CACHE)} is absent (scripts/fetch-npm-models.sh fetches it)`);

const HANDTRACK = path.join(CACHE, 'handtrackjs', 'models');
const SSD = path.join(HANDTRACK, 'webmodel', 'ssd320fpnlite');
const TFJS_MODELS = ['webmodel/ssd320fpnlite/base/model.json', 'webmodel/ssd320fpnlite/fp16/model.json', 'webmodel/ssd320fpnlite/int8/model.json', 'web/ssdlitemobilenetv2/weights_manifest.json'];

type Group = { paths: string[]; weights: tf.io.WeightsManifestEntry[] };
const manifestOf = (file: string): Group[] => {
  const json = JSON.parse(fs.readFileSync(file, 'utf8')) as Group[] | { weightsManifest: Group[] };
  return Array.isArray(json) ? json : json.weightsManifest;
};

/** tfjs-core's decoding of a model's weights (string ones skipped): name → bytes. */
async function tfjsDecoded(file: string): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for (const g of manifestOf(file)) {
    const data = Buffer.concat(g.paths.map((p) => fs.readFileSync(path.join(path.dirname(file), p))));
    const decoded = tf.io.decodeWeights(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength), g.weights);
    for (const w of g.weights) {
      if (w.dtype === 'string') continue;
      const v = (await decoded[w.name]!.data()) as Float32Array | Int32Array | Uint8Array;
      out.set(w.name, new Uint8Array(v.buffer, v.byteOffset, v.byteLength).slice());
    }
    tf.dispose(Object.values(decoded));
  }
  return out;
}

/** Each weight's stored bytes and its manifest quantization, by name. */
function storedWeights(file: string): Map<string, { quantization: unknown; bytes: Buffer }> {
  const out = new Map<string, { quantization: unknown; bytes: Buffer }>();
  const per: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };
  for (const g of manifestOf(file)) {
    const data = Buffer.concat(g.paths.map((p) => fs.readFileSync(path.join(path.dirname(file), p))));
    let at = 0;
    for (const w of g.weights) {
      const n = w.shape.reduce((a, d) => a * d, 1) * per[(w.quantization?.dtype as string | undefined) ?? w.dtype]!;
      out.set(w.name, { quantization: w.quantization, bytes: data.subarray(at, at + n) });
      at += n;
    }
  }
  return out;
}

/** Every tensor of a model tensorsafe opens: name → bytes. */
async function tensorsOf(file: string): Promise<Map<string, Uint8Array>> {
  const set = await openModel(file);
  try {
    const out = new Map<string, Uint8Array>();
    for (const t of set.tensors) out.set(t.name, await readEntry(t));
    return out;
  } finally {
    await set.close();
  }
}

describe.skipIf(!HAVE)('npm models: handtrackjs TF.js', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  for (const rel of TFJS_MODELS) {
    it(`${rel}: converted to safetensors, every weight equals tfjs-core decodeWeights`, async () => {
      const file = path.join(HANDTRACK, rel);
      const out = tempDir('npm-tfjs');
      const summary = await convertModel(file, { output: path.join(out, 'model.safetensors') });
      expect(summary.verified).toBe(true);
      const want = await tfjsDecoded(file);
      const got = await tensorsOf(path.join(out, 'model.safetensors'));
      expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
      for (const [name, bytes] of want) expect(Buffer.from(got.get(name)!).equals(Buffer.from(bytes)), name).toBe(true);
    });
  }

  for (const [type, variant] of [['uint8', 'int8'], ['float16', 'fp16']] as const) {
    it(`--to tfjs --quantize ${type} of the float32 model writes the package's ${variant} model byte for byte`, async () => {
      const dir = tempDir(`npm-tfjs-${type}`);
      await convertModel(path.join(SSD, 'base', 'model.json'), { output: path.join(dir, 'model.safetensors') });
      const summary = await convertModel(path.join(dir, 'model.safetensors'), { to: 'tfjs', quantize: type, maxShardSize: '64MB' });
      expect(summary.verified).toBe(true);
      const ours = storedWeights(path.join(dir, 'model.json'));
      const theirs = storedWeights(path.join(SSD, variant, 'model.json'));
      expect([...ours.keys()].sort()).toEqual([...theirs.keys()].sort());
      let quantized = 0;
      for (const [name, t] of theirs) {
        const o = ours.get(name)!;
        expect(o.quantization, name).toEqual(t.quantization);
        expect(o.bytes.equals(t.bytes), name).toBe(true);
        if (t.quantization !== undefined) quantized++;
      }
      expect(quantized).toBeGreaterThan(200);
    });
  }
});

interface TfliteTensor {
  dtype: string;
  shape: number[];
  sha256: string;
  /** Stored in TFLite's sparse form: `sha256` is of that form, `dense_sha256` of the dense values. */
  sparse?: boolean;
  dense_sha256?: string;
}
const TFLITE = JSON.parse(fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'npm-models', 'tflite.json'), 'utf8')) as { files: Record<string, Record<string, TfliteTensor>> };

describe.skipIf(!HAVE)('npm models: MediaPipe TFLite', () => {
  for (const [rel, want] of Object.entries(TFLITE.files)) {
    it(`${rel}: converted to safetensors, every tensor equals its buffer as flatc dumps it`, async () => {
      const out = tempDir('npm-tflite');
      const summary = await convertModel(path.join(CACHE, rel), { output: path.join(out, 'model.safetensors') });
      expect(summary.verified).toBe(true);
      const set = await openModel(path.join(out, 'model.safetensors'));
      try {
        // Sparse tensors are densified: compared with what an independent reference densifier
        // (scripts/make-tflite-fixtures.py densify_reference) makes of flatc's dump.
        expect(summary.leftOut.filter((l) => /sparse/.test(l.what))).toEqual([]);
        expect(set.tensors.map((t) => t.name).sort()).toEqual(Object.keys(want).sort());
        for (const t of set.tensors) {
          const w = want[t.name]!;
          expect([t.name, t.dtype, t.shape]).toEqual([t.name, w.dtype, w.shape]);
          expect(createHash('sha256').update(await readEntry(t)).digest('hex'), t.name).toBe(w.sparse ? w.dense_sha256 : w.sha256);
        }
      } finally {
        await set.close();
      }
    });
  }
});
