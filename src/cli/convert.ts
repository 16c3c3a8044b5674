import * as fs from 'node:fs';
import * as path from 'node:path';
import { inFile, IoError, TensorsafeError } from '../errors.js';
import { makeFolder, namesFolder } from '../node/file-source.js';
import { parseArgs } from 'node:util';
import { batchMarkdown, convertFolder, type BatchBehaviour, type BatchReport } from '../node/batch.js';
import { writeFileAtomicSync } from '../node/atomic-file.js';
import { DEFAULT_OUTPUT, OUTPUT_FORMATS, outputFormatById } from '../convert/outputs.js';
import { convertModel, type ConvertSummary } from '../node/convert.js';
import { formatBytes } from '../util/strings.js';
import { bold, green, plural, red, type Io } from './output.js';
import { ProgressBar } from './progress.js';
import { parseSize } from '../util/sizes.js';
import { EXIT_FINDING, EXIT_OK, exitCodeForCode, exitStatusHelp, worstExit } from './exit-codes.js';
import { parsing, UsageError, type Command } from './usage.js';
import { applyRemoteOptions, REMOTE_HELP, REMOTE_OPTIONS } from './remote-options.js';
import { takeHubReads } from '../node/hub.js';

export const convertCommand: Command = {
  name: 'convert',
  help: `Usage: tensorsafe convert SRC [-o OUT] [--to FORMAT] [--allow-raw]
                        [--max-shard-size SIZE] [--key PATH] [--skip-unknown]
                        [--force] [--sha256] [--dtype f32|f16|bf16]
                        [--dequantize] [--json]
       tensorsafe convert SRC --to gguf [--quantize TYPE] [--arch NAME]
                        [-o OUT] [--force] [--json]
       tensorsafe convert SRC --to tfjs [--quantize uint8|uint16|float16]
                        [--max-shard-size SIZE] [-o OUT] [--force] [--json]
       tensorsafe convert DIR --recursive [--jobs N] [--report FILE.json]
                        [--max-shard-size SIZE] [--key PATH] [--skip-unknown]
                        [--force] [--sha256] [--run] [--json]

Converts a model to safetensors (or NumPy, GGUF or TF.js, --to) without
executing anything in it. The format is found from the bytes: a PyTorch
checkpoint (.bin, .pt, .pth, .ckpt: zip, legacy, tar or TorchScript), NumPy
arrays (.npy, .npz), a GGUF (.gguf: quantized tensors dequantized to F32,
see --dtype), a legacy GGML file, an ONNX model (.onnx, its external data
read from its folder only), a TFLite model (.tflite: quantized tensors kept
as stored, or see --dequantize), a Keras model (.keras, .h5, .weights.h5:
named as Keras names them, dense/kernel), any other HDF5 file (.h5, .hdf5:
every numeric dataset, named by its path), a TF.js model (model.json, or
a bare weights manifest, with its shards), a TensorFlow SavedModel
(saved_model.pb or its folder: its variables) or checkpoint (.index, its
data shards beside it), a Core ML model (.mlmodel, an .mlpackage or
compiled .mlmodelc folder: weights named <layer>.<field> or by the MIL
constant's name), a PMML document (.pmml: network weights,
coefficients, support vectors, cluster centres as F64; no DOCTYPE or entity
is read), a PFA document (JSON or YAML: numeric cells and pools), an MXNet
NDArray file (.params, .nd: sparse arrays densified), a PaddlePaddle state
dict (.pdparams: its NumPy arrays; .pdopt optimizer state is refused) or a
Flax msgpack checkpoint (.msgpack: names are key paths joined with '.').
Each file is parsed once and scanned first; one that would run code is
refused. A pickle is read by a data-only machine: anything that is not plain
data (classes and functions other than the tensor types it understands)
stops the conversion, and anything that could run code is refused outright.
A whole model (torch.save(model)) becomes its state_dict(): a class used only
as module objects is read as data, never imported, and the summary names it.
Then every tensor is streamed to the output, the output is reopened and
compared with the source bit for bit (a dequantized, cast or quantized tensor
with what the decoder or encoder makes of the source: the notes say which),
and only then is it put in place. A refused or failed conversion leaves
nothing behind.

SRC is a model file, a sharded set's index (pytorch_model.bin.index.json),
or a model folder (sharded or not); or an http(s) URL of a TF.js
model.json (with -o: its shards are fetched relative to it, inside its
folder only); or a Hub repository or file (with -o): owner/repo converts
the repository's model (model.safetensors.index.json, pytorch_model.bin,
…, picked as in a folder), read at one pinned commit.

Options:
  -o, --output OUT       for a file: the output file (or a folder for it: an
                         existing one, or a path ending with /, created);
                         for a folder: the output folder. With --to tfjs,
                         any path not ending in .json is a folder.
                         Default: beside the source, with the conventional
                         names (pytorch_model.bin -> model.safetensors,
                         pytorch_model-00001-of-00002.bin ->
                         model-00001-of-00002.safetensors +
                         model.safetensors.index.json)
  --to FORMAT            the output format: safetensors (default), npz (one
                         .npy member per tensor, as numpy.savez writes
                         them) or npy (a model of exactly one tensor).
                         NumPy has no bf16 or float8: such tensors are
                         refused (see --allow-raw), and NumPy files hold
                         no metadata (the notes name the keys not
                         written); or gguf (one GGUF v3 file, as
                         llama.cpp loads it: names kept, at most 4
                         dimensions, names under 64 bytes; F32, F16,
                         BF16, F64, I8, I16, I32 and I64 tensors, other
                         dtypes refused; metadata typed from the source's
                         gguf.types and its <stem>.gguf-metadata.json);
                         or tfjs (model.json, a weights manifest, and
                         shards group1-shard1of2.bin, … of 4MB, or of
                         --max-shard-size; float32, int32, bool and
                         complex64 weights, other dtypes refused)
  --quantize TYPE        with --to gguf: f32, f16 or bf16 (every float
                         tensor), or q8_0, q4_0, q4_k (ggml's reference
                         quantizers, byte for byte): float tensors of 2+
                         dimensions whose rows are whole blocks; 1-D
                         tensors (norms, biases), other rows and integer
                         tensors are written as they are. Quantized
                         tensors are derived (lossy): the check compares
                         the file with the quantizer's output.
                         With --to tfjs: uint8 or uint16 (tfjs-converter's
                         affine quantization, its range nudged to hold 0,
                         its rounding) or float16 (rounded to nearest
                         even), of float32 weights and of float16 ones
                         (widened first, as tfjs-converter does: float16
                         keeps their bits); other weights are written as
                         they are. The check compares with tfjs-core's
                         decoding of the quantizer's output
  --arch NAME            with --to gguf: general.architecture (llama,
                         qwen2, …); required when the source's metadata
                         has no general.architecture
  --allow-raw            with --to npz|npy: store bf16 tensors as <u2 and
                         float8 ones as |u1, their bits unchanged (each is
                         named in the summary), instead of refusing them
  --max-shard-size SIZE  shard the output (also a single input), e.g. 5GB,
                         500MB, 2GiB; with --to tfjs, the shard size
                         (default 4MB: tfjs-converter's
                         --weight_shard_size_bytes), of bytes as written
  --key PATH             where the weights are in a training checkpoint, e.g.
                         state_dict, model, model.ema (found automatically:
                         the checkpoint itself, or state_dict, model,
                         module, …)
  --skip-unknown         keep unknown objects (not dangerous ones) as inert
                         placeholders and convert the tensors beside them
  --force                replace existing outputs, whoever wrote them
  --sha256               also record each source's SHA-256 in the metadata
                         (an audit trail; hashing costs more CPU than the
                         rest of the conversion, so it is off by default;
                         safetensors output only: not with --to npz, npy
                         or gguf)
  --dtype DTYPE          the dtype of dequantized tensors (GGUF's quantized
                         blocks): f32 (default), f16 or bf16, rounded to
                         nearest even from the F32 values, as torch's
                         .to() does; every other tensor keeps its dtype
                         (the summary says how many were cast);
                         safetensors output only
  --dequantize           TFLite: write quantized INT4, INT8, UINT8, INT16 and
                         INT32 constants as F32, (q - zero_point) * scale as
                         TFLite's DEQUANTIZE kernel computes it, per tensor
                         or per axis (default: the stored integers, their
                         scales and zero points in the metadata); Core
                         ML: quantized neural network weights as F32, as
                         coremltools dequantizes them; other formats
                         refuse it
  --json                 print one summary object instead of text
  -h, --help             show this help

Many models at once:
  -r, --recursive        find every model under DIR (files of the formats
                         tensorsafe reads, and sharded sets) and, for each,
                         scan, convert and verify, in parallel worker
                         threads. A model already converted from its current
                         bytes is skipped; a dangerous one is refused, and so
                         is a NumPy object array (its data is a pickle: never
                         read); a broken one fails with its reason. None of
                         these stops the rest. Two models that would share an
                         output name (m.pt and m.bin) both fail
                         (OutputConflict): convert each with -o.
  -j, --jobs N           models converted at once (default: CPUs, at most 4)
  --report FILE.json     write the report: {"models":[{"path","status",
                         "outputs","verified","reason","code","bytesIn",
                         "bytesOut","seconds"}],"summary":{...}}, and
                         FILE.md, a Markdown rendering for a pull-request
                         comment
  --run                  also run each ONNX and TF.js graph model as it is
                         and with its converted weights, and compare the
                         outputs (verify --run): the report's "behaviour"
                         ({"result":"same"|"changed"|"not-run",…}) and its
                         "behaves the same" column. A model whose outputs
                         changed is a finding (exit 1); one whose runtime
                         is not installed (npm install onnxruntime-node,
                         @tensorflow/tfjs) or cannot run it is "not run"

Tied weights (names that are the same view of one storage) are written once:
the alphabetically first name is kept and each removed name is recorded in
the metadata as removed -> kept, as the reference converter does. What is not
a weight (optimizer state, hyperparameters) is listed in the summary.

GGUF metadata: each value goes into the safetensors metadata as a string
(arrays as JSON), and "gguf.types" maps each key to its GGUF type; long
arrays (tokenizer vocabularies, merges, scores) and long strings go into
OUT-STEM.gguf-metadata.json beside the output, written and replaced with it
(the summary names it).

Existing outputs: every output records its sources (file name, size,
modification time; with --sha256 the SHA-256 too) in its metadata under
"tensorsafe.source". When the output already exists, was written by
tensorsafe from a source of that name, and holds exactly what the source
converts to now (compared tensor by tensor, bit for bit), nothing is done
("already converted"); when the source changed, it is converted again; any
other file (written by something else, or converted from another source) is
never replaced without --force.

${REMOTE_HELP}

${exitStatusHelp({ ok: 'converted and verified, or already converted (--recursive: every model)', finding: 'refused (runs code, unknown objects, NumPy object array) or unverified', badInput: 'not convertible (missing, broken, no tensors) or an output in the way' })}

Examples:
  tensorsafe convert pytorch_model.bin
  tensorsafe convert ./my-model/ -o ./my-model-safetensors/
  tensorsafe convert last.ckpt --key state_dict -o model.safetensors
  tensorsafe convert pytorch_model.bin --max-shard-size 2GB --json
  tensorsafe convert ./models --recursive --jobs 4 --report report.json
  tensorsafe convert model.gguf --dtype f16
  tensorsafe convert model.onnx -o model.safetensors
  tensorsafe convert openai-community/gpt2 -o gpt2.safetensors
  tensorsafe convert model.safetensors --to npz
  tensorsafe convert model.safetensors --to gguf --quantize q8_0 --arch llama
  tensorsafe convert model.tflite --dequantize
  tensorsafe convert model.keras --to tfjs --quantize uint8 -o web/`,

  async run(argv: string[], io: Io): Promise<number> {
    const { values, positionals } = parsing(() =>
      parseArgs({
        args: argv,
        options: {
          output: { type: 'string', short: 'o' },
          to: { type: 'string' },
          'max-shard-size': { type: 'string' },
          key: { type: 'string' },
          'skip-unknown': { type: 'boolean' },
          'allow-raw': { type: 'boolean' },
          force: { type: 'boolean' },
          sha256: { type: 'boolean' },
          dtype: { type: 'string' },
          json: { type: 'boolean' },
          recursive: { type: 'boolean', short: 'r' },
          jobs: { type: 'string', short: 'j' },
          report: { type: 'string' },
          run: { type: 'boolean' },
          quantize: { type: 'string' },
          arch: { type: 'string' },
          dequantize: { type: 'boolean' },
          ...REMOTE_OPTIONS,
        },
        allowPositionals: true,
        strict: true,
      }),
    );
    if (positionals.length !== 1) throw new UsageError('convert takes exactly one SRC (a model file, an index or a model folder)');
    applyRemoteOptions(values);
    if (values['max-shard-size'] !== undefined) {
      try {
        parseSize(values['max-shard-size']);
      } catch (e) {
        throw new UsageError(`--max-shard-size: ${(e as Error).message}`);
      }
    }
    if (values.to !== undefined && !outputFormatById(values.to)) {
      throw new UsageError(`--to ${values.to}: the outputs are ${OUTPUT_FORMATS.map((f) => f.id).join(', ')}`);
    }
    const takes = outputFormatById(values.to ?? DEFAULT_OUTPUT.id)!.writerOptions ?? [];
    if (values.quantize !== undefined && !takes.includes('quantize')) {
      throw new UsageError(`--quantize goes with --to gguf or --to tfjs${values.to !== undefined ? `, not --to ${values.to}` : ''}`);
    }
    if (values.arch !== undefined && !takes.includes('arch')) {
      throw new UsageError(`--arch goes with --to gguf${values.to !== undefined ? `, not --to ${values.to}` : ''}`);
    }
    if (values['max-shard-size'] !== undefined && values.to !== undefined && values.to !== DEFAULT_OUTPUT.id && !outputFormatById(values.to)?.defaultShardSize) {
      throw new UsageError(`a ${values.to} output is one file: --max-shard-size does not apply`);
    }
    if (values.sha256 && values.to !== undefined && values.to !== DEFAULT_OUTPUT.id) {
      throw new UsageError(`--sha256 records the sources' digests in safetensors output; --to ${values.to} takes none`);
    }
    if (values.dtype !== undefined) {
      if (!['f32', 'f16', 'bf16'].includes(values.dtype.toLowerCase())) throw new UsageError(`--dtype ${values.dtype}: the dtypes of dequantized tensors are f32, f16 and bf16`);
      if (values.to !== undefined && values.to !== DEFAULT_OUTPUT.id) throw new UsageError(`--dtype chooses the dtype of dequantized tensors in safetensors output; --to ${values.to} takes none`);
      if (values.recursive) throw new UsageError('--dtype goes with one SRC');
    }
    if (values.dequantize && values.recursive) throw new UsageError('--dequantize goes with one SRC (a TFLite model)');
    if (values.recursive && values.to !== undefined && values.to !== DEFAULT_OUTPUT.id) throw new UsageError(`--recursive writes safetensors; --to ${values.to} goes with one SRC`);
    if (values['allow-raw'] && !outputFormatById(values.to ?? DEFAULT_OUTPUT.id)!.writerOptions?.includes('allowRaw')) throw new UsageError('--allow-raw goes with --to npz or --to npy (safetensors holds bf16 and float8 as they are)');
    if (values.recursive) return runBatch(positionals[0]!, values, io);
    if (values.jobs !== undefined || values.report !== undefined) throw new UsageError('--jobs and --report go with --recursive');
    if (values.run) throw new UsageError('--run goes with --recursive (for one model: tensorsafe verify ORIGINAL CONVERTED --run)');
    const bar = new ProgressBar(process.stderr, !values.json && Boolean(process.stderr.isTTY) && !process.env['CI']);
    takeHubReads();
    let summary: ConvertSummary;
    try {
      summary = await convertModel(positionals[0]!, {
        output: values.output,
        to: values.to,
        maxShardSize: values['max-shard-size'],
        key: values.key,
        force: values.force,
        skipUnknown: values['skip-unknown'],
        allowRaw: values['allow-raw'],
        sourceSha256: values.sha256,
        quantize: values.quantize,
        arch: values.arch,
        dtype: values.dtype,
        dequantize: values.dequantize,
        onProgress: (p) => bar.update(p.phase === 'write' ? 'writing  ' : 'verifying', p.bytesDone, p.bytesTotal),
      });
    } catch (e) {
      // An error about the checkpoint's content (its location is an entry, a byte or a tensor) is about
      // SRC: `file` names it. I/O errors keep the path they name (an output, or SRC itself).
      throw e instanceof TensorsafeError && !(e instanceof IoError) ? inFile(e, positionals[0]!) : e;
    } finally {
      bar.done();
    }
    if (values.json) io.out(JSON.stringify(summary));
    else {
      printSummary(summary, io);
      // A Hub source: whether each file came from the local Hugging Face cache or the network.
      for (const line of takeHubReads()) io.out(`note: ${line}`);
    }
    return EXIT_OK;
  },
};

