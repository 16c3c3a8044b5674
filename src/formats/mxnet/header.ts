import type { ByteSource } from '../../io/byte-source.js';
import { Cursor } from '../../io/cursor.js';
import { limitExceeded, malformed } from '../../io/format-problem.js';
import { show, utf8OrUndefined } from '../scan-rules.js';
import { MXNET_TYPES } from './dtype.js';
import { MXNET_LIST_MAGIC } from './format.js';
import { MAX_MXNET_ARRAYS, MAX_MXNET_DIMS, MAX_MXNET_NAME_BYTES } from './limits.js';

/**
 * An MXNet NDArray list (`mx.nd.save`, Gluon's `save_parameters`, Module checkpoints' `.params`), as
 * src/ndarray/ndarray.cc writes and reads it, all little-endian:
 *
 *   u64 kMXAPINDArrayListMagic (0x112), u64 reserved, u64 count, count × NDArray, u64 name count (0 or
 *   count), names (u64 length, bytes each).
 *
 * One NDArray starts with a u32 that is a magic or, in the oldest files, the number of dimensions:
 *   - V2 0xF993fac9 (storage types) and V3 0xF993faca (numpy shape semantics): i32 storage type, for a
 *     sparse array its storage shape, the shape (i32 ndim, ndim × i64), the context (i32 device type, i32
 *     device id), the i32 type flag, for a sparse array each aux array's i32 type and shape, the data
 *     (storage shape × element size), each aux array's data;
 *   - V1 0xF993fac8: the shape as in V2, then context, type flag and data (dense only);
 *   - legacy (no magic): the u32 is ndim, ndim × u32 dimensions, then as V1.
 * A shape of 0 dimensions (V1, V2, legacy) or with an unknown (-1) dimension (V3) is an empty NDArray:
 * nothing follows it. Throws FormatProblems: the reader codes them, the scan rules report them.
 */

export const NDARRAY_V1_MAGIC = 0xf993fac8;
export const NDARRAY_V2_MAGIC = 0xf993fac9;
export const NDARRAY_V3_MAGIC = 0xf993faca;

export type MxnetVersion = 'legacy' | 'v1' | 'v2' | 'v3';
export type MxnetStorage = 'default' | 'row_sparse' | 'csr';

/** An aux array of a sparse NDArray: row-sparse `indices`, CSR `indptr` and `indices`. */
export interface MxnetAux {
  readonly role: 'indptr' | 'indices';
  readonly typeFlag: number;
  readonly elementSize: number;
  readonly shape: readonly number[];
  readonly offset: number;
  readonly bytes: number;
}

export interface MxnetArray {
  readonly index: number;
  /** Where its record starts. */
  readonly at: number;
  readonly version: MxnetVersion;
  /** Why it holds nothing (`NDArray()` saved: no context, type or data follow), or undefined. */
  readonly none?: string;
  readonly storage: MxnetStorage;
  /** The logical (dense) shape. */
  readonly shape: readonly number[];
  /** A sparse array's storage shape: the shape of its data. */
  readonly storageShape?: readonly number[];
  readonly devType?: number;
  readonly devId?: number;
  readonly typeFlag: number;
  readonly elementSize: number;
  /** The data (a sparse array's non-zero values): offset and byte length. */
  readonly dataOffset: number;
  readonly dataBytes: number;
  readonly aux: readonly MxnetAux[];
}

export interface MxnetFile {
  readonly arrays: readonly MxnetArray[];
  /** The names as stored (`arg:`/`aux:` prefixes kept); empty when the file has none. */
  readonly names: readonly string[];
  /** Offset just after the names: bytes after it are not read by MXNet. */
  readonly end: number;
}

const STORAGE: Readonly<Record<number, MxnetStorage>> = { 0: 'default', 1: 'row_sparse', 2: 'csr' };

export function versionOf(magic: number): MxnetVersion {
  return magic === NDARRAY_V3_MAGIC ? 'v3' : magic === NDARRAY_V2_MAGIC ? 'v2' : magic === NDARRAY_V1_MAGIC ? 'v1' : 'legacy';
}

