import { PagedReader } from '../../io/cursor.js';
import { limitExceeded, malformed } from '../../io/format-problem.js';
import { expectWire, readPbString, varints, walkField, walkMessage, WIRE_FIXED32, WIRE_LEN, WIRE_VARINT, type PbBudget, type PbField, type PbWalk } from '../protobuf/wire.js';
import { ONNX_DTYPES } from './dtype.js';

/**
 * One pass over an ONNX ModelProto that locates every weight without reading its bytes: the main
 * graph's initializers, every Constant node's value, and the same inside subgraphs (If/Loop/Scan
 * bodies and any graph attribute, at any depth). A tensor is a record of where its bytes are (a
 * raw_data range, typed-field ranges, or an external file's location) and what they are.
 */

/** Nesting of messages followed (graph → node → attribute → graph is 3 per subgraph level): bounds recursion (this walk's and the scan's). */
export const MAX_ONNX_DEPTH = 64;
/** Protobuf fields visited in one file: bounds the walk's time on a hostile or huge graph (this walk's and the scan's). */
export const MAX_ONNX_FIELDS = 10_000_000;
/** Longest string read (names, op types, domains, external data keys and locations): hostile strings can be huge. */
export const MAX_ONNX_STRING_BYTES = 64 * 1024;
/** Dimensions of one tensor: a tensor of a million dimensions would make every element count walk them. */
export const MAX_ONNX_DIMS = 64;
/** Tensors located in one model: each is a record in memory. */
export const MAX_ONNX_TENSORS = 1_000_000;
/** Bytes of one tensor's typed fields (float_data, int64_data, …), decoded in memory when streamed: exporters write large tensors as raw_data. */
export const MAX_ONNX_TYPED_BYTES = 256 * 1024 * 1024;

/** Bytes of one densified sparse tensor, built in memory: a few values can declare a huge dense shape. */
export const MAX_ONNX_SPARSE_DENSE_BYTES = 256 * 1024 * 1024;

/** A tensor's bytes as they lie in the model. */
export type TensorData =
  | { readonly kind: 'raw'; readonly start: number; readonly length: number }
  | { readonly kind: 'typed'; readonly field: number; readonly ranges: readonly { start: number; end: number; packed: boolean }[] }
  | { readonly kind: 'external'; readonly entries: ReadonlyMap<string, string> }
  /** A Constant's value_float(s)/value_int(s): the values themselves. */
  | { readonly kind: 'inline'; readonly bytes: Uint8Array }
  /** A SparseTensorProto (COO): `values` [NNZ] at `indices` ([NNZ] linear or [NNZ, rank]) of a dense tensor of `dims`. */
  | { readonly kind: 'sparse'; readonly values: TensorRecord; readonly indices: TensorRecord };

export interface TensorRecord {
  /** Its name in the TensorSet: unique, saying where it came from. */
  name: string;
  /** Its name in the model (the initializer's, or the Constant's output). */
  readonly onnxName: string;
  /** Where it is, for messages: `initializer`, `Constant node "c0"`, `then_branch of If node "if0"`. */
  readonly where: string;
  readonly dataType: number;
  readonly dims: readonly number[];
  readonly data: TensorData | undefined;
  /** Offset of the TensorProto (or the node), for messages. */
  readonly at: number;
  /** Why it cannot be a tensor (a string tensor, a segment): left out or refused with this reason. */
  readonly problem?: string;
}

export interface OnnxModel {
  readonly irVersion?: number;
  readonly producer: string;
  readonly producerVersion: string;
  readonly opsets: readonly string[];
  readonly nodes: number;
  readonly subgraphs: number;
  readonly tensors: readonly TensorRecord[];
  /** What was found but not taken: sparse initializers, string constants, other attribute tensors. */
  readonly leftOut: readonly { path: string; what: string }[];
}

interface Parse extends PbWalk {
  tensors: TensorRecord[];
  leftOut: { path: string; what: string }[];
  nodes: number;
  subgraphs: number;
}

