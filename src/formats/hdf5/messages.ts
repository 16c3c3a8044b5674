import { limitExceeded, malformed } from '../../io/format-problem.js';
import { Fields, align8, utf8 } from './fields.js';
import type { Hdf5Geometry } from './geometry.js';
import { MAX_HDF5_RANK } from './limits.js';

/** A dataspace: `scalar` (one element, shape []), `simple` (dims), or `null` (no elements: h5py.Empty). */
export interface Hdf5Dataspace {
  readonly kind: 'scalar' | 'simple' | 'null';
  readonly dims: readonly number[];
  /** Maximum dimensions (an unlimited one as Infinity), when the message has them. */
  readonly maxDims?: readonly number[];
}

export function decodeDataspace(body: Uint8Array, at: number, g: Hdf5Geometry): Hdf5Dataspace {
  const f = new Fields(body, at, 'a dataspace message');
  const version = f.u8();
  const rank = f.u8();
  const flags = f.u8();
  let kind: Hdf5Dataspace['kind'];
  if (version === 1) {
    f.skip(5);
    kind = rank === 0 ? 'scalar' : 'simple';
  } else if (version === 2) {
    const type = f.u8();
    if (type > 2) throw malformed(`dataspace type ${type} is unknown`, at + 3);
    kind = type === 0 ? 'scalar' : type === 1 ? 'simple' : 'null';
  } else {
    throw malformed(`dataspace version ${version} is unknown`, at);
  }
  if (rank > MAX_HDF5_RANK) throw limitExceeded(`a dataspace of ${rank} dimensions, more than MAX_HDF5_RANK (${MAX_HDF5_RANK})`, at + 1);
  if (kind !== 'simple') return { kind, dims: [] };
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(f.length(g));
  if ((flags & 0x01) === 0) return { kind, dims };
  const maxDims: number[] = [];
  for (let i = 0; i < rank; i++) maxDims.push(f.maybe(g.lengthSize) ?? Infinity);
  return { kind, dims, maxDims };
}

/** One element's fill value, from the Fill Value message (new) or the old one; undefined: none defined (zeros). */
export function decodeFillValue(body: Uint8Array, at: number, old: boolean): Uint8Array | undefined {
  const f = new Fields(body, at, old ? 'an old fill value message' : 'a fill value message');
  if (old) {
    const size = f.u32();
    return size === 0 ? undefined : f.take(size);
  }
  const version = f.u8();
  if (version === 1 || version === 2) {
    f.skip(2); // space allocation time, fill value write time
    const defined = f.u8();
    if (version === 2 && defined === 0) return undefined;
    if (f.left < 4) return undefined;
    const size = f.u32();
    return size === 0 ? undefined : f.take(size);
  }
  if (version === 3) {
    const flags = f.u8();
    if ((flags & 0x20) === 0) return undefined;
    const size = f.u32();
    return size === 0 ? undefined : f.take(size);
  }
  throw malformed(`fill value message version ${version} is unknown`, at);
}

/** A link of a group: hard (an object's address), soft (a path), external (a file and path), or user-defined. */
export type Hdf5LinkTarget =
  | { readonly kind: 'hard'; readonly address: number }
  | { readonly kind: 'soft'; readonly path: string }
  | { readonly kind: 'external'; readonly file: string; readonly path: string }
  | { readonly kind: 'user-defined'; readonly type: number };

export interface Hdf5Link {
  readonly name: string;
  readonly target: Hdf5LinkTarget;
}

export function decodeLink(body: Uint8Array, at: number, g: Hdf5Geometry): Hdf5Link {
  const f = new Fields(body, at, 'a link message');
  const version = f.u8();
  if (version !== 1) throw malformed(`link message version ${version} is unknown`, at);
  const flags = f.u8();
  const type = flags & 0x08 ? f.u8() : 0;
  if (flags & 0x04) f.skip(8); // creation order
  if (flags & 0x10) f.skip(1); // character set of the name
  const nameLength = f.uint(1 << (flags & 3));
  if (nameLength === 0) throw malformed('a link with an empty name', at);
  const name = utf8(f.take(nameLength));
  if (type === 0) {
    const address = f.address(g);
    if (address === undefined) throw malformed(`hard link ${JSON.stringify(name)} has an undefined address`, at);
    return { name, target: { kind: 'hard', address } };
  }
  if (type === 1) {
    const length = f.u16();
    return { name, target: { kind: 'soft', path: utf8(f.take(length)) } };
  }
  if (type === 64) {
    const length = f.u16();
    const value = new Fields(f.take(length), at + f.pos - length, 'an external link');
    value.skip(1); // version and flags
    const file = value.cString();
    const path = value.cString();
    return { name, target: { kind: 'external', file, path } };
  }
  return { name, target: { kind: 'user-defined', type } };
}

