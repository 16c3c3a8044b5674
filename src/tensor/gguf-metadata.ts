import { TensorsafeError } from '../errors.js';

/**
 * How GGUF metadata travels through safetensors, shared by the GGUF reader (formats/gguf/) and the
 * GGUF writer (convert/gguf-output.ts), which may not import each other:
 * - each GGUF key kept is a string in `__metadata__`: integers and floats in decimal, BOOL as
 *   `true`/`false`, STRING as it is, arrays as JSON (64-bit integers inside them as JSON strings);
 * - one more key, `gguf.types` (GGUF_TYPES_KEY), is a JSON object mapping those keys to their GGUF
 *   value type: `UINT8` … `FLOAT64`, `BOOL`, `STRING`, arrays as `ARRAY[INT32]`, `ARRAY[ARRAY[STRING]]`;
 * - arrays too large for metadata (vocabularies) go to a sidecar JSON beside the safetensors file,
 *   `<stem>.gguf-metadata.json` (sidecarName): {"format":"tensorsafe-gguf-metadata","version":1,
 *   "keys":{"<key>":{"type":"ARRAY[STRING]","value":[...]}}}, values as JSON in the same encoding.
 * A writer restores each key's type from `gguf.types`; a key without one is a STRING.
 */

/** The metadata key holding every GGUF key's value type. */
export const GGUF_TYPES_KEY = 'gguf.types';
/** The sidecar's `format` and `version`. */
export const GGUF_SIDECAR_FORMAT = 'tensorsafe-gguf-metadata';
export const GGUF_SIDECAR_VERSION = 1;
/** Largest sidecar read: the largest vocabularies (~260k tokens with merges) take tens of MiB of JSON; a larger file would be held in memory whole. */
export const MAX_GGUF_SIDECAR_BYTES = 128 << 20;

/** GGUF's scalar value types, by their id (docs/gguf.md's gguf_type; ARRAY is 9). */
export const GGUF_SCALAR_TYPES = ['UINT8', 'INT8', 'UINT16', 'INT16', 'UINT32', 'INT32', 'FLOAT32', 'BOOL', 'STRING', undefined, 'UINT64', 'INT64', 'FLOAT64'] as const;
export type GgufScalarType = Exclude<(typeof GGUF_SCALAR_TYPES)[number], undefined>;

/** A GGUF value type: a scalar type, or an array of a type. */
export type GgufType = GgufScalarType | { readonly array: GgufType };

/** A value as GGUF holds it: 64-bit integers as bigint, the other numbers as number. */
export type GgufTypedValue = number | bigint | boolean | string | GgufTypedValue[];

/** One GGUF key with its type and value. */
export interface GgufEntry {
  readonly key: string;
  readonly type: GgufType;
  readonly value: GgufTypedValue;
}

/** The sidecar of a safetensors file `<stem>.safetensors`. */
export function sidecarName(stem: string): string {
  return `${stem}.gguf-metadata.json`;
}

/** `ARRAY[INT32]` → {array: 'INT32'}; undefined for a name that is no GGUF type. */
export function parseGgufType(name: string): GgufType | undefined {
  const m = /^ARRAY\[(.*)\]$/.exec(name);
  if (m) {
    const inner = parseGgufType(m[1]!);
    return inner === undefined ? undefined : { array: inner };
  }
  return (GGUF_SCALAR_TYPES as readonly (string | undefined)[]).includes(name) ? (name as GgufScalarType) : undefined;
}

/** The name of a type: {array: 'INT32'} → `ARRAY[INT32]`. */
export function ggufTypeName(type: GgufType): string {
  return typeof type === 'string' ? type : `ARRAY[${ggufTypeName(type.array)}]`;
}

const INT_RANGES: Readonly<Record<string, readonly [bigint, bigint]>> = {
  UINT8: [0n, 255n], INT8: [-128n, 127n], UINT16: [0n, 65535n], INT16: [-32768n, 32767n],
  UINT32: [0n, 4294967295n], INT32: [-2147483648n, 2147483647n], UINT64: [0n, (1n << 64n) - 1n], INT64: [-(1n << 63n), (1n << 63n) - 1n],
};

function invalid(key: string, message: string): TensorsafeError {
  return new TensorsafeError('InvalidMetadata', `GGUF metadata \`${key}\`: ${message}`, { location: key });
}

/** A metadata string as a value of `type` (the encoding above). */
export function valueFromString(key: string, type: GgufType, text: string): GgufTypedValue {
  if (type === 'STRING') return text;
  if (typeof type !== 'string') {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw invalid(key, `typed ${ggufTypeName(type)} but not JSON`);
    }
    return valueFromJson(key, type, json);
  }
  return scalarFrom(key, type, text);
}

