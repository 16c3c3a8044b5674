import { parseArgs } from 'node:util';
import { elementCount } from '../dtype/tensor.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { inFile, IoError, TensorsafeError } from '../errors.js';
import { isHttpUrl } from '../io/url-inside.js';
import { findModel } from '../node/model-files.js';
import { openModel } from '../node/open-model.js';
import { safeOpen } from '../node/open-path.js';
import { hubReferenceOf, takeHubReads } from '../node/hub.js';
import { applyRemoteOptions, REMOTE_HELP, REMOTE_OPTIONS } from './remote-options.js';
import type { FormatView } from '../formats/format.js';
import type { TensorSet } from '../tensor/tensor-set.js';
import { SafetensorsFile, type SafetensorsHandle } from '../safetensors/reader.js';
import { ShardedSafetensors } from '../safetensors/sharded.js';
import { formatBytes } from '../util/strings.js';
import { bold, dim, grouped, table, type Io } from './output.js';
import { EXIT_OK, exitStatusHelp } from './exit-codes.js';
import { parsing, UsageError, type Command } from './usage.js';

export const inspectCommand: Command = {
  name: 'inspect',
  help: `Usage: tensorsafe inspect [--json] FILE|INDEX|DIR|URL

Shows metadata and a table of tensors (name, dtype, shape, bytes) with totals
by dtype, for a model of any format tensorsafe reads (safetensors, PyTorch
checkpoints, …: the format is found from the bytes), and the format's own
view where it has one (GGUF: version, byte order, alignment, metadata with
types, tensor types; ONNX: ir_version, opsets, producer, graph counts,
external data; NumPy: each array's dtype, byte order, order, shape, format
version; legacy GGML: magic, version, hparams, vocabulary, tensor types;
TFLite: schema version, operators, subgraphs, quantized and sparse tensors;
Keras: version, container, layout, model class, layers, custom objects;
HDF5: superblock, groups, datasets, layouts, filters, root attributes;
TF.js: kind, generatedBy, groups, shards, weights by quantization;
TensorFlow: kind, index, byte order, shards, object graph, SavedModel meta
graphs, ops; Core ML: form, specification version, model types, functions,
MIL operations; PMML: version, application, models; PFA: syntax, name,
types, cells, pools; MXNet: versions, storage types, contexts; PaddlePaddle:
protocol, numpy dtypes; Flax: collections, dtypes).
Only the structure is read, never tensor data, so this is instant even for
huge files and costs one or two range requests for a URL. A file that is
not safetensors is scanned first and refused when it would run code;
nothing in it is run. Accepts a file, a sharded set's index, a folder
holding a model, or an http(s) URL of a safetensors file or index or of a
TF.js model.json (its shards fetched relative to it, inside its folder),
or a Hub file or repository (its model: "hub" says the commit it was read
at, and for each file whether it came from the local Hugging Face cache or
the network).

Options:
  --json      print one JSON object:
                {"file","format","size","headerLength","shards","metadata",
                 "tensors":[{"name","dtype","shape","bytes","offsets","shard"}],
                 "totals":{"tensors","parameters","bytes","byDtype":{…}}}
              (offsets and headerLength for safetensors; "leftOut" and
              "notes" for formats whose files hold more than tensors;
              "view":[{"title","rows":[{"key","value"}]}] for formats
              with a view of their own: GGUF, ONNX, NumPy, legacy GGML,
              TFLite, Keras, HDF5, TF.js, TensorFlow, Core ML, PMML, PFA;
              "hub":{"repo","revision","commit","read":[…]} for the Hub)
  -h, --help  show this help

${REMOTE_HELP}

${exitStatusHelp({ ok: 'shown', finding: 'refused: the file would run code when loaded', badInput: 'the file missing, unreadable or not a valid model (the code says why)' })}

Examples:
  tensorsafe inspect model.safetensors
  tensorsafe inspect pytorch_model.bin
  tensorsafe inspect model.gguf
  tensorsafe inspect --json model.safetensors.index.json | jq .totals
  tensorsafe inspect https://huggingface.co/gpt2/resolve/main/model.safetensors
  tensorsafe inspect openai-community/gpt2
  tensorsafe inspect hf://openai-community/gpt2@main/model.safetensors`,

  async run(argv: string[], io: Io): Promise<number> {
    const { values, positionals } = parsing(() => parseArgs({ args: argv, options: { json: { type: 'boolean' }, ...REMOTE_OPTIONS }, allowPositionals: true, strict: true }));
    if (positionals.length !== 1) throw new UsageError('inspect takes exactly one FILE, INDEX, DIR or URL');
    applyRemoteOptions(values);
    const target = positionals[0]!;
    // An error about the model's content (its location an entry, a byte, a tensor) names the file
    // inspected (error.file under --json), as convert's does; I/O errors keep the path they name.
    const report = await inspectTarget(target).catch((e: unknown) => Promise.reject(e instanceof TensorsafeError && !(e instanceof IoError) ? inFile(e, target) : e));
    if (values.json) io.out(JSON.stringify(report));
    else printReport(report, io);
    return EXIT_OK;
  },
};

