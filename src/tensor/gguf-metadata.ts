import { TensorsafeError } from '../errors.js';
import { GGUF_VALUE_TYPES } from './gguf-types.js';

/**
 * How GGUF metadata is kept in safetensors: the one convention that the GGUF reader writes
 * (GGUF → safetensors) and the GGUF writer reads back (safetensors → GGUF). Both import it from here.
 *
 * - Each key-value pair is a string in `__metadata__` under its own key, and `gguf.types` (GGUF_TYPES_KEY)
 *   is a JSON object mapping each of those keys to its GGUF type name: UINT8, INT8, UINT16, INT16, UINT32,
 *   INT32, UINT64, INT64, FLOAT32, FLOAT64, BOOL, STRING, and for arrays `ARRAY[<element type>]`
 *   (`ARRAY[INT32]`, `ARRAY[ARRAY[STRING]]`).
 * - Scalars as text: integers in decimal; BOOL `true`/`false`; STRING as it is; FLOAT32 the shortest
 *   decimal that reads back as the same float32, FLOAT64 the shortest that reads back as the same double
 *   (`-0`, `NaN`, `Infinity`, `-Infinity` as written).
 * - Arrays as JSON: 8- to 32-bit integers as numbers, 64-bit integers as strings (JSON numbers lose
 *   them), floats as numbers printed as above (non-finite ones as the strings "NaN", "Infinity",
 *   "-Infinity": JSON has no such numbers), BOOL as true/false, strings as strings, arrays nested.
 * - Values too large for a header (arrays of more than MAX_GGUF_METADATA_ARRAY elements: tokenizer
 *   vocabularies, merges, scores; strings of more than MAX_GGUF_METADATA_STRING bytes) go into a
 *   sidecar beside the output, `<output stem>.gguf-metadata.json` (GGUF_SIDECAR_SUFFIX):
 *   `{"format":"tensorsafe-gguf-metadata","version":1,"source":"<source file name>","keys":{"<key>":{"type":"ARRAY[STRING]","value":[...]}}}`,
 *   each value in the JSON form above (a string as a JSON string). A key is in one place, never both.
 */

/** A GGUF metadata value: integers of up to 32 bits and floats as numbers, 64-bit integers as bigints. */
export type GgufMetadataValue = number | bigint | boolean | string | GgufMetadataValue[];

/** The `__metadata__` key that holds the GGUF type of every other GGUF key there. */
export const GGUF_TYPES_KEY = 'gguf.types';
/** What a sidecar's name ends with: `model` → `model.gguf-metadata.json`. */
export const GGUF_SIDECAR_SUFFIX = '.gguf-metadata.json';
/** The sidecar's `format` and `version`. */
export const GGUF_SIDECAR_FORMAT = 'tensorsafe-gguf-metadata';
export const GGUF_SIDECAR_VERSION = 1;

/** Elements of an array value kept in `__metadata__`; longer ones (vocabularies) go to the sidecar. */
export const MAX_GGUF_METADATA_ARRAY = 64;
/** Bytes of a string value kept in `__metadata__` (chat templates are a few KiB); longer ones go to the sidecar. */
export const MAX_GGUF_METADATA_STRING = 64 * 1024;
/**
 * Bytes of one sidecar, written or read: its values are held in memory (a header can declare gigabytes
 * of them), and reading one back parses it whole, at several times its size. The largest vocabularies
 * with their merges and scores take some 30 MiB of JSON.
 */
export const MAX_GGUF_SIDECAR_BYTES = 64 * 1024 * 1024;

/** The scalar type names: GGUF's value types but ARRAY. */
const SCALAR_TYPES: ReadonlySet<string> = new Set(GGUF_VALUE_TYPES.filter((t) => t !== 'ARRAY'));
/** A type name: a scalar's, or `ARRAY[<element type name>]`. */
export type GgufTypeName = string;

/** Array nesting read back from a type name (the reader's MAX_GGUF_ARRAY_DEPTH is smaller). */
const MAX_TYPE_DEPTH = 16;

const INT_RANGE: Readonly<Record<string, readonly [number, number]>> = {
  UINT8: [0, 0xff], INT8: [-0x80, 0x7f], UINT16: [0, 0xffff], INT16: [-0x8000, 0x7fff], UINT32: [0, 0xffffffff], INT32: [-0x80000000, 0x7fffffff],
};
const INT64_RANGE: Readonly<Record<string, readonly [bigint, bigint]>> = { UINT64: [0n, (1n << 64n) - 1n], INT64: [-(1n << 63n), (1n << 63n) - 1n] };