/** Link Info and Attribute Info: where dense storage is (a fractal heap and its name index, a v2 B-tree). */
export interface DenseStorage {
  /** Absolute address of the fractal heap; undefined: nothing is stored densely. */
  readonly heap: number | undefined;
  /** Absolute address of the name index (v2 B-tree type 5 for links, 8 for attributes). */
  readonly nameIndex: number | undefined;
}

export function decodeLinkInfo(body: Uint8Array, at: number, g: Hdf5Geometry): DenseStorage {
  return decodeDenseStorageInfo(body, at, g, 'a', 'link info', 8);
}

export function decodeAttributeInfo(body: Uint8Array, at: number, g: Hdf5Geometry): DenseStorage {
  return decodeDenseStorageInfo(body, at, g, 'an', 'attribute info', 2);
}

/** The two messages differ only in their name and the width of the maximum creation index they may carry. */
function decodeDenseStorageInfo(body: Uint8Array, at: number, g: Hdf5Geometry, article: 'a' | 'an', message: string, creationIndexBytes: number): DenseStorage {
  const f = new Fields(body, at, `${article} ${message} message`);
  const version = f.u8();
  if (version !== 0) throw malformed(`${message} message version ${version} is unknown`, at);
  const flags = f.u8();
  if (flags & 0x01) f.skip(creationIndexBytes); // maximum creation index
  return { heap: f.address(g), nameIndex: f.address(g) };
}

/** Symbol Table message: an old-style group's v1 B-tree and local heap (absolute addresses). */
export function decodeSymbolTable(body: Uint8Array, at: number, g: Hdf5Geometry): { btree: number; heap: number } {
  const f = new Fields(body, at, 'a symbol table message');
  const btree = f.address(g);
  const heap = f.address(g);
  if (btree === undefined || heap === undefined) throw malformed('a symbol table message with an undefined address', at);
  return { btree, heap };
}

/** An attribute message's parts: name, datatype and dataspace bodies, and the value's bytes. */
export interface AttributeParts {
  readonly name: string;
  readonly datatype: Uint8Array;
  readonly datatypeAt: number;
  readonly datatypeShared: boolean;
  readonly dataspace: Uint8Array;
  readonly dataspaceAt: number;
  readonly dataspaceShared: boolean;
  readonly data: Uint8Array;
  readonly dataAt: number;
}

export function decodeAttribute(body: Uint8Array, at: number): AttributeParts {
  const f = new Fields(body, at, 'an attribute message');
  const version = f.u8();
  if (version < 1 || version > 3) throw malformed(`attribute message version ${version} is unknown`, at);
  const flags = f.u8();
  const nameSize = f.u16();
  const datatypeSize = f.u16();
  const dataspaceSize = f.u16();
  if (version === 3) f.skip(1); // character set of the name
  const pad = version === 1 ? align8 : (n: number): number => n;
  const nameBytes = f.take(nameSize);
  f.skip(pad(nameSize) - nameSize);
  const end = nameBytes.indexOf(0);
  const name = utf8(end < 0 ? nameBytes : nameBytes.subarray(0, end));
  const datatypeAt = at + f.pos;
  const datatype = f.take(datatypeSize);
  f.skip(pad(datatypeSize) - datatypeSize);
  const dataspaceAt = at + f.pos;
  const dataspace = f.take(dataspaceSize);
  f.skip(Math.min(f.left, pad(dataspaceSize) - dataspaceSize));
  return {
    name, datatype, datatypeAt, datatypeShared: version > 1 && (flags & 0x01) !== 0,
    dataspace, dataspaceAt, dataspaceShared: version > 1 && (flags & 0x02) !== 0,
    data: body.subarray(f.pos), dataAt: at + f.pos,
  };
}
