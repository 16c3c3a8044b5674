import { SafetensorError, TensorsafeError } from '../errors.js';
import type { Tensor } from '../dtype/tensor.js';
import { compareCodePoints } from '../util/strings.js';
import type { TensorInfo } from './header.js';
import type { SafetensorsFile, SafetensorsHandle, TensorSlice } from './reader.js';
import type { TensorSpec } from './layout.js';
import { DTYPE_INFO } from '../dtype/dtypes.js';
import { elementCount } from '../dtype/tensor.js';
import { asyncDisposeSymbol } from '../util/dispose.js';

/**
 * Sharded checkpoints in the layout transformers uses: `model-00001-of-00003.safetensors`, …
 * and `model.safetensors.index.json` = `{"metadata": {"total_size": N}, "weight_map": {name: file}}`.
 */

/** The parsed `*.safetensors.index.json`. */
export interface ShardIndex {
  /** Free-form; transformers writes `{ "total_size": <bytes of tensor data> }`. */
  readonly metadata: Readonly<Record<string, unknown>>;
  /** Tensor name → shard file name, relative to the index. */
  readonly weightMap: ReadonlyMap<string, string>;
}

/** Largest index file read: guards against a huge or hostile index exhausting memory. */
export const MAX_INDEX_BYTES = 100_000_000;

/** Parses and checks an index: every shard name must be a plain relative path inside the index's folder. */
export function parseShardIndex(text: string, where: string): ShardIndex {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new TensorsafeError('InvalidShardIndex', `${where}: not valid JSON (${(cause as Error).message})`, { cause, location: where });
  }
  const weightMap = (json as { weight_map?: unknown } | null)?.weight_map;
  if (json === null || typeof json !== 'object' || Array.isArray(json) || weightMap === null || typeof weightMap !== 'object' || Array.isArray(weightMap)) {
    throw new TensorsafeError('InvalidShardIndex', `${where}: expected an object with a "weight_map" object of tensor name → shard file`, { location: where });
  }
  const map = new Map<string, string>();
  for (const [name, file] of Object.entries(weightMap as Record<string, unknown>)) {
    if (typeof file !== 'string' || !isSafeShardName(file)) {
      throw new TensorsafeError(
        'InvalidShardIndex',
        `${where}: tensor \`${name}\` points to ${JSON.stringify(file)}, which is not a file name inside the index's folder`,
        { location: where },
      );
    }
    map.set(name, file);
  }
  const metadata = (json as { metadata?: unknown }).metadata;
  return { metadata: metadata !== null && typeof metadata === 'object' && !Array.isArray(metadata) ? (metadata as Record<string, unknown>) : {}, weightMap: map };
}

/** A relative path with no `..`, no absolute root, no drive letter, no URL scheme, no backslash. */
function isSafeShardName(file: string): boolean {
  if (file.length === 0 || file.startsWith('/') || file.includes('\\') || /^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(file) || file.includes('\0')) return false;
  return file.split('/').every((part) => part !== '..' && part !== '.' && part !== '');
}

/** Several safetensors files seen as one: names are routed to their shard. */
export class ShardedSafetensors implements SafetensorsHandle {
  private constructor(
    readonly name: string,
    readonly index: ShardIndex,
    readonly shards: ReadonlyMap<string, SafetensorsFile>,
  ) {}

  /** Opens every shard named by the index (headers only) and checks the index against them. */
  static async open(name: string, index: ShardIndex, openShard: (file: string) => Promise<SafetensorsFile>): Promise<ShardedSafetensors> {
    const files = [...new Set(index.weightMap.values())];
    const shards = new Map<string, SafetensorsFile>();
    try {
      for (const f of files) shards.set(f, await openShard(f));
      for (const [tensor, file] of index.weightMap) {
        if (!shards.get(file)!.has(tensor)) {
          throw new TensorsafeError('ShardMismatch', `${name}: the index puts tensor \`${tensor}\` in ${file}, which does not contain it`, { location: file });
        }
      }
      for (const [file, shard] of shards) {
        for (const tensor of shard.offsetKeys()) {
          const listed = index.weightMap.get(tensor);
          if (listed !== file) {
            throw new TensorsafeError(
              'ShardMismatch',
              `${name}: ${file} contains tensor \`${tensor}\`, which the index ${listed === undefined ? 'does not list' : `puts in ${listed}`}`,
              { location: file },
            );
          }
        }
      }
    } catch (e) {
      await Promise.all([...shards.values()].map((s) => s.close()));
      throw e;
    }
    return new ShardedSafetensors(name, index, shards);
  }

