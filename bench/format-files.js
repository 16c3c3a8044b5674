// Writes the models of the `formats` benchmarks (bench/formats.js) at bench time, never committed:
// TFLite with flatc (Debian flatbuffers-compiler) and scripts/tflite-schema-subset.fbs, TF.js in plain
// JavaScript (model.json + 4 MB shards, as tfjs-converter lays them out), HDF5 and Keras .h5 with
// /usr/bin/python3's h5py, TorchScript with its torch. Each returns undefined with the reason when its tool is missing.
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
 * A TorchScript archive (torch.jit.save of a scripted module) of `bytes` of float32 weights: a
 * ModuleList of bias-free Linear layers of `tensorBytes` each, plus a BatchNorm's buffers, written by
 * /usr/bin/python3's torch. Its weights are read by their state_dict names (code/ declarations).
 */
export function writeBenchTorchScript(file, { bytes, tensorBytes = 4 << 20 }) {
  if (!have(PYTHON, ['-c', 'import torch'])) return { skipped: `torch not importable by ${PYTHON}` };
  const count = Math.max(1, Math.round(bytes / tensorBytes));
  const script = `
import sys, torch
file, count, elements = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.manual_seed(1)
class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = torch.nn.ModuleList([torch.nn.Linear(1024, elements // 1024, bias=False) for _ in range(count)])
        self.norm = torch.nn.BatchNorm1d(1024)
    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return self.norm(x)
torch.jit.save(torch.jit.script(Net()), file)
`;
  // torch.jit.script reads the module's source with inspect: it must be a file, not `-c`.
  const generator = path.join(path.dirname(file), 'make-torchscript.py');
  fs.writeFileSync(generator, script);
  execFileSync(PYTHON, [generator, file, String(count), String(tensorBytes / 4)]);
  fs.rmSync(generator);
  return { tensors: count + 5 };
}

/** Protobuf varint bytes of a non-negative integer. */
function pbVarint(n) {
  const out = [];
  for (let v = n; ; v = Math.floor(v / 128)) {
    if (v < 128) {
      out.push(v);
      return out;
    }
    out.push((v % 128) | 0x80);
  }
}

/** A length-delimited protobuf field. */
function pbBytes(field, bytes) {
  return [...pbVarint(field * 8 + 2), ...pbVarint(bytes.length), ...bytes];
}

/**
 * A TensorFlow checkpoint in `dir` (`ckpt-1.index` and one data shard), float32 variables of
 * `tensorBytes` each under TF2 keys, written here in plain JavaScript: a LevelDB table of one
 * uncompressed data block (restart interval 16, as TensorFlow writes), its index block, an empty
 * metaindex and the footer, every block's masked CRC-32C and every tensor's from the built reader's
 * crc32c (the bench measures the reader, it is not a test of it).
 */
export async function writeBenchTfCheckpoint(dir, { bytes, tensorBytes = 4 << 20 }) {
  const { crc32c, maskCrc } = await import(path.join(ROOT, 'dist/formats/tf-checkpoint/crc32c.js'));
  fs.mkdirSync(dir, { recursive: true });
  const count = Math.max(1, Math.round(bytes / tensorBytes));
  const elements = tensorBytes / 4;
  const shard = fs.openSync(path.join(dir, 'ckpt-1.data-00000-of-00001'), 'w');
  const entries = [[Buffer.alloc(0), Buffer.from([0x08, 0x01, 0x1a, 0x02, 0x08, 0x01])]]; // num_shards 1, version { producer 1 }
  const keyed = [];
  for (let i = 0; i < count; i++) {
    const w = Buffer.from(weights(elements, i + 1).buffer);
    fs.writeSync(shard, w);
    const shape = [...pbBytes(2, pbVarint(0x08).concat(pbVarint(elements / 1024))), ...pbBytes(2, pbVarint(0x08).concat(pbVarint(1024)))];
    const crc = Buffer.alloc(4);
    crc.writeUInt32LE(maskCrc(crc32c(w)));
    const entry = Buffer.from([0x08, 0x01, ...pbBytes(2, shape), 0x20, ...pbVarint(i * tensorBytes), 0x28, ...pbVarint(tensorBytes), 0x35, ...crc]);
    keyed.push([Buffer.from(`model/layer${String(i).padStart(4, '0')}/kernel/.ATTRIBUTES/VARIABLE_VALUE`), entry]);
  }
  fs.closeSync(shard);
  entries.push(...keyed);
  const block = (kvs) => {
    const parts = [];
    const restarts = [];
    let at = 0;
    let prev = Buffer.alloc(0);
    kvs.forEach(([k, v], i) => {
      let shared = 0;
      if (i % 16 === 0) restarts.push(at);
      else while (shared < Math.min(prev.length, k.length) && prev[shared] === k[shared]) shared++;
      const head = Buffer.from([...pbVarint(shared), ...pbVarint(k.length - shared), ...pbVarint(v.length)]);
      const piece = Buffer.concat([head, k.subarray(shared), v]);
      parts.push(piece);
      at += piece.length;
      prev = k;
    });
    if (restarts.length === 0) restarts.push(0); // an empty block, as LevelDB writes one: one restart at 0
    const tail = Buffer.alloc(4 * restarts.length + 4);
    restarts.forEach((r, i) => tail.writeUInt32LE(r, 4 * i));
    tail.writeUInt32LE(restarts.length, 4 * restarts.length);
    return Buffer.concat([...parts, tail]);
  };
  const out = [];
  let offset = 0;
  const put = (contents) => {
    const handle = { offset, size: contents.length };
    const trailer = Buffer.alloc(5);
    trailer.writeUInt32LE(maskCrc(crc32c(Buffer.from([0]), crc32c(contents))), 1);
    out.push(contents, trailer);
    offset += contents.length + 5;
    return handle;
  };
  const data = put(block(entries));
  const meta = put(block([]));
  const lastKey = entries[entries.length - 1][0];
  const index = put(block([[lastKey, Buffer.from([...pbVarint(data.offset), ...pbVarint(data.size)])]]));
  const footer = Buffer.alloc(48);
  Buffer.from([...pbVarint(meta.offset), ...pbVarint(meta.size), ...pbVarint(index.offset), ...pbVarint(index.size)]).copy(footer);
  Buffer.from([0x57, 0xfb, 0x80, 0x8b, 0x24, 0x75, 0x47, 0xdb]).copy(footer, 40);
  out.push(footer);
  fs.writeFileSync(path.join(dir, 'ckpt-1.index'), Buffer.concat(out));
  return { tensors: count, files: [path.join(dir, 'ckpt-1.index'), path.join(dir, 'ckpt-1.data-00000-of-00001')] };
}

