import type { Dtype } from '../../dtype/dtypes.js';
import type { ByteSource } from '../../io/byte-source.js';
import { decodedChunks, type BlockDecoder } from '../../tensor/block-decoder.js';
import { FormatProblem } from '../../io/format-problem.js';
import { readChunks } from '../../io/read-chunks.js';
import { swapChunks } from '../../tensor/byte-swap.js';
import { GGML_BLOCK_FORMATS } from '../../tensor/ggml-blocks.js';
import { GGML_PLAIN_TYPE_IDS, GGML_TYPES } from '../../tensor/gguf-types.js';
import { GGUF_SIDECAR_SUFFIX, GGUF_SIDECAR_TAIL, GGUF_TYPES_KEY, ggufSidecarHead, ggufSidecarMember, ggufTypesText, ggufValueText, MAX_GGUF_METADATA_ARRAY, MAX_GGUF_METADATA_STRING, MAX_GGUF_SIDECAR_BYTES } from '../../tensor/gguf-metadata.js';
import { DEFAULT_CHUNK_BYTES, type Companion, type LeftOut, type TensorEntry } from '../../tensor/tensor-set.js';
import type { FormatReader, OpenOptions, ParsedModel } from '../format.js';
import { show } from '../scan-rules.js';
import { GgufError } from './errors.js';
import { readGgufHeader, readGgufValue, type GgufHeader, type GgufKeyValue, type GgufTensorInfo } from './header.js';
import { scanGguf } from './scan-rules.js';
import { describeGguf } from './view.js';

/**
 * GGUF files as TensorSets. Names are kept; shapes are reversed (GGUF lists dimensions innermost
 * first, safetensors row-major, as Hugging Face's loaders map them). F32, F16, BF16, F64, I8, I16,
 * I32 and I64 are read as they are (byte-swapped in a big-endian file); the quantized types of
 * tensor/ggml-blocks.ts (every ggml type with a to_float: Q*, K, IQ*, TQ*, MXFP4, NVFP4, Q1_0, Q2_0)
 * are decoded to F32, block by block as they stream, bit for bit as libggml does. Any other ggml type
 * (Q8_1, Q8_K: ggml cannot dequantize them either) is refused, naming the type and the tensor.
 * Metadata is kept as tensor/gguf-metadata.ts says: values as strings in `metadata` with `gguf.types`
 * naming their types; long arrays (vocabularies) and long strings in a sidecar, a companion file the
 * conversion writes beside its output.
 */

export const ggufReader: FormatReader<GgufHeader> = {
  async open(source: ByteSource, options?: OpenOptions): Promise<ParsedModel<GgufHeader>> {
    let header: GgufHeader;
    try {
      header = await readGgufHeader(source);
    } catch (e) {
      throw problemError(e, source);
    }
    for (const t of header.tensors) checkSize(t, source);
    const tensors = header.tensors.map((t) => tensorEntry(t, header, source, options?.blockDecoder));
    const { metadata, sidecar, leftOut } = metadataStrings(header.metadata);
    const notes: string[] = [];
    if (!header.littleEndian) notes.push(`a big-endian GGUF v${header.version} file: tensors byte-swapped to little-endian`);
    const lossy = header.metadata.filter((kv) => kv.lossy).map((kv) => kv.key);
    if (lossy.length > 0) notes.push(lossyNote(lossy));
    const decoded = tensors.filter((t) => t.encoding.layout === 'decoded');
    if (decoded.length > 0) notes.push(`${decoded.length} quantized ${decoded.length === 1 ? 'tensor' : 'tensors'} dequantized to F32 (${[...new Set(decoded.map((t) => t.encoding.decoder))].join(', ')})`);
    return {
      tensors: { format: 'gguf', tensors, metadata, leftOut, notes, ...(sidecar.length > 0 ? { companions: [sidecarCompanion(sidecar, header, source, notes)] } : {}), close: async () => source.close?.() },
      structure: header,
    };
  },
  scan: (source, ctx, parsed) => scanGguf(source, ctx, parsed?.structure),
  describe: (parsed) => describeGguf(parsed.structure),
};

/** What the summary says of metadata strings that are not valid UTF-8 (GGUF says they are; llama.cpp keeps their bytes). */
function lossyNote(keys: readonly string[]): string {
  return `metadata ${keys.join(', ')}: not valid UTF-8; the bad bytes are U+FFFD in the output`;
}

/** A FormatProblem of the parse as a coded error (anything else as it is). */
function problemError(e: unknown, source: ByteSource): unknown {
  if (!(e instanceof FormatProblem)) return e;
  const location = e.locationIn(source.name);
  return new GgufError(e.kind === 'limit' ? 'GgufLimit' : 'InvalidGguf', `${source.name}: ${e.kind === 'limit' ? '' : 'not a valid GGUF file: '}${e.message}`, { location, cause: e });
}

/** What ggml allows and a TensorSet cannot hold: dimensions and decoded sizes past JavaScript's exact integers. */
function checkSize(t: GgufTensorInfo, source: ByteSource): void {
  const refuse = (message: string): never => {
    throw new GgufError('InvalidGguf', `${source.name}: not a valid GGUF file: ${message}`, { location: `${source.name}@${t.at}` });
  };
  const big = t.ne.findIndex((v) => v > BigInt(Number.MAX_SAFE_INTEGER));
  if (big >= 0) refuse(`dimension ${big} of tensor ${show(t.name)} is ${t.ne[big]}, larger than any file`);
  // Decoded tensors are float32: the output, not only the stored bytes, must be a size a file can have.
  if (t.elements * 4n > BigInt(Number.MAX_SAFE_INTEGER)) refuse(`tensor ${show(t.name)} needs ${t.bytes} bytes (${t.elements} elements), more than the whole file`);
}

