import { TensorsafeError } from '../errors.js';
import { detectContainer } from '../formats/detect.js';
import { DETECT_HEAD_BYTES, MAX_DETECT_JSON_BYTES, type FormatDescriptor } from '../formats/format.js';
import { FORMATS, formatsByExtension, formatsClaiming } from '../formats/registry.js';
import { IoError } from '../errors.js';

/**
 * Which files of a folder are models and which are a model's parts, by their names and (for the
 * files that name their parts) their bytes: the rules the CLI's folder discovery (node/model-files.ts,
 * node/batch.ts) and the page's grouping of dropped files (web/worker/models.ts) share. No file access
 * here: callers read the bytes, from disk or from a dropped File.
 */

/** Files of a training folder that are not the model. */
export const NOT_MODELS = /^(optimizer|scheduler|rng_state.*|training_args|trainer_state)\.(pt|pth|bin)$/;
/** In a folder holding several files of one format, the one Hugging Face loaders pick. */
export const CONVENTIONAL_NAMES: ReadonlySet<string> = new Set(['pytorch_model.bin']);
/** A sharded set's index: `<stem><extension>.index.json`, the extension being its shards' format's. */
export const INDEX_SUFFIX = '.index.json';
/** A folder that is one model: a Core ML package, or a compiled Core ML model. */
export const BUNDLE_FOLDER = /\.(mlpackage|mlmodelc)$/i;

/** The format whose extension a file name has (the first in the registry's order), or undefined. */
export function formatOfName(name: string): FormatDescriptor | undefined {
  return formatsByExtension(name)[0];
}

/**
 * The format of a folder entry that is a model file, by its extension: not a sharded set's index, not
 * a training folder's other state (NOT_MODELS). Folder discovery goes by it.
 */
export function modelFileFormat(name: string): FormatDescriptor | undefined {
  return name.endsWith(INDEX_SUFFIX) || NOT_MODELS.test(name) ? undefined : formatOfName(name);
}

/** The format of a sharded set's index by its name (`pytorch_model.bin.index.json`: its shards' extension's), or undefined. */
export function indexFormat(name: string): FormatDescriptor | undefined {
  return name.endsWith(INDEX_SUFFIX) ? formatOfName(name.slice(0, -INDEX_SUFFIX.length)) : undefined;
}

/**
 * Whether a file may name other files as its parts, so that its bytes are worth reading (at most
 * MAX_DETECT_JSON_BYTES): a format that references files by its extension (a TF.js model.json), or
 * any `.json` that is not a sharded index (a bare weights manifest, a model.json saved under another name).
 */
export function mayNameParts(name: string): boolean {
  const byName = modelFileFormat(name);
  return byName?.referencedFiles !== undefined || (name.toLowerCase().endsWith('.json') && !name.endsWith(INDEX_SUFFIX));
}

/**
 * The format of a file that names its parts (by its extension, else by its bytes) and the parts it
 * names, relative to its folder; names that would leave the folder are no parts. Undefined when the
 * file names none (not such a format, or larger than MAX_DETECT_JSON_BYTES).
 */
export function namedParts(name: string, bytes: Uint8Array): { format: FormatDescriptor; parts: string[] } | undefined {
  if (bytes.byteLength > MAX_DETECT_JSON_BYTES) return undefined;
  const byName = modelFileFormat(name);
  const format = byName?.referencedFiles ? byName : jsonFormat(bytes);
  if (format?.referencedFiles === undefined) return undefined;
  return { format, parts: format.referencedFiles(bytes).filter(isInsideFolder) };
}

/** Whether a relative path a model names stays inside its folder: not empty, not absolute, no URL, no `..`, no NUL. */
export function isInsideFolder(relative: string): boolean {
  return relative !== '' && !relative.includes('\0') && !/^[\\/]/.test(relative) && !/^[a-zA-Z]:[\\/]/.test(relative) && !/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(relative) && !relative.split(/[\\/]/).includes('..');
}

/** The format that claims a JSON document's bytes, as the probe of an opened file shows them to detectors. */
export function jsonFormat(bytes: Uint8Array): FormatDescriptor | undefined {
  const head = bytes.subarray(0, DETECT_HEAD_BYTES);
  const container = detectContainer(head, bytes.length);
  const text = container === 'json' ? new TextDecoder().decode(bytes) : undefined;
  return formatsClaiming({ head, size: bytes.length, container, ...(text !== undefined ? { text } : {}) })[0];
}

/**
 * The file (its name inside the folder) that opens a folder which is one model (a bundle): a Core
 * ML `.mlpackage` by its Manifest.json, a compiled `.mlmodelc` by its MIL text `model.mil`. A compiled
 * neural network (no model.mil: `model.espresso.*` and `coremldata.bin`) is refused with
 * CoremlUnsupported. Undefined for any other folder. `names` lists the folder's entries.
 */