export async function parseOnnxModel(r: PagedReader, size: number): Promise<OnnxModel> {
  const p: Parse = { r, budget: onnxBudget(), tensors: [], leftOut: [], nodes: 0, subgraphs: 0 };
  let irVersion: number | undefined;
  let producer = '';
  let producerVersion = '';
  const opsets: string[] = [];
  let graphs = 0;
  await walkMessage(r, 0, size, 'ModelProto', p.budget, new Set([1, 2, 3, 7, 8]), async (f) => {
    if (f.no === 1) {
      expectWire(f, WIRE_VARINT, 'ModelProto.ir_version');
      irVersion = f.value;
    } else if (f.no === 2) producer = await onnxString(p, f, 'ModelProto.producer_name');
    else if (f.no === 3) producerVersion = await onnxString(p, f, 'ModelProto.producer_version');
    else if (f.no === 8) opsets.push(await readOpset(p, f));
    else if (f.no === 7) {
      if (++graphs > 1) throw malformed('ModelProto has more than one graph (field 7)', f.at);
      await graph(p, f, 1, '');
    }
  });
  if (graphs === 0) throw malformed('no graph (ModelProto field 7): not an ONNX model', 0);
  return { irVersion, producer, producerVersion, opsets, nodes: p.nodes, subgraphs: p.subgraphs, tensors: p.tensors, leftOut: p.leftOut };
}

/** The field budget of one walk over a file (MAX_ONNX_FIELDS). */
export function onnxBudget(): PbBudget {
  return { fields: MAX_ONNX_FIELDS, limitName: `MAX_ONNX_FIELDS (${MAX_ONNX_FIELDS})` };
}

/** A string field of the model (at most MAX_ONNX_STRING_BYTES). */
export function onnxString(w: PbWalk, f: PbField, what: string): Promise<string> {
  return readPbString(w.r, f, MAX_ONNX_STRING_BYTES, what, 'MAX_ONNX_STRING_BYTES');
}

/** The depth of a message nested in one at `depth`; past MAX_ONNX_DEPTH a limit problem. */
export function deeper(depth: number, f: PbField): number {
  if (depth + 1 > MAX_ONNX_DEPTH) throw limitExceeded(`messages nested more than MAX_ONNX_DEPTH (${MAX_ONNX_DEPTH}) deep`, f.at);
  return depth + 1;
}

function add(p: Parse, t: TensorRecord, at: number): void {
  if (p.tensors.length >= MAX_ONNX_TENSORS) throw limitExceeded(`more than MAX_ONNX_TENSORS (${MAX_ONNX_TENSORS}) tensors`, at);
  p.tensors.push(t);
}

const OPSET_FIELDS = new Set([1, 2]);

/** A ModelProto.opset_import entry as `<domain> <version>` (`ai.onnx 17`). */
export async function readOpset(w: PbWalk, f: PbField): Promise<string> {
  let domain = '';
  let version = 0;
  await walkField(w, f, 'OperatorSetIdProto', OPSET_FIELDS, async (g) => {
    if (g.no === 1) domain = await onnxString(w, g, 'OperatorSetIdProto.domain');
    else {
      expectWire(g, WIRE_VARINT, 'OperatorSetIdProto.version');
      version = g.value;
    }
  });
  return `${domain === '' ? 'ai.onnx' : domain} ${version}`;
}

const GRAPH_FIELDS = new Set([1, 5, 15]);

/** `prefix` is '' for the main graph, else `<node>/<attribute>/` (names inside it start with it). */
async function graph(p: Parse, f: PbField, depth: number, prefix: string): Promise<void> {
  const d = deeper(depth, f);
  if (prefix !== '') p.subgraphs++;
  const nodes: PbField[] = [];
  await walkField(p, f, 'GraphProto', GRAPH_FIELDS, async (g) => {
    if (g.no === 5) {
      const t = await tensorProto(p, g, deeper(d, g), prefix === '' ? 'initializer' : `initializer of subgraph ${prefix.slice(0, -1)}`);
      add(p, { ...t, name: prefix + t.onnxName }, g.at);
    } else if (g.no === 15) {
      const t = await sparseTensorProto(p, g, deeper(d, g), prefix === '' ? 'sparse initializer' : `sparse initializer of subgraph ${prefix.slice(0, -1)}`);
      add(p, { ...t, name: prefix + t.onnxName }, g.at);
    } else {
      expectWire(g, WIRE_LEN, 'GraphProto.node');
      nodes.push(g);
    }
  });
  for (const [i, n] of nodes.entries()) await node(p, n, d, prefix, i);
}

