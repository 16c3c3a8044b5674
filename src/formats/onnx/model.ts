import { PagedReader } from '../../io/cursor.js';
import { limitExceeded, malformed } from '../../io/format-problem.js';
import { countVarints, eachVarint, expectWire, isRepeatedScalar, readPbString, varints, walkField, walkMessage, WIRE_FIXED32, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT, type PbBudget, type PbField, type PbWalk } from '../protobuf/wire.js';
import { DOUBLE_DATA, FLOAT_DATA, INT32_DATA, INT64_DATA, ONNX_DTYPES, UINT64_DATA } from './dtype.js';

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
  /** `repeated`: a key given more than once (the first value is in `entries`); such a tensor is refused. */
  | { readonly kind: 'external'; readonly entries: ReadonlyMap<string, string>; readonly repeated?: string }
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
  /** ModelProto.domain (reverse-DNS, `com.example`): '' when not set. */
  readonly domain: string;
  /** ModelProto.model_version (int64): undefined when not set. */
  readonly modelVersion?: bigint;
  readonly opsets: readonly string[];
  /** Nodes of the main graph and its subgraphs. */
  readonly nodes: number;
  /** Subgraphs of the main graph (If/Loop/Scan bodies, any graph attribute, at any depth). */
  readonly subgraphs: number;
  readonly tensors: readonly TensorRecord[];
  /** What was found but not taken: string constants, function constants, training graphs. */
  readonly leftOut: readonly { path: string; what: string }[];
  /** What the scan rules check, gathered by the same walk (scan-rules.ts). */
  readonly facts: OnnxScanFacts;
}

/** Everything in the file, functions and training graphs included, as the scan rules need it. */
export interface OnnxScanFacts {
  nodes: number;
  /** Initializers and sparse initializers of every graph. */
  initializers: number;
  /** TensorProtos with data_location EXTERNAL, wherever they are. */
  externalTensors: number;
  /** Graphs other than the main one (node attributes, training graphs). */
  subgraphs: number;
  functions: number;
  /** Operator domain → op types seen (at most 100 each). */
  readonly domains: Map<string, Set<string>>;
  /** Domains of model-local functions (their ops are defined in the file). */
  readonly functionDomains: Set<string>;
  /** Every TensorProto that names an external file, wherever it is. */
  readonly external: { what: string; locations: { value: string; at: number }[]; at: number }[];
}

/**
 * Where the walk is: `prefix` names the tensors found (`''` in the main graph, else
 * `<node>/<attribute>/`), `path` says where for the scan (`graph/node "If"/then_branch`). Outside the
 * main graph and its subgraphs (functions, training graphs) `skipped` counts the weights left out.
 */
interface Scope {
  readonly prefix: string;
  readonly path: string;
  readonly skipped?: { count: number };
}

interface Parse extends PbWalk {
  tensors: TensorRecord[];
  leftOut: { path: string; what: string }[];
  nodes: number;
  subgraphs: number;
  facts: OnnxScanFacts;
}

const MODEL_FIELDS = new Set([1, 2, 3, 4, 5, 7, 8, 20, 25]);

