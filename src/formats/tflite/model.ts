import { PagedReader } from '../../io/cursor.js';
import type { ByteSource } from '../../io/byte-source.js';
import { limitExceeded, malformed } from '../../io/format-problem.js';
import { FlatBuffer, type Table } from '../flatbuffers/tables.js';
import { show } from '../scan-rules.js';
import { MAX_TFLITE_QUANTIZATION_PARAMS, TFLITE_LIMITS } from './limits.js';
import { sparsityOf, type TfliteSparsity } from './sparsity.js';

/**
 * The parts of a TFLite Model (tensorflow/compiler/mlir/lite/schema/schema.fbs) the reader needs, read
 * once with the bounded FlatBuffer reader: subgraphs and their tensors (name, type, shape, buffer,
 * quantization), buffers (where their bytes lie: the inline `data` vector, or `offset`/`size` from the
 * file start in models over 2 GB), operator codes. Buffer contents are located, never read.
 */

export interface TfliteQuantization {
  readonly scale: number[];
  /** int64 in the schema: a number when it is a safe integer, else its decimal string. */
  readonly zero_point: (number | string)[];
  readonly quantized_dimension: number;
}

export interface TfliteTensor {
  readonly subgraph: number;
  readonly index: number;
  readonly name: string;
  readonly type: number;
  readonly shape: number[];
  readonly buffer: number;
  readonly quantization?: TfliteQuantization;
  /** Its SparsityParameters, when it has them: its buffer then holds the stored values, not the dense tensor. */
  readonly sparsity?: TfliteSparsity;
  /** Its data is in an external buffer (schema 3d: a file the model names), 0 when none. */
  readonly externalBuffer: number;
  /** Position of its table in the file, for messages. */
  readonly at: number;
}

export interface TfliteBuffer {
  /** Where its bytes are, from the file start, and how many (0: none, a tensor without constant data). */
  readonly start: number;
  readonly length: number;
  /** Placed with `offset`/`size` (the >2 GB extension) rather than inline. */
  readonly outside: boolean;
}

export interface TfliteOperator {
  /** Index into the model's operator codes. */
  readonly opcode: number;
  /** Tensor indices of its inputs (-1: an optional input left out). */
  readonly inputs: number[];
}

export interface TfliteSubgraph {
  readonly name: string;
  readonly tensors: TfliteTensor[];
  readonly operators: number;
  /** Each operator's code and inputs, to tell the constants only custom operators consume. */
  readonly ops: TfliteOperator[];
}

export interface TfliteModel {
  readonly version: number;
  readonly description: string;
  readonly subgraphs: TfliteSubgraph[];
  readonly buffers: TfliteBuffer[];
  /** Builtin code of each operator code, and its custom name (for CUSTOM). */
  readonly operatorCodes: { builtin: number; custom: string | undefined }[];
}

export async function parseTfliteModel(source: ByteSource): Promise<TfliteModel> {
  const size = source.size;
  const fb = new FlatBuffer(new PagedReader(source), TFLITE_LIMITS);
  const model = await modelTable(fb, size);
  const version = await fb.scalarU32(model, 0, 'Model.version');
  const description = (await fb.string(model, 3, 'Model.description')) ?? '';

  const buffers: TfliteBuffer[] = [];
  for await (const [b, i] of fb.tablesOf(model, 4, 'Model.buffers')) {
    const data = await fb.vector(b, 0, 1, `the data of buffer ${i}`);
    const offset = await fb.scalarU64(b, 1, `Buffer ${i}.offset`);
    const length = await fb.scalarU64(b, 2, `Buffer ${i}.size`);
    // TFLite reads offset/size only when offset > 1 (0 and 1 mean "no data outside the FlatBuffer").
    if (data !== undefined && data[1] > 0) {
      if (offset > 1n) throw malformed(`buffer ${i} has both inline data and data at offset ${offset}`, b.pos);
      buffers.push({ start: data[0], length: data[1], outside: false });
    } else if (offset > 1n) {
      if (offset + length > BigInt(size)) throw malformed(`buffer ${i} places its data at [${offset}, ${offset + length}), past the end of the file (${size} bytes)`, b.pos);
      buffers.push({ start: Number(offset), length: Number(length), outside: true });
    } else {
      buffers.push({ start: 0, length: 0, outside: false });
    }
  }

  const operatorCodes: TfliteModel['operatorCodes'] = [];
  for await (const [c, i] of fb.tablesOf(model, 1, 'Model.operator_codes')) {
    operatorCodes.push(await operatorCode(fb, c, i));
  }

  const subgraphs: TfliteSubgraph[] = [];
  for await (const [sg, s] of fb.tablesOf(model, 2, 'Model.subgraphs')) {
    const tensors: TfliteTensor[] = [];
    for await (const [t, i] of fb.tablesOf(sg, 0, `subgraph ${s} tensors`)) {
      const what = `tensor ${i} of subgraph ${s}`;
      const shape = await int32s(fb, t, 0, `the shape of ${what}`);
      const type = await fb.scalarI8(t, 1, `the type of ${what}`);
      const buffer = await fb.scalarU32(t, 2, `the buffer of ${what}`);
      if (buffer >= Math.max(buffers.length, 1)) throw malformed(`${what} uses buffer ${buffer}, but there are ${buffers.length}`, t.pos);
      const name = (await fb.string(t, 3, `the name of ${what}`)) ?? '';
      const q = await fb.field(t, 4, `the quantization of ${what}`);
      const quantization = q === undefined ? undefined : await quantizationOf(fb, await fb.table(await fb.ref(q, what), `the quantization of ${what}`), what);
      const sp = await fb.field(t, 6, `the sparsity of ${what}`);
      const sparsity = sp === undefined ? undefined : await sparsityOf(fb, await fb.table(await fb.ref(sp, what), `the sparsity of ${what}`), what, (table, index, w) => int32s(fb, table, index, w));
      const externalBuffer = await fb.scalarU32(t, 10, `the external buffer of ${what}`);
      tensors.push({ subgraph: s, index: i, name, type, shape, buffer, quantization, sparsity, externalBuffer, at: t.pos });
    }
    const ops: TfliteOperator[] = [];
    for await (const [op, i] of fb.tablesOf(sg, 3, `subgraph ${s} operators`)) {
      const what = `operator ${i} of subgraph ${s}`;
      const opcode = await fb.scalarU32(op, 0, `the opcode index of ${what}`);
      if (opcode >= operatorCodes.length) throw malformed(`${what} uses operator code ${opcode}, but there are ${operatorCodes.length}`, op.pos);
      const inputs = await int32s(fb, op, 1, `the inputs of ${what}`);
      const bad = inputs.find((t) => t < -1 || t >= tensors.length);
      if (bad !== undefined) throw malformed(`${what} has input tensor ${bad}, but there are ${tensors.length}`, op.pos);
      ops.push({ opcode, inputs });
    }
    subgraphs.push({ name: (await fb.string(sg, 4, `the name of subgraph ${s}`)) ?? '', tensors, operators: ops.length, ops });
  }
  if (subgraphs.length === 0) throw malformed('the model has no subgraph', model.pos);
  return { version, description, subgraphs, buffers, operatorCodes };
}

