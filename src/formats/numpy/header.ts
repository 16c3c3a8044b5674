import { isNpyMagic } from '../detect.js';
import { latin1, show, utf8OrUndefined } from '../scan-rules.js';
import { limitExceeded, malformed, FormatProblem } from '../../io/format-problem.js';
import { PagedReader, view } from '../../io/cursor.js';
import { dtypeOf, type NpyDtype } from './dtype.js';
import { LiteralError, parsePyLiteral, pyRepr, type PyValue } from './py-literal.js';

/**
 * The .npy header (numpy/lib/_format_impl.py): the magic `\x93NUMPY`, version 1.0/2.0/3.0, a header
 * length (2 bytes in 1.0, 4 after), and a header that is a Python dict literal
 * (`{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`), then the data. The header is parsed
 * by a small strict literal parser and never evaluated. Shared by the reader and the scan rules.
 */

/** Header bytes parsed (numpy itself stops at 10000 unless told otherwise; 6000-field v2 headers need ~140 KB). */
export const MAX_NPY_HEADER_BYTES = 4 * 1024 * 1024;

/** The parsed header: what numpy needs to read the data. */
export interface NpyHeader {
  version: string;
  dataOffset: number;
  /** The descr as written: its string (`<f4`), or the Python text of a list of fields, cut at MAX_PY_REPR_CHARS. */
  descr: string;
  shape: number[];
  fortranOrder: boolean;
  dtype: NpyDtype;
  itemsize: bigint;
  hasObject: boolean;
  /** A plain bool dtype (values must be 0 or 1). */
  isBool: boolean;
  /** The shape holds True or False: numpy's header check takes them as ints, but numpy.load then fails for any array but an object one (its pickle is loaded whatever the shape). */
  boolInShape: boolean;
}

/** Reads and checks the magic, version and header of a .npy source. Throws FormatProblem. */
export async function readNpyHeader(r: PagedReader): Promise<NpyHeader> {
  const head = await r.bytes(0, Math.min(12, r.size), 'the .npy preamble');
  if (head.length < 10 || !isNpyMagic(head)) throw malformed('the magic is not "\\x93NUMPY"', 0);
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
  const dataOffset = headerStart + headerLength;
  // From here the header's bytes are known: whatever is wrong with them, the data after them is where a pickle would be.
  const bad = (message: string): HeaderProblem => new HeaderProblem(message, headerStart, dataOffset);
  let text: string;
  if (major === 3) {
    const t = utf8OrUndefined(raw);
    if (t === undefined) throw bad('the version 3.0 header is not valid UTF-8');
    text = t;
  } else {
    text = latin1(raw);
  }
  let dict: PyValue;
  try {
    dict = parsePyLiteral(text);
  } catch (e) {
    if (e instanceof LiteralError) throw bad(`the header is not a Python literal: ${e.message} (at character ${e.index} of the header)`);
    throw e;
  }
  if (dict.kind !== 'dict') throw bad('the header is not a dict');
  const keys = [...dict.entries.keys()].sort();
  if (keys.join(',') !== 'descr,fortran_order,shape') {
    throw bad(`the header's keys are ${show(keys.join(', '))}, not exactly descr, fortran_order and shape (numpy refuses it)`);
  }
  const shapeV = dict.entries.get('shape')!;
  const orderV = dict.entries.get('fortran_order')!;
  const descrV = dict.entries.get('descr')!;
  // numpy checks isinstance(x, int) for each dimension: a bool is an int there (True is 1, False is 0).
  const dims = shapeV.kind === 'tuple' ? shapeV.items.map((x) => (x.kind === 'int' ? x.value : x.kind === 'bool' ? BigInt(x.value) : undefined)) : undefined;
  if (!dims || !dims.every((d) => d !== undefined && d >= 0n)) throw bad('shape is not a tuple of non-negative integers');
  if (orderV.kind !== 'bool') throw bad('fortran_order is not True or False');
  const shape = dims as bigint[];
  let dtype: NpyDtype;
  try {
    dtype = dtypeOf(descrV, 0);
  } catch (e) {
    if (e instanceof LiteralError) throw new DtypeProblem(`descr: ${e.message}`, headerStart, dataOffset);
    throw e;
  }
  const tooBig = shape.find((d) => d > BigInt(Number.MAX_SAFE_INTEGER));
  if (tooBig !== undefined) throw bad(`shape has dimension ${tooBig}, too large for any file`);
  return {
    version: `${major}.${minor}`,
    dataOffset,
    descr: descrV.kind === 'str' ? descrV.value : pyRepr(descrV),
    shape: shape.map(Number),
    fortranOrder: orderV.value,
    dtype,
    itemsize: dtype.itemsize,
    hasObject: dtype.hasObject,
    isBool: dtype.kind === 'bool',
    boolInShape: shapeV.kind === 'tuple' && shapeV.items.some((x) => x.kind === 'bool'),
  };
}

/**
 * A header whose bytes were read (its length is sane) but that this reader cannot take: numpy's own
 * reading of it may differ (its literal and dtype grammars are large), so the data after it is also
 * analysed as the pickle it may be.
 */
export class HeaderProblem extends FormatProblem {
  constructor(
    message: string,
    offset: number,
    readonly dataOffset: number,
  ) {
    super(message, offset, 'malformed');
  }
}

/** A descr this reader does not understand, in a header that is otherwise sound: refused as UnsupportedTensor when opened. */
export class DtypeProblem extends HeaderProblem {}

