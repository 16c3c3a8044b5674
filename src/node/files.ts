import * as fs from 'node:fs';
import * as path from 'node:path';
import { inFile, SafetensorError } from '../errors.js';
import { tensorFromBytes, type Tensor } from '../dtype/tensor.js';
import { planLayout, type Metadata } from '../safetensors/layout.js';
import { readHeader, readHeaderSync } from '../safetensors/reader.js';
import type { SafetensorsHeader } from '../safetensors/header.js';
import { formatShardIndex, planShards, shardFileName } from '../safetensors/sharded.js';
import { checkTensors, type CheckedTensor, type TensorsInput } from '../safetensors/tensor-input.js';
import { SafetensorsStreamWriter } from '../safetensors/stream-writer.js';
import { parseSize } from '../util/sizes.js';
import { writeFileAtomicSync, outputExists } from './atomic-file.js';
import { FileSink } from './file-sink.js';
import { FileSource, makeFolder } from './file-source.js';

/** Largest typed array Node can allocate (4 GiB on Node 20): bigger data buffers are read tensor by tensor. */
export const MAX_ARRAY_BYTES = 2 ** 32;

/**
 * Reads a whole safetensors file: the header first (so a file that is not safetensors is
 * refused before any large allocation), then the data buffer in one read. Tensors are views
 * into that one buffer, aligned by the writer's dtype order: no second copy.
 */
export function loadFileSync(file: string): Map<string, Tensor> {
  const source = FileSource.openSync(file);
  try {
    return loadOpenSync(file, source);
  } catch (e) {
    throw inFile(e, file);
  } finally {
    source.closeSync();
  }
}

function loadOpenSync(file: string, source: FileSource): Map<string, Tensor> {
  const header = readHeaderSync(source);
  if (header.dataLength <= MAX_ARRAY_BYTES) return viewsOf(header, source.readSync(header.dataStart, header.dataLength));
  const out = new Map<string, Tensor>();
  for (const t of header.tensors.values()) {
    checkArraySize(file, t.name, t.byteLength);
    out.set(t.name, tensorOf(t, source.readSync(t.byteOffset, t.byteLength)));
  }
  return out;
}

/** As loadFileSync, without blocking the event loop. */
export async function loadFile(file: string): Promise<Map<string, Tensor>> {
  const source = await FileSource.open(file);
  try {
    return await loadOpen(file, source);
  } catch (e) {
    throw inFile(e, file);
  } finally {
    source.closeSync();
  }
}

async function loadOpen(file: string, source: FileSource): Promise<Map<string, Tensor>> {
  const header = await readHeader(source);
  if (header.dataLength <= MAX_ARRAY_BYTES) return viewsOf(header, await source.read(header.dataStart, header.dataLength));
  const out = new Map<string, Tensor>();
  for (const t of header.tensors.values()) {
    checkArraySize(file, t.name, t.byteLength);
    out.set(t.name, tensorOf(t, await source.read(t.byteOffset, t.byteLength)));
  }
  return out;
}

function viewsOf(header: SafetensorsHeader, data: Uint8Array): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const t of header.tensors.values()) {
    const [begin, end] = t.dataOffsets;
    out.set(t.name, tensorOf(t, data.subarray(begin, end)));
  }
  return out;
}

function tensorOf(t: { dtype: Tensor['dtype']; shape: readonly number[] }, bytes: Uint8Array): Tensor {
  return tensorFromBytes(t.dtype, [...t.shape], bytes);
}

function checkArraySize(file: string, name: string, bytes: number): void {
  if (bytes > MAX_ARRAY_BYTES) {
    throw new SafetensorError('InvalidTensorView', `${file}: tensor \`${name}\` is ${bytes} bytes, more than a JS typed array can hold; read it in slices with safeOpen().getSlice()`, {
      location: `tensor ${name}`,
    });
  }
}

export interface SaveFileOptions {
  metadata?: Metadata | null;
  /** Replace an existing file (default true, as the reference does). */
  overwrite?: boolean;
  /** fsync before renaming into place (default false). */
  fsync?: boolean;
}