/** The root Model table of a file `size` bytes long, after its `TFL3` identifier is checked (the reader's parse and the scan both start here). */
export async function modelTable(fb: FlatBuffer, size: number): Promise<Table> {
  if (size < 8) throw malformed('too short for a FlatBuffer', 0);
  const ident = String.fromCharCode(...(await fb.r.bytes(4, 4, 'the file identifier')));
  if (ident !== 'TFL3') throw malformed(`the file identifier is ${show(ident)}, not "TFL3"`, 4);
  return fb.table(await fb.ref(0, 'the root offset'), 'Model');
}

/** OperatorCode `i`: its builtin code (the larger of the deprecated int8 field and the int32 one) and custom name. */
export async function operatorCode(fb: FlatBuffer, c: Table, i: number): Promise<{ builtin: number; custom: string | undefined }> {
  const deprecated = await fb.scalarI8(c, 0, `OperatorCode ${i}.deprecated_builtin_code`);
  const custom = await fb.string(c, 1, `OperatorCode ${i}.custom_code`);
  return { builtin: Math.max(deprecated, await fb.scalarI32(c, 3, `OperatorCode ${i}.builtin_code`)), custom };
}

async function int32s(fb: FlatBuffer, t: Table, index: number, what: string): Promise<number[]> {
  const v = await fb.vector(t, index, 4, what);
  if (v === undefined) return [];
  const bytes = await fb.r.bytes(v[0], v[1] * 4, what);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: v[1] }, (_, i) => view.getInt32(4 * i, true));
}

/** Scale and zero point (per tensor, or per channel of `quantized_dimension`); undefined when there are no scales (min/max only, or custom details). */
async function quantizationOf(fb: FlatBuffer, q: Table, tensor: string): Promise<TfliteQuantization | undefined> {
  const what = `the quantization of ${tensor}`;
  const scales = await fb.vector(q, 2, 4, `${what} (scale)`);
  const zeros = await fb.vector(q, 3, 8, `${what} (zero_point)`);
  const count = Math.max(scales?.[1] ?? 0, zeros?.[1] ?? 0);
  if (count > MAX_TFLITE_QUANTIZATION_PARAMS) throw limitExceeded(`${what} has ${count} parameters, more than MAX_TFLITE_QUANTIZATION_PARAMS (${MAX_TFLITE_QUANTIZATION_PARAMS})`, q.pos);
  if (scales === undefined || scales[1] === 0) return undefined;
  const s = await fb.r.bytes(scales[0], scales[1] * 4, what);
  const sv = new DataView(s.buffer, s.byteOffset, s.byteLength);
  const scale = Array.from({ length: scales[1] }, (_, i) => sv.getFloat32(4 * i, true));
  const zero_point: (number | string)[] = [];
  if (zeros !== undefined) {
    const z = await fb.r.bytes(zeros[0], zeros[1] * 8, what);
    const zv = new DataView(z.buffer, z.byteOffset, z.byteLength);
    for (let i = 0; i < zeros[1]; i++) {
      const n = zv.getBigInt64(8 * i, true);
      zero_point.push(n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString());
    }
  }
  return { scale, zero_point, quantized_dimension: await fb.scalarI32(q, 6, `${what} (quantized_dimension)`) };
}
