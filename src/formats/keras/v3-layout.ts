import type { LeftOut } from '../../tensor/tensor-set.js';
import { claimName } from '../tensor-names.js';
import { KerasError } from './errors.js';
import type { H5Dataset, H5Group } from './h5-access.js';
import type { KerasWeight, LayoutRead } from './legacy-layout.js';
import { MAX_KERAS_OBJECT_DEPTH, MAX_KERAS_OBJECTS, MAX_KERAS_WEIGHTS } from './limits.js';
import type { KerasModelConfig } from './model-config.js';
import { classFromName, variableNames } from './variable-names.js';

/**
 * Keras 3 weights files (keras/src/saving/saving_lib.py, H5IOStore): `model.weights.h5` in a `.keras`,
 * and `save_weights('x.weights.h5')`. Every object that can own variables has a group `<path>/vars`
 * holding datasets `0`, `1`, … in the order it created them, and an attribute `name` (the layer's name).
 * `<path>` is made of attribute names and snake_case class names made unique (`layers/dense_1`,
 * `layers/lstm/cell`, `layers/multi_head_attention/_query_dense`), not of layer names. The model's own
 * variables are in `/vars`; the optimizer's in `optimizer/vars` (left out).
 *
 * A variable is named `<names>/<variable>`: `<names>` the `name` attributes from the outermost layer down
 * to the object (`dense_3`, `lstm/lstm_cell`, `mha/query`), `<variable>` from the class's build order
 * (variable-names.ts), the class found by the layer's name in config.json, else from the object's name or
 * path segment. An object whose class or variable count is not known: `<path>/<i>` (`layers/my_layer/0`;
 * the model's own: `vars/0`). Objects are in config.json's layer order (by their outermost layer's
 * name), then in natural path order (`dense` < `dense_1` < `dense_10`); variables by index.
 */

/** Top-level objects whose variables are not model weights (the optimizer's iterations and slots). */
const LEFT_OUT_OBJECTS = new Set(['optimizer']);

interface KerasObject {
  /** Path in the file without `/vars` ('' for the model). */
  readonly path: string;
  /** `name` attributes from the outermost layer down to this object (empty for the model). */
  readonly names: readonly string[];
  /** The `name` of the outermost layer, for ordering. */
  readonly top: string | undefined;
  readonly vars: H5Group;
}

/** Whether the root is a Keras 3 weights file: a `vars` or `layers` group at the root. */
export async function isKeras3Weights(root: H5Group): Promise<boolean> {
  const links = await root.links();
  return links.some((l) => l.kind === 'group' && (l.name === 'vars' || l.name === 'layers'));
}

export interface Keras3Read extends LayoutRead {
  /** Tensors named `<path>/<i>`: their object's class or variable count is not in the table. */
  readonly namedByIndex: readonly string[];
}

export async function readKeras3(root: H5Group, file: string, config: KerasModelConfig | undefined): Promise<Keras3Read> {
  const objects: KerasObject[] = [];
  const leftOut: LeftOut[] = [];
  const stack: { group: H5Group; path: string; names: string[]; top: string | undefined; depth: number }[] = [{ group: root, path: '', names: [], top: undefined, depth: 0 }];
  let visited = 0;
  while (stack.length > 0) {
    const { group, path, names, top, depth } = stack.pop()!;
    if (++visited > MAX_KERAS_OBJECTS) {
      throw new KerasError('KerasLimit', `${file}: more than MAX_KERAS_OBJECTS (${MAX_KERAS_OBJECTS}) groups in the weights file`, { location: file });
    }
    const links = await group.links();
    let here = names;
    let outer = top;
    if (links.some((l) => l.name === 'vars' && l.kind === 'group')) {
      const vars = (await group.group('vars'))!;
      const name = path === '' ? undefined : await stringAttribute(vars, 'name');
      if (path !== '') {
        here = [...names, name ?? path.split('/').pop()!];
        outer ??= here[0];
      }
      objects.push({ path, names: here, top: outer, vars });
    }
    const children = links.filter((l) => l.kind === 'group' && l.name !== 'vars');
    for (let i = children.length - 1; i >= 0; i--) {
      const child = children[i]!.name;
      const childPath = path === '' ? child : `${path}/${child}`;
      if (path === '' && LEFT_OUT_OBJECTS.has(child)) {
        leftOut.push({ path: childPath, what: await leftOutWhat((await group.group(child))!) });
        continue;
      }
      if (depth + 1 > MAX_KERAS_OBJECT_DEPTH) {
        throw new KerasError('KerasLimit', `${file}: objects nested more than MAX_KERAS_OBJECT_DEPTH (${MAX_KERAS_OBJECT_DEPTH}) deep at ${childPath}`, { location: `${file}:${childPath}` });
      }
      stack.push({ group: (await group.group(child))!, path: childPath, names: here, top: outer, depth: depth + 1 });
    }
  }
  const order = new Map((config?.layers ?? []).map((l, i) => [l.name, i]));
  const place = (o: KerasObject): number => (o.path === '' ? -1 : (order.get(o.top ?? '') ?? order.size));
  objects.sort((a, b) => place(a) - place(b) || naturalCompare(a.path, b.path));
  const taken = new Set<string>();
  const weights: KerasWeight[] = [];
  const namedByIndex: string[] = [];
  for (const o of objects) {
    const datasets = await variables(o.vars, file);
    if (weights.length + datasets.length > MAX_KERAS_WEIGHTS) {
      throw new KerasError('KerasLimit', `${file}: more than MAX_KERAS_WEIGHTS (${MAX_KERAS_WEIGHTS}) variables`, { location: `${file}:${o.vars.path}` });
    }
    const { names, byIndex } = variableNamesOf(o, datasets, config);
    for (const [i, ds] of datasets.entries()) {
      const bf16 = (await ds.dataset.attribute('dtype')) === 'bfloat16';
      const name = claimName(taken, names[i]!);
      weights.push({ name, dataset: ds.dataset, ...(bf16 ? { bf16 } : {}) });
      if (byIndex) namedByIndex.push(name);
    }
  }
  return { weights, leftOut, namedByIndex };
}

