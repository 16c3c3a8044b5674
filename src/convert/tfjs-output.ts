import type { Dtype } from '../dtype/dtypes.js';
import { TensorsafeError } from '../errors.js';
import { dequantize, type TfjsQuantization } from '../tensor/tfjs-dequantize.js';
import { affineQuantization, manifestQuantization, NoAffineRange, quantizeAffine, quantizeFloat16, TFJS_QUANTIZE_TYPES, valueRange, type AffineQuantization, type TfjsQuantizeType } from '../tensor/tfjs-quantize.js';
import { MemorySource, type ByteSource } from '../io/byte-source.js';
import type { TensorEntry } from '../tensor/tensor-set.js';
import type { OutputFormat, OutputOptions, OutputWriteOptions } from './output-format.js';
import { CHECKED_CHUNK_BYTES, type CheckedSink, type WrittenFile } from './write-checked.js';
import { openWritten, writeThenCheck } from './write-then-check.js';

/**
 * TF.js as the pipeline's output: weight shards `group1-shard1of3.bin`, … (tfjs-converter's names)
 * of at most `--max-shard-size` bytes (4 MB by default: tfjs-converter's `--weight_shard_size_bytes`),
 * and a `model.json` holding the weights manifest (`{"weightsManifest": [{"paths": [...], "weights":
 * [...]}]}`, one group), which tfjs-core's `io.http`/`io.fromMemory` load and whose manifest
 * `io.loadWeights` takes. Weights are packed one after the other, little-endian, as tfjs-core's
 * `io.decodeWeights` reads them; a weight never straddles shards here (tfjs-core would read one that did).
 *
 * float32, int32, bool and complex64 (F32, I32, BOOL, C64) are written as they are; any other dtype is
 * refused by name before a byte is written (tfjs has no type for it: convert it first).
 *
 * `--quantize uint8|uint16|float16` quantizes the float32 weights (not empty ones), and the F16 ones
 * widened to float32 first (as tfjs-converter widens float16 arrays; float16 then keeps their bits), as tfjs-converter
 * does (tensor/tfjs-quantize.ts: its nudged affine range and rounding, or NumPy's float16), and
 * writes its manifest fields (`{"dtype", "min", "scale", "original_dtype": "float32"}`); int32, bool
 * and complex64 weights are written as they are, as tfjs-converter leaves them. A float32 weight
 * holding NaN or infinity has no affine range: uint8/uint16 refuse it by name. Shards are filled by
 * the bytes written (quantized), not the source's.
 *
 * The check: each shard, once whole, is read back by the TF.js reader through a manifest of that shard
 * alone, and every weight compared bit for bit with its source, or, quantized, with what tfjs-core
 * decodes the quantizer's output of the source to (the quantizer runs again on a fresh read). model.json
 * is the pipeline's index of the output, written (atomically) once every shard is checked and in place.
 */

/** tfjs-converter's default shard size (its `--weight_shard_size_bytes`, 4 MB): browsers cache files of this size well. */
export const TFJS_DEFAULT_SHARD_BYTES = 4 * 1024 * 1024;

const TFJS_DTYPE: Partial<Record<Dtype, string>> = { F32: 'float32', I32: 'int32', BOOL: 'bool', C64: 'complex64' };

interface WeightSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: string;
  /** tfjs-converter's fields, in its order. */
  readonly quantization?: { readonly dtype: TfjsQuantizeType; readonly min?: number; readonly scale?: number; readonly original_dtype: 'float32' };
}

/** How a quantized weight is written: float16, or the affine parameters of its values. */
type WeightQuantization = 'float16' | AffineQuantization;

const SHARD_NAME = /^group(\d+)-shard(\d+)of(\d+)\.bin$/;

function specOf(e: TensorEntry, q?: WeightQuantization): WeightSpec {
  // A float16 tensor is a float32 weight stored quantized (tfjs-converter widens float16 arrays to float32).
  const dtype = q !== undefined && e.dtype === 'F16' ? 'float32' : TFJS_DTYPE[e.dtype];
  if (dtype === undefined) {
    throw new TensorsafeError('UnsupportedTensor', `tensor \`${e.name}\` is ${e.dtype}, which TF.js has no type for (it holds float32, int32, bool and complex64): write safetensors, or convert it to one of those first`, { location: e.name });
  }
  const spec = { name: e.name, shape: [...e.shape], dtype };
  if (q === undefined) return spec;
  return { ...spec, quantization: q === 'float16' ? { dtype: 'float16', original_dtype: 'float32' } : { dtype: q.dtype, min: q.min, scale: q.scale, original_dtype: 'float32' } };
}

