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
let exitHookInstalled = false;

/** Records a temporary file so that it is removed if the process exits before it is committed. */
export function trackTemp(temp: string): void {
  activeTemps.add(temp);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const t of activeTemps) {
        try {
          fs.unlinkSync(t);
        } catch {
          // already gone
        }
      }
    });
  }
}

export function untrack(temp: string): void {
  activeTemps.delete(temp);
}

/** A hidden temporary name in the target's own directory (rename is only atomic within one file system). */
export function tempPathFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

export interface CommitOptions {
  /** Replace an existing target (default true). When false an existing target is an OutputExists error. */
  overwrite?: boolean;
}

/** Creates the temporary file exclusively; returns its path and descriptor. */
export function createTempSync(target: string): { temp: string; fd: number } {
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