const NODE_FIELDS = new Set([2, 3, 4, 5]);
const ATTRIBUTE_FIELDS = new Set([1, 2, 3, 5, 6, 7, 8, 11, 20, 22]);

interface Attribute {
  name: string;
  f?: number;
  i?: bigint;
  floats: PbField[];
  ints: PbField[];
  t?: PbField;
  /** sparse_tensor (22): a Constant's `sparse_value`. */
  sparse?: PbField;
  graphs: PbField[];
  /** Its graphs came from `graphs` (11, a GRAPHS attribute): each is named `<attribute>[i]`, even one. */
  graphList: boolean;
  at: number;
}

async function node(p: Parse, f: PbField, depth: number, prefix: string, index: number): Promise<void> {
  const d = deeper(depth, f);
  p.nodes++;
  let name = '';
  let opType = '';
  const outputs: string[] = [];
  const attributes: PbField[] = [];
  await walkField(p, f, 'NodeProto', NODE_FIELDS, async (g) => {
    if (g.no === 2) outputs.push(await onnxString(p, g, 'NodeProto.output'));
    else if (g.no === 3) name = await onnxString(p, g, 'NodeProto.name');
    else if (g.no === 4) opType = await onnxString(p, g, 'NodeProto.op_type');
    else {
      expectWire(g, WIRE_LEN, 'NodeProto.attribute');
      attributes.push(g);
    }
  });
  const label = name !== '' ? name : `${opType || 'node'}#${index}`;
  for (const a of attributes) {
    const attr = await attribute(p, a, d);
    if (opType === 'Constant') await constant(p, attr, d, prefix, label, outputs[0] ?? label);
    for (const [j, g] of attr.graphs.entries()) {
      const sub = attr.graphs.length > 1 || attr.graphList ? `${attr.name}[${j}]` : attr.name;
      await graph(p, g, deeper(d, g), `${prefix}${label}/${sub}/`);
    }
  }
}

async function attribute(p: Parse, f: PbField, depth: number): Promise<Attribute> {
  deeper(depth, f);
  const a: Attribute = { name: '', floats: [], ints: [], graphs: [], graphList: false, at: f.at };
  await walkField(p, f, 'AttributeProto', ATTRIBUTE_FIELDS, async (g) => {
    switch (g.no) {
      case 1:
        a.name = await onnxString(p, g, 'AttributeProto.name');
        break;
      case 2:
        expectWire(g, WIRE_FIXED32, 'AttributeProto.f');
        a.f = new DataView((await p.r.bytes(g.start, 4, 'AttributeProto.f')).slice().buffer).getFloat32(0, true);
        break;
      case 3:
        expectWire(g, WIRE_VARINT, 'AttributeProto.i');
        a.i = varints(await p.r.bytes(g.start, g.end - g.start, 'AttributeProto.i'), g.start)[0];
        break;
      case 5:
        a.t = g;
        break;
      case 6:
        a.graphs.push(g);
        break;
      case 7:
        a.floats.push(g);
        break;
      case 8:
        a.ints.push(g);
        break;
      case 11:
        a.graphList = true;
        a.graphs.push(g);
        break;
      case 20:
        expectWire(g, WIRE_VARINT, 'AttributeProto.type');
        break;
      case 22:
        a.sparse = g;
        break;
    }
  });
  return a;
}

