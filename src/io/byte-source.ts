import { IoError } from '../errors.js';

/**
 * Random-access bytes: the one I/O interface every reader is written against.
 * Memory, Node files, Blobs, HTTP URLs and windows of other sources all implement it.
 */
export interface ByteSource {
  /** Total size in bytes. */
  readonly size: number;
  /** What the bytes are, for messages: a path, a URL, `memory`. */
  readonly name: string;
  /**
   * Exactly `length` bytes starting at `offset`; rejects with OutOfRange past the end.
   * The result may be a view into memory the source owns: treat it as read-only.
   */
  read(offset: number, length: number, options?: ReadOptions): Promise<Uint8Array>;
  /** Present on sources that can read without waiting (memory, local files). */
  readSync?(offset: number, length: number): Uint8Array;
  /**
   * Reads `target.byteLength` bytes at `offset` into memory the caller owns (and reuses): present on
   * sources where this saves an allocation per read (local files).
   */
  readInto?(target: Uint8Array, offset: number): Promise<void>;
  /**
   * Gap, in bytes, below which two nearby reads are cheaper done as one larger read
   * (a request's overhead on HTTP, a system call on a file). 0 for memory.
   */
  readonly coalesceGap?: number;
  /**
   * Where the bytes [offset, offset+length) lie in the source this one reads them from, when they are
   * that source's bytes as they are (a window, a wrapper that keeps reads); undefined when they are
   * this source's own. `originOf` follows the chain to the source that holds them.
   */
  origin?(offset: number, length: number): SourceRange | undefined;
  close?(): Promise<void>;
}

/** A place in a source: the bytes from `offset` on. */
export interface SourceRange {
  readonly source: ByteSource;
  readonly offset: number;
}

/**
 * The source that holds the bytes [offset, offset+length) of `source`, and where, through every
 * window and wrapper: two ranges with the same origin are the same bytes, without reading them.
 */
export function originOf(source: ByteSource, offset: number, length: number): SourceRange {
  let at: SourceRange = { source, offset };
  for (;;) {
    checkRange(at.source, at.offset, length);
    const inner = at.source.origin?.(at.offset, length);
    if (inner === undefined) return at;
    at = inner;
  }
}

export interface ReadOptions {
  signal?: AbortSignal;
}

/** Rejects reads that fall outside [0, size); shared by every source. */
export function checkRange(source: { size: number; name: string }, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > source.size) {
    throw new IoError(
      'OutOfRange',
      `${source.name}: read of ${length} bytes at offset ${offset} is outside the source's ${source.size} bytes`,
      { location: `${source.name}@${offset}` },
    );
  }
}

/** Bytes already in memory; reads are zero-copy views. */
export class MemorySource implements ByteSource {
  readonly size: number;
  readonly coalesceGap = 0;

  constructor(
    readonly bytes: Uint8Array,
    readonly name = 'memory',
  ) {
    this.size = bytes.byteLength;
  }

  read(offset: number, length: number): Promise<Uint8Array> {
    try {
      return Promise.resolve(this.readSync(offset, length));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  readSync(offset: number, length: number): Uint8Array {
    checkRange(this, offset, length);
    return this.bytes.subarray(offset, offset + length);
  }
}

/** A window [offset, offset+length) of another source, itself a source (a stored zip entry, a shard). */
export class WindowSource implements ByteSource {
  readonly readSync?: (offset: number, length: number) => Uint8Array;
  readonly readInto?: (target: Uint8Array, offset: number) => Promise<void>;
  readonly coalesceGap: number;

  constructor(
    readonly parent: ByteSource,
    readonly offset: number,
    readonly size: number,
    readonly name = `${parent.name}[${offset}..${offset + size}]`,
  ) {
    checkRange(parent, offset, size);
    this.coalesceGap = parent.coalesceGap ?? 0;
    const parentSync = parent.readSync?.bind(parent);
    if (parentSync) {
      this.readSync = (o: number, l: number) => {
        checkRange(this, o, l);
        return parentSync(this.offset + o, l);
      };
    }
    const parentInto = parent.readInto?.bind(parent);
    if (parentInto) {
      this.readInto = async (target: Uint8Array, o: number) => {
        checkRange(this, o, target.byteLength);
        await parentInto(target, this.offset + o);
      };
    }
  }

  read(offset: number, length: number, options?: ReadOptions): Promise<Uint8Array> {
    try {
      checkRange(this, offset, length);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.parent.read(this.offset + offset, length, options);
  }

  origin(offset: number, length: number): SourceRange {
    checkRange(this, offset, length);
    return { source: this.parent, offset: this.offset + offset };
  }
}

/** A Blob or File (browsers, and Node ≥ 20). */
export class BlobSource implements ByteSource {
  readonly size: number;
  readonly coalesceGap = 64 * 1024;

  constructor(
    readonly blob: Blob,
    readonly name = (blob as { name?: string }).name ?? 'blob',
  ) {
    this.size = blob.size;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this, offset, length);
    return new Uint8Array(await this.blob.slice(offset, offset + length).arrayBuffer());
  }
}

export function isByteSource(x: unknown): x is ByteSource {
  return typeof x === 'object' && x !== null && typeof (x as ByteSource).read === 'function' && typeof (x as ByteSource).size === 'number';
}
