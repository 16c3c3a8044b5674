import { TensorsafeError } from '../errors.js';
import type { SourceRange } from './byte-source.js';

/**
 * Where written bytes go. A sink is written sequentially, then either committed
 * (`close`) or discarded (`abort`); a file sink writes to a temporary file and
 * renames it into place on close, so a failed write never leaves a partial file.
 */
export interface ByteSink {
  /** What the bytes are written to, for messages. */
  readonly name: string;
  /** Appends bytes. The sink may keep a reference until the returned promise settles. */
  write(chunk: Uint8Array): Promise<void>;
  /** Writes at an absolute position; present on sinks that allow it (memory, files). */
  writeAt?(chunk: Uint8Array, position: number): Promise<void>;
  /**
   * Appends `length` bytes of a source by reference, without reading them, when the sink can (the
   * web page assembles its download from the dropped file's own bytes); returns false, having
   * appended nothing, when it cannot: the caller then writes the bytes.
   */
  appendStored?(from: SourceRange, length: number): boolean;
  /** Commits what was written. */
  close(): Promise<void>;
  /** Discards what was written; safe to call more than once, and after a failure. */
  abort(): Promise<void>;
}

/** Collects bytes in memory; `bytes` holds the result after `close`. */
export class MemorySink implements ByteSink {
  readonly name = 'memory';
  private buffer: Uint8Array;
  private length = 0;
  private closed = false;

  /** `expectedSize` preallocates the buffer so that no reallocation happens. */
  constructor(expectedSize = 0) {
    this.buffer = new Uint8Array(expectedSize);
  }

  write(chunk: Uint8Array): Promise<void> {
    return this.writeAt(chunk, this.length);
  }

  writeAt(chunk: Uint8Array, position: number): Promise<void> {
    const end = position + chunk.byteLength;
    if (end > this.buffer.byteLength) {
      const grown = new Uint8Array(Math.max(end, this.buffer.byteLength * 2));
      grown.set(this.buffer.subarray(0, this.length));
      this.buffer = grown;
    }
    this.buffer.set(chunk, position);
    if (end > this.length) this.length = end;
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  abort(): Promise<void> {
    this.buffer = new Uint8Array(0);
    this.length = 0;
    return Promise.resolve();
  }

  /** The written bytes (a view, not a copy, when the size was known in advance). */
  get bytes(): Uint8Array {
    if (!this.closed) throw new TensorsafeError('IncompleteWrite', 'MemorySink: bytes read before close()');
    return this.length === this.buffer.byteLength ? this.buffer : this.buffer.subarray(0, this.length);
  }
}
