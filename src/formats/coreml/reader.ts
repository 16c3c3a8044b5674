import type { ByteSource } from '../../io/byte-source.js';
import { PagedReader } from '../../io/cursor.js';
import { FormatProblem } from '../../io/format-problem.js';
import { readChunks } from '../../io/read-chunks.js';
import { DEFAULT_CHUNK_BYTES, STORED, type LeftOut, type TensorEntry, type TensorEncoding, type TensorFidelity } from '../../tensor/tensor-set.js';
import type { Dtype } from '../../dtype/dtypes.js';
import type { FormatReader, OpenOptions, ParsedModel } from '../format.js';
import { claimName } from '../tensor-names.js';
import { pathEscape } from '../scan-rules.js';
import { checkBlobHeader, readBlobRecord, BLOB_DTYPE_NAMES } from './blob.js';
import { unpackBits } from './bits.js';
import { affineDequantize, blockwiseShiftScale, cast, ConstexprProblem, denseBytes, lutToDense16, lutToDense18, lutToSparse, sparseBlockwiseShiftScale, sparseToDense, type Dense } from './constexpr.js';
import { MIL_DTYPES, isSubByte, milTypeName, storedBytes, type MilDtypeInfo } from './dtype.js';
import { CoremlError, type CoremlErrorCode } from './errors.js';
import { MAX_COREML_CONSTEXPR_EVALUATIONS, MAX_COREML_NESTING, MAX_COREML_DECODE_BYTES, MAX_COREML_MANIFEST_BYTES, MAX_COREML_MIL_TEXT_BYTES, MAX_COREML_QUANTIZATION_METADATA_BYTES } from './limits.js';
import { parseMilText, type MilTextConst, type MilTextProgram } from './mil-text.js';
import { parseCoremlModel, type CoremlModel, type MilBinding, type MilOp, type MilType, type MilValue, type NnWeight } from './model.js';
import { scanCoreml } from './scan-rules.js';
import { describeCoreml } from './view.js';
import { eachVarint } from '../protobuf/wire.js';
import { f16ToF32, bf16ToF32 } from '../../dtype/float-codecs.js';

/**
 * Core ML models as TensorSets. What the reader is given:
 *  - an `.mlmodel` (a protobuf Model): its neural network weights, or its ML program's constants;
 *  - a `.mlpackage`'s Manifest.json: the root item it names (`Data/<path>`, the model.mlmodel), read
 *    as an `.mlmodel` whose weight files are in its folder;
 *  - a compiled `.mlmodelc`'s `model.mil` (MIL text): its constants.
 *
 * Names:
 *  - a neural network's WeightParams: `<layer name>.<field>` (`conv1.weights`, `bn.gamma`), nested
 *    messages adding their field names (`act.PReLU.alpha`, `lstm.weightParams.inputGateWeightMatrix`), a
 *    repeated one its index (`custom.weights.0`); a model in a pipeline is prefixed by its index
 *    (`1.dense.weights`); a layer without a name is `#<offset>`;
 *  - an ML program's constant (`const`, `constexpr_*`): its output's name (`conv_0_weight_to_fp16`);
 *  - a name still taken gets `#2`, `#3`, … and a note.
 *
 * A blob file name must be `@model_path/<path inside the folder of the model>`: anything else is
 * `ExternalDataRefused`, naming the operation, and nothing outside that folder is opened.
 */

export const COREML_QUANTIZATION_KEY_PREFIX = 'coreml.quantization.';

export interface CoremlStructure {
  readonly kind: 'mlmodel' | 'mlpackage' | 'mil-text';
  readonly model?: CoremlModel;
  readonly program?: MilTextProgram;
  /** The root model's path in the package (`Data/com.apple.CoreML/model.mlmodel`). */
  readonly root?: string;
  /** Bytes of the model file read (the mlmodel of a package). */
  readonly modelBytes: number;
}

export const coremlReader: FormatReader<CoremlStructure> = {
  async open(source, options) {
    return openCoreml(source, options);
  },
  scan: (source, ctx, parsed) => scanCoreml(source, ctx, parsed?.structure, parseStructure),
  describe: (parsed) => describeCoreml(parsed.structure, parsed.tensors),
};

/** What kind of Core ML file the bytes are: a Manifest.json, MIL text, or a protobuf Model. */
async function kindOf(source: ByteSource): Promise<CoremlStructure['kind']> {
  const head = await source.read(0, Math.min(source.size, 64));
  const text = new TextDecoder().decode(head).trimStart();
  if (text.startsWith('{')) return 'mlpackage';
  if (text.startsWith('program(')) return 'mil-text';
  return 'mlmodel';
}

/** The structure of a Core ML file, from its own bytes only (a Manifest.json's model is not opened). */
export async function parseStructure(source: ByteSource): Promise<CoremlStructure> {
  const kind = await kindOf(source);
  if (kind === 'mlpackage') return { kind, root: manifestRoot(await readText(source, MAX_COREML_MANIFEST_BYTES, 'MAX_COREML_MANIFEST_BYTES', 'Manifest.json')), modelBytes: 0 };
  if (kind === 'mil-text') return { kind, program: parseMilText(await readText(source, MAX_COREML_MIL_TEXT_BYTES, 'MAX_COREML_MIL_TEXT_BYTES', 'MIL text')), modelBytes: source.size };
  return { kind, model: await parseCoremlModel(new PagedReader(source)), modelBytes: source.size };
}

async function readText(source: ByteSource, max: number, limitName: string, what: string): Promise<string> {
  if (source.size > max) throw new FormatProblem(`the ${what} is ${source.size} bytes, more than ${limitName} (${max})`, 0, 'limit');
  const text = new TextDecoder('utf-8', { fatal: false }).decode(await source.read(0, source.size));
  return text;
}

/** The path of a Manifest.json's root model, inside the package (`Data/…`). */
export function manifestRoot(text: string): string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new FormatProblem(`Manifest.json is not JSON (${e instanceof Error ? e.message : String(e)})`, 0);
  }
  const obj = json as Record<string, unknown>;
  const entries = typeof json === 'object' && json !== null ? obj['itemInfoEntries'] : undefined;
  const root = obj?.['rootModelIdentifier'];
  if (typeof entries !== 'object' || entries === null || typeof root !== 'string') throw new FormatProblem('Manifest.json has no itemInfoEntries object and rootModelIdentifier string', 0);
  const item = Object.hasOwn(entries, root) ? (entries as Record<string, unknown>)[root] : undefined;
  const p = typeof item === 'object' && item !== null ? (item as Record<string, unknown>)['path'] : undefined;
  if (typeof p !== 'string' || p === '') throw new FormatProblem(`Manifest.json's root model ${JSON.stringify(root)} has no item with a path`, 0);
  return `Data/${p}`;
}

