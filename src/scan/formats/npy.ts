import type { ByteSource } from '../../io/byte-source.js';
import type { ScanContext } from '../../formats/findings.js';
import { at, Findings, FormatProblem, guarded, latin1, limitExceeded, malformed, PagedReader, show, utf8OrUndefined, view } from './common.js';

/**
 * NumPy `.npy` (numpy/lib/_format_impl.py): magic, version 1.0/2.0/3.0, a header that is a Python dict
 * literal (`{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`), then the data. The header is
 * parsed by a small strict literal parser (never evaluated). Numeric data must be exactly
 * shape × itemsize bytes. An object dtype (`'|O'`, `'object'`, or a structured dtype with an object
 * field: `'i4,O'`, `[('a', '<i4'), ('b', 'O')]`) means the data is a pickle that
 * `np.load(allow_pickle=True)` unpickles: it is handed to the pickle analysis. A descr this reader does
 * not know (numpy's dtype grammar is large) is `npy/malformed`, and the data is analysed as a pickle too.
 * Only the header is read, plus a bounded prefix of bool data (values other than 0/1 are invalid)
 * and the pickle of object arrays.
 *
 * Rules: `npy/valid`, `npy/object-array` (info); `npy/trailing-data`, `npy/malformed`,
 * `npy/limit-exceeded` (suspicious); the pickle analysis adds its own.
 * Misses: bool bytes past MAX_NPY_BOOL_CHECK_BYTES; the part of a pickle past MAX_NPY_PICKLE_BYTES
 * (reported); nothing about the values of numeric data.
 */

/** Header bytes parsed (numpy itself stops at 10000 unless told otherwise; 6000-field v2 headers need ~140 KB). */
export const MAX_NPY_HEADER_BYTES = 4 * 1024 * 1024;
/** Nesting of the header literal (structured dtypes nest a few levels): bounds the parser's recursion. */
export const MAX_NPY_LITERAL_DEPTH = 32;
/** Values in the header literal: bounds the parser's work on a hostile header. */
export const MAX_NPY_LITERAL_NODES = 1_000_000;
/** Pickle bytes of an object array read and passed to the pickle analysis. */
export const MAX_NPY_PICKLE_BYTES = 64 * 1024 * 1024;
/** Bool data bytes checked for values other than 0 and 1 (a bounded look at the data). */
export const MAX_NPY_BOOL_CHECK_BYTES = 1024 * 1024;

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export async function scanNpy(source: ByteSource, ctx: ScanContext): Promise<void> {
  const findings = new Findings(ctx);
  let summary = '';
  const ok = await guarded(findings, 'npy', ctx.file, 'the .npy file', async () => {
    summary = await scan(source, ctx, findings);
  });
  if (ok && summary !== '' && !findings.has('suspicious', 'dangerous')) findings.add('info', 'npy/valid', summary, ctx.file);
  findings.flush();
}

/** The parsed header: what numpy needs to read the data. */
export interface NpyHeader {
  version: string;
  dataOffset: number;
  descr: string;
  shape: number[];
  fortranOrder: boolean;
  itemsize: bigint;
  hasObject: boolean;
  /** A plain bool dtype (values must be 0 or 1). */
  isBool: boolean;
}

