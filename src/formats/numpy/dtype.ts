import { show } from '../scan-rules.js';
import { LiteralError, MAX_NPY_LITERAL_DEPTH, type PyValue } from './py-literal.js';

/**
 * The `descr` of a .npy header as numpy.dtype reads it: a typestr (`'<f4'`, `'|O'`, `'>c8'`), a type
 * name (`'float32'`, `'object'`), numpy's comma form of a structured dtype (`'i4,O'`,
 * `'(2,3)f8, O'`), or a list of `(name, dtype[, shape])` fields. Only what a reader needs is kept: the
 * kind, the item size, the byte order, and whether an object (a pickle) hides anywhere inside.
 * Native byte order (`=`, `|` or none on a multi-byte type) is taken as little-endian: numpy writes
 * explicit orders, and the machines that load these files are little-endian.
 */

export type NpyKind = 'bool' | 'int' | 'uint' | 'float' | 'complex' | 'bytes' | 'str' | 'void' | 'object' | 'datetime' | 'timedelta' | 'structured';

export interface NpyDtype {
  readonly kind: NpyKind;
  /** Bytes per element (for a structured dtype, the sum of its fields'). */
  readonly itemsize: bigint;
  /** `>`: the data is big-endian. */
  readonly bigEndian: boolean;
  /** An object dtype, or a structured one with an object field: the data is a pickle. */
  readonly hasObject: boolean;
}

/** numpy.dtype's names for types (`'object'`, `'float32'`, …), as np.dtype accepts them in a descr. */
const NAMED_DTYPES: Record<string, string> = {
  object: '|O', object_: '|O', bool: '|b1', bool_: '|b1', int8: '|i1', uint8: '|u1', int16: '<i2', uint16: '<u2', int32: '<i4',
  uint32: '<u4', int64: '<i8', uint64: '<u8', int: '<i8', int_: '<i8', intp: '<i8', uintp: '<u8', uint: '<u8', byte: '|i1', ubyte: '|u1',
  short: '<i2', ushort: '<u2', intc: '<i4', uintc: '<u4', long: '<i8', ulong: '<u8', longlong: '<i8', ulonglong: '<u8',
  float16: '<f2', float32: '<f4', float64: '<f8', float: '<f8', float_: '<f8', half: '<f2', single: '<f4', double: '<f8',
  longdouble: '<f16', float128: '<f16', complex64: '<c8', complex128: '<c16', complex: '<c16', complex_: '<c16', csingle: '<c8',
  cdouble: '<c16', clongdouble: '<c32', complex256: '<c32', str: '<U0', str_: '<U0', unicode: '<U0', bytes: '|S0', bytes_: '|S0',
  void: '|V0', datetime64: '<M8', timedelta64: '<m8',
};

/** The dtype a header's `descr` value describes. Throws LiteralError for what numpy would not read (or this reader does not know). */
export function dtypeOf(v: PyValue, depth = 0): NpyDtype {
  if (depth > MAX_NPY_LITERAL_DEPTH) throw new LiteralError('structured dtype nested too deeply', 0);
  if (v.kind === 'str') return dtypeString(v.value, depth);
  if (v.kind === 'list') {
    let itemsize = 0n;
    let hasObject = false;
    const names = new Set<string>();
    for (const f of v.items) {
      if (f.kind !== 'tuple' || f.items.length < 2 || f.items.length > 3) throw new LiteralError('a structured dtype field is not a (name, dtype[, shape]) tuple', 0);
      const [nameV, typeV, shapeV] = f.items as [PyValue, PyValue, PyValue | undefined];
      let name: string;
      if (nameV.kind === 'str') name = nameV.value;
      else if (nameV.kind === 'tuple' && nameV.items.length === 2 && nameV.items[1]!.kind === 'str') name = nameV.items[1]!.value;
      else throw new LiteralError('a structured dtype field name is not a string', 0);
      if (name !== '' && names.has(name)) throw new LiteralError(`duplicate field name ${show(name)}`, 0);
      names.add(name);
      const sub = dtypeOf(typeV, depth + 1);
      let n = 1n;
      if (shapeV !== undefined) {
        const dims = shapeV.kind === 'int' ? [shapeV] : shapeV.kind === 'tuple' ? shapeV.items : undefined;
        if (!dims || !dims.every((d) => d.kind === 'int' && d.value >= 0n)) throw new LiteralError(`the shape of field ${show(name)} is not integers`, 0);
        for (const d of dims) n *= (d as { value: bigint }).value;
      }
      itemsize += sub.itemsize * n;
      hasObject ||= sub.hasObject;
    }
    return { kind: 'structured', itemsize, bigEndian: false, hasObject };
  }
  throw new LiteralError('descr is neither a type string nor a list of fields', 0);
}