export function bundleEntryName(dir: string, names: () => readonly string[]): string | undefined {
  const lower = dir.replace(/[\\/]+$/, '').toLowerCase();
  if (lower.endsWith('.mlpackage')) return 'Manifest.json';
  if (!lower.endsWith('.mlmodelc')) return undefined;
  const entries = names();
  if (entries.includes('model.mil')) return 'model.mil';
  throw new TensorsafeError(
    'CoremlUnsupported',
    `${dir} is a compiled Core ML neural network (${entries.filter((f) => f.startsWith('model.espresso') || f === 'coremldata.bin').join(', ') || 'no model.mil'}): its weights are in Core ML's private compiled form, which tensorsafe does not read; convert the .mlmodel or .mlpackage it was compiled from`,
    { location: dir },
  );
}

/** What a folder's (or a repository's) names make its model: a sharded set's index, or one file; and the format it is by its names. */
export interface ModelChoice {
  format: FormatDescriptor;
  /** The index of a sharded set (a name in the folder). */
  index?: string;
  /** The one file of the model (a name in the folder). */
  file?: string;
}

export interface ChooseModelOptions<M> {
  /** The format that wins when the names hold models of several formats (default: the first in the registry's order). */
  prefer?: string;
  /** A format taken only when the names hold no other (convert: its own output format). */
  avoid?: string;
  /** Files that name their parts, with their format (modelsNamingParts), and those parts (not models of their own). */
  models?: ReadonlyMap<string, FormatDescriptor>;
  parts?: ReadonlySet<string>;
  /** Makes the caller's model of a choice (a local folder opens the index to learn its format from its shards). */
  make: (choice: ModelChoice) => M;
}

/**
 * The model of a folder by its entries' names (the names of one folder, no path): for each format in
 * the registry's order, its sharded set's index, else its one file (the conventional one among
 * several: CONVENTIONAL_NAMES); the preferred format's, else the first that is not avoided. NotFound
 * when the names hold no model, AmbiguousModel when a format has several files and none is
 * conventional. The rule the CLI's folder discovery (node/model-files.ts) and the Hub's repositories
 * (hub/resolve.ts) share.
 */
export function chooseModel<M extends { format: string }>(where: string, names: readonly string[], options: ChooseModelOptions<M>): M {
  const { prefer, avoid, models = new Map(), parts = new Set(), make } = options;
  const entries = names.filter((e) => !parts.has(e));
  const candidates: string[] = [];
  const found = new Map<string, M>();
  for (const format of FORMATS) {
    const index = entries.find((e) => indexFormat(e) === format);
    const files = entries.filter((e) => (models.get(e) ?? modelFileFormat(e)) === format);
    candidates.push(...files);
    const chosen = files.length === 1 ? files[0] : files.find((f) => CONVENTIONAL_NAMES.has(f));
    const model = index ? make({ format, index }) : chosen ? make({ format, file: chosen }) : undefined;
    if (model) found.set(format.id, model);
  }
  const preferred = prefer !== undefined ? found.get(prefer) : undefined;
  const others = [...found.values()].filter((m) => m.format !== avoid);
  // The avoided format (convert's own output) is taken only when the folder holds nothing else: beside
  // other models that cannot be told apart, it is not the answer (they are ambiguous).
  const isAvoided = (file: string): boolean => avoid !== undefined && formatOfName(file)?.id === avoid;
  const onlyAvoided = candidates.every(isAvoided);
  const model = preferred ?? others[0] ?? (avoid !== undefined && onlyAvoided ? found.get(avoid) : undefined);
  if (model) return model;
  const extensions = [...new Set(FORMATS.flatMap((f) => f.extensions))].join(', ');
  const listed = onlyAvoided ? candidates : candidates.filter((c) => !isAvoided(c));
  throw candidates.length === 0
    ? new IoError('NotFound', `${where} holds no model (${extensions})`, { location: where })
    : new IoError('AmbiguousModel', `${where} holds several models (${listed.join(', ')}); name the one to use`, { location: where });
}

/**
 * A folder holding both `X.safetensors` and `X.safetensors.index.json` holds two models under one name:
 * transformers loads the single file, other tools the sharded set. Opening either would be a guess.
 */
export function checkNotShadowed(dir: string, entries: readonly string[]): void {
  for (const index of entries.filter((e) => e.endsWith('.safetensors.index.json'))) {
    const single = index.slice(0, -'.index.json'.length);
    if (entries.includes(single)) {
      throw new IoError('AmbiguousModel', `${dir} holds both ${single} and ${index}, two models under one name (transformers would load ${single}); name the file or index to open`, {
        location: dir,
      });
    }
  }
}