export async function readMxnetFile(source: ByteSource): Promise<MxnetFile> {
  const c = new Cursor(source);
  await c.need(24, 'the NDArray list header');
  const magic = c.u64();
  if (magic !== MXNET_LIST_MAGIC) throw malformed(`the list magic is 0x${magic.toString(16)}, not kMXAPINDArrayListMagic (0x112)`, 0);
  c.u64(); // reserved: MXNet writes 0 and never reads it
  const count = c.u64();
  if (count > BigInt(MAX_MXNET_ARRAYS)) throw limitExceeded(`the file declares ${count} NDArrays, more than MAX_MXNET_ARRAYS (${MAX_MXNET_ARRAYS})`, 16);
  const arrays: MxnetArray[] = [];
  for (let i = 0; i < Number(count); i++) arrays.push(await readArray(c, i));
  await c.need(8, 'the name count');
  const namesAt = c.pos;
  const nameCount = c.u64();
  if (nameCount !== 0n && nameCount !== count) throw malformed(`${nameCount} names for ${count} NDArrays (MXNet needs none or one per array)`, namesAt);
  const names: string[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < Number(nameCount); i++) {
    await c.need(8, `the length of name ${i}`);
    const at = c.pos;
    const length = c.u64();
    if (length > BigInt(MAX_MXNET_NAME_BYTES)) throw limitExceeded(`name ${i} is ${length} bytes, more than MAX_MXNET_NAME_BYTES (${MAX_MXNET_NAME_BYTES})`, at);
    await c.need(Number(length), `name ${i}`);
    const name = utf8OrUndefined(c.take(Number(length)));
    if (name === undefined) throw malformed(`name ${i} is not valid UTF-8`, at + 8);
    // mx.nd.load makes a dict of them: a name given twice would leave one of the arrays out.
    if (seen.has(name)) throw malformed(`the name ${show(name)} is given to two NDArrays`, at);
    seen.add(name);
    names.push(name);
  }
  return { arrays, names, end: c.pos };
}

async function readArray(c: Cursor, index: number): Promise<MxnetArray> {
  const at = c.pos;
  const what = `NDArray ${index}`;
  await c.need(4, `${what}'s magic`);
  const magic = c.u32();
  const version = versionOf(magic);
  let storage: MxnetStorage = 'default';
  let storageShape: number[] | undefined;
  let shape: number[] | undefined;
  if (version === 'v2' || version === 'v3') {
    await c.need(4, `${what}'s storage type`);
    const stype = signed(c.u32());
    const s = STORAGE[stype];
    if (s === undefined) throw malformed(`${what} has storage type ${stype} (0 default, 1 row_sparse and 2 csr exist)`, c.pos - 4);
    if (version === 'v3' && s !== 'default') throw malformed(`${what} is a V3 (numpy shape) array of ${s} storage, which MXNet never writes or reads`, c.pos - 4);
    storage = s;
    if (storage !== 'default') storageShape = await readShape(c, `${what}'s storage shape`, false);
  }
  const none = (why: string): MxnetArray => ({ index, at, version, none: why, storage, shape: [], typeFlag: -1, elementSize: 0, dataOffset: c.pos, dataBytes: 0, aux: [] });
  if (version === 'legacy') {
    const ndim = magic;
    if (ndim > MAX_MXNET_DIMS) throw limitExceeded(`${what} has ${ndim} dimensions (a legacy shape), more than MAX_MXNET_DIMS (${MAX_MXNET_DIMS})`, at);
    await c.need(4 * ndim, `${what}'s shape`);
    shape = [];
    for (let d = 0; d < ndim; d++) shape.push(c.u32());
  } else {
    shape = await readShape(c, `${what}'s shape`, version === 'v3');
  }
  if (shape === undefined) return none('its shape is not known (a -1 dimension)');
  if (shape.length === 0 && version !== 'v3') return none('its shape has no dimensions');
  await c.need(12, `${what}'s context and type flag`);
  const devType = signed(c.u32());
  const devId = signed(c.u32());
  const typeFlag = signed(c.u32());
  const type = MXNET_TYPES.get(typeFlag);
  if (type === undefined) throw malformed(`${what} has type flag ${typeFlag}, which MXNet does not know (0 to 12 exist)`, c.pos - 4);
  const elementSize = type[2];
  const auxMeta: { role: MxnetAux['role']; typeFlag: number; shape: number[]; at: number }[] = [];
  const roles: MxnetAux['role'][] = storage === 'csr' ? ['indptr', 'indices'] : storage === 'row_sparse' ? ['indices'] : [];
  for (const role of roles) {
    await c.need(4, `${what}'s ${role} type`);
    const auxAt = c.pos;
    const auxType = signed(c.u32());
    const auxShape = (await readShape(c, `${what}'s ${role} shape`, false))!;
    auxMeta.push({ role, typeFlag: auxType, shape: auxShape, at: auxAt });
  }
  const dataShape = storageShape ?? shape;
  const dataOffset = c.pos;
  const dataBytes = byteCount(dataShape, elementSize, c, `${what}'s data`);
  c.skip(dataBytes, `${what}'s data`);
  const aux: MxnetAux[] = [];
  for (const m of auxMeta) {
    const t = MXNET_TYPES.get(m.typeFlag);
    if (t === undefined || (t[1] !== 'I64' && t[1] !== 'I32')) {
      throw malformed(`${what}'s ${m.role} have type flag ${m.typeFlag}${t ? ` (${t[0]})` : ''}; sparse indices are int64 (or int32)`, m.at);
    }
    const offset = c.pos;
    const bytes = byteCount(m.shape, t[2], c, `${what}'s ${m.role}`);
    c.skip(bytes, `${what}'s ${m.role}`);
    aux.push({ role: m.role, typeFlag: m.typeFlag, elementSize: t[2], shape: m.shape, offset, bytes });
  }
  const array: MxnetArray = { index, at, version, storage, shape, storageShape, devType, devId, typeFlag, elementSize, dataOffset, dataBytes, aux };
  if (storage !== 'default') checkSparseShapes(array, what);
  return array;
}