/**
 * Whether `--quantize` applies to `e`: float32 weights holding a value (tfjs-converter quantizes float32
 * only), and float16 ones, which tfjs-converter widens to float32 first (exactly) and TF.js has no other type for.
 */
function quantizable(e: TensorEntry, type: TfjsQuantizeType | undefined): type is TfjsQuantizeType {
  return type !== undefined && (e.dtype === 'F32' || e.dtype === 'F16') && e.byteLength > 0;
}

/** Bytes of `e` in a shard. */
function storedBytes(e: TensorEntry, type: TfjsQuantizeType | undefined): number {
  return quantizable(e, type) ? (e.byteLength / (e.dtype === 'F16' ? 2 : 4)) * (type === 'uint8' ? 1 : 2) : e.byteLength;
}

const WIDEN: TfjsQuantization = { dtype: 'float16' };

/** The float32 values of an F32 (or, widened exactly, F16) tensor, chunk by chunk (whole elements, aligned copies). */
async function* float32Chunks(e: TensorEntry, chunkBytes: number): AsyncGenerator<Float32Array> {
  const unit = e.dtype === 'F16' ? 2 : 4;
  let carry = new Uint8Array(0);
  for await (const chunk of e.chunks(chunkBytes)) {
    const bytes = carry.length === 0 ? chunk : concat(carry, chunk);
    const whole = bytes.byteLength - (bytes.byteLength % unit);
    carry = bytes.slice(whole);
    if (whole === 0) continue;
    const f32 = unit === 2 ? dequantize(WIDEN, 'float32', bytes.subarray(0, whole)) : bytes.subarray(0, whole);
    const values = new Float32Array(f32.byteLength / 4);
    new Uint8Array(values.buffer).set(f32);
    yield values;
  }
  if (carry.length > 0) throw new TensorsafeError('InternalError', `tensor \`${e.name}\`: its data is not a whole number of ${e.dtype} elements`, { location: e.name });
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a);
  out.set(b, a.byteLength);
  return out;
}

/** The affine parameters of `e`'s values (a first pass over them), or a refusal naming the tensor. */
async function affineOf(e: TensorEntry, type: 'uint8' | 'uint16'): Promise<AffineQuantization> {
  const range = { min: Infinity, max: -Infinity, seen: 0 };
  try {
    for await (const values of float32Chunks(e, CHECKED_CHUNK_BYTES)) valueRange(values, range);
    return affineQuantization(type, range.min, range.max);
  } catch (err) {
    if (!(err instanceof NoAffineRange)) throw err;
    throw new TensorsafeError('InvalidTensor', `tensor \`${e.name}\`: ${err.message}, so it has no ${type} quantization (tfjs-converter's would write NaN or garbage); write it unquantized, or with --quantize float16`, { location: e.name });
  }
}

/** The codes of `e` as written. */
async function* quantizedChunks(e: TensorEntry, q: WeightQuantization, chunkBytes: number): AsyncGenerator<Uint8Array> {
  // float16 of a float16 tensor: its bits (NumPy's float16 of their exact widening gives them back, NaN payloads too).
  if (q === 'float16' && e.dtype === 'F16') {
    yield* e.chunks(chunkBytes);
    return;
  }
  for await (const values of float32Chunks(e, chunkBytes)) yield q === 'float16' ? quantizeFloat16(values) : quantizeAffine(q, values);
}

