import type { LeftOut } from '../../tensor/tensor-set.js';
import { claimName } from '../tensor-names.js';
import { PfaError } from './errors.js';
import { MAX_PFA_DEPTH, MAX_PFA_LEFT_OUT, MAX_PFA_TENSOR_ELEMENTS, MAX_PFA_TENSORS } from './limits.js';

/**
 * The numbers of a PFA document's `cells` and `pools` (the model's parameters; the `action`, `fcns`
 * and the rest are code, kept as data and never run) as float64 tensors:
 * - a number is a scalar (shape []); an array of numbers, or of such arrays of equal lengths, a tensor of
 *   that shape (rows of different lengths: `PfaRaggedArray`, naming the cell and the row);
 * - a record or map is walked by its fields: `cellName.field`, `cellName.field.inner`; a pool's items are
 *   `poolName.key`; an array of records, by index: `cellName.0.center`;
 * - strings, booleans, nulls and arrays that mix numbers with other values are left out (listed);
 * - a cell or pool whose `init` is outside the document (`source` `json` or `avro`: a URL or file name)
 *   is never fetched: left out, and reported by the scan.
 * A name taken already (a cell `a.b` and a cell `a` with field `b`) gets `#2`.
 */

export interface PfaTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly values: Float64Array;
}

export interface PfaCells {
  readonly tensors: PfaTensor[];
  readonly leftOut: LeftOut[];
  /** Names of the cells and pools, and of those whose init is external. */
  readonly cells: readonly string[];
  readonly pools: readonly string[];
  readonly external: readonly { readonly path: string; readonly source: string; readonly init: string }[];
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The document's top level: an object with `input`, `output` and `action`, as PFA requires. */
export function checkPfaTop(value: unknown, file: string): Record<string, unknown> {
  if (!isRecord(value)) throw new PfaError('InvalidPfa', `${file}: a PFA document is an object (with input, output and action), not ${describeValue(value)}`, { location: file });
  const missing = ['input', 'output', 'action'].filter((k) => !(k in value));
  if (missing.length > 0) throw new PfaError('InvalidPfa', `${file}: not a PFA document: no ${missing.join(', ')}`, { location: file });
  return value;
}

export function extractCells(top: Record<string, unknown>, file: string): PfaCells {
  const walk = new Walk(file);
  const cells = section(top, 'cells', file);
  const pools = section(top, 'pools', file);
  const external: { path: string; source: string; init: string }[] = [];
  for (const [name, cell] of Object.entries(cells)) {
    if (!isRecord(cell)) throw new PfaError('InvalidPfa', `${file}: cell ${JSON.stringify(name)} is ${describeValue(cell)}, not an object with type and init`, { location: file });
    const source = cell['source'];
    if (source === 'json' || source === 'avro') {
      external.push({ path: name, source, init: String(cell['init']) });
      walk.leave(name, `init from outside the document (source ${source}: ${JSON.stringify(String(cell['init']).slice(0, 200))}): never fetched`);
      continue;
    }
    if (!('init' in cell)) throw new PfaError('InvalidPfa', `${file}: cell ${JSON.stringify(name)} has no init`, { location: file });
    walk.value(cell['init'], name, 0);
  }
  for (const [name, pool] of Object.entries(pools)) {
    if (!isRecord(pool)) throw new PfaError('InvalidPfa', `${file}: pool ${JSON.stringify(name)} is ${describeValue(pool)}, not an object with type and init`, { location: file });
    const source = pool['source'];
    if (source === 'json' || source === 'avro') {
      external.push({ path: name, source, init: String(pool['init']) });
      walk.leave(name, `init from outside the document (source ${source}: ${JSON.stringify(String(pool['init']).slice(0, 200))}): never fetched`);
      continue;
    }
    const init = pool['init'] ?? {};
    if (!isRecord(init)) throw new PfaError('InvalidPfa', `${file}: pool ${JSON.stringify(name)}'s init is ${describeValue(init)}, not a map of items`, { location: file });
    for (const [key, item] of Object.entries(init)) walk.value(item, `${name}.${key}`, 1);
  }
  return { tensors: walk.tensors, leftOut: walk.finish(), cells: Object.keys(cells), pools: Object.keys(pools), external };
}

function section(top: Record<string, unknown>, key: 'cells' | 'pools', file: string): Record<string, unknown> {
  const v = top[key];
  if (v === undefined) return {};
  if (!isRecord(v)) throw new PfaError('InvalidPfa', `${file}: ${key} is ${describeValue(v)}, not an object of named ${key}`, { location: file });
  return v;
}

class Walk {
  readonly tensors: PfaTensor[] = [];
  private readonly left: LeftOut[] = [];
  private leftCount = 0;
  private readonly taken = new Set<string>();

