import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { isTensorsafeError, type ErrorCode } from '../errors.js';
import { parseShardIndex } from '../safetensors/sharded.js';
import { DEFAULT_OUTPUT } from '../convert/outputs.js';
import type { FormatDescriptor } from '../formats/format.js';
import { formatById } from '../formats/registry.js';
import { convertModel, outputNameFor, type ConvertOptions, type ConvertSummary } from './convert.js';
import { trackWorkerDir, untrackWorkerDir } from './atomic-file.js';
import { entryKind, firstVisit } from './file-source.js';
import { onInterrupt } from './interrupt.js';
import { indexFormat, modelFileFormat, modelsNamingParts } from './model-files.js';
import { startWorker } from './worker-argv.js';
import { changedOutputs } from '../verify/behaviour.js';
import { verifyBehaviour } from './verify-behaviour.js';

/** One model found under a folder: a model file, or a sharded set by its index. */
export interface FoundModel {
  path: string;
  /** Every file of it (the shards of a set). */
  files: string[];
  /** The safetensors outputs it converts to, beside it (for finding conflicts; a result lists every file written). */
  outputs: string[];
}

export type BatchStatus = 'converted' | 'skipped' | 'refused' | 'failed';

export interface BatchModelResult {
  path: string;
  status: BatchStatus;
  outputs: string[];
  verified: boolean;
  /** Why it was skipped, refused or failed (the error code and message). */
  reason?: string;
  /** The error code of a refused or failed model. */
  code?: ErrorCode;
  bytesIn: number;
  bytesOut: number;
  seconds: number;
  /**
   * With `run`, for a converted model whose format a runtime runs (ONNX, TF.js graph models): whether
   * it behaves the same (verify --run). Absent: not asked, or a format no runtime runs.
   */
  behaviour?: BatchBehaviour;
}

/** `same`: every output identical; `changed`: the outputs that differ; `not-run`: why (no runtime installed, an operator it lacks). */
export interface BatchBehaviour {
  result: 'same' | 'changed' | 'not-run';
  /** The runtime it ran in. */
  runtime?: string;
  /** The outputs that differ (`changed`). */
  outputs?: string[];
  /** Why it changed or was not run, with the error code. */
  reason?: string;
  code?: ErrorCode;
}

export interface BatchReport {
  models: BatchModelResult[];
  summary: { models: number; converted: number; skipped: number; refused: number; failed: number; bytesIn: number; bytesOut: number; seconds: number };
}

export interface BatchOptions extends Pick<ConvertOptions, 'maxShardSize' | 'key' | 'force' | 'skipUnknown' | 'sourceSha256'> {
  /** Models converted at once, each in a worker thread (default: the number of CPUs, at most 4). */
  jobs?: number;
  /**
   * Also run each converted ONNX and TF.js graph model in its runtime, as it is and with the converted
   * weights, and compare the outputs (verify --run): the result's `behaviour`. Asked for, never
   * automatic: it hands every graph to a runtime and takes the time of two runs per model.
   */
  run?: boolean;
  /** Called when a model starts and when it ends, and with the bytes done so far. */
  onProgress?: (p: { done: number; total: number; bytesDone: number; bytesTotal: number; current: string[] }) => void;
}

/** Folders never searched: version control, dependencies, caches. */
const SKIPPED_DIRS = new Set(['.git', 'node_modules', '.cache', '__pycache__', '.venv']);
/** Upper bound on worker threads, whatever --jobs says: each holds a checkpoint's pickle and I/O buffers. */
export const MAX_JOBS = 16;

/** The id of a format the batch converts from (any but the output's own), or undefined. */
function inputId(format: FormatDescriptor | undefined): string | undefined {
  return format !== undefined && format.id !== DEFAULT_OUTPUT.id ? format.id : undefined;
}

/**
 * Every model under a folder: sharded sets (their shards are not models of their own) and single
 * model files of every registered format (by extension), except the output's own (safetensors).
 */