/** The type name of a value type, or of an array of `element` (itself a type name). */
export function ggufArrayType(element: GgufTypeName): GgufTypeName {
  return `ARRAY[${element}]`;
}

/** The element type of an array type name, or undefined for a scalar type. */
export function ggufElementType(type: GgufTypeName): GgufTypeName | undefined {
  return type.startsWith('ARRAY[') && type.endsWith(']') ? type.slice(6, -1) : undefined;
}

/** Whether `type` is a type name of this convention. */
export function isGgufTypeName(type: string): boolean {
  let t = type;
  for (let depth = 0; depth <= MAX_TYPE_DEPTH; depth++) {
    const inner = ggufElementType(t);
    if (inner === undefined) return SCALAR_TYPES.has(t);
    t = inner;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Numbers as text
// ---------------------------------------------------------------------------------------------

/**
 * The shortest decimal that reads back (as a double rounded to float32) as `x`, a float32 value; of two
 * equally short ones, the nearer, and of two equally near, the one ending in an even digit (as numpy's
 * Dragon4 and Ryu choose).
 */
export function float32Text(x: number): string {
  if (!Number.isFinite(x) || x === 0) return float64Text(x);
  const sign = x < 0 ? '-' : '';
  const a = Math.abs(x);
  // The exact decimal expansion of a float32 (toExponential is exact up to its 100 digits).
  const [mantissa, exp] = a.toExponential(100).split('e') as [string, string];
  const digits = mantissa.replace('.', '');
  for (let p = 1; p <= 9; p++) {
    const down = BigInt(digits.slice(0, p));
    const rest = digits.slice(p);
    const e = Number(exp) - (p - 1);
    const read = (m: bigint): number => Number(`${m}e${e}`);
    // The p-digit decimals around x are `down` and `down + 1`: the nearer first (a tie: the even one).
    const half = /^50*$/.test(rest);
    const upFirst = half ? (down & 1n) === 1n : rest > '5';
    const order = upFirst ? [down + 1n, down] : [down, down + 1n];
    for (const m of order) {
      if (m === 0n) continue;
      const v = read(m);
      if (Math.fround(v) === a) return sign + float64Text(v);
    }
  }
  return sign + float64Text(a); // unreachable: 9 digits always read back
}

/** The shortest decimal that reads back as the double `x` (JavaScript's own), with `-0` kept. */
export function float64Text(x: number): string {
  return Object.is(x, -0) ? '-0' : String(x);
}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

/** A value as the text `__metadata__` holds: a scalar's text, an array's JSON. */
export function ggufValueText(type: GgufTypeName, value: GgufMetadataValue): string {
  if (ggufElementType(type) !== undefined) return ggufValueJson(type, value);
  switch (type) {
    case 'FLOAT32':
      return float32Text(value as number);
    case 'FLOAT64':
      return float64Text(value as number);
    default:
      return String(value);
  }
}

/** A value as JSON text (an array's `__metadata__` string, a sidecar value). */
export function ggufValueJson(type: GgufTypeName, value: GgufMetadataValue): string {
  const element = ggufElementType(type);
  if (element !== undefined) {
    const parts: string[] = [];
    for (const v of value as GgufMetadataValue[]) parts.push(ggufValueJson(element, v));
    return `[${parts.join(',')}]`;
  }
  switch (type) {
    case 'STRING':
      return JSON.stringify(value);
    case 'UINT64':
    case 'INT64':
      return `"${String(value)}"`;
    case 'FLOAT32':
    case 'FLOAT64': {
      const x = value as number;
      if (!Number.isFinite(x)) return `"${String(x)}"`;
      return type === 'FLOAT32' ? float32Text(x) : float64Text(x);
    }
    default:
      return String(value);
  }
}

/** The `gguf.types` value: key → type name. */
export function ggufTypesText(types: Readonly<Record<string, GgufTypeName>>): string {
  return JSON.stringify(types);
}

/** The sidecar's opening, up to the first key: what a writer puts before the `"<key>":{"type":…,"value":…}` members. */
export function ggufSidecarHead(source: string): string {
  return `{"format":${JSON.stringify(GGUF_SIDECAR_FORMAT)},"version":${GGUF_SIDECAR_VERSION},"source":${JSON.stringify(source)},"keys":{`;
}

/** One member of the sidecar's `keys` (without the separating comma). */
export function ggufSidecarMember(key: string, type: GgufTypeName, value: GgufMetadataValue): string {
  return `${JSON.stringify(key)}:{"type":${JSON.stringify(type)},"value":${ggufValueJson(type, value)}}`;
}

/** The sidecar's closing. */
export const GGUF_SIDECAR_TAIL = '}}\n';

/** A sidecar's name beside an output of stem `stem`. */
export function ggufSidecarName(stem: string): string {
  return `${stem}${GGUF_SIDECAR_SUFFIX}`;
}

// ---------------------------------------------------------------------------------------------
// Decoding (the GGUF writer's side)
// ---------------------------------------------------------------------------------------------

function invalid(message: string, location?: string): TensorsafeError {
  return new TensorsafeError('InvalidGgufMetadata', message, { location });
}

/** A `__metadata__` text read back as a value of `type`; throws InvalidGgufMetadata when it is not one. */
export function ggufValueFromText(type: GgufTypeName, text: string, key = ''): GgufMetadataValue {
  if (!isGgufTypeName(type)) throw invalid(`${key}: ${JSON.stringify(type)} is not a GGUF type name`, key);
  if (ggufElementType(type) !== undefined) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw invalid(`${key}: the ${type} value is not JSON`, key);
    }
    return ggufValueFromJson(type, json, key);
  }
  switch (type) {
    case 'STRING':
      return text;
    case 'BOOL':
      if (text !== 'true' && text !== 'false') throw invalid(`${key}: a BOOL is "true" or "false", not ${JSON.stringify(text.slice(0, 40))}`, key);
      return text === 'true';
    default:
      return scalarFrom(type, text, key);
  }
}

