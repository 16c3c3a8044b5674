import type { LeftOut } from '../../tensor/tensor-set.js';
import { describe, PyDict, PyObject, PyTuple, type PyValue } from '../pickle/values.js';
import type { TorchScriptParts } from './checkpoint.js';
import { CheckpointError } from './errors.js';
import { MAX_MODULE_NAMES } from './modules.js';
import type { ScriptClass } from './script-classes.js';
import { clip, type WalkBudget } from './visits.js';
import { TorchTensor, TorchUnsupported } from './values.js';

/**
 * A TorchScript archive's weights, named as `torch.jit.load(f).state_dict()` names them. data.pkl
 * holds the module tree as objects of `__torch__.*` classes whose state is every attribute alike;
 * a class's declaration (script-classes.ts) says which attributes are parameters and buffers. As
 * torch does: each module's parameters in attribute order, then its buffers (TorchScript keeps no
 * non-persistent set: every declared buffer is listed), then its submodules under `name.`, depth
 * first; a parameter shared by two modules is listed under both names (one tensor).
 *
 * Then the tensors of constants.pkl, which no state_dict lists (a frozen module has nothing else),
 * named `constants.<index in constants.pkl's tuple>`.
 *
 * TorchScript custom classes (`__torch__.torch.classes.*`: quantized packed parameters, set by
 * their `__setstate__` in torch) hold weights in a layout only their C++ code knows: met anywhere in
 * the tree or among the constants, they are kept as unsupported under their path, so that opening
 * refuses the file naming them.
 */

export interface ScriptTensors {
  found: { path: string; value: TorchTensor | TorchUnsupported }[];
  leftOut: LeftOut[];
  /** Module objects in the tree (a shared one counted per name), and their distinct classes. */
  modules: number;
  classes: string[];
}

/** The prefix under which constants.pkl's tensors are named. */
export const CONSTANTS_PREFIX = 'constants';

const CUSTOM_CLASS = '__torch__.torch.classes.';

const isTensor = (v: PyValue | undefined): v is TorchTensor | TorchUnsupported => v instanceof TorchTensor || v instanceof TorchUnsupported;

/** The declared module class of `v` (its lists of parameters and buffers possibly unreadable), when `v` is an object of one. */
function moduleClass(v: PyValue | undefined, classes: ReadonlyMap<string, ScriptClass>): ScriptClass | undefined {
  if (!(v instanceof PyObject)) return undefined;
  const decl = classes.get(v.cls.qualifiedName);
  return decl?.module ? decl : undefined;
}

const hasLists = (decl: ScriptClass | undefined): boolean => decl?.parameters !== undefined && decl.buffers !== undefined;

/** True when the root of data.pkl is a module whose class code/ declares: the walk below applies. */
export function isDeclaredScriptModule(root: PyValue, script: TorchScriptParts): boolean {
  return hasLists(moduleClass(root, script.classes)) && (root as PyObject).state instanceof PyDict;
}

function customClassValue(v: PyObject, location: string): TorchUnsupported {
  return new TorchUnsupported(
    `a TorchScript custom class object (${v.cls.qualifiedName}${/quantized\..*PackedParams/.test(v.cls.qualifiedName) ? ': quantized packed parameters' : ''}, set by its __setstate__)`,
    location,
  );
}