/** The datasets of a `vars` group, by index (`0`, `1`, …, `10`); other names after them, in their order. */
async function variables(vars: H5Group, file: string): Promise<{ key: string; dataset: H5Dataset }[]> {
  const out: { key: string; dataset: H5Dataset }[] = [];
  for (const l of await vars.links()) {
    if (l.kind !== 'dataset') continue;
    const dataset = await vars.dataset(l.name);
    if (dataset === undefined) throw new KerasError('KerasWeightMissing', `${file}: ${vars.path}/${l.name} is linked but cannot be found`, { location: `${file}:${vars.path}/${l.name}` });
    out.push({ key: l.name, dataset });
  }
  const index = (k: string): number => (/^(0|[1-9]\d*)$/.test(k) ? Number(k) : Number.MAX_SAFE_INTEGER);
  return out.sort((a, b) => index(a.key) - index(b.key));
}

function variableNamesOf(o: KerasObject, datasets: readonly { key: string }[], config: KerasModelConfig | undefined): { names: string[]; byIndex: boolean } {
  const byIndex = datasets.every((d, i) => d.key === String(i));
  const name = o.names[o.names.length - 1];
  const known = name === undefined ? undefined : config?.objects.get(name);
  const className = known?.className ?? (name !== undefined ? classFromName(name) : undefined) ?? classFromName(o.path.split('/').pop() ?? '');
  const vars = byIndex && o.path !== '' ? variableNames(className, datasets.length, known?.options) : undefined;
  if (vars !== undefined) return { names: vars.map((v) => `${o.names.join('/')}/${v}`), byIndex: false };
  const prefix = o.path === '' ? 'vars' : o.path;
  return { names: datasets.map((d) => `${prefix}/${d.key}`), byIndex: true };
}

async function stringAttribute(group: H5Group, name: string): Promise<string | undefined> {
  const v = await group.attribute(name);
  return typeof v === 'string' ? v : Array.isArray(v) && v.length === 1 && typeof v[0] === 'string' ? v[0] : undefined;
}

async function leftOutWhat(group: H5Group): Promise<string> {
  const vars = await group.group('vars');
  const count = vars === undefined ? 0 : (await vars.links()).filter((l) => l.kind === 'dataset').length;
  const name = vars === undefined ? undefined : await stringAttribute(vars, 'name');
  return `optimizer state${name !== undefined ? ` (${name})` : ''}: ${count} variable${count === 1 ? '' : 's'}, not model weights`;
}

/** Paths segment by segment, each as its name then the number Keras appends (`dense` < `dense_1` < `dense_10`). */
export function naturalCompare(a: string, b: string): number {
  const as = a.split('/');
  const bs = b.split('/');
  for (let i = 0; i < Math.min(as.length, bs.length); i++) {
    const [an, ai] = split(as[i]!);
    const [bn, bi] = split(bs[i]!);
    if (an !== bn) return an < bn ? -1 : 1;
    if (ai !== bi) return ai - bi;
  }
  return as.length - bs.length;
}

function split(segment: string): [string, number] {
  // `s`: a name may hold a line break (any byte in an HDF5 link name); without it the match fails.
  const m = /^(.*?)(?:_(\d+))?$/s.exec(segment)!;
  return [m[1]!, m[2] === undefined ? -1 : Number(m[2])];
}
