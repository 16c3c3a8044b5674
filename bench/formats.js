// Benchmarks of the TensorFlow-world formats (issue 12): `convert` to safetensors (parse, write, and
// the output read back and compared with the source bit for bit) against copying the same source bytes
// with fs.copyFileSync in the same run, for TFLite (a real model of the shared corpus, a generated
// FLOAT32 one, an INT8 one with --dequantize), TF.js (float32 and uint8-quantized graph models),
// a TensorFlow checkpoint, HDF5 / Keras (generic datasets contiguous and deflated, a legacy Keras .h5),
// Core ML (an .mlpackage of fp16 blobs) and TorchScript (a scripted module saved by torch.jit.save)
// MXNet, PaddlePaddle and Flax when this build has their readers, and PMML and PFA (decimal text). The models are
// generated here (bench/format-files.js), never committed.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { compare, ensureTmp, fmtMB, fmtMs, ratio, verdict, ROOT } from './lib.js';
import { writeBenchCoreml, writeBenchHdf5, writeBenchMxnet, writeBenchPfa, writeBenchPickledOrMsgpack, writeBenchPmml, writeBenchTfCheckpoint, writeBenchTflite, writeBenchTfjs, writeBenchTorchScript } from './format-files.js';

const { convertModel } = await import(path.join(ROOT, 'dist/node/convert.js'));
const CORPUS_TFLITE = path.join(ROOT, '..', 'shared', 'corpus', 'formats', 'tflite', 'tflite-micro', 'mobilenet_v2_quantized_1x3x224x224.tflite');

const sizeOf = (files) => files.reduce((a, f) => a + fs.statSync(f).size, 0);