  keys(): string[] {
    return [...this.index.weightMap.keys()].sort(compareCodePoints);
  }

  offsetKeys(): string[] {
    return [...this.shards.values()].flatMap((s) => s.offsetKeys());
  }

  /** The first shard's `__metadata__` (transformers writes the same into every shard). */
  metadata(): Record<string, string> | null {
    const first = this.shards.values().next().value as SafetensorsFile | undefined;
    return first ? first.metadata() : null;
  }

  has(name: string): boolean {
    return this.index.weightMap.has(name);
  }

  /** The shard holding a tensor. */
  shardOf(name: string): SafetensorsFile {
    const file = this.index.weightMap.get(name);
    if (file === undefined) {
      throw new SafetensorError('TensorNotFound', `tensor \`${name}\` not found in ${this.name}`, { location: this.name });
    }
    return this.shards.get(file)!;
  }

  info(name: string): TensorInfo {
    return this.shardOf(name).info(name);
  }

  getTensor(name: string): Promise<Tensor> {
    return this.shardOf(name).getTensor(name);
  }

  getSlice(name: string): TensorSlice {
    return this.shardOf(name).getSlice(name);
  }

  async close(): Promise<void> {
    await Promise.all([...this.shards.values()].map((s) => s.close()));
  }

  /** `await using set = await safeOpen('model.safetensors.index.json')`: every shard closed at the end of the block. */
  [asyncDisposeSymbol](): Promise<void> {
    return this.close();
  }
}

/** `model-00001-of-00003.safetensors`: 1-based, five digits, as transformers names shards. */
/**
 * The stem of a file of a safetensors output family: `model` for `model.safetensors`,
 * `model-00001-of-00002.safetensors` and `model.safetensors.index.json`; undefined for any other name.
 * Loaders treat a family as one model, so two files of one family in one folder compete.
 */
export function safetensorsStem(fileName: string): string | undefined {
  const m = /^(.*?)(?:-\d{5}-of-\d{5})?\.safetensors(?:\.index\.json)?$/.exec(fileName);
  return m?.[1];
}

export function shardFileName(base: string, index: number, count: number): string {
  const pad = (n: number): string => String(n).padStart(5, '0');
  return `${base}-${pad(index + 1)}-of-${pad(count)}.safetensors`;
}

/**
 * Splits tensors, in the given order, into shards of at most `maxShardSize` bytes of tensor
 * data, the way huggingface_hub's `split_state_dict_into_shards` does: a tensor that does not
 * fit starts a new shard, and a tensor larger than the limit gets a shard of its own. `bytesOf`: a
 * tensor's bytes in the output when they are not its dtype's (a quantizing writer).
 */
export function planShards<T extends TensorSpec>(tensors: readonly T[], maxShardSize: number, bytesOf?: (t: T) => number): T[][] {
  const shards: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const t of tensors) {
    const bytes = bytesOf ? bytesOf(t) : (elementCount(t.shape) * DTYPE_INFO[t.dtype].bits) / 8;
    if (bytes > maxShardSize) {
      shards.push([t]);
      continue;
    }
    if (current.length > 0 && size + bytes > maxShardSize) {
      shards.push(current);
      current = [];
      size = 0;
    }
    current.push(t);
    size += bytes;
  }
  if (current.length > 0) shards.push(current);
  return shards;
}

/**
 * The index JSON as transformers writes it: `json.dumps(index, indent=2, sort_keys=True) + "\n"`
 * (ASCII-only, keys sorted by code point). Written by hand because a JS object would put
 * integer-like keys first.
 */
export function formatShardIndex(totalSize: number, weightMap: ReadonlyMap<string, string>, extraMetadata: Record<string, string | number | boolean> = {}): string {
  const metadata: [string, string | number | boolean][] = Object.entries({ ...extraMetadata, total_size: totalSize });
  const block = (entries: [string, unknown][]): string =>
    entries.length === 0
      ? '{}'
      : '{\n' + entries.sort((a, b) => compareCodePoints(a[0], b[0])).map(([k, v]) => `    ${pyJson(k)}: ${pyJson(v)}`).join(',\n') + '\n  }';
  return `{\n  "metadata": ${block(metadata)},\n  "weight_map": ${block([...weightMap])}\n}\n`;
}

/** JSON with Python's `ensure_ascii`: everything outside space..tilde is escaped. */
function pyJson(v: unknown): string {
  return JSON.stringify(v).replace(/[\u007f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}
