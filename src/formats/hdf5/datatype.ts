import type { Dtype } from '../../dtype/dtypes.js';
import { limitExceeded, malformed } from '../../io/format-problem.js';
import { Fields, latin } from './fields.js';
import { MAX_HDF5_DATATYPE_DEPTH } from './limits.js';

/** Datatype classes (the low 4 bits of a datatype message's first byte). */
const CLASS_NAMES = ['fixed-point', 'floating-point', 'time', 'string', 'bitfield', 'opaque', 'compound', 'reference', 'enumerated', 'variable-length', 'array'];

/** A datatype message, decoded as far as a reader of numbers and strings needs. */
export interface Hdf5Datatype {
  /** `fixed-point`, `floating-point`, `string`, `enumerated`, `variable-length`, `compound`, … */
  readonly className: string;
  /** Bytes per element. */
  readonly size: number;
  readonly bigEndian: boolean;
  /** Fixed-point: signed. */
  readonly signed?: boolean;
  /** The tensor dtype its elements are, when they are numbers safetensors holds (h5py's bool enum: BOOL). */
  readonly dtype?: Dtype;
  /** When there is no dtype: why, for people. */
  readonly why?: string;
  /** Strings (fixed: class 3; variable: class 9 with type string): padding and character set. */
  readonly string?: { readonly variable: boolean; readonly pad: 'nullterm' | 'nullpad' | 'spacepad'; readonly utf8: boolean };
  /** Enumerated, array and variable-length types: the base type. */
  readonly base?: Hdf5Datatype;
  /** Enumerated: members by name, values as base-type bytes. */
  readonly members?: readonly { readonly name: string; readonly value: Uint8Array }[];
  /** Array: its dimensions. */
  readonly arrayDims?: readonly number[];
  /** For people: `f4`, `>i8`, `bool`, `string (fixed, 10 bytes)`, `compound`. */
  readonly description: string;
}

const PADS = ['nullterm', 'nullpad', 'spacepad'] as const;

/** Decodes a datatype message body (a view; at: its absolute offset). */
export function decodeDatatype(body: Uint8Array, at: number): Hdf5Datatype {
  return datatype(new Fields(body, at, 'a datatype message'), 0);
}