/** Reads and checks the magic, version and header of a .npy source. Throws FormatProblem. */
export async function readNpyHeader(r: PagedReader): Promise<NpyHeader> {
  const head = await r.bytes(0, Math.min(12, r.size), 'the .npy preamble');
  if (head.length < 10 || MAGIC.some((b, i) => head[i] !== b)) throw malformed('the magic is not "\\x93NUMPY"', 0);
  const major = head[6]!;
  const minor = head[7]!;
  if (major < 1 || major > 3 || minor !== 0) throw malformed(`unsupported format version ${major}.${minor} (1.0, 2.0 and 3.0 exist)`, 6);
  const lengthBytes = major === 1 ? 2 : 4;
  if (head.length < 8 + lengthBytes) throw malformed('the file ends inside the header length', 8);
  const headerLength = major === 1 ? view(head).getUint16(8, true) : view(head).getUint32(8, true);
  const headerStart = 8 + lengthBytes;
  if (headerLength > MAX_NPY_HEADER_BYTES) throw limitExceeded(`the header is ${headerLength} bytes, more than MAX_NPY_HEADER_BYTES (${MAX_NPY_HEADER_BYTES})`, 8);
  const raw = await r.bytes(headerStart, headerLength, 'the header');
  // 1.0 and 2.0 headers are latin-1; 3.0 headers are UTF-8.
  let text: string;
  if (major === 3) {
    const t = utf8OrUndefined(raw);
    if (t === undefined) throw malformed('the version 3.0 header is not valid UTF-8', headerStart);
    text = t;
  } else {
    text = latin1(raw);
  }
  let dict: PyValue;
  try {
    dict = parsePyLiteral(text);
  } catch (e) {
    if (e instanceof LiteralError) throw malformed(`the header is not a Python literal: ${e.message} (at character ${e.index} of the header)`, headerStart);
    throw e;
  }
  if (dict.kind !== 'dict') throw malformed('the header is not a dict', headerStart);
  const keys = [...dict.entries.keys()].sort();
  if (keys.join(',') !== 'descr,fortran_order,shape') {
    throw malformed(`the header's keys are ${show(keys.join(', '))}, not exactly descr, fortran_order and shape (numpy refuses it)`, headerStart);
  }
  const shapeV = dict.entries.get('shape')!;
  const orderV = dict.entries.get('fortran_order')!;
  const descrV = dict.entries.get('descr')!;
  if (shapeV.kind !== 'tuple' || !shapeV.items.every((x) => x.kind === 'int' && x.value >= 0n)) {
    throw malformed('shape is not a tuple of non-negative integers', headerStart);
  }
  if (orderV.kind !== 'bool') throw malformed('fortran_order is not True or False', headerStart);
  const shape = shapeV.items.map((x) => (x as { value: bigint }).value);
  let dtype: Dtype;
  try {
    dtype = dtypeOf(descrV, 0);
  } catch (e) {
    if (e instanceof LiteralError) throw new DtypeProblem(`descr: ${e.message}`, headerStart, headerStart + headerLength);
    throw e;
  }
  const tooBig = shape.find((d) => d > BigInt(Number.MAX_SAFE_INTEGER));
  if (tooBig !== undefined) throw malformed(`shape has dimension ${tooBig}, too large for any file`, headerStart);
  return {
    version: `${major}.${minor}`,
    dataOffset: headerStart + headerLength,
    descr: descrV.kind === 'str' ? descrV.value : 'structured',
    shape: shape.map(Number),
    fortranOrder: orderV.value,
    itemsize: dtype.itemsize,
    hasObject: dtype.hasObject,
    isBool: descrV.kind === 'str' && dtype.isBool,
  };
}

/**
 * A descr this reader does not understand, in a header that is otherwise sound: numpy may still read
 * it (its dtype grammar is large), so the data is also analysed as the pickle it may be.
 */
export class DtypeProblem extends FormatProblem {
  constructor(
    message: string,
    offset: number,
    readonly dataOffset: number,
  ) {
    super(message, offset, 'malformed');
  }
}

async function scan(source: ByteSource, ctx: ScanContext, findings: Findings): Promise<string> {
  const r = new PagedReader(source);
  let h: NpyHeader;
  try {
    h = await readNpyHeader(r);
  } catch (e) {
    if (e instanceof DtypeProblem && e.dataOffset < source.size) {
      const n = Math.min(source.size - e.dataOffset, MAX_NPY_PICKLE_BYTES);
      await ctx.scanPickle(await r.bytes(e.dataOffset, n, 'the data'), at(ctx.file, e.dataOffset));
    }
    throw e;
  }
  const where = at(ctx.file, h.dataOffset);
  const shapeText = `(${h.shape.join(', ')}${h.shape.length === 1 ? ',' : ''})`;
  const payload = source.size - h.dataOffset;
  if (payload < 0) throw malformed('the header runs past the end of the file', 8);
  if (h.hasObject) {
    findings.add(
      'info',
      'npy/object-array',
      `object dtype ${show(h.descr)} shape ${shapeText}: the ${payload} bytes of data are a pickle, which np.load unpickles when allow_pickle=True; passed to the pickle analysis`,
      where,
    );
    if (payload === 0) throw malformed('an object array with no pickle after the header', h.dataOffset);
    const n = Math.min(payload, MAX_NPY_PICKLE_BYTES);
    if (n < payload) {
      findings.add('suspicious', 'npy/limit-exceeded', `the pickle is ${payload} bytes; only the first ${n} were analysed (MAX_NPY_PICKLE_BYTES)`, where);
    }
    await ctx.scanPickle(await r.bytes(h.dataOffset, n, 'the pickle of the object array'), where);
    return '';
  }
  let count = 1n;
  for (const d of h.shape) count *= BigInt(d);
  const expected = count * h.itemsize;
  if (BigInt(payload) < expected) {
    throw malformed(`the data is ${payload} bytes, but dtype ${show(h.descr)} and shape ${shapeText} need ${expected} (truncated file)`, h.dataOffset);
  }
  if (BigInt(payload) > expected) {
    const end = h.dataOffset + Number(expected);
    findings.add(
      'suspicious',
      'npy/trailing-data',
      `${BigInt(payload) - expected} bytes after the end of the array data (offset ${end}): np.load ignores them; an appended file (polyglot) or a damaged file`,
      at(ctx.file, end),
    );
  }
  if (h.isBool && expected > 0n) {
    const n = Math.min(Number(expected), MAX_NPY_BOOL_CHECK_BYTES);
    const data = await r.bytes(h.dataOffset, n, 'the bool data');
    const bad = data.findIndex((b) => b > 1);
    if (bad >= 0) {
      throw malformed(`bool element ${bad} has byte value ${data[bad]}, not 0 or 1`, h.dataOffset + bad);
    }
  }
  const order = h.fortranOrder ? 'Fortran order' : 'C order';
  return `NumPy ${h.version} array, dtype ${show(h.descr)}, shape ${shapeText}, ${order}, ${expected} bytes of data; plain data, no pickle`;
}

