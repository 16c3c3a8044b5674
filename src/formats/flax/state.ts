import type { Dtype } from '../../dtype/dtypes.js';
import type { ByteSource } from '../../io/byte-source.js';
import { limitExceeded, malformed } from '../../io/format-problem.js';
import { show } from '../scan-rules.js';
import { MAX_FLAX_CHUNKS } from './limits.js';
import { FlaxArray, MsgBin, MsgComplex, MsgExt, MsgMap, readMsgpack, type MsgValue } from './msgpack.js';

/**
 * A Flax checkpoint's state dict as tensors: every array leaf, named by its path with `.` between the
 * keys (`params.Dense_0.kernel`; lists are maps with keys `0`, `1`, … in Flax's state dicts, and
 * msgpack arrays are walked with the same index names). Arrays Flax chunked (`_chunk`: a map with
 * `__msgpack_chunked_array__`, `shape` and `chunks`, both lists as maps) are assembled. Other leaves
 * (ints, floats, strings, complex numbers, unknown extensions) are left out, listed.
 */

/** numpy's dtype names (`arr.dtype.name`) as safetensors dtypes, with their element sizes. */
export const FLAX_DTYPES: ReadonlyMap<string, readonly [Dtype, number]> = new Map([
  ['bool', ['BOOL', 1]], ['int8', ['I8', 1]], ['int16', ['I16', 2]], ['int32', ['I32', 4]], ['int64', ['I64', 8]],
  ['uint8', ['U8', 1]], ['uint16', ['U16', 2]], ['uint32', ['U32', 4]], ['uint64', ['U64', 8]],
  ['float16', ['F16', 2]], ['bfloat16', ['BF16', 2]], ['float32', ['F32', 4]], ['float64', ['F64', 8]], ['complex64', ['C64', 8]],
  ['float8_e4m3fn', ['F8_E4M3', 1]], ['float8_e5m2', ['F8_E5M2', 1]],
] as const);

/** An array leaf: its name, and the pieces of its row-major bytes in the file (one, or a chunked array's chunks). */
export interface FlaxTensor {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly pieces: readonly { readonly offset: number; readonly length: number }[];
  readonly byteLength: number;
  /** Extension 3: a numpy scalar (a 0-d array). */
  readonly scalar: boolean;
  readonly chunked: boolean;
}

export interface FlaxState {
  readonly tensors: readonly FlaxTensor[];
  readonly leftOut: readonly { path: string; what: string }[];
  /** An unsupported dtype, by tensor name: refused by the reader (the scan only lists it). */
  readonly unsupported: readonly { name: string; dtype: string }[];
}

export async function readFlaxState(source: ByteSource): Promise<FlaxState> {
  const root = await readMsgpack(source);
  const tensors: FlaxTensor[] = [];
  const leftOut: { path: string; what: string }[] = [];
  const unsupported: { name: string; dtype: string }[] = [];
  const names = new Set<string>();
  const take = (t: FlaxTensor): void => {
    // `a.b` under `a` and `a.b` as one key would be one name.
    if (names.has(t.name)) throw malformed(`two arrays are named ${show(t.name)} (keys holding dots collide)`);
    names.add(t.name);
    if (!FLAX_DTYPES.has(t.dtype)) unsupported.push({ name: t.name, dtype: t.dtype });
    tensors.push(t);
  };
  const walk = (v: MsgValue, path: string[]): void => {
    const name = path.join('.');
    if (v instanceof FlaxArray) take(single(v, name));
    else if (v instanceof MsgMap) {
      if (v.get('__msgpack_chunked_array__') === true) take(unchunk(v, name));
      else for (const [k, child] of v.entries) walk(child, [...path, keyName(k)]);
    } else if (Array.isArray(v)) v.forEach((child, i) => walk(child, [...path, String(i)]));
    else leftOut.push({ path: name === '' ? '(root)' : name, what: leafWhat(v) });
  };
  walk(root, []);
  return { tensors, leftOut, unsupported };
}

function keyName(k: MsgValue): string {
  if (typeof k === 'string') return k;
  if (typeof k === 'number' || typeof k === 'bigint' || typeof k === 'boolean' || k === null) return String(k);
  return leafWhat(k);
}