interface Ctx {
  readonly file: string;
  readonly options: OpenOptions | undefined;
  /** The folder of the model file, relative to the opened file's (`Data/com.apple.CoreML/` in a package, '' otherwise). */
  readonly base: string;
  readonly weightFiles: Map<string, Promise<{ source: ByteSource; name: string }>>;
  readonly opened: ByteSource[];
  readonly tensors: TensorEntry[];
  readonly leftOut: LeftOut[];
  readonly notes: string[];
  readonly metadata: Record<string, string>;
  metadataBytes: number;
  readonly taken: Set<string>;
  readonly dequantized: string[];
}

async function openCoreml(source: ByteSource, options: OpenOptions | undefined): Promise<ParsedModel<CoremlStructure>> {
  const file = source.name;
  const opened: ByteSource[] = [];
  const close = async (): Promise<void> => {
    for (const s of opened) await s.close?.();
    await source.close?.();
  };
  try {
    let structure: CoremlStructure;
    let modelSource = source;
    let base = '';
    try {
      structure = await parseStructure(source);
      if (structure.kind === 'mlpackage') {
        const root = structure.root!;
        const escape = pathEscape(root);
        if (escape !== undefined) throw new CoremlError('ExternalDataRefused', `${file}: the root model ${JSON.stringify(root)} is refused: ${escape}; only files inside the package are read`, { location: file });
        if (options?.openSibling === undefined) throw noFolder(file, root);
        modelSource = await options.openSibling(root);
        opened.push(modelSource);
        base = root.includes('/') ? root.slice(0, root.lastIndexOf('/') + 1) : '';
        structure = { ...structure, model: await parseCoremlModel(new PagedReader(modelSource)), modelBytes: modelSource.size };
      }
    } catch (e) {
      throw coded(e, modelSource === source ? file : `${file} → ${modelSource.name}`);
    }
    const ctx: Ctx = {
      file: modelSource === source ? file : `${file} → ${structure.root}`,
      options,
      base,
      weightFiles: new Map(),
      opened,
      tensors: [],
      leftOut: [],
      notes: [],
      metadata: Object.create(null) as Record<string, string>,
      metadataBytes: 0,
      taken: new Set(),
      dequantized: [],
    };
    try {
      await entries(ctx, structure, modelSource);
    } catch (e) {
      throw coded(e, ctx.file);
    }
    if (structure.model?.types.some((t) => t.type.startsWith('pipeline'))) ctx.notes.push('weights of the models of a pipeline are prefixed with the model\'s index in it (`0.`, `1.`, …)');
    if (ctx.dequantized.length > 0) ctx.notes.push(`${ctx.dequantized.length} quantized weight${ctx.dequantized.length === 1 ? '' : 's'} dequantized to F32 as coremltools does (float64 q * scale + bias per channel rounded to float32, or the lookup table's value) (--dequantize): ${ctx.dequantized.join(', ')}`);
    if (Object.keys(ctx.metadata).length > 0) ctx.notes.push(`quantization parameters kept in the metadata as \`${COREML_QUANTIZATION_KEY_PREFIX}<tensor>\` (values are the stored integers; convert --dequantize gives F32)`);
    return { tensors: { format: `coreml-${structure.kind}`, tensors: ctx.tensors, metadata: ctx.metadata, leftOut: ctx.leftOut, notes: ctx.notes, close }, structure };
  } catch (e) {
    await close();
    throw e;
  }
}

/** The tensors of a parsed model: its neural network weights, its ML program's constants, or its MIL text's. */
async function entries(ctx: Ctx, structure: CoremlStructure, modelSource: ByteSource): Promise<void> {
  if (structure.model) {
    const r = new PagedReader(modelSource);
    for (const w of structure.model.nn) nnEntry(ctx, w, modelSource, r);
    await programEntries(ctx, structure.model, modelSource);
    for (const t of structure.model.types) {
      if (!['neuralNetwork', 'neuralNetworkClassifier', 'neuralNetworkRegressor', 'mlProgram', 'pipeline', 'pipelineClassifier', 'pipelineRegressor'].includes(t.type)) {
        ctx.leftOut.push({ path: t.prefix === '' ? t.type : `${t.prefix}${t.type}`, what: `a ${t.type} model: its parameters are not tensors tensorsafe reads` });
      }
    }
  } else if (structure.program) {
    await textEntries(ctx, structure.program);
  }
}

function noFolder(file: string, what: string): CoremlError {
  return new CoremlError('ExternalDataRefused', `${file}: ${JSON.stringify(what)} cannot be read: the model has no folder to read it from (open it with openModel from tensorsafe/node, or pass the open option openSibling)`, { location: file });
}

function claim(ctx: Ctx, wanted: string, where: string): string {
  const name = claimName(ctx.taken, wanted);
  if (name !== wanted) ctx.notes.push(`\`${wanted}\` (${where}) is named \`${name}\`: its name was taken`);
  return name;
}

function invalid(ctx: Ctx, message: string, at?: number): CoremlError {
  return new CoremlError('InvalidCoreml', `${ctx.file}: ${message}`, { location: at === undefined ? ctx.file : `${ctx.file}@${at}` });
}

function inMemory(name: string, dtype: Dtype, shape: readonly number[], byteLength: number, encoding: TensorEncoding, fidelity: TensorFidelity, bytes: () => Promise<Uint8Array>): TensorEntry {
  return {
    name,
    dtype,
    shape: [...shape],
    byteLength,
    encoding,
    fidelity,
    async *chunks(chunkBytes = DEFAULT_CHUNK_BYTES) {
      const all = await bytes();
      if (all.byteLength !== byteLength) throw new CoremlError('InvalidCoreml', `${name}: decoded to ${all.byteLength} bytes, not ${byteLength}`);
      const unit = Math.max(1, Math.floor(chunkBytes / 8) * 8);
      for (let at = 0; at < all.byteLength; at += unit) yield all.subarray(at, Math.min(all.byteLength, at + unit));
    },
  };
}