/** A Constant node's value: `value` (a tensor), `sparse_value` (densified), `value_float(s)` (F32), `value_int(s)` (I64); others left out. */
async function constant(p: Parse, a: Attribute, depth: number, prefix: string, label: string, output: string): Promise<void> {
  const name = prefix + output;
  const where = `Constant node ${JSON.stringify(label)}${prefix ? ` in subgraph ${prefix.slice(0, -1)}` : ''}`;
  if (a.name === 'value' && a.t) {
    const t = await tensorProto(p, a.t, deeper(depth, a.t), where);
    add(p, { ...t, name, onnxName: output }, a.at);
  } else if (a.name === 'sparse_value' && a.sparse) {
    const t = await sparseTensorProto(p, a.sparse, deeper(depth, a.sparse), where);
    add(p, { ...t, name, onnxName: output }, a.at);
  } else if (a.name === 'value_float' && a.f !== undefined) {
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setFloat32(0, a.f, true);
    add(p, { name, onnxName: output, where, dataType: 1, dims: [], data: { kind: 'inline', bytes }, at: a.at }, a.at);
  } else if (a.name === 'value_int' && a.i !== undefined) {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setBigInt64(0, BigInt.asIntN(64, a.i), true);
    add(p, { name, onnxName: output, where, dataType: 7, dims: [], data: { kind: 'inline', bytes }, at: a.at }, a.at);
  } else if (a.name === 'value_floats') {
    const bytes = await fixedValues(p, a.floats, 4, 'AttributeProto.floats');
    add(p, { name, onnxName: output, where, dataType: 1, dims: [bytes.byteLength / 4], data: { kind: 'inline', bytes }, at: a.at }, a.at);
  } else if (a.name === 'value_ints') {
    const values = await varintValues(p, a.ints, 'AttributeProto.ints');
    const bytes = new Uint8Array(values.length * 8);
    const v = new DataView(bytes.buffer);
    values.forEach((x, i) => v.setBigInt64(i * 8, BigInt.asIntN(64, x), true));
    add(p, { name, onnxName: output, where, dataType: 7, dims: [values.length], data: { kind: 'inline', bytes }, at: a.at }, a.at);
  } else if (a.name !== '') {
    p.leftOut.push({ path: name, what: `the ${JSON.stringify(a.name)} value of ${where} (not a numeric tensor)` });
  }
}

/** A constant attribute's values (bounded: MAX_ONNX_TYPED_BYTES). */
async function fixedValues(p: Parse, fields: readonly PbField[], width: number, what: string): Promise<Uint8Array> {
  let total = 0;
  for (const g of fields) {
    const n = g.end - g.start;
    if (g.wire === WIRE_LEN ? n % width !== 0 : n !== width) throw malformed(`${what}: ${n} bytes are not whole ${width}-byte values`, g.at);
    total += n;
    if (total > MAX_ONNX_TYPED_BYTES) throw limitExceeded(`${what}: more than MAX_ONNX_TYPED_BYTES (${MAX_ONNX_TYPED_BYTES}) bytes of values`, g.at);
  }
  // Sizes checked first, so the values are read once, into place.
  const out = new Uint8Array(total);
  let o = 0;
  for (const g of fields) {
    out.set(await p.r.bytes(g.start, g.end - g.start, what), o);
    o += g.end - g.start;
  }
  return out;
}

async function varintValues(p: Parse, fields: readonly PbField[], what: string): Promise<bigint[]> {
  const out: bigint[] = [];
  let total = 0;
  for (const g of fields) {
    total += g.end - g.start;
    if (total > MAX_ONNX_TYPED_BYTES) throw limitExceeded(`${what}: more than MAX_ONNX_TYPED_BYTES (${MAX_ONNX_TYPED_BYTES}) bytes of values`, g.at);
    if (g.wire !== WIRE_LEN && g.wire !== WIRE_VARINT) throw malformed(`${what} has wire type ${g.wire}, expected varints`, g.at);
    for (const v of varints(await p.r.bytes(g.start, g.end - g.start, what), g.start)) out.push(v);
  }
  return out;
}

const SPARSE_FIELDS = new Set([1, 2, 3]);