/** What the reader gives for `source` written with `q`: tfjs-core's decoding of the quantizer's output. */
function expectedEntry(source: TensorEntry, q: WeightQuantization): TensorEntry {
  const mq = manifestQuantization(q);
  return {
    name: source.name,
    shape: source.shape,
    dtype: 'F32',
    byteLength: source.shape.reduce((n, d) => n * d, 1) * 4,
    fidelity: 'derived',
    encoding: { layout: 'decoded', decoder: `tfjs-${mq.dtype}` },
    ...(source.aliasKey !== undefined ? { aliasKey: source.aliasKey } : {}),
    async *chunks(chunkBytes = CHECKED_CHUNK_BYTES) {
      for await (const codes of quantizedChunks(source, q, chunkBytes)) yield dequantize(mq, 'float32', codes);
    },
  };
}

function usage(message: string, location?: string): TensorsafeError {
  return new TensorsafeError('UsageError', message, { location });
}

/** The --quantize type of a TF.js output, or a usage error naming the ones it takes. */
function quantizeType(option: string | undefined): TfjsQuantizeType | undefined {
  if (option === undefined) return undefined;
  const type = TFJS_QUANTIZE_TYPES.find((t) => t === option.toLowerCase());
  if (type === undefined) throw usage(`--quantize ${option}: --to tfjs takes ${TFJS_QUANTIZE_TYPES.join(', ')} (tfjs-converter's quantizations)`, option);
  return type;
}

const SPEC_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8, uint8: 1, uint16: 2, float16: 2 };

/** Bytes of a weight in its shard. */
function specBytes(s: WeightSpec): number {
  return s.shape.reduce((n, d) => n * d, 1) * SPEC_BYTES[s.quantization?.dtype ?? s.dtype]!;
}

/** A manifest listing `paths` with `weights`, as model.json holds it. */
function manifestJson(paths: readonly string[], weights: readonly WeightSpec[]): string {
  return `{"generatedBy":"tensorsafe","weightsManifest":[{"paths":${JSON.stringify(paths)},"weights":[${weights.map(specJson).join(',')}]}]}`;
}

/** A weight spec's JSON; a quantization's min of -0 written `-0` (JSON.stringify writes 0), as tfjs-converter writes `-0.0`. */
function specJson(s: WeightSpec): string {
  const { quantization: q, ...plain } = s;
  if (q === undefined) return JSON.stringify(plain);
  const num = (x: number): string => (Object.is(x, -0) ? '-0' : JSON.stringify(x));
  const fields = [`"dtype":${JSON.stringify(q.dtype)}`, ...(q.min !== undefined ? [`"min":${num(q.min)}`, `"scale":${num(q.scale!)}`] : []), `"original_dtype":"float32"`];
  return `${JSON.stringify(plain).slice(0, -1)},"quantization":{${fields.join(',')}}}`;
}

/**
 * A TF.js output of one conversion: it remembers the weight specs of each shard it writes, for the
 * read-back of that shard and for model.json (`configure` gives each conversion its own).
 */