function checkDecodeBytes(ctx: Ctx, what: string, bytes: number, at?: number): void {
  if (bytes > MAX_COREML_DECODE_BYTES) {
    throw new CoremlError('CoremlLimit', `${ctx.file}: ${what} decodes to ${bytes} bytes in memory, more than MAX_COREML_DECODE_BYTES (${MAX_COREML_DECODE_BYTES})`, { location: at === undefined ? ctx.file : `${ctx.file}@${at}` });
  }
}

function putMetadata(ctx: Ctx, name: string, value: unknown): void {
  const text = JSON.stringify(value);
  ctx.metadataBytes += text.length;
  if (ctx.metadataBytes > MAX_COREML_QUANTIZATION_METADATA_BYTES) {
    throw new CoremlError('CoremlLimit', `${ctx.file}: the quantization parameters of the model's weights are more than MAX_COREML_QUANTIZATION_METADATA_BYTES (${MAX_COREML_QUANTIZATION_METADATA_BYTES}) of JSON`, { location: ctx.file });
  }
  ctx.metadata[`${COREML_QUANTIZATION_KEY_PREFIX}${name}`] = text;
}

// ---------------------------------------------------------------- neural networks

function nnEntry(ctx: Ctx, w: NnWeight, source: ByteSource, r: PagedReader): void {
  const kinds = (w.floats.length > 0 ? 1 : 0) + (w.f16 ? 1 : 0) + (w.raw ? 1 : 0) + (w.int8 ? 1 : 0);
  const nonEmpty = (w.floats.some((f) => f.end > f.start) ? 1 : 0) + (w.f16 && w.f16.end > w.f16.start ? 1 : 0) + (w.raw && w.raw.end > w.raw.start ? 1 : 0) + (w.int8 && w.int8.end > w.int8.start ? 1 : 0);
  if (kinds === 0 || nonEmpty === 0) return; // an empty WeightParams: no weight (a layer without bias)
  if (nonEmpty > 1) throw invalid(ctx, `WeightParams ${JSON.stringify(w.name)} sets more than one of floatValue, float16Value, rawValue and int8RawValue (Core ML refuses it)`, w.at);
  const where = `layer ${JSON.stringify(w.layer)}`;
  const fits = (count: number): readonly number[] => (w.shape !== undefined && w.shape.reduce((a, b) => a * b, 1) === count ? w.shape : [count]);
  if (w.floats.some((f) => f.end > f.start)) {
    const bytes = w.floats.reduce((a, f) => a + f.end - f.start, 0);
    const name = claim(ctx, w.name, where);
    const ranges = w.floats.filter((f) => f.end > f.start);
    ctx.tensors.push({
      name,
      dtype: 'F32',
      shape: [...fits(bytes / 4)],
      byteLength: bytes,
      encoding: STORED,
      fidelity: 'exact',
      async *chunks(chunkBytes = DEFAULT_CHUNK_BYTES) {
        const step = Math.max(4, Math.floor(chunkBytes / 4) * 4);
        for (const f of ranges) yield* readChunks(source, f.start, f.end - f.start, step);
      },
    });
    return;
  }
  if (w.f16 && w.f16.end > w.f16.start) {
    const n = w.f16.end - w.f16.start;
    if (n % 2 !== 0) throw invalid(ctx, `WeightParams ${JSON.stringify(w.name)}.float16Value holds ${n} bytes, not a whole number of halves`, w.at);
    const name = claim(ctx, w.name, where);
    const start = w.f16.start;
    ctx.tensors.push({ name, dtype: 'F16', shape: [...fits(n / 2)], byteLength: n, encoding: STORED, fidelity: 'exact', chunks: (c = DEFAULT_CHUNK_BYTES) => readChunks(source, start, n, Math.max(2, Math.floor(c / 2) * 2)) });
    return;
  }
  const range = (w.raw ?? w.int8)!;
  const signed = w.raw === undefined;
  const field = signed ? 'int8RawValue' : 'rawValue';
  const q = w.quantization;
  if (q === undefined || (q.scale === undefined && q.lut === undefined)) {
    ctx.leftOut.push({ path: w.name, what: `${field} without linear or lookup-table quantization parameters: Core ML reads no values from it (${where})` });
    return;
  }
  const bits = signed ? 8 : q.bits;
  if (!Number.isInteger(bits) || bits < 1 || bits > 8) throw invalid(ctx, `WeightParams ${JSON.stringify(w.name)} is quantized to ${q.bits} bits, not 1 to 8`, w.at);
  if (signed && q.lut !== undefined) throw invalid(ctx, `WeightParams ${JSON.stringify(w.name)} has int8RawValue with a lookup table (Core ML takes int8 weights with linear quantization only)`, w.at);
  const bytes = range.end - range.start;
  const count = w.shape !== undefined && Math.ceil((w.shape.reduce((a, b) => a * b, 1) * bits) / 8) === bytes ? w.shape.reduce((a, b) => a * b, 1) : Math.floor((bytes * 8) / bits);
  const shape = fits(count);
  if (shape.length === 1 && bits < 8 && (bytes * 8) % bits !== 0) ctx.notes.push(`\`${w.name}\`: ${bits}-bit values of a layer whose weights' shape tensorsafe does not derive: ${count} values, all the ${bytes} bytes hold (Core ML's layer parameters say how many are used)`);
  const scale = q.scale;
  const bias = q.bias ?? [];
  // Per-channel parameters run along the weight's axis; a weight whose shape is not derived (1-D) is read
  // as [channels, count / channels], row-major, as coremltools quantizes the layers it knows (axis 0).
  const derived = shape.length > 1;
  const channels = derived ? shape[w.axis]! : (q.scale?.length ?? 1);
  if (!derived && count % Math.max(1, channels) !== 0) throw invalid(ctx, `WeightParams ${JSON.stringify(w.name)} has ${channels} scales for ${count} values, not a whole number per channel`, w.at);
  if (scale !== undefined) {
    if (scale.length === 0) throw invalid(ctx, `WeightParams ${JSON.stringify(w.name)} has linear quantization without scales`, w.at);
    if (scale.length !== 1 && scale.length !== channels) throw invalid(ctx, `WeightParams ${JSON.stringify(w.name)} has ${scale.length} scales for ${channels} channels (dimension ${w.axis} of [${shape.join(', ')}])`, w.at);
    if (bias.length !== 0 && bias.length !== scale.length) throw invalid(ctx, `WeightParams ${JSON.stringify(w.name)} has ${scale.length} scales and ${bias.length} biases`, w.at);
  } else if (q.lut!.length !== 2 ** bits) {
    throw invalid(ctx, `WeightParams ${JSON.stringify(w.name)} has a lookup table of ${q.lut!.length} values for ${bits}-bit indices (2^${bits} = ${2 ** bits})`, w.at);
  }
  const name = claim(ctx, w.name, where);
  const read = async (): Promise<Uint8Array> => {
    const packed = await r.bytes(range.start, bytes, `${field} of ${name}`);
    return bits === 8 ? packed : unpackBits(packed, bits, count, 'msb', false);
  };
  if (ctx.options?.dequantize === true) {
    checkDecodeBytes(ctx, `weight ${JSON.stringify(name)}`, count * 4, w.at);
    ctx.dequantized.push(`\`${name}\``);
    const inner = derived ? shape.slice(w.axis + 1).reduce((a, b) => a * b, 1) : count / Math.max(1, channels);
    ctx.tensors.push(
      inMemory(name, 'F32', shape, count * 4, { layout: 'decoded', decoder: scale ? 'coreml-linear-dequantize' : 'coreml-lut-dequantize' }, scale ? 'derived' : 'lossless', async () => {
        const stored = await read();
        const ints = signed ? new Int8Array(stored.buffer, stored.byteOffset, stored.byteLength) : stored;
        const out = new Float32Array(count);
        if (scale !== undefined) {
          // coremltools' _dequantize_linear: float64 q * scale + bias, stored as float32.
          for (let i = 0; i < count; i++) {
            const c = scale.length === 1 ? 0 : Math.floor(i / inner) % channels;
            out[i] = ints[i]! * scale[c]! + (bias[c] ?? 0);
          }
        } else {
          const lut = q.lut!;
          for (let i = 0; i < count; i++) out[i] = lut[ints[i]!]!;
        }
        return new Uint8Array(out.buffer);
      }),
    );
    return;
  }
  putMetadata(ctx, name, scale !== undefined ? { numberOfBits: bits, linearQuantization: { scale, bias }, axis: w.axis } : { numberOfBits: bits, lookupTableQuantization: q.lut });
  if (bits === 8) {
    const start = range.start;
    ctx.tensors.push({ name, dtype: signed ? 'I8' : 'U8', shape: [...shape], byteLength: count, encoding: STORED, fidelity: 'exact', chunks: (c = DEFAULT_CHUNK_BYTES) => readChunks(source, start, count, c) });
  } else {
    checkDecodeBytes(ctx, `weight ${JSON.stringify(name)}`, count, w.at);
    ctx.tensors.push(inMemory(name, 'U8', shape, count, { layout: 'decoded', decoder: `uint${bits}-unpack` }, 'lossless', read));
  }
}

