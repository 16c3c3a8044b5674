// Makes the TF.js fixtures of test/fixtures/formats/tfjs/ with tfjs-core's own writer (tf.io.encodeWeights)
// and reads every expected value back with tfjs-core's own reader (tf.io.decodeWeights): the .expected.json
// files hold the SHA-256 of what tfjs-core decodes. Quantized weights (uint8, uint16, float16) are encoded
// here as tfjs-converter lays them out (tfjs-core has no quantizing writer); what they decode to is tfjs-core's.
// Run: node scripts/tfjs-fixtures.mjs   (needs the devDependencies @tensorflow/tfjs-core and tfjs-backend-cpu)
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';

const DIR = path.join(import.meta.dirname, '..', 'test', 'fixtures', 'formats', 'tfjs');
const SHARDS = path.join(DIR, 'shards');
fs.rmSync(DIR, { recursive: true, force: true });
fs.mkdirSync(SHARDS, { recursive: true });
await tf.setBackend('cpu');

/** Deterministic pseudo-random floats. */
function floats(n, seed, spread = 1) {
  const out = new Float32Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = ((x / 2 ** 32) * 2 - 1) * spread;
  }
  return out;
}

/** uint8/uint16 quantization as tfjs-converter writes it: scale = (max - min) / (2^bits - 1), q = round((x - min) / scale). */
function quantize(values, dtype) {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) (min = Math.min(min, v)), (max = Math.max(max, v));
  const levels = dtype === 'uint8' ? 255 : 65535;
  const scale = max > min ? (max - min) / levels : 1;
  const q = dtype === 'uint8' ? new Uint8Array(values.length) : new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) q[i] = Math.max(0, Math.min(levels, Math.round((values[i] - min) / scale)));
  return { bytes: new Uint8Array(q.buffer), quantization: { dtype, scale, min } };
}

/** float16 codes of float32 values (round to nearest even), for float16-quantized weights. */
function toF16(values) {
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    f[0] = values[i];
    const x = u[0];
    const sign = (x >>> 16) & 0x8000;
    const e = (x >>> 23) & 0xff;
    let m = x & 0x7fffff;
    if (e === 0xff) { out[i] = sign | 0x7c00 | (m ? 0x200 | (m >>> 13) : 0); continue; }
    let h = e - 127 + 15;
    if (h >= 31) { out[i] = sign | 0x7c00; continue; }
    if (h <= 0) {
      if (h < -10) { out[i] = sign; continue; }
      m |= 0x800000;
      const shift = 14 - h;
      let r = m >>> shift;
      const rem = m & ((1 << shift) - 1);
      const half = 1 << (shift - 1);
      if (rem > half || (rem === half && (r & 1))) r++;
      out[i] = sign | r;
      continue;
    }
    let r = (h << 10) | (m >>> 13);
    const rem = m & 0x1fff;
    if (rem > 0x1000 || (rem === 0x1000 && (r & 1))) r++;
    out[i] = sign | r;
  }
  return new Uint8Array(out.buffer);
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) out.set(p, at), (at += p.byteLength);
  return out;
}

/** Writes a group's bytes as shards cut at the given sizes (the last takes the rest); returns the paths. */
function writeShards(prefix, bytes, cuts) {
  const paths = [];
  let at = 0;
  for (const [i, n] of [...cuts, bytes.byteLength - cuts.reduce((a, b) => a + b, 0)].entries()) {
    const p = `shards/${prefix}-shard${i + 1}of${cuts.length + 1}.bin`;
    fs.writeFileSync(path.join(DIR, p), bytes.subarray(at, at + n));
    paths.push(p);
    at += n;
  }
  return paths;
}

const sha = (b) => createHash('sha256').update(b).digest('hex');
const DTYPE = { float32: 'F32', int32: 'I32', bool: 'BOOL', complex64: 'C64' };

