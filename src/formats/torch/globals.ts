import type { CallContext, GlobalHandler } from '../pickle/machine.js';
import { BUILTIN_HANDLERS } from '../pickle/builtins.js';
import { asInt, describe, PyDict, PyGlobal, PyObject, PyTuple, sequenceItems, type PyValue } from '../pickle/values.js';
import { torchDtype, type TorchDtype } from './dtypes.js';
import { torchModuleHandler } from './modules.js';
import { TorchStorage, TorchTensor, TorchUnsupported } from './values.js';

/**
 * torch's rebuild functions reproduced as data: each builds a TorchTensor (a view of a storage)
 * from the arguments torch.save wrote, after checking them (CVE-2026-24747: a view must lie
 * inside its storage).
 */

/**
 * Dimensions of one tensor: torch's own kernels stop far below; bounds the work of checking a size
 * and stride that a pickle passes to many rebuilds (same bound as the tar format's tensor records).
 */
export const MAX_TENSOR_DIMS = 64;

function ints(v: PyValue | undefined, what: string, ctx: CallContext): number[] {
  const items = sequenceItems(v);
  if (!items) return ctx.fail('InvalidPickle', `${what} must be a tuple of integers, got ${describe(v)}`);
  if (items.length > MAX_TENSOR_DIMS) return ctx.fail('PickleLimit', `${what} has ${items.length} dimensions, more than ${MAX_TENSOR_DIMS}`);
  return items.map((x) => {
    const n = asInt(x);
    if (n === undefined || n < 0) return ctx.fail('InvalidPickle', `${what} holds ${describe(x)}, not a non-negative integer`);
    return n;
  });
}

export function tensorFrom(storage: PyValue | undefined, offset: PyValue | undefined, size: PyValue | undefined, stride: PyValue | undefined, dtype: TorchDtype | undefined, ctx: CallContext): TorchTensor {
  if (!(storage instanceof TorchStorage)) return ctx.fail('InvalidPickle', `a tensor is rebuilt from ${describe(storage)}, not from a storage`);
  const start = asInt(offset);
  if (start === undefined || start < 0) return ctx.fail('InvalidPickle', `storage offset ${describe(offset)} is not a non-negative integer`);
  const shape = ints(size, 'tensor size', ctx);
  const strides = ints(stride, 'tensor stride', ctx);
  if (shape.length !== strides.length) return ctx.fail('InvalidPickle', `tensor size has ${shape.length} dimensions but stride has ${strides.length}`);
  const type = dtype ?? storage.dtype;
  // Elements of the tensor's dtype the storage holds (an untyped storage counts bytes).
  const capacity = Math.floor(storage.byteLength / type.size);
  const elements = shape.reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(elements)) return ctx.fail('InvalidPickle', `tensor size [${shape.join(', ')}] is too large`);
  if (elements > 0) {
    let last = start;
    shape.forEach((n, d) => (last += (n - 1) * strides[d]!));
    if (!Number.isSafeInteger(last) || last >= capacity) {
      return ctx.fail(
        'InvalidPickle',
        `a tensor of size [${shape.join(', ')}], stride [${strides.join(', ')}] at offset ${start} reaches element ${last} of storage ${storage.key}, which holds ${capacity}`,
      );
    }
  }
  return new TorchTensor(storage, start, shape, strides, type, `${ctx.where}@${ctx.offset}`);
}

const unsupported = (reason: string): GlobalHandler => ({ call: (_args, ctx) => new TorchUnsupported(reason, `${ctx.where}@${ctx.offset}`) });

/** A tensor argument passed through (Parameter wrappers); unsupported tensors stay unsupported. */
const passTensor = (what: string): GlobalHandler => {
  const pass = (args: readonly PyValue[], ctx: CallContext): PyValue => {
    const data = args[0];
    if (data instanceof TorchTensor) {
      data.isParameter = true;
      return data;
    }
    if (data instanceof TorchUnsupported) return data;
    return ctx.fail('InvalidPickle', `${what} of ${describe(data)}, not a tensor`);
  };
  return { call: pass, newobj: (args, _kwargs, ctx) => pass(args, ctx) };
};

function dtypeArg(v: PyValue | undefined, ctx: CallContext): TorchDtype {
  const dtype = v instanceof PyGlobal && v.module === 'torch' ? torchDtype(v.name) : undefined;
  return dtype ?? ctx.fail('InvalidPickle', `${describe(v)} is not a torch dtype`);
}

const handlers = new Map<string, GlobalHandler>(BUILTIN_HANDLERS);