// ---------------------------------------------------------------- ML programs

async function weightFile(ctx: Ctx, fileName: string, what: string): Promise<{ source: ByteSource; name: string }> {
  const prefix = '@model_path/';
  const rest = fileName.startsWith(prefix) ? fileName.slice(prefix.length) : undefined;
  const escape = rest === undefined ? `it is not a path under @model_path/ (the model's folder)` : rest === '' ? 'it names no file' : pathEscape(rest);
  if (escape !== undefined) throw new CoremlError('ExternalDataRefused', `${ctx.file}: ${what} reads its blob from ${JSON.stringify(fileName)}, refused: ${escape}; only files inside the model's folder are read`, { location: ctx.file });
  const relative = `${ctx.base}${rest}`;
  let file = ctx.weightFiles.get(relative);
  if (file === undefined) {
    const open = ctx.options?.openSibling;
    if (open === undefined) throw noFolder(ctx.file, fileName);
    file = (async () => {
      const source = await open(relative);
      ctx.opened.push(source);
      await checkBlobHeader(source, relative);
      return { source, name: relative };
    })();
    ctx.weightFiles.set(relative, file);
  }
  return file;
}

interface Producer {
  readonly op: MilOp;
  readonly index: number;
  readonly type: MilType | undefined;
}

/** A constant value's info, shape and bytes in its dtype (sub-byte unpacked), read when asked. */
interface Located {
  readonly info: MilDtypeInfo;
  readonly shape: readonly number[];
  readonly count: number;
  readonly stored: boolean;
  /** The whole of it in memory. */
  bytes(): Promise<Uint8Array>;
  /** Streamed (stored values). */
  chunks?(chunkBytes: number): AsyncIterable<Uint8Array>;
}

async function locate(ctx: Ctx, model: ByteSource, value: MilValue, declared: MilType | undefined, what: string): Promise<Located | string> {
  const type = value.type ?? declared;
  if (value.other !== undefined) return `${value.other} value, not a tensor`;
  if (type === undefined) return 'a value without a tensor type';
  if (type.dtype === 2) return 'a string value: safetensors holds numbers only';
  const info = MIL_DTYPES.get(type.dtype);
  if (info === undefined) throw invalid(ctx, `${what} has data type ${type.dtype}, which MIL does not define`, value.at);
  if (type.shape === undefined) return 'a tensor whose shape is not constant';
  const shape = type.shape;
  const count = shape.reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(count)) throw invalid(ctx, `${what} has too many elements`, value.at);
  const outBytes = count * (isSubByte(info) ? 1 : info.bits / 8);
  if (value.blob !== undefined) {
    const { source, name } = await weightFile(ctx, value.blob.fileName, what);
    const rec = await readBlobRecord(source, name, value.blob.offset, what);
    const blobWhere = `${name}@${value.blob.offset}`;
    if (info.blob === undefined || rec.dtype !== info.blob) {
      throw new CoremlError('CoremlBlobInvalid', `${ctx.file}: ${what} is ${info.name} but its blob in ${name} at offset ${value.blob.offset} holds ${BLOB_DTYPE_NAMES[rec.dtype]}`, { location: blobWhere });
    }
    const need = storedBytes(info, count);
    if (rec.sizeInBytes !== need) throw new CoremlError('CoremlBlobInvalid', `${ctx.file}: ${what} (${info.name} [${shape.join(', ')}]) needs ${need} bytes, but its blob in ${name} at offset ${value.blob.offset} holds ${rec.sizeInBytes}`, { location: blobWhere });
    const read = async (): Promise<Uint8Array> => {
      checkDecodeBytes(ctx, what, outBytes);
      const b = await source.read(rec.dataOffset, need);
      return isSubByte(info) ? unpackBits(b, info.bits, count, 'lsb', info.signed === true) : b;
    };
    const unit = info.bits / 8;
    return {
      info,
      shape,
      count,
      stored: !isSubByte(info),
      bytes: read,
      ...(isSubByte(info) ? {} : { chunks: (c: number) => readChunks(source, rec.dataOffset, need, Math.max(unit, Math.floor(c / unit) * unit)) }),
    };
  }
  if (value.immediate === undefined) return 'a value that is neither immediate nor in a blob file';
  const im = value.immediate;
  if (im.field === 4) return 'a string value: safetensors holds numbers only';
  checkDecodeBytes(ctx, what, outBytes, value.at);
  const raw = await model.read(im.start, im.end - im.start);
  const bytes = immediateBytes(ctx, raw, im.field, info, count, what, value.at);
  return { info, shape, count, stored: im.field === 7 && !isSubByte(info), bytes: async () => bytes };
}

