import type { AdoptClasses, GlobalHandler } from '../pickle/machine.js';
import { describe, PyDict, PyGlobal, PyObject, PyOpaque, PySet, type PyValue } from '../pickle/values.js';
import type { LeftOut } from '../../tensor/tensor-set.js';
import { CheckpointError } from './errors.js';
import { clip, WalkBudget } from './visits.js';
import { TorchTensor, TorchUnsupported } from './values.js';

/**
 * Whole-model pickles (`torch.save(model)`): the module tree as data. An `nn.Module` pickles as its
 * class (NEWOBJ with no arguments) and its `__dict__` (BUILD), which holds `_parameters`,
 * `_buffers` and `_modules` (ordered dicts) and `_non_persistent_buffers_set`. The weights are what
 * `model.state_dict()` returns, read from those dicts; the class is only ever a name.
 */

/**
 * Names (of modules and of tensors) made while naming a module tree's tensors: a submodule shared
 * under two names is named twice, as torch does, so sharing nested k deep makes 2^k names.
 */
export const MAX_MODULE_NAMES = 1_000_000;

/** torch's own module classes (`torch.nn.modules.linear.Linear`): known records, never code. */
const TORCH_MODULE_CLASS = /^torch\.nn\.modules\.[a-z_][a-z0-9_]*\.[A-Z][A-Za-z0-9_]*$/;

export function isTorchModuleClass(qualifiedName: string): boolean {
  return TORCH_MODULE_CLASS.test(qualifiedName);
}

/** torch.nn.modules classes: an instance is a plain record of its class, its state set by BUILD. */
export function torchModuleHandler(qualifiedName: string): GlobalHandler | undefined {
  if (!isTorchModuleClass(qualifiedName)) return undefined;
  const dot = qualifiedName.lastIndexOf('.');
  const cls = new PyGlobal(qualifiedName.slice(0, dot), qualifiedName.slice(dot + 1));
  const make = (args: readonly PyValue[]): PyValue => new PyObject(cls, args);
  return { call: make, newobj: make };
}

const isTensor = (v: PyValue | undefined): v is TorchTensor | TorchUnsupported => v instanceof TorchTensor || v instanceof TorchUnsupported;
const isObject = (v: PyValue | undefined): v is PyObject | PyOpaque => v instanceof PyObject || v instanceof PyOpaque;

/** A dict whose keys are all strings and whose values all pass `ok`. */
function namedDict(v: PyValue | undefined, ok: (x: PyValue) => boolean): v is PyDict {
  if (!(v instanceof PyDict)) return false;
  for (const [k, x] of v.entries()) if (typeof k !== 'string' || !ok(x)) return false;
  return true;
}

/**
 * True for the state of a module object: a dict with `_parameters` and `_buffers` (names to
 * tensors or None), `_modules` (names to objects or None) and, when present,
 * `_non_persistent_buffers_set` (a set of names).
 */
export function isModuleState(state: PyValue | undefined): state is PyDict {
  if (!(state instanceof PyDict)) return false;
  const tensorOrNone = (x: PyValue): boolean => x === null || isTensor(x);
  if (!namedDict(state.get('_parameters'), tensorOrNone) || !namedDict(state.get('_buffers'), tensorOrNone)) return false;
  if (!namedDict(state.get('_modules'), (x) => x === null || isObject(x))) return false;
  const np = state.get('_non_persistent_buffers_set');
  return np === undefined || (np instanceof PySet && np.items.every((x) => typeof x === 'string'));
}

/** Unknown classes used only as module objects are read as data (see MachineOptions.adoptClasses). */
export const MODULE_CLASSES: AdoptClasses = { accepts: isModuleState, what: 'torch module object' };

/** The state of a module object, or undefined when `v` is not one. */
export function moduleStateOf(v: PyValue | undefined, states?: ModuleStates): PyDict | undefined {
  if (!isObject(v)) return undefined;
  const ok = states ? states.check(v.state) : isModuleState(v.state);
  return ok ? (v.state as PyDict) : undefined;
}

/**
 * isModuleState for the walks after loading, when nothing changes any more: each distinct state is
 * checked once (many objects may share one large state), its items counted against the budget.
 */
export class ModuleStates {
  private readonly known = new Map<PyDict, boolean>();

  constructor(private readonly budget: WalkBudget) {}

  check(state: PyValue | undefined): boolean {
    if (!(state instanceof PyDict)) return false;
    let ok = this.known.get(state);
    if (ok === undefined) {
      this.budget.visit(1 + state.size);
      ok = isModuleState(state);
      this.known.set(state, ok);
    }
    return ok;
  }
}

