import type { ByteSource } from '../../io/byte-source.js';
import { FormatProblem } from '../../io/format-problem.js';
import { readChunks } from '../../io/read-chunks.js';
import { unpackNibbleChunks } from '../../tensor/nibbles.js';
import { DEFAULT_CHUNK_BYTES, STORED, type LeftOut, type TensorEntry } from '../../tensor/tensor-set.js';
import type { FormatReader, OpenOptions, ParsedModel } from '../format.js';
import { claimName } from '../tensor-names.js';
import { DEQUANTIZABLE, dequantizer, type Dequantizer } from './dequantize.js';
import { densePositions, densified, inChunks, type Refuse } from './densify.js';
import { TFLITE_DTYPES, tfliteTypeName, type TfliteDtype } from './dtype.js';
import { TfliteError } from './errors.js';
import { MAX_TFLITE_QUANTIZATION_METADATA_BYTES, MAX_TFLITE_SPARSE_MODEL_ENTRIES } from './limits.js';
import { parseTfliteModel, type TfliteModel, type TfliteTensor } from './model.js';
import { scanTflite } from './scan-rules.js';
import type { TfliteSparsity } from './sparsity.js';
import { describeTflite } from './view.js';

/**
 * TFLite models as TensorSets: the constant tensors (those whose buffer holds data), located in the
 * file and read as they lie when streamed. Names:
 *  - a tensor of subgraph 0 (the main one) keeps its name;
 *  - a tensor of another subgraph is `<subgraph name>/<tensor name>`, or `<subgraph index>/…` when the
 *    subgraph has no name;
 *  - a tensor without a name is `#<tensor index>`;
 *  - a name still taken gets `#2`, `#3`, … and a note.
 * Types are kept as their safetensors dtypes; INT4 is unpacked to I8 (low nibble first, sign-extended)
 * as it streams. Sparse tensors (SparsityParameters) are densified (densify.ts). STRING, COMPLEX128,
 * RESOURCE, VARIANT and sparse INT4 tensors, and tensors whose data is in an external buffer file, are
 * left out with a reason; so are the constant inputs only custom operators read (their opaque data, see
 * customOnlyInputs).
 * A buffer whose size is not shape × dtype is `InvalidTflite`, naming the tensor.
 * Quantization (scale, zero point, quantized dimension) is kept in the metadata, one key per quantized
 * tensor: `tflite.quantization.<name>` = `{"scale":[…],"zero_point":[…],"quantized_dimension":n}`;
 * with the open option `dequantize`, quantized INT4 (unpacked first), INT8, UINT8, INT16 and INT32
 * tensors, sparse ones densified first, are F32 values instead (dequantize.ts), without that key.
 */

/** BuiltinOperator CUSTOM (schema.fbs). */
const BUILTIN_CUSTOM = 32;

export const TFLITE_QUANTIZATION_KEY_PREFIX = 'tflite.quantization.';

export interface TfliteStructure {
  readonly model: TfliteModel;
}