  constructor(private readonly file: string) {}

  leave(path: string, what: string): void {
    if (++this.leftCount <= MAX_PFA_LEFT_OUT) this.left.push({ path, what });
  }

  finish(): LeftOut[] {
    if (this.leftCount > MAX_PFA_LEFT_OUT) this.left.push({ path: '…', what: `${this.leftCount - MAX_PFA_LEFT_OUT} more values that are not numbers` });
    return this.left;
  }

  value(v: unknown, path: string, depth: number): void {
    if (depth > MAX_PFA_DEPTH) throw new PfaError('PfaLimit', `${this.file}: ${JSON.stringify(path.slice(0, 200))} nests more than MAX_PFA_DEPTH (${MAX_PFA_DEPTH}) deep`, { location: this.file });
    if (typeof v === 'number') return this.add(path, [], Float64Array.of(v));
    if (Array.isArray(v)) {
      const shape = numericShape(v);
      if (shape !== undefined) return this.tensor(v, shape, path);
      if (v.every((x) => isRecord(x) || Array.isArray(x))) {
        for (const [i, x] of v.entries()) this.value(x, `${path}.${i}`, depth + 1);
        return;
      }
      return this.leave(path, `an array of ${v.length} values that are not all numbers`);
    }
    if (isRecord(v)) {
      for (const [k, x] of Object.entries(v)) this.value(x, `${path}.${k}`, depth + 1);
      return;
    }
    this.leave(path, describeValue(v));
  }

  /** A numeric array of this shape (from its first elements): every row as long, every leaf a number. */
  private tensor(v: unknown[], shape: number[], path: string): void {
    let elements = 1;
    for (const d of shape) elements *= d;
    if (elements > MAX_PFA_TENSOR_ELEMENTS) throw new PfaError('PfaLimit', `${this.file}: ${JSON.stringify(path.slice(0, 200))} has ${elements} elements, more than MAX_PFA_TENSOR_ELEMENTS (${MAX_PFA_TENSOR_ELEMENTS})`, { location: this.file });
    const ragged = raggedAt(v, shape, 0, []);
    if (ragged === 'mixed') return this.leave(path, `an array of shape [${shape.join(', ')}] that mixes numbers with other values`);
    if (ragged !== undefined) {
      throw new PfaError('PfaRaggedArray', `${this.file}: ${JSON.stringify(path.slice(0, 200))} is a ragged array: row [${ragged.index.join('][')}] has ${ragged.length} elements where the first has ${shape[ragged.index.length]} (shape [${shape.join(', ')}] from its first rows); no tensor has that shape`, { location: this.file });
    }
    const flat = shape.length <= 1 ? v : v.flat(shape.length - 1);
    this.add(path, shape, Float64Array.from(flat as number[]));
  }

  private add(path: string, shape: readonly number[], values: Float64Array): void {
    if (this.tensors.length >= MAX_PFA_TENSORS) throw new PfaError('PfaLimit', `${this.file}: more than MAX_PFA_TENSORS (${MAX_PFA_TENSORS}) numeric cells, pool items and fields`, { location: this.file });
    this.tensors.push({ name: claimName(this.taken, path), shape, values });
  }
}

/** The shape of an array whose first elements, down to a number (or an empty array), are arrays; undefined when they are not. */
function numericShape(v: unknown[]): number[] | undefined {
  const shape = [v.length];
  let e: unknown = v[0];
  while (Array.isArray(e)) {
    shape.push(e.length);
    if (shape.length > MAX_PFA_DEPTH) return undefined;
    e = e[0];
  }
  return v.length === 0 || typeof e === 'number' || (e === undefined && shape.at(-1) === 0) ? shape : undefined;
}

/** Where an array departs from `shape`: a row of another length, or `mixed` when a leaf is not a number. */
function raggedAt(v: unknown, shape: readonly number[], d: number, index: number[]): { index: number[]; length: number } | 'mixed' | undefined {
  if (d === shape.length) return typeof v === 'number' ? undefined : 'mixed';
  if (!Array.isArray(v)) return 'mixed';
  if (v.length !== shape[d]) return { index, length: v.length };
  if (d === shape.length - 1) {
    for (const x of v) if (typeof x !== 'number') return Array.isArray(x) ? { index: [...index, v.indexOf(x)], length: x.length } : 'mixed';
    return undefined;
  }
  for (let i = 0; i < v.length; i++) {
    const r = raggedAt(v[i], shape, d + 1, [...index, i]);
    if (r !== undefined) return r;
  }
  return undefined;
}

export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'string') return `a string of ${v.length} characters`;
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v}`;
}
