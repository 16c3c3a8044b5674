import { bf16ToF32, f16ToF32 } from '../../dtype/float-codecs.js';
import type { PagedReader } from '../../io/cursor.js';
import { limitExceeded, malformed } from '../../io/format-problem.js';
import { btree2Records } from './btree2.js';
import { unsupported } from './errors.js';
import { uintAt, utf8 } from './fields.js';
import { FractalHeap } from './fractal-heap.js';
import { decodeDatatype, type Hdf5Datatype } from './datatype.js';
import type { Hdf5Geometry } from './geometry.js';
import type { GlobalHeap } from './heaps.js';
import { MAX_HDF5_ATTRIBUTE_BYTES, MAX_HDF5_ATTRIBUTE_ELEMENTS, MAX_HDF5_ATTRIBUTES_PER_OBJECT } from './limits.js';
import { decodeAttribute, decodeAttributeInfo, decodeDataspace, type Hdf5Dataspace } from './messages.js';
import { isShared, MSG, type HeaderMessage, type ObjectHeader } from './object-header.js';

/** One value of an attribute: numbers (64-bit integers past 2^53 as bigint), strings, booleans (h5py's bool). */
export type Hdf5Scalar = number | bigint | string | boolean;
/** A scalar attribute's value, or the elements of an array attribute in row-major order. */
export type Hdf5Value = Hdf5Scalar | readonly Hdf5Scalar[];

export interface Hdf5Attribute {
  readonly name: string;
  /** Absolute offset of its attribute message (in the object header, or in the fractal heap of dense storage). */
  readonly at: number;
  readonly datatype: Hdf5Datatype;
  readonly dataspace: Hdf5Dataspace;
  /** Decoded: scalar dataspace, one value; simple, an array (even of one element); undefined for a null dataspace or when `why` says. */
  readonly value?: Hdf5Value;
  /** Why the value was not decoded (a compound, a reference, …). */
  readonly why?: string;
}

/** What attribute decoding needs from the file: its reader, geometry, global heap, and how to follow a shared message. */
export interface AttributeContext {
  readonly r: PagedReader;
  readonly g: Hdf5Geometry;
  readonly globalHeap: GlobalHeap;
  /** The body of message `type` that a shared message (committed datatype) refers to. */
  shared(type: number, body: Uint8Array, at: number): Promise<{ body: Uint8Array; at: number }>;
}

/** Bytes of an attribute-name record of a v2 B-tree of type 8: heap ID, flags, creation order, hash. */
const ATTRIBUTE_NAME_RECORD = 8 + 1 + 4 + 4;