export const tfliteReader: FormatReader<TfliteStructure> = {
  async open(source: ByteSource, options?: OpenOptions): Promise<ParsedModel<TfliteStructure>> {
    let model: TfliteModel;
    try {
      model = await parseTfliteModel(source);
    } catch (e) {
      throw coded(e, source.name);
    }
    const file = source.name;
    const tensors: TensorEntry[] = [];
    const leftOut: LeftOut[] = [];
    const notes: string[] = [];
    const metadata: Record<string, string> = Object.create(null) as Record<string, string>;
    let metadataBytes = 0;
    const taken = new Set<string>();
    const unpacked: string[] = [];
    const dequantized: string[] = [];
    const opaque: string[] = [];
    const densifiedNames: string[] = [];
    const sparseBudget = { left: MAX_TFLITE_SPARSE_MODEL_ENTRIES };
    for (const [s, sg] of model.subgraphs.entries()) {
      const customOnly = customOnlyInputs(model, sg);
      const prefix = s === 0 ? '' : `${sg.name === '' ? String(s) : sg.name}/`;
      for (const t of sg.tensors) {
        const buffer = model.buffers[t.buffer];
        const wanted = `${prefix}${t.name === '' ? `#${t.index}` : t.name}`;
        const where = `tensor ${t.index} of subgraph ${t.subgraph}`;
        if (t.externalBuffer !== 0) {
          leftOut.push({ path: wanted, what: `data in external buffer ${t.externalBuffer}, a file the model names (not read) (${where})` });
          continue;
        }
        if (buffer === undefined || buffer.length === 0) continue; // not a constant: an input, an activation
        const custom = customOnly.get(t.index);
        if (custom !== undefined) {
          leftOut.push({ path: wanted, what: `opaque data of custom operator ${custom} (a constant input no builtin operator reads, not a weight) (${where})` });
          opaque.push(`\`${wanted}\``);
          continue;
        }
        const d = TFLITE_DTYPES.get(t.type);
        if (d === undefined || (t.sparsity !== undefined && d.int4)) {
          const why = d === undefined ? `a ${tfliteTypeName(t.type)} tensor: safetensors holds numbers only` : 'a sparse INT4 tensor: packed 4-bit values are not densified';
          leftOut.push({ path: wanted, what: `${why} (${where})` });
          continue;
        }
        const name = claimName(taken, wanted);
        if (name !== wanted) notes.push(`\`${wanted}\` (${where}) is named \`${name}\`: its name was taken`);
        let dequantize = options?.dequantize === true && t.quantization !== undefined && DEQUANTIZABLE.has(d.dtype) ? dequantizer(t.quantization, d.dtype, t.shape) : undefined;
        if (typeof dequantize === 'string') {
          notes.push(`\`${name}\` is not dequantized (kept as stored, its parameters in the metadata): ${dequantize}`);
          dequantize = undefined;
        }
        tensors.push(t.sparsity === undefined ? entry(t, name, d, buffer, source, file, dequantize) : await sparseEntry(t, t.sparsity, name, d, buffer, source, file, dequantize, sparseBudget));
        if (d.int4) unpacked.push(`\`${name}\``);
        if (t.sparsity !== undefined) densifiedNames.push(`\`${name}\``);
        if (dequantize) dequantized.push(`\`${name}\``);
        else if (t.quantization !== undefined) {
          const value = JSON.stringify(t.quantization);
          metadataBytes += value.length;
          if (metadataBytes > MAX_TFLITE_QUANTIZATION_METADATA_BYTES) {
            throw new TfliteError('TfliteLimit', `${file}: the quantization parameters of the model's tensors are more than MAX_TFLITE_QUANTIZATION_METADATA_BYTES (${MAX_TFLITE_QUANTIZATION_METADATA_BYTES}) of JSON`, { location: file });
          }
          metadata[`${TFLITE_QUANTIZATION_KEY_PREFIX}${name}`] = value;
        }
      }
    }
    if (opaque.length > 0) notes.push(`${opaque.length} constant input${opaque.length === 1 ? '' : 's'} of custom operators left out as opaque data (listed with the operator): ${opaque.join(', ')}`);
    if (dequantized.length > 0) notes.push(`${dequantized.length} quantized tensor${dequantized.length === 1 ? '' : 's'} dequantized to F32 as TFLite's DEQUANTIZE kernel computes (q - zero_point) * scale (--dequantize): ${dequantized.join(', ')}`);
    if (densifiedNames.length > 0) notes.push(`${densifiedNames.length} sparse tensor${densifiedNames.length === 1 ? '' : 's'} densified as TFLite's FormatConverter does (SparsityParameters: traversal order, block map, DENSE and SPARSE_CSR dimensions): ${densifiedNames.join(', ')}`);
    if (unpacked.length > 0) notes.push(`INT4 unpacked to I8 (one sign-extended byte per element): ${unpacked.join(', ')}`);
    if (Object.keys(metadata).length > 0) notes.push(`quantization parameters kept in the metadata as \`${TFLITE_QUANTIZATION_KEY_PREFIX}<tensor>\` (values are the stored integers, not dequantized)`);
    if (model.subgraphs.length > 1) notes.push('tensors of subgraphs other than the first are named `<subgraph name or index>/<tensor name>`');
    return {
      tensors: { format: 'tflite', tensors, metadata, leftOut, notes, close: async () => source.close?.() },
      structure: { model },
    };
  },
  scan: (source, ctx) => scanTflite(source, ctx),
  describe: (parsed) => describeTflite(parsed.structure.model, parsed.tensors),
};

