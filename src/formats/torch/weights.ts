import type { ByteSource } from '../../io/byte-source.js';
import { isContiguous, stridedChunks } from '../../tensor/strided.js';
import { DEFAULT_CHUNK_BYTES, type LeftOut, type TensorEncoding, type TensorEntry, type TensorSet } from '../../tensor/tensor-set.js';
import { describe, PyDict, PyObject, PyOpaque, PyTuple, type PyValue } from '../pickle/values.js';
import { readTorchCheckpoint, type ReadCheckpointOptions, type TorchCheckpoint } from './checkpoint.js';
import { CheckpointError } from './errors.js';
import { moduleStateOf, moduleTensors, ModuleStates } from './modules.js';
import { CONSTANTS_PREFIX, isDeclaredScriptModule, scriptConstants, scriptModuleTensors } from './script-modules.js';
import { WalkBudget } from './visits.js';
import { TorchStorage, TorchTensor, TorchUnsupported } from './values.js';

/** Keys under which training checkpoints keep the weights, in the order they are tried. */
export const WEIGHT_KEYS = ['state_dict', 'model_state_dict', 'model', 'module', 'net', 'network', 'params', 'weights'];

export interface OpenTorchOptions extends ReadCheckpointOptions {
  /** Path to the weights inside the checkpoint, e.g. `state_dict` or `model.ema` (keys may contain dots). */
  key?: string;
}

/** A checkpoint as a TensorSet, plus what was read. */
export interface TorchTensorSet extends TensorSet {
  readonly checkpoint: TorchCheckpoint;
  /** The path the weights were taken from ('' for the whole object). */
  readonly weightsPath: string;
  /** Classes of the module objects the weights were read from (whole-model pickles), in the order met. */
  readonly moduleClasses: readonly string[];
}

/**
 * Opens a PyTorch checkpoint as a TensorSet: finds the weights (the object itself when it is a
 * state dict; else `state_dict`, `model`, `module`, … or `key`), names every tensor by its path,
 * and lists everything else as left out. Nothing is executed and no tensor byte is read here.
 */
