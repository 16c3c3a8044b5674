import * as fs from 'node:fs';
import * as path from 'node:path';
import { IoError, TensorsafeError } from '../errors.js';
import { isHttpUrl } from '../io/url-inside.js';
import { openAny, openOrClose, openShardedSet, isIndexName, type SafeOpenOptions, type SafeOpenSource } from '../safetensors/open.js';
import type { SafetensorsHandle } from '../safetensors/reader.js';
import { FileSource, fileError } from './file-source.js';
import { checkNotShadowed } from '../model/model-files.js';
import { isPinnedFile } from '../hub/reference.js';
import { httpOptionsFor, hubReferenceOf, openHubSibling, openHubSource, resolveHubTarget } from './hub.js';

/**
 * Opens a safetensors file, a sharded set (its `*.index.json`), a model folder, an http(s)
 * URL, a Hub reference (`hf://owner/repo[@revision][/path]`, `owner/repo`), a Blob, bytes or a
 * ByteSource. Only the header(s) are read.
 */
export function safeOpen(source: SafeOpenSource, options: SafeOpenOptions = {}): Promise<SafetensorsHandle> {
  // A URL gets the process's --header headers (and the Hub token on the Hub's origin) unless the caller gives its own options.
  if ((typeof source === 'string' || source instanceof URL) && isHttpUrl(source.toString()) && options.http === undefined) {
    return openAny(source, { ...options, http: httpOptionsFor(source.toString()) }, openPath);
  }
  if (typeof source === 'string' && hubReferenceOf(source)) return openHub(source);
  return openAny(source, options, openPath);
}

/** A Hub reference's safetensors model: its file, or its index and the shards beside it (from the cache, else the Hub, at one commit). */
async function openHub(target: string): Promise<SafetensorsHandle> {
  // A file at a commit (what findModel gives) needs no resolution: the index is read once, by openShardedSet.
  const ref = hubReferenceOf(target)!;
  if (isPinnedFile(ref)) {
    return isIndexName(ref.path) ? openShardedSet(await openHubSource(ref), (file) => openHubSibling(target, file)) : openOrClose(await openHubSource(ref));
  }
  const model = await resolveHubTarget(target, { prefer: 'safetensors' });
  if (model.format !== 'safetensors') {
    throw new TensorsafeError('NotAModel', `${target} holds no safetensors model (its model is ${(model.index ?? model.files[0]!).path}, ${model.format}); tensorsafe inspect and convert read it`, { location: target });
  }
  if (model.index === undefined) return openOrClose(await openHubSource(model.files[0]!.reference));
  const index = model.index.reference;
  return openShardedSet(await openHubSource(index), (file) => openHubSibling(index, file));
}

/** A path: a file, an index, or a folder with `model.safetensors.index.json` or exactly one `.safetensors` file. */
export async function openPath(target: string, _options: SafeOpenOptions = {}): Promise<SafetensorsHandle> {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(target);
  } catch (cause) {
    throw fileError(target, cause);
  }
  if (stat.isDirectory()) return openPath(findInFolder(target));
  const source = await FileSource.open(target);
  if (!isIndexName(target)) return openOrClose(source);
  const dir = path.dirname(target);
  return openShardedSet(source, (file) => FileSource.open(path.join(dir, file)));
}

function findInFolder(dir: string): string {
  const entries = fs.readdirSync(dir);
  const indexes = entries.filter((e) => e.endsWith('.safetensors.index.json'));
  checkNotShadowed(dir, entries);
  if (indexes.length === 1) return path.join(dir, indexes[0]!);
  const files = entries.filter((e) => e.endsWith('.safetensors'));
  if (indexes.length === 0 && files.length === 1) return path.join(dir, files[0]!);
  const found = [...indexes, ...files];
  throw found.length === 0
    ? new IoError('NotFound', `${dir} holds no .safetensors file or .safetensors.index.json`, { location: dir })
    : new IoError('AmbiguousModel', `${dir} holds several candidates (${found.slice(0, 5).join(', ')}${found.length > 5 ? ', …' : ''}); name the file or index to open`, {
        location: dir,
      });
}

// The rule is the model layer's: a repository on the Hub is held to it too (hub/resolve.ts).
export { checkNotShadowed } from '../model/model-files.js';
