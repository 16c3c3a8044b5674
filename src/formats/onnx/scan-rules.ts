import type { ByteSource } from '../../io/byte-source.js';
import type { ScanContext } from '../findings.js';
import { PagedReader } from '../../io/cursor.js';
import { malformed } from '../../io/format-problem.js';
import { at, Findings, guarded, pathEscape, show } from '../scan-rules.js';
import { expectWire, walkField, walkMessage, WIRE_LEN, WIRE_VARINT, type PbField, type PbWalk } from '../protobuf/wire.js';
import { deeper, onnxBudget, onnxString, readOpset } from './model.js';

/**
 * ONNX (onnx/onnx.proto): a protobuf ModelProto. ONNX graphs are data; what reaches outside the file is
 *  - external data: a TensorProto with `data_location` = EXTERNAL (14) and `external_data` (13) entries
 *    whose `location` names the file its bytes are read from, relative to the model's folder. A location
 *    that is absolute, has `..` segments, a drive letter or a URL scheme (or ONNX Runtime's in-memory
 *    address marker) makes a loader read an arbitrary file (/etc/passwd, ~/.ssh/id_rsa) as weights,
 *    which then flow into the outputs;
 *  - custom operator domains: nodes in a domain other than the standard ones run native code from a
 *    library the application registers.
 * The walk covers the graph (7), its initializers (5), sparse initializers (15), every node's attributes
 * (tensors t/tensors, subgraphs g/graphs, sparse tensors, recursively: If/Loop/Scan bodies), training
 * info graphs (20) and model-local functions (25). Raw tensor bytes are skipped, never read.
 *
 * Rules: `onnx/valid`, `onnx/external-data`, `onnx/custom-domain` (info); `onnx/external-data-outside`
 * (dangerous); `onnx/malformed`, `onnx/limit-exceeded` (suspicious).
 * Misses: symbolic links inside the model's folder (a local `weights.bin` that links to /etc/passwd:
 * only a scan with file-system access can see it); whether an external file exists; what custom
 * operators do; tensor values.
 */

/** Operator domains of the ONNX standard and ONNX Runtime's built-in contrib ops: no custom library needed. */
export const STANDARD_ONNX_DOMAINS: ReadonlySet<string> = new Set(['', 'ai.onnx', 'ai.onnx.ml', 'ai.onnx.training', 'ai.onnx.preview.training', 'com.microsoft']);
/** ONNX Runtime's marker for tensor data at a raw memory address (`offset`): reads the loader's own memory. */
const ORT_MEMORY_LOCATION = '*/_ORT_MEM_ADDR_/*';

/** The walk's limits are the reader's (model.ts): MAX_ONNX_DEPTH, MAX_ONNX_FIELDS, MAX_ONNX_STRING_BYTES. */
interface Walk extends PbWalk {
  file: string;
  findings: Findings;
  nodes: number;
  initializers: number;
  externalTensors: number;
  subgraphs: number;
  functions: number;
  /** domain -> op types seen. */
  domains: Map<string, Set<string>>;
  functionDomains: Set<string>;
  /** external location -> tensors that use it (benign ones). */
  externalFiles: Map<string, number>;
}

export async function scanOnnx(source: ByteSource, ctx: ScanContext): Promise<void> {
  const findings = new Findings(ctx);
  const w: Walk = {
    r: new PagedReader(source),
    file: ctx.file,
    findings,
    budget: onnxBudget(),
    nodes: 0,
    initializers: 0,
    externalTensors: 0,
    subgraphs: 0,
    functions: 0,
    domains: new Map(),
    functionDomains: new Set(),
    externalFiles: new Map(),
  };
  let summary = '';
  const ok = await guarded(findings, 'onnx', ctx.file, 'the ONNX model', async () => {
    summary = await model(w, source.size);
  });
  for (const [location, n] of w.externalFiles) {
    findings.add('info', 'onnx/external-data', `${n} tensor${n === 1 ? '' : 's'} read their data from the external file ${show(location)} next to the model`, ctx.file);
  }
  for (const [domain, ops] of w.domains) {
    if (STANDARD_ONNX_DOMAINS.has(domain) || w.functionDomains.has(domain)) continue;
    const list = [...ops].slice(0, 10).map(show).join(', ');
    findings.add(
      'info',
      'onnx/custom-domain',
      `nodes in the custom operator domain ${show(domain)} (${list}${ops.size > 10 ? ', …' : ''}): custom operators run native code from a library the application must register`,
      ctx.file,
    );
  }
  if (ok && !findings.has('suspicious', 'dangerous')) findings.add('info', 'onnx/valid', summary, ctx.file);
  findings.flush();
}

