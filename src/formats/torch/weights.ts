import type { ByteSource } from '../../io/byte-source.js';
import { stridedChunks } from '../../tensor/strided.js';
import { DEFAULT_CHUNK_BYTES, type LeftOut, type TensorEntry, type TensorSet } from '../../tensor/tensor-set.js';
import { describe, PyDict, PyObject, PyOpaque, PyTuple, type PyValue } from '../pickle/values.js';
import { readTorchCheckpoint, type ReadCheckpointOptions, type TorchCheckpoint } from './checkpoint.js';
import { CheckpointError } from './errors.js';
import { moduleStateOf, moduleTensors } from './modules.js';
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
  const leftOut: LeftOut[] = [];
  let weights: PyValue;
  let weightsPath: string;
  if (options.key !== undefined) {
    weightsPath = options.key;
    weights = resolvePath(root, options.key, source.name);
    leftOut.push(...siblings(root, options.key));
  } else {
    const chosen = findWeights(root);
    weightsPath = chosen;
    weights = chosen === '' ? root : (root as PyDict).get(chosen)!;
    if (chosen !== '') leftOut.push(...siblings(root, chosen));
  }
  const walked: Walk = { file: source.name, found: [], leftOut, classes: [], seen: new Set() };
  walk(weights, '', walked);
  const { found, classes } = walked;
  if (found.length === 0) {
    throw new CheckpointError(
      'NoTensors',
      `${source.name}: no tensors ${weightsPath ? `under \`${weightsPath}\`` : 'in the checkpoint'} (it holds ${describe(root)}${topKeys(root)})`,
      { location: source.name },
    );
  }
  const names = new Set<string>();
  const ids = new Map<TorchStorage, number>();
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
    return entryOf(path, value, ids, source.name);
  });
  for (const p of checkpoint.placeholders) leftOut.push({ path: p.location, what: `placeholder for ${p.global}` });
  const notes = [...checkpoint.notes];
  if (classes.length > 0) {
    notes.push(`the weights are a module tree, named as its state_dict() names them; module classes met (read as data, never imported): ${classes.join(', ')}`);
  }
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
  const view = { base, elementSize: t.dtype.size, shape: t.shape, stride: t.stride, swap: storage.bigEndian ? t.dtype.swapUnit : 0 };
  return {
    name,
    dtype,
    shape,
    byteLength: elements * t.dtype.size,
    aliasKey,
    chunks: (chunkBytes = DEFAULT_CHUNK_BYTES) => stridedChunks(source, view, chunkBytes),
  };
}

/** Where the weights are: '' (the object itself) or a top-level key. */
function findWeights(root: PyValue): string {
  if (!(root instanceof PyDict)) return '';
  const values = [...root.entries()];
  if (values.some(([, v]) => isTensor(v))) return '';
  for (const key of WEIGHT_KEYS) {
    const v = root.get(key);
    if (v !== undefined && containsTensor(v)) return key;
  }
  const holding = values.filter(([k, v]) => typeof k === 'string' && containsTensor(v));
  if (holding.length === 1) return holding[0]![0] as string;
  return '';
}

/** Follows `a.b.c` into nested dicts, lists and objects; a key may itself contain dots. */
function resolvePath(root: PyValue, path: string, file: string): PyValue {
  let node = root;
  let rest = path;
  while (rest !== '') {
    const module = moduleStateOf(node);
    const container = module ? moduleView(module) : node instanceof PyObject || node instanceof PyOpaque ? node.state : node;
    let next: PyValue | undefined;
    let consumed = '';
    if (container instanceof PyDict) {
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
function siblings(root: PyValue, chosen: string): LeftOut[] {
  if (!(root instanceof PyDict)) return [];
  const top = chosen.split('.')[0];
  return [...root.entries()].filter(([k]) => String(k) !== chosen && String(k) !== top).map(([k, v]) => ({ path: String(k), what: summarize(v) }));
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
  readonly seen: Set<object>;
}

/** Collects tensors by path (a module tree by its state_dict names); everything else is left out, once per path. */
function walk(v: PyValue, path: string, w: Walk): void {
  if (v instanceof TorchTensor || v instanceof TorchUnsupported) {
    w.found.push({ path, value: v });
    return;
  }
  if (typeof v === 'object' && v !== null) {
    if (w.seen.has(v)) return;
    w.seen.add(v);
  }
  const join = (k: PyValue): string => (path === '' ? String(k) : `${path}.${String(k)}`);
  if ((v instanceof PyObject || v instanceof PyOpaque) && moduleStateOf(v)) {
    // A whole model (torch.save(model)): exactly what model.state_dict() holds.
    const m = moduleTensors(v, path, w.file);
    // One at a time: a spread of up to MAX_MODULE_NAMES arguments would overflow the call stack.
    for (const f of m.found) w.found.push(f);
    for (const l of m.leftOut) w.leftOut.push(l);
    for (const c of m.classes) if (!w.classes.includes(c)) w.classes.push(c);
  } else if (v instanceof PyDict) {
    for (const [k, x] of v.entries()) walk(x, join(k), w);
  } else if (Array.isArray(v) || v instanceof PyTuple) {
    (Array.isArray(v) ? v : v.items).forEach((x, i) => walk(x, join(i), w));
  } else if (v instanceof PyObject && v.state instanceof PyDict && containsTensor(v.state)) {
    // Module objects (TorchScript) and similar: their attributes.
    for (const [k, x] of v.state.entries()) {
      if (typeof k === 'string' && k.startsWith('_') && !isTensor(x) && !containsTensor(x)) continue;
      walk(x, join(k), w);
    }
  } else if (path !== '') {
    w.leftOut.push({ path, what: summarize(v) });
  }
}

function isTensor(v: PyValue | undefined): boolean {
  return v instanceof TorchTensor || v instanceof TorchUnsupported;
}

function containsTensor(v: PyValue): boolean {
  return countTensors(v, new Set(), 1) > 0;
}

/** `dict of 3 (2 tensors)`, `int 3`, `placeholder for omegaconf.DictConfig`. */
function summarize(v: PyValue): string {
  const tensors = countTensors(v, new Set());
  return tensors > 0 ? `${describe(v)} holding ${tensors} tensor${tensors === 1 ? '' : 's'}` : describe(v);
}

/** Tensors reachable from `v` (each container visited once), counting stops at `limit`. */
function countTensors(v: PyValue, seen: Set<object>, limit = Infinity): number {
  if (isTensor(v)) return 1;
  if (typeof v !== 'object' || v === null || seen.has(v)) return 0;
  seen.add(v);
  let children: Iterable<PyValue> = [];
  if (v instanceof PyDict) children = [...v.entries()].map(([, x]) => x);
  else if (Array.isArray(v)) children = v;
  else if (v instanceof PyTuple) children = v.items;
  else if ((v instanceof PyObject || v instanceof PyOpaque) && v.state !== undefined) children = [v.state];
  let n = 0;
  for (const x of children) {
    n += countTensors(x, seen, limit - n);
    if (n >= limit) break;
  }
  return n;
}

function topKeys(v: PyValue): string {
  if (!(v instanceof PyDict)) return '';
  const keys = v.keys().map(String);
  return `; keys: ${keys.slice(0, 12).join(', ')}${keys.length > 12 ? ', …' : ''}`;
}