export async function openTorchTensorSet(source: ByteSource, options: OpenTorchOptions = {}): Promise<TorchTensorSet> {
  const checkpoint = await readTorchCheckpoint(source, options);
  const { root } = checkpoint;
  const budget = new WalkBudget(source.name);
  const graph = new Graph(root, budget);
  const leftOut: LeftOut[] = [];
  let weightsPath: string;
  let found: { path: string; value: TorchTensor | TorchUnsupported }[];
  let classes: string[];
  const notes = [...checkpoint.notes];
  const { script } = checkpoint;
  if (options.key === undefined && script && isDeclaredScriptModule(root, script)) {
    // A TorchScript module: its state_dict by its classes' declarations, then its constants.
    const tree = scriptModuleTensors(root as PyObject, script, source.name, budget, (v) => graph.reachesTensor(v));
    const constants = scriptConstants(script, budget);
    weightsPath = '';
    found = tree.found;
    for (const c of constants) found.push(c);
    for (const l of tree.leftOut) leftOut.push(l);
    classes = tree.classes;
    notes.push(
      `TorchScript archive: a module tree of ${tree.modules} module(s) (${tree.classes.length} class(es)), named as torch.jit.load(...).state_dict() names it; ` +
        `parameters and buffers told apart by the __parameters__ and __buffers__ lines of the classes' declarations in code/, read as text (the code is never run)`,
    );
    if (constants.length > 0) notes.push(`${constants.length} tensor constant(s) of constants.pkl, named ${CONSTANTS_PREFIX}.<index> (no state_dict lists them)`);
  } else {
    let weights: PyValue;
    if (options.key !== undefined) {
      weightsPath = options.key;
      weights = resolvePath(root, options.key, source.name, graph);
      for (const l of siblings(root, options.key, graph)) leftOut.push(l);
    } else {
      const chosen = findWeights(root, graph);
      weightsPath = chosen;
      weights = chosen === '' ? root : (root as PyDict).get(chosen)!;
      if (chosen !== '') for (const l of siblings(root, chosen, graph)) leftOut.push(l);
    }
    const walked: Walk = { file: source.name, found: [], leftOut, classes: [], graph };
    walk(weights, walked);
    found = walked.found;
    classes = walked.classes;
    if (script && options.key === undefined) {
      // No declarations to tell weights from other tensor attributes: every tensor by its attribute path.
      for (const c of scriptConstants(script, budget)) found.push(c);
      notes.push(`TorchScript archive whose classes code/ does not declare: tensors named by attribute path (tensor attributes outside the state_dict included); constants.pkl's as ${CONSTANTS_PREFIX}.<index>`);
    } else if (script) notes.push('TorchScript archive read under --key: its code/ is never run');
    if (classes.length > 0) {
      notes.push(`the weights are a module tree, named as its state_dict() names them; module classes met (read as data, never imported): ${classes.join(', ')}`);
    }
  }
  if (found.length === 0) {
    throw new CheckpointError(
      'NoTensors',
      `${source.name}: no tensors ${weightsPath ? `under \`${weightsPath}\`` : 'in the checkpoint'} (it holds ${describe(root)}${topKeys(root)})`,
      { location: source.name },
    );
  }
  const names = new Set<string>();
  const ids = new Map<TorchStorage, number>();
  const entries = new Map<TorchTensor, TensorEntry>();
  const tensors: TensorEntry[] = found.map(({ path, value }) => {
    if (names.has(path)) {
      throw new CheckpointError('InvalidCheckpoint', `${source.name}: two tensors would both be named \`${path}\` (a key with dots beside a nested one); pick one with --key`, {
        location: path,
      });
    }
    names.add(path);
    if (value instanceof TorchUnsupported) {
      throw new CheckpointError('UnsupportedTensor', `${source.name}: tensor \`${path}\` is ${value.reason}, which safetensors cannot hold`, { location: `${path} (${value.location})` });
    }
    // A tensor named many times (tied weights, or a hostile pickle's thousands of references) shares one entry's parts.
    const known = entries.get(value);
    if (known) return { ...known, name: path };
    const entry = entryOf(path, value, ids, source.name);
    entries.set(value, entry);
    return entry;
  });
  for (const p of checkpoint.placeholders) leftOut.push({ path: p.location, what: `placeholder for ${p.global}` });
  return {
    format: checkpoint.format,
    tensors,
    leftOut,
    notes,
    checkpoint,
    weightsPath,
    moduleClasses: classes,
    close: async () => source.close?.(),
  };
}

function entryOf(name: string, t: TorchTensor, ids: Map<TorchStorage, number>, file: string): TensorEntry {
  const dtype = t.dtype.safetensors;
  if (!dtype) {
    throw new CheckpointError('UnsupportedTensor', `${file}: tensor \`${name}\` is ${t.dtype.name}, which safetensors cannot hold`, { location: name });
  }
  const storage = t.storage;
  const source = storage.source;
  if (!source) throw new CheckpointError('InvalidCheckpoint', `${file}: the data of storage ${storage.key} (tensor \`${name}\`) is missing`, { location: name });
  const elements = t.shape.reduce((a, b) => a * b, 1);
  // float4_e2m1fn_x2 packs two F4 values per element; safetensors counts the F4 values.
  const shape = dtype === 'F4' && t.shape.length > 0 ? [...t.shape.slice(0, -1), t.shape[t.shape.length - 1]! * 2] : [...t.shape];
  const root = storage.root;
  if (!ids.has(root)) ids.set(root, ids.size);
  const base = t.offset * t.dtype.size;
  const aliasKey = `${ids.get(root)}:${storage.rootOffset + base}:${t.dtype.name}:${t.shape.join(',')}:${t.stride.join(',')}`;
  const swap = storage.bigEndian && t.dtype.swapUnit > 1 ? t.dtype.swapUnit : 0;
  const view = { base, elementSize: t.dtype.size, shape: t.shape, stride: t.stride, swap, name };
  // A storage holds the values as they are: read as they lie, gathered from a view, swapped from big-endian.
  const encoding: TensorEncoding = { layout: isContiguous(t.shape, t.stride) ? 'stored' : 'strided', ...(swap ? { byteSwap: swap } : {}) };
  return {
    name,
    dtype,
    shape,
    byteLength: elements * t.dtype.size,
    encoding,
    fidelity: 'exact',
    aliasKey,
    ...(encoding.layout === 'stored' && !swap ? { stored: { source, offset: base } } : {}),
    chunks: (chunkBytes = DEFAULT_CHUNK_BYTES) => stridedChunks(source, view, chunkBytes),
  };
}