/** A TensorValue's field as the bytes of the tensor's dtype (coremltools' helper.py `create_tensor_value` writes each dtype to one field). */
function immediateBytes(ctx: Ctx, raw: Uint8Array, field: number, info: MilDtypeInfo, count: number, what: string, at: number): Uint8Array {
  const wrong = (why: string): CoremlError => invalid(ctx, `${what} (${info.name}, ${count} values): ${why}`, at);
  const size = info.bits / 8;
  switch (field) {
    case 1: // floats
    case 6: // doubles
    case 7: {
      // bytes
      if (field === 1 && info.dtype !== 'F32') throw wrong('floats given for a tensor that is not fp32');
      if (field === 6 && info.dtype !== 'F64') throw wrong('doubles given for a tensor that is not fp64');
      const need = storedBytes(info, count);
      if (raw.length !== need) throw wrong(`${raw.length} bytes given, ${need} needed`);
      return isSubByte(info) ? unpackBits(raw, info.bits, count, 'lsb', info.signed === true) : raw.slice();
    }
    case 2:
    case 3:
    case 5: {
      // ints (int32 varints), bools, longInts (int64 varints)
      const out = new Uint8Array(count * size);
      const view = new DataView(out.buffer);
      let i = 0;
      const wide = info.bits === 64;
      if (field === 3 ? info.dtype !== 'BOOL' : field === 5 ? !wide : wide || info.dtype.startsWith('F') || info.dtype === 'BOOL') throw wrong(`field ${field} of TensorValue given for it`);
      if (!varintsEnd(raw)) throw wrong('a varint runs past the end of its field');
      eachVarint(raw, 0, (lo, hi) => {
        if (i >= count) throw wrong('more values than its shape holds');
        if (wide) view.setBigUint64(i * 8, (BigInt(hi) << 32n) | BigInt(lo), true);
        else {
          const v = field === 3 ? (lo !== 0 || hi !== 0 ? 1 : 0) : lo | 0;
          const fits = field === 3 || (info.signed ? v >= -(2 ** (info.bits - 1)) && v < 2 ** (info.bits - 1) : (hi === 0 || hi === 0xffffffff) && (lo >>> 0) < 2 ** info.bits);
          if (!fits) throw wrong(`value ${v} does not fit`);
          if (size === 1) view.setUint8(i, v & 0xff);
          else if (size === 2) view.setUint16(i * 2, v & 0xffff, true);
          else view.setUint32(i * 4, lo >>> 0, true);
        }
        i++;
      });
      if (i !== count) throw wrong(`${i} values given`);
      return out;
    }
    default:
      throw wrong(`TensorValue field ${field}`);
  }
}

/** Whether every varint of `b` ends inside it (at most 10 bytes each). */
function varintsEnd(b: Uint8Array): boolean {
  let n = 0;
  for (const byte of b) {
    n = byte & 0x80 ? n + 1 : 0;
    if (n >= 10) return false;
  }
  return b.length === 0 || (b[b.length - 1]! & 0x80) === 0;
}

/** A constant's bytes as numbers (constexpr parameters). */
function toDense(code: number, info: MilDtypeInfo, shape: readonly number[], b: Uint8Array): Dense {
  const n = shape.reduce((a, x) => a * x, 1);
  const values = new Float64Array(n);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i < n; i++) {
    switch (info.dtype) {
      case 'F32': values[i] = v.getFloat32(i * 4, true); break;
      case 'F16': values[i] = f16ToF32(v.getUint16(i * 2, true)); break;
      case 'BF16': values[i] = bf16ToF32(v.getUint16(i * 2, true)); break;
      case 'F64': values[i] = v.getFloat64(i * 8, true); break;
      case 'I8': values[i] = v.getInt8(i); break;
      case 'U8': case 'BOOL': values[i] = v.getUint8(i); break;
      case 'I16': values[i] = v.getInt16(i * 2, true); break;
      case 'U16': values[i] = v.getUint16(i * 2, true); break;
      case 'I32': values[i] = v.getInt32(i * 4, true); break;
      case 'U32': values[i] = v.getUint32(i * 4, true); break;
      case 'I64': values[i] = Number(v.getBigInt64(i * 8, true)); break;
      case 'U64': values[i] = Number(v.getBigUint64(i * 8, true)); break;
      default: throw new ConstexprProblem(`${info.name} values are not parameters of a compile-time operation`);
    }
  }
  return { code, shape, values };
}

/** Compile-time operations decoded, with their parameters (iOS16: attributes; iOS18: inputs). */
const CONSTEXPR: Readonly<Record<string, { readonly params: readonly string[]; readonly optional?: readonly string[]; readonly fidelity: TensorFidelity }>> = {
  constexpr_affine_dequantize: { params: ['quantized_data', 'zero_point', 'scale', 'axis'], fidelity: 'derived' },
  constexpr_blockwise_shift_scale: { params: ['data', 'scale'], optional: ['offset'], fidelity: 'derived' },
  constexpr_lut_to_dense: { params: ['indices', 'lut'], optional: ['shape', 'vector_axis'], fidelity: 'lossless' },
  constexpr_sparse_to_dense: { params: ['nonzero_data', 'mask'], optional: ['shape'], fidelity: 'lossless' },
  constexpr_cast: { params: ['source_val'], optional: ['output_dtype'], fidelity: 'lossless' },
};

/**
 * iOS18 compile-time operations with two outputs (a mask and nonzero values: compression on sparse
 * data), read only by a constexpr_sparse_to_dense, whose dense output is the weight: decoded for it,
 * not tensors themselves.
 */