/** Writes tensors to a file: temporary file, then rename; large tensors are written from their own memory. */
export function saveFileSync(tensors: TensorsInput, file: string, options: SaveFileOptions = {}): void {
  const checked = checkTensors(tensors);
  const layout = planLayout(checked, options.metadata);
  const byName = new Map(checked.map((t) => [t.name, t.bytes]));
  writeFileAtomicSync(file, [layout.header, ...layout.tensors.map((t) => byName.get(t.name)!)], options);
}

/** As saveFileSync, without blocking the event loop. */
export async function saveFile(tensors: TensorsInput, file: string, options: SaveFileOptions = {}): Promise<void> {
  const checked = checkTensors(tensors);
  await writeChecked(checked, file, options);
}

/** All tensors are in memory: header and data go out in a few writev calls, then the file is renamed into place. */
async function writeChecked(checked: readonly CheckedTensor[], file: string, options: SaveFileOptions): Promise<void> {
  const layout = planLayout(checked, options.metadata);
  const byName = new Map(checked.map((t) => [t.name, t.bytes]));
  const sink = await FileSink.create(file, options);
  try {
    await sink.writeMany([layout.header, ...layout.tensors.map((t) => byName.get(t.name)!)]);
  } catch (e) {
    await sink.abort();
    throw e;
  }
  await sink.close();
}

export interface SaveShardedOptions extends SaveFileOptions {
  /** Largest shard, in bytes of tensor data, or a size like "5GB" (default "5GB", as transformers). */
  maxShardSize?: number | string;
  /** File name stem: `model` gives model-00001-of-00002.safetensors and model.safetensors.index.json. */
  baseName?: string;
}

export interface ShardedResult {
  /** Paths of the written safetensors files, in shard order. */
  files: string[];
  /** Path of the index, when more than one shard was written. */
  index: string | undefined;
  /** Bytes of tensor data (the index's total_size). */
  totalSize: number;
}

/**
 * Writes tensors as shards plus index in transformers' layout; a set that fits in one shard
 * is written as a single `model.safetensors` without an index, as transformers does. Every
 * shard is written to a temporary file; nothing is renamed into place until all are complete,
 * and the index comes last.
 */
export async function saveShardedFiles(tensors: TensorsInput, dir: string, options: SaveShardedOptions = {}): Promise<ShardedResult> {
  const checked = checkTensors(tensors);
  const base = options.baseName ?? 'model';
  const max = parseSize(options.maxShardSize ?? '5GB');
  const groups = planShards(checked, max);
  if (groups.length === 0) groups.push([]);
  const totalSize = checked.reduce((n, t) => n + t.bytes.byteLength, 0);
  makeFolder(dir);
  if (groups.length === 1) {
    const file = path.join(dir, `${base}.safetensors`);
    await writeChecked(checked, file, options);
    return { files: [file], index: undefined, totalSize };
  }
  const names = groups.map((_, i) => shardFileName(base, i, groups.length));
  const indexPath = path.join(dir, `${base}.safetensors.index.json`);
  if (options.overwrite === false) {
    for (const f of [...names.map((n) => path.join(dir, n)), indexPath]) if (fs.existsSync(f)) throw outputExists(f);
  }
  const writers: SafetensorsStreamWriter[] = [];
  try {
    for (const [i, group] of groups.entries()) {
      const sink = await FileSink.create(path.join(dir, names[i]!), options);
      const writer = await SafetensorsStreamWriter.create(sink, group, { metadata: options.metadata ?? null });
      writers.push(writer);
      const byName = new Map(group.map((t) => [t.name, t.bytes]));
      for (const name of writer.order) await writer.write(name, byName.get(name)!);
    }
  } catch (e) {
    await Promise.all(writers.map((w) => w.abort()));
    throw e;
  }
  for (const w of writers) await w.close();
  const weightMap = new Map<string, string>();
  groups.forEach((group, i) => group.forEach((t) => weightMap.set(t.name, names[i]!)));
  writeFileAtomicSync(indexPath, [new TextEncoder().encode(formatShardIndex(totalSize, weightMap))], options);
  return { files: names.map((n) => path.join(dir, n)), index: indexPath, totalSize };
}