/** Where the weights are: '' (the object itself) or a top-level key. */
function findWeights(root: PyValue, graph: Graph): string {
  if (!(root instanceof PyDict)) return '';
  const values = [...root.entries()];
  if (values.some(([, v]) => isTensor(v))) return '';
  for (const key of WEIGHT_KEYS) {
    const v = root.get(key);
    if (v !== undefined && graph.reachesTensor(v)) return key;
  }
  const holding = values.filter(([k, v]) => typeof k === 'string' && graph.reachesTensor(v));
  if (holding.length === 1) return holding[0]![0] as string;
  return '';
}

/** Follows `a.b.c` into nested dicts, lists and objects; a key may itself contain dots. */
function resolvePath(root: PyValue, path: string, file: string, graph: Graph): PyValue {
  let node = root;
  let rest = path;
  while (rest !== '') {
    const module = moduleStateOf(node, graph.states);
    const container = module ? moduleView(module) : node instanceof PyObject || node instanceof PyOpaque ? node.state : node;
    let next: PyValue | undefined;
    let consumed = '';
    if (container instanceof PyDict) {
      graph.budget.visit(1 + container.size);
      // The longest key that matches a prefix of what is left.
      for (const k of container.keys()) {
        const key = String(k);
        if ((rest === key || rest.startsWith(key + '.')) && key.length > consumed.length) {
          consumed = key;
          next = container.get(k);
        }
      }
    } else if (Array.isArray(container) || container instanceof PyTuple) {
      const items = Array.isArray(container) ? container : container.items;
      const m = /^(\d+)(?:\.|$)/.exec(rest);
      if (m && Number(m[1]) < items.length) {
        consumed = m[1]!;
        next = items[Number(m[1])];
      }
    }
    if (next === undefined) {
      throw new CheckpointError('KeyNotFound', `${file}: --key ${path}: nothing at \`${rest}\`${topKeys(container ?? null)}`, { location: path });
    }
    node = next;
    rest = rest.slice(consumed.length).replace(/^\./, '');
  }
  return node;
}

/** Everything beside the weights at the top level, as left out. */
function siblings(root: PyValue, chosen: string, graph: Graph): LeftOut[] {
  if (!(root instanceof PyDict)) return [];
  const top = chosen.split('.')[0];
  const out: LeftOut[] = [];
  for (const [k, v] of root.entries()) {
    const path = String(k);
    if (path === chosen || path === top) continue;
    graph.budget.name(path);
    out.push({ path, what: summarize(v, graph) });
  }
  return out;
}

/** A module's children, parameters and buffers by name, then its other attributes: for `--key model.encoder`. */
function moduleView(state: PyDict): PyDict {
  const view = new PyDict();
  for (const key of ['_modules', '_parameters', '_buffers']) {
    for (const [k, x] of (state.get(key) as PyDict).entries()) if (x !== null) view.set(k, x);
  }
  for (const [k, x] of state.entries()) if (!view.has(k)) view.set(k, x);
  return view;
}