export function findModels(root: string): FoundModel[] {
  const models: FoundModel[] = [];
  const visited = new Set<string>();
  // Files a model names as its parts (TF.js shards, in its folder or below it): not models of their own.
  const parts = new Set<string>();
  const walk = (dir: string): void => {
    // Symbolic links are followed (a Hugging Face snapshot links each file to a blob), each real folder once.
    if (!firstVisit(visited, dir)) return;
    const entries = fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
    const kinds = new Map(entries.map((e) => [e, entryKind(path.join(dir, e.name), e)]));
    const shards = new Set<string>();
    const named = modelsNamingParts(dir, entries.filter((e) => kinds.get(e) === 'file').map((e) => e.name));
    for (const f of named.parts) parts.add(f);
    for (const e of entries) {
      if (kinds.get(e) !== 'file' || inputId(indexFormat(e.name)) === undefined) continue;
      const indexPath = path.join(dir, e.name);
      try {
        const index = parseShardIndex(fs.readFileSync(indexPath, 'utf8'), indexPath);
        const files = [...new Set(index.weightMap.values())].sort().map((f) => path.join(dir, f));
        files.forEach((f) => shards.add(f));
        models.push({ path: indexPath, files, outputs: [path.join(dir, DEFAULT_OUTPUT.indexName('model'))] });
      } catch {
        models.push({ path: indexPath, files: [indexPath], outputs: [] });
      }
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      // A Core ML package or compiled model is a folder that is one model (its coremldata.bin is no .bin
      // checkpoint), converted beside it as `convert DIR` does; a compiled network fails there, saying why.
      if (kinds.get(e) === 'dir' && isBundleName(e.name)) models.push({ path: p, files: bundleFiles(p), outputs: [path.join(dir, outputNameFor(p, DEFAULT_OUTPUT))] });
      else if (kinds.get(e) === 'dir' && !SKIPPED_DIRS.has(e.name) && !e.name.startsWith('.')) walk(p);
      else if (kinds.get(e) === 'file' && !shards.has(p) && !parts.has(p) && inputId(named.models.get(e.name) ?? modelFileFormat(e.name)) !== undefined) {
        models.push({ path: p, files: [p], outputs: [path.join(dir, outputNameFor(p, DEFAULT_OUTPUT))] });
      }
    }
  };
  walk(root);
  return models;
}

/** A folder named as a Core ML package or compiled model (bundleEntry reads it as one model). */
function isBundleName(name: string): boolean {
  return /\.(mlpackage|mlmodelc)$/i.test(name);
}

/** The files of a bundle, for its size: every file in it. */
function bundleFiles(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((f) => path.join(dir, f)).filter((f) => fs.lstatSync(f).isFile());
}

/**
 * Models whose outputs would share a file (`m.pt` and `m.bin` both give `m.safetensors`;
 * `model.pt` and `pytorch_model.bin` both give `model.safetensors`): each is paired with the first
 * other model it collides with. Neither is converted, whatever order the workers would finish in.
 */
export function outputConflicts(models: readonly FoundModel[]): Map<FoundModel, FoundModel> {
  const owner = new Map<string, FoundModel>();
  const conflicts = new Map<FoundModel, FoundModel>();
  for (const m of models) {
    for (const key of m.outputs.map(outputKey)) {
      const other = owner.get(key);
      if (other && other !== m) {
        if (!conflicts.has(m)) conflicts.set(m, other);
        if (!conflicts.has(other)) conflicts.set(other, m);
      } else owner.set(key, m);
    }
  }
  return conflicts;
}

/** Outputs collide by folder and stem: `dir/m.safetensors` and its sharded form `dir/m-0000k-of-…`, `dir/m.safetensors.index.json`. */
function outputKey(output: string): string {
  const base = DEFAULT_OUTPUT.stemOf(path.basename(output)) ?? path.basename(output);
  return path.join(path.dirname(output), base).toLowerCase();
}

