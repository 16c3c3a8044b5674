import * as fs from 'node:fs';
import * as path from 'node:path';
import { IoError } from '../errors.js';
import type { ByteSink } from '../io/byte-sink.js';
import { commitTempSync, discardTempSync, outputExists, removeStaleTemps, STAGING_BYTES, tempPathFor, trackTemp, type CommitOptions } from './atomic-file.js';
import { fileError } from './file-source.js';

export interface FileSinkOptions extends CommitOptions {
  /** fsync before the rename, so the file survives a power loss too (slower). Default false. */
  fsync?: boolean;
  /**
   * Leave the finished file under its temporary name at `close` (readable at `tempPath`), and rename
   * it into place only at `commit()`: to check a file before it replaces anything.
   */
  deferCommit?: boolean;
}

/** Buffers per writev call (IOV_MAX on Linux is 1024). */
const WRITEV_MAX = 1024;

/**
 * A ByteSink writing to a temporary file beside `target`, renamed into place by `close`.
 * Sequential writes are staged into 1 MiB pieces; large chunks are written from the caller's
 * memory directly. `writeAt` allows writing tensors in any order.
 */
export class FileSink implements ByteSink {
  private readonly staging = new Uint8Array(STAGING_BYTES);
  private staged = 0;
  /** File position of the first staged byte. */
  private position = 0;
  private done = false;
  private committed = false;
  /** End of the furthest byte written by `writeAt` (0 if none): writes that may land below the append end. */
  private positionalEnd = 0;

  private constructor(
    readonly name: string,
    private readonly temp: string,
    private readonly handle: fs.promises.FileHandle,
    private readonly options: FileSinkOptions,
  ) {}

  static async create(target: string, options: FileSinkOptions = {}): Promise<FileSink> {
    if (options.overwrite === false && fs.existsSync(target)) throw outputExists(target);
    removeStaleTemps(path.dirname(target));
    const temp = tempPathFor(target);
    let handle: fs.promises.FileHandle;
    try {
      handle = await fs.promises.open(temp, 'wx', 0o644);
    } catch (cause) {
      throw fileError(target, cause, true);
    }
    trackTemp(temp);
    return new FileSink(target, temp, handle, options);
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.check();
    if (chunk.byteLength >= STAGING_BYTES / 2) {
      await this.flush();
      await this.writeAll(chunk, this.position);
      this.position += chunk.byteLength;
      return;
    }
    if (this.staged + chunk.byteLength > STAGING_BYTES) await this.flush();
    this.staging.set(chunk, this.staged);
    this.staged += chunk.byteLength;
  }

  /**
   * Appends several chunks with as few system calls as possible (writev, up to WRITEV_MAX buffers at
   * a time): for files of many tensors already in memory.
   */
  async writeMany(chunks: readonly Uint8Array[]): Promise<void> {
    this.check();
    await this.flush();
    for (let i = 0; i < chunks.length; i += WRITEV_MAX) {
      let batch = chunks.slice(i, i + WRITEV_MAX).filter((c) => c.byteLength > 0);
      while (batch.length > 0) {
        let written: number;
        try {
          ({ bytesWritten: written } = await this.handle.writev(batch, this.position));
        } catch (cause) {
          throw fileError(this.name, cause);
        }
        this.position += written;
        // A short writev: drop what was written and go on with the rest.
        while (batch.length > 0 && written >= batch[0]!.byteLength) {
          written -= batch[0]!.byteLength;
          batch = batch.slice(1);
        }
        if (written > 0) batch = [batch[0]!.subarray(written), ...batch.slice(1)];
      }
    }
  }

  async writeAt(chunk: Uint8Array, position: number): Promise<void> {
    this.check();
    await this.flush();
    await this.writeAll(chunk, position);
    this.position = Math.max(this.position, position + chunk.byteLength);
    this.positionalEnd = Math.max(this.positionalEnd, position + chunk.byteLength);
  }

  /**
   * Writes out what is staged and gives the file its final length `size` now (the rest reads as
   * zeros until written), so that a reader can open it and parse its header while its data is
   * still being appended: see convert/write-checked.ts.
   */
  async reserve(size: number): Promise<void> {
    this.check();
    await this.flush();
    try {
      await this.handle.truncate(size);
    } catch (cause) {
      throw fileError(this.name, cause);
    }
  }

  /** End of the bytes that are in the file (written, not staged), for sequential writes. */
  get flushedEnd(): number {
    return this.position;
  }

  /** End of the furthest byte written out of order by `writeAt` (0 if none). */
  get rewrittenEnd(): number {
    return this.positionalEnd;
  }

  async close(): Promise<void> {
    this.check();
    this.done = true;
    try {
      await this.flush();
      if (this.options.fsync) await this.handle.sync();
      await this.handle.close();
    } catch (cause) {
      await this.handle.close().catch(() => undefined);
      discardTempSync(this.temp);
      throw cause instanceof IoError ? cause : fileError(this.name, cause);
    }
    if (!this.options.deferCommit) this.commit();
  }

  /** Where the bytes are until they are committed. */
  get tempPath(): string {
    return this.temp;
  }

  /** Renames the closed file into place (only needed with `deferCommit`). */
  commit(): void {
    if (this.committed) return;
    this.committed = true;
    commitTempSync(this.temp, this.name, this.options);
  }

  async abort(): Promise<void> {
    if (this.committed) return;
    if (this.done) {
      discardTempSync(this.temp);
      return;
    }
    this.done = true;
    await this.handle.close().catch(() => undefined);
    discardTempSync(this.temp);
  }

  private async flush(): Promise<void> {
    if (this.staged === 0) return;
    const n = this.staged;
    this.staged = 0;
    await this.writeAll(this.staging.subarray(0, n), this.position);
    this.position += n;
  }

  private async writeAll(bytes: Uint8Array, position: number): Promise<void> {
    let done = 0;
    try {
      while (done < bytes.byteLength) {
        const { bytesWritten } = await this.handle.write(bytes, done, bytes.byteLength - done, position + done);
        done += bytesWritten;
      }
    } catch (cause) {
      throw fileError(this.name, cause);
    }
  }

  private check(): void {
    if (this.done) throw new IoError('IoError', `${this.name}: write after close or abort`, { location: this.name });
  }
}
