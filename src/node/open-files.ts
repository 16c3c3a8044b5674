import * as path from 'node:path';
import { isHttpUrl } from '../io/url-inside.js';
import { openModelSource, openModelUrl, type OpenedFile, type OpenFileOptions } from '../model/open-source.js';
import { escapesFolder, openInsideFolder } from './inside-folder.js';
import { FileSource } from './file-source.js';
import { hubReferenceOf, httpOptionsFor, openHubSibling, openHubSource } from './hub.js';

export { UnsafeFileError, SIBLING_PREFETCH_BYTES, type OpenedFile, type OpenFileOptions } from '../model/open-source.js';

/**
 * Opens one local file, URL or Hub file (`hf://…`) as a model file (model/open-source.ts: its format from its bytes, parsed
 * once, scanned with that parse, refused when dangerous). The files a local one references (ONNX
 * external data, a TF.js model's shards) are opened only inside its folder.
 */
export async function openModelFile(file: string, options: OpenFileOptions = {}): Promise<OpenedFile> {
  if (isHttpUrl(file)) return openModelUrl(file, options, httpOptionsFor(file));
  // A Hub file (a pinned hf:// reference from findModel): from the local cache, else the Hub; what it references, inside its repository.
  if (hubReferenceOf(file)) return openModelSource(await openHubSource(file), file, { openSibling: (relative) => openHubSibling(file, relative) }, options);
  const source = await FileSource.open(file);
  const dir = path.dirname(path.resolve(file));
  return openModelSource(source, file, { openSibling: (relative) => openInsideFolder(dir, relative), dir, escapesFolder: (relative) => escapesFolder(dir, relative) }, options);
}

/** Opens the files of one model (the shards of a set, in order); on any failure every file opened so far is closed. */
export async function openModelFiles(files: readonly string[], options: OpenFileOptions = {}): Promise<OpenedFile[]> {
  const opened: OpenedFile[] = [];
  try {
    for (const file of files) opened.push(await openModelFile(file, options));
  } catch (e) {
    await Promise.all(opened.map((o) => o.tensors.close()));
    throw e;
  }
  return opened;
}
