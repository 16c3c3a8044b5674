import { IoError, isTensorsafeError, TensorsafeError } from '../../errors.js';
import type { Finding, ScanReport } from '../../formats/findings.js';
import { MAX_DETECT_JSON_BYTES } from '../../formats/format.js';
import { formatById, formatsByExtension } from '../../formats/registry.js';
import { BlobSource } from '../../io/byte-source.js';
import { HttpSource } from '../../io/http-source.js';
import { openModelSource, openModelUrl, UnsafeFileError, type OpenedFile, type OpenFileOptions } from '../../model/open-source.js';
import { BUNDLE_FOLDER, bundleEntryName, INDEX_SUFFIX, mayNameParts, namedParts } from '../../model/model-files.js';
import { checkShards } from '../../model/shards.js';
import { MAX_INDEX_BYTES, parseShardIndex } from '../../safetensors/sharded.js';
import { scanSource } from '../../scan/scan.js';
import type { TensorEntry } from '../../tensor/tensor-set.js';
import type { ModelSummary, PickedFile, TensorColumns } from '../protocol.js';
import { baseOf, dirName, DroppedFiles, joinPath } from './dropped-files.js';
import { ReadAheadSource } from './read-ahead.js';
import { explainUrlFailure } from './url-errors.js';

/** A model the worker holds open for later jobs (a tensor's values, a conversion, a comparison). */
export interface OpenModel {
  readonly summary: ModelSummary;
  readonly opened: readonly OpenedFile[];
  /** Its sharded index's tensor → file map, when it came from one. */
  readonly weightMap?: ReadonlyMap<string, string>;
  /** Every tensor, in file order. */
  readonly entries: readonly TensorEntry[];
  /** For each opened file, the dropped File (absent for a URL). */
  readonly sources: readonly (File | undefined)[];
  /** What was dropped with it, for a job that opens its files again or reads a file beside it (a conversion's --dequantize, its GGUF sidecar). */
  readonly dropped?: DroppedFiles;
  /** Opens one of its remote files again with other options (a conversion's --dequantize): a Hub model's through the Hub, with its token; else by URL. */
  readonly reopenRemote?: (file: string, options: OpenFileOptions) => Promise<OpenedFile>;
}

/** How the dropped files make models: a bundle folder, a sharded index, a file naming its parts, or one file. */
interface Candidate {
  readonly name: string;
  /** Paths of the files opened as the model's own (shards in order), in the dropped folder. */
  readonly files: string[];
  readonly weightMap?: ReadonlyMap<string, string>;
  /** Shown only when it is a model: a folder's config.json is not worth a card. */
  readonly quietIfNotModel: boolean;
  /** Why it cannot be opened, found while grouping (an unreadable index, a compiled Core ML network). */
  readonly failure?: unknown;
}


let nextId = 0;

/**
 * Opens what was dropped as models, each through the registry as the CLI opens a file (its format
 * from its bytes, parsed once, scanned with that parse, refused when dangerous). A file another model
 * reads as its part (a shard, external data, a package's blob) is not a model of its own.
 */
export async function openDropped(picked: readonly PickedFile[], onProgress: (done: number, total: number, detail: string) => void): Promise<OpenModel[]> {
  const dropped = new DroppedFiles(picked);
  const candidates = await groupDropped(dropped);
  // The files read as another model's parts (ONNX external data named by its model, not by its name).
  const consumed = new Set<string>();
  const models: OpenModel[] = [];
  let done = 0;
  for (const c of candidates) {
    onProgress(done++, candidates.length, c.name);
    if (c.files.length > 0 && c.files.every((f) => consumed.has(f))) continue;
    const model = await openCandidate(dropped, c, (path) => consumed.add(path));
    if (model.summary.error?.code === 'NotAModel' && c.quietIfNotModel) {
      await closeModel(model);
      continue;
    }
    models.push(model);
  }
  onProgress(done, candidates.length, '');
  // A file read as another model's part after it was shown as a model of its own (a data file before its ONNX model) is only a part.
  const kept: OpenModel[] = [];
  for (const m of models) {
    if (m.summary.files.every((f) => consumed.has(f.name)) && !m.weightMap && !isOwnBundle(m)) await closeModel(m);
    else kept.push(m);
  }
  return kept;
}

function isOwnBundle(m: OpenModel): boolean {
  return BUNDLE_FOLDER.test(m.summary.name);
}

