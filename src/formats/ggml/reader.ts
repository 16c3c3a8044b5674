import type { Dtype } from '../../dtype/dtypes.js';
import type { ByteSource } from '../../io/byte-source.js';
import { FormatProblem } from '../../io/format-problem.js';
import { readChunks } from '../../io/read-chunks.js';
import { DEFAULT_CHUNK_BYTES, type TensorEntry } from '../../tensor/tensor-set.js';
import type { FormatReader, ParsedModel } from '../format.js';
import { show } from '../scan-rules.js';
import { GgmlError } from './errors.js';
import { ggmlVersionName, readGgmlHeader, type GgmlFile, type GgmlTensorInfo } from './header.js';
import { scanGgml } from './scan-rules.js';
import { describeGgml } from './view.js';

/**
 * Legacy GGML files (ggml, ggmf, ggjt) as TensorSets. Names are kept; shapes are reversed (ne is stored
 * innermost first), as for GGUF. F32 and F16 tensors are read as they are. Quantized tensors are
 * refused, naming the tensor, its type and the file's version: their blocks changed between versions
 * (ggjt v2 changed the bit order, v3 the scales' width), and llama.cpp's own tools convert them to
 * GGUF. The hyperparameters become metadata (`ggml.*`); the vocabulary is left out, listed.
 */

/** ggml types read as they are: their safetensors dtype and element size. */
const RAW: Readonly<Record<string, readonly [Dtype, number]>> = { F32: ['F32', 4], F16: ['F16', 2] };

export const ggmlReader: FormatReader<GgmlFile> = {
  async open(source: ByteSource): Promise<ParsedModel<GgmlFile>> {
    let file: GgmlFile;
    try {
      file = await readGgmlHeader(source);
    } catch (e) {
      if (!(e instanceof FormatProblem)) throw e;
      const location = e.offset === undefined ? source.name : `${source.name}@${e.offset}`;
      throw new GgmlError(e.kind === 'limit' ? 'GgmlLimit' : 'InvalidGgml', `${source.name}: ${e.kind === 'limit' ? '' : 'not a valid legacy GGML file: '}${e.message}`, { location, cause: e });
    }
    const quantized = file.stoppedAt ?? file.tensors.find((t) => RAW[t.typeName] === undefined);
    if (quantized !== undefined) refuseQuantized(file, quantized, source);
    const tensors = file.tensors.map((t) => tensorEntry(t, source));
    const h = file.hparams;
    const metadata: Record<string, string> = {
      'ggml.format': ggmlVersionName(file),
      'ggml.n_vocab': String(h.nVocab), 'ggml.n_embd': String(h.nEmbd), 'ggml.n_mult': String(h.nMult), 'ggml.n_head': String(h.nHead),
      'ggml.n_layer': String(h.nLayer), 'ggml.n_rot': String(h.nRot), 'ggml.ftype': String(h.ftype),
    };
    const leftOut = file.vocab.entries > 0 ? [{ path: 'vocabulary', what: `${file.vocab.entries} tokens${file.vocab.scored ? ' with scores' : ''} (${file.vocab.end - file.vocab.start} bytes)` }] : [];
    return {
      tensors: { format: 'ggml', tensors, metadata, leftOut, notes: [`a legacy GGML file (${ggmlVersionName(file)}), read as llama.cpp's llama layout`], close: async () => source.close?.() },
      structure: file,
    };
  },
  // An earlier parse is checked instead of parsing again, when it is this format's (another's structure is not taken for one).
  scan: (source, ctx, parsed) => scanGgml(source, ctx, isGgmlFile(parsed?.structure) ? parsed.structure : undefined),
  describe: (parsed) => describeGgml(parsed.structure),
};

function isGgmlFile(structure: unknown): structure is GgmlFile {
  return typeof structure === 'object' && structure !== null && 'magic' in structure && 'hparams' in structure && 'vocab' in structure && 'tensors' in structure;
}

function refuseQuantized(file: GgmlFile, t: Pick<GgmlTensorInfo, 'name' | 'type' | 'typeName' | 'at'>, source: ByteSource): never {
  const kind = ggmlVersionName(file);
  const advice =
    file.magic === 'ggjt' && file.version === 3
      ? "convert the file to GGUF with llama.cpp's convert_llama_ggml_to_gguf.py first, then convert the GGUF file"
      : "llama.cpp's tools no longer read these blocks (they changed in ggjt v2 and v3): convert the original weights again, or requantize with the llama.cpp of that time to ggjt v3 and convert that to GGUF with convert_llama_ggml_to_gguf.py";
  throw new GgmlError(
    'UnsupportedTensor',
    `${source.name}: tensor ${show(t.name)} is ${t.typeName} (ggml type ${t.type}) in a ${kind} file; the quantized blocks of legacy GGML files are not decoded, so nothing is converted: ${advice}`,
    { location: `${source.name}@${t.at}` },
  );
}

function tensorEntry(t: GgmlTensorInfo, source: ByteSource): TensorEntry {
  const [dtype, unit] = RAW[t.typeName]!;
  const step = (chunkBytes: number): number => Math.max(unit, Math.floor(chunkBytes / unit) * unit);
  return {
    name: t.name, dtype, shape: [...t.ne].reverse(), byteLength: t.bytes, fidelity: 'exact',
    encoding: { layout: 'stored' },
    chunks: (chunkBytes = DEFAULT_CHUNK_BYTES) => readChunks(source, t.offset, t.bytes, step(chunkBytes)),
  };
}