/** A JSON value (an array element, a sidecar value) read back as a value of `type`. */
export function ggufValueFromJson(type: GgufTypeName, json: unknown, key = ''): GgufMetadataValue {
  const element = ggufElementType(type);
  if (element !== undefined) {
    if (!Array.isArray(json)) throw invalid(`${key}: a ${type} value is a JSON array`, key);
    return json.map((v) => ggufValueFromJson(element, v, key));
  }
  switch (type) {
    case 'STRING':
      if (typeof json !== 'string') throw invalid(`${key}: a STRING value is a JSON string`, key);
      return json;
    case 'BOOL':
      if (typeof json !== 'boolean') throw invalid(`${key}: a BOOL value is true or false`, key);
      return json;
    case 'UINT64':
    case 'INT64':
      if (typeof json !== 'string') throw invalid(`${key}: a ${type} value is a JSON string of digits`, key);
      return scalarFrom(type, json, key);
    case 'FLOAT32':
    case 'FLOAT64':
      if (typeof json === 'number') {
        const value = type === 'FLOAT32' ? Math.fround(json) : json;
        // A JSON number past the type's range (1e400) would become an infinity unseen: refused.
        if (!Number.isFinite(value)) throw invalid(`${key}: ${json} is out of the ${type} range`, key);
        return value;
      }
      if (json === 'NaN' || json === 'Infinity' || json === '-Infinity') return Number(json);
      throw invalid(`${key}: a ${type} value is a JSON number (or "NaN", "Infinity", "-Infinity")`, key);
    default:
      if (typeof json !== 'number') throw invalid(`${key}: a ${type} value is a JSON number`, key);
      return scalarFrom(type, String(json), key);
  }
}

/** An integer or float scalar from its decimal text, checked against its type's range. */
function scalarFrom(type: GgufTypeName, text: string, key: string): GgufMetadataValue {
  const big = INT64_RANGE[type];
  if (big !== undefined) {
    if (!/^-?\d+$/.test(text)) throw invalid(`${key}: ${JSON.stringify(text.slice(0, 40))} is not a ${type}`, key);
    const v = BigInt(text);
    if (v < big[0] || v > big[1]) throw invalid(`${key}: ${text} is out of the ${type} range`, key);
    return v;
  }
  const range = INT_RANGE[type];
  if (range !== undefined) {
    const v = /^-?\d+$/.test(text) ? Number(text) : NaN;
    if (!Number.isInteger(v) || v < range[0] || v > range[1]) throw invalid(`${key}: ${JSON.stringify(text.slice(0, 40))} is not a ${type}`, key);
    return v;
  }
  // FLOAT32, FLOAT64: a decimal, or NaN / ±Infinity.
  if (!/^(-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|NaN|-?Infinity)$/.test(text)) throw invalid(`${key}: ${JSON.stringify(text.slice(0, 40))} is not a ${type}`, key);
  const v = Number(text);
  const value = type === 'FLOAT32' ? Math.fround(v) : v;
  // A finite decimal past the type's range would become an infinity unseen: refused.
  if (!Number.isFinite(value) && !/^(NaN|-?Infinity)$/.test(text)) throw invalid(`${key}: ${JSON.stringify(text.slice(0, 40))} is out of the ${type} range`, key);
  return value;
}