// --- dtypes --------------------------------------------------------------------------------------

interface Dtype {
  itemsize: bigint;
  hasObject: boolean;
  isBool: boolean;
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

/**
 * A descr string: a typestr (`'<f4'`, `'|O'`), a type name (`'object'`, `'float32'`), or numpy's
 * comma-separated form of a structured dtype (`'i4,O'`, `'(2,3)f8, O'`), whose fields may hold objects.
 */
function dtypeString(s: string): Dtype {
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
      const sub = dtypeString(m[3]!);
      itemsize += sub.itemsize * n;
      hasObject ||= sub.hasObject;
    }
    return { itemsize, hasObject, isBool: false };
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
const TYPESTR = /^([<>|=]?)([?bBhHiIlLqQpPefdgFDGbiufcSaUVOMm])(\d*)(\[[A-Za-z0-9]+\])?$/;

function dtypeOf(v: PyValue, depth: number): Dtype {
  if (depth > MAX_NPY_LITERAL_DEPTH) throw new LiteralError('structured dtype nested too deeply', 0);
  if (v.kind === 'str') return dtypeString(v.value);
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
    return { itemsize, hasObject, isBool: false };
  }
  throw new LiteralError('descr is neither a type string nor a list of fields', 0);
}

function typestr(s: string): Dtype {
  const m = TYPESTR.exec(s);
  if (!m) throw new LiteralError(`unrecognised dtype ${show(s)}`, 0);
  const kind = m[2]!;
  const digits = m[3]!;
  const n = digits === '' ? undefined : BigInt(digits);
  const fixed = (sizes: number[], dflt: number): bigint => {
    const size = n ?? BigInt(dflt);
    if (!sizes.includes(Number(size))) throw new LiteralError(`dtype ${show(s)} has an impossible size`, 0);
    return size;
  };
  switch (kind) {
    case 'b':
      // 'b' alone is int8 in numpy's char codes; 'b1' is bool.
      if (n === 1n) return { itemsize: 1n, hasObject: false, isBool: true };
      return { itemsize: fixed([1], 1), hasObject: false, isBool: false };
    case '?':
      return { itemsize: fixed([1], 1), hasObject: false, isBool: true };
    case 'i':
    case 'u':
      return { itemsize: fixed([1, 2, 4, 8], 4), hasObject: false, isBool: false };
    case 'f':
      return { itemsize: fixed([2, 4, 8, 12, 16], 8), hasObject: false, isBool: false };
    case 'c':
      return { itemsize: fixed([8, 16, 24, 32], 16), hasObject: false, isBool: false };
    case 'S':
    case 'a':
    case 'V':
      return { itemsize: n ?? 0n, hasObject: false, isBool: false };
    case 'U':
      return { itemsize: (n ?? 0n) * 4n, hasObject: false, isBool: false };
    case 'O':
      return { itemsize: fixed([4, 8], 8), hasObject: true, isBool: false };
    case 'M':
    case 'm':
      return { itemsize: fixed([8], 8), hasObject: false, isBool: false };
    default: {
      // Single-character codes without a size (numpy.dtype accepts them).
      const sizes: Record<string, number> = { B: 1, h: 2, H: 2, I: 4, l: 8, L: 8, q: 8, Q: 8, p: 8, P: 8, e: 2, d: 8, g: 16, F: 8, D: 16, G: 32 };
      const size = sizes[kind];
      if (size === undefined || n !== undefined) throw new LiteralError(`unrecognised dtype ${show(s)}`, 0);
      return { itemsize: BigInt(size), hasObject: false, isBool: false };
    }
  }
}

// --- a strict Python literal parser (the subset numpy headers use) ----------------------------------

export type PyValue =
  | { kind: 'dict'; entries: Map<string, PyValue> }
  | { kind: 'tuple'; items: PyValue[] }
  | { kind: 'list'; items: PyValue[] }
  | { kind: 'str'; value: string }
  | { kind: 'int'; value: bigint }
  | { kind: 'bool'; value: boolean }
  | { kind: 'none' };