interface Walk {
  readonly file: string;
  readonly found: { path: string; value: TorchTensor | TorchUnsupported }[];
  readonly leftOut: LeftOut[];
  /** Module classes met. */
  readonly classes: string[];
  readonly graph: Graph;
}

/**
 * Collects tensors by path (a module tree by its state_dict names); everything else is left out,
 * once per path. Depth first, in order, without recursion: a cursor per container being read on an
 * explicit stack (memory grows with the depth, not with the width). Each container is entered once
 * (a value shared under two paths is named under the first only), while a tensor is named under
 * every path it is found at (tied weights).
 */
function walk(start: PyValue, w: Walk): void {
  const { graph } = w;
  const { budget } = graph;
  const seen = new Set<object>();
  const classes = new Set<string>();
  const join = (path: string, k: PyValue): string => (path === '' ? String(k) : `${path}.${String(k)}`);
  /** A container being read: its list or tuple items, or its dict entries (an object's attributes, filtered). */
  interface Cursor {
    readonly path: string;
    readonly items?: readonly PyValue[];
    readonly entries?: Iterator<[PyValue, PyValue]>;
    readonly attributes?: boolean;
    i: number;
  }
  const stack: Cursor[] = [];
  const visit = (v: PyValue, path: string): void => {
    budget.visit();
    if (v instanceof TorchTensor || v instanceof TorchUnsupported) {
      budget.name(path);
      w.found.push({ path, value: v });
      return;
    }
    // An empty container holds nothing to name and is never left out: not remembered either.
    if ((v instanceof PyDict && v.size === 0) || (Array.isArray(v) && v.length === 0) || (v instanceof PyTuple && v.items.length === 0)) return;
    if (typeof v === 'object' && v !== null) {
      if (seen.has(v)) return;
      seen.add(v);
    }
    if ((v instanceof PyObject || v instanceof PyOpaque) && moduleStateOf(v, graph.states)) {
      // A whole model (torch.save(model)): exactly what model.state_dict() holds.
      const m = moduleTensors(v, path, w.file, budget, graph.states);
      // One at a time: a spread of up to MAX_MODULE_NAMES arguments would overflow the call stack.
      for (const f of m.found) w.found.push(f);
      for (const l of m.leftOut) w.leftOut.push(l);
      for (const c of m.classes) {
        if (classes.has(c)) continue;
        classes.add(c);
        w.classes.push(c);
      }
    } else if (v instanceof PyDict) {
      stack.push({ path, entries: v.entries(), i: 0 });
    } else if (Array.isArray(v) || v instanceof PyTuple) {
      stack.push({ path, items: Array.isArray(v) ? v : v.items, i: 0 });
    } else if (v instanceof PyObject && v.state instanceof PyDict && graph.reachesTensor(v.state)) {
      // Module objects (TorchScript) and similar: their attributes.
      stack.push({ path, entries: v.state.entries(), attributes: true, i: 0 });
    } else if (path !== '') {
      budget.name(path);
      w.leftOut.push({ path, what: summarize(v, graph) });
    }
  };
  visit(start, '');
  while (stack.length > 0) {
    const c = stack[stack.length - 1]!;
    if (c.items) {
      if (c.i < c.items.length) {
        const i = c.i++;
        visit(c.items[i]!, join(c.path, i));
      } else stack.pop();
      continue;
    }
    const next = c.entries!.next();
    if (next.done) {
      stack.pop();
      continue;
    }
    const [k, x] = next.value;
    budget.visit();
    if (c.attributes && typeof k === 'string' && k.startsWith('_') && !graph.reachesTensor(x)) continue;
    visit(x, join(c.path, k));
  }
}

function isTensor(v: PyValue | undefined): boolean {
  return v instanceof TorchTensor || v instanceof TorchUnsupported;
}

/** The values a value holds, as the walks see them: dict values, list and tuple items, an object's state. */
function childrenOf(v: PyValue): readonly PyValue[] {
  if (v instanceof PyDict) return [...v.values()];
  if (Array.isArray(v)) return v;
  if (v instanceof PyTuple) return v.items;
  if ((v instanceof PyObject || v instanceof PyOpaque) && v.state !== undefined) return [v.state];
  return [];
}