export async function run({ sizeMiB = 128, runs = 5 } = {}) {
  const tmp = path.join(ensureTmp(), 'formats');
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  const bytes = sizeMiB * 2 ** 20;
  const rows = [];
  const cases = [];
  const skip = (name, why) => rows.push([name, why, '–', '–', '–']);

  if (fs.existsSync(CORPUS_TFLITE)) {
    const src = path.join(tmp, 'mobilenet_v2.tflite');
    fs.copyFileSync(CORPUS_TFLITE, src);
    cases.push({ name: 'TFLite: MobileNet v2 int8 (shared corpus, inline buffers)', input: 'tflite-micro\'s `mobilenet_v2_quantized_1x3x224x224.tflite`: 127 constants, per-axis scales of 106 kept as metadata (an 830 KiB header)', src, files: [src], runs: runs * 3, note: 'for reference (a small file: fixed costs dominate)' });
  } else skip('TFLite: MobileNet v2 int8 (shared corpus)', `${CORPUS_TFLITE} is absent`);

  // A quantized model's output is 4× its input: it is also measured against converting the float
  // model of the same output size (`peer`), which isolates the cost of dequantizing.
  let peer;
  for (const int8 of [false, true]) {
    const name = int8 ? 'TFLite: INT8 per-axis, `--dequantize`' : 'TFLite: FLOAT32';
    const src = path.join(tmp, int8 ? 'int8.tflite' : 'f32.tflite');
    const made = writeBenchTflite(src, { bytes: int8 ? bytes / 4 : bytes, int8 });
    if (made.skipped) skip(name, made.skipped);
    else {
      const what = int8 ? `${made.tensors} INT8 tensors of 4 MiB, one scale per row → F32 (4× the bytes)` : `${made.tensors} FLOAT32 tensors of 4 MiB`;
      cases.push({ name, input: `${what}, buffers placed by offset/size (flatc)`, src, files: [src], options: int8 ? { dequantize: true } : {}, target: int8 ? undefined : 2, peer: int8 ? peer : undefined });
      if (!int8) peer = { name: 'the FLOAT32 model', src };
    }
  }

  for (const uint8 of [false, true]) {
    const dir = path.join(tmp, uint8 ? 'tfjs-uint8' : 'tfjs-f32');
    const made = writeBenchTfjs(dir, { bytes, uint8 });
    const what = uint8 ? `${made.tensors} float32 weights quantized to uint8 (dequantized to F32: 4× the bytes)` : `${made.tensors} float32 weights`;
    cases.push({ name: `TF.js: ${uint8 ? 'uint8-quantized' : 'float32'} graph model`, input: `${what}, model.json and ${made.files.length - 1} shards of 4 MB`, src: made.files[0], files: made.files, target: uint8 ? undefined : 2, peer: uint8 ? peer : undefined });
    if (!uint8) peer = { name: 'the float32 model', src: made.files[0] };
  }

  {
    const made = await writeBenchTfCheckpoint(path.join(tmp, 'tf-checkpoint'), { bytes });
    cases.push({ name: 'TensorFlow checkpoint (tensor bundle)', input: `${made.tensors} float32 variables of 4 MiB under TF2 keys, ckpt-1.index and one data shard (every tensor's CRC-32C checked)`, src: made.files[0], files: made.files, target: 2 });
  }

  {
    const made = writeBenchCoreml(path.join(tmp, 'model.mlpackage'), { bytes });
    cases.push({ name: 'Core ML: `.mlpackage` ML program', input: `${made.tensors} fp16 const blobs of 4 MiB in weights/weight.bin (MILBlob layout)`, src: path.join(tmp, 'model.mlpackage'), files: made.files, target: 2 });
  }

  let contiguous;
  for (const [kind, name, ext] of [['generic', 'HDF5: contiguous datasets', 'h5'], ['chunked', 'HDF5: chunked, deflated (level 1)', 'h5'], ['keras', 'Keras 2 legacy `.h5`', 'h5']]) {
    const src = path.join(tmp, `${kind}.${ext}`);
    const made = writeBenchHdf5(src, { bytes, kind });
    if (made.skipped) {
      skip(name, made.skipped);
      continue;
    }
    const chunked = kind === 'chunked';
    cases.push({
      name,
      input: `${made.tensors} float32 datasets of 4 MiB (h5py${chunked ? ': chunks of 64 × 1024, gzip level 1' : ''})`,
      src,
      files: [src],
      target: chunked ? undefined : 2,
      note: chunked ? 'for reference (inflating costs CPU)' : undefined,
      peer: chunked && contiguous ? { name: 'the contiguous file', src: contiguous, why: 'the cost of inflating the chunks (twice: once written, once to compare the output with)' } : undefined,
      optional: true,
    });
    if (kind === 'generic') contiguous = src;
  }

  {
    const src = path.join(tmp, 'scripted.pt');
    const made = writeBenchTorchScript(src, { bytes });
    const name = 'TorchScript: scripted module (`torch.jit.save`)';
    if (made.skipped) skip(name, made.skipped);
    else cases.push({ name, input: `${made.tensors} float32 tensors (Linear weights of 4 MiB, BatchNorm buffers) named by state_dict from the code/ declarations`, src, files: [src], target: 2, optional: true });
  }

  // The declarative formats hold decimal text (about 20 bytes a number, 8 once read as float64): their
  // inputs are a quarter of the others', and the ratio is for reference (parsing text, not moving bytes).
  for (const [kind, name, input] of [['svm', 'PMML: SupportVectorMachineModel', 'rows of 1024 decimals in `<Array>` elements'], ['neural', 'PMML: NeuralNetwork', 'layers of 256 × 256 `<Con>` elements, one per weight']]) {
    const src = path.join(tmp, `${kind}.pmml`);
    const made = writeBenchPmml(src, { bytes: bytes / 4, kind });
    cases.push({ name, input: `${made.tensors} tensors from ${input}`, src, files: [src], note: 'for reference (decimal text parsed into float64)' });
  }
  {
    const src = path.join(tmp, 'linear.pfa');
    const made = writeBenchPfa(src, { bytes: bytes / 4 });
    cases.push({ name: 'PFA: JSON cells', input: `${made.tensors} cells of 256 × 1024 decimals`, src, files: [src], note: 'for reference (decimal text parsed into float64)' });
  }
  {
    const src = path.join(tmp, 'model-0000.params');
    const made = writeBenchMxnet(src, { bytes });
    cases.push({ name: 'MXNet `.params`', input: `${made.tensors} float32 NDArrays (V2) of 4 MiB, \`arg:\` names`, src, files: [src], target: 2, optional: true });
  }
  for (const [kind, name, file, what] of [['paddle', 'PaddlePaddle `.pdparams`', 'model.pdparams', 'float32 arrays of 4 MiB, pickle protocol 4 (paddle.save)'], ['flax', 'Flax `.msgpack`', 'checkpoint.msgpack', 'float32 array extensions of 4 MiB (flax.serialization.to_bytes)']]) {
    const src = path.join(tmp, file);
    const made = writeBenchPickledOrMsgpack(src, { bytes, kind });
    if (made.skipped) skip(name, made.skipped);
    else cases.push({ name, input: `${made.tensors} ${what}`, src, files: [src], target: 2, optional: true });
  }

  for (const c of cases) {
    const out = path.join(tmp, 'out.safetensors');
    const copies = path.join(tmp, 'copies');
    const clean = () => {
      fs.rmSync(out, { force: true });
      fs.rmSync(copies, { recursive: true, force: true });
      fs.mkdirSync(copies);
      execFileSync('sync');
    };
    const convert = () => convertModel(c.src, { output: out, force: true, ...c.options });
    clean();
    try {
      await convert(); // warms the page cache, and tells whether this build reads the format
    } catch (e) {
      if (!c.optional) throw e;
      skip(c.name, `not converted by this build: ${String(e.message).split('\n')[0].slice(0, 140)}`);
      continue;
    }
    const outBytes = fs.statSync(out).size;
    const copy = () => c.files.forEach((f, i) => fs.copyFileSync(f, path.join(copies, `${i}-${path.basename(f)}`)));
    const convertPeer = () => convertModel(c.peer.src, { output: out, force: true });
    const [tCopy, tConvert, tPeer] = await compare(c.runs ?? runs, c.peer ? [copy, convert, convertPeer] : [copy, convert], clean);
    clean();
    const r = tConvert / tCopy;
    rows.push([
      `${c.name}: convert vs \`fs.copyFileSync\` of its files`,
      `${c.input}; ${fmtMB(sizeOf(c.files))} in, ${fmtMB(outBytes)} of safetensors out`,
      `${fmtMs(tConvert)} vs ${fmtMs(tCopy)}`,
      ratio(r),
      c.note ?? (c.target === undefined ? 'for reference (the output is larger than the input)' : verdict(r, c.target)),
    ]);
    if (c.peer) {
      rows.push([`${c.name}: convert vs converting ${c.peer.name} (the same output size)`, c.peer.why ?? 'the cost of dequantizing (twice: once written, once to compare the output with)', `${fmtMs(tConvert)} vs ${fmtMs(tPeer)}`, ratio(tConvert / tPeer), 'for reference']);
    }
  }
  fs.rmSync(tmp, { recursive: true, force: true });
  return [
    '## TensorFlow formats: convert vs copy',
    '',
    'Each model converted to safetensors (the output read back and compared with the source before it is committed) against `fs.copyFileSync` of the same source files; median of alternated runs, `sync` before each, on the disk.',
    '',
    '| benchmark | input | time | ratio | target |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}