/** A descr string: a typestr, a type name, or the comma form of a structured dtype. */
function dtypeString(s: string, depth: number): NpyDtype {
  if (depth > MAX_NPY_LITERAL_DEPTH) throw new LiteralError('structured dtype nested too deeply', 0);
  const t = s.trim();
  if (t.includes(',')) {
    const fields = splitTopLevel(t).filter((f, i, all) => f.trim() !== '' || i < all.length - 1);
    let itemsize = 0n;
    let hasObject = false;
    for (const field of fields) {
      const m = /^\s*(?:\(([\d,\s]*)\)|(\d+)(?=[^\d]))?\s*(.*?)\s*$/.exec(field)!;
      const dims = (m[1] ?? m[2] ?? '1').split(',').filter((d) => d.trim() !== '');
      let n = 1n;
      for (const d of dims) n *= BigInt(d.trim());
      // A field that is the whole string again (unbalanced brackets keep its comma inside) would recurse forever.
      if (m[3]!.trim() === t) throw new LiteralError(`unrecognised dtype ${show(t)}`, 0);
      const sub = dtypeString(m[3]!, depth + 1);
      itemsize += sub.itemsize * n;
      hasObject ||= sub.hasObject;
    }
    return { kind: 'structured', itemsize, bigEndian: false, hasObject };
  }
  const named = NAMED_DTYPES[t];
  if (named !== undefined) return typestr(named);
  return typestr(t);
}

/** Splits at commas outside parentheses and brackets. */
function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '(' || c === '[') depth++;
    else if (c === ')' || c === ']') depth--;
    else if (c === ',' && depth === 0) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out;
}

/** The numpy "typestr" forms: `<f4`, `|b1`, `>c16`, `<U5`, `|S3`, `|V8`, `|O`, `<M8[ns]`. */
const TYPESTR = /^([<>|=]?)([?bBhHiIlLqQpPefdgFDGuScaUVOMm])(\d*)(\[[A-Za-z0-9]+\])?$/;

/** Single-character type codes without a size (numpy.dtype's char codes; `l`/`L` as on 64-bit Linux). */
const CHAR_CODES: Record<string, [NpyKind, number]> = {
  B: ['uint', 1], h: ['int', 2], H: ['uint', 2], I: ['uint', 4], l: ['int', 8], L: ['uint', 8], q: ['int', 8], Q: ['uint', 8],
  p: ['int', 8], P: ['uint', 8], e: ['float', 2], d: ['float', 8], g: ['float', 16], F: ['complex', 8], D: ['complex', 16], G: ['complex', 32],
};

function typestr(s: string): NpyDtype {
  const m = TYPESTR.exec(s);
  if (!m) throw new LiteralError(`unrecognised dtype ${show(s)}`, 0);
  const bigEndian = m[1] === '>';
  const code = m[2]!;
  const digits = m[3]!;
  const n = digits === '' ? undefined : BigInt(digits);
  // A unit (`[ns]`) belongs to datetimes and timedeltas only.
  if (m[4] !== undefined && code !== 'M' && code !== 'm') throw new LiteralError(`unrecognised dtype ${show(s)}`, 0);
  const fixed = (sizes: number[], dflt: number | undefined): bigint => {
    const size = n ?? (dflt === undefined ? undefined : BigInt(dflt));
    if (size === undefined) throw new LiteralError(`unrecognised dtype ${show(s)}`, 0);
    if (!sizes.includes(Number(size))) throw new LiteralError(`dtype ${show(s)} has an impossible size`, 0);
    return size;
  };
  const of = (kind: NpyKind, itemsize: bigint): NpyDtype => ({ kind, itemsize, bigEndian: bigEndian && itemsize > 1n, hasObject: kind === 'object' });
  switch (code) {
    case 'b':
      // 'b' alone is int8 in numpy's char codes; 'b1' is bool.
      if (n === 1n) return of('bool', 1n);
      return of('int', fixed([1], 1));
    case '?':
      return of('bool', fixed([1], 1));
    case 'i':
      return of('int', fixed([1, 2, 4, 8], 4));
    case 'u':
      return of('uint', fixed([1, 2, 4, 8], undefined));
    case 'f':
      return of('float', fixed([2, 4, 8, 12, 16], 4));
    case 'c':
      // 'c' alone is a one-byte string (numpy's char code for S1).
      if (n === undefined) return of('bytes', 1n);
      return of('complex', fixed([8, 16, 24, 32], undefined));
    case 'S':
    case 'a':
      return of('bytes', n ?? 0n);
    case 'V':
      return of('void', n ?? 0n);
    case 'U':
      return of('str', (n ?? 0n) * 4n);
    case 'O':
      return of('object', fixed([4, 8], 8));
    case 'M':
      return of('datetime', fixed([8], 8));
    case 'm':
      return of('timedelta', fixed([8], 8));
    default: {
      const known = CHAR_CODES[code];
      if (known === undefined || n !== undefined) throw new LiteralError(`unrecognised dtype ${show(s)}`, 0);
      return of(known[0], BigInt(known[1]));
    }
  }
}