/**
 * The checkpoint's object as a graph, for questions the walks ask of many values: which values
 * hold a tensor somewhere inside (computed once for all, in time linear in the graph, by walking
 * back from the tensors), and which objects are modules (each state checked once).
 */
class Graph {
  readonly states: ModuleStates;
  private reach: Set<object> | undefined;

  constructor(
    private readonly root: PyValue,
    readonly budget: WalkBudget,
  ) {
    this.states = new ModuleStates(budget);
  }

  /** True when a tensor can be reached from `v` (`v` itself included). */
  reachesTensor(v: PyValue | undefined): boolean {
    if (isTensor(v)) return true;
    if (typeof v !== 'object' || v === null) return false;
    this.reach ??= this.computeReach();
    // A value not reachable from the root (a key's value looked up by --key is) gets its own pass.
    return this.reach.has(v) || (!this.known!.has(v) && this.computeReach(v).has(v));
  }

  private known: Set<object> | undefined;

  /** Every value from which a tensor is reachable: parents recorded on the way down, then walked back up from the tensors. */
  private computeReach(from: PyValue = this.root): Set<object> {
    const parents = new Map<object, object[]>();
    const seen = new Set<object>();
    const tensors: object[] = [];
    const stack: PyValue[] = [from];
    while (stack.length > 0) {
      const v = stack.pop()!;
      if (typeof v !== 'object' || v === null || seen.has(v)) continue;
      seen.add(v);
      this.budget.visit();
      if (isTensor(v)) {
        tensors.push(v);
        continue;
      }
      const kids = childrenOf(v);
      this.budget.visit(kids.length);
      for (const x of kids) {
        if (typeof x !== 'object' || x === null) continue;
        let p = parents.get(x);
        if (!p) parents.set(x, (p = []));
        p.push(v);
        stack.push(x);
      }
    }
    const reach = new Set<object>(tensors);
    const queue = [...tensors];
    while (queue.length > 0) {
      const x = queue.pop()!;
      for (const p of parents.get(x) ?? []) {
        if (reach.has(p)) continue;
        reach.add(p);
        queue.push(p);
      }
    }
    if (from === this.root) this.known = seen;
    return reach;
  }
}

/** `dict of 3 (2 tensors)`, `int 3`, `placeholder for omegaconf.DictConfig`. */
function summarize(v: PyValue, graph: Graph): string {
  const tensors = countTensors(v, graph);
  return tensors > 0 ? `${describe(v)} holding ${tensors} tensor${tensors === 1 ? '' : 's'}` : describe(v);
}

/** Distinct tensors reachable from `v`: only values that hold one are entered, each once; counted against the walk budget. */
function countTensors(v: PyValue, graph: Graph): number {
  if (!graph.reachesTensor(v)) return 0;
  const seen = new Set<object>();
  const stack: PyValue[] = [v];
  let n = 0;
  while (stack.length > 0) {
    const x = stack.pop()!;
    if (typeof x !== 'object' || x === null || seen.has(x) || !graph.reachesTensor(x)) continue;
    seen.add(x);
    graph.budget.visit();
    if (isTensor(x)) {
      n++;
      continue;
    }
    const kids = childrenOf(x);
    graph.budget.visit(kids.length);
    for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]!);
  }
  return n;
}

function topKeys(v: PyValue): string {
  if (!(v instanceof PyDict)) return '';
  const keys: string[] = [];
  for (const k of v.keys()) {
    if (keys.length === 12) break;
    const text = typeof k === 'string' || typeof k === 'number' ? String(k) : describe(k);
    keys.push(text.length > 80 ? text.slice(0, 80) + '…' : text);
  }
  return `; keys: ${keys.join(', ')}${v.size > 12 ? ', …' : ''}`;
}