/** A vector_axis parameter's value, when there is one. */
async function vectorAxisOf(get: (p: string) => Promise<Dense | undefined>): Promise<number | undefined> {
  const d = await get('vector_axis');
  if (d === undefined) return undefined;
  if (d.values.length !== 1) throw new ConstexprProblem('vector_axis is not a scalar');
  return d.values[0]!;
}

/** Compile-time operations whose values are computed (dequantized), not looked up or moved. */
const DEQUANTIZING: ReadonlySet<string> = new Set(['constexpr_affine_dequantize', 'constexpr_blockwise_shift_scale', 'constexpr_sparse_blockwise_shift_scale']);

const SPARSE_PARTS: Readonly<Record<string, { readonly params: readonly string[]; readonly optional?: readonly string[] }>> = {
  constexpr_lut_to_sparse: { params: ['indices_mask', 'indices_nonzero_data', 'lut'], optional: ['vector_axis'] },
  constexpr_sparse_blockwise_shift_scale: { params: ['data_mask', 'nonzero_data', 'scale'], optional: ['offset'] },
};

async function programEntries(ctx: Ctx, model: CoremlModel, source: ByteSource): Promise<void> {
  const producers = new Map<string, Producer>();
  for (const op of model.ops) for (const [index, out] of op.outputs.entries()) producers.set(out.name, { op, index, type: out.type });
  const dense = new Map<string, (chain: readonly string[]) => Promise<Dense>>();
  const undecoded = new Map<string, string>();
  /** Compile-time operations decoding each checked name runs (itself and, path by path, those it reads). */
  const evaluations = new Map<string, number>();
  const intermediate = new Map<string, string>();
  const decoded: string[] = [];
  for (const op of model.ops) {
    const out = op.outputs[0];
    if (op.type === 'const') {
      if (out === undefined) throw invalid(ctx, 'a const operation without an output', op.at);
      const what = `const ${JSON.stringify(out.name)}`;
      const val = op.attributes.get('val');
      if (val === undefined) throw invalid(ctx, `${what} has no val attribute`, op.at);
      const loc = await locate(ctx, source, val, out.type, what);
      if (typeof loc === 'string') {
        ctx.leftOut.push({ path: out.name, what: `${loc} (${what})` });
        continue;
      }
      const name = claim(ctx, out.name, what);
      const bytesOut = loc.count * (isSubByte(loc.info) ? 1 : loc.info.bits / 8);
      const sub = isSubByte(loc.info);
      const streamed = loc.chunks;
      ctx.tensors.push(
        streamed !== undefined
          ? { name, dtype: loc.info.dtype, shape: [...loc.shape], byteLength: bytesOut, encoding: STORED, fidelity: 'exact', chunks: (c = DEFAULT_CHUNK_BYTES) => streamed(c) }
          : inMemory(name, loc.info.dtype, loc.shape, bytesOut, sub ? { layout: 'decoded', decoder: `${loc.info.name}-unpack` } : STORED, sub ? 'lossless' : 'exact', loc.bytes),
      );
      continue;
    }
    if (!op.type.startsWith('constexpr_')) continue;
    const parts = SPARSE_PARTS[op.type];
    if (parts !== undefined) {
      const what = `${op.type} ${JSON.stringify(op.outputs[1]?.name ?? '')}`;
      const bindings = [...parts.params, ...(parts.optional ?? [])].map((p) => [p, param(op, p)] as const);
      const unresolved = bindings.find(([, b]) => b !== undefined && 'name' in b && (undecoded.has(b.name) || !producers.has(b.name)));
      const why =
        op.outputs.length !== 2 ? `an operation with ${op.outputs.length} outputs, not a mask and nonzero values` :
        parts.params.find((p) => param(op, p) === undefined) !== undefined ? `no ${parts.params.find((p) => param(op, p) === undefined)}` :
        unresolved !== undefined ? `its ${unresolved[0]} is not decoded` : undefined;
      const outType = op.outputs[1]?.type?.dtype;
      const all = async (chain: readonly string[]): Promise<Dense[]> => {
        const get = async (p: string): Promise<Dense | undefined> => {
          const b = param(op, p);
          if (b === undefined) return undefined;
          if ('value' in b) return valueDense(ctx, source, b.value, undefined, `${p} of ${what}`);
          return constDense(b.name, [...chain, op.outputs[1]!.name]);
        };
        const need = async (p: string): Promise<Dense> => (await get(p))!;
        try {
          return op.type === 'constexpr_lut_to_sparse'
            ? lutToSparse(await need('indices_mask'), await need('indices_nonzero_data'), await need('lut'), await vectorAxisOf(get))
            : sparseBlockwiseShiftScale(await need('data_mask'), await need('nonzero_data'), await need('scale'), await get('offset'), outType ?? 0);
        } catch (e) {
          if (e instanceof ConstexprProblem) throw invalid(ctx, `${what}: ${e.message}`, op.at);
          throw e;
        }
      };
      for (const [index, o] of op.outputs.entries()) {
        if (why !== undefined) {
          undecoded.set(o.name, `the output of ${op.type}: ${why}`);
          continue;
        }
        dense.set(o.name, async (chain) => {
          if (chain.includes(o.name) || chain.length > MAX_COREML_NESTING) throw invalid(ctx, `${what} depends on itself, or on a chain of more than MAX_COREML_NESTING (${MAX_COREML_NESTING}) compile-time operations`, op.at);
          return (await all(chain))[index]!;
        });
        intermediate.set(o.name, `${index === 0 ? 'the mask' : 'the nonzero values'} of a sparse compressed weight (${op.type}): its dense form is the output of the constexpr_sparse_to_dense that reads it`);
      }
      continue;
    }
    for (const o of op.outputs) {
      const spec = CONSTEXPR[op.type];
      if (spec === undefined || op.outputs.length !== 1) {
        undecoded.set(o.name, `the output of ${op.type}, not decoded`);
        continue;
      }
      const what = `${op.type} ${JSON.stringify(o.name)}`;
      const type = o.type;
      const info = type === undefined ? undefined : MIL_DTYPES.get(type.dtype);
      if (type === undefined || info === undefined || type.shape === undefined) {
        undecoded.set(o.name, `the output of ${op.type} without a numeric tensor type of constant shape`);
        continue;
      }
      const missing = spec.params.find((p) => param(op, p) === undefined);
      if (missing !== undefined) throw invalid(ctx, `${what} has no ${missing}`, op.at);
      const unresolved = [...spec.params, ...(spec.optional ?? [])].map((p) => [p, param(op, p)] as const).find(([, b]) => b !== undefined && 'name' in b && (undecoded.has(b.name) || !producers.has(b.name)));
      if (unresolved !== undefined) {
        const ref = (unresolved[1] as { name: string }).name;
        undecoded.set(o.name, `the output of ${op.type}, whose ${unresolved[0]} is ${undecoded.has(ref) ? `\`${ref}\`, itself not decoded` : `\`${ref}\`, which no constant defines`}`);
        continue;
      }
      const outShape = type.shape;
      const count = outShape.reduce((a, b) => a * b, 1);
      const bytesOut = count * (isSubByte(info) ? 1 : info.bits / 8);
      checkDecodeBytes(ctx, what, count * 8, op.at);
      // Checked on open, so that a bad one refuses the model before anything is written: what it reads
      // by name (no cycle), and a shape parameter (a few numbers) against its declared output.
      noCycle(o.name, []);
      const shape = param(op, 'shape');
      if (shape !== undefined && 'value' in shape) {
        const declared = shape.value.type?.shape;
        if (declared === undefined || declared.length !== 1 || declared[0] !== outShape.length) throw invalid(ctx, `${what}: its shape parameter is not a vector of ${outShape.length} dimensions`, op.at);
        const dims = await valueDense(ctx, source, shape.value, undefined, `shape of ${what}`);
        if ([...dims.values].some((d, i) => d !== outShape[i])) throw invalid(ctx, `${what}: its shape parameter [${[...dims.values].join(', ')}] is not its output's [${outShape.join(', ')}]`, op.at);
      }
      const compute = async (chain: readonly string[] = []): Promise<Dense> => {
        if (chain.includes(o.name) || chain.length > MAX_COREML_NESTING) throw invalid(ctx, `${what} depends on itself, or on a chain of more than MAX_COREML_NESTING (${MAX_COREML_NESTING}) compile-time operations`, op.at);
        const get = async (p: string): Promise<Dense | undefined> => {
          const b = param(op, p);
          if (b === undefined) return undefined;
          if ('value' in b) return valueDense(ctx, source, b.value, undefined, `${p} of ${what}`);
          return constDense(b.name, [...chain, o.name]);
        };
        let d: Dense;
        try {
          d = await constexpr(op.type, get, type.dtype, outShape);
        } catch (e) {
          if (e instanceof ConstexprProblem) throw invalid(ctx, `${what}: ${e.message}`, op.at);
          throw e;
        }
        if (d.shape.length !== outShape.length || d.shape.some((x, i) => x !== outShape[i])) throw invalid(ctx, `${what} decodes to shape [${d.shape.join(', ')}], its type says [${outShape.join(', ')}]`, op.at);
        if (d.code !== type.dtype) throw invalid(ctx, `${what} decodes to ${milTypeName(d.code)}, its type says ${info.name}`, op.at);
        return d;
      };
      // Computed when read (and again when another operation reads it): nothing decoded is kept.
      dense.set(o.name, compute);
      const name = claim(ctx, o.name, what);
      decoded.push(`\`${name}\` (${op.type})`);
      ctx.tensors.push(inMemory(name, info.dtype, outShape, bytesOut, { layout: 'decoded', decoder: op.type }, spec.fidelity === 'derived' || derivesFromDequantized(op, new Set()) ? 'derived' : spec.fidelity, async () => {
        const d = await compute();
        try {
          return denseBytes(d);
        } catch (e) {
          if (e instanceof ConstexprProblem) throw invalid(ctx, `${what}: ${e.message}`, op.at);
          throw e;
        }
      }));
    }
  }
  for (const [name, why] of undecoded) ctx.leftOut.push({ path: name, what: why });
  for (const [name, why] of intermediate) ctx.leftOut.push({ path: name, what: why });
  if (decoded.length > 0) ctx.notes.push(`${decoded.length} compressed weight${decoded.length === 1 ? '' : 's'} decoded as coremltools' numpy reference decodes them: ${decoded.join(', ')}`);

  /** Whether an operation reads, directly or through others, values a dequantizing operation computed (its output is then derived, not lossless). */
  function derivesFromDequantized(op: MilOp, seen: Set<MilOp>): boolean {
    if (seen.has(op)) return false;
    seen.add(op);
    for (const bindings of op.inputs.values()) {
      for (const b of bindings) {
        if (!('name' in b)) continue;
        const p = producers.get(b.name);
        if (p === undefined || !p.op.type.startsWith('constexpr_')) continue;
        if (DEQUANTIZING.has(p.op.type) || derivesFromDequantized(p.op, seen)) return true;
      }
    }
    return false;
  }

  /**
   * Throws when the compile-time operation making `name` reads its own output, directly or through
   * others, or when decoding it runs more than MAX_COREML_CONSTEXPR_EVALUATIONS of them (nothing decoded
   * is kept: an operation read twice is decoded twice). Returns that count.
   */
  function noCycle(name: string, chain: readonly string[]): number {
    const p = producers.get(name);
    if (p === undefined || !p.op.type.startsWith('constexpr_')) return 0;
    const known = evaluations.get(name);
    if (known !== undefined) return known;
    if (chain.includes(name) || chain.length > MAX_COREML_NESTING) throw invalid(ctx, `${p.op.type} ${JSON.stringify(name)} depends on itself, or on a chain of more than MAX_COREML_NESTING (${MAX_COREML_NESTING}) compile-time operations`, p.op.at);
    let n = 1;
    for (const bindings of p.op.inputs.values()) for (const b of bindings) if ('name' in b) n += noCycle(b.name, [...chain, name]);
    if (n > MAX_COREML_CONSTEXPR_EVALUATIONS) {
      throw new CoremlError('CoremlLimit', `${ctx.file}: ${p.op.type} ${JSON.stringify(name)} reads other compile-time operations along more than MAX_COREML_CONSTEXPR_EVALUATIONS (${MAX_COREML_CONSTEXPR_EVALUATIONS}) paths: decoding it would decode them path by path`, { location: `${ctx.file}@${p.op.at}` });
    }
    // Each operation is walked once: a lattice of operations reading two others is not walked path by path.
    evaluations.set(name, n);
    return n;
  }

  async function constDense(ref: string, chain: readonly string[]): Promise<Dense> {
    const computed = dense.get(ref);
    if (computed !== undefined) return computed(chain);
    const p = producers.get(ref)!;
    const val = p.op.attributes.get('val');
    if (p.op.type !== 'const' || val === undefined) throw invalid(ctx, `\`${ref}\` is the output of ${p.op.type}, not a constant`, p.op.at);
    return valueDense(ctx, source, val, p.type, `const ${JSON.stringify(ref)}`);
  }
}

