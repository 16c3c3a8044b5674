import { TensorsafeError } from '../errors.js';
import { detectContainer } from '../formats/detect.js';
import { DETECT_HEAD_BYTES, MAX_DETECT_JSON_BYTES, type FormatDescriptor } from '../formats/format.js';
import { formatsByExtension, formatsClaiming } from '../formats/registry.js';

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
