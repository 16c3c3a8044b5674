import type { Dtype } from '../dtype/dtypes.js';
import { TensorsafeError } from '../errors.js';
import type { ByteSource } from '../io/byte-source.js';
import { GGML_BLOCK_FORMATS } from '../tensor/ggml-blocks.js';
import { ENCODABLE_DTYPES, GGML_QUANTIZERS, encodedChunks, type GgmlQuantizer } from '../tensor/ggml-quantize.js';
import { GGML_MAX_DIMS, GGML_MAX_NAME_BYTES, GGML_PLAIN_TYPE_IDS, GGUF_DEFAULT_ALIGNMENT, GGUF_VALUE_BYTES, GGUF_VALUE_TYPES } from '../tensor/gguf-types.js';
import { entriesFromMetadata, entriesFromSidecar, ggufElementType, GGUF_TYPES_KEY, type GgufEntry, type GgufMetadataValue } from '../tensor/gguf-metadata.js';
import type { TensorEntry, TensorSet } from '../tensor/tensor-set.js';
import type { OutputFormat, OutputOptions, OutputWriteOptions } from './output-format.js';
import { CHECKED_CHUNK_BYTES, type CheckedSink, type WrittenFile } from './write-checked.js';
import { openWritten, writeThenCheck } from './write-then-check.js';

/**
 * GGUF (version 3, little-endian) as the pipeline's output: one file, as llama.cpp loads it. Tensor
 * names are kept; shapes are reversed (GGUF lists dimensions innermost first); data aligned to
 * GGUF_ALIGNMENT (also written as general.alignment). Metadata: general.architecture (--arch, else
 * the source's), then the source's keys typed by the convention of tensor/gguf-metadata.ts (and its
 * sidecar's), then tensorsafe's records as STRINGs. safetensors' `format` key, an earlier
 * `tensorsafe.*` record and the source's general.alignment are not carried over.
 *
 * `--quantize` (GgmlQuantizer, tensor/ggml-quantize.ts): f32/f16/bf16 convert every F32, F16 and
 * BF16 tensor; q8_0/q4_0/q4_k quantize the float tensors of 2 or more dimensions whose rows (ne0)
 * are a whole number of blocks, as llama.cpp does; the others (norms, biases, odd rows) and the
 * integer tensors are written as they are. The check: the file is read back by the GGUF reader and
 * every tensor compared, bit for bit, with what its source becomes: the source itself when written
 * as it is; the encoder's output (F16, BF16), or that output decoded as the reader decodes it (the
 * quantized types), when derived. The encoder runs again on a fresh read of the source for it.
 */

/** The alignment of tensor data written (ggml's default; also written as general.alignment). */
export const GGUF_ALIGNMENT = GGUF_DEFAULT_ALIGNMENT;
/** The GGUF reader's MAX_GGUF_KEY_BYTES (formats/gguf/limits.ts; the layers keep convert/ from importing it): a longer key is refused on reading. */
const MAX_GGUF_KEY_BYTES = 65_535;
/** The GGUF reader's MAX_GGUF_ARRAY_LENGTH: a longer array is refused on reading, so it is refused before writing. */
const MAX_GGUF_ARRAY_LENGTH = 4_194_304;

const encoder = new TextEncoder();
const tensors = (n: number, what = 'tensor'): string => `${n} ${what}${n === 1 ? '' : 's'}`;

/** How one tensor is written. */
interface TensorPlan {
  readonly typeId: number;
  readonly typeName: string;
  /** Bytes in the file. */
  readonly bytes: number;
  /** Present when the tensor is encoded (converted or quantized) rather than written as it is. */
  readonly encoder?: GgmlQuantizer;
  /** Why a tensor --quantize names was written as it is. */
  readonly kept?: string;
}

