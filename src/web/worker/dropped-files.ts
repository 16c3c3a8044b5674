import { TensorsafeError } from '../../errors.js';
import type { ByteSource } from '../../io/byte-source.js';
import { isInsideFolder } from '../../model/model-files.js';
import { ReadAheadSource } from './read-ahead.js';
import type { PickedFile } from '../protocol.js';

/**
 * What the user dropped or picked, as a folder tree of Files by path (`model/pytorch_model.bin`):
 * the files a model references (shards, external data, a package's blobs) are looked up here,
 * relative to the model's own folder, and only here: nothing else on the machine can be reached.
 */
export class DroppedFiles {
  private readonly byPath = new Map<string, File>();

  constructor(files: readonly PickedFile[]) {
    for (const { file, path } of files) this.byPath.set(normalize(path), file);
  }

  get paths(): string[] {
    return [...this.byPath.keys()].sort();
  }

  get(path: string): File | undefined {
    return this.byPath.get(normalize(path));
  }

  /**
   * Opens `relative` (a path a model file at `from` names) inside `from`'s folder. Absolute paths,
   * `..`, URLs and names that were not dropped are refused, saying what to drop.
   */
  openSibling(from: string, relative: string, onOpen?: (path: string) => void): Promise<ByteSource> {
    const refuse = (why: string): TensorsafeError =>
      new TensorsafeError('ExternalDataRefused', `${JSON.stringify(relative)} (named by ${from}) ${why}`, { location: relative });
    if (!isInsideFolder(relative)) {
      return Promise.reject(refuse('is not a path inside the model\'s folder; only files beside it are read'));
    }
    const path = joinPath(dirName(from), relative);
    const file = this.byPath.get(path);
    if (file === undefined) return Promise.reject(refuse(`was not dropped: drop the whole folder holding ${baseOf(from)} and its files`));
    onOpen?.(path);
    return Promise.resolve(new ReadAheadSource(file, path));
  }
}

/** `a/./b//c` → `a/b/c`, with `/` separators and no leading slash. */
export function normalize(path: string): string {
  return path.split(/[\\/]+/).filter((p) => p !== '' && p !== '.').join('/');
}

export function dirName(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

export function baseOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export function joinPath(dir: string, relative: string): string {
  return normalize(dir === '' ? relative : `${dir}/${relative}`);
}