/**
 * Codes that mean the model was refused for its content rather than broken: a file that would run
 * code when loaded, and a NumPy object array (its data is a pickle, which np.load(allow_pickle=True)
 * runs; it is never read).
 */
const REFUSED = new Set<ErrorCode>(['UnsafeFile', 'UnsafeGlobal', 'UnsupportedGlobal', 'ObjectArray']);

/** Converts one model (scan, convert, verify); never throws. */
export async function convertOne(model: FoundModel, options: BatchOptions, onBytes?: (done: number) => void): Promise<BatchModelResult> {
  const started = Date.now();
  const bytesIn = sizeOf(model);
  const base = { path: model.path, outputs: [] as string[], verified: false, bytesIn, bytesOut: 0 };
  try {
    const summary: ConvertSummary = await convertModel(model.path, {
      maxShardSize: options.maxShardSize,
      key: options.key,
      force: options.force,
      skipUnknown: options.skipUnknown,
      sourceSha256: options.sourceSha256,
      onProgress: (p) => onBytes?.(p.phase === 'write' ? p.bytesDone : p.bytesTotal),
    });
    // The files written beside the outputs (a GGUF's metadata sidecar) are outputs too: a report lists every file it wrote.
    const outputs = [...summary.outputs, ...(summary.index ? [summary.index] : []), ...summary.companions.map((c) => c.file)];
    const behaviour = options.run ? await behaviourOf(model, summary.index ?? summary.outputs[0]) : undefined;
    const ran = behaviour ? { behaviour } : {};
    if (summary.upToDate) {
      const from = summary.sources.map((r) => r.file).join(', ');
      return { ...base, status: 'skipped', outputs, reason: `already converted: the outputs hold exactly what ${from} converts to (checked bit for bit)`, seconds: (Date.now() - started) / 1000, ...ran };
    }
    const bytesOut = outputs.reduce((n, f) => n + fs.statSync(f).size, 0);
    return { ...base, status: 'converted', outputs, verified: summary.verified, bytesOut, seconds: (Date.now() - started) / 1000, ...ran };
  } catch (e) {
    const code: ErrorCode = isTensorsafeError(e) ? e.code : 'InternalError';
    const message = e instanceof Error ? e.message : String(e);
    // A model with no weights (a TFLite graph of operators only) is not broken: there is nothing to convert.
    const status: BatchStatus = code === 'NoTensors' ? 'skipped' : REFUSED.has(code) ? 'refused' : 'failed';
    return { ...base, status, reason: `${code}: ${message}`, code, seconds: (Date.now() - started) / 1000 };
  }
}

/** The behaviour check of a converted model (verify --run), for a one-file model of a format a runtime runs; never throws. */
async function behaviourOf(model: FoundModel, converted: string | undefined): Promise<BatchBehaviour | undefined> {
  const format = formatOfFound(model.path);
  if (converted === undefined || model.files.length !== 1 || !format || !(await format.load()).runner) return undefined;
  try {
    const r = await verifyBehaviour(model.path, converted);
    const changed = changedOutputs(r);
    return r.ok ? { result: 'same', runtime: r.runtime } : { result: 'changed', runtime: r.runtime, outputs: changed, code: 'BehaviourChanged', reason: `BehaviourChanged: ${changed.join(', ')}` };
  } catch (e) {
    const code: ErrorCode = isTensorsafeError(e) ? e.code : 'InternalError';
    const reason = `${code}: ${e instanceof Error ? e.message : String(e)}`;
    // Weights that do not fit the graph are a changed model; a runtime missing or refusing the graph leaves the question open.
    return code === 'RunWeightMismatch' ? { result: 'changed', code, reason } : { result: 'not-run', code, reason };
  }
}

/**
 * Converts every model under a folder, in worker threads: each is scanned, converted and verified;
 * one already converted, or with no weights to convert, is skipped; a dangerous one is refused; a broken
 * one fails with its reason.
 * None of these stops the rest, and none leaves a partial file.
 */