/** Opens a model from a URL: read lazily with range requests; the files it names are URLs beside it. */
export async function openUrl(url: string): Promise<OpenModel> {
  const sources = [undefined];
  try {
    const opened = await openModelUrl(url, { scan: true });
    return modelOf(url, [opened], sources);
  } catch (caught) {
    const e = await explainUrlFailure(url, caught);
    // A server that failed to answer is not asked again: its file is scanned only when its bytes were readable.
    const unreadable = e instanceof IoError;
    return failedModel(url, [{ name: url, size: 0 }], e, unreadable ? undefined : async () => {
      const source = await HttpSource.open(url);
      try {
        return await scanSource(source);
      } finally {
        await source.close();
      }
    });
  }
}

export async function closeModel(model: OpenModel): Promise<void> {
  await Promise.all(model.opened.map((o) => o.tensors.close()));
}

/**
 * Groups what was dropped into models by the CLI's folder rules (model/model-files.ts): a Core ML
 * bundle folder is one model; a sharded set's index opens its shards; a file that names its parts
 * (a TF.js model.json) opens them; every other file is a model of its own. The parts are no models.
 */
async function groupDropped(dropped: DroppedFiles): Promise<Candidate[]> {
  const paths = dropped.paths;
  const parts = new Set<string>();
  const bundles: Candidate[] = [];
  const indexes: Candidate[] = [];
  const naming: Candidate[] = [];
  const singles: Candidate[] = [];
  const bundleRoots = new Set<string>();
  for (const p of paths) {
    const segments = p.split('/');
    const at = segments.findIndex((s) => BUNDLE_FOLDER.test(s));
    if (at >= 0) bundleRoots.add(segments.slice(0, at + 1).join('/'));
  }
  for (const root of [...bundleRoots].sort()) {
    const inside = paths.filter((p) => p.startsWith(`${root}/`));
    for (const p of inside) parts.add(p);
    try {
      const entry = bundleEntryName(root, () => inside.filter((p) => dirName(p) === root).map(baseOf));
      bundles.push({ name: root, files: [joinPath(root, entry!)], quietIfNotModel: false });
    } catch (e) {
      bundles.push({ name: root, files: [], failure: e, quietIfNotModel: false });
    }
  }
  for (const p of paths) {
    if (parts.has(p) || !p.endsWith(INDEX_SUFFIX)) continue;
    const file = dropped.get(p)!;
    if (file.size > MAX_INDEX_BYTES) continue; // opened as a file of its own below, which says why
    parts.add(p);
    try {
      const index = parseShardIndex(await file.text(), p);
      const shards = [...new Set(index.weightMap.values())].sort().map((s) => joinPath(dirName(p), s));
      for (const s of shards) parts.add(s);
      indexes.push({ name: p, files: shards, weightMap: index.weightMap, quietIfNotModel: false });
    } catch (e) {
      indexes.push({ name: p, files: [], failure: e, quietIfNotModel: false });
    }
  }
  for (const p of paths) {
    if (parts.has(p) || !mayNameParts(baseOf(p))) continue;
    const file = dropped.get(p)!;
    if (file.size > MAX_DETECT_JSON_BYTES) continue;
    const named = namedParts(baseOf(p), new Uint8Array(await file.arrayBuffer()));
    if (named === undefined) continue;
    for (const r of named.parts) parts.add(joinPath(dirName(p), r));
    naming.push({ name: p, files: [p], quietIfNotModel: false });
  }
  const named = new Set(naming.map((n) => n.name));
  const folderOfMany = paths.length > 1;
  for (const p of paths) {
    if (parts.has(p) || named.has(p)) continue;
    // In a dropped folder, files no format names by their extension (README.md, config.json) say nothing unless their bytes are a model's.
    singles.push({ name: p, files: [p], quietIfNotModel: folderOfMany && formatsByExtension(baseOf(p)).length === 0 });
  }
  return [...bundles, ...indexes, ...naming, ...singles];
}

async function openCandidate(dropped: DroppedFiles, c: Candidate, onSibling: (path: string) => void): Promise<OpenModel> {
  const opened: OpenedFile[] = [];
  const files = c.files.map((p) => ({ name: p, size: dropped.get(p)?.size ?? 0 }));
  if (c.failure !== undefined) return failedModel(c.name, files, c.failure, undefined);
  let current = c.files[0]!;
  try {
    for (const p of c.files) {
      current = p;
      const file = dropped.get(p);
      if (file === undefined) throw new TensorsafeError('NotFound', `${p} (named by ${c.name}) was not dropped: drop the whole folder`, { location: p });
      opened.push(await openModelSource(new ReadAheadSource(file, p), p, { openSibling: (relative) => dropped.openSibling(p, relative, onSibling), dir: dirName(p) || '.' }, { scan: true }));
    }
    if (c.weightMap) checkShards(c.name, c.weightMap, opened);
    return { ...modelOf(c.name, opened, c.files.map((p) => dropped.get(p)), c.weightMap), dropped };
  } catch (e) {
    await Promise.all(opened.map((o) => o.tensors.close()));
    const file = dropped.get(current);
    return failedModel(c.name, files, e, file === undefined ? undefined : () => scanSource(new BlobSource(file, current), { dir: dirName(current) || '.' }), current);
  }
}