interface DtypeTotal {
  tensors: number;
  parameters: number;
  bytes: number;
}

export interface InspectReport {
  file: string;
  /** `safetensors`, `safetensors-sharded`, or the format and container a reader found (`pytorch-zip`, …). */
  format: string;
  size?: number;
  headerLength?: number;
  shards?: string[];
  metadata: Record<string, string> | null;
  tensors: { name: string; dtype: string; shape: number[]; bytes: number; offsets?: [number, number]; shard?: string }[];
  totals: DtypeTotal & { byDtype: Record<string, DtypeTotal> };
  /** What the file held besides the tensors (formats whose files hold more: a training checkpoint). */
  leftOut?: { path: string; what: string }[];
  notes?: string[];
  /** The format's own view (GGUF, ONNX, NumPy, legacy GGML): titled sections of key-value rows; a sharded set's sections name their file. */
  view?: FormatView;
  /** A Hub target: the revision asked for, the commit it was read at, and where each file was read from (the local cache or the network). */
  hub?: { repo: string; revision: string; commit: string; read: string[] };
}

/**
 * A URL, or a model whose format is safetensors (its registry id), is shown by the safetensors layer
 * (src/safetensors/: header, offsets);
 * a model of any other registered format through openModel (found from its bytes, scanned, parsed once).
 */
async function inspectTarget(target: string): Promise<InspectReport> {
  if (hubReferenceOf(target)) return inspectHub(target);
  // A URL of another format (a TF.js model.json) is opened through the registry, its shards relative to it.
  const url = isHttpUrl(target);
  if (url ? /\.safetensors(\.index\.json)?$/i.test(new URL(target).pathname) : (await findModel(target)).format === 'safetensors') {
    const handle = await safeOpen(target);
    try {
      return describe(target, handle);
    } finally {
      await handle.close();
    }
  }
  const set = await openModel(target);
  try {
    return describeSet(target, set, set.model.files, set.model.weightMap, set.views(), set.sizes);
  } finally {
    await set.close();
  }
}

/**
 * A Hub reference: resolved once (its commit pinned, its model's files picked), then opened by its
 * pinned references, so that no further request asks what a branch points to.
 */
async function inspectHub(target: string): Promise<InspectReport> {
  const model = await findModel(target);
  const hub = model.hub!;
  takeHubReads();
  const opens = model.index ?? model.files[0]!;
  let report: InspectReport;
  if (model.format === 'safetensors') {
    const handle = await safeOpen(opens);
    try {
      report = describe(target, handle);
    } finally {
      await handle.close();
    }
  } else {
    const set = await openModel(opens);
    try {
      report = describeSet(target, set, set.model.files, set.model.weightMap, set.views(), set.sizes);
    } finally {
      await set.close();
    }
  }
  return { ...report, hub: { repo: hub.repo, revision: hub.revision, commit: hub.commit, read: [...hub.notes, ...takeHubReads()] } };
}

/** Any TensorSet: names, dtypes, shapes, sizes, and what the file held besides. */
export function describeSet(target: string, set: TensorSet, files: readonly string[], weightMap?: ReadonlyMap<string, string>, views: readonly { file: string; view: FormatView }[] = [], sizes?: readonly number[]): InspectReport {
  const sharded = files.length > 1;
  const view = views.flatMap((v) => (sharded ? v.view.map((s) => ({ ...s, title: `${s.title} (${path.basename(v.file)})` })) : v.view));
  const tensors = set.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: [...t.shape], bytes: t.byteLength, ...(sharded && weightMap?.has(t.name) ? { shard: weightMap.get(t.name)! } : {}) }));
  return {
    file: target,
    format: set.format,
    size: sizes ? sizes.reduce((n, b) => n + b, 0) : files.reduce((n, f) => n + fs.statSync(f).size, 0),
    ...(sharded ? { shards: files.map((f) => path.basename(f)) } : {}),
    metadata: set.metadata ?? null,
    tensors,
    totals: totalsOf(tensors),
    ...(set.leftOut.length > 0 ? { leftOut: set.leftOut.map((l) => ({ path: l.path, what: l.what })) } : {}),
    ...(set.notes.length > 0 ? { notes: [...set.notes] } : {}),
    ...(views.length > 0 ? { view } : {}),
  };
}