interface Settings {
  readonly quantize?: GgmlQuantizer;
  readonly arch?: string;
  /** The source's (and its sidecar's) keys to write, without the ones this writer sets. */
  readonly entries: readonly GgufEntry[];
  readonly sidecar?: { readonly name: string; readonly keys: number };
  /** Keys not written (arrays of arrays, which ggml refuses), with their types. */
  readonly leftOut: readonly string[];
}

function usage(message: string, location?: string): TensorsafeError {
  return new TensorsafeError('UsageError', message, { location });
}

function elementsOf(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

/** How `e` is written, or why it cannot be (a name too long, too many dimensions, a dtype GGUF lacks). */
function planTensor(e: TensorEntry, quantize: GgmlQuantizer | undefined): TensorPlan {
  const nameBytes = encoder.encode(e.name).length;
  if (nameBytes >= GGML_MAX_NAME_BYTES) {
    throw new TensorsafeError('InvalidTensorName', `tensor \`${e.name}\`: its name is ${nameBytes} bytes, and ggml refuses names of ${GGML_MAX_NAME_BYTES} bytes or more (GGML_MAX_NAME); rename it or write safetensors`, { location: e.name });
  }
  // ggml reads names as C strings: a NUL would make the name another tensor's, or cut it.
  if (e.name.includes('\0')) {
    throw new TensorsafeError('InvalidTensorName', `tensor ${JSON.stringify(e.name)}: its name holds a NUL byte, and ggml reads names only up to the first one; rename it or write safetensors`, { location: e.name });
  }
  if (e.shape.length > GGML_MAX_DIMS) {
    throw new TensorsafeError('InvalidShape', `tensor \`${e.name}\` has ${e.shape.length} dimensions [${e.shape.join(', ')}], and ggml holds at most ${GGML_MAX_DIMS} (GGML_MAX_DIMS)`, { location: e.name });
  }
  const plainId = GGML_PLAIN_TYPE_IDS.get(e.dtype);
  if (plainId === undefined) {
    throw new TensorsafeError('UnsupportedTensor', `tensor \`${e.name}\` is ${e.dtype}, which GGUF has no type for (it holds ${[...GGML_PLAIN_TYPE_IDS.keys()].join(', ')} and ggml's quantized types)`, { location: e.name });
  }
  const asIs: TensorPlan = { typeId: plainId, typeName: e.dtype, bytes: e.byteLength };
  if (quantize === undefined || !ENCODABLE_DTYPES.has(e.dtype) || quantize.typeName === e.dtype) return asIs;
  const elements = elementsOf(e.shape);
  const encoded: TensorPlan = { typeId: quantize.typeId, typeName: quantize.typeName, bytes: (elements / quantize.elements) * quantize.bytes, encoder: quantize };
  if (quantize.elements === 1) return encoded;
  if (e.shape.length < 2) return { ...asIs, kept: '1-D' };
  const rowLength = e.shape[e.shape.length - 1]!;
  if (rowLength % quantize.elements !== 0) return { ...asIs, kept: `rows of ${rowLength}, not a whole number of ${quantize.elements}-element blocks` };
  return encoded;
}

const typeId = (type: string): number => (GGUF_VALUE_TYPES as readonly string[]).indexOf(type);

/** GGUF's bytes, appended to one growing buffer (the header: metadata and tensor descriptions). */
class HeaderBytes {
  private buf = new Uint8Array(4096);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private room(n: number): number {
    if (this.length + n > this.buf.length) {
      const grown = new Uint8Array(Math.max(this.length + n, this.buf.length * 2));
      grown.set(this.buf.subarray(0, this.length));
      this.buf = grown;
      this.view = new DataView(grown.buffer);
    }
    const at = this.length;
    this.length += n;
    return at;
  }
  bytes(b: Uint8Array): void {
    const at = this.room(b.length); // first: room() may replace the buffer
    this.buf.set(b, at);
  }
  // Each write takes its room first: room() may replace the buffer and its view.
  u8(v: number): void {
    const at = this.room(1);
    this.view.setUint8(at, v);
  }
  u32(v: number): void {
    const at = this.room(4);
    this.view.setUint32(at, v, true);
  }
  u64(v: number | bigint): void {
    const at = this.room(8);
    this.view.setBigUint64(at, BigInt(v), true);
  }
  string(s: string): void {
    const b = encoder.encode(s);
    this.u64(b.length);
    this.bytes(b);
  }
  scalar(type: string, v: GgufMetadataValue): void {
    if (type === 'STRING') return this.string(v as string);
    const size = GGUF_VALUE_BYTES[typeId(type)];
    if (!size) throw new Error(`no GGUF scalar type ${type}`);
    const at = this.room(size);
    const view = this.view;
    switch (type) {
      case 'UINT8': view.setUint8(at, v as number); break;
      case 'INT8': view.setInt8(at, v as number); break;
      case 'UINT16': view.setUint16(at, v as number, true); break;
      case 'INT16': view.setInt16(at, v as number, true); break;
      case 'UINT32': view.setUint32(at, v as number, true); break;
      case 'INT32': view.setInt32(at, v as number, true); break;
      case 'FLOAT32': view.setFloat32(at, v as number, true); break;
      case 'BOOL': view.setUint8(at, v ? 1 : 0); break;
      case 'UINT64': view.setBigUint64(at, v as bigint, true); break;
      case 'INT64': view.setBigInt64(at, v as bigint, true); break;
      case 'FLOAT64': view.setFloat64(at, v as number, true); break;
    }
  }
  pad(alignment: number): void {
    this.room((alignment - (this.length % alignment)) % alignment); // zeros: the buffer grows zeroed
  }
  done(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

/** One key-value pair. ggml refuses arrays of arrays: they were refused when the entries were made. */
function writeEntry(h: HeaderBytes, e: GgufEntry): void {
  h.string(e.key);
  const inner = ggufElementType(e.type);
  if (inner === undefined) {
    h.u32(typeId(e.type));
    h.scalar(e.type, e.value);
    return;
  }
  const values = e.value as GgufMetadataValue[];
  h.u32(typeId('ARRAY'));
  h.u32(typeId(inner));
  h.u64(values.length);
  for (const v of values) h.scalar(inner, v);
}

/** The header: magic, version 3, counts, the key-value pairs, each tensor's description, padded to the data. */
function headerBytes(entries: readonly GgufEntry[], tensors: readonly TensorEntry[], plans: readonly TensorPlan[]): Uint8Array {
  const h = new HeaderBytes();
  h.bytes(encoder.encode('GGUF'));
  h.u32(3);
  h.u64(tensors.length);
  h.u64(entries.length);
  for (const e of entries) writeEntry(h, e);
  let offset = 0;
  for (const [i, t] of tensors.entries()) {
    h.string(t.name);
    h.u32(t.shape.length);
    for (const d of [...t.shape].reverse()) h.u64(d);
    h.u32(plans[i]!.typeId);
    h.u64(offset);
    offset += padded(plans[i]!.bytes);
  }
  h.pad(GGUF_ALIGNMENT);
  return h.done();
}

const padded = (n: number): number => Math.ceil(n / GGUF_ALIGNMENT) * GGUF_ALIGNMENT;

/** What a reader of the file gets for `source` written by `plan`: itself, or its encoder's output (decoded, for the quantized types). */
function expectedEntry(source: TensorEntry, plan: TensorPlan): TensorEntry {
  const q = plan.encoder;
  if (q === undefined) return source;
  const elements = elementsOf(source.shape);
  const blocks = q.elements === 1 ? undefined : GGML_BLOCK_FORMATS.get(q.typeName)!;
  return {
    name: source.name,
    shape: source.shape,
    dtype: blocks ? 'F32' : (q.typeName as Dtype),
    byteLength: blocks ? elements * 4 : elements * q.bytes,
    fidelity: 'derived',
    encoding: { layout: 'decoded', decoder: q.typeName.toLowerCase() },
    ...(source.aliasKey !== undefined ? { aliasKey: source.aliasKey } : {}),
    chunks: (chunkBytes = CHECKED_CHUNK_BYTES) => encodedChunks(source, q, chunkBytes, blocks),
  };
}

/** The key-value pairs of the file: general.architecture and general.alignment first, the records last (as STRINGs). */
function fileEntries(settings: Settings, records: Record<string, string>): GgufEntry[] {
  if (settings.arch === undefined) {
    throw usage('a GGUF file names its model architecture (general.architecture), and the source does not: pass --arch NAME (llama, qwen2, gemma, bert, …)');
  }
  return [
    { key: 'general.architecture', type: 'STRING', value: settings.arch },
    { key: 'general.alignment', type: 'UINT32', value: GGUF_ALIGNMENT },
    ...settings.entries.filter((e) => !Object.hasOwn(records, e.key)), // own keys only: `constructor` is a key like any other
    ...Object.entries(records).map(([key, value]): GgufEntry => ({ key, type: 'STRING', value })),
  ];
}

/** Streams the tensors after the header, each encoded or as it is, padded to the alignment; progress in source bytes. */
async function writeData(sink: CheckedSink, entries: readonly TensorEntry[], plans: readonly TensorPlan[], options: OutputWriteOptions): Promise<number> {
  let written = 0;
  let done = options.progressBase;
  const zeros = new Uint8Array(GGUF_ALIGNMENT);
  for (const [i, entry] of entries.entries()) {
    const plan = plans[i]!;
    const chunks = plan.encoder ? encodedChunks(entry, plan.encoder, CHECKED_CHUNK_BYTES) : entry.chunks(CHECKED_CHUNK_BYTES);
    let bytes = 0;
    for await (const chunk of chunks) {
      await sink.write(chunk);
      bytes += chunk.byteLength;
      const share = Math.round((chunk.byteLength / plan.bytes) * entry.byteLength);
      done += share;
      options.onProgress?.({ bytesDone: Math.min(done, options.progressTotal), bytesTotal: options.progressTotal, tensor: entry.name });
    }
    if (bytes !== plan.bytes) throw new TensorsafeError('InternalError', `tensor \`${entry.name}\`: ${bytes} bytes were produced, ${plan.bytes} planned`, { location: entry.name });
    const pad = padded(bytes) - bytes;
    if (pad > 0) await sink.write(zeros.subarray(0, pad));
    written += bytes + pad;
  }
  return written;
}

/** The source's keys to carry over: not the ones this writer sets, not safetensors' `format`, not an earlier tensorsafe record. */
const notCarried = (key: string): boolean => key === 'format' || key === 'general.alignment' || key === 'general.architecture' || key.startsWith('tensorsafe.');

/** ggml refuses a file holding an array of arrays (the GGUF spec allows them): such keys are left out, and the summary says so. */
const nested = (e: GgufEntry): boolean => ggufElementType(ggufElementType(e.type) ?? '') !== undefined;

/**
 * A key-value pair the GGUF reader (and ggml) would refuse, refused before anything is written: an empty
 * key, a key past MAX_GGUF_KEY_BYTES, an array past MAX_GGUF_ARRAY_LENGTH (a sidecar can hold any).
 */
function checkEntry(e: GgufEntry, where: string): void {
  const refuse = (why: string): never => {
    throw new TensorsafeError('InvalidGgufMetadata', `${where}: ${why}; a GGUF reader refuses it, and nothing was written`, { location: e.key === '' ? where : e.key });
  };
  if (e.key === '') refuse('a key is empty');
  const keyBytes = encoder.encode(e.key).length;
  if (keyBytes > MAX_GGUF_KEY_BYTES) refuse(`a key is ${keyBytes} bytes long, more than MAX_GGUF_KEY_BYTES (${MAX_GGUF_KEY_BYTES})`);
  if (Array.isArray(e.value) && e.value.length > MAX_GGUF_ARRAY_LENGTH) refuse(`the array ${JSON.stringify(e.key)} has ${e.value.length} elements, more than MAX_GGUF_ARRAY_LENGTH (${MAX_GGUF_ARRAY_LENGTH})`);
}

function settingsOf(options: OutputOptions): Settings {
  const quantize = options.quantize === undefined ? undefined : GGML_QUANTIZERS.get(options.quantize.toLowerCase());
  if (options.quantize !== undefined && quantize === undefined) throw usage(`--quantize ${options.quantize}: --to gguf takes ${[...GGML_QUANTIZERS.keys()].join(', ')}`, options.quantize);
  const metadata = options.sourceMetadata ?? {};
  const fromMetadata = entriesFromMetadata(metadata, notCarried);
  const seen = new Set(fromMetadata.map((e) => e.key));
  let sidecar: Settings['sidecar'];
  const fromSidecar: GgufEntry[] = [];
  if (options.sidecar) {
    const listed = entriesFromSidecar(options.sidecar.text, options.sidecar.name);
    // The file's own metadata wins over the sidecar for a key both hold.
    for (const e of listed) {
      if (seen.has(e.key) || notCarried(e.key)) continue;
      fromSidecar.push(e);
      seen.add(e.key);
    }
    sidecar = { name: options.sidecar.name, keys: fromSidecar.length };
  }
  const arch = options.arch ?? metadata['general.architecture'];
  if (arch !== undefined && arch.trim() === '') throw usage('--arch needs a name (llama, qwen2, gemma, bert, …)');
  const all = [...fromMetadata, ...fromSidecar];
  for (const e of all) checkEntry(e, fromSidecar.includes(e) ? options.sidecar!.name : 'the metadata');
  const leftOut = all.filter(nested).map((e) => `${e.key} (${e.type})`);
  return { ...(quantize ? { quantize } : {}), ...(arch !== undefined ? { arch } : {}), entries: all.filter((e) => !nested(e)), ...(sidecar ? { sidecar } : {}), leftOut };
}

/** A read-back's tensors (as reopenGguf gives them) → every metadata key the reader read from the file, left out and sidecar keys included. */
const keysAsRead = new WeakMap<TensorSet, ReadonlySet<string>>();

/** A written GGUF parsed again by the GGUF reader; its metadata as the pipeline checks it: the records only (the model's keys are checked by writeChecked, through keysAsRead). */
async function reopenGguf(source: ByteSource, modelKeys: ReadonlySet<string>): Promise<WrittenFile> {
  const { tensors } = await openWritten('gguf', source);
  const metadata = Object.fromEntries(Object.entries(tensors.metadata ?? {}).filter(([k]) => !modelKeys.has(k) && k !== GGUF_TYPES_KEY));
  const seen = Object.create(tensors, { metadata: { value: metadata, enumerable: true } }) as TensorSet;
  keysAsRead.set(seen, new Set([...Object.keys(tensors.metadata ?? {}), ...tensors.leftOut.map((l) => l.path), ...(tensors.companions ?? []).flatMap((c) => c.keys)]));
  return { tensors: seen, dataStart: 0, endOf: () => source.size, close: () => tensors.close() };
}

function ggufOutputWith(settings: Settings): OutputFormat {
  const modelKeys = new Set(['general.architecture', 'general.alignment', ...settings.entries.map((e) => e.key)]);
  const refuseSharding = (): never => {
    throw usage('a GGUF output is one file: --max-shard-size does not apply (ggml\'s split format is not written)', 'gguf');
  };
  return {
    id: 'gguf',
    extension: '.gguf',
    oneFile: true,
    typedMetadata: true,
    fileName: (stem) => `${stem}.gguf`,
    shardName: refuseSharding,
    indexName: (stem) => `${stem}.gguf.index.json`,
    stemOf: (fileName) => /^(.+)\.gguf$/i.exec(fileName)?.[1],
    writerOptions: ['quantize', 'arch'],
    configure: (options) => ggufOutputWith(settingsOf(options)),
    metadata: (_framework, removed, records) => ({ ...Object.fromEntries(removed), ...records }),
    reopen: (source) => reopenGguf(source, modelKeys),
    index: refuseSharding,
    notes: (kept) => {
      const notes: string[] = [];
      if (settings.leftOut.length > 0) notes.push(`GGUF metadata left out, as ggml refuses arrays of arrays: ${settings.leftOut.join(', ')}`);
      if (settings.sidecar) notes.push(`${settings.sidecar.keys} GGUF metadata keys restored from ${settings.sidecar.name}`);
      const q = settings.quantize;
      if (q === undefined) return notes;
      const plans = kept.map((e) => planTensor(e, q));
      const encoded = plans.filter((p) => p.encoder).length;
      if (encoded > 0) {
        notes.push(
          q.elements === 1
            ? `${tensors(encoded)} converted to ${q.typeName} (${q.typeName === 'F32' ? 'lossless: widened exactly' : 'derived: rounded to nearest even'}); the check compares the file with the conversion of the source`
            : `${tensors(encoded)} quantized to ${q.typeName} (derived, lossy: ggml's reference quantizer); the check compares the file with the quantizer's output for the source, not with the source's values`,
        );
      }
      const keptAsIs = kept.map((e, i) => [e, plans[i]!] as const).filter(([, p]) => p.kept !== undefined);
      if (keptAsIs.length > 0) {
        const odd = keptAsIs.filter(([, p]) => p.kept !== '1-D');
        notes.push(`${tensors(keptAsIs.length, 'float tensor')} not quantized, written as they are (${keptAsIs.length - odd.length} 1-D: norms and biases, as llama.cpp keeps them)${odd.length > 0 ? `; ${odd.slice(0, 5).map(([e, p]) => `${e.name}: ${p.kept}`).join('; ')}${odd.length > 5 ? '; …' : ''}` : ''}`);
      }
      return notes;
    },
    writeChecked: async (entries, sink, sources, removed, reopen, options) => {
      const kvs = fileEntries(settings, options.metadata);
      const plans = entries.map((e) => planTensor(e, settings.quantize));
      const planOf = new Map(entries.map((e, i) => [e.name, plans[i]!]));
      const expected = sources.map((s) => expectedEntry(s, planOf.get(removed.get(s.name) ?? s.name) ?? planTensor(s, settings.quantize)));
      const header = headerBytes(kvs, entries, plans);
      // The model's keys are not in the pipeline's metadata check (reopen leaves them out): each must be in the file as the reader reads it.
      const missing: string[] = [];
      const reopenAndSee = async (): Promise<WrittenFile> => {
        const file = await reopen();
        const present = keysAsRead.get(file.tensors) ?? new Set();
        missing.push(...kvs.filter((e) => modelKeys.has(e.key) && !present.has(e.key)).map((e) => e.key));
        return file;
      };
      const write = async (): Promise<number> => {
        options.afterHeader?.(header);
        for (let at = 0; at < header.length; at += CHECKED_CHUNK_BYTES) await sink.write(header.subarray(at, Math.min(header.length, at + CHECKED_CHUNK_BYTES)));
        return header.length + (await writeData(sink, entries, plans, options));
      };
      const checked = await writeThenCheck(write, sink, expected, removed, reopenAndSee, undefined, undefined, options);
      for (const key of missing) checked.mismatches.push({ name: key, reason: `the metadata key \`${key}\` is not in the file as the reader reads it` });
      return checked;
    },
  };
}

/** GGUF as an output, before its options are given (`configure`): a write without them asks for --arch. */
export const ggufOutput: OutputFormat = ggufOutputWith({ entries: [], leftOut: [] });