/** The attributes of an object, compact (in its header) and dense (fractal heap and v2 B-tree), by name. */
export async function readAttributes(ctx: AttributeContext, header: ObjectHeader, where: string): Promise<Hdf5Attribute[]> {
  const out: Hdf5Attribute[] = [];
  const add = (a: Hdf5Attribute, at: number): void => {
    if (out.length >= MAX_HDF5_ATTRIBUTES_PER_OBJECT) throw limitExceeded(`${where} has more than MAX_HDF5_ATTRIBUTES_PER_OBJECT (${MAX_HDF5_ATTRIBUTES_PER_OBJECT}) attributes`, at);
    out.push(a);
  };
  for (const m of header.messages) {
    if (m.type === MSG.attribute) add(await attributeMessage(ctx, m, where), m.at);
    if (m.type === MSG.attributeInfo) {
      const info = decodeAttributeInfo(m.body, m.at, ctx.g);
      if (info.heap === undefined || info.nameIndex === undefined) continue;
      const heap = await FractalHeap.open(ctx.r, ctx.g, info.heap, `the attributes of ${where}`);
      for (const record of await btree2Records(ctx.r, ctx.g, info.nameIndex, 8, `the attributes of ${where}`)) {
        if (record.length < ATTRIBUTE_NAME_RECORD) throw malformed(`an attribute name record of ${where} is too short`, info.nameIndex);
        const flags = record[8]!;
        const object = await heap.object(record.subarray(0, 8), info.nameIndex);
        add(await attributeMessage(ctx, { type: MSG.attribute, flags, body: object.bytes, at: object.at }, where), object.at);
      }
    }
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

async function attributeMessage(ctx: AttributeContext, m: HeaderMessage, where: string): Promise<Hdf5Attribute> {
  if (isShared(m)) throw unsupported(`an attribute of ${where} is a shared message, which is not read`, m.at);
  const parts = decodeAttribute(m.body, m.at);
  const what = `attribute ${JSON.stringify(parts.name)} of ${where}`;
  const dt = parts.datatypeShared ? await ctx.shared(MSG.datatype, parts.datatype, parts.datatypeAt) : { body: parts.datatype, at: parts.datatypeAt };
  const ds = parts.dataspaceShared ? await ctx.shared(MSG.dataspace, parts.dataspace, parts.dataspaceAt) : { body: parts.dataspace, at: parts.dataspaceAt };
  const datatype = decodeDatatype(dt.body, dt.at);
  const dataspace = decodeDataspace(ds.body, ds.at, ctx.g);
  if (dataspace.kind === 'null') return { name: parts.name, at: m.at, datatype, dataspace };
  const count = dataspace.dims.reduce((a, b) => a * b, 1);
  if (count > MAX_HDF5_ATTRIBUTE_ELEMENTS) throw limitExceeded(`${what} has ${count} elements, more than MAX_HDF5_ATTRIBUTE_ELEMENTS (${MAX_HDF5_ATTRIBUTE_ELEMENTS})`, m.at);
  const bytes = count * datatype.size;
  if (bytes > MAX_HDF5_ATTRIBUTE_BYTES) throw limitExceeded(`${what} is ${bytes} bytes, more than MAX_HDF5_ATTRIBUTE_BYTES (${MAX_HDF5_ATTRIBUTE_BYTES})`, m.at);
  if (parts.data.length < bytes) throw malformed(`${what}: its value (${parts.data.length} bytes) is shorter than ${count} elements of ${datatype.size} bytes`, parts.dataAt);
  const decode = elementDecoder(ctx, datatype, what, parts.dataAt);
  if (typeof decode === 'string') return { name: parts.name, at: m.at, datatype, dataspace, why: decode };
  const values: Hdf5Scalar[] = [];
  let total = 0;
  for (let i = 0; i < count; i++) {
    const v = await decode(parts.data.subarray(i * datatype.size, (i + 1) * datatype.size));
    if (typeof v === 'string') {
      total += v.length;
      if (total > MAX_HDF5_ATTRIBUTE_BYTES) throw limitExceeded(`${what}'s strings are more than MAX_HDF5_ATTRIBUTE_BYTES (${MAX_HDF5_ATTRIBUTE_BYTES}) in all`, m.at);
    }
    values.push(v);
  }
  return { name: parts.name, at: m.at, datatype, dataspace, value: dataspace.kind === 'scalar' ? values[0]! : values };
}

type Decoder = (b: Uint8Array) => Hdf5Scalar | Promise<Hdf5Scalar>;

/** How one element of a datatype becomes a value, or why it does not. */
function elementDecoder(ctx: AttributeContext, t: Hdf5Datatype, what: string, at: number): Decoder | string {
  if (t.dtype === 'BOOL') return (b) => b[0] !== 0;
  if (t.dtype !== undefined) {
    const le = !t.bigEndian;
    switch (t.dtype) {
      case 'I8': return (b) => (b[0]! << 24) >> 24;
      case 'U8': return (b) => b[0]!;
      case 'I16': return (b) => view(b).getInt16(0, le);
      case 'U16': return (b) => view(b).getUint16(0, le);
      case 'I32': return (b) => view(b).getInt32(0, le);
      case 'U32': return (b) => view(b).getUint32(0, le);
      case 'I64': return (b) => small(view(b).getBigInt64(0, le));
      case 'U64': return (b) => small(view(b).getBigUint64(0, le));
      case 'F16': return (b) => f16ToF32(view(b).getUint16(0, le));
      case 'BF16': return (b) => bf16ToF32(view(b).getUint16(0, le));
      case 'F32': return (b) => view(b).getFloat32(0, le);
      case 'F64': return (b) => view(b).getFloat64(0, le);
      default: return `a ${t.description} value`;
    }
  }
  const s = t.string;
  if (s && !s.variable) return (b) => trimString(b, s.pad);
  if (s && s.variable) {
    const O = ctx.g.offsetSize;
    return async (b) => {
      const length = uintAt(b, 0, 4)!;
      if (length === 0) return '';
      const collection = uintAt(b, 4, O);
      const index = uintAt(b, 4 + O, 4)!;
      if (collection === undefined) throw malformed(`${what}: a variable-length string at an undefined global heap address`, at);
      if (length > MAX_HDF5_ATTRIBUTE_BYTES) throw limitExceeded(`${what}: a string of ${length} bytes, more than MAX_HDF5_ATTRIBUTE_BYTES`, at);
      const object = await ctx.globalHeap.object(ctx.g.base + collection, index);
      if (object.length < length) throw malformed(`${what}: a string of ${length} bytes in a heap object of ${object.length}`, at);
      return trimString(object.subarray(0, length), s.pad);
    };
  }
  return t.why ?? `a ${t.description} value`;
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function small(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** A fixed-length string as h5py gives it: up to its first NUL (null-terminated or null-padded), spaces kept unless space-padded. */
function trimString(b: Uint8Array, pad: 'nullterm' | 'nullpad' | 'spacepad'): string {
  let end = b.indexOf(0);
  if (end < 0) end = b.length;
  if (pad === 'spacepad') while (end > 0 && b[end - 1] === 0x20) end--;
  return utf8(b.subarray(0, end));
}