/**
 * A TShape: i32 ndim and ndim × i64. Undefined for a V3 shape MXNet does not know (a -1 dimension):
 * the array is empty. An ndim of -1 cannot be read back by MXNet (its Load asks for -8 bytes).
 */
async function readShape(c: Cursor, what: string, numpySemantics: boolean): Promise<number[] | undefined> {
  await c.need(4, `${what}'s ndim`);
  const at = c.pos;
  const ndim = signed(c.u32());
  if (ndim < 0) throw malformed(`${what} has ${ndim} dimensions`, at);
  if (ndim > MAX_MXNET_DIMS) throw limitExceeded(`${what} has ${ndim} dimensions, more than MAX_MXNET_DIMS (${MAX_MXNET_DIMS})`, at);
  await c.need(8 * ndim, what);
  const dims: number[] = [];
  let unknown = false;
  for (let d = 0; d < ndim; d++) {
    const v = BigInt.asIntN(64, c.u64());
    if (v === -1n && numpySemantics) unknown = true;
    else if (v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed(`${what} has dimension ${v}`, at + 4 + 8 * d);
    dims.push(Number(v));
  }
  return unknown ? undefined : dims;
}

/** Elements × element size of a shape, checked against the bytes left in the file. */
function byteCount(shape: readonly number[], elementSize: number, c: Cursor, what: string): number {
  const n = shape.reduce((a, d) => a * BigInt(d), 1n) * BigInt(elementSize);
  const left = BigInt(c.source.size - c.pos);
  if (n > left) throw malformed(`${what} (shape (${shape.join(', ')}), ${n} bytes at offset ${c.pos}) runs past the end of the file (${left} bytes left)`, c.pos);
  return Number(n);
}

/** The shapes of a sparse array agree with each other (NDArray's constructor derives them so). */
function checkSparseShapes(a: MxnetArray, what: string): void {
  const s = a.storageShape!;
  const bad = (why: string): never => {
    throw malformed(`${what} (${a.storage}, shape (${a.shape.join(', ')})): ${why}`, a.at);
  };
  if (a.storage === 'row_sparse') {
    const idx = a.aux[0]!.shape;
    if (a.shape.length < 1) bad('a row-sparse array has at least one dimension');
    if (idx.length !== 1) bad(`its indices have shape (${idx.join(', ')}), not (rows stored,)`);
    if (s.length !== a.shape.length || s[0] !== idx[0] || s.some((d, i) => i > 0 && d !== a.shape[i])) {
      bad(`its storage shape (${s.join(', ')}) is not (${idx[0]}, ${a.shape.slice(1).join(', ')})`);
    }
    if (idx[0]! > a.shape[0]!) bad(`it stores ${idx[0]} rows of ${a.shape[0]}`);
  } else {
    const [indptr, idx] = [a.aux[0]!.shape, a.aux[1]!.shape];
    if (a.shape.length !== 2) bad('a CSR array has two dimensions');
    if (indptr.length !== 1 || indptr[0] !== a.shape[0]! + 1) bad(`its indptr has shape (${indptr.join(', ')}), not (${a.shape[0]! + 1},)`);
    if (idx.length !== 1 || s.length !== 1 || s[0] !== idx[0]) bad(`its storage shape (${s.join(', ')}) and indices shape (${idx.join(', ')}) are not both (non-zeros,)`);
  }
}

function signed(u: number): number {
  return u | 0;
}