/** The `gguf.types` object read back: key → type name, each checked. */
export function parseGgufTypes(text: string): Record<string, GgufTypeName> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw invalid(`${GGUF_TYPES_KEY} is not JSON`, GGUF_TYPES_KEY);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw invalid(`${GGUF_TYPES_KEY} is not a JSON object`, GGUF_TYPES_KEY);
  const out: Record<string, GgufTypeName> = Object.create(null); // a key named `__proto__` is a key
  for (const [k, t] of Object.entries(json)) {
    if (typeof t !== 'string' || !isGgufTypeName(t)) throw invalid(`${GGUF_TYPES_KEY}: the type of ${k} is not a GGUF type name`, k);
    out[k] = t;
  }
  return out;
}

/** A sidecar read back. */
export interface GgufSidecar {
  /** The GGUF file it was read from (a hand-written sidecar may leave it out). */
  readonly source?: string;
  readonly keys: ReadonlyMap<string, { readonly type: GgufTypeName; readonly value: GgufMetadataValue }>;
}

/** A sidecar's text read back, every member checked. */
export function parseGgufSidecar(text: string): GgufSidecar {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw invalid('the GGUF metadata sidecar is not JSON');
  }
  const o = json as { format?: unknown; version?: unknown; source?: unknown; keys?: unknown };
  if (o === null || typeof o !== 'object' || o.format !== GGUF_SIDECAR_FORMAT || o.version !== GGUF_SIDECAR_VERSION) {
    throw invalid(`the GGUF metadata sidecar is not {"format":"${GGUF_SIDECAR_FORMAT}","version":${GGUF_SIDECAR_VERSION},…}`);
  }
  if ((o.source !== undefined && typeof o.source !== 'string') || o.keys === null || typeof o.keys !== 'object' || Array.isArray(o.keys)) throw invalid('the GGUF metadata sidecar has no "source" string or no "keys" object');
  const keys = new Map<string, { type: GgufTypeName; value: GgufMetadataValue }>();
  for (const [k, member] of Object.entries(o.keys as Record<string, unknown>)) {
    const m = member as { type?: unknown; value?: unknown } | null;
    if (m === null || typeof m !== 'object' || typeof m.type !== 'string' || !isGgufTypeName(m.type) || !('value' in m)) throw invalid(`the sidecar's ${k} is not {"type":<GGUF type name>,"value":…}`, k);
    keys.set(k, { type: m.type, value: ggufValueFromJson(m.type, m.value, k) });
  }
  return { ...(typeof o.source === 'string' ? { source: o.source } : {}), keys };
}

// ---------------------------------------------------------------------------------------------
// GGUF keys to write (the GGUF writer's side)
// ---------------------------------------------------------------------------------------------

/** One GGUF key-value pair with its type name. */
export interface GgufEntry {
  readonly key: string;
  readonly type: GgufTypeName;
  readonly value: GgufMetadataValue;
}

/**
 * The GGUF keys a safetensors metadata map holds under this convention: every key but `gguf.types`
 * and those `skip` names, typed from `gguf.types` (STRING when not listed), in the map's order.
 */
export function entriesFromMetadata(metadata: Readonly<Record<string, string>>, skip: (key: string) => boolean = () => false): GgufEntry[] {
  const listed = metadata[GGUF_TYPES_KEY];
  const types = listed === undefined ? {} : parseGgufTypes(listed);
  const out: GgufEntry[] = [];
  for (const [key, text] of Object.entries(metadata)) {
    if (key === GGUF_TYPES_KEY || skip(key)) continue;
    const type = Object.prototype.hasOwnProperty.call(types, key) ? types[key]! : 'STRING';
    out.push({ key, type, value: ggufValueFromText(type, text, key) });
  }
  return out;
}

/** The keys of a sidecar's text, in its order (`where` names the file in errors). */
export function entriesFromSidecar(text: string, where: string): GgufEntry[] {
  let sidecar: GgufSidecar;
  try {
    sidecar = parseGgufSidecar(text);
  } catch (e) {
    if (!(e instanceof TensorsafeError)) throw e;
    throw new TensorsafeError(e.code, `${where}: ${e.message}`, { location: where, cause: e });
  }
  return [...sidecar.keys].map(([key, { type, value }]) => ({ key, type, value }));
}