/** The state_dict of the module tree at `root`, as torch.jit.load's module lists it. */
export function scriptModuleTensors(root: PyObject, script: TorchScriptParts, file: string, budget: WalkBudget, holdsTensor: (v: PyValue) => boolean): ScriptTensors {
  const out: ScriptTensors = { found: [], leftOut: [], modules: 0, classes: [] };
  const classNames = new Set<string>();
  const nameSets = new Map<ScriptClass, { params: Set<string>; buffers: Set<string> }>();
  const ancestors = new Set<object>();
  const join = (p: string, name: string): string => (p === '' ? name : `${p}.${name}`);
  const found = (path: string, value: TorchTensor | TorchUnsupported): void => {
    budget.name(path);
    out.found.push({ path, value });
  };
  type Frame = { enter: PyObject; decl: ScriptClass; path: string } | { exit: object };
  const stack: Frame[] = [{ enter: root, decl: moduleClass(root, script.classes)!, path: '' }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    if ('exit' in frame) {
      ancestors.delete(frame.exit);
      continue;
    }
    const { enter: m, decl, path } = frame;
    if (++out.modules > MAX_MODULE_NAMES) {
      throw new CheckpointError('CheckpointLimit', `${file}: the module tree makes more than ${MAX_MODULE_NAMES} names (MAX_MODULE_NAMES: submodules shared many times over), at \`${clip(path)}\``, {
        location: clip(path),
      });
    }
    if (ancestors.has(m)) throw new CheckpointError('InvalidCheckpoint', `${file}: module \`${clip(path)}\` contains itself, so it has no state_dict`, { location: clip(path) });
    ancestors.add(m);
    if (!classNames.has(m.cls.qualifiedName)) {
      classNames.add(m.cls.qualifiedName);
      out.classes.push(m.cls.qualifiedName);
    }
    const state = m.state as PyDict;
    budget.visit(1 + state.size);
    // One set per class, however many modules share it (a hostile archive may list many names).
    let sets = nameSets.get(decl);
    if (!sets) {
      budget.visit(decl.parameters!.length + decl.buffers!.length);
      sets = { params: new Set(decl.parameters), buffers: new Set(decl.buffers) };
      nameSets.set(decl, sets);
    }
    const { params, buffers } = sets;
    budget.visit(2 * state.size);
    const declared = (kind: Set<string>, what: string): void => {
      for (const [k, v] of state.entries()) {
        if (typeof k !== 'string' || !kind.has(k) || v === null) continue;
        if (!isTensor(v)) {
          throw new CheckpointError('InvalidCheckpoint', `${file}: \`${clip(join(path, k))}\` is declared a ${what} of ${m.cls.qualifiedName} but holds ${describe(v)}, not a tensor`, {
            location: clip(join(path, k)),
          });
        }
        found(join(path, k), v);
      }
    };
    declared(params, 'parameter');
    declared(buffers, 'buffer');
    const children: { child: PyObject; decl: ScriptClass; path: string }[] = [];
    for (const [k, v] of state.entries()) {
      if (typeof k !== 'string' || params.has(k) || buffers.has(k)) continue;
      const at = join(path, k);
      const childDecl = moduleClass(v, script.classes);
      if (childDecl && !hasLists(childDecl)) {
        // Which attributes are weights is unknown: refused rather than guessed.
        throw new CheckpointError('InvalidCheckpoint', `${file}: \`${clip(at)}\` is a module of class ${(v as PyObject).cls.qualifiedName}, whose declaration in code/ has no __parameters__ and __buffers__ lines as torch writes them`, {
          location: clip(at),
        });
      } else if (childDecl && (v as PyObject).state instanceof PyDict) children.push({ child: v as PyObject, decl: childDecl, path: at });
      else if (childDecl) {
        // Its pickled state is what its own __getstate__ made; only its __setstate__ code (never run) knows the attributes.
        const cls = (v as PyObject).cls.qualifiedName;
        found(at, new TorchUnsupported(`a ${cls} module whose state is set by its own __setstate__ code${/quantized/.test(cls) ? ' (a quantized module)' : ''}`, at));
      }
      else if (v instanceof PyObject && v.cls.qualifiedName.startsWith(CUSTOM_CLASS)) found(at, customClassValue(v, at));
      else if (v instanceof PyObject && v.cls.module.startsWith('__torch__') && !script.classes.has(v.cls.qualifiedName)) {
        // torch.jit.load would find no such class: whether it is a module (and what its weights are) is unknown.
        throw new CheckpointError('InvalidCheckpoint', `${file}: \`${clip(at)}\` is an object of class ${v.cls.qualifiedName}, which the archive's code/ does not declare`, {
          location: clip(at),
        });
      }
      else if (isTensor(v)) {
        budget.name(at);
        out.leftOut.push({ path: at, what: 'tensor attribute (not in the state_dict)' });
      } else if (typeof v === 'object' && v !== null && holdsTensor(v)) {
        budget.name(at);
        out.leftOut.push({ path: at, what: `${describe(v)} holding tensors, not a module (not in the state_dict)` });
      }
    }
    stack.push({ exit: m });
    for (let i = children.length - 1; i >= 0; i--) {
      const c = children[i]!;
      stack.push({ enter: c.child, decl: c.decl, path: c.path });
    }
  }
  return out;
}

/** constants.pkl's tensors (and custom class objects, to be refused by name) as `constants.<index>`. */
export function scriptConstants(script: TorchScriptParts, budget: WalkBudget): { path: string; value: TorchTensor | TorchUnsupported }[] {
  const { constants } = script;
  const items = constants instanceof PyTuple ? constants.items : Array.isArray(constants) ? constants : [];
  const out: { path: string; value: TorchTensor | TorchUnsupported }[] = [];
  budget.visit(items.length);
  items.forEach((v, i) => {
    const path = `${CONSTANTS_PREFIX}.${i}`;
    if (isTensor(v)) out.push({ path, value: v });
    else if (v instanceof PyObject && v.cls.qualifiedName.startsWith(CUSTOM_CLASS)) out.push({ path, value: customClassValue(v, path) });
    else return;
    budget.name(path);
  });
  return out;
}