// ---------------------------------------------------------------- Core ML

/** Protobuf encoding, enough for a Core ML Model holding an ML program of const operations. */
function mlVarint(n) {
  const out = [];
  let v = BigInt(n);
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return Buffer.from(out);
}
const pbKey = (no, wire) => mlVarint(no * 8 + wire);
const pbInt = (no, n) => Buffer.concat([pbKey(no, 0), mlVarint(n)]);
const pbLen = (no, ...parts) => {
  const body = Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
  return Buffer.concat([pbKey(no, 2), mlVarint(body.length), body]);
};
const tensorType = (dtype, shape) => pbLen(1, pbInt(1, dtype), pbInt(2, shape.length), ...shape.map((d) => pbLen(3, pbLen(1, pbInt(1, d)))));

/**
 * A `.mlpackage` of `bytes` of fp16 weights in const operations of `tensorBytes` each, their values in
 * `weights/weight.bin` as coremltools' MILBlob writer lays it out (64-byte header, a 64-byte metadata
 * record before each 64-aligned blob): the form coremltools writes every ML program in.
 */
export function writeBenchCoreml(dir, { bytes, tensorBytes = 4 << 20 }) {
  fs.rmSync(dir, { recursive: true, force: true });
  const data = path.join(dir, 'Data', 'com.apple.CoreML');
  fs.mkdirSync(path.join(data, 'weights'), { recursive: true });
  const count = Math.max(1, Math.round(bytes / tensorBytes));
  const cols = 1024;
  const rows = tensorBytes / 2 / cols;
  const fd = fs.openSync(path.join(data, 'weights', 'weight.bin'), 'w');
  const ops = [];
  try {
    const header = Buffer.alloc(64);
    header.writeUInt32LE(count, 0);
    header.writeUInt32LE(2, 4);
    fs.writeSync(fd, header);
    let at = 64;
    for (let i = 0; i < count; i++) {
      const meta = Buffer.alloc(64);
      meta.writeUInt32LE(0xdeadbeef, 0);
      meta.writeUInt32LE(1, 4); // Float16
      meta.writeBigUInt64LE(BigInt(tensorBytes), 8);
      meta.writeBigUInt64LE(BigInt(at + 64), 16);
      fs.writeSync(fd, meta);
      const w = weights(tensorBytes / 2, i + 1);
      const h = new Uint16Array(w.length);
      for (let j = 0; j < w.length; j++) h[j] = f16Bits(w[j]);
      fs.writeSync(fd, new Uint8Array(h.buffer));
      const offset = at;
      at += 64 + tensorBytes;
      const name = `layer_${i}_weight_to_fp16`;
      const type = tensorType(10, [rows, cols]);
      const nameValue = pbLen(2, pbLen(2, pbLen(1, pbInt(1, 2)), pbLen(3, pbLen(1, pbLen(4, pbLen(1, name))))));
      ops.push(
        pbLen(3, pbLen(1, 'const'), pbLen(3, pbLen(1, name), pbLen(2, type)), pbLen(5, pbLen(1, 'name'), nameValue), pbLen(5, pbLen(1, 'val'), pbLen(2, pbLen(2, type), pbLen(5, pbLen(1, '@model_path/weights/weight.bin'), pbInt(2, offset))))),
      );
    }
  } finally {
    fs.closeSync(fd);
  }
  // Program { version 1, functions { "main": Function { opset, block_specializations { "CoreML6": Block { operations } } } } }
  const fn = Buffer.concat([pbLen(2, 'CoreML6'), pbLen(3, pbLen(1, 'CoreML6'), pbLen(2, ...ops))]);
  const program = Buffer.concat([pbInt(1, 1), pbLen(2, pbLen(1, 'main'), pbLen(2, fn))]);
  const model = Buffer.concat([pbInt(1, 7), pbLen(2, pbLen(1, pbLen(1, 'x'))), pbLen(502, program)]);
  fs.writeFileSync(path.join(data, 'model.mlmodel'), model);
  const manifest = {
    fileFormatVersion: '1.0.0',
    itemInfoEntries: { A: { author: 'com.apple.CoreML', description: 'CoreML Model Specification', name: 'model.mlmodel', path: 'com.apple.CoreML/model.mlmodel' } },
    rootModelIdentifier: 'A',
  };
  fs.writeFileSync(path.join(dir, 'Manifest.json'), JSON.stringify(manifest));
  return { tensors: count, files: [path.join(dir, 'Manifest.json'), path.join(data, 'model.mlmodel'), path.join(data, 'weights', 'weight.bin')] };
}