export async function convertFolder(root: string, options: BatchOptions = {}): Promise<BatchReport> {
  const started = Date.now();
  const models = await convertibleOnly(findModels(root));
  const conflicts = outputConflicts(models);
  const jobs = Math.max(1, Math.min(options.jobs ?? Math.min(os.availableParallelism?.() ?? os.cpus().length, 4), MAX_JOBS, models.length || 1));
  const results: BatchModelResult[] = new Array(models.length);
  const sizes = models.map(sizeOf);
  const bytesTotal = sizes.reduce((a, b) => a + b, 0);
  const bytesBy = new Map<number, number>();
  const current = new Map<number, string>();
  let done = 0;
  const report = (): void =>
    options.onProgress?.({ done, total: models.length, bytesDone: [...bytesBy.values()].reduce((a, b) => a + b, 0), bytesTotal, current: [...current.values()] });
  const workerFile = fileURLToPath(new URL('./batch-worker.js', import.meta.url));
  const useWorkers = jobs > 1 && fs.existsSync(workerFile);
  let next = 0;
  // Workers write beside each model; their temporary files are removed by this thread's exit hook,
  // and an interruption stops them first so that none starts a new one.
  const workers = new Set<Worker>();
  const dirs = useWorkers ? [...new Set(models.map((m) => path.dirname(m.outputs[0] ?? m.path)))] : [];
  dirs.forEach(trackWorkerDir);
  const offInterrupt = useWorkers ? onInterrupt(() => Promise.all([...workers].map((w) => w.terminate())).then(() => undefined)) : undefined;
  const lane = async (): Promise<void> => {
    const worker = useWorkers ? startWorker(workerFile) : undefined;
    if (worker) workers.add(worker);
    try {
      for (;;) {
        const i = next++;
        if (i >= models.length) return;
        const model = models[i]!;
        const clash = conflicts.get(model);
        if (clash) {
          results[i] = conflictResult(model, clash);
          done++;
          report();
          continue;
        }
        current.set(i, model.path);
        report();
        const onBytes = (b: number): void => {
          bytesBy.set(i, Math.min(b, sizes[i]!));
          report();
        };
        results[i] = worker ? await runInWorker(worker, model, options, onBytes) : await convertOne(model, options, onBytes);
        bytesBy.set(i, results[i]!.bytesIn);
        current.delete(i);
        done++;
        report();
      }
    } finally {
      await worker?.terminate();
      if (worker) workers.delete(worker);
    }
  };
  try {
    await Promise.all(Array.from({ length: jobs }, lane));
  } finally {
    offInterrupt?.();
    dirs.forEach(untrackWorkerDir);
  }
  const count = (s: BatchStatus): number => results.filter((r) => r.status === s).length;
  return {
    models: results,
    summary: {
      models: results.length,
      converted: count('converted'),
      skipped: count('skipped'),
      refused: count('refused'),
      failed: count('failed'),
      bytesIn: results.reduce((n, r) => n + r.bytesIn, 0),
      bytesOut: results.reduce((n, r) => n + r.bytesOut, 0),
      seconds: (Date.now() - started) / 1000,
    },
  };
}

/**
 * The models of formats whose reader reads tensors (a format tensorsafe only scans is not a
 * conversion's input). Only the readers of the formats found are loaded.
 */
async function convertibleOnly(models: FoundModel[]): Promise<FoundModel[]> {
  const formatOf = new Map(models.map((m) => [m, inputId(formatOfFound(m.path))!]));
  const readable = new Set<string>();
  for (const id of new Set(formatOf.values())) if ((await formatById(id)!.load()).open) readable.add(id);
  return models.filter((m) => readable.has(formatOf.get(m)!));
}

/** A found model's format, as findModels found it: by its name, or for a `.json` that names parts, by its bytes. */
function formatOfFound(file: string): FormatDescriptor | undefined {
  const name = path.basename(file);
  if (isBundleName(name)) return formatById('coreml');
  return indexFormat(name) ?? modelFileFormat(name) ?? modelsNamingParts(path.dirname(file), [name]).models.get(name);
}

