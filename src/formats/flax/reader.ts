import type { ByteSource } from '../../io/byte-source.js';
import { FormatProblem } from '../../io/format-problem.js';
import { readChunks } from '../../io/read-chunks.js';
import { DEFAULT_CHUNK_BYTES, STORED, type TensorEntry } from '../../tensor/tensor-set.js';
import type { FormatReader, ParsedModel } from '../format.js';
import { show } from '../scan-rules.js';
import { FlaxError } from './errors.js';
import { FLAX_DTYPES, readFlaxState, type FlaxState, type FlaxTensor } from './state.js';
import { scanFlax } from './scan-rules.js';
import { describeFlax } from './view.js';

/**
 * Flax msgpack checkpoints as TensorSets: every array of the state dict, named by its key path joined
 * with `.`, read as it lies (`tobytes('C')`: row-major, little-endian on the machines that write
 * them); chunked arrays assembled from their chunks. A dtype safetensors has none for (complex128,
 * strings) is refused by name.
 */
export const flaxReader: FormatReader<FlaxState> = {
  async open(source: ByteSource): Promise<ParsedModel<FlaxState>> {
    let state: FlaxState;
    try {
      state = await readFlaxState(source);
    } catch (e) {
      if (!(e instanceof FormatProblem)) throw e;
      const limit = e.kind === 'limit';
      throw new FlaxError(limit ? 'FlaxLimit' : 'InvalidFlax', `${source.name}: ${limit ? '' : 'not a valid Flax msgpack checkpoint: '}${e.message}`, { location: e.locationIn(source.name), cause: e });
    }
    const bad = state.unsupported[0];
    if (bad !== undefined) {
      throw new FlaxError('UnsupportedTensor', `${source.name}: array ${show(bad.name)} is ${bad.dtype}, which safetensors has no dtype for; nothing is converted`, { location: `${source.name}:${bad.name}` });
    }
    const tensors = state.tensors.map((t) => entry(source, t));
    const notes = ['a Flax msgpack checkpoint: names are key paths joined with "."'];
    const chunked = state.tensors.filter((t) => t.chunked).length;
    if (chunked > 0) notes.push(`${chunked} chunked array${chunked === 1 ? '' : 's'} assembled`);
    return { tensors: { format: 'flax', tensors, leftOut: state.leftOut, notes, close: async () => source.close?.() }, structure: state };
  },
  scan: (source, ctx, parsed) => scanFlax(source, ctx, isFlaxState(parsed?.structure) ? parsed.structure : undefined),
  describe: (parsed) => describeFlax(parsed.structure),
};

function isFlaxState(s: unknown): s is FlaxState {
  return typeof s === 'object' && s !== null && 'tensors' in s && 'unsupported' in s && 'leftOut' in s;
}

function entry(source: ByteSource, t: FlaxTensor): TensorEntry {
  const [dtype, es] = FLAX_DTYPES.get(t.dtype)!;
  const step = (chunkBytes: number): number => Math.max(es, Math.floor(chunkBytes / es) * es);
  return {
    name: t.name, dtype, shape: [...t.shape], byteLength: t.byteLength, encoding: STORED, fidelity: 'exact',
    chunks: (chunkBytes = DEFAULT_CHUNK_BYTES) => pieces(source, t, step(chunkBytes)),
  };
}

async function* pieces(source: ByteSource, t: FlaxTensor, chunkBytes: number): AsyncGenerator<Uint8Array> {
  // Each chunk of a chunked array is a whole number of elements: its pieces stream one after another.
  for (const p of t.pieces) yield* readChunks(source, p.offset, p.length, chunkBytes);
}
