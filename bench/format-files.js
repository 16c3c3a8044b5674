// Writes the models of the `formats` benchmarks (bench/formats.js) at bench time, never committed:
// TFLite with flatc (Debian flatbuffers-compiler) and scripts/tflite-schema-subset.fbs, TF.js in plain
// JavaScript (model.json + 4 MB shards, as tfjs-converter lays them out), HDF5 and Keras .h5 with
// /usr/bin/python3's h5py. Each returns undefined with the reason when its tool is missing.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { ROOT } from './lib.js';

const SCHEMA = path.join(ROOT, 'scripts', 'tflite-schema-subset.fbs');
const PYTHON = '/usr/bin/python3';

/** Normal-ish float32 values (sum of uniforms), finite, as weights are. */
function weights(count, seed) {
  const out = new Float32Array(count);
  let s = seed >>> 0 || 1;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  for (let i = 0; i < count; i++) out[i] = (next() + next() + next() - 1.5) * 0.1;
  return out;
}

function have(cmd, args) {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * A TFLite model of `bytes` of constants in tensors of `tensorBytes`: FLOAT32, or INT8 quantized per
 * axis (one scale per row, as converters quantize weights). Its data follows the FlatBuffer, placed by
 * each buffer's `offset`/`size` (TFLite's extension for models over 2 GB): flatc compiles the tables
 * from JSON, which cannot hold tens of MB of inline data in reasonable time. The reader reads inline
 * and placed buffers alike (a location in the file).
 */
export function writeBenchTflite(file, { bytes, tensorBytes = 4 << 20, int8 = false }) {
  if (!have('flatc', ['--version'])) return { skipped: 'flatc (flatbuffers-compiler) not installed' };
  const count = Math.max(1, Math.round(bytes / tensorBytes));
  const cols = 1024;
  const rows = tensorBytes / (int8 ? 1 : 4) / cols;
  const tensors = [];
  const buffers = [{}];
  for (let i = 0; i < count; i++) {
    const t = { shape: [rows, cols], type: int8 ? 'INT8' : 'FLOAT32', buffer: i + 1, name: `layer${i}/kernel` };
    if (int8) t.quantization = { scale: Array.from(weights(rows, i + 7), (x) => Math.abs(x) / 64 + 1e-4), zero_point: new Array(rows).fill(0), quantized_dimension: 0 };
    tensors.push(t);
    buffers.push({ offset: 2 ** 40, size: tensorBytes });
  }
  const doc = { version: 3, description: 'tensorsafe bench', subgraphs: [{ tensors, inputs: [], outputs: [], operators: [], name: 'main' }], buffers };
  const dir = fs.mkdtempSync(path.join(path.dirname(file), 'flatc-'));
  const compile = () => {
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(doc));
    execFileSync('flatc', ['-b', '-o', dir, SCHEMA, path.join(dir, 'model.json')]);
    return fs.readFileSync(path.join(dir, 'model.tflite'));
  };
  // A ulong takes 8 bytes whatever its value: the size with placeholder offsets is the final size.
  const probe = compile().length;
  const start = Math.ceil(probe / 16) * 16;
  buffers.forEach((b, i) => i > 0 && (b.offset = start + (i - 1) * tensorBytes));
  const flat = compile();
  fs.rmSync(dir, { recursive: true, force: true });
  if (flat.length !== probe) throw new Error('the FlatBuffer changed size with its offsets');
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, flat);
    fs.writeSync(fd, Buffer.alloc(start - flat.length));
    for (let i = 0; i < count; i++) {
      const w = weights(tensorBytes / 4, i + 1);
      if (int8) {
        const q = new Int8Array(tensorBytes);
        for (let j = 0; j < tensorBytes; j++) q[j] = Math.max(-128, Math.min(127, Math.round(w[j % w.length] * 1000)));
        fs.writeSync(fd, q);
      } else fs.writeSync(fd, w);
    }
  } finally {
    fs.closeSync(fd);
  }
  return { tensors: count };
}

/**
 * A TF.js graph model in `dir`: model.json and shards of 4 MB (tfjs-converter's default), weights of
 * `tensorBytes` of float32 each (`bytes` in all), or uint8-quantized (`q * scale + min`, a quarter of
 * the bytes in the shards, dequantized to float32 on reading).
 */
export function writeBenchTfjs(dir, { bytes, tensorBytes = 4 << 20, uint8 = false }) {
  fs.mkdirSync(dir, { recursive: true });
  const count = Math.max(1, Math.round(bytes / tensorBytes));
  const elements = tensorBytes / 4;
  const specs = [];
  const shardBytes = 4 * 1024 * 1024;
  const total = count * elements * (uint8 ? 1 : 4);
  const data = Buffer.allocUnsafe(total);
  for (let i = 0; i < count; i++) {
    const w = weights(elements, i + 1);
    const spec = { name: `layer${i}/kernel`, shape: [elements / 1024, 1024], dtype: 'float32' };
    if (uint8) {
      let lo = Infinity;
      let hi = -Infinity;
      for (const x of w) (lo = Math.min(lo, x)), (hi = Math.max(hi, x));
      const scale = (hi - lo) / 255;
      for (let j = 0; j < elements; j++) data[i * elements + j] = Math.round((w[j] - lo) / scale);
      spec.quantization = { dtype: 'uint8', scale, min: lo };
    } else Buffer.from(w.buffer).copy(data, i * elements * 4);
    specs.push(spec);
  }
  const shards = Math.ceil(total / shardBytes);
  const paths = [];
  for (let s = 0; s < shards; s++) {
    const name = `group1-shard${s + 1}of${shards}.bin`;
    fs.writeFileSync(path.join(dir, name), data.subarray(s * shardBytes, Math.min(total, (s + 1) * shardBytes)));
    paths.push(name);
  }
  const model = { format: 'graph-model', generatedBy: 'tensorsafe bench', convertedBy: null, modelTopology: { node: [] }, weightsManifest: [{ paths, weights: specs }] };
  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(model));
  return { tensors: count, files: [path.join(dir, 'model.json'), ...paths.map((p) => path.join(dir, p))] };
}