async function runBatch(
  dir: string,
  values: { output?: string; 'max-shard-size'?: string; key?: string; 'skip-unknown'?: boolean; force?: boolean; sha256?: boolean; json?: boolean; jobs?: string; report?: string; run?: boolean },
  io: Io,
): Promise<number> {
  if (values.output !== undefined) throw new UsageError('--recursive writes each model\'s safetensors beside it; -o does not apply');
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new UsageError(`--recursive needs a folder, and ${dir} is not one`);
  const jobs = values.jobs === undefined ? undefined : Number(values.jobs);
  if (jobs !== undefined && (!Number.isInteger(jobs) || jobs < 1)) throw new UsageError(`--jobs must be a positive integer, got ${JSON.stringify(values.jobs)}`);
  // The report's folder is made (or found unusable) before any model is converted, not after.
  if (values.report !== undefined) {
    // The JSON goes to FILE.json and its Markdown rendering beside it, to FILE.md.
    if (!/\.json$/i.test(values.report)) throw new UsageError(`--report takes a .json path (the Markdown table is written beside it, as .md), got ${JSON.stringify(values.report)}`);
    if (namesFolder(values.report)) throw new IoError('IsADirectory', `--report ${values.report} is a folder; name the report file (e.g. report.json)`, { location: values.report });
    makeFolder(path.dirname(values.report));
  }
  const bar = new ProgressBar(process.stderr, !values.json && Boolean(process.stderr.isTTY) && !process.env['CI']);
  let report: BatchReport;
  try {
    report = await convertFolder(dir, {
      jobs,
      maxShardSize: values['max-shard-size'],
      key: values.key,
      force: values.force,
      skipUnknown: values['skip-unknown'],
      sourceSha256: values.sha256,
      run: values.run,
      onProgress: (p) => bar.update(`models ${p.done}/${p.total}`, p.bytesDone, p.bytesTotal, p.done === p.total),
    });
  } finally {
    bar.done();
  }
  if (values.report) {
    writeFileAtomicSync(values.report, [new TextEncoder().encode(JSON.stringify(report, null, 2) + '\n')]);
    const md = values.report.replace(/\.json$/i, '') + '.md';
    writeFileAtomicSync(md, [new TextEncoder().encode(batchMarkdown(report) + '\n')]);
  }
  if (values.json) io.out(JSON.stringify(report));
  else {
    const mark: Record<string, string> = { converted: green(io, '✓ converted'), skipped: '↷ skipped  ', refused: red(io, '⛔ refused  '), failed: red(io, '✗ failed   ') };
    for (const m of report.models) io.out(`${mark[m.status]} ${m.path}${m.reason && m.status !== 'skipped' ? `: ${m.reason}` : ''}${behaviourText(m.behaviour, io)}`);
    const s = report.summary;
    io.out(`${s.models} model${s.models === 1 ? '' : 's'}: ${s.converted} converted, ${s.skipped} skipped, ${s.refused} refused, ${s.failed} failed in ${s.seconds.toFixed(1)}s${values.report ? ` (report: ${values.report})` : ''}`);
  }
  // A refused model is a judgement on its content (1), whatever its code; a failed one says why (3, 70).
  // A model whose outputs changed (--run) is a finding on its conversion.
  return worstExit(report.models.map((m) => (m.behaviour?.result === 'changed' ? EXIT_FINDING : m.status === 'converted' || m.status === 'skipped' ? EXIT_OK : m.status === 'refused' ? EXIT_FINDING : exitCodeForCode(m.code ?? 'InternalError'))));
}