async function model(w: Walk, size: number): Promise<string> {
  let irVersion: number | undefined;
  let producer = '';
  let producerVersion = '';
  const opsets: string[] = [];
  let graphs = 0;
  await walkMessage(w.r, 0, size, 'ModelProto', w.budget, new Set([1, 2, 3, 7, 8, 20, 25]), async (f) => {
    switch (f.no) {
      case 1:
        expectWire(f, WIRE_VARINT, 'ModelProto.ir_version');
        irVersion = f.value;
        break;
      case 2:
        producer = await onnxString(w, f, 'ModelProto.producer_name');
        break;
      case 3:
        producerVersion = await onnxString(w, f, 'ModelProto.producer_version');
        break;
      case 7:
        graphs++;
        await graph(w, f, 1, 'graph');
        break;
      case 8:
        opsets.push(await readOpset(w, f));
        break;
      case 20:
        await message(w, f, 'TrainingInfoProto', [1, 2], async (g) => {
          if (g.no === 1 || g.no === 2) await graph(w, g, 2, g.no === 1 ? 'training_info.initialization' : 'training_info.algorithm');
        });
        break;
      case 25:
        await func(w, f, 1);
        break;
    }
  });
  if (graphs === 0) throw malformed('no graph (ModelProto field 7): not an ONNX model', 0);
  const parts = [`ONNX model, IR version ${irVersion ?? '?'}`];
  if (opsets.length) parts.push(`opsets ${opsets.join(', ')}`);
  if (producer || producerVersion) parts.push(`producer ${show(`${producer} ${producerVersion}`.trim())}`);
  parts.push(`${w.nodes} nodes, ${w.initializers} initializers (${w.externalTensors} external), ${w.subgraphs} subgraphs, ${w.functions} functions`);
  return parts.join('; ');
}

/** Walks a length-delimited field as a message. */
function message(w: Walk, f: PbField, what: string, interesting: number[], visit: (g: PbField) => Promise<void> | void): Promise<void> {
  return walkField(w, f, what, fieldSet(interesting), visit);
}

const fieldSets = new Map<string, ReadonlySet<number>>();
function fieldSet(fields: number[]): ReadonlySet<number> {
  const key = fields.join(',');
  let set = fieldSets.get(key);
  if (!set) fieldSets.set(key, (set = new Set(fields)));
  return set;
}

async function graph(w: Walk, f: PbField, depth: number, path: string): Promise<void> {
  const d = deeper(depth, f);
  if (depth > 1) w.subgraphs++;
  await message(w, f, `GraphProto (${path})`, [1, 5, 15], async (g) => {
    switch (g.no) {
      case 1:
        await node(w, g, d, path);
        break;
      case 5:
        w.initializers++;
        await tensor(w, g, d, `initializer of ${path}`);
        break;
      case 15:
        w.initializers++;
        await sparseTensor(w, g, d, `sparse initializer of ${path}`);
        break;
    }
  });
}

async function node(w: Walk, f: PbField, depth: number, path: string): Promise<void> {
  const d = deeper(depth, f);
  w.nodes++;
  let name = '';
  let opType = '';
  let domain = '';
  const attributes: PbField[] = [];
  await message(w, f, `NodeProto in ${path}`, [3, 4, 5, 7], async (g) => {
    if (g.no === 3) name = await onnxString(w, g, 'NodeProto.name');
    else if (g.no === 4) opType = await onnxString(w, g, 'NodeProto.op_type');
    else if (g.no === 7) domain = await onnxString(w, g, 'NodeProto.domain');
    else if (g.no === 5) {
      expectWire(g, WIRE_LEN, 'NodeProto.attribute');
      attributes.push(g);
    }
  });
  const ops = w.domains.get(domain) ?? new Set<string>();
  if (ops.size < 100) ops.add(opType);
  w.domains.set(domain, ops);
  const nodePath = `${path}/node ${show(name || opType)}`;
  for (const a of attributes) await attribute(w, a, d, nodePath);
}

