import type { XmlElement } from '../xml/parser.js';
import { PmmlError } from './errors.js';
import { MAX_PMML_TENSOR_ELEMENTS } from './limits.js';

/**
 * PMML's numbers: decimal text (xs:double: `1.5`, `-2E-3`, `INF`, `-INF`, `NaN`), read as JavaScript's
 * Number reads decimal text, which rounds to the nearest double exactly as Python's float() and Java's
 * Double.parseDouble do. Anything else (hex, `Infinity`, an empty string, `1_000`) is refused.
 */
const DECIMAL = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;

/** The double a token spells, or undefined. */
export function decimal(token: string): number | undefined {
  if (DECIMAL.test(token)) return Number(token);
  if (token === 'INF' || token === '+INF') return Infinity;
  if (token === '-INF') return -Infinity;
  if (token === 'NaN') return NaN;
  return undefined;
}

/** Where an element is, for messages: `<Neuron id="3">` at its byte. */
export interface Where {
  readonly file: string;
  offset(el: XmlElement): number;
}

export function describe(el: XmlElement): string {
  const id = el.attributes['id'] ?? el.attributes['name'];
  return id === undefined ? `<${el.name}>` : `<${el.name} ${el.attributes['id'] !== undefined ? 'id' : 'name'}=${JSON.stringify(id.slice(0, 80))}>`;
}

export function invalid(where: Where, el: XmlElement, what: string): never {
  const offset = where.offset(el);
  throw new PmmlError('InvalidPmml', `${where.file}: ${describe(el)} (byte ${offset}): ${what}`, { location: `${where.file}@${offset}` });
}

/** A numeric attribute: its double, `fallback` when absent (undefined: required). */
export function numberAttribute(where: Where, el: XmlElement, name: string, fallback?: number): number {
  const text = el.attributes[name];
  if (text === undefined) {
    if (fallback === undefined) invalid(where, el, `attribute ${name} is missing`);
    return fallback;
  }
  const value = decimal(text.trim());
  if (value === undefined) invalid(where, el, `attribute ${name}=${JSON.stringify(text.slice(0, 40))} is not a number`);
  return value;
}

/** A count attribute (`n`, `numberOfVectors`): a non-negative integer, or undefined when absent. */
export function countAttribute(where: Where, el: XmlElement, name: string): number | undefined {
  const text = el.attributes[name];
  if (text === undefined) return undefined;
  if (!/^\s*[0-9]+\s*$/.test(text)) invalid(where, el, `attribute ${name}=${JSON.stringify(text.slice(0, 40))} is not a count`);
  const n = Number(text);
  if (n > MAX_PMML_TENSOR_ELEMENTS) throw new PmmlError('PmmlLimit', `${where.file}: ${describe(el)} (byte ${where.offset(el)}): ${name}=${n} is more than MAX_PMML_TENSOR_ELEMENTS (${MAX_PMML_TENSOR_ELEMENTS})`, { location: `${where.file}@${where.offset(el)}` });
  return n;
}

const QUOTED_OR_BARE = /"((?:[^"\\]|\\.)*)"|[^\s"]+/g;

/** The tokens of an Array's text: whitespace-separated, a token may be quoted (`"a b"`, `\"` inside). */
function tokens(text: string): string[] {
  if (!text.includes('"')) {
    const t = text.trim();
    return t === '' ? [] : t.split(/[ \t\n\r]+/);
  }
  const out: string[] = [];
  for (const m of text.matchAll(QUOTED_OR_BARE)) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[0]);
  return out;
}

/** The numbers of an element's text (an `<Array>`'s, `<Indices>`, `<REAL-Entries>`). */
function numbersOf(where: Where, el: XmlElement, declared: number | undefined): Float64Array {
  const list = tokens(el.text);
  if (list.length > MAX_PMML_TENSOR_ELEMENTS) throw new PmmlError('PmmlLimit', `${where.file}: ${describe(el)} (byte ${where.offset(el)}) holds ${list.length} numbers, more than MAX_PMML_TENSOR_ELEMENTS (${MAX_PMML_TENSOR_ELEMENTS})`, { location: `${where.file}@${where.offset(el)}` });
  if (declared !== undefined && declared !== list.length) invalid(where, el, `n=${declared} but it holds ${list.length} values`);
  const out = new Float64Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const v = decimal(list[i]!);
    if (v === undefined) invalid(where, el, `value ${i} (${JSON.stringify(list[i]!.slice(0, 40))}) is not a number`);
    out[i] = v;
  }
  return out;
}

/** The element names of PMML's numeric arrays. */
export const ARRAY_ELEMENTS = new Set(['Array', 'REAL-SparseArray', 'INT-SparseArray']);

/**
 * A numeric array as doubles: `<Array type="real|int" n="3">1 2 3</Array>` (a `string` Array is not
 * numbers: refused), or a `REAL-SparseArray`/`INT-SparseArray` densified (`n` long, `defaultValue` where
 * no entry is, its 1-based `Indices` in any order but each once).
 */
export function numericArray(where: Where, el: XmlElement): Float64Array {
  if (el.local.endsWith('SparseArray')) return sparseArray(where, el);
  const type = el.attributes['type'];
  if (type !== undefined && type !== 'real' && type !== 'int') invalid(where, el, `an Array of type ${JSON.stringify(type.slice(0, 40))} where numbers are expected`);
  return numbersOf(where, el, countAttribute(where, el, 'n'));
}

function sparseArray(where: Where, el: XmlElement): Float64Array {
  const n = countAttribute(where, el, 'n');
  const fallback = numberAttribute(where, el, 'defaultValue', 0);
  const indicesEl = el.children.find((c) => c.local === 'Indices');
  const entriesEl = el.children.find((c) => c.local === 'REAL-Entries' || c.local === 'INT-Entries');
  const indices = indicesEl ? numbersOf(where, indicesEl, undefined) : new Float64Array(0);
  const entries = entriesEl ? numbersOf(where, entriesEl, undefined) : new Float64Array(0);
  if (indices.length !== entries.length) invalid(where, el, `${indices.length} Indices but ${entries.length} entries`);
  let size = n;
  if (size === undefined) {
    // No n: as long as its largest index.
    size = 0;
    for (const i of indices) size = Math.max(size, i);
  }
  if (size > MAX_PMML_TENSOR_ELEMENTS) invalid(where, el, `an index of ${size} is more than MAX_PMML_TENSOR_ELEMENTS (${MAX_PMML_TENSOR_ELEMENTS})`);
  const out = new Float64Array(size).fill(fallback);
  const seen = new Uint8Array(size);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]!;
    if (!Number.isInteger(i) || i < 1 || i > size) invalid(where, el, `index ${i} is outside 1..${size}`);
    if (seen[i - 1]) invalid(where, el, `index ${i} is given twice`);
    seen[i - 1] = 1;
    out[i - 1] = entries[k]!;
  }
  return out;
}
