import type { Dtype } from '../../dtype/dtypes.js';
import type { ByteSource } from '../../io/byte-source.js';
import { decodedChunks, type BlockDecoder } from '../../tensor/block-decoder.js';
import { FormatProblem } from '../../io/format-problem.js';
import { readChunks } from '../../io/read-chunks.js';
import { swapChunks } from '../../tensor/byte-swap.js';
import { GGML_BLOCK_FORMATS } from '../../tensor/ggml-blocks.js';
import { DEFAULT_CHUNK_BYTES, type LeftOut, type TensorEntry } from '../../tensor/tensor-set.js';
import type { FormatReader, OpenOptions, ParsedModel } from '../format.js';
import { show } from '../scan-rules.js';
import { GgufError } from './errors.js';
import { readGgufHeader, type GgufHeader, type GgufKeyValue, type GgufTensorInfo, type GgufValue } from './header.js';
import { scanGguf } from './scan-rules.js';

/**
 * GGUF files as TensorSets. Names are kept; shapes are reversed (GGUF lists dimensions innermost
 * first, safetensors row-major, as Hugging Face's loaders map them). F32, F16, BF16, F64, I8, I16,
 * I32 and I64 are read as they are (byte-swapped in a big-endian file); the quantized types of
 * tensor/ggml-blocks.ts are decoded to F32, block by block as they stream. Any other ggml type is
 * refused, naming the type and the tensor. Metadata values become strings in `metadata` (arrays as
 * JSON); arrays longer than MAX_GGUF_KEPT_ARRAY and very long strings are left out and listed.
 */

/** Elements of an array value written into the metadata as JSON; longer ones (vocabularies) are left out. */
export const MAX_GGUF_METADATA_ARRAY = 64;

/** ggml types read as they are: their safetensors dtype and element size. */
const RAW: Readonly<Record<string, readonly [Dtype, number]>> = {
  F32: ['F32', 4], F16: ['F16', 2], BF16: ['BF16', 2], F64: ['F64', 8], I8: ['I8', 1], I16: ['I16', 2], I32: ['I32', 4], I64: ['I64', 8],
};

export const ggufReader: FormatReader<GgufHeader> = {
  async open(source: ByteSource, options?: OpenOptions): Promise<ParsedModel<GgufHeader>> {
    let header: GgufHeader;
    try {
      header = await readGgufHeader(source);
    } catch (e) {
      if (!(e instanceof FormatProblem)) throw e;
      const location = e.offset === undefined ? source.name : `${source.name}@${e.offset}`;
      throw new GgufError(e.kind === 'limit' ? 'GgufLimit' : 'InvalidGguf', `${source.name}: ${e.kind === 'limit' ? '' : 'not a valid GGUF file: '}${e.message}`, { location, cause: e });
    }
    for (const t of header.tensors) checkSize(t, source);
    const tensors = header.tensors.map((t) => tensorEntry(t, header, source, options?.blockDecoder));
    const { metadata, leftOut } = metadataStrings(header.metadata);
    const notes: string[] = [];
    if (!header.littleEndian) notes.push(`a big-endian GGUF v${header.version} file: tensors byte-swapped to little-endian`);
    const decoded = tensors.filter((t) => t.encoding.layout === 'decoded');
    if (decoded.length > 0) notes.push(`${decoded.length} quantized tensors dequantized to F32 (${[...new Set(decoded.map((t) => t.encoding.decoder))].join(', ')})`);
    return {
      tensors: { format: 'gguf', tensors, metadata, leftOut, notes, close: async () => source.close?.() },
      structure: header,
    };
  },
  scan: (source, ctx, parsed) => scanGguf(source, ctx, parsed?.structure),
};

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
  const raw = RAW[t.typeName];
  if (raw !== undefined) {
    const [dtype, unit] = raw;
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

/** Scalars (and short arrays, as JSON) as strings; the rest left out, listed. */
function metadataStrings(kvs: readonly GgufKeyValue[]): { metadata: Record<string, string>; leftOut: LeftOut[] } {
  const metadata: Record<string, string> = {};
  const leftOut: LeftOut[] = [];
  for (const kv of kvs) {
    if (kv.type === 'ARRAY') {
      if (kv.value !== undefined && (kv.length ?? 0) <= MAX_GGUF_METADATA_ARRAY) metadata[kv.key] = JSON.stringify(kv.value, jsonValue);
      else leftOut.push({ path: kv.key, what: `array of ${kv.length} ${kv.elementType}` });
    } else if (kv.value === undefined) {
      leftOut.push({ path: kv.key, what: `string of ${kv.length} bytes` });
    } else {
      metadata[kv.key] = String(kv.value);
    }
  }
  return { metadata, leftOut };
}

function jsonValue(_key: string, v: GgufValue): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}