function param(op: MilOp, name: string): MilBinding | undefined {
  const a = op.attributes.get(name);
  if (a !== undefined) return { value: a };
  const bindings = op.inputs.get(name);
  return bindings?.[0];
}

async function valueDense(ctx: Ctx, source: ByteSource, value: MilValue, declared: MilType | undefined, what: string): Promise<Dense> {
  const loc = await locate(ctx, source, value, declared, what);
  if (typeof loc === 'string') throw invalid(ctx, `${what} is ${loc}`, value.at);
  const type = (value.type ?? declared)!;
  return toDense(type.dtype, loc.info, loc.shape, await loc.bytes());
}

async function constexpr(type: string, get: (p: string) => Promise<Dense | undefined>, out: number, outShape: readonly number[]): Promise<Dense> {
  const need = async (p: string): Promise<Dense> => {
    const d = await get(p);
    if (d === undefined) throw new ConstexprProblem(`no ${p}`);
    return d;
  };
  const scalar = (d: Dense, p: string): number => {
    if (d.values.length !== 1) throw new ConstexprProblem(`${p} is not a scalar`);
    return d.values[0]!;
  };
  // A shape parameter must be the declared output's before anything of that size is made.
  const shapeParam = async (): Promise<number[] | undefined> => {
    const shape = await get('shape');
    if (shape === undefined) return undefined;
    const dims = [...shape.values];
    if (dims.length !== outShape.length || dims.some((d, i) => d !== outShape[i])) throw new ConstexprProblem(`its shape parameter [${dims.join(', ')}] is not its output's [${outShape.join(', ')}]`);
    return dims;
  };
  switch (type) {
    case 'constexpr_affine_dequantize':
      return affineDequantize(await need('quantized_data'), await need('zero_point'), await need('scale'), scalar(await need('axis'), 'axis'), out);
    case 'constexpr_blockwise_shift_scale':
      return blockwiseShiftScale(await need('data'), await need('scale'), await get('offset'), out);
    case 'constexpr_lut_to_dense': {
      const shape = await shapeParam();
      if (shape !== undefined) return lutToDense16(await need('indices'), await need('lut'), shape);
      const vectorAxis = await get('vector_axis');
      return lutToDense18(await need('indices'), await need('lut'), vectorAxis === undefined ? undefined : scalar(vectorAxis, 'vector_axis'));
    }
    case 'constexpr_sparse_to_dense': {
      return sparseToDense(await need('nonzero_data'), await need('mask'), await shapeParam());
    }
    case 'constexpr_cast':
      return cast(await need('source_val'), out);
  }
  throw new ConstexprProblem(`${type} is not decoded`);
}

