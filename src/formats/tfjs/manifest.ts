import type { TfjsQuantization } from '../../tensor/tfjs-dequantize.js';
import { TfjsError } from './errors.js';
import { MAX_TFJS_DIMS, MAX_TFJS_NAME_CHARS, MAX_TFJS_SHARDS, MAX_TFJS_WEIGHTS } from './limits.js';

/**
 * A TF.js weights manifest, as tfjs-core's io types define it (tfjs-core/src/io/types.ts): an ordered
 * list of groups, each with `paths` (shard files, relative to the model.json) and `weights` (specs:
 * `name`, `shape`, `dtype`, optional `quantization`). A model.json (layers- or graph-model) holds one
 * as `weightsManifest`; a bare manifest is the JSON array itself. The loader (tfjs-core's http and
 * file handlers) fetches every group's paths in manifest order, concatenates them into one buffer and
 * decodes the weights of all groups in order from it, each right after the one before: packed, with
 * no alignment.
 *
 * The embedded form: tfjs-core's ModelArtifacts saved as one JSON object, `weightSpecs` (the specs of
 * one group) and `weightData` in it as base64 (a string, or an array of strings concatenated in order,
 * as WeightData may be a list of buffers), instead of a manifest of shards: read as one group whose
 * one shard is the decoded data.
 */

export type TfjsDtype = 'float32' | 'int32' | 'bool' | 'complex64' | 'string';
export type { TfjsQuantization };

export interface TfjsWeightSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: TfjsDtype;
  readonly quantization?: TfjsQuantization;
  /** The group it is listed in. */
  readonly group: number;
}

export interface TfjsGroup {
  readonly paths: readonly string[];
  readonly weights: readonly TfjsWeightSpec[];
}

export interface TfjsManifest {
  /** `layers-model`, `graph-model` (from `format`, or from the topology), or `weights manifest` for a bare array. */
  readonly kind: string;
  readonly format?: string;
  readonly generatedBy?: string;
  readonly convertedBy?: string;
  readonly groups: readonly TfjsGroup[];
  /** The embedded form's weightData, base64 (one group, no paths). */
  readonly embedded?: readonly string[];
}

const DTYPES: readonly string[] = ['float32', 'int32', 'bool', 'complex64', 'string'];

