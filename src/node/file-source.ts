import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { IoError, type IoErrorCode } from '../errors.js';
import { checkRange, type ByteSource } from '../io/byte-source.js';

/** Largest single read(2) Node accepts is 2 GiB - 1; reads are split into pieces of this size. */
export const MAX_READ_CHUNK = 1 << 30;

/**
 * How a source is opened: without blocking, so that a FIFO (which would wait for a writer for ever, past
 * any signal) opens at once and is refused by fromFd, as every file that is not a regular one is.
 */
const OPEN_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0);

/**
 * A local file read with positional reads (pread), synchronously or not, into fresh
 * buffers that start at offset 0 of their own ArrayBuffer, so typed-array views are aligned.
 * The size is fixed at open: a file that shrinks afterwards gives an IoError, not short data.
 */
export class FileSource implements ByteSource {
  readonly coalesceGap = 64 * 1024;
  private closed = false;

  private constructor(
    readonly name: string,
    private readonly fd: number,
    readonly size: number,
  ) {}

  static openSync(path: string): FileSource {
    let fd: number;
    try {
      fd = fs.openSync(path, OPEN_FLAGS);
    } catch (cause) {
      throw fileError(path, cause);
    }
    return FileSource.fromFd(path, fd, () => fs.fstatSync(fd));
  }