function tfjsOutputInstance(type?: TfjsQuantizeType): OutputFormat {
  /** Shard name → its weights, in the order written. */
  const shards = new Map<string, WeightSpec[]>();
  /** The written file's source name → its shard's weights (bound on its first read-back). */
  const bySource = new Map<string, WeightSpec[]>();
  let pending: WeightSpec[] | undefined;

  async function reopen(source: ByteSource): Promise<WrittenFile> {
    const specs = bySource.get(source.name) ?? pending;
    if (specs === undefined) {
      await source.close?.();
      throw new TensorsafeError('InternalError', `${source.name}: a TF.js shard is read back only with the manifest it was written with`, { location: source.name });
    }
    bySource.set(source.name, specs);
    pending = undefined;
    const { tensors } = await openWritten('tfjs', source, (reader) => {
      const manifest = new MemorySource(new TextEncoder().encode(manifestJson(['shard.bin'], specs)), `${source.name} (manifest)`);
      return reader.open!(manifest, { openSibling: async () => source });
    });
    // Where each weight ends in the shard: its stored bytes (quantized ones are smaller than read).
    const ends = new Map<string, number>();
    let at = 0;
    for (const s of specs) ends.set(s.name, (at += specBytes(s)));
    return { tensors, dataStart: 0, endOf: (name) => ends.get(name) ?? source.size, close: () => tensors.close() };
  }

  return {
    id: 'tfjs',
    extension: '.json',
    fileName: (stem) => `${stem}.json`,
    shardName: (_stem, index, count) => `group1-shard${index + 1}of${count}.bin`,
    indexName: (stem) => `${stem}.json`,
    stemOf: (fileName) => (SHARD_NAME.test(fileName) ? undefined : /^(.+)\.json$/i.exec(fileName)?.[1]),
    defaultShardSize: TFJS_DEFAULT_SHARD_BYTES,
    storedBytes: (e) => storedBytes(e, type),
    alwaysIndexed: true,
    noMetadata: 'TF.js weight shard',
    metadata: () => ({}),
    reopen,
    writeChecked: async (entries, sink, sources, removed, reopenWritten, options) => {
      const quantized = new Map<string, WeightQuantization>();
      for (const e of entries) {
        if (!quantizable(e, type)) continue;
        quantized.set(e.name, type === 'float16' ? 'float16' : await affineOf(e, type));
      }
      const specs = entries.map((e) => specOf(e, quantized.get(e.name)));
      const file = sink.name.slice(Math.max(sink.name.lastIndexOf('/'), sink.name.lastIndexOf('\\')) + 1);
      shards.set(file, specs);
      const write = (): Promise<number> => writeData(sink, entries, quantized, options);
      const expected = sources.map((s) => {
        const q = quantized.get(removed.get(s.name) ?? s.name);
        return q === undefined ? s : expectedEntry(s, q);
      });
      return writeThenCheck(
        write,
        sink,
        expected,
        removed,
        () => {
          pending = specs;
          return reopenWritten();
        },
        undefined,
        new Map(),
        options,
      );
    },
    index: (_total, weightMap) => {
      const paths = [...new Set(weightMap.values())];
      const weights = paths.flatMap((p) => {
        const specs = shards.get(p);
        if (specs === undefined) throw new TensorsafeError('InternalError', `model.json: no weights were written to ${p}`, { location: p });
        return specs;
      });
      return new TextEncoder().encode(manifestJson(paths, weights));
    },
    writerOptions: ['quantize'],
    configure: (options: OutputOptions) => tfjsOutputInstance(quantizeType(options.quantize)),
    notes: (kept) => {
      if (type === undefined) return [];
      const n = kept.filter((e) => quantizable(e, type)).length;
      const halves = kept.filter((e) => quantizable(e, type) && e.dtype === 'F16').length;
      const what = type === 'float16' ? 'rounded to nearest even, as NumPy does for tfjs-converter' : "tfjs-converter's affine quantization, its range nudged to hold 0";
      const notes = [`${n} float32 weight${n === 1 ? '' : 's'} quantized to ${type} (derived, lossy: ${what}); the check compares the output with what tfjs-core decodes the quantizer's output to, not with the source's values`];
      if (halves > 0) notes.push(`${halves} of them F16 in the source, widened to float32 first as tfjs-converter does${type === 'float16' ? ' (so written with their bits unchanged: tfjs-core reads them back as float32, exactly)' : ''}`);
      const others = kept.length - n;
      if (others > 0) notes.push(`${others} weight${others === 1 ? '' : 's'} not float32 (or empty) written as ${others === 1 ? 'it is' : 'they are'}, as tfjs-converter leaves them`);
      return notes;
    },
  };
}

/** Streams every weight to the sink, quantized or as it is; progress in source bytes. Returns the bytes written. */
async function writeData(sink: CheckedSink, entries: readonly TensorEntry[], quantized: ReadonlyMap<string, WeightQuantization>, options: OutputWriteOptions): Promise<number> {
  let written = 0;
  let done = options.progressBase;
  for (const e of entries) {
    const q = quantized.get(e.name);
    const ratio = q === undefined ? 1 : e.byteLength / storedBytes(e, q === 'float16' ? 'float16' : q.dtype);
    for await (const chunk of q === undefined ? e.chunks(CHECKED_CHUNK_BYTES) : quantizedChunks(e, q, CHECKED_CHUNK_BYTES)) {
      await sink.write(chunk);
      written += chunk.byteLength;
      done += chunk.byteLength * ratio;
      options.onProgress?.({ bytesDone: Math.min(done, options.progressTotal), bytesTotal: options.progressTotal, tensor: e.name });
    }
  }
  return written;
}

export const tfjsOutput: OutputFormat = tfjsOutputInstance();