/** A float's IEEE binary16 bits, rounded to nearest even (normal range; bench weights are small and finite). */
function f16Bits(x) {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0];
  const sign = (u >>> 16) & 0x8000;
  const a = u & 0x7fffffff;
  if (a < 0x38800000) return sign; // below fp16's normal range: zero (the bench does not need subnormals)
  return sign | ((a - 0x38000000 + 0xfff + ((a >>> 13) & 1)) >>> 13);
}

/** The shortest decimal text of each float32 weight widened to a double, as PMML and PFA producers print them. */
function decimals(count, seed) {
  return Array.from(weights(count, seed), (x) => String(x));
}

/**
 * A PMML document of about `bytes` of text, in plain JavaScript: 'svm' (a SupportVectorMachineModel
 * whose VectorDictionary holds rows of 1024 numbers in `<Array>`s: bulk numeric text) or 'neural' (a
 * NeuralNetwork of 256 × 256 layers, one `<Con from weight>` element per weight: element-heavy XML).
 */
export function writeBenchPmml(file, { bytes, kind = 'svm' }) {
  const parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4">\n<Header/>\n'];
  let size = 0;
  let tensors = 0;
  if (kind === 'svm') {
    const width = 1024;
    parts.push(`<SupportVectorMachineModel functionName="regression"><VectorDictionary><VectorFields>${Array.from({ length: width }, (_, i) => `<FieldRef field="x${i}"/>`).join('')}</VectorFields>\n`);
    const coefficients = [];
    for (let r = 0; size < bytes; r++) {
      const row = `<VectorInstance id="v${r}"><Array type="real" n="${width}">${decimals(width, r + 1).join(' ')}</Array></VectorInstance>\n`;
      parts.push(row);
      size += row.length;
      coefficients.push(`<SupportVector vectorId="v${r}"/>`);
    }
    parts.push(`</VectorDictionary><SupportVectorMachine><SupportVectors>${coefficients.join('')}</SupportVectors><Coefficients>${coefficients.map((_, i) => `<Coefficient value="${(i % 7) / 8}"/>`).join('')}</Coefficients></SupportVectorMachine></SupportVectorMachineModel>\n`);
    tensors = 4;
  } else {
    const n = 256;
    parts.push(`<NeuralNetwork functionName="regression" activationFunction="tanh"><NeuralInputs>${Array.from({ length: n }, (_, i) => `<NeuralInput id="0.${i}"/>`).join('')}</NeuralInputs>\n`);
    for (let l = 0; size < bytes; l++) {
      const layer = [`<NeuralLayer>`];
      for (let i = 0; i < n; i++) {
        const w = decimals(n, l * n + i + 1);
        layer.push(`<Neuron id="${l + 1}.${i}" bias="${w[0]}">${w.map((x, j) => `<Con from="${l}.${j}" weight="${x}"/>`).join('')}</Neuron>\n`);
      }
      layer.push('</NeuralLayer>\n');
      const text = layer.join('');
      parts.push(text);
      size += text.length;
      tensors += 2;
    }
    parts.push('</NeuralNetwork>\n');
  }
  parts.push('</PMML>\n');
  fs.writeFileSync(file, parts.join(''));
  return { tensors };
}

/** A PFA document (JSON) of about `bytes` of text: cells holding matrices of 256 rows of 1024 numbers, as a linear model's. */
export function writeBenchPfa(file, { bytes }) {
  const cells = [];
  let size = 0;
  for (let c = 0; size < bytes; c++) {
    const rows = Array.from({ length: 256 }, (_, r) => `[${decimals(1024, c * 256 + r + 1).join(',')}]`);
    const cell = `"layer${c}":{"type":{"type":"array","items":{"type":"array","items":"double"}},"init":[${rows.join(',')}]}`;
    cells.push(cell);
    size += cell.length;
  }
  fs.writeFileSync(file, `{"input":{"type":"array","items":"double"},"output":"double","cells":{${cells.join(',')}},"action":[{"a.sum":["input"]}]}\n`);
  return { tensors: cells.length };
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