/** The class name of a module object. */
export function moduleClassOf(v: PyObject | PyOpaque): string {
  if (v instanceof PyObject) return v.cls.qualifiedName;
  return v.callee instanceof PyGlobal ? v.callee.qualifiedName : describe(v.callee);
}

export interface ModuleTensors {
  /** `a.b.weight` → tensor, in `state_dict()` order. */
  found: { path: string; value: TorchTensor | TorchUnsupported }[];
  /** What the modules hold besides their state dict (plain tensor attributes, objects in `_modules` that are not modules). */
  leftOut: LeftOut[];
  /** Classes of the module objects met, in the order first met. */
  classes: string[];
}

/**
 * The tensors `module.state_dict()` returns, by name: each module's parameters (None skipped),
 * then its persistent buffers (None and `_non_persistent_buffers_set` skipped), then its children
 * under `name.`, depth first. As in torch, a submodule reachable under two names is listed under
 * both, and a parameter shared by two modules appears under both names (one tensor: tied weights).
 * Iterative (a module nested a million deep is a stack of frames, not of calls); every name and
 * every item looked at is counted against MAX_MODULE_NAMES and the walk budget.
 */
export function moduleTensors(root: PyObject | PyOpaque, prefix: string, file: string, budget = new WalkBudget(file), states = new ModuleStates(budget)): ModuleTensors {
  const out: ModuleTensors = { found: [], leftOut: [], classes: [] };
  const classes = new Set<string>();
  const ancestors = new Set<object>();
  let names = 0;
  const count = (path: string): void => {
    if (++names > MAX_MODULE_NAMES) {
      throw new CheckpointError('CheckpointLimit', `${file}: the module tree makes more than ${MAX_MODULE_NAMES} names (MAX_MODULE_NAMES: submodules shared many times over), at \`${clip(path)}\``, {
        location: clip(path),
      });
    }
  };
  const join = (p: string, name: string): string => (p === '' ? name : `${p}.${name}`);
  const found = (path: string, value: PyValue): void => {
    budget.name(path);
    out.found.push({ path, value: value as TorchTensor | TorchUnsupported });
  };
  const leftOut = (path: string, what: string): void => {
    budget.name(path);
    out.leftOut.push({ path, what });
  };

  type Frame = { enter: PyObject | PyOpaque; state: PyDict; path: string } | { exit: object } | { other: PyValue; path: string };
  const stack: Frame[] = [{ enter: root, state: moduleStateOf(root, states)!, path: prefix }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    if ('exit' in frame) {
      ancestors.delete(frame.exit);
      continue;
    }
    if ('other' in frame) {
      const child = frame.other as PyObject | PyOpaque;
      leftOut(frame.path, `${describe(child)} in _modules, not read as a module (its state is ${describe(child.state)})`);
      continue;
    }
    const { enter: m, state, path } = frame;
    count(path);
    budget.visit(1 + state.size);
    if (ancestors.has(m)) {
      throw new CheckpointError('InvalidCheckpoint', `${file}: module \`${clip(path)}\` contains itself, so it has no state_dict`, { location: clip(path) });
    }
    ancestors.add(m);
    const cls = moduleClassOf(m);
    if (!classes.has(cls)) {
      classes.add(cls);
      out.classes.push(cls);
    }
    const params = state.get('_parameters') as PyDict;
    const buffers = state.get('_buffers') as PyDict;
    const children = state.get('_modules') as PyDict;
    const np = state.get('_non_persistent_buffers_set');
    const nonPersistent = new Set(np instanceof PySet ? (np.items as string[]) : []);
    budget.visit(params.size + buffers.size + children.size + nonPersistent.size);
    for (const [k, v] of params.entries()) {
      if (v === null) continue;
      count(path);
      found(join(path, k as string), v);
    }
    for (const [k, v] of buffers.entries()) {
      if (v === null) continue;
      if (nonPersistent.has(k as string)) leftOut(join(path, k as string), 'non-persistent buffer (not in the state_dict)');
      else {
        count(path);
        found(join(path, k as string), v);
      }
    }
    // Tensors kept as plain attributes are not in the state dict: listed, not converted.
    for (const [k, v] of state.entries()) {
      if (typeof k === 'string' && !k.startsWith('_') && isTensor(v)) leftOut(join(path, k), 'tensor attribute (not in the state_dict)');
    }
    // Children depth first, in order: pushed in reverse, after the frame that leaves this module.
    stack.push({ exit: m });
    const kids = [...children.entries()];
    for (let i = kids.length - 1; i >= 0; i--) {
      const [k, child] = kids[i]!;
      if (child === null) continue;
      const childPath = join(path, k as string);
      const childState = moduleStateOf(child, states);
      stack.push(childState ? { enter: child as PyObject | PyOpaque, state: childState, path: childPath } : { other: child, path: childPath });
    }
  }
  return out;
}
