import type { ByteSource } from '../../io/byte-source.js';
import { FormatProblem } from '../../io/format-problem.js';
import { readChunks } from '../../io/read-chunks.js';
import { DEFAULT_CHUNK_BYTES, STORED, type LeftOut, type TensorEntry } from '../../tensor/tensor-set.js';
import type { FormatReader, ParsedModel } from '../format.js';
import { densifiedChunks, readSparseIndices } from './densify.js';
import { MXNET_TYPES } from './dtype.js';
import { MxnetError } from './errors.js';
import { readMxnetFile, type MxnetArray, type MxnetFile } from './header.js';
import { MAX_MXNET_SPARSE_INDEX_BYTES } from './limits.js';
import { scanMxnet } from './scan-rules.js';
import { describeMxnet } from './view.js';

/**
 * MXNet NDArray lists as TensorSets. Names are kept as stored (`arg:`/`aux:` prefixes of Module
 * checkpoints included); a file saved from a list has none, and its arrays are named by position,
 * `0`, `1`, …. Dense arrays are read as they lie (little-endian, row-major); row-sparse and CSR arrays
 * are densified (lossless: the same values, zeros where nothing is stored). Empty NDArrays are left
 * out, listed.
 */
export const mxnetReader: FormatReader<MxnetFile> = {
  async open(source: ByteSource): Promise<ParsedModel<MxnetFile>> {
    const file = await coded(source, () => readMxnetFile(source));
    const names = file.names.length > 0 ? file.names : file.arrays.map((a) => String(a.index));
    const tensors: TensorEntry[] = [];
    const leftOut: LeftOut[] = [];
    const budget = { bytes: MAX_MXNET_SPARSE_INDEX_BYTES };
    for (const a of file.arrays) {
      const name = names[a.index]!;
      if (a.none !== undefined) {
        leftOut.push({ path: name, what: `an empty NDArray (${a.none})` });
        continue;
      }
      tensors.push(await entry(source, a, name, budget));
    }
    const notes = [`an MXNet NDArray list of ${file.arrays.length} arrays (${[...new Set(file.arrays.map((a) => a.version))].join(', ')})`];
    if (file.names.length === 0 && file.arrays.length > 0) notes.push('the file stores no names: arrays are named by position (0, 1, …)');
    if (file.end < source.size) notes.push(`${source.size - file.end} bytes after the names are not read (MXNet ignores them)`);
    return { tensors: { format: 'mxnet', tensors, leftOut, notes, close: async () => source.close?.() }, structure: file };
  },
  scan: (source, ctx, parsed) => scanMxnet(source, ctx, isMxnetFile(parsed?.structure) ? parsed.structure : undefined),
  describe: (parsed) => describeMxnet(parsed.structure),
};

function isMxnetFile(structure: unknown): structure is MxnetFile {
  return typeof structure === 'object' && structure !== null && 'arrays' in structure && 'names' in structure && 'end' in structure;
}

async function coded<T>(source: ByteSource, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (e) {
    if (!(e instanceof FormatProblem)) throw e;
    const limit = e.kind === 'limit';
    throw new MxnetError(limit ? 'MxnetLimit' : 'InvalidMxnet', `${source.name}: ${limit ? '' : 'not a valid MXNet NDArray file: '}${e.message}`, { location: e.locationIn(source.name), cause: e });
  }
}

async function entry(source: ByteSource, a: MxnetArray, name: string, budget: { bytes: number }): Promise<TensorEntry> {
  const [, dtype, es] = MXNET_TYPES.get(a.typeFlag)!;
  const shape = [...a.shape];
  if (a.storage === 'default') {
    const step = (chunkBytes: number): number => Math.max(es, Math.floor(chunkBytes / es) * es);
    return { name, dtype, shape, byteLength: a.dataBytes, encoding: STORED, fidelity: 'exact', chunks: (chunkBytes = DEFAULT_CHUNK_BYTES) => readChunks(source, a.dataOffset, a.dataBytes, step(chunkBytes)) };
  }
  const what = `NDArray ${a.index} (${JSON.stringify(name)}, ${a.storage})`;
  const indices = await coded(source, () => readSparseIndices(source, a, what, budget));
  const byteLength = Number(a.shape.reduce((x, d) => x * BigInt(d), 1n)) * es;
  return {
    name, dtype, shape, byteLength, encoding: { layout: 'decoded', decoder: 'sparse-densify' }, fidelity: 'lossless',
    chunks: (chunkBytes = DEFAULT_CHUNK_BYTES) => densifiedChunks(source, a, indices, Math.max(es, Math.floor(chunkBytes / es) * es)),
  };
}
