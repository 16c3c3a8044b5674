import { inFile, TensorsafeError } from '../errors.js';
import { BlobSource, isByteSource, MemorySource, type ByteSource } from '../io/byte-source.js';
import { HttpSource, type HttpSourceOptions } from '../io/http-source.js';
import { SafetensorsFile, type SafetensorsHandle } from './reader.js';
import { MAX_INDEX_BYTES, parseShardIndex, ShardedSafetensors, type ShardIndex } from './sharded.js';

/** Anything safeOpen reads: a URL, a Blob/File, bytes, or any ByteSource (a path too, from `tensorsafe/node`). */
export type SafeOpenSource = string | URL | Blob | Uint8Array | ArrayBuffer | ByteSource;

export interface SafeOpenOptions {
  /** Options for http(s) sources: custom fetch, headers, timeouts, retries. */
  http?: HttpSourceOptions;
}

/** Opens a source as a ByteSource; paths are resolved by the caller (Node) through `openPath`. */
export type PathOpener = (path: string, options: SafeOpenOptions) => Promise<SafetensorsHandle>;

/**
 * Opens a safetensors file, or a sharded set through its `*.index.json`, reading and
 * validating only the header(s). Tensors are read when asked for.
 */
export async function safeOpen(source: SafeOpenSource, options: SafeOpenOptions = {}): Promise<SafetensorsHandle> {
  return openAny(source, options, (path) => {
    // In a page, a string that is not an absolute URL is a URL relative to the page.
    const base = (globalThis as { location?: { href?: string } }).location?.href;
    if (base !== undefined && /^https?:/i.test(base)) return openUrl(new URL(path, base).toString(), options);
    throw new TensorsafeError('InvalidArgument', 'file paths can only be opened in Node: import { safeOpen } from "tensorsafe/node"');
  });
}

export async function openAny(source: SafeOpenSource, options: SafeOpenOptions, openPath: PathOpener): Promise<SafetensorsHandle> {
  if (source instanceof URL || (typeof source === 'string' && /^https?:\/\//i.test(source))) {
    return openUrl(source.toString(), options);
  }
  if (typeof source === 'string') return openPath(source, options);
  if (source instanceof Uint8Array) return SafetensorsFile.open(new MemorySource(source));
  if (source instanceof ArrayBuffer) return SafetensorsFile.open(new MemorySource(new Uint8Array(source)));
  if (typeof Blob !== 'undefined' && source instanceof Blob) return SafetensorsFile.open(new BlobSource(source));
  if (isByteSource(source)) return SafetensorsFile.open(source);
  throw new TensorsafeError('InvalidArgument', `cannot open ${Object.prototype.toString.call(source)}: expected a path, URL, Blob, Uint8Array or ByteSource`);
}

async function openUrl(url: string, options: SafeOpenOptions): Promise<SafetensorsHandle> {
  const source = await HttpSource.open(url, options.http);
  if (!isIndexName(new URL(url).pathname)) return openOrClose(source);
  return openShardedSet(source, (file) => HttpSource.open(new URL(file, url).toString(), options.http));
}

/**
 * How a transport opens a shard of a sharded set: from its file name in the index (a plain relative
 * path inside the index's folder, checked by parseShardIndex) to a source. One per transport: URLs
 * resolve it against the index's URL, file paths against the index's folder (tensorsafe/node).
 */
export type ShardOpener = (file: string) => Promise<ByteSource>;

/**
 * Opens a sharded set from its index: reads and checks the index (closing its source), then opens every
 * shard with `openShard` (headers only) and checks the index against them. On any failure nothing stays
 * open. The one way a sharded set is opened, whatever the transport.
 */
export async function openShardedSet(indexSource: ByteSource, openShard: ShardOpener): Promise<ShardedSafetensors> {
  let index: ShardIndex;
  try {
    index = parseShardIndex(await readText(indexSource), indexSource.name);
  } finally {
    await indexSource.close?.();
  }
  return ShardedSafetensors.open(indexSource.name, index, async (file) => openOrClose(await openShard(file)));
}

/** Opens a file over a source, closing the source if the header is refused. */
export async function openOrClose(source: ByteSource): Promise<SafetensorsFile> {
  try {
    return await SafetensorsFile.open(source);
  } catch (e) {
    await source.close?.();
    throw inFile(e, source.name);
  }
}

/** `model.safetensors.index.json`, or any `*.index.json`. */
export function isIndexName(name: string): boolean {
  return name.endsWith('.index.json');
}

/** Reads a whole (small) source as UTF-8 text. */
export async function readText(source: ByteSource): Promise<string> {
  if (source.size > MAX_INDEX_BYTES) {
    throw new TensorsafeError('InvalidShardIndex', `${source.name} is ${source.size} bytes, more than an index may be (${MAX_INDEX_BYTES})`, {
      location: source.name,
    });
  }
  return new TextDecoder().decode(await source.read(0, source.size));
}