/** A JSON value (from an array's JSON or the sidecar) as a value of `type`. */
export function valueFromJson(key: string, type: GgufType, json: unknown): GgufTypedValue {
  if (typeof type !== 'string') {
    if (!Array.isArray(json)) throw invalid(key, `typed ${ggufTypeName(type)} but not a JSON array`);
    return json.map((v) => valueFromJson(key, type.array, v));
  }
  if (type === 'STRING') {
    if (typeof json !== 'string') throw invalid(key, 'a STRING element is not a JSON string');
    return json;
  }
  if (type === 'BOOL') {
    if (typeof json !== 'boolean') throw invalid(key, 'a BOOL element is not true or false');
    return json;
  }
  if (typeof json !== 'number' && typeof json !== 'string') throw invalid(key, `a ${type} element is neither a number nor a string`);
  return scalarFrom(key, type, String(json));
}

function scalarFrom(key: string, type: GgufScalarType, text: string): GgufTypedValue {
  if (type === 'BOOL') {
    if (text !== 'true' && text !== 'false') throw invalid(key, `BOOL is ${JSON.stringify(text.slice(0, 40))}, not true or false`);
    return text === 'true';
  }
  if (type === 'FLOAT32' || type === 'FLOAT64') {
    const v = Number(text);
    if (text.trim() === '' || (Number.isNaN(v) && text !== 'NaN')) throw invalid(key, `${type} is ${JSON.stringify(text.slice(0, 40))}, not a number`);
    return type === 'FLOAT32' ? Math.fround(v) : v;
  }
  if (type === 'STRING') return text;
  const range = INT_RANGES[type]!;
  if (!/^-?\d+$/.test(text)) throw invalid(key, `${type} is ${JSON.stringify(text.slice(0, 40))}, not an integer`);
  const v = BigInt(text);
  if (v < range[0] || v > range[1]) throw invalid(key, `${text} is out of ${type}'s range`);
  return type === 'UINT64' || type === 'INT64' ? v : Number(v);
}

/**
 * The GGUF keys a safetensors metadata map holds under this convention: every key but `gguf.types`
 * and those `skip` names, typed from `gguf.types` (STRING when not listed), in the map's order.
 */
export function entriesFromMetadata(metadata: Readonly<Record<string, string>>, skip: (key: string) => boolean = () => false): GgufEntry[] {
  let types: Record<string, unknown> = {};
  const listed = metadata[GGUF_TYPES_KEY];
  if (listed !== undefined) {
    try {
      const parsed: unknown = JSON.parse(listed);
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      types = parsed as Record<string, unknown>;
    } catch {
      throw invalid(GGUF_TYPES_KEY, 'not a JSON object of key → GGUF type name');
    }
  }
  const out: GgufEntry[] = [];
  for (const [key, text] of Object.entries(metadata)) {
    if (key === GGUF_TYPES_KEY || skip(key)) continue;
    const name = Object.prototype.hasOwnProperty.call(types, key) ? types[key] : 'STRING';
    const type = typeof name === 'string' ? parseGgufType(name) : undefined;
    if (type === undefined) throw invalid(key, `${GGUF_TYPES_KEY} gives it the type ${JSON.stringify(name)}, which is no GGUF value type`);
    out.push({ key, type, value: valueFromString(key, type, text) });
  }
  return out;
}

/** The keys of a sidecar's text (`where` names the file in errors). */
export function entriesFromSidecar(text: string, where: string): GgufEntry[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new TensorsafeError('InvalidMetadata', `${where}: not JSON`, { location: where });
  }
  const d = doc as { format?: unknown; version?: unknown; keys?: unknown };
  if (d === null || typeof d !== 'object' || d.format !== GGUF_SIDECAR_FORMAT || d.version !== GGUF_SIDECAR_VERSION || d.keys === null || typeof d.keys !== 'object' || Array.isArray(d.keys)) {
    throw new TensorsafeError('InvalidMetadata', `${where}: not a ${GGUF_SIDECAR_FORMAT} version ${GGUF_SIDECAR_VERSION} file ({"format","version","keys"})`, { location: where });
  }
  return Object.entries(d.keys as Record<string, unknown>).map(([key, entry]) => {
    const e = entry as { type?: unknown; value?: unknown };
    const type = e !== null && typeof e === 'object' && typeof e.type === 'string' ? parseGgufType(e.type) : undefined;
    if (type === undefined) throw new TensorsafeError('InvalidMetadata', `${where}: key \`${key}\` has no valid GGUF "type"`, { location: where });
    return { key, type, value: valueFromJson(key, type, e.value) };
  });
}

/** A value as its metadata string (the reader's side of the convention). */
export function valueToString(value: GgufTypedValue): string {
  if (Array.isArray(value)) return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  return String(value);
}