/** Internal control flow (not a TensorsafeError): the header readers turn it into a FormatProblem, which never escapes a scanner. */
export class LiteralError extends Error {
  constructor(
    message: string,
    readonly index: number,
  ) {
    super(message);
  }
}

/**
 * Parses dicts (string keys), tuples, lists, strings ('…', "…", u'…', with escapes), integers
 * (Python 2 `L` suffix allowed), True, False and None, with leading and trailing whitespace.
 * Anything else is an error: nothing is ever evaluated.
 */
export function parsePyLiteral(text: string): PyValue {
  let i = 0;
  let nodes = 0;
  const fail = (msg: string): never => {
    throw new LiteralError(msg, i);
  };
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const value = (depth: number): PyValue => {
    if (depth > MAX_NPY_LITERAL_DEPTH) fail('nested too deeply');
    if (++nodes > MAX_NPY_LITERAL_NODES) fail('too many values');
    ws();
    const ch = text[i];
    if (ch === undefined) return fail('unexpected end');
    if (ch === '{') {
      i++;
      const entries = new Map<string, PyValue>();
      for (;;) {
        ws();
        if (text[i] === '}') {
          i++;
          return { kind: 'dict', entries };
        }
        const k = value(depth + 1);
        if (k.kind !== 'str') fail('a dict key is not a string');
        ws();
        if (text[i] !== ':') fail("expected ':'");
        i++;
        const v = value(depth + 1);
        const key = (k as { value: string }).value;
        if (entries.has(key)) fail(`duplicate key ${show(key)}`);
        entries.set(key, v);
        ws();
        if (text[i] === ',') i++;
        else if (text[i] !== '}') fail("expected ',' or '}'");
      }
    }
    if (ch === '(' || ch === '[') {
      const close = ch === '(' ? ')' : ']';
      i++;
      const items: PyValue[] = [];
      let comma = false;
      for (;;) {
        ws();
        if (text[i] === close) {
          i++;
          // (x) is x itself in Python; (x,) and () are tuples.
          if (close === ')' && items.length === 1 && !comma) return items[0]!;
          return close === ')' ? { kind: 'tuple', items } : { kind: 'list', items };
        }
        items.push(value(depth + 1));
        ws();
        comma = false;
        if (text[i] === ',') {
          i++;
          comma = true;
        } else if (text[i] !== close) fail(`expected ',' or '${close}'`);
      }
    }
    if (ch === "'" || ch === '"' || ((ch === 'u' || ch === 'U') && (text[i + 1] === "'" || text[i + 1] === '"'))) {
      if (ch === 'u' || ch === 'U') i++;
      return { kind: 'str', value: str() };
    }
    if (ch === '-' || ch === '+' || (ch >= '0' && ch <= '9')) {
      const m = /^[-+]?\s*(\d+)[lL]?/.exec(text.slice(i, i + 64));
      if (!m) return fail('bad number');
      const digits = m[1]!;
      if (digits.length > 1 && digits.startsWith('0')) fail('a number with leading zeros');
      const neg = ch === '-';
      i += m[0].length;
      if (i < text.length && /[.eExXoObBjJ0-9_]/.test(text[i]!)) fail('only decimal integers are allowed');
      return { kind: 'int', value: neg ? -BigInt(digits) : BigInt(digits) };
    }
    for (const [word, v] of [
      ['True', { kind: 'bool', value: true }],
      ['False', { kind: 'bool', value: false }],
      ['None', { kind: 'none' }],
    ] as const) {
      if (text.startsWith(word, i) && !/[A-Za-z0-9_]/.test(text[i + word.length] ?? '')) {
        i += word.length;
        return v;
      }
    }
    return fail(`unexpected ${show(ch)}`);
  };
  const str = (): string => {
    const q = text[i]!;
    i++;
    let out = '';
    for (;;) {
      const c = text[i];
      if (c === undefined || c === '\n') return fail('unterminated string');
      i++;
      if (c === q) return out;
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = text[i];
      if (e === undefined) return fail('unterminated string');
      i++;
      const simple: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', n: '\n', t: '\t', r: '\r', '0': '\0', a: '\x07', b: '\b', f: '\f', v: '\v', '\n': '' };
      if (e in simple) out += simple[e];
      else if (e === 'x' || e === 'u' || e === 'U') {
        const len = e === 'x' ? 2 : e === 'u' ? 4 : 8;
        const hex = text.slice(i, i + len);
        if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) fail(`bad \\${e} escape`);
        const cp = parseInt(hex, 16);
        if (cp > 0x10ffff) fail('escape beyond Unicode');
        out += String.fromCodePoint(cp);
        i += len;
      } else out += `\\${e}`; // Python keeps unknown escapes as they are
    }
  };
  const v = value(0);
  ws();
  if (i !== text.length) fail('text after the value');
  return v;
}

