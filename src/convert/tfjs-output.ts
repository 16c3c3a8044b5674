import type { Dtype } from '../dtype/dtypes.js';
import { TensorsafeError } from '../errors.js';
import { MemorySource, type ByteSource } from '../io/byte-source.js';
import type { TensorEntry } from '../tensor/tensor-set.js';
import type { OutputFormat } from './output-format.js';
import type { WrittenFile } from './write-checked.js';
import { dataWriter, openWritten, writeThenCheck } from './write-then-check.js';

/**
 * TF.js as the pipeline's output: weight shards `group1-shard1of3.bin`, … (tfjs-converter's names)
 * of at most `--max-shard-size` bytes (4 MB by default, tfjs-converter's), and a `model.json` holding
 * the weights manifest (`{"weightsManifest": [{"paths": [...], "weights": [...]}]}`, one group), which
 * tfjs-core's `io.http`/`io.fromMemory` load and whose manifest `io.loadWeights` takes. Weights are
 * packed one after the other, little-endian, as tfjs-core's `io.decodeWeights` reads them; a weight
 * never straddles shards here (tfjs-core would read one that did).
 *
 * float32, int32, bool and complex64 (F32, I32, BOOL, C64) are written as they are; any other dtype is
 * refused by name before a byte is written (tfjs has no type for it: convert it first). No quantization.
 *
 * The check: each shard, once whole, is read back by the TF.js reader through a manifest of that shard
 * alone, and every weight compared with its source bit for bit. model.json is the pipeline's index of
 * the output, written (atomically) once every shard is checked and in place.
 */

/** tfjs-converter's default shard size (its `--weight_shard_size_bytes`, 4 MB): browsers cache files of this size well. */
export const TFJS_DEFAULT_SHARD_BYTES = 4 * 1024 * 1024;

const TFJS_DTYPE: Partial<Record<Dtype, string>> = { F32: 'float32', I32: 'int32', BOOL: 'bool', C64: 'complex64' };

interface WeightSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: string;
}

const SHARD_NAME = /^group(\d+)-shard(\d+)of(\d+)\.bin$/;

function specOf(e: TensorEntry): WeightSpec {
  const dtype = TFJS_DTYPE[e.dtype];
  if (dtype === undefined) {
    throw new TensorsafeError('UnsupportedTensor', `tensor \`${e.name}\` is ${e.dtype}, which TF.js has no type for (it holds float32, int32, bool and complex64): write safetensors, or convert it to one of those first`, { location: e.name });
  }
  return { name: e.name, shape: [...e.shape], dtype };
}

/** A manifest listing `paths` with `weights`, as model.json holds it. */
function manifestJson(paths: readonly string[], weights: readonly WeightSpec[]): string {
  return JSON.stringify({ generatedBy: 'tensorsafe', weightsManifest: [{ paths, weights }] });
}

/**
 * A TF.js output of one conversion: it remembers the weight specs of each shard it writes, for the
 * read-back of that shard and for model.json (`configure` gives each conversion its own).
 */
function tfjsOutputInstance(): OutputFormat {
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
    const ends = new Map<string, number>();
    let at = 0;
    for (const t of tensors.tensors) ends.set(t.name, (at += t.byteLength));
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
    alwaysIndexed: true,
    noMetadata: 'TF.js weight shard',
    metadata: () => ({}),
    reopen,
    writeChecked: async (entries, sink, sources, removed, reopenWritten, options) => {
      const specs = entries.map(specOf);
      const file = sink.name.slice(Math.max(sink.name.lastIndexOf('/'), sink.name.lastIndexOf('\\')) + 1);
      shards.set(file, specs);
      const writeData = dataWriter(sink, options);
      const write = async (): Promise<number> => {
        for (const e of entries) await writeData(e);
        return entries.reduce((n, e) => n + e.byteLength, 0);
      };
      return writeThenCheck(
        write,
        sink,
        sources,
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
    writerOptions: [],
    configure: () => tfjsOutputInstance(),
  };
}

export const tfjsOutput: OutputFormat = tfjsOutputInstance();