/** The expected tensors: tfjs-core's decodeWeights over the manifest's shards, concatenated in order. */
async function expectedOf(manifest, exercises, file) {
  const data = concat(manifest.flatMap((g) => g.paths.map((p) => new Uint8Array(fs.readFileSync(path.join(DIR, p))))));
  const specs = manifest.flatMap((g) => g.weights);
  const decoded = tf.io.decodeWeights(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength), specs);
  const tensors = [];
  for (const s of specs) {
    if (s.dtype === 'string') continue;
    const values = await decoded[s.name].data();
    const q = s.quantization?.dtype;
    tensors.push({
      name: s.name,
      dtype: DTYPE[s.dtype],
      shape: s.shape,
      sha256: sha(new Uint8Array(values.buffer, values.byteOffset, values.byteLength)),
      encoding: q ? { layout: 'decoded', decoder: `tfjs-${q}` } : { layout: 'stored' },
      ...(q ? { fidelity: q === 'float16' ? 'lossless' : 'derived' } : {}),
    });
  }
  fs.writeFileSync(path.join(DIR, `${file}.expected.json`), JSON.stringify({ format: 'tfjs', producer: `@tensorflow/tfjs-core ${tf.version_core}`, exercises, tensors }, null, 1) + '\n');
}

function writeJson(file, value) {
  fs.writeFileSync(path.join(DIR, file), JSON.stringify(value));
}

// 1. A layers-model: every stored dtype, a bool first so that everything after it is unaligned, shards cut
//    mid-weight (a weight straddles shards).
{
  const named = [
    { name: 'flags', tensor: tf.tensor([true, false, true], [3], 'bool') },
    { name: 'dense/kernel', tensor: tf.tensor(floats(12, 1), [3, 4], 'float32') },
    { name: 'dense/bias', tensor: tf.tensor(floats(4, 2), [4], 'float32') },
    { name: 'steps', tensor: tf.tensor([1, -2, 2147483647, -2147483648, 0], [5], 'int32') },
    { name: 'spectrum', tensor: tf.complex(tf.tensor([1.5, -2, 0], [3]), tf.tensor([0.25, 3, -1], [3])) },
    { name: 'empty', tensor: tf.zeros([0, 4], 'float32') },
  ];
  const { data, specs } = await tf.io.encodeWeights(named);
  const paths = writeShards('layers', new Uint8Array(data), [7, 29]);
  const manifest = [{ paths, weights: specs }];
  const topology = { class_name: 'Sequential', config: { name: 'seq', layers: [{ class_name: 'Dense', config: { name: 'dense', units: 4, activation: 'relu' } }] }, keras_version: 'tfjs-layers 4.22.0', backend: 'tensor_flow.js' };
  writeJson('layers-model.json', { modelTopology: topology, format: 'layers-model', generatedBy: 'TensorFlow.js tfjs-layers v4.22.0', convertedBy: null, weightsManifest: manifest });
  await expectedOf(manifest, 'layers-model: bool, float32, int32, complex64 and an empty weight, packed unaligned, weights straddling three shards', 'layers-model.json');
}