handlers.set('torch._utils._rebuild_tensor', { call: ([s, o, size, stride], ctx) => tensorFrom(s, o, size, stride, undefined, ctx) });
handlers.set('torch._utils._rebuild_tensor_v2', { call: ([s, o, size, stride], ctx) => tensorFrom(s, o, size, stride, undefined, ctx) });
handlers.set('torch._utils._rebuild_tensor_v3', {
  call: (args, ctx) => tensorFrom(args[0], args[1], args[2], args[3], dtypeArg(args[6], ctx), ctx),
});
handlers.set('torch._utils._rebuild_parameter', passTensor('_rebuild_parameter'));
handlers.set('torch._utils._rebuild_parameter_with_state', passTensor('_rebuild_parameter_with_state'));
handlers.set('torch.nn.parameter.Parameter', passTensor('Parameter'));
handlers.set('torch._utils._rebuild_device_tensor_from_cpu_tensor', passTensor('_rebuild_device_tensor_from_cpu_tensor'));
handlers.set('torch._tensor._rebuild_from_type_v2', {
  // (func, new_type, args, state): a tensor subclass or a tensor with attributes; rebuild with func.
  call(args, ctx) {
    const [func, , inner] = args;
    const items = sequenceItems(inner);
    const handler = func instanceof PyGlobal ? handlers.get(func.qualifiedName) : undefined;
    if (!handler?.call || !items) return ctx.fail('InvalidPickle', `_rebuild_from_type_v2 with ${describe(func)}`);
    return handler.call(items, ctx);
  },
});
handlers.set('torch._utils._rebuild_qtensor', unsupported('a quantized tensor'));
handlers.set('torch._utils._rebuild_sparse_tensor', unsupported('a sparse tensor'));
handlers.set('torch._utils._rebuild_sparse_csr_tensor', unsupported('a sparse CSR tensor'));
handlers.set('torch._utils._rebuild_meta_tensor_no_storage', unsupported('a meta tensor, which has no data'));
handlers.set('torch._utils._rebuild_wrapper_subclass', unsupported('a tensor wrapper subclass'));
handlers.set('torch._utils._rebuild_nested_tensor', unsupported('a nested tensor'));
handlers.set('torch._utils._rebuild_device_tensor_from_numpy', unsupported('a device tensor stored as a numpy array'));
// TorchScript's typed containers (torch/jit/_pickle.py): each returns the list or dict it is given.
handlers.set('torch.jit._pickle.restore_type_tag', {
  call: ([value], ctx) => (Array.isArray(value) || value instanceof PyDict ? value : ctx.fail('InvalidPickle', `restore_type_tag of ${describe(value)}, not a list or dict`)),
});
for (const f of ['build_intlist', 'build_tensorlist', 'build_doublelist', 'build_boollist']) {
  handlers.set(`torch.jit._pickle.${f}`, { call: ([value], ctx) => (Array.isArray(value) ? value : ctx.fail('InvalidPickle', `${f} of ${describe(value)}, not a list`)) });
}
handlers.set('torch.Size', {
  call: ([dims], ctx) => new PyTuple(ints(dims ?? new PyTuple([]), 'torch.Size', ctx)),
});
handlers.set('torch.device', { call: (args) => new PyObject(new PyGlobal('torch', 'device'), args) });
handlers.set('torch.serialization._get_layout', { call: ([name]) => (typeof name === 'string' ? name : null) });

/** Handlers for every global of a PyTorch checkpoint's pickle (Python builtins and numpy included). */
export const TORCH_HANDLERS: ReadonlyMap<string, GlobalHandler> = handlers;

/**
 * Handlers for families of names: torch.nn.modules classes always (module records), TorchScript's
 * `__torch__.*` classes in TorchScript archives.
 */
export function torchHandlerFor(torchscript: boolean): (qualifiedName: string) => GlobalHandler | undefined {
  return (name) => torchModuleHandler(name) ?? (torchscript ? torchScriptHandler(name) : undefined);
}

/** TorchScript archives name their module classes `__torch__.*`: kept as plain objects, their code never read. */
export function torchScriptHandler(qualifiedName: string): GlobalHandler | undefined {
  if (!qualifiedName.startsWith('__torch__.')) return undefined;
  const [module, name] = [qualifiedName.slice(0, qualifiedName.lastIndexOf('.')), qualifiedName.slice(qualifiedName.lastIndexOf('.') + 1)];
  const make = (args: readonly PyValue[]): PyValue => new PyObject(new PyGlobal(module, name), args);
  return { call: make, newobj: make };
}