function totalsOf(tensors: readonly { dtype: string; shape: readonly number[]; bytes: number }[]): InspectReport['totals'] {
  const byDtype: Record<string, DtypeTotal> = {};
  const totals = { tensors: 0, parameters: 0, bytes: 0 };
  for (const t of tensors) {
    const d = (byDtype[t.dtype] ??= { tensors: 0, parameters: 0, bytes: 0 });
    const elements = elementCount(t.shape);
    for (const acc of [d, totals]) {
      acc.tensors++;
      acc.parameters += elements;
      acc.bytes += t.bytes;
    }
  }
  return { ...totals, byDtype };
}

export function describe(target: string, handle: SafetensorsHandle): InspectReport {
  const sharded = handle instanceof ShardedSafetensors ? handle : undefined;
  const tensors = handle.keys().map((name) => {
    const t = handle.info(name);
    return {
      name,
      dtype: t.dtype,
      shape: [...t.shape],
      bytes: t.byteLength,
      offsets: [t.dataOffsets[0], t.dataOffsets[1]] as [number, number],
      ...(sharded ? { shard: sharded.index.weightMap.get(name)! } : {}),
    };
  });
  const file = handle instanceof SafetensorsFile ? handle : undefined;
  return {
    file: target,
    format: sharded ? 'safetensors-sharded' : 'safetensors',
    ...(file ? { size: file.source.size, headerLength: file.header.headerLength } : {}),
    ...(sharded ? { shards: [...sharded.shards.keys()] } : {}),
    metadata: handle.metadata(),
    tensors,
    totals: totalsOf(tensors),
  };
}

function printReport(r: InspectReport, io: Io): void {
  const where =
    r.size === undefined ? `${r.shards?.length ?? 0} shards` : r.headerLength === undefined ? `${formatBytes(r.size)}${r.shards ? `, ${r.shards.length} shards` : ''}` : `${formatBytes(r.size)}, header ${formatBytes(r.headerLength)}`;
  io.out(`${bold(io, r.file)}  ${dim(io, `(${r.format}, ${where})`)}`);
  // A format's own view shows its metadata in its own terms (GGUF's keys with their types): not twice.
  if (r.view) printView(r.view, io);
  else if (r.metadata === null || Object.keys(r.metadata).length === 0) {
    io.out('metadata: none');
  } else {
    io.out('metadata:');
    for (const [k, v] of Object.entries(r.metadata)) io.out(`  ${k}: ${v.length > 200 ? v.slice(0, 200) + '…' : v}`);
  }
  io.out(`tensors: ${grouped(r.totals.tensors)}, parameters: ${grouped(r.totals.parameters)}, data: ${formatBytes(r.totals.bytes)}`);
  if (r.tensors.length > 0) {
    io.out('');
    const head = ['name', 'dtype', 'shape', 'bytes', ...(r.shards ? ['shard'] : [])];
    const rows = r.tensors.map((t) => [t.name, t.dtype, `[${t.shape.join(', ')}]`, formatBytes(t.bytes), ...(t.shard ? [t.shard] : [])]);
    const lines = table([head, ...rows], [false, false, false, true, false]);
    io.out(bold(io, lines[0]!));
    for (const line of lines.slice(1)) io.out(line);
    io.out('');
    io.out('by dtype:');
    const dt = Object.entries(r.totals.byDtype).map(([d, t]) => [d, plural(t.tensors, 'tensor'), plural(t.parameters, 'parameter'), formatBytes(t.bytes)]);
    for (const line of table(dt, [false, true, true, true])) io.out('  ' + line);
  }
  if (r.leftOut && r.leftOut.length > 0) {
    io.out('');
    io.out('not tensors:');
    for (const l of r.leftOut.slice(0, 30)) io.out(`  ${l.path}: ${l.what}`);
    if (r.leftOut.length > 30) io.out(`  … and ${r.leftOut.length - 30} more (see --json)`);
  }
  for (const n of r.notes ?? []) io.out(`note: ${n}`);
  if (r.hub) {
    io.out(`hub: ${r.hub.repo}@${r.hub.revision} read at commit ${r.hub.commit}`);
    for (const line of r.hub.read) io.out(`  ${line}`);
  }
}

/** The format's own view: each section a title and its rows, keys aligned; an empty section says so. */
function printView(view: FormatView, io: Io): void {
  for (const section of view) {
    io.out(`${section.title}:${section.rows.length === 0 ? ' none' : ''}`);
    for (const line of table(section.rows.map((row) => [printable(row.key), printable(row.value)]), [false, false])) io.out(`  ${line}`);
  }
}

/** Text from a file, safe on a terminal: control characters (escape sequences, line breaks) shown escaped. */
function printable(text: string): string {
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function plural(n: number, word: string): string {
  return `${grouped(n)} ${word}${n === 1 ? '' : 's'}`;
}