/** A SparseTensorProto: named as its values tensor is (as onnx names a sparse initializer), of its own dims. */
async function sparseTensorProto(p: Parse, f: PbField, depth: number, where: string): Promise<TensorRecord> {
  let values: TensorRecord | undefined;
  let indices: TensorRecord | undefined;
  const dimFields: PbField[] = [];
  await walkField(p, f, 'SparseTensorProto', SPARSE_FIELDS, async (g) => {
    if (g.no === 3) dimFields.push(g);
    else {
      expectWire(g, WIRE_LEN, g.no === 1 ? 'SparseTensorProto.values' : 'SparseTensorProto.indices');
      const t = await tensorProto(p, g, deeper(depth, g), `${g.no === 1 ? 'values' : 'indices'} of ${where}`);
      if (g.no === 1) values = t;
      else indices = t;
    }
  });
  const name = values?.name ?? '';
  const dims = await dimsOf(p, dimFields, name, f.at, 'SparseTensorProto.dims');
  const base = { name, onnxName: name, where, dataType: values?.dataType ?? 0, dims, at: f.at };
  if (!values || !indices) return { ...base, data: undefined, problem: `it is a sparse tensor without ${values ? 'indices' : 'values'}` };
  return { ...base, data: { kind: 'sparse', values, indices } };
}

async function dimsOf(p: Parse, dimFields: readonly PbField[], name: string, at: number, what = 'TensorProto.dims'): Promise<number[]> {
  const dimValues = await varintValues(p, dimFields, what);
  if (dimValues.length > MAX_ONNX_DIMS) throw limitExceeded(`tensor ${JSON.stringify(name)} has ${dimValues.length} dimensions, more than MAX_ONNX_DIMS (${MAX_ONNX_DIMS})`, at);
  return dimValues.map((v) => {
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed(`tensor ${JSON.stringify(name)} has a negative or huge dimension (${BigInt.asIntN(64, v)})`, at);
    return Number(v);
  });
}

const ENTRY_FIELDS = new Set([1, 2]);
const TENSOR_FIELDS = new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14]);

async function tensorProto(p: Parse, f: PbField, depth: number, where: string): Promise<TensorRecord> {
  deeper(depth, f);
  let name = '';
  let dataType = 0;
  let raw: PbField | undefined;
  let location = 0;
  let segment = false;
  const dimFields: PbField[] = [];
  const typed = new Map<number, PbField[]>();
  const external = new Map<string, string>();
  await walkField(p, f, 'TensorProto', TENSOR_FIELDS, async (g) => {
    switch (g.no) {
      case 1:
        dimFields.push(g);
        break;
      case 2:
        expectWire(g, WIRE_VARINT, 'TensorProto.data_type');
        dataType = g.value;
        break;
      case 3:
        segment = true;
        break;
      case 8:
        name = await onnxString(p, g, 'TensorProto.name');
        break;
      case 9:
        expectWire(g, WIRE_LEN, 'TensorProto.raw_data');
        raw = g;
        break;
      case 13: {
        let key = '';
        let value = '';
        await walkField(p, g, 'StringStringEntryProto', ENTRY_FIELDS, async (e) => {
          if (e.no === 1) key = await onnxString(p, e, 'external_data key');
          else value = await onnxString(p, e, 'external_data value');
        });
        if (external.has(key)) throw malformed(`TensorProto ${JSON.stringify(name)}: external_data key ${JSON.stringify(key)} given twice`, g.at);
        external.set(key, value);
        break;
      }
      case 14:
        expectWire(g, WIRE_VARINT, 'TensorProto.data_location');
        location = g.value;
        break;
      default: {
        const list = typed.get(g.no) ?? [];
        list.push(g);
        typed.set(g.no, list);
      }
    }
  });
  const dims = await dimsOf(p, dimFields, name, f.at);
  const base = { name, onnxName: name, where, dataType, dims, at: f.at };
  if (segment) return { ...base, data: undefined, problem: 'it is a segment of a larger tensor (TensorProto.segment), which is not read' };
  if (location === 1) return { ...base, data: { kind: 'external', entries: external } };
  if (location !== 0) throw malformed(`tensor ${JSON.stringify(name)} has data_location ${location}, neither DEFAULT (0) nor EXTERNAL (1)`, f.at);
  if (raw) return { ...base, data: { kind: 'raw', start: raw.start, length: raw.end - raw.start } };
  const field = ONNX_DTYPES.get(dataType)?.field;
  if (field === undefined) return { ...base, data: undefined };
  const ranges = (typed.get(field) ?? []).map((g) => ({ start: g.start, end: g.end, packed: g.wire === WIRE_LEN }));
  return { ...base, data: { kind: 'typed', field, ranges } };
}
