import { IoError, TensorsafeError } from '../../errors.js';
import { checkRange, type ByteSource } from '../../io/byte-source.js';
import type { OutputSink } from '../../convert/pipeline.js';
import type { DirectoryHandle, SyncAccessHandle } from '../fsa.js';

/**
 * The page's temporary file: an output written into the Origin Private File System through a
 * synchronous access handle (workers only), read back through the same handle while it is written
 * (convert/write-checked.ts), as node/file-sink.ts does with a temporary file on disk. Nothing is
 * delivered from it until the whole conversion is checked and committed; `commit` only closes the
 * handle (the file is then handed over as it is), `abort` closes it too, and the job's folder is
 * removed by its owner (worker/convert.ts).
 */

/** Small appends (headers, an npz member's local header) are gathered into one write of at most this many bytes. */
const STAGING_BYTES = 1 << 20;
/** Appends of at least this many bytes go straight to the file, from the caller's memory. */
const DIRECT_WRITE_BYTES = STAGING_BYTES / 2;

export class OpfsSink implements OutputSink {
  private readonly staging = new Uint8Array(STAGING_BYTES);
  private staged = 0;
  /** File position of the first staged byte. */
  private position = 0;
  private positionalEnd = 0;
  private open = true;
  private closed = false;

  private constructor(
    readonly name: string,
    private readonly handle: SyncAccessHandle,
    private readonly signal: AbortSignal | undefined,
  ) {}

  /** A new, empty file `name` in `folder`. */
  static async create(folder: DirectoryHandle, name: string, signal?: AbortSignal): Promise<OpfsSink> {
    const file = await folder.getFileHandle(name, { create: true });
    const handle = await file.createSyncAccessHandle();
    handle.truncate(0);
    return new OpfsSink(name, handle, signal);
  }

  write(chunk: Uint8Array): Promise<void> {
    try {
      this.check();
      if (chunk.byteLength >= DIRECT_WRITE_BYTES) {
        this.flush();
        this.writeAll(chunk, this.position);
        this.position += chunk.byteLength;
      } else {
        if (this.staged + chunk.byteLength > STAGING_BYTES) this.flush();
        this.staging.set(chunk, this.staged);
        this.staged += chunk.byteLength;
      }
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  writeAt(chunk: Uint8Array, position: number): Promise<void> {
    try {
      this.check();
      this.flush();
      this.writeAll(chunk, position);
      this.position = Math.max(this.position, position + chunk.byteLength);
      this.positionalEnd = Math.max(this.positionalEnd, position + chunk.byteLength);
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  reserve(size: number): Promise<void> {
    try {
      this.check();
      this.flush();
      this.handle.truncate(size);
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e instanceof TensorsafeError ? e : this.error(e));
    }
  }

  get flushedEnd(): number {
    return this.position;
  }

  get rewrittenEnd(): number {
    return this.positionalEnd;
  }

  /** Ends the writes; the handle stays open so that the file can be read back (`source`) until commit or abort. */
  close(): Promise<void> {
    try {
      this.check();
      this.flush();
      this.handle.flush();
      this.closed = true;
      return Promise.resolve();
    } catch (e) {
      this.release();
      return Promise.reject(e instanceof TensorsafeError ? e : this.error(e));
    }
  }

  /** The file is final: the handle is closed, so that it can be read as a File (for delivery). */
  commit(): void {
    this.release();
  }

  abort(): Promise<void> {
    this.closed = true;
    this.release();
    return Promise.resolve();
  }

  /** What is in the file now, as a source read through the same handle (reads check the job's signal too). */
  source(): Promise<ByteSource> {
    const handle = this.handle;
    const signal = this.signal;
    const name = this.name;
    const size = handle.getSize();
    const readInto = (target: Uint8Array, offset: number): void => {
      if (signal?.aborted) throw aborted(name);
      checkRange(source, offset, target.byteLength);
      const n = handle.read(target, { at: offset });
      if (n !== target.byteLength) throw new IoError('IoError', `${name}: read ${n} of ${target.byteLength} bytes at ${offset}`, { location: `${name}@${offset}` });
    };
    const source: ByteSource = {
      name,
      size,
      coalesceGap: 64 * 1024,
      readSync: (offset, length) => {
        const out = new Uint8Array(length);
        readInto(out, offset);
        return out;
      },
      read: (offset, length) => {
        try {
          return Promise.resolve(source.readSync!(offset, length));
        } catch (e) {
          return Promise.reject(e);
        }
      },
      readInto: (target, offset) => {
        try {
          readInto(target, offset);
          return Promise.resolve();
        } catch (e) {
          return Promise.reject(e);
        }
      },
      close: () => Promise.resolve(),
    };
    return Promise.resolve(source);
  }

  private release(): void {
    if (!this.open) return;
    this.open = false;
    try {
      this.handle.close();
    } catch {
      // already closed with its file
    }
  }

  private flush(): void {
    if (this.staged === 0) return;
    const n = this.staged;
    this.staged = 0;
    this.writeAll(this.staging.subarray(0, n), this.position);
    this.position += n;
  }

  private writeAll(bytes: Uint8Array, at: number): void {
    let written: number;
    try {
      written = this.handle.write(bytes, { at });
    } catch (e) {
      throw this.error(e);
    }
    if (written !== bytes.byteLength) throw new IoError('NoSpace', `${this.name}: only ${written} of ${bytes.byteLength} bytes could be written to the page's storage (is the disk full?)`, { location: this.name });
  }

  private check(): void {
    if (this.signal?.aborted) throw aborted(this.name);
    if (this.closed || !this.open) throw new IoError('IoError', `${this.name}: write after close or abort`, { location: this.name });
  }

  private error(e: unknown): IoError {
    const quota = e instanceof DOMException && e.name === 'QuotaExceededError';
    return new IoError(quota ? 'NoSpace' : 'IoError', `${this.name}: ${quota ? "the page's storage is full (the browser's quota for this site)" : 'could not write to the page\'s storage'}: ${e instanceof Error ? e.message : String(e)}`, { location: this.name });
  }
}

function aborted(name: string): IoError {
  return new IoError('Aborted', `the conversion was cancelled while writing ${name}; nothing was kept`, { location: name });
}