function tensorEntry(t: GgufTensorInfo, header: GgufHeader, source: ByteSource, decoder: BlockDecoder | undefined): TensorEntry {
  const shape = t.ne.map(Number).reverse();
  const where = `${source.name}: tensor ${show(t.name)}`;
  if (GGML_PLAIN_TYPE_IDS.has(t.typeName)) {
    // Read as it is: the safetensors dtype of the same name; a block of one element is one element's bytes.
    const dtype = t.typeName as Dtype;
    const unit = GGML_TYPES.get(t.type)![1];
    const swap = !header.littleEndian && unit > 1 ? unit : 0;
    const step = (chunkBytes: number): number => Math.max(unit, Math.floor(chunkBytes / unit) * unit);
    return {
      name: t.name, dtype, shape, byteLength: t.bytes, fidelity: 'exact',
      encoding: swap ? { layout: 'stored', byteSwap: swap } : { layout: 'stored' },
      chunks: (chunkBytes = DEFAULT_CHUNK_BYTES) => swapChunks(readChunks(source, t.offset, t.bytes, step(chunkBytes)), swap),
    };
  }
  const format = GGML_BLOCK_FORMATS.get(t.typeName);
  if (format === undefined) {
    throw new GgufError('UnsupportedTensor', `${where} has ggml type ${t.typeName} (${t.type}), which this reader does not decode yet; nothing is converted`, { location: `${source.name}@${t.at}` });
  }
  if (!header.littleEndian) {
    throw new GgufError('UnsupportedTensor', `${where}: ${t.typeName} blocks in a big-endian file have no agreed byte order; nothing is converted`, { location: `${source.name}@${t.at}` });
  }
  return {
    name: t.name, dtype: 'F32', shape, byteLength: Number(t.elements) * 4, fidelity: 'derived',
    encoding: { layout: 'decoded', decoder: t.typeName.toLowerCase() },
    chunks: (chunkBytes = DEFAULT_CHUNK_BYTES) => decodedChunks(source, t.offset, t.bytes, t.typeName, format, chunkBytes, decoder),
  };
}

/**
 * The metadata as tensor/gguf-metadata.ts keeps it: each scalar and short array a string under its key,
 * `gguf.types` naming their types; long arrays and strings (and a key named `gguf.types` itself) in
 * the sidecar. What the convention cannot name (an array of arrays that differ in type, or of none) is
 * left out, listed.
 */
function metadataStrings(kvs: readonly GgufKeyValue[]): { metadata: Record<string, string>; sidecar: GgufKeyValue[]; leftOut: LeftOut[] } {
  // Without a prototype: a key named `__proto__` is a key like any other, not lost to Object.prototype's setter.
  const metadata: Record<string, string> = Object.create(null);
  const types: Record<string, string> = Object.create(null);
  const sidecar: GgufKeyValue[] = [];
  const leftOut: LeftOut[] = [];
  for (const kv of kvs) {
    const type = kv.type === 'ARRAY' ? kv.typeName : kv.type;
    if (type === undefined) {
      leftOut.push({ path: kv.key, what: `array of ${kv.length} arrays${kv.length ? ' of different types' : ''} (the metadata convention has no type name for it)` });
    } else if (kv.value === undefined || kv.key === GGUF_TYPES_KEY || (kv.type === 'ARRAY' && kv.length! > MAX_GGUF_METADATA_ARRAY) || (kv.type === 'STRING' && kv.length! > MAX_GGUF_METADATA_STRING)) {
      sidecar.push(kv);
    } else {
      metadata[kv.key] = ggufValueText(type, kv.value);
      types[kv.key] = type;
    }
  }
  if (Object.keys(types).length > 0) metadata[GGUF_TYPES_KEY] = ggufTypesText(types);
  return { metadata, sidecar, leftOut };
}

/** The sidecar of the long values: each read again from the source when the conversion writes it, within MAX_GGUF_SIDECAR_BYTES. */
function sidecarCompanion(kvs: readonly GgufKeyValue[], header: GgufHeader, source: ByteSource, notes: string[]): Companion {
  return {
    suffix: GGUF_SIDECAR_SUFFIX,
    keys: kvs.map((kv) => kv.key),
    what: `metadata: ${kvs.length} large value${kvs.length === 1 ? '' : 's'}`,
    async bytes(sourceName) {
      const encoder = new TextEncoder();
      const pieces = [encoder.encode(ggufSidecarHead(sourceName))];
      let total = pieces[0]!.length;
      for (const [i, kv] of kvs.entries()) {
        const tooLarge = (): never => {
          throw new GgufError('GgufLimit', `${source.name}: the metadata value ${show(kv.key)} takes the sidecar past MAX_GGUF_SIDECAR_BYTES (${MAX_GGUF_SIDECAR_BYTES} bytes); nothing was converted`, { location: `${source.name}@${kv.at}` });
        };
        let value = kv.value;
        if (value === undefined) {
          try {
            const read = await readGgufValue(source, header, kv, MAX_GGUF_SIDECAR_BYTES);
            value = read.value;
            if (read.lossy) notes.push(lossyNote([kv.key]));
          } catch (e) {
            if (e instanceof FormatProblem && e.kind === 'limit') tooLarge();
            throw problemError(e, source);
          }
        }
        const piece = encoder.encode((i > 0 ? ',' : '') + ggufSidecarMember(kv.key, kv.type === 'ARRAY' ? kv.typeName! : kv.type, value));
        total += piece.length;
        if (total > MAX_GGUF_SIDECAR_BYTES) tooLarge();
        pieces.push(piece);
      }
      pieces.push(encoder.encode(GGUF_SIDECAR_TAIL));
      return pieces;
    },
  };
}