async function attribute(w: Walk, f: PbField, depth: number, path: string): Promise<void> {
  const d = deeper(depth, f);
  let name = '';
  await message(w, f, `AttributeProto in ${path}`, [1, 5, 6, 10, 11, 22, 23], async (g) => {
    switch (g.no) {
      case 1:
        name = await onnxString(w, g, 'AttributeProto.name');
        break;
      case 5:
      case 10:
        await tensor(w, g, d, `tensor attribute ${show(name)} of ${path}`);
        break;
      case 6:
      case 11:
        await graph(w, g, d, `${path}/${name || 'graph attribute'}`);
        break;
      case 22:
      case 23:
        await sparseTensor(w, g, d, `sparse tensor attribute ${show(name)} of ${path}`);
        break;
    }
  });
}

async function sparseTensor(w: Walk, f: PbField, depth: number, path: string): Promise<void> {
  const d = deeper(depth, f);
  await message(w, f, `SparseTensorProto (${path})`, [1, 2], async (g) => {
    if (g.no === 1) await tensor(w, g, d, `values of ${path}`);
    else if (g.no === 2) await tensor(w, g, d, `indices of ${path}`);
  });
}

async function func(w: Walk, f: PbField, depth: number): Promise<void> {
  const d = deeper(depth, f);
  w.functions++;
  let name = '';
  const later: PbField[] = [];
  await message(w, f, 'FunctionProto', [1, 7, 10, 11], async (g) => {
    if (g.no === 1) name = await onnxString(w, g, 'FunctionProto.name');
    else if (g.no === 10) w.functionDomains.add(await onnxString(w, g, 'FunctionProto.domain'));
    else if (g.no === 7 || g.no === 11) {
      expectWire(g, WIRE_LEN, 'FunctionProto.node');
      later.push(g);
    }
  });
  const path = `function ${show(name)}`;
  for (const g of later) {
    if (g.no === 7) await node(w, g, d, path);
    else await attribute(w, g, d, path);
  }
}

async function tensor(w: Walk, f: PbField, depth: number, path: string): Promise<void> {
  deeper(depth, f);
  let name = '';
  let dataLocation = 0;
  const entries: { key: string; value: string; at: number }[] = [];
  await message(w, f, `TensorProto (${path})`, [8, 13, 14], async (g) => {
    if (g.no === 8) name = await onnxString(w, g, 'TensorProto.name');
    else if (g.no === 14) {
      expectWire(g, WIRE_VARINT, 'TensorProto.data_location');
      dataLocation = g.value;
    } else if (g.no === 13) {
      let key = '';
      let value = '';
      await message(w, g, 'StringStringEntryProto', [1, 2], async (e) => {
        if (e.no === 1) key = await onnxString(w, e, 'external_data key');
        else if (e.no === 2) value = await onnxString(w, e, 'external_data value');
      });
      entries.push({ key, value, at: g.at });
    }
  });
  const what = `tensor ${show(name)} (${path})`;
  const locations = entries.filter((e) => e.key === 'location');
  if (dataLocation === 1) {
    w.externalTensors++;
    if (locations.length === 0) throw malformed(`${what} has data_location EXTERNAL but no external_data location`, f.at);
  }
  if (locations.length > 1) {
    w.findings.add('suspicious', 'onnx/malformed', `${what} has ${locations.length} external_data locations (loaders disagree on which one is used)`, at(w.file, f.at));
  }
  for (const loc of locations) {
    const reason = loc.value === ORT_MEMORY_LOCATION ? "it is ONNX Runtime's in-memory marker: the data is read from the raw memory address given as its offset" : loc.value === '' ? undefined : pathEscape(loc.value);
    if (loc.value === '') {
      w.findings.add('suspicious', 'onnx/malformed', `${what} has an empty external_data location`, at(w.file, loc.at));
    } else if (reason !== undefined) {
      w.findings.add(
        'dangerous',
        'onnx/external-data-outside',
        `${what} reads its data from ${show(loc.value)}: ${reason}. A loader would read that file (e.g. /etc/passwd, a private key) as weights, and its bytes could leak through the model's outputs`,
        at(w.file, loc.at),
      );
    } else {
      w.externalFiles.set(loc.value, (w.externalFiles.get(loc.value) ?? 0) + 1);
    }
  }
}
