import { WindowSource, type ByteSource } from '../../io/byte-source.js';
import type { CallContext, MachineOptions } from '../pickle/machine.js';
import { asInt, describe, PyDict, PyGlobal, PyTuple, type PyValue } from '../pickle/values.js';
import type { ReadCheckpointOptions, TorchCheckpoint } from './checkpoint.js';
import { storageDtype } from './dtypes.js';
import { CheckpointError } from './errors.js';
import { TORCH_HANDLERS, torchHandlerFor } from './globals.js';
import { MODULE_CLASSES } from './modules.js';
import { unpickleAt } from './pickle-window.js';
import { TorchStorage } from './values.js';

/** The first pickle of a legacy checkpoint: torch.serialization's MAGIC_NUMBER, a literal integer. */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL_VERSION = 1001;

/**
 * The legacy format (torch ≤ 1.5, or `_use_new_zipfile_serialization=False`): five pickles in a row
 * (magic number, protocol version, sys_info, the object, the list of storage keys), then each
 * storage as an int64 element count and its raw bytes. A file whose first pickle is not the magic
 * number is read as a bare pickle.
 */
export async function readLegacyOrPickle(source: ByteSource, options: ReadCheckpointOptions): Promise<TorchCheckpoint> {
  const base: MachineOptions = { where: source.name, handlers: TORCH_HANDLERS, handlerFor: torchHandlerFor(false), adoptClasses: MODULE_CLASSES, skipUnknown: options.skipUnknown };
  const first = await unpickleAt(source, 0, base);
  // The magic must be a literal: a pickle that computes it (GHSA-97f8) names a global and is refused above.
  if (first.value !== LEGACY_MAGIC) {
    return { format: 'pickle', root: first.value, placeholders: first.placeholders, globals: first.globals, notes: first.end < source.size ? [`${source.size - first.end} bytes after the pickle were not read`] : [] };
  }
  const version = await unpickleAt(source, first.end, base);
  if (version.value !== LEGACY_PROTOCOL_VERSION) {
    throw invalid(source, `the legacy protocol version is ${describe(version.value)}, not ${LEGACY_PROTOCOL_VERSION}`, first.end);
  }
  const sysInfo = await unpickleAt(source, version.end, base);
  const littleEndian = sysInfo.value instanceof PyDict ? sysInfo.value.get('little_endian') : undefined;
  if (typeof littleEndian !== 'boolean') throw invalid(source, 'sys_info does not say whether the storages are little-endian', version.end);

  // Root storages by key, and views of them (view_metadata), created as the pickle names them.
  const roots = new Map<string, TorchStorage>();
  const views = new Map<string, TorchStorage>();
  const persistentLoad = (pid: PyValue, ctx: CallContext): PyValue => {
    const items = pid instanceof PyTuple ? pid.items : undefined;
    // torch's legacy writer refers to each nn.Module class as ('module', cls, source file, source code):
    // the class stands for itself; its source text is not read.
    if (items?.[0] === 'module' && items.length === 4 && items[1] instanceof PyGlobal) return items[1];
    if (!items || items[0] !== 'storage' || items.length !== 6) {
      return ctx.fail('InvalidPickle', `persistent id ${describe(pid)} is not a ('storage', type, key, location, numel, view) tuple`);
    }
    const [, type, key, location, rawNumel, view] = items;
    if (typeof key !== 'string') return ctx.fail('InvalidPickle', `storage key ${describe(key)} is not a string`);
    const dtype = type instanceof PyGlobal ? storageDtype(type.qualifiedName) : undefined;
    if (!dtype) return ctx.fail('InvalidPickle', `storage type ${describe(type)} is not a torch storage class`);
    const numel = asInt(rawNumel);
    if (numel === undefined || numel < 0) return ctx.fail('InvalidPickle', `storage size ${describe(rawNumel)} is not a non-negative integer`);
    let root = roots.get(key);
    if (!root) {
      root = new TorchStorage(key, dtype, numel, typeof location === 'string' ? location : 'cpu', !littleEndian);
      roots.set(key, root);
    }
    if (view === null || view === undefined) return root;
    const v = view instanceof PyTuple ? view.items : undefined;
    const viewKey = v?.[0];
    const offset = asInt(v?.[1]);
    const size = asInt(v?.[2]);
    if (typeof viewKey !== 'string' || offset === undefined || size === undefined || offset < 0 || size < 0 || offset + size > root.numel) {
      return ctx.fail('InvalidPickle', `storage view ${describe(view)} does not lie inside storage ${key} of ${root.numel} elements`);
    }
    let storage = views.get(viewKey);
    if (!storage) {
      storage = new TorchStorage(viewKey, root.dtype, size, root.location, root.bigEndian);
      storage.root = root;
      storage.rootOffset = offset * root.dtype.size;
      views.set(viewKey, storage);
    }
    return storage;
  };
  const main = await unpickleAt(source, sysInfo.end, { ...base, persistentLoad });
  const keyList = await unpickleAt(source, main.end, base);
  const keys = Array.isArray(keyList.value) ? keyList.value : undefined;
  if (!keys || !keys.every((k): k is string => typeof k === 'string')) throw invalid(source, 'the list of storage keys is not a list of strings', main.end);

  // The storages follow, in the order of the key list.
  let pos = keyList.end;
  for (const key of keys) {
    const storage = roots.get(key);
    if (!storage) throw invalid(source, `the data holds storage ${key}, which the pickle never names`, pos);
    if (pos + 8 > source.size) throw invalid(source, `storage ${key} is missing: the file ends at byte ${source.size}`, pos);
    const head = await source.read(pos, 8);
    const count = Number(new DataView(head.buffer, head.byteOffset, 8).getBigInt64(0, littleEndian));
    const bytes = count * storage.dtype.size;
    if (count !== storage.numel) throw invalid(source, `storage ${key} holds ${count} elements but the pickle declares ${storage.numel}`, pos);
    if (pos + 8 + bytes > source.size) throw invalid(source, `storage ${key} (${bytes} bytes) runs past the end of the file`, pos);
    storage.source = new WindowSource(source, pos + 8, bytes, `${source.name}:storage ${key}`);
    pos += 8 + bytes;
  }
  for (const [key, root] of roots) if (!root.source) throw invalid(source, `storage ${key} named by the pickle is not in the data`, pos);
  if (pos !== source.size) throw invalid(source, `${source.size - pos} bytes follow the last storage (data appended to the file?)`, pos);
  for (const view of views.values()) {
    view.source = new WindowSource(view.root.source!, view.rootOffset, view.byteLength, `${source.name}:storage ${view.root.key}[view ${view.key}]`);
  }
  return {
    format: 'pytorch-legacy',
    root: main.value,
    placeholders: main.placeholders,
    globals: new Set([...first.globals, ...main.globals]),
    notes: littleEndian ? [] : ['storages are big-endian and were byte-swapped'],
  };
}

function invalid(source: ByteSource, message: string, offset: number): CheckpointError {
  return new CheckpointError('InvalidCheckpoint', `${source.name} (legacy format) at byte ${offset}: ${message}`, { location: `${source.name}@${offset}` });
}