/**
 * An HDF5 file by h5py: `kind` 'generic' (float32 datasets in groups, contiguous), 'chunked' (the same,
 * chunked and deflated, as h5py writes with compression='gzip'), or 'keras' (a legacy Keras 2 `.h5`:
 * `model_weights/<layer>/<layer>/kernel:0` with the `layer_names`/`weight_names` attributes).
 */
export function writeBenchHdf5(file, { bytes, tensorBytes = 4 << 20, kind = 'generic' }) {
  if (!have(PYTHON, ['-c', 'import h5py, numpy'])) return { skipped: `h5py not importable by ${PYTHON}` };
  const count = Math.max(1, Math.round(bytes / tensorBytes));
  const script = `
import sys, h5py, numpy as np
file, count, elements, kind = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rng = np.random.default_rng(1)
with h5py.File(file, 'w') as f:
    if kind == 'keras':
        f.attrs['keras_version'] = '2.15.0'
        f.attrs['backend'] = 'tensorflow'
        g = f.create_group('model_weights')
        names = [f'dense_{i}' for i in range(count)]
        g.attrs['layer_names'] = np.array([n.encode() for n in names])
        for n in names:
            layer = g.create_group(n)
            layer.attrs['weight_names'] = np.array([f'{n}/kernel:0'.encode()])
            layer.create_group(n).create_dataset('kernel:0', data=rng.standard_normal((elements // 1024, 1024), dtype=np.float32))
    else:
        for i in range(count):
            data = rng.standard_normal((elements // 1024, 1024), dtype=np.float32)
            if kind == 'chunked':
                f.create_dataset(f'layer{i}/kernel', data=data, chunks=(64, 1024), compression='gzip', compression_opts=1)
            else:
                f.create_dataset(f'layer{i}/kernel', data=data)
`;
  execFileSync(PYTHON, ['-c', script, file, String(count), String(tensorBytes / 4), kind]);
  return { tensors: count };
}

/**
 * An MXNet NDArray list (V2 dense float32, `arg:` names) of `bytes` in arrays of `tensorBytes`, written
 * as src/ndarray/ndarray.cc saves it (MXNet is not installable here).
 */
export function writeBenchMxnet(file, { bytes, tensorBytes = 4 << 20 }) {
  const count = Math.max(1, Math.round(bytes / tensorBytes));
  const cols = 1024;
  const rows = tensorBytes / 4 / cols;
  const fd = fs.openSync(file, 'w');
  const u64 = (v) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    return b;
  };
  fs.writeSync(fd, Buffer.concat([u64(0x112), u64(0), u64(count)]));
  for (let i = 0; i < count; i++) {
    const head = Buffer.alloc(4 + 4 + 4 + 16 + 12);
    head.writeUInt32LE(0xf993fac9, 0);
    head.writeInt32LE(0, 4); // default storage
    head.writeInt32LE(2, 8); // ndim
    head.writeBigInt64LE(BigInt(rows), 12);
    head.writeBigInt64LE(BigInt(cols), 20);
    head.writeInt32LE(1, 28); // cpu
    head.writeInt32LE(0, 32);
    head.writeInt32LE(0, 36); // float32
    fs.writeSync(fd, head);
    const w = weights(rows * cols, i + 1);
    fs.writeSync(fd, new Uint8Array(w.buffer));
  }
  fs.writeSync(fd, u64(count));
  for (let i = 0; i < count; i++) {
    const name = Buffer.from(`arg:layer${i}_weight`);
    fs.writeSync(fd, Buffer.concat([u64(name.length), name]));
  }
  fs.closeSync(fd);
  return { tensors: count };
}

/** A PaddlePaddle `.pdparams` (pickle protocol 4 of float32 arrays, as paddle.save writes it), or a Flax `.msgpack`, with /usr/bin/python3. */
export function writeBenchPickledOrMsgpack(file, { bytes, kind, tensorBytes = 4 << 20 }) {
  const module = kind === 'flax' ? 'msgpack' : 'pickle';
  if (!have(PYTHON, ['-c', `import numpy, ${module}`])) return { skipped: `${PYTHON} with numpy and ${module} not installed` };
  const count = Math.max(1, Math.round(bytes / tensorBytes));
  const script = `
import sys, numpy as np, pickle
count, rows, path, kind = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
rng = np.random.default_rng(1)
arrays = {f'layer{i}.weight': rng.standard_normal((rows, 1024)).astype('float32') for i in range(count)}
if kind == 'flax':
    import msgpack
    ext = lambda a: msgpack.ExtType(1, msgpack.packb((a.shape, a.dtype.name, a.tobytes('C')), use_bin_type=True))
    data = msgpack.packb({'params': {k: ext(v) for k, v in arrays.items()}})
    open(path, 'wb').write(data)
else:
    arrays['StructuredToParameterName@@'] = {k: f'param_{i}' for i, k in enumerate(arrays)}
    with open(path, 'wb') as f:
        pickle.Pickler(f, 4).dump(arrays)
`;
  execFileSync(PYTHON, ['-c', script, String(count), String(tensorBytes / 4 / 1024), file, kind]);
  return { tensors: count };
}
