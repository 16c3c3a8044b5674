import { WindowSource, type ByteSource } from '../../io/byte-source.js';
import type { CallContext, MachineOptions } from '../pickle/machine.js';
import { asInt, describe, PyDict, PyGlobal, PyTuple, type PyValue } from '../pickle/values.js';
import type { ReadCheckpointOptions, TorchCheckpoint } from './checkpoint.js';
import { storageDtype } from './dtypes.js';
import { CheckpointError } from './errors.js';
import { MAX_TENSOR_DIMS, TORCH_HANDLERS, tensorFrom, torchHandlerFor } from './globals.js';
import { MODULE_CLASSES } from './modules.js';
import { unpickleAt } from './pickle-window.js';
import { TorchStorage, TorchTensor } from './values.js';

/** Tar headers read before giving up on finding the checkpoint's members: guards against huge archives. */
export const MAX_TAR_MEMBERS = 1000;
/** Largest PAX extended header: guards against reading a huge record into memory. */
const MAX_PAX_HEADER_BYTES = 1 << 20;
const BLOCK = 512;

/** A POSIX (ustar) tar archive: "ustar" at offset 257 of the first header. */
export function isTar(head: Uint8Array): boolean {
  return head.length >= 262 && new TextDecoder('latin1').decode(head.subarray(257, 262)) === 'ustar';
}

interface Member {
  offset: number;
  size: number;
}

/**
 * tarfile's SUPPORTED_TYPES that hold no data: links, devices, directories, FIFOs. tarfile does not skip
 * their `size` (the next header follows at once); every other type, unknown ones included, is read
 * and extracted as a regular file.
 */
const NO_DATA_TYPES = new Set(['1', '2', '3', '4', '5', '6']);

/**
 * Members by name as Python's tarfile finds them (torch.load's `tar.extract` and `tar.extractfile`):
 * regular files and members of any type tarfile does not know (read as regular files); GNU long names
 * and long links; PAX `path`, `linkpath` and `size` records; hard and symbolic links resolved to the
 * member they name (extracting or opening a link yields its target's bytes). Never extracted to disk.
 */
export async function tarMembers(source: ByteSource): Promise<Map<string, Member>> {
  const members = new Map<string, Member>();
  const latin1 = new TextDecoder('latin1');
  const nts = (b: Uint8Array): string => latin1.decode(b).replace(/\0.*$/s, '');
  let pos = 0;
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  const symlinks = new Map<string, string>();
  for (let n = 0; n < MAX_TAR_MEMBERS && pos + BLOCK <= source.size; n++) {
    const h = await source.read(pos, BLOCK);
    if (h.every((b) => b === 0)) break;
    const field = (at: number, len: number): string => nts(h.subarray(at, at + len));
    const octal = field(124, 12).trim();
    if (!/^[0-7]*$/.test(octal)) throw new CheckpointError('InvalidCheckpoint', `${source.name}: tar header at byte ${pos} has a bad size`, { location: `${source.name}@${pos}` });
    let size = octal === '' ? 0 : parseInt(octal, 8);
    const type = field(156, 1) || '0';
    const prefix = field(345, 155);
    let name = longName ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
    let linkname = longLink ?? field(157, 100);
    if (pax['size'] !== undefined) size = Number(pax['size']);
    if (pax['path'] !== undefined) name = pax['path'];
    if (pax['linkpath'] !== undefined) linkname = pax['linkpath'];
    const data = pos + BLOCK;
    const hasData = !NO_DATA_TYPES.has(type);
    if (hasData && (!Number.isSafeInteger(size) || size < 0 || data + size > source.size)) {
      throw new CheckpointError('InvalidCheckpoint', `${source.name}: tar member ${name} runs past the end of the file`, { location: `${source.name}@${pos}` });
    }
    if (type === 'x' || type === 'g' || type === 'X' || type === 'L' || type === 'K') {
      if (size > MAX_PAX_HEADER_BYTES) throw new CheckpointError('InvalidCheckpoint', `${source.name}: ${type} header of ${size} bytes`, { location: `${source.name}@${pos}` });
      const body = await source.read(data, size);
      pos = data + Math.ceil(size / BLOCK) * BLOCK;
      if (type === 'L') longName = nts(body);
      else if (type === 'K') longLink = nts(body);
      else pax = type === 'g' ? {} : parsePax(new TextDecoder().decode(body));
      continue;
    }
    pax = {};
    longName = undefined;
    longLink = undefined;
    symlinks.delete(name);
    if (type === '1') {
      // A hard link names an earlier member by path.
      const target = members.get(linkname);
      if (target) members.set(name, target);
      else members.delete(name);
    } else if (type === '2') {
      // A symbolic link, relative to its own folder, may name any member, later ones too: resolved at the end.
      const folder = name.includes('/') ? name.slice(0, name.lastIndexOf('/') + 1) : '';
      members.delete(name);
      symlinks.set(name, normalizePath(folder + linkname));
    } else if (hasData) members.set(name, { offset: data, size });
    pos = hasData ? data + Math.ceil(size / BLOCK) * BLOCK : data;
  }
  for (const [name, target] of symlinks) {
    const member = members.get(target) ?? [...members].find(([n]) => normalizePath(n) === target)?.[1];
    if (member) members.set(name, member);
  }
  return members;
}