function leafWhat(v: MsgValue): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return `bool ${v}`;
  if (typeof v === 'number' || typeof v === 'bigint') return `${Number.isInteger(v) || typeof v === 'bigint' ? 'int' : 'float'} ${v}`;
  if (typeof v === 'string') return `str ${show(v.slice(0, 80))}`;
  if (v instanceof MsgBin) return `bytes (${v.length})`;
  if (v instanceof MsgComplex) return `complex (${v.real}${v.imag < 0 ? '-' : '+'}${Math.abs(v.imag)}j)`;
  if (v instanceof MsgExt) return `msgpack extension ${v.code} (${v.length} bytes)`;
  return 'a value';
}

function elementSize(dtype: string): number | undefined {
  const known = FLAX_DTYPES.get(dtype)?.[1];
  if (known !== undefined) return known;
  // numpy names carry their bit width (`complex128`, `float128`): the buffer is still checked against it.
  const bits = /^[a-z_]*?(\d+)$/.exec(dtype)?.[1];
  if (bits !== undefined && Number(bits) % 8 === 0) return Number(bits) / 8;
  return undefined;
}

function single(a: FlaxArray, name: string): FlaxTensor {
  const es = elementSize(a.dtype);
  const need = a.shape.reduce((n, d) => n * BigInt(d), 1n) * BigInt(es ?? 1);
  if (es !== undefined && need !== BigInt(a.length)) {
    throw malformed(`array ${show(name)}: its buffer is ${a.length} bytes, but dtype ${a.dtype} and shape (${a.shape.join(', ')}) need ${need} (np.frombuffer(...).reshape refuses it)`, a.at);
  }
  return { name, dtype: a.dtype, shape: a.shape, pieces: [{ offset: a.offset, length: a.length }], byteLength: a.length, scalar: a.scalar, chunked: false };
}

/** `_unchunk`: `np.concatenate(chunks).reshape(shape)`, the chunks 1-D and of one dtype. */
function unchunk(m: MsgMap, name: string): FlaxTensor {
  const shapeMap = m.get('shape');
  const chunkMap = m.get('chunks');
  if (!(shapeMap instanceof MsgMap) || !(chunkMap instanceof MsgMap)) throw malformed(`chunked array ${show(name)}: no \`shape\` and \`chunks\` maps`);
  const shape = listOf(shapeMap, name, 'shape').map((d) => {
    if (typeof d !== 'number' || d < 0) throw malformed(`chunked array ${show(name)}: a dimension is ${leafWhat(d)}`);
    return d;
  });
  const chunks = listOf(chunkMap, name, 'chunks');
  if (chunks.length > MAX_FLAX_CHUNKS) throw limitExceeded(`chunked array ${show(name)} has ${chunks.length} chunks, more than MAX_FLAX_CHUNKS (${MAX_FLAX_CHUNKS})`);
  let dtype: string | undefined;
  const pieces: { offset: number; length: number }[] = [];
  let elements = 0n;
  for (const [i, c] of chunks.entries()) {
    if (!(c instanceof FlaxArray) || c.shape.length !== 1) throw malformed(`chunked array ${show(name)}: chunk ${i} is not a 1-D array`);
    if (dtype !== undefined && c.dtype !== dtype) throw malformed(`chunked array ${show(name)}: chunk ${i} is ${c.dtype}, chunk 0 ${dtype}`);
    dtype = c.dtype;
    single(c, `${name}.chunks.${i}`);
    elements += BigInt(c.shape[0]!);
    if (c.length > 0) pieces.push({ offset: c.offset, length: c.length });
  }
  if (dtype === undefined) throw malformed(`chunked array ${show(name)} has no chunks`);
  const want = shape.reduce((n, d) => n * BigInt(d), 1n);
  if (elements !== want) throw malformed(`chunked array ${show(name)}: its chunks hold ${elements} elements, its shape (${shape.join(', ')}) ${want}`);
  return { name, dtype, shape, pieces, byteLength: pieces.reduce((n, p) => n + p.length, 0), scalar: false, chunked: true };
}

/** `_dict_to_tuple`: a map with keys '0', '1', … in any order, as a list. */
function listOf(m: MsgMap, name: string, what: string): MsgValue[] {
  const byKey = new Map(m.entries.filter((e): e is readonly [string, MsgValue] => typeof e[0] === 'string'));
  const out: MsgValue[] = [];
  for (let i = 0; i < m.entries.length; i++) {
    const v = byKey.get(String(i));
    if (v === undefined) throw malformed(`chunked array ${show(name)}: its ${what} map has no key '${i}'`);
    out.push(v);
  }
  return out;
}
