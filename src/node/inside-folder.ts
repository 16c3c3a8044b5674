import * as fs from 'node:fs';
import * as path from 'node:path';
import { TensorsafeError } from '../errors.js';
import type { ByteSource } from '../io/byte-source.js';
import { FileSource } from './file-source.js';

/**
 * Why `relative` (a path a model file references, judged lexically by its format's rules) is read from
 * outside `dir` once symbolic links are resolved, or undefined: inside, missing, or lexically outside
 * (absolute, `..`: the rules report those). What `scan` checks of a local TF.js model's shards.
 */
export async function escapesFolder(dir: string, relative: string): Promise<string | undefined> {
  if (path.isAbsolute(relative) || relative.split(/[\\/]/).includes('..') || relative.includes('\0') || /^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(relative)) return undefined;
  let root: string;
  let target: string;
  try {
    root = await fs.promises.realpath(dir);
    target = await fs.promises.realpath(path.join(dir, relative));
  } catch {
    return undefined;
  }
  const inside = path.relative(root, target);
  if (inside === '' || inside === '..' || inside.startsWith(`..${path.sep}`) || path.isAbsolute(inside)) return `is a symbolic link (or goes through one) to ${target}, outside the model's folder`;
  if (!(await fs.promises.stat(target)).isFile()) return 'is not a regular file (a FIFO, socket, device or folder)';
  return undefined;
}

/**
 * Opens a file a model references (ONNX external data) by its path relative to the model's folder,
 * only if it is inside that folder once every symbolic link is resolved: a relative name that is a
 * link to /etc/passwd reads nothing. The format has already refused absolute paths and `..`.
 */
export async function openInsideFolder(dir: string, relative: string): Promise<ByteSource> {
  const refuse = (why: string): TensorsafeError =>
    new TensorsafeError('ExternalDataRefused', `external data ${JSON.stringify(relative)} ${why}; only files inside the model's folder ${dir} are read`, { location: path.join(dir, relative) });
  if (path.isAbsolute(relative) || relative.split(/[\\/]/).includes('..') || relative.includes('\0')) throw refuse('is not a path inside the folder');
  let root: string;
  let target: string;
  try {
    root = await fs.promises.realpath(dir);
    target = await fs.promises.realpath(path.join(dir, relative));
  } catch (cause) {
    throw new TensorsafeError('ExternalDataRefused', `external data ${JSON.stringify(relative)} cannot be found in the model's folder ${dir}`, { location: path.join(dir, relative), cause });
  }
  const inside = path.relative(root, target);
  if (inside === '' || inside === '..' || inside.startsWith(`..${path.sep}`) || path.isAbsolute(inside)) throw refuse(`resolves to ${target}, outside the folder`);
  // A FIFO would block the open until a writer came; a device has no size to read within.
  if (!(await fs.promises.stat(target)).isFile()) throw refuse('is not a regular file (a FIFO, socket, device or folder)');
  return FileSource.open(target);
}