/** The bytes of a model's files that exist (a shard its index names may be missing: it fails later, by name). */
function sizeOf(model: FoundModel): number {
  return model.files.reduce((n, f) => n + (fs.existsSync(f) ? fs.statSync(f).size : 0), 0);
}

function conflictResult(model: FoundModel, other: FoundModel): BatchModelResult {
  const bytesIn = sizeOf(model);
  const shared = model.outputs.find((o) => other.outputs.some((p) => outputKey(p) === outputKey(o))) ?? model.outputs[0]!;
  return {
    path: model.path,
    status: 'failed',
    outputs: [],
    verified: false,
    code: 'OutputConflict',
    reason: `OutputConflict: ${model.path} and ${other.path} would both be converted to ${shared}; neither was converted (convert each with -o to its own name)`,
    bytesIn,
    bytesOut: 0,
    seconds: 0,
  };
}

/** The batch's message protocol with its workers. */
export type WorkerRequest = { model: FoundModel; options: Omit<BatchOptions, 'onProgress'> };
export type WorkerMessage = { kind: 'bytes'; done: number } | { kind: 'result'; result: BatchModelResult };

function runInWorker(worker: Worker, model: FoundModel, options: BatchOptions, onBytes: (b: number) => void): Promise<BatchModelResult> {
  return new Promise((resolve) => {
    const onMessage = (m: WorkerMessage): void => {
      if (m.kind === 'bytes') onBytes(m.done);
      else {
        worker.off('message', onMessage);
        worker.off('error', onError);
        resolve(m.result);
      }
    };
    const onError = (e: Error): void => {
      worker.off('message', onMessage);
      resolve({ path: model.path, status: 'failed', outputs: [], verified: false, code: 'InternalError', reason: `worker crashed: ${e.message}`, bytesIn: 0, bytesOut: 0, seconds: 0 });
    };
    worker.on('message', onMessage);
    worker.once('error', onError);
    const { onProgress: _unused, ...plain } = options;
    const request: WorkerRequest = { model, options: plain };
    worker.postMessage(request);
  });
}

/** The report as Markdown, for a pull-request comment. */
export function batchMarkdown(report: BatchReport): string {
  const s = report.summary;
  const ok = s.refused === 0 && s.failed === 0;
  const icon: Record<BatchStatus, string> = { converted: '✅', skipped: '⏭️', refused: '⛔', failed: '❌' };
  const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;
  // The column of the behaviour check, when it was asked for (convert --recursive --run).
  const ran = report.models.some((m) => m.behaviour !== undefined);
  const behaves = (m: BatchModelResult): string =>
    !m.behaviour ? '–' : m.behaviour.result === 'same' ? 'yes' : m.behaviour.result === 'changed' ? `**no**: ${(m.behaviour.outputs ?? []).map((o) => `\`${o}\``).join(', ') || m.behaviour.code}` : `not run (${m.behaviour.code})`;
  return [
    `### ${ok ? '✅' : '❌'} tensorsafe: ${s.models} model${s.models === 1 ? '' : 's'}: ${s.converted} converted, ${s.skipped} skipped, ${s.refused} refused, ${s.failed} failed`,
    '',
    `| model | status | verified |${ran ? ' behaves the same |' : ''} in | out | seconds | outputs / reason |`,
    `|---|---|---|${ran ? '---|' : ''}---|---|---|---|`,
    ...report.models.map(
      (m) =>
        `| \`${m.path}\` | ${icon[m.status]} ${m.status} | ${m.verified ? 'yes' : '–'} |${ran ? ` ${behaves(m)} |` : ''} ${mb(m.bytesIn)} | ${m.bytesOut ? mb(m.bytesOut) : '–'} | ${m.seconds.toFixed(1)} | ${
          m.reason ? m.reason.replace(/\|/g, '\\|').slice(0, 300) : m.outputs.map((o) => `\`${path.basename(o)}\``).join(', ')
        } |`,
    ),
  ].join('\n');
}