/** `; behaves the same in onnxruntime-node 1.30.0`, `; behaviour changed: logits`, `; behaviour not run: …`. */
function behaviourText(b: BatchBehaviour | undefined, io: Io): string {
  if (!b) return '';
  if (b.result === 'same') return green(io, `; behaves the same in ${b.runtime}`);
  if (b.result === 'changed') return red(io, `; behaviour changed: ${b.outputs?.join(', ') || b.reason}`);
  return `; behaviour not run: ${b.reason}`;
}

function printSummary(s: ConvertSummary, io: Io): void {
  if (s.upToDate) {
    const from = s.sources.map((r) => r.file).join(', ');
    const files = [...s.outputs, ...(s.index ? [s.index] : []), ...s.companions.map((c) => c.file)];
    io.out(`${green(io, '✓')} already converted: ${files.join(', ')} ${files.length === 1 ? 'holds' : 'hold'} exactly what ${from} converts to (checked tensor by tensor, bit for bit); nothing to do (--force converts again)`);
    return;
  }
  io.out(`${green(io, '✓')} converted ${s.inputs.join(', ')} (${s.format}) in ${s.seconds.toFixed(1)}s`);
  for (const o of s.outputs) io.out(`  → ${o}`);
  if (s.index) io.out(`  → ${s.index}`);
  for (const c of s.companions) io.out(`${c.what} (${c.keys.slice(0, 3).join(', ')}${c.keys.length > 3 ? ', …' : ''}) → ${c.file}`);
  io.out(`${plural(s.tensors, 'tensor')}, ${formatBytes(s.bytes)} of tensor data; verified: every tensor equals ${s.derived > 0 || s.notes.some((n) => /\((derived|lossless)/.test(n)) ? 'what the source converts to (see the notes)' : 'the source'}, bit for bit`);
  const removed = Object.entries(s.sharedRemoved);
  if (removed.length > 0) {
    io.out(`${bold(io, 'tied weights')} written once (recorded in the metadata):`);
    for (const [r, k] of removed) io.out(`  ${r} → ${k}`);
  }
  if (s.leftOut.length > 0) {
    io.out(`${bold(io, 'not converted')} (not weights):`);
    for (const l of s.leftOut.slice(0, 30)) io.out(`  ${l.path}: ${l.what}`);
    if (s.leftOut.length > 30) io.out(`  … and ${s.leftOut.length - 30} more (see --json)`);
  }
  for (const n of s.notes) io.out(`note: ${n}`);
}