export async function parseOnnxModel(r: PagedReader, size: number): Promise<OnnxModel> {
  const facts: OnnxScanFacts = { nodes: 0, initializers: 0, externalTensors: 0, subgraphs: 0, functions: 0, domains: new Map(), functionDomains: new Set(), external: [] };
  const p: Parse = { r, budget: onnxBudget(), tensors: [], leftOut: [], nodes: 0, subgraphs: 0, facts };
  let irVersion: number | undefined;
  let producer = '';
  let producerVersion = '';
  let domain = '';
  let modelVersion: bigint | undefined;
  const opsets: string[] = [];
  let graphs = 0;
  let trainings = 0;
  await walkMessage(r, 0, size, 'ModelProto', p.budget, MODEL_FIELDS, async (f) => {
    if (f.no === 1) {
      expectWire(f, WIRE_VARINT, 'ModelProto.ir_version');
      irVersion = f.value;
    } else if (f.no === 2) producer = await onnxString(p, f, 'ModelProto.producer_name');
    else if (f.no === 3) producerVersion = await onnxString(p, f, 'ModelProto.producer_version');
    else if (f.no === 4) domain = await onnxString(p, f, 'ModelProto.domain');
    else if (f.no === 5) {
      expectWire(f, WIRE_VARINT, 'ModelProto.model_version');
      modelVersion = BigInt.asIntN(64, varints(await p.r.bytes(f.start, f.end - f.start, 'ModelProto.model_version'), f.start)[0]!);
    }
    else if (f.no === 8) opsets.push(await readOpset(p, f));
    else if (f.no === 7) {
      if (++graphs > 1) throw malformed('ModelProto has more than one graph (field 7)', f.at);
      await graph(p, f, 1, { prefix: '', path: 'graph' });
    } else if (f.no === 20) await trainingInfo(p, f, trainings++);
    else await func(p, f);
  });
  if (graphs === 0) throw malformed('no graph (ModelProto field 7): not an ONNX model', 0);
  return { irVersion, producer, producerVersion, domain, ...(modelVersion !== undefined ? { modelVersion } : {}), opsets, nodes: p.nodes, subgraphs: p.subgraphs, tensors: p.tensors, leftOut: p.leftOut, facts };
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

/** Quoted, for the scan's paths. */
const q = (s: string): string => JSON.stringify(s);

/** A weight found in `scope`: taken, or counted as left out (functions, training graphs). */
function add(p: Parse, scope: Scope, t: TensorRecord, at: number): void {
  if (scope.skipped) {
    scope.skipped.count++;
    return;
  }
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

const TRAINING_FIELDS = new Set([1, 2]);

/**
 * A TrainingInfoProto: its `initialization` graph computes starting values for training (random
 * initializers and the like) and its `algorithm` graph one training step; the model's weights are the
 * main graph's initializers. Walked for the scan; their tensors are left out with this reason.
 */
async function trainingInfo(p: Parse, f: PbField, index: number): Promise<void> {
  const graphs: PbField[] = [];
  await walkField(p, f, 'TrainingInfoProto', TRAINING_FIELDS, (g) => {
    expectWire(g, WIRE_LEN, g.no === 1 ? 'TrainingInfoProto.initialization' : 'TrainingInfoProto.algorithm');
    graphs.push(g);
  });
  for (const g of graphs) {
    const which = g.no === 1 ? 'initialization' : 'algorithm';
    const skipped = { count: 0 };
    await graph(p, g, 2, { prefix: `training_info[${index}]/${which}/`, path: `training_info.${which}`, skipped });
    if (skipped.count > 0) {
      p.leftOut.push({
        path: `training_info[${index}]/${which}`,
        what: `${skipped.count} tensor${skipped.count === 1 ? '' : 's'} of a training ${which} graph (values for or of a training step, not the model's weights, which are the main graph's initializers)`,
      });
    }
  }
}

const FUNCTION_FIELDS = new Set([1, 7, 10, 11]);

/**
 * A model-local FunctionProto: exporters (torch.onnx with modules as functions, onnxscript) keep the
 * weights in the main graph and pass them in; a Constant inside a function body is a value of the
 * function (a shape, an epsilon), the same for every call. Walked for the scan; its constants are
 * left out with this reason.
 */
async function func(p: Parse, f: PbField): Promise<void> {
  expectWire(f, WIRE_LEN, 'ModelProto.functions');
  const d = deeper(1, f);
  p.facts.functions++;
  let name = '';
  let domain = '';
  const later: PbField[] = [];
  await walkField(p, f, 'FunctionProto', FUNCTION_FIELDS, async (g) => {
    if (g.no === 1) name = await onnxString(p, g, 'FunctionProto.name');
    else if (g.no === 10) domain = await onnxString(p, g, 'FunctionProto.domain');
    else {
      expectWire(g, WIRE_LEN, g.no === 7 ? 'FunctionProto.node' : 'FunctionProto.attribute_proto');
      later.push(g);
    }
  });
  p.facts.functionDomains.add(domain);
  const skipped = { count: 0 };
  const scope: Scope = { prefix: `function ${domain ? `${domain}.` : ''}${name}/`, path: `function ${q(name)}`, skipped };
  let index = 0;
  for (const g of later) {
    if (g.no === 7) await node(p, g, d, scope, index++);
    else await attributeFacts(p, await attribute(p, g, d), d, scope, scope.path);
  }
  if (skipped.count > 0) {
    p.leftOut.push({
      path: scope.prefix.slice(0, -1),
      what: `${skipped.count} Constant value${skipped.count === 1 ? '' : 's'} inside the model-local function ${q(name)} (values of the function, the same for every call; exporters keep weights in the main graph)`,
    });
  }
}

const GRAPH_FIELDS = new Set([1, 5, 15]);

async function graph(p: Parse, f: PbField, depth: number, scope: Scope): Promise<void> {
  const d = deeper(depth, f);
  const main = scope.prefix === '';
  if (!main) {
    p.facts.subgraphs++;
    if (!scope.skipped) p.subgraphs++;
  }
  const nodes: PbField[] = [];
  const inGraph = main || scope.skipped ? '' : ` of subgraph ${scope.prefix.slice(0, -1)}`;
  await walkField(p, f, 'GraphProto', GRAPH_FIELDS, async (g) => {
    if (g.no === 5) {
      p.facts.initializers++;
      const t = await tensorProto(p, g, deeper(d, g), `initializer${inGraph}`, `initializer of ${scope.path}`);
      add(p, scope, { ...t, name: scope.prefix + t.onnxName }, g.at);
    } else if (g.no === 15) {
      p.facts.initializers++;
      const t = await sparseTensorProto(p, g, deeper(d, g), `sparse initializer${inGraph}`, `sparse initializer of ${scope.path}`);
      add(p, scope, { ...t, name: scope.prefix + t.onnxName }, g.at);
    } else {
      expectWire(g, WIRE_LEN, 'GraphProto.node');
      nodes.push(g);
    }
  });
  for (const [i, n] of nodes.entries()) await node(p, n, d, scope, i);
}

const NODE_FIELDS = new Set([2, 3, 4, 5, 7]);
const ATTRIBUTE_FIELDS = new Set([1, 2, 3, 5, 6, 7, 8, 10, 11, 20, 22, 23]);

interface Attribute {
  name: string;
  f?: number;
  i?: bigint;
  floats: PbField[];
  ints: PbField[];
  t?: PbField;
  /** tensors (10): walked for the scan only. */
  tensors: PbField[];
  /** sparse_tensor (22): a Constant's `sparse_value`. */
  sparse?: PbField;
  /** sparse_tensors (23): walked for the scan only. */
  sparseTensors: PbField[];
  graphs: PbField[];
  /** Its graphs came from `graphs` (11, a GRAPHS attribute): each is named `<attribute>[i]`, even one. */
  graphList: boolean;
  at: number;
}

async function node(p: Parse, f: PbField, depth: number, scope: Scope, index: number): Promise<void> {
  const d = deeper(depth, f);
  p.facts.nodes++;
  if (!scope.skipped) p.nodes++;
  let name = '';
  let opType = '';
  let domain = '';
  const outputs: string[] = [];
  const attributes: PbField[] = [];
  await walkField(p, f, 'NodeProto', NODE_FIELDS, async (g) => {
    if (g.no === 2) outputs.push(await onnxString(p, g, 'NodeProto.output'));
    else if (g.no === 3) name = await onnxString(p, g, 'NodeProto.name');
    else if (g.no === 4) opType = await onnxString(p, g, 'NodeProto.op_type');
    else if (g.no === 7) domain = await onnxString(p, g, 'NodeProto.domain');
    else {
      expectWire(g, WIRE_LEN, 'NodeProto.attribute');
      attributes.push(g);
    }
  });
  const ops = p.facts.domains.get(domain) ?? new Set<string>();
  if (ops.size < 100) ops.add(opType);
  p.facts.domains.set(domain, ops);
  const label = name !== '' ? name : `${opType || 'node'}#${index}`;
  const nodePath = `${scope.path}/node ${q(name || opType)}`;
  const isConstant = opType === 'Constant' && (domain === '' || domain === 'ai.onnx');
  for (const a of attributes) {
    const attr = await attribute(p, a, d);
    if (isConstant) await constant(p, attr, d, scope, label, outputs[0] ?? label, nodePath);
    else await attributeFacts(p, attr, d, scope, nodePath);
    for (const [j, g] of attr.graphs.entries()) {
      const sub = attr.graphs.length > 1 || attr.graphList ? `${attr.name}[${j}]` : attr.name;
      await graph(p, g, deeper(d, g), { prefix: `${scope.prefix}${label}/${sub}/`, path: `${nodePath}/${attr.name || 'graph attribute'}`, skipped: scope.skipped });
    }
  }
}

/**
 * A singular message field given twice: protobuf merges the two (repeated fields joined, the last
 * scalar wins), so a loader sees one tensor made of both, e.g. external_data from the first and
 * raw_data from the second. Taking either alone would read, and scan, another tensor than onnx loads.
 */
function mergedTwice(what: string, g: PbField): Error {
  return malformed(`${what} is given more than once: protobuf merges the two into one message, which this reader does not (a loader and this scan would see different tensors)`, g.at);
}

/** The tensors of an attribute that is not a weight (`t`, `tensors`, sparse ones): walked for the scan's facts only. */
async function attributeFacts(p: Parse, a: Attribute, depth: number, scope: Scope, path: string): Promise<void> {
  const what = `tensor attribute ${q(a.name)} of ${path}`;
  for (const t of [...(a.t ? [a.t] : []), ...a.tensors]) await tensorProto(p, t, deeper(depth, t), what, what);
  const sparseWhat = `sparse tensor attribute ${q(a.name)} of ${path}`;
  for (const t of [...(a.sparse ? [a.sparse] : []), ...a.sparseTensors]) await sparseTensorProto(p, t, deeper(depth, t), sparseWhat, sparseWhat);
  void scope;
}

async function attribute(p: Parse, f: PbField, depth: number): Promise<Attribute> {
  deeper(depth, f);
  const a: Attribute = { name: '', floats: [], ints: [], tensors: [], sparseTensors: [], graphs: [], graphList: false, at: f.at };
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
        expectWire(g, WIRE_LEN, 'AttributeProto.t');
        if (a.t) throw mergedTwice('AttributeProto.t', g);
        a.t = g;
        break;
      case 6:
        expectWire(g, WIRE_LEN, 'AttributeProto.g');
        a.graphs.push(g);
        break;
      // Another wire type is an unknown field to protobuf (onnx sees no value), so it is no value here either.
      case 7:
        if (isRepeatedScalar(g, WIRE_FIXED32)) a.floats.push(g);
        break;
      case 8:
        if (isRepeatedScalar(g, WIRE_VARINT)) a.ints.push(g);
        break;
      case 10:
        expectWire(g, WIRE_LEN, 'AttributeProto.tensors');
        a.tensors.push(g);
        break;
      case 11:
        expectWire(g, WIRE_LEN, 'AttributeProto.graphs');
        a.graphList = true;
        a.graphs.push(g);
        break;
      case 20:
        expectWire(g, WIRE_VARINT, 'AttributeProto.type');
        break;
      case 22:
        expectWire(g, WIRE_LEN, 'AttributeProto.sparse_tensor');
        if (a.sparse) throw mergedTwice('AttributeProto.sparse_tensor', g);
        a.sparse = g;
        break;
      case 23:
        expectWire(g, WIRE_LEN, 'AttributeProto.sparse_tensors');
        a.sparseTensors.push(g);
        break;
    }
  });
  return a;
}