  static async open(path: string): Promise<FileSource> {
    let fd: number;
    try {
      fd = await new Promise<number>((resolve, reject) => fs.open(path, OPEN_FLAGS, (err, f) => (err ? reject(err) : resolve(f))));
    } catch (cause) {
      throw fileError(path, cause);
    }
    let stat: fs.Stats;
    try {
      stat = await new Promise<fs.Stats>((resolve, reject) => fs.fstat(fd, (err, s) => (err ? reject(err) : resolve(s))));
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
    return FileSource.fromFd(path, fd, () => stat);
  }

  /** Wraps an open descriptor, closing it if it is not a regular readable file. */
  private static fromFd(path: string, fd: number, stat: () => fs.Stats): FileSource {
    try {
      const s = stat();
      if (s.isDirectory()) throw new IoError('IsADirectory', `${path} is a directory, not a file`, { location: path });
      if (!s.isFile()) throw new IoError('NotAFile', `${path} is not a regular file (a FIFO, socket or device): it has no size to read within; nothing was read`, { location: path });
      return new FileSource(path, fd, s.size);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  readSync(offset: number, length: number): Uint8Array {
    const out = allocate(length);
    this.readIntoSync(out, offset);
    return out;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const out = allocate(length);
    await this.readInto(out, offset);
    return out;
  }

  /** Fills a caller's buffer from `offset`, synchronously. */
  readIntoSync(target: Uint8Array, offset: number): void {
    this.check(offset, target.byteLength);
    let done = 0;
    while (done < target.byteLength) {
      const n = fs.readSync(this.fd, target, done, Math.min(MAX_READ_CHUNK, target.byteLength - done), offset + done);
      if (n === 0) throw this.shrunk(offset + done);
      done += n;
    }
  }

  /** Fills a caller's buffer from `offset` (used by streaming copies to reuse one buffer). */
  async readInto(target: Uint8Array, offset: number): Promise<void> {
    this.check(offset, target.byteLength);
    let done = 0;
    while (done < target.byteLength) {
      const n = await new Promise<number>((resolve, reject) =>
        fs.read(this.fd, target, done, Math.min(MAX_READ_CHUNK, target.byteLength - done), offset + done, (err, bytes) => (err ? reject(err) : resolve(bytes))),
      );
      if (n === 0) throw this.shrunk(offset + done);
      done += n;
    }
  }

  async close(): Promise<void> {
    this.closeSync();
  }

  closeSync(): void {
    if (this.closed) return;
    this.closed = true;
    fs.closeSync(this.fd);
  }

  private check(offset: number, length: number): void {
    if (this.closed) throw new IoError('IoError', `${this.name} is closed`, { location: this.name });
    checkRange(this, offset, length);
  }

  private shrunk(at: number): IoError {
    return new IoError('SourceChanged', `${this.name} ended at byte ${at}, before its size at open (${this.size}): the file changed while being read`, {
      location: `${this.name}@${at}`,
    });
  }
}

/** Uninitialised memory (it is overwritten at once) in an ArrayBuffer of its own, so views are aligned. */
function allocate(length: number): Uint8Array {
  const b = Buffer.allocUnsafeSlow(length);
  return new Uint8Array(b.buffer, b.byteOffset, length);
}

/**
 * An operating-system error as a coded IoError that names the path: never a bare errno and a stack.
 * `writing` says the path was being created or written (ENOENT then means its folder is missing).
 */
export function fileError(path: string, cause: unknown, writing = false): IoError {
  if (cause instanceof IoError) return cause;
  const errno = (cause as NodeJS.ErrnoException | undefined)?.code;
  const io = (code: IoErrorCode, message: string): IoError => new IoError(code, message, { cause, location: path });
  switch (errno) {
    case 'ENOENT':
      if (/^https?:\/\//i.test(path)) return io('NotFound', `${path} is a URL: this command reads local files only (inspect, validate and scan read URLs); download it first`);
      return writing ? io('NotFound', `cannot write ${path}: its folder ${nodePath.dirname(path)} does not exist`) : io('NotFound', `${path}: no such file`);
    case 'EACCES':
    case 'EPERM':
      return io('PermissionDenied', `${path}: permission denied (cannot ${writing ? 'write' : 'read'} it)`);
    case 'ENOSPC':
    case 'EDQUOT':
      return io('NoSpace', `cannot write ${path}: no space left on the device`);
    case 'EROFS':
      return io('ReadOnlyFileSystem', `cannot write ${path}: the file system is read-only`);
    case 'EISDIR':
      return io('IsADirectory', `${path} is a directory, not a file`);
    case 'ENOTDIR':
      return io('NotADirectory', `${path}: a part of the path is a file, not a directory`);
    case 'EMFILE':
    case 'ENFILE':
      return io('TooManyOpenFiles', `${path}: too many open files (raise the limit with ulimit -n)`);
    case 'EEXIST':
      return io('OutputExists', `${path} already exists`);
    default:
      return io('IoError', `${path}: ${(cause as Error)?.message ?? String(cause)}`);
  }
}

/**
 * Creates `dir` and its missing parents. A regular file in the way is NotADirectory naming it (mkdir
 * reports EEXIST when `dir` itself is a file, which would otherwise read as "already exists").
 */
export function makeFolder(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException | undefined)?.code === 'EEXIST') {
      throw new IoError('NotADirectory', `cannot write into ${dir}: it is a file, not a folder`, { cause, location: dir });
    }
    throw fileError(dir, cause, true);
  }
}

/** True when a path given for an output names a folder: it ends with a separator, or is an existing folder. */
export function namesFolder(p: string): boolean {
  if (p.endsWith('/') || p.endsWith(nodePath.sep)) return true;
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * What a folder entry is, following a symbolic link (model caches such as Hugging Face's link each
 * file of a snapshot to a blob): 'file', 'dir', or 'other' (a dangling link, a device, a socket…).
 */
export function entryKind(p: string, e: fs.Dirent): 'file' | 'dir' | 'other' {
  if (e.isFile()) return 'file';
  if (e.isDirectory()) return 'dir';
  if (!e.isSymbolicLink()) return 'other';
  try {
    const s = fs.statSync(p);
    return s.isFile() ? 'file' : s.isDirectory() ? 'dir' : 'other';
  } catch {
    return 'other';
  }
}

/** A folder walk enters each real folder once (a link to a parent would loop forever). */
export function firstVisit(visited: Set<string>, dir: string): boolean {
  let real: string;
  try {
    real = fs.realpathSync(dir);
  } catch {
    return false;
  }
  if (visited.has(real)) return false;
  visited.add(real);
  return true;
}

/** True when two paths name one file (the same path, or one file under two names: links). */
export function sameFile(a: string, b: string): boolean {
  if (nodePath.resolve(a) === nodePath.resolve(b)) return true;
  try {
    const x = fs.statSync(a);
    const y = fs.statSync(b);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

/** An error of the operating system (it has an errno code such as ENOENT and a syscall). */
export function isOsError(e: unknown): e is NodeJS.ErrnoException {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && /^E[A-Z0-9]+$/.test((e as NodeJS.ErrnoException).code!) && 'syscall' in e;
}