/** The manifest of a model.json's text, or a TfjsError (InvalidTfjs, TfjsLimit) naming the file and the field. */
export function parseTfjsManifest(text: string, file: string): TfjsManifest {
  const bad = (what: string): TfjsError => new TfjsError('InvalidTfjs', `${file}: not a readable TF.js model.json: ${what}`, { location: file });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw bad(`not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  let manifest: unknown;
  let kind = 'weights manifest';
  let embedded: string[] | undefined;
  const extra: { format?: string; generatedBy?: string; convertedBy?: string } = {};
  if (Array.isArray(json)) {
    manifest = json;
  } else if (isObject(json)) {
    manifest = json['weightsManifest'];
    if (json['weightSpecs'] !== undefined || json['weightData'] !== undefined) {
      // Which weights would a loader take? Neither is guessed.
      if (manifest !== undefined) throw bad('both a weightsManifest and embedded weightSpecs/weightData');
      embedded = embeddedData(json, bad);
      manifest = [{ paths: [], weights: json['weightSpecs'] }];
    }
    if (manifest === undefined) throw bad('no weightsManifest (nor embedded weightSpecs and weightData)');
    for (const key of ['format', 'generatedBy', 'convertedBy'] as const) if (typeof json[key] === 'string') extra[key] = json[key] as string;
    const topology = json['modelTopology'];
    if (extra.format !== undefined) kind = extra.format;
    else if (isObject(topology)) kind = Array.isArray(topology['node']) ? 'graph-model' : 'layers-model';
    else kind = 'model.json';
  } else {
    throw bad('not a JSON object or array');
  }
  if (!Array.isArray(manifest)) throw bad('weightsManifest is not an array');
  const groups: TfjsGroup[] = [];
  let shards = 0;
  let weights = 0;
  const names = new Set<string>();
  for (const [g, group] of manifest.entries()) {
    const at = `weightsManifest[${g}]`;
    if (!isObject(group)) throw bad(`${at} is not an object`);
    const paths = group['paths'];
    const specs = group['weights'];
    if (!Array.isArray(paths)) throw bad(`${at}.paths is not an array`);
    if (!Array.isArray(specs)) throw bad(`${at}.weights is not an array`);
    shards += paths.length;
    weights += specs.length;
    if (shards > MAX_TFJS_SHARDS) throw new TfjsError('TfjsLimit', `${file}: more than MAX_TFJS_SHARDS (${MAX_TFJS_SHARDS}) shard paths`, { location: file });
    if (weights > MAX_TFJS_WEIGHTS) throw new TfjsError('TfjsLimit', `${file}: more than MAX_TFJS_WEIGHTS (${MAX_TFJS_WEIGHTS}) weights`, { location: file });
    for (const [k, p] of paths.entries()) if (typeof p !== 'string' || p === '') throw bad(`${at}.paths[${k}] is not a non-empty string`);
    const parsed = specs.map((s, w) => weightSpec(s, `${at}.weights[${w}]`, g, file, bad));
    for (const s of parsed) {
      // tfjs-core keeps the last weight of a name (an object keyed by name): two are not one model.
      if (names.has(s.name)) throw bad(`two weights are named ${JSON.stringify(s.name)}`);
      names.add(s.name);
    }
    groups.push({ paths: paths as string[], weights: parsed });
  }
  return { kind, ...extra, groups, ...(embedded ? { embedded } : {}) };
}

/** The embedded form's weightData as base64 strings, or why it is not one. */
function embeddedData(json: Record<string, unknown>, bad: (what: string) => TfjsError): string[] {
  if (!Array.isArray(json['weightSpecs'])) throw bad('embedded weightData without a weightSpecs array');
  const data = json['weightData'];
  const parts = typeof data === 'string' ? [data] : Array.isArray(data) ? data : undefined;
  if (parts === undefined) throw bad(`weightData is ${data === undefined ? 'missing' : 'not a base64 string (nor an array of them)'}: the embedded form holds the weights as base64`);
  for (const [i, p] of parts.entries()) {
    if (typeof p !== 'string' || !BASE64.test(p)) throw bad(`weightData${Array.isArray(data) ? `[${i}]` : ''} is not base64 (A-Z, a-z, 0-9, +, /, padded with = to a multiple of 4)`);
  }
  return parts as string[];
}

/** Standard base64, padded, nothing else (no whitespace, no URL alphabet): what tfjs-core's encoder writes. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The bytes of base64 text (already checked against BASE64). */
export function decodeBase64(text: string): Uint8Array {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

function weightSpec(s: unknown, at: string, group: number, file: string, bad: (what: string) => TfjsError): TfjsWeightSpec {
  if (!isObject(s)) throw bad(`${at} is not an object`);
  const { name, shape, dtype, quantization } = s;
  if (typeof name !== 'string' || name === '') throw bad(`${at}.name is not a non-empty string`);
  if (name.length > MAX_TFJS_NAME_CHARS) throw new TfjsError('TfjsLimit', `${file}: ${at}.name is ${name.length} characters, more than MAX_TFJS_NAME_CHARS (${MAX_TFJS_NAME_CHARS})`, { location: file });
  const where = `${at} (${JSON.stringify(name)})`;
  if (!Array.isArray(shape)) throw bad(`${where}.shape is not an array`);
  if (shape.length > MAX_TFJS_DIMS) throw new TfjsError('TfjsLimit', `${file}: ${where} has ${shape.length} dimensions, more than MAX_TFJS_DIMS (${MAX_TFJS_DIMS})`, { location: file });
  for (const d of shape) if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) throw bad(`${where}.shape has ${JSON.stringify(d)}, not a non-negative integer`);
  if (typeof dtype !== 'string' || !DTYPES.includes(dtype)) throw bad(`${where}.dtype is ${JSON.stringify(dtype)}, not one of ${DTYPES.join(', ')}`);
  const spec = { name, shape: shape as number[], dtype: dtype as TfjsDtype, group };
  // tfjs-core tests `'quantization' in spec`: a null or absent-but-present key is read as quantization too.
  if (!('quantization' in s)) return spec;
  if (!isObject(quantization)) throw bad(`${where}.quantization is not an object`);
  const q = quantization['dtype'];
  if (q === 'float16') {
    if (dtype !== 'float32') throw bad(`${where} is quantized to float16, which tfjs-core decodes for float32 weights only, not ${dtype}`);
    return { ...spec, quantization: { dtype: 'float16' } };
  }
  if (q === 'uint8' || q === 'uint16') {
    if (dtype !== 'float32' && dtype !== 'int32') throw bad(`${where} is quantized to ${q}, which tfjs-core decodes for float32 and int32 weights only, not ${dtype}`);
    const { scale, min } = quantization;
    if (typeof scale !== 'number' || typeof min !== 'number') throw bad(`${where} is quantized to ${q} without numeric scale and min`);
    // JSON has no Infinity, but 1e400 parses to it: every value would decode to ±Infinity or NaN.
    if (!Number.isFinite(scale) || !Number.isFinite(min)) throw bad(`${where} is quantized to ${q} with scale ${scale} and min ${min}: not finite numbers (every value would decode to infinity or NaN)`);
    return { ...spec, quantization: { dtype: q, scale, min } };
  }
  throw bad(`${where}.quantization.dtype is ${JSON.stringify(q)}, not uint8, uint16 or float16`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