/** A Constant node's value: `value` (a tensor), `sparse_value` (densified), `value_float(s)` (F32), `value_int(s)` (I64); others left out. */
async function constant(p: Parse, a: Attribute, depth: number, scope: Scope, label: string, output: string, nodePath: string): Promise<void> {
  const name = scope.prefix + output;
  const where = `Constant node ${JSON.stringify(label)}${scope.prefix && !scope.skipped ? ` in subgraph ${scope.prefix.slice(0, -1)}` : ''}`;
  const scanWhat = `tensor attribute ${q(a.name)} of ${nodePath}`;
  if (a.tensors.length > 0 || a.sparseTensors.length > 0) await attributeFacts(p, { ...a, t: undefined, sparse: undefined }, depth, scope, nodePath);
  if (a.name === 'value' && a.t) {
    const t = await tensorProto(p, a.t, deeper(depth, a.t), where, scanWhat);
    add(p, scope, { ...t, name, onnxName: output }, a.at);
  } else if (a.name === 'sparse_value' && a.sparse) {
    const t = await sparseTensorProto(p, a.sparse, deeper(depth, a.sparse), where, `sparse ${scanWhat}`);
    add(p, scope, { ...t, name, onnxName: output }, a.at);
  } else if (a.name === 'value_float' && a.f !== undefined) {
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setFloat32(0, a.f, true);
    add(p, scope, { name, onnxName: output, where, dataType: 1, dims: [], data: { kind: 'inline', bytes }, at: a.at }, a.at);
  } else if (a.name === 'value_int' && a.i !== undefined) {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setBigInt64(0, BigInt.asIntN(64, a.i), true);
    add(p, scope, { name, onnxName: output, where, dataType: 7, dims: [], data: { kind: 'inline', bytes }, at: a.at }, a.at);
  } else if (a.name === 'value_floats') {
    const bytes = await fixedValues(p, a.floats, 4, 'AttributeProto.floats');
    add(p, scope, { name, onnxName: output, where, dataType: 1, dims: [bytes.byteLength / 4], data: { kind: 'inline', bytes }, at: a.at }, a.at);
  } else if (a.name === 'value_ints') {
    // Two's complement 64-bit values are INT64's bytes as they are. Decoded 8 bytes each, so bounded in values.
    const bytes = await varintValues(p, a.ints, 'AttributeProto.ints', MAX_ONNX_TYPED_BYTES / 8, (at) =>
      limitExceeded(`AttributeProto.ints of ${where}: more than MAX_ONNX_TYPED_BYTES (${MAX_ONNX_TYPED_BYTES}) bytes of INT64 values`, at));
    add(p, scope, { name, onnxName: output, where, dataType: 7, dims: [bytes.byteLength / 8], data: { kind: 'inline', bytes }, at: a.at }, a.at);
  } else {
    await attributeFacts(p, a, depth, scope, nodePath);
    if (a.name !== '' && !scope.skipped) p.leftOut.push({ path: name, what: `the ${JSON.stringify(a.name)} value of ${where} (not a numeric tensor)` });
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

/**
 * Varint values as little-endian 64-bit integers, 8 bytes each: counted first, so more than
 * `maxValues` is refused (`tooMany`) before anything is decoded or allocated.
 */
async function varintValues(p: Parse, fields: readonly PbField[], what: string, maxValues: number, tooMany: (at: number) => Error): Promise<Uint8Array> {
  let total = 0;
  let count = 0;
  for (const g of fields) {
    total += g.end - g.start;
    if (total > MAX_ONNX_TYPED_BYTES) throw limitExceeded(`${what}: more than MAX_ONNX_TYPED_BYTES (${MAX_ONNX_TYPED_BYTES}) bytes of values`, g.at);
    if (g.wire !== WIRE_LEN && g.wire !== WIRE_VARINT) throw malformed(`${what} has wire type ${g.wire}, expected varints`, g.at);
    count += countVarints(await p.r.bytes(g.start, g.end - g.start, what), g.start);
    if (count > maxValues) throw tooMany(g.at);
  }
  const out = new Uint8Array(count * 8);
  const v = new DataView(out.buffer);
  let o = 0;
  for (const g of fields) {
    eachVarint(await p.r.bytes(g.start, g.end - g.start, what), g.start, (lo, hi) => {
      v.setUint32(o, lo, true);
      v.setUint32(o + 4, hi, true);
      o += 8;
    });
  }
  return out;
}

const SPARSE_FIELDS = new Set([1, 2, 3]);

/** A SparseTensorProto: named as its values tensor is (as onnx names a sparse initializer), of its own dims. */
async function sparseTensorProto(p: Parse, f: PbField, depth: number, where: string, scanWhat: string): Promise<TensorRecord> {
  let values: TensorRecord | undefined;
  let indices: TensorRecord | undefined;
  const dimFields: PbField[] = [];
  await walkField(p, f, 'SparseTensorProto', SPARSE_FIELDS, async (g) => {
    if (g.no === 3) dimFields.push(g);
    else {
      expectWire(g, WIRE_LEN, g.no === 1 ? 'SparseTensorProto.values' : 'SparseTensorProto.indices');
      const part = g.no === 1 ? 'values' : 'indices';
      if ((g.no === 1 ? values : indices) !== undefined) throw mergedTwice(`SparseTensorProto.${part}`, g);
      const t = await tensorProto(p, g, deeper(depth, g), `${part} of ${where}`, `${part} of ${scanWhat}`);
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
  // Counted before decoding: a tensor of millions of dimensions costs a count, not millions of BigInts.
  const dimBytes = await varintValues(p, dimFields, what, MAX_ONNX_DIMS, () =>
    limitExceeded(`tensor ${JSON.stringify(name)} has more than MAX_ONNX_DIMS (${MAX_ONNX_DIMS}) dimensions`, at));
  const dv = new DataView(dimBytes.buffer);
  const dimValues = Array.from({ length: dimBytes.byteLength / 8 }, (_, i) => dv.getBigUint64(i * 8, true));
  return dimValues.map((v) => {
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed(`tensor ${JSON.stringify(name)} has a negative or huge dimension (${BigInt.asIntN(64, v)})`, at);
    return Number(v);
  });
}

const ENTRY_FIELDS = new Set([1, 2]);
/** The wire type of one element of each typed field of TensorProto (string_data's are length-delimited). */
const TYPED_FIELD_WIRES: ReadonlyMap<number, number> = new Map([
  [FLOAT_DATA, WIRE_FIXED32],
  [INT32_DATA, WIRE_VARINT],
  [INT64_DATA, WIRE_VARINT],
  [DOUBLE_DATA, WIRE_FIXED64],
  [UINT64_DATA, WIRE_VARINT],
]);
const TENSOR_FIELDS = new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14]);

/** A TensorProto: `where` says where it is for the reader's messages, `scanWhat` for the scan's. */
async function tensorProto(p: Parse, f: PbField, depth: number, where: string, scanWhat: string): Promise<TensorRecord> {
  deeper(depth, f);
  let name = '';
  let dataType = 0;
  let raw: PbField | undefined;
  let location = 0;
  let segment = false;
  const dimFields: PbField[] = [];
  const typed = new Map<number, PbField[]>();
  const external = new Map<string, string>();
  const locations: { value: string; at: number }[] = [];
  let repeated: string | undefined;
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
        if (key === 'location') locations.push({ value, at: g.at });
        // A key given twice: loaders disagree on which one counts (the reader refuses the tensor).
        if (external.has(key)) repeated ??= key;
        else external.set(key, value);
        break;
      }
      case 14:
        expectWire(g, WIRE_VARINT, 'TensorProto.data_location');
        location = g.value;
        break;
      default: {
        // A typed field of another wire type is an unknown field to protobuf: onnx sees no values in it.
        if (!isRepeatedScalar(g, TYPED_FIELD_WIRES.get(g.no) ?? WIRE_LEN)) break;
        const list = typed.get(g.no) ?? [];
        list.push(g);
        typed.set(g.no, list);
      }
    }
  });
  if (location === 1) {
    p.facts.externalTensors++;
    if (locations.length === 0) throw malformed(`tensor ${q(name)} (${scanWhat}) has data_location EXTERNAL but no external_data location`, f.at);
  }
  if (locations.length > 0) p.facts.external.push({ what: `tensor ${q(name)} (${scanWhat})`, locations, at: f.at });
  const dims = await dimsOf(p, dimFields, name, f.at);
  const base = { name, onnxName: name, where, dataType, dims, at: f.at };
  if (segment) return { ...base, data: undefined, problem: 'it is a segment of a larger tensor (TensorProto.segment), which is not read' };
  if (location === 1) return { ...base, data: { kind: 'external', entries: external, ...(repeated !== undefined ? { repeated } : {}) } };
  if (location !== 0) throw malformed(`tensor ${JSON.stringify(name)} has data_location ${location}, neither DEFAULT (0) nor EXTERNAL (1)`, f.at);
  if (raw) return { ...base, data: { kind: 'raw', start: raw.start, length: raw.end - raw.start } };
  const field = ONNX_DTYPES.get(dataType)?.field;
  if (field === undefined) return { ...base, data: undefined };
  const ranges = (typed.get(field) ?? []).map((g) => ({ start: g.start, end: g.end, packed: g.wire === WIRE_LEN }));
  return { ...base, data: { kind: 'typed', field, ranges } };
}