function datatype(f: Fields, depth: number): Hdf5Datatype {
  if (depth > MAX_HDF5_DATATYPE_DEPTH) throw limitExceeded(`datatypes nested more than MAX_HDF5_DATATYPE_DEPTH (${MAX_HDF5_DATATYPE_DEPTH}) deep`, f.offsetOf());
  const start = f.pos;
  const b0 = f.u8();
  const cls = b0 & 0x0f;
  const version = b0 >> 4;
  const bits = f.u8() | (f.u8() << 8) | (f.u8() << 16);
  const size = f.u32();
  const className = CLASS_NAMES[cls] ?? `class ${cls}`;
  if (version < 1 || version > 4) throw malformed(`datatype version ${version} is unknown`, f.offsetOf(start));
  const bigEndian = (bits & 1) === 1;
  const order = bigEndian ? '>' : '<';
  switch (cls) {
    case 0: {
      const offset = f.u16();
      const precision = f.u16();
      const signed = (bits & 0x08) !== 0;
      const code = `${signed ? 'i' : 'u'}${size}`;
      const dtype = offset === 0 && precision === size * 8 ? INTEGERS[code] : undefined;
      return {
        className, size, bigEndian, signed, description: `${size > 1 ? order : ''}${code}`,
        ...(dtype ? { dtype } : { why: `a ${size}-byte integer with ${precision} bits at bit ${offset}: not a standard integer` }),
      };
    }
    case 1: {
      const offset = f.u16();
      const precision = f.u16();
      const expLoc = f.u8();
      const expSize = f.u8();
      const mantLoc = f.u8();
      const mantSize = f.u8();
      const bias = f.u32();
      const vax = (bits & 0x40) !== 0;
      const signLoc = (bits >> 8) & 0xff;
      const layout = `${size}:${offset}:${precision}:${expLoc}:${expSize}:${mantLoc}:${mantSize}:${bias}:${signLoc}`;
      const dtype = vax ? undefined : FLOATS[layout];
      return {
        className, size, bigEndian, description: `${order}${dtype === 'BF16' ? 'bf16' : `f${size}`}`,
        ...(dtype ? { dtype } : { why: vax ? 'a VAX-order float' : `a ${size}-byte float that is not IEEE binary16, binary32, binary64 or bfloat16 (exponent ${expSize} bits, mantissa ${mantSize} bits, bias ${bias})` }),
      };
    }
    case 3: {
      const pad = PADS[bits & 0x0f] ?? 'nullterm';
      const utf8 = ((bits >> 4) & 0x0f) === 1;
      return { className, size, bigEndian: false, string: { variable: false, pad, utf8 }, description: `string (fixed, ${size} bytes)`, why: 'fixed-length strings' };
    }
    case 8: {
      const base = datatype(f, depth + 1);
      const count = bits & 0xffff;
      const members: { name: string; value: Uint8Array }[] = [];
      const names: string[] = [];
      for (let i = 0; i < count; i++) {
        const nameStart = f.pos;
        names.push(f.cString());
        if (version < 3) f.skip(padTo8(f.pos - nameStart));
      }
      for (let i = 0; i < count; i++) members.push({ name: names[i]!, value: f.take(base.size) });
      const isBool = base.className === 'fixed-point' && base.size === 1 && count === 2 && members.every((m, i) => m.name === (i === 0 ? 'FALSE' : 'TRUE') && m.value[0] === i);
      if (isBool) return { className, size, bigEndian: false, base, members, dtype: 'BOOL', description: 'bool' };
      return {
        className, size, bigEndian: base.bigEndian, base, members, description: `enum (${base.description})`,
        ...(base.dtype ? { dtype: base.dtype } : { why: `an enumeration of ${base.description}` }),
      };
    }
    case 9: {
      const type = bits & 0x0f;
      const pad = PADS[(bits >> 4) & 0x0f] ?? 'nullterm';
      const utf8 = ((bits >> 8) & 0x0f) === 1;
      const base = datatype(f, depth + 1);
      if (type === 1) return { className, size, bigEndian: false, base, string: { variable: true, pad, utf8 }, description: 'string (variable length)', why: 'variable-length strings' };
      return { className, size, bigEndian: false, base, description: `variable-length sequence of ${base.description}`, why: 'a variable-length sequence' };
    }
    case 10: {
      const rank = f.u8();
      if (version < 3) f.skip(3);
      const dims: number[] = [];
      for (let i = 0; i < rank; i++) dims.push(f.u32());
      if (version < 3) f.skip(4 * rank); // permutation indexes
      const base = datatype(f, depth + 1);
      return { className, size, bigEndian: base.bigEndian, base, arrayDims: dims, description: `array [${dims.join(', ')}] of ${base.description}`, why: 'an array datatype' };
    }
    default:
      // Compound, reference, opaque, bitfield, time: recognised, never decoded (their properties are skipped by the message's size).
      return { className, size, bigEndian, description: className, why: `a ${className} datatype` };
  }
}

function padTo8(n: number): number {
  return (8 - (n % 8)) % 8;
}

const INTEGERS: Record<string, Dtype> = { i1: 'I8', i2: 'I16', i4: 'I32', i8: 'I64', u1: 'U8', u2: 'U16', u4: 'U32', u8: 'U64' };

/** IEEE layouts: size:offset:precision:exponent location:size:mantissa location:size:bias:sign location. */
const FLOATS: Record<string, Dtype> = {
  '2:0:16:10:5:0:10:15:15': 'F16',
  '2:0:16:7:8:0:7:127:15': 'BF16',
  '4:0:32:23:8:0:23:127:31': 'F32',
  '8:0:64:52:11:0:52:1023:63': 'F64',
};

/** For messages: the name of a datatype class. */
export function datatypeClassName(b0: number): string {
  return CLASS_NAMES[b0 & 0x0f] ?? `class ${b0 & 0x0f}`;
}

export { latin };