function entry(t: TfliteTensor, name: string, d: TfliteDtype, buffer: { start: number; length: number }, source: ByteSource, file: string, dequantize: Dequantizer | undefined): TensorEntry {
  const where = `${file}@${t.at}`;
  const what = `tensor ${JSON.stringify(name)} (tensor ${t.index} of subgraph ${t.subgraph}, ${tfliteTypeName(t.type)} [${t.shape.join(', ')}])`;
  if (t.shape.some((n) => n < 0)) throw new TfliteError('InvalidTflite', `${file}: ${what} has a negative dimension`, { location: where });
  const count = t.shape.reduce((a, b) => a * b, 1);
  const stored = d.int4 ? Math.ceil(count / 2) : count * d.size;
  if (!Number.isSafeInteger(stored)) throw new TfliteError('InvalidTflite', `${file}: ${what} has too many elements`, { location: where });
  if (stored !== buffer.length) {
    throw new TfliteError('InvalidTflite', `${file}: ${what} needs ${stored} bytes, but its buffer ${t.buffer} holds ${buffer.length}`, { location: where });
  }
  const unit = d.size;
  const step = (n: number): number => Math.max(unit, Math.floor(n / unit) * unit);
  if (dequantize) {
    // Source chunks of an eighth (INT4), a quarter (I8, U8), half (I16) or the whole (I32) of the output's chunk size.
    return dequantizedEntry(name, t, count, d.int4 ? 'int4-unpack+tflite-dequantize' : 'tflite-dequantize', dequantize, (chunkBytes) =>
      d.int4
        ? unpackNibbleChunks(readChunks(source, buffer.start, buffer.length, Math.max(1, chunkBytes >> 3)), true, count)
        : readChunks(source, buffer.start, buffer.length, step(Math.floor((chunkBytes / 4) * unit))),
    );
  }
  return {
    name,
    dtype: d.dtype,
    shape: [...t.shape],
    byteLength: count * d.size,
    encoding: d.int4 ? { layout: 'decoded', decoder: 'int4-unpack' } : STORED,
    fidelity: d.int4 ? 'lossless' : 'exact',
    chunks: (chunkBytes = DEFAULT_CHUNK_BYTES) =>
      d.int4 ? unpackNibbleChunks(readChunks(source, buffer.start, buffer.length, Math.max(1, chunkBytes >> 1)), true, count) : readChunks(source, buffer.start, buffer.length, step(chunkBytes)),
  };
}

/** A quantized tensor read as F32 values (`dequantize`), its stored values coming from `stored` (dense or densified). */
function dequantizedEntry(
  name: string,
  t: TfliteTensor,
  count: number,
  decoder: string,
  dequantize: Dequantizer,
  stored: (chunkBytes: number) => AsyncIterable<Uint8Array>,
): TensorEntry {
  return {
    name,
    dtype: 'F32',
    shape: [...t.shape],
    byteLength: count * 4,
    encoding: { layout: 'decoded', decoder },
    fidelity: 'derived',
    chunks: (chunkBytes = DEFAULT_CHUNK_BYTES) => dequantize(stored(chunkBytes)),
  };
}