export function modelOf(name: string, opened: OpenedFile[], sources: (File | undefined)[], weightMap?: ReadonlyMap<string, string>): OpenModel {
  const entries = opened.flatMap((o) => o.tensors.tensors);
  const fileOf = new Uint32Array(entries.length);
  let k = 0;
  opened.forEach((o, i) => {
    fileOf.fill(i, k, k + o.tensors.tensors.length);
    k += o.tensors.tensors.length;
  });
  const findings = opened.flatMap((o) => (o.report?.findings ?? []).map((f) => ({ ...f, file: o.file })));
  const format = opened[0]!.format;
  const metadata: Record<string, string> = Object.create(null);
  for (const o of opened) for (const [key, v] of Object.entries(o.tensors.metadata ?? {})) if (!Object.hasOwn(metadata, key)) metadata[key] = v;
  const refused = opened.find((o) => o.tensors.notConvertible)?.tensors.notConvertible;
  const summary: ModelSummary = {
    id: `m${++nextId}`,
    name,
    files: opened.map((o) => ({ name: o.file, size: o.size })),
    size: opened.reduce((n, o) => n + o.size, 0),
    format: format.id,
    formatName: format.name,
    verdict: worst(opened.map((o) => o.report?.verdict ?? 'safe')),
    findings,
    metadata,
    tensors: columnsOf(entries, fileOf),
    notes: [...new Set(opened.flatMap((o) => o.tensors.notes))],
    leftOut: opened.flatMap((o) => o.tensors.leftOut.map((l) => ({ path: l.path, what: l.what }))),
    convertible: refused === undefined && entries.length > 0,
  };
  return { summary, opened, entries, sources, ...(weightMap ? { weightMap } : {}) };
}

/** A model that could not be opened: why, and what the scan says of the file that failed (a dangerous file is refused as such). */
export async function failedModel(name: string, files: { name: string; size: number }[], e: unknown, scan: (() => Promise<ScanReport>) | undefined, failedFile = name): Promise<OpenModel> {
  const error = isTensorsafeError(e) ? { code: e.code, message: e.message } : { code: 'InternalError', message: e instanceof Error ? e.message : String(e) };
  let report: ScanReport | undefined = e instanceof UnsafeFileError ? e.report : undefined;
  if (report === undefined && scan !== undefined) {
    try {
      report = await scan();
    } catch {
      report = undefined;
    }
  }
  const findings: (Finding & { file: string })[] = (report?.findings ?? []).map((f) => ({ ...f, file: failedFile }));
  // The registry's format when the file was detected before it was refused (the report names its container: `pytorch-zip`).
  const format = e instanceof UnsafeFileError && e.format ? e.format : report ? formatById(report.format) : undefined;
  const summary: ModelSummary = {
    id: `m${++nextId}`,
    name,
    files,
    size: files.reduce((n, f) => n + f.size, 0),
    format: format?.id ?? report?.format ?? '',
    formatName: format?.name ?? (report?.format ? report.format : 'not a model file'),
    // The scan's verdict, as `tensorsafe scan` gives it, whenever the file could be scanned: a reader's refusal (no tensors, an object array) is said beside it.
    verdict: report?.verdict ?? 'error',
    findings,
    metadata: {},
    tensors: columnsOf([], new Uint32Array(0)),
    notes: [],
    leftOut: [],
    error,
    convertible: false,
  };
  return { summary, opened: [], entries: [], sources: [] };
}

function worst(verdicts: readonly string[]): ModelSummary['verdict'] {
  for (const v of ['dangerous', 'error', 'suspicious'] as const) if (verdicts.includes(v)) return v;
  return 'safe';
}

function columnsOf(entries: readonly TensorEntry[], fileOf: Uint32Array): TensorColumns {
  const n = entries.length;
  const params = new Float64Array(n);
  const bytes = new Float64Array(n);
  const names = new Array<string>(n);
  const dtypes = new Array<string>(n);
  const dimStart = new Uint32Array(n + 1);
  let rank = 0;
  for (let i = 0; i < n; i++) rank += entries[i]!.shape.length;
  const dims = new Float64Array(rank);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const e = entries[i]!;
    names[i] = e.name;
    dtypes[i] = e.dtype;
    dimStart[i] = at;
    let p = 1;
    for (const d of e.shape) {
      dims[at++] = d;
      p *= d;
    }
    params[i] = p;
    bytes[i] = e.byteLength;
  }
  dimStart[n] = at;
  return { names, dtypes, dims, dimStart, params, bytes, fileOf };
}