// 2. A graph-model: two groups, quantized weights (uint8 and uint16 to float32 and int32, float16), a string weight
//    left out between two others.
{
  const parts1 = [];
  const w1 = [];
  const add = (list, parts, name, shape, dtype, bytes, quantization) => {
    list.push({ name, shape, dtype, ...(quantization ? { quantization } : {}) });
    parts.push(bytes);
  };
  const v = floats(10, 3, 4);
  let q = quantize(v, 'uint8');
  add(w1, parts1, 'conv/weights_u8', [2, 5], 'float32', q.bytes, q.quantization);
  q = quantize(floats(7, 4, 100), 'uint16');
  add(w1, parts1, 'conv/weights_u16', [7], 'float32', q.bytes, q.quantization);
  add(w1, parts1, 'conv/bias_f16', [6], 'float32', toF16(floats(6, 5, 1000)), { dtype: 'float16' });
  const { data: sdata, specs: sspecs } = await tf.io.encodeWeights([{ name: 'labels', tensor: tf.tensor(['cat', 'dog'], [2], 'string') }]);
  add(w1, parts1, 'labels', [2], 'string', new Uint8Array(sdata), undefined);
  // int32 weights quantized: values at .5 so the rounding tfjs applies (Math.round) shows.
  add(w1, parts1, 'ids_u8', [5], 'int32', new Uint8Array([0, 1, 2, 3, 255]), { dtype: 'uint8', scale: 0.5, min: -0.5 });
  add(w1, parts1, 'ids_u16', [3], 'int32', new Uint8Array(new Uint16Array([0, 3, 65535]).buffer), { dtype: 'uint16', scale: 1.5, min: -2.5 });
  void sspecs;
  const g1 = concat(parts1);
  const { data: d2, specs: s2 } = await tf.io.encodeWeights([{ name: 'head/w', tensor: tf.tensor(floats(9, 6), [3, 3]) }]);
  const manifest = [
    { paths: writeShards('graph-g1', g1, [5]), weights: w1 },
    { paths: writeShards('graph-g2', new Uint8Array(d2), []), weights: s2 },
  ];
  const topology = { node: [{ name: 'x', op: 'Placeholder' }, { name: 'conv/weights_u8', op: 'Const' }], library: {}, versions: {} };
  writeJson('graph-model.json', { format: 'graph-model', generatedBy: '2.15.0', convertedBy: 'TensorFlow.js Converter v4.22.0', modelTopology: topology, weightsManifest: manifest });
  await expectedOf(manifest, 'graph-model: two groups; uint8, uint16 and float16 quantization of float32, uint8 and uint16 of int32 (rounded as tfjs rounds); a string weight (kept in the metadata)', 'graph-model.json');
}

// 3. A bare weights manifest (a JSON array of groups), as npm packages ship them.
{
  const { data, specs } = await tf.io.encodeWeights([
    { name: 'embedding', tensor: tf.tensor(floats(8, 7), [4, 2]) },
    { name: 'count', tensor: tf.tensor([7], [1], 'int32') },
  ]);
  const manifest = [{ paths: writeShards('bare', new Uint8Array(data), []), weights: specs }];
  writeJson('weights-manifest.json', manifest);
  await expectedOf(manifest, 'a bare weights manifest: a JSON array of groups', 'weights-manifest.json');
}

// 4. Refusals: shards shorter and longer than the manifest says, a shard path outside the folder.
{
  const { data, specs } = await tf.io.encodeWeights([{ name: 'w', tensor: tf.tensor(floats(4, 8), [4]) }]);
  const bytes = new Uint8Array(data);
  const short = writeShards('short', bytes.subarray(0, 15), []);
  const long = writeShards('long', concat([bytes, new Uint8Array([0])]), []);
  const refusals = [
    ['shard-too-short-model.json', { format: 'layers-model', modelTopology: {}, weightsManifest: [{ paths: short, weights: specs }] }, 'TfjsShardMismatch', 'a shard one byte shorter than its weights'],
    ['shard-too-long-model.json', { format: 'layers-model', modelTopology: {}, weightsManifest: [{ paths: long, weights: specs }] }, 'TfjsShardMismatch', 'a shard one byte longer than its weights'],
    ['path-escape-model.json', { format: 'layers-model', modelTopology: {}, weightsManifest: [{ paths: ['../formats/tfjs/shards/long-shard1of1.bin'], weights: specs }] }, 'ExternalDataRefused', "a shard path with '..'"],
    ['unknown-dtype-model.json', { format: 'layers-model', modelTopology: {}, weightsManifest: [{ paths: long, weights: [{ name: 'w', shape: [4], dtype: 'float64' }] }] }, 'InvalidTfjs', 'a dtype tfjs does not have'],
  ];
  for (const [file, json, error, exercises] of refusals) {
    writeJson(file, json);
    fs.writeFileSync(path.join(DIR, `${file}.expected.json`), JSON.stringify({ format: 'tfjs', exercises, error }, null, 1) + '\n');
  }
}
console.log(fs.readdirSync(DIR).join('\n'));
