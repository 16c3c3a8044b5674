import * as fs from 'node:fs';
import * as path from 'node:path';
import { TensorsafeError } from '../errors.js';
import { isHttpUrl } from '../io/url-inside.js';
import { MAX_DETECT_JSON_BYTES, type FormatDescriptor } from '../formats/format.js';
import { bundleEntryName, chooseModel, formatOfName, INDEX_SUFFIX, indexFormat, mayNameParts, modelFileFormat, namedParts } from '../model/model-files.js';
import { formatOfFile } from '../model/open-source.js';
import { parseShardIndex } from '../safetensors/sharded.js';
import { fileError, FileSource } from './file-source.js';
import { checkNotShadowed } from './open-path.js';
import type { HubModel } from '../hub/resolve.js';
import { hubReferenceOf, resolveHubTarget } from './hub.js';


/** A model on disk: its format (a registry id), its files (shards in order) and, when sharded, its index. */
export interface ModelFiles {
  /** The registry id of its format (`safetensors`, `pytorch`, …): from the bytes for a named file, from the extensions in a folder. */
  format: string;
  files: string[];
  /** Tensor name → shard file name, for a sharded model. */
  weightMap: ReadonlyMap<string, string> | undefined;
  index: string | undefined;
  /** For a Hub reference: the resolved repository (its files above are its pinned `hf://owner/repo@<commit>/<path>` references). */
  hub?: HubModel;
}

export interface FindModelOptions {
  /** The format that wins in a folder holding models of several formats (default: the first in the registry's order). */
  prefer?: string;
  /** A format taken only when the folder holds no other (convert: its own output format). */
  avoid?: string;
  /**
   * Read a named file's first bytes to find its format (default true). Callers that open the file
   * next (through open-files.ts, which finds the format from the bytes itself) pass false, so that
   * the file is read once: a named file's format is then its extension's (`unknown` for none).
   */
  detect?: boolean;
}

/**
 * What a path names: a model file, a sharded set's index, or a model folder (an index, or the one
 * file of a format: the conventional one when there are several). A named file's format is found
 * from its bytes (formatOfFile); a folder's files are told apart by their extensions.
 */
export async function findModel(target: string, options: FindModelOptions | string = {}): Promise<ModelFiles> {
  const { prefer, avoid, detect = true } = typeof options === 'string' ? { prefer: options } : options;
  // A Hub reference: the repository's model (or the file named), pinned to a commit; a local path of the same name wins.
  const hub = hubReferenceOf(target);
  if (hub) {
    const model = await resolveHubTarget(target, { prefer, avoid });
    return { format: model.format, files: model.files.map((f) => f.reference), weightMap: model.weightMap, index: model.index?.reference, hub: model };
  }
  // A URL is one file (a TF.js model.json: its shards are opened relative to it); its format is found from its bytes when opened.
  if (isHttpUrl(target)) return { format: 'unknown', files: [target], weightMap: undefined, index: undefined };
  let stat: fs.Stats;
  try {
    stat = fs.statSync(target);
  } catch (cause) {
    throw fileError(target, cause);
  }
  if (stat.isDirectory()) {
    const entry = bundleEntry(target);
    return entry !== undefined ? single('coreml', entry) : findInFolder(target, prefer, avoid);
  }
  if (target.endsWith(INDEX_SUFFIX)) return fromIndex(target);
  if (!detect) return single(formatOfName(path.basename(target))?.id ?? 'unknown', target);
  const source = await FileSource.open(target);
  try {
    return { format: (await formatOfFile(source, target)).id, files: [target], weightMap: undefined, index: undefined };
  } finally {
    await source.close();
  }
}

export { formatOfFile };

export { indexFormat, modelFileFormat };

/**
 * The model files of a folder that name other files as their parts (a TF.js model.json, or a bare weights
 * manifest and a model.json saved under another name, `weights_manifest.json`, found by their bytes: a
 * `.json` file is read, at most MAX_DETECT_JSON_BYTES), by name with their format, and the parts they
 * name (their weight shards, resolved in `dir`; names that would leave it are not parts): those are not
 * models of their own, whatever their extension (a shard `.bin` is not a PyTorch checkpoint).
 */
export function modelsNamingParts(dir: string, names: readonly string[]): { models: Map<string, FormatDescriptor>; parts: Set<string> } {
  const models = new Map<string, FormatDescriptor>();
  const parts = new Set<string>();
  for (const name of names) {
    if (!mayNameParts(name)) continue;
    const file = path.join(dir, name);
    let bytes: Uint8Array;
    try {
      const stat = fs.statSync(file);
      if (!stat.isFile() || stat.size > MAX_DETECT_JSON_BYTES) continue;
      bytes = fs.readFileSync(file);
    } catch {
      continue;
    }
    const named = namedParts(name, bytes);
    if (named === undefined) continue;
    models.set(name, named.format);
    for (const p of named.parts) if (!path.isAbsolute(p)) parts.add(path.join(dir, p));
  }
  return { models, parts };
}

function findInFolder(target: string, prefer: string | undefined, avoid: string | undefined): ModelFiles {
  const all = fs.readdirSync(target).sort();
  checkNotShadowed(target, all);
  // A TF.js model's shards are its parts, not models: `group1-shard1of1.bin` beside model.json is no checkpoint.
  const named = modelsNamingParts(target, all);
  const parts = new Set(all.filter((e) => named.parts.has(path.join(target, e))));
  return chooseModel(target, all, {
    prefer,
    avoid,
    models: named.models,
    parts,
    make: (choice) => (choice.index !== undefined ? fromIndex(path.join(target, choice.index)) : single(choice.format.id, path.join(target, choice.file!))),
  });
}

/**
 * The file that opens a folder which is one model (a bundle): a Core ML `.mlpackage` by its
 * Manifest.json, a compiled `.mlmodelc` by its MIL text `model.mil`. A compiled neural network (no
 * model.mil: `model.espresso.*` and `coremldata.bin`) is refused with CoremlUnsupported. Undefined for
 * any other folder.
 */
export function bundleEntry(dir: string): string | undefined {
  const entry = bundleEntryName(dir, () => fs.readdirSync(dir));
  return entry === undefined ? undefined : path.join(dir, entry);
}

function single(format: string, file: string): ModelFiles {
  return { format, files: [file], weightMap: undefined, index: undefined };
}

/** A sharded set: its shards in name order (model-00001-of-…, model-00002-of-…); its format is its shards' extension's. */
function fromIndex(indexPath: string): ModelFiles {
  const index = parseShardIndex(fs.readFileSync(indexPath, 'utf8'), indexPath);
  const dir = path.dirname(indexPath);
  const names = [...new Set(index.weightMap.values())].sort();
  // The shards' format by their extension, else the one the index's name gives; each shard is
  // opened by its own bytes anyway (formatOfFile).
  const byShards = new Set(names.map((n) => formatOfName(n)?.id));
  const shared = byShards.size === 1 ? [...byShards][0] : undefined;
  const format = shared ?? indexFormat(path.basename(indexPath))?.id;
  if (format === undefined) {
    throw new TensorsafeError('NotAModel', `${indexPath} is an index of files of no format tensorsafe reads (${names.slice(0, 3).join(', ')}${names.length > 3 ? ', …' : ''})`, { location: indexPath });
  }
  return { format, files: names.map((f) => path.join(dir, f)), weightMap: index.weightMap, index: indexPath };
}