// ---------------------------------------------------------------- MIL text

async function textEntries(ctx: Ctx, program: MilTextProgram): Promise<void> {
  for (const c of program.consts) await textConst(ctx, c);
  for (const c of program.constexprs) ctx.leftOut.push({ path: c.name, what: `the output of ${c.type} in MIL text (line ${c.line}): compressed weights are decoded from ML program protobufs (.mlmodel, .mlpackage), not from compiled text` });
}

async function textConst(ctx: Ctx, c: MilTextConst): Promise<void> {
  const what = `const ${JSON.stringify(c.name)} (line ${c.line})`;
  if (c.dtypeName === 'string') return void ctx.leftOut.push({ path: c.name, what: `a string value: safetensors holds numbers only (${what})` });
  if (c.dtype === undefined) return void ctx.leftOut.push({ path: c.name, what: `a ${c.dtypeName} value, not a tensor (${what})` });
  if (c.shape === undefined) return void ctx.leftOut.push({ path: c.name, what: `a tensor whose shape is not constant (${what})` });
  if (c.unread !== undefined) return void ctx.leftOut.push({ path: c.name, what: `${c.unread} (${what})` });
  const type: MilType = { dtype: c.dtype, shape: c.shape };
  if (c.blob !== undefined) {
    const loc = await locate(ctx, undefined as unknown as ByteSource, { at: 0, type, blob: c.blob }, type, what);
    if (typeof loc === 'string') return void ctx.leftOut.push({ path: c.name, what: `${loc} (${what})` });
    const name = claim(ctx, c.name, what);
    const bytesOut = loc.count * (isSubByte(loc.info) ? 1 : loc.info.bits / 8);
    const streamed = loc.chunks;
    ctx.tensors.push(
      streamed !== undefined
        ? { name, dtype: loc.info.dtype, shape: [...loc.shape], byteLength: bytesOut, encoding: STORED, fidelity: 'exact', chunks: (n = DEFAULT_CHUNK_BYTES) => streamed(n) }
        : inMemory(name, loc.info.dtype, loc.shape, bytesOut, { layout: 'decoded', decoder: `${loc.info.name}-unpack` }, 'lossless', loc.bytes),
    );
    return;
  }
  const info = MIL_DTYPES.get(c.dtype)!;
  const count = c.shape.reduce((a, b) => a * b, 1);
  if (c.values!.length !== count) throw invalid(ctx, `${what} has ${c.values!.length} values for shape [${c.shape.join(', ')}]`);
  let bytes: Uint8Array;
  try {
    bytes = denseBytes({ code: c.dtype, shape: c.shape, values: Float64Array.from(c.values!) });
  } catch (e) {
    if (e instanceof ConstexprProblem) return void ctx.leftOut.push({ path: c.name, what: `an immediate ${info.name} value in MIL text: not read (${what})` });
    throw e;
  }
  const name = claim(ctx, c.name, what);
  // Text numbers are parsed to doubles and stored in the dtype: exact for the values MIL text prints (shortest round-trip).
  ctx.tensors.push(inMemory(name, info.dtype, c.shape, bytes.byteLength, { layout: 'decoded', decoder: 'mil-text' }, 'lossless', async () => bytes));
}

/** A parser's FormatProblem as a coded error naming the file; others as they are. */
function coded(e: unknown, file: string): unknown {
  if (!(e instanceof FormatProblem)) return e;
  const code: CoremlErrorCode = e.kind === 'limit' ? 'CoremlLimit' : 'InvalidCoreml';
  return new CoremlError(code, `${file}: not a readable Core ML model: ${e.message}`, { location: e.locationIn(file), cause: e });
}
