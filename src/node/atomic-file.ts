import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { IoError } from '../errors.js';
import { fileError } from './file-source.js';

/**
 * Every file tensorsafe writes is first written to a temporary file beside its target and
 * then renamed into place, so a failure or a kill never leaves a partial file under the
 * target name and never damages an existing one. Temporary files still open when the
 * process exits are removed.
 */

const activeTemps = new Set<string>();
/** Folders written into by worker threads: their 'exit' hooks never run when the main thread exits. */
const workerDirs = new Map<string, number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', removeOwnTemps);
}

/** The exit hook: this thread's temporary files, and this process's in the folders its workers write into. */
function removeOwnTemps(): void {
  for (const t of activeTemps) {
    try {
      fs.unlinkSync(t);
    } catch {
      // already gone
    }
  }
  for (const dir of workerDirs.keys()) {
    for (const name of tempsIn(dir)) {
      if (parseTempName(name)?.pid !== process.pid) continue;
      try {
        fs.unlinkSync(path.join(dir, name));
      } catch {
        // already gone
      }
    }
  }
}

/** Records a temporary file so that it is removed if the process exits before it is committed. */
export function trackTemp(temp: string): void {
  activeTemps.add(temp);
  installExitHook();
}

export function untrack(temp: string): void {
  activeTemps.delete(temp);
}

/**
 * Records that worker threads of this process write into `dir`: if the process exits before
 * `untrackWorkerDir`, the temporary files of this process's naming in `dir` are removed (a worker's
 * own exit hook does not run when the main thread calls process.exit). Main thread only.
 */
export function trackWorkerDir(dir: string): void {
  const key = path.resolve(dir);
  workerDirs.set(key, (workerDirs.get(key) ?? 0) + 1);
  installExitHook();
}

export function untrackWorkerDir(dir: string): void {
  const key = path.resolve(dir);
  const n = (workerDirs.get(key) ?? 0) - 1;
  if (n > 0) workerDirs.set(key, n);
  else workerDirs.delete(key);
}

/** A hidden temporary name in the target's own directory (rename is only atomic within one file system). */
export function tempPathFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(TEMP_RANDOM_BYTES).toString('hex')}.tmp`);
}

/** Random bytes in a temporary name: two writers of one target in one process never collide. */
const TEMP_RANDOM_BYTES = 6;
/** tempPathFor's naming, and only it: `.<name>.<pid>.<12 hex>.tmp`. */
const TEMP_NAME = new RegExp(`^\\.(.+)\\.([1-9][0-9]{0,9})\\.([0-9a-f]{${TEMP_RANDOM_BYTES * 2}})\\.tmp$`);

/** The target name and writer pid of a temporary file of tensorsafe's naming, or undefined for any other name. */
export function parseTempName(name: string): { target: string; pid: number } | undefined {
  const m = TEMP_NAME.exec(name);
  return m ? { target: m[1]!, pid: Number(m[2]) } : undefined;
}

function tempsIn(dir: string): string[] {
  try {
    return fs.readdirSync(dir).filter((name) => TEMP_NAME.test(name));
  } catch {
    return [];
  }
}

/** Whether a process of this pid exists (EPERM: it exists, owned by someone else). */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sweptDirs = new Set<string>();

/**
 * Removes the temporary files a killed tensorsafe (kill -9, power loss) left in `dir`: regular files
 * of tempPathFor's naming whose writer pid is not a live process. Files of any other naming, of a live
 * pid, and of this process are never touched. Done once per folder per process, before the first write
 * into it; returns the names removed.
 *
 * Limit: the pid is only meaningful on this machine and in this pid namespace; a folder shared with
 * another machine or container while it writes there could lose that writer's temporary file.
 */
export function removeStaleTemps(dir: string): string[] {
  const key = path.resolve(dir);
  if (sweptDirs.has(key)) return [];
  sweptDirs.add(key);
  const removed: string[] = [];
  for (const name of tempsIn(key)) {
    const pid = parseTempName(name)!.pid;
    if (pid === process.pid || pidAlive(pid)) continue;
    const file = path.join(key, name);
    try {
      if (!fs.lstatSync(file).isFile()) continue;
      fs.unlinkSync(file);
      removed.push(name);
    } catch {
      // gone meanwhile, or not ours to remove
    }
  }
  return removed;
}

export interface CommitOptions {
  /** Replace an existing target (default true). When false an existing target is an OutputExists error. */
  overwrite?: boolean;
}

/** Creates the temporary file exclusively; returns its path and descriptor. */
export function createTempSync(target: string): { temp: string; fd: number } {
  removeStaleTemps(path.dirname(target));
  const temp = tempPathFor(target);
  try {
    const fd = fs.openSync(temp, 'wx', 0o644);
    trackTemp(temp);
    return { temp, fd };
  } catch (cause) {
    throw fileError(target, cause, true);
  }
}

/** Moves the finished temporary file onto the target: rename, or link + unlink when overwriting is not allowed. */
export function commitTempSync(temp: string, target: string, options: CommitOptions = {}): void {
  try {
    if (options.overwrite === false) {
      try {
        fs.linkSync(temp, target);
      } catch (cause) {
        if ((cause as NodeJS.ErrnoException).code === 'EEXIST') throw outputExists(target);
        throw cause;
      }
      fs.unlinkSync(temp);
    } else {
      fs.renameSync(temp, target);
    }
    untrack(temp);
  } catch (cause) {
    discardTempSync(temp);
    if (cause instanceof IoError) throw cause;
    throw fileError(target, cause);
  }
}

export function discardTempSync(temp: string): void {
  try {
    fs.unlinkSync(temp);
  } catch {
    // never created or already gone
  }
  untrack(temp);
}

export function outputExists(target: string): IoError {
  return new IoError('OutputExists', `${target} already exists and was left as it is`, { location: target });
}

/**
 * Writes the pieces in order to `target` atomically, coalescing small pieces into a 1 MiB
 * buffer and writing large ones straight from their memory (no copy).
 */
export function writeFileAtomicSync(target: string, pieces: Iterable<Uint8Array>, options: CommitOptions & { fsync?: boolean } = {}): void {
  if (options.overwrite === false && fs.existsSync(target)) throw outputExists(target);
  const { temp, fd } = createTempSync(target);
  try {
    const staging = new Uint8Array(STAGING_BYTES);
    let staged = 0;
    const flush = (): void => {
      writeAllSync(fd, staging.subarray(0, staged));
      staged = 0;
    };
    for (const piece of pieces) {
      if (piece.byteLength >= STAGING_BYTES / 2) {
        if (staged > 0) flush();
        writeAllSync(fd, piece);
      } else {
        if (staged + piece.byteLength > STAGING_BYTES) flush();
        staging.set(piece, staged);
        staged += piece.byteLength;
      }
    }
    if (staged > 0) flush();
    if (options.fsync) fs.fsyncSync(fd);
    fs.closeSync(fd);
  } catch (cause) {
    try {
      fs.closeSync(fd);
    } catch {
      // already closed
    }
    discardTempSync(temp);
    throw cause instanceof IoError ? cause : fileError(target, cause);
  }
  commitTempSync(temp, target, options);
}

/** Small writes are gathered into a buffer of this size: fewer system calls for many small tensors. */
export const STAGING_BYTES = 1 << 20;

function writeAllSync(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.byteLength) done += fs.writeSync(fd, bytes, done, bytes.byteLength - done);
}