function normalizePath(p: string): string {
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return out.join('/');
}

function parsePax(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\d+ ([^=]+)=(.*)$/s.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

/**
 * The tar format of PyTorch 0.1.1–0.1.9: members `sys_info`, `storages` (a count, then per storage a
 * pickled (key, location, type), an int64 element count and the bytes; then the storage views),
 * `tensors` (per tensor a pickled (key, storage key, type) and binary sizes, strides and offset) and
 * `pickle` (the object, whose persistent ids are tensor or storage keys).
 */
export async function readTarCheckpoint(source: ByteSource, options: ReadCheckpointOptions): Promise<TorchCheckpoint> {
  const members = await tarMembers(source);
  const member = (name: string): WindowSource => {
    const m = members.get(name);
    if (!m) throw new CheckpointError('NotACheckpoint', `${source.name} is a tar archive without a "${name}" member: not a PyTorch checkpoint`, { location: source.name });
    return new WindowSource(source, m.offset, m.size, `${source.name}:${name}`);
  };
  const machine = (where: WindowSource): MachineOptions => ({
    where: where.name,
    handlers: TORCH_HANDLERS,
    handlerFor: torchHandlerFor(false),
    adoptClasses: MODULE_CLASSES,
    skipUnknown: options.skipUnknown,
  });
  const sysInfoSource = member('sys_info');
  const sysInfo = (await unpickleAt(sysInfoSource, 0, machine(sysInfoSource))).value;
  const littleEndian = sysInfo instanceof PyDict ? sysInfo.get('little_endian') !== false : true;
  const objects = new Map<string, TorchStorage | TorchTensor>();

  const st = member('storages');
  let r = await unpickleAt(st, 0, machine(st));
  const numStorages = asInt(r.value);
  if (numStorages === undefined || numStorages < 0) throw invalid(source, 'storages', `storage count ${describe(r.value)}`);
  let pos = r.end;
  for (let i = 0; i < numStorages; i++) {
    r = await unpickleAt(st, pos, machine(st));
    const items = r.value instanceof PyTuple ? r.value.items : [];
    const [key, location, type] = items;
    const dtype = type instanceof PyGlobal ? storageDtype(type.qualifiedName) : undefined;
    if (items.length !== 3 || !dtype) throw invalid(source, 'storages', `storage record ${describe(r.value)}`);
    const head = await st.read(r.end, 8);
    const count = Number(new DataView(head.buffer, head.byteOffset, 8).getBigInt64(0, littleEndian));
    const bytes = count * dtype.size;
    if (count < 0 || r.end + 8 + bytes > st.size) throw invalid(source, 'storages', `storage ${describe(key)} runs past the member's end`);
    const storage = new TorchStorage(String(key), dtype, count, typeof location === 'string' ? location : 'cpu', !littleEndian);
    storage.source = new WindowSource(st, r.end + 8, bytes, `${st.name}[${String(key)}]`);
    objects.set(String(key), storage);
    pos = r.end + 8 + bytes;
  }
  // The storage views; absent in some hand-made archives (burn's test files), which end here.
  r = pos < st.size ? await unpickleAt(st, pos, machine(st)) : { ...r, value: [] };
  for (const view of Array.isArray(r.value) ? r.value : []) {
    const [target, rootKey, offset, numel] = view instanceof PyTuple ? view.items : [];
    const root = objects.get(String(rootKey));
    const off = asInt(offset);
    const n = asInt(numel);
    if (!(root instanceof TorchStorage) || off === undefined || n === undefined || off < 0 || n < 0 || off + n > root.numel) {
      throw invalid(source, 'storages', `storage view ${describe(view)}`);
    }
    const storage = new TorchStorage(String(target), root.dtype, n, root.location, root.bigEndian);
    storage.root = root;
    storage.rootOffset = off * root.dtype.size;
    storage.source = new WindowSource(root.source!, storage.rootOffset, n * root.dtype.size);
    objects.set(String(target), storage);
  }

  // Tensor records; hand-made archives may rebuild every tensor in the pickle instead.
  const te = members.has('tensors') ? member('tensors') : undefined;
  r = te ? await unpickleAt(te, 0, machine(te)) : { ...r, value: 0, end: 0 };
  const numTensors = asInt(r.value);
  if (numTensors === undefined || numTensors < 0) throw invalid(source, 'tensors', `tensor count ${describe(r.value)}`);
  pos = r.end;
  for (let i = 0; te && i < numTensors; i++) {
    r = await unpickleAt(te, pos, machine(te));
    const [key, storageId] = r.value instanceof PyTuple ? r.value.items : [];
    const storage = objects.get(String(storageId));
    if (!(storage instanceof TorchStorage)) throw invalid(source, 'tensors', `tensor ${describe(key)} refers to unknown storage ${describe(storageId)}`);
    const ndimBytes = await te.read(r.end, 8);
    const ndim = new DataView(ndimBytes.buffer, ndimBytes.byteOffset, 8).getInt32(0, true);
    if (ndim < 0 || ndim > MAX_TENSOR_DIMS) throw invalid(source, 'tensors', `tensor ${describe(key)} has ${ndim} dimensions`);
    const body = await te.read(r.end + 8, 16 * ndim + 8);
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    const int64 = (k: number): number => Number(view.getBigInt64(k * 8, true));
    const shape = Array.from({ length: ndim }, (_, d) => int64(d));
    const stride = Array.from({ length: ndim }, (_, d) => int64(ndim + d));
    const offset = int64(2 * ndim);
    const where = `${te.name}@${r.end}`;
    const ctx: CallContext = { where: te.name, offset: r.end, fail: (_code, message) => { throw invalid(source, 'tensors', message); } };
    objects.set(String(key), checkedTensor(storage, offset, shape, stride, where, ctx));
    pos = r.end + 8 + 16 * ndim + 8;
  }

  const main = member('pickle');
  const persistentLoad = (pid: PyValue, ctx: CallContext): PyValue => {
    if (pid instanceof PyTuple && pid.items[0] === 'storage' && pid.items.length === 5) {
      // The zip format's storage reference, used by hand-made archives: a storage of the storages member.
      const storage = objects.get(String(pid.items[2]));
      if (!(storage instanceof TorchStorage) || asInt(pid.items[4]) !== storage.numel) return ctx.fail('InvalidPickle', `persistent id ${describe(pid)} names no storage of that size`);
      return storage;
    }
    if (pid instanceof PyTuple) return ctx.fail('InvalidPickle', 'the tar format stores module sources as persistent ids; they are code and are not read');
    const object = objects.get(String(typeof pid === 'string' ? pid : asInt(pid)));
    return object ?? ctx.fail('InvalidPickle', `persistent id ${describe(pid)} names no tensor or storage`);
  };
  // Hand-made archives (burn's test files) pass the zip format's storage tuple inline to
  // _rebuild_tensor_v2 instead of as a persistent id: resolve it against the storages member too.
  const inline = (v: PyValue | undefined, ctx: CallContext): PyValue | undefined =>
    v instanceof PyTuple && v.items[0] === 'storage' ? persistentLoad(v, ctx) : v;
  const handlers = new Map(TORCH_HANDLERS);
  for (const name of ['torch._utils._rebuild_tensor', 'torch._utils._rebuild_tensor_v2']) {
    handlers.set(name, { call: ([s, o, size, stride], ctx) => tensorFrom(inline(s, ctx), o, size, stride, undefined, ctx) });
  }
  const result = await unpickleAt(main, 0, { ...machine(main), handlers, persistentLoad });
  return {
    format: 'pytorch-tar',
    root: result.value,
    placeholders: result.placeholders,
    globals: result.globals,
    notes: littleEndian ? [] : ['storages are big-endian and were byte-swapped'],
  };
}

/** A tensor record, with the same bounds check as the pickled rebuild functions. */
function checkedTensor(storage: TorchStorage, offset: number, shape: number[], stride: number[], where: string, ctx: CallContext): TorchTensor {
  if (offset < 0 || shape.some((d) => d < 0) || stride.some((s) => s < 0)) return ctx.fail('InvalidPickle', 'negative size, stride or offset');
  if (shape.reduce((a, b) => a * b, 1) > 0) {
    let last = offset;
    shape.forEach((n, d) => (last += (n - 1) * stride[d]!));
    if (last >= storage.numel) return ctx.fail('InvalidPickle', `a tensor reaches element ${last} of storage ${storage.key}, which holds ${storage.numel}`);
  }
  return new TorchTensor(storage, offset, shape, stride, storage.dtype, where);
}

function invalid(source: ByteSource, member: string, what: string): CheckpointError {
  return new CheckpointError('InvalidCheckpoint', `${source.name} (tar format, member ${member}): invalid ${what}`, { location: `${source.name}:${member}` });
}