/**
 * A sparse tensor (SparsityParameters), densified as it is read (densify.ts), in memory: at most
 * MAX_TFLITE_SPARSE_DENSE_BYTES. Its sparsity is checked on open (all of a model's within
 * MAX_TFLITE_SPARSE_MODEL_ENTRIES), so a bad one refuses the model before anything is written; the
 * positions are worked out again when it is read rather than kept.
 */
async function sparseEntry(
  t: TfliteTensor,
  sp: TfliteSparsity,
  name: string,
  d: TfliteDtype,
  buffer: { start: number; length: number },
  source: ByteSource,
  file: string,
  dequantize: Dequantizer | undefined,
  budget: { left: number },
): Promise<TensorEntry> {
  const where = `${file}@${t.at}`;
  const what = `sparse tensor ${JSON.stringify(name)} (tensor ${t.index} of subgraph ${t.subgraph}, ${tfliteTypeName(t.type)} [${t.shape.join(', ')}])`;
  const refuse: Refuse = (why, limit) => new TfliteError(limit === true ? 'TfliteLimit' : 'InvalidTflite', `${file}: ${what} ${why}`, { location: where });
  if (t.shape.some((n) => n < 0)) throw refuse('has a negative dimension');
  if (buffer.length % d.size !== 0) throw refuse(`stores ${buffer.length} bytes in buffer ${t.buffer}, not a whole number of ${d.size}-byte values`);
  const count = t.shape.reduce((a, b) => a * b, 1);
  const values = buffer.length / d.size;
  await densePositions(source, t.shape, sp, d.size, values, refuse, budget);
  const dense = async (): Promise<Uint8Array> => densified(source, buffer.start, buffer.length, await densePositions(source, t.shape, sp, d.size, values, refuse), d.size, count);
  if (dequantize) {
    return dequantizedEntry(name, t, count, 'sparse-densify+tflite-dequantize', dequantize, (chunkBytes) => inChunks(dense, Math.floor(chunkBytes / 4) * d.size, d.size));
  }
  return {
    name,
    dtype: d.dtype,
    shape: [...t.shape],
    byteLength: count * d.size,
    encoding: { layout: 'decoded', decoder: 'sparse-densify' },
    fidelity: 'lossless',
    chunks: (chunkBytes = DEFAULT_CHUNK_BYTES) => inChunks(dense, chunkBytes, d.size),
  };
}

/**
 * The constant inputs that only custom operators consume, each with the custom operators' names
 * (quoted, joined): a tensor counts when it is an input of an operator whose code is CUSTOM with a
 * custom_code, and of no other operator (builtin, or CUSTOM without a name). Such a buffer is the
 * operator's private data (Ethos-U's command stream and flash, for example), not a weight of the model:
 * converting it as numbers would be misleading. A constant any builtin operator reads is kept.
 */
function customOnlyInputs(model: TfliteModel, sg: TfliteModel['subgraphs'][number]): Map<number, string> {
  const custom = new Map<number, Set<string>>();
  const builtin = new Set<number>();
  for (const op of sg.ops) {
    const code = model.operatorCodes[op.opcode]!;
    const name = code.builtin === BUILTIN_CUSTOM ? code.custom : undefined;
    for (const i of op.inputs) {
      if (i < 0) continue;
      if (name === undefined) builtin.add(i);
      else custom.set(i, (custom.get(i) ?? new Set()).add(JSON.stringify(name)));
    }
  }
  const only = new Map<number, string>();
  for (const [i, names] of custom) if (!builtin.has(i)) only.set(i, [...names].join(', '));
  return only;
}

/** A parser's FormatProblem as a coded error naming the file; others as they are. */
function coded(e: unknown, file: string): unknown {
  if (!(e instanceof FormatProblem)) return e;
  const location = e.locationIn(file);
  return new TfliteError(e.kind === 'limit' ? 'TfliteLimit' : 'InvalidTflite', `${file}: not a readable TFLite model: ${e.message}`, { location, cause: e });
}
