import { MemorySource, WindowSource, type ByteSource } from '../../io/byte-source.js';
import { crc32 } from './crc32.js';
import type { ZipError } from './errors.js';
import { InflateProblem } from './inflate-problem.js';
import { ZIP_READ_CHUNK_BYTES } from './limits.js';
import { quoteName, zipError } from './report.js';

/** Compression methods this reader decodes. */
export const METHOD_STORED = 0;
export const METHOD_DEFLATE = 8;
/** Read in non-strict archives only (scanners): Python's zipfile reads them (np.load of an .npz), torch's miniz does not. */
export const METHOD_BZIP2 = 12;
export const METHOD_LZMA = 14;

/** The compression methods an archive opened so reads. */
export function readableMethod(method: number, strict: boolean): boolean {
  return method === METHOD_STORED || method === METHOD_DEFLATE || (!strict && (method === METHOD_BZIP2 || method === METHOD_LZMA));
}

/** General-purpose flag bits. */
export const FLAG_ENCRYPTED = 0x1;
export const FLAG_DATA_DESCRIPTOR = 0x8;
export const FLAG_PATCHED = 0x20;
export const FLAG_STRONG_ENCRYPTION = 0x40;

/** What an entry needs from its archive. */
export interface EntryContext {
  readonly source: ByteSource;
  readonly maxInflatedBytes: number;
  /** Strict archives read stored and deflate entries only. */
  readonly strict?: boolean;
}

/** The fields an entry is made from (the central directory's, checked against the local header). */
export interface EntryFields {
  index: number;
  name: string;
  localName: string;
  method: number;
  flags: number;
  localFlags: number;
  compressedSize: number;
  size: number;
  crc32: number;
  localHeaderOffset: number;
  dataOffset: number;
  zip64: boolean;
  externalAttributes: number;
  versionMadeBy: number;
  problem: ZipError | undefined;
}

/**
 * One archive member. Sizes and CRC are the central directory's; offsets are absolute offsets in the
 * source (they differ from the recorded ones only when bytes were prepended to the archive).
 *
 * Non-strict archives read entries the way torch's miniz does: the encryption and patched-data flags
 * are ignored and the bytes are read as they are, so that a scanner sees what a loader would load.
 */
export class ZipEntry {
  /** Position in the central directory. */
  readonly index: number;
  /** The central directory's name: UTF-8 under flag 0x800, CP437 otherwise. */
  readonly name: string;
  /** The name as written in the local header ('' when the local header could not be read). */
  readonly localName: string;
  /** 0 stored, 8 deflate (12 bzip2 and 14 LZMA in non-strict archives); anything else cannot be read. */
  readonly method: number;
  /** The central directory's general-purpose flags. */
  readonly flags: number;
  /** The local header's general-purpose flags (equal to `flags` in a sound archive). */
  readonly localFlags: number;
  readonly compressedSize: number;
  /** Uncompressed size. */
  readonly size: number;
  /** The central directory's CRC-32 (torch may write 0 when it skips CRCs). */
  readonly crc32: number;
  /** Absolute offset of the local header. */
  readonly localHeaderOffset: number;
  /** Absolute offset of the (compressed) data: the local header's offset + 30 + name + extra lengths. -1 when unknown. */
  readonly dataOffset: number;
  /** The entry used ZIP64 fields. */
  readonly zip64: boolean;
  readonly externalAttributes: number;
  readonly versionMadeBy: number;
  /** Why the data cannot be read at all (non-strict archives only), or undefined. */
  readonly problem: ZipError | undefined;

  constructor(
    private readonly context: EntryContext,
    fields: EntryFields,
  ) {
    this.index = fields.index;
    this.name = fields.name;
    this.localName = fields.localName;
    this.method = fields.method;
    this.flags = fields.flags;
    this.localFlags = fields.localFlags;
    this.compressedSize = fields.compressedSize;
    this.size = fields.size;
    this.crc32 = fields.crc32;
    this.localHeaderOffset = fields.localHeaderOffset;
    this.dataOffset = fields.dataOffset;
    this.zip64 = fields.zip64;
    this.externalAttributes = fields.externalAttributes;
    this.versionMadeBy = fields.versionMadeBy;
    this.problem = fields.problem;
  }

  /** Flag bit 0 (traditional or strong encryption) in either header. */
  get encrypted(): boolean {
    return ((this.flags | this.localFlags) & FLAG_ENCRYPTED) !== 0;
  }

  /** The name ends with '/'. */
  get isDirectory(): boolean {
    return this.name.endsWith('/');
  }

  /** The entry's bytes as stored (compressed for deflate), a zero-copy window over the archive. */
  rawSource(): ByteSource {
    if (this.problem) throw this.problem;
    return new WindowSource(this.context.source, this.dataOffset, this.compressedSize, `${this.context.source.name}:${this.name}(raw)`);
  }

  /**
   * The entry's uncompressed bytes as a source. Stored: a zero-copy window over the archive, read lazily.
   * Deflate: inflated into memory, at most the inflate limit and exactly the declared size.
   */
  async source(): Promise<ByteSource> {
    this.assertReadable();
    if (this.method === METHOD_STORED) {
      return new WindowSource(this.context.source, this.dataOffset, this.storedLength(), `${this.context.source.name}:${this.name}`);
    }
    return new MemorySource(await this.inflate(), `${this.context.source.name}:${this.name}`);
  }

  /** The whole entry, uncompressed (at most the inflate limit). Treat it as read-only: it may be a view of the source's memory. */
  async read(): Promise<Uint8Array> {
    this.assertReadable();
    if (this.method === METHOD_STORED) {
      const length = this.storedLength();
      this.checkLimit(length);
      return this.context.source.read(this.dataOffset, length);
    }
    return this.inflate();
  }

  /** Whether the CRC-32 of the uncompressed bytes equals the central directory's. Stored entries are read in bounded chunks. */
  async checkCrc(): Promise<boolean> {
    this.assertReadable();
    if (this.method !== METHOD_STORED) return crc32(await this.inflate()) === this.crc32;
    const length = this.storedLength();
    let crc = 0;
    for (let at = 0; at < length; at += ZIP_READ_CHUNK_BYTES) {
      const n = Math.min(ZIP_READ_CHUNK_BYTES, length - at);
      crc = crc32(await this.context.source.read(this.dataOffset + at, n), crc);
    }
    return crc === this.crc32;
  }

  /** Stored entries: the bytes both sizes agree on (they differ only in non-strict archives). */
  private storedLength(): number {
    return Math.min(this.size, this.compressedSize);
  }

  private assertReadable(): void {
    if (this.problem) throw this.problem;
    if (!readableMethod(this.method, this.context.strict ?? true)) {
      throw this.error('UnsupportedMethod', `compression method ${this.method} is not supported (only 0, stored, and 8, deflate${this.context.strict ?? true ? '' : '; 12, bzip2, and 14, LZMA'})`);
    }
  }

  private checkLimit(length: number): void {
    if (length > this.context.maxInflatedBytes) {
      throw this.error('EntryTooLarge', `${length} bytes is more than the ${this.context.maxInflatedBytes}-byte limit on reading one entry into memory`);
    }
  }

  private async inflate(): Promise<Uint8Array> {
    this.checkLimit(this.size);
    if (this.method === METHOD_BZIP2 || this.method === METHOD_LZMA) {
      this.checkLimit(this.compressedSize);
      const data = await this.context.source.read(this.dataOffset, this.compressedSize);
      // Loaded on first use, as the inflater is: only non-strict archives (scans) ever hold such members.
      const decode = this.method === METHOD_LZMA ? (await import('./lzma.js')).decodeZipLzma : (await import('./bzip2.js')).decodeZipBzip2;
      try {
        return decode(data, this.size);
      } catch (e) {
        if (!(e instanceof InflateProblem)) throw e;
        throw this.error(e.kind === 'BadDeflate' ? 'BadDeflate' : 'SizeMismatch', e.message, e);
      }
    }
    // Loaded on first use: the inflater (fflate) costs ~25 ms of start-up, and model files store
    // their tensors uncompressed.
    const { BoundedInflater } = await import('./inflate.js');
    const inflater = new BoundedInflater(this.size, Math.min(this.size, Math.max(65536, this.compressedSize * 4)));
    try {
      if (this.compressedSize === 0) inflater.push(new Uint8Array(0), true);
      for (let at = 0; at < this.compressedSize; at += ZIP_READ_CHUNK_BYTES) {
        const n = Math.min(ZIP_READ_CHUNK_BYTES, this.compressedSize - at);
        const chunk = await this.context.source.read(this.dataOffset + at, n);
        inflater.push(chunk, at + n === this.compressedSize);
      }
      return inflater.result();
    } catch (e) {
      if (!(e instanceof InflateProblem)) throw e;
      if (e.kind === 'BadDeflate') throw this.error('BadDeflate', e.message, e);
      const hint = e.kind === 'TooLong' ? ' (a zip bomb?)' : '';
      throw this.error('SizeMismatch', `${e.message}${hint}`, e);
    }
  }

  private error(code: ZipError['code'], message: string, cause?: unknown): ZipError {
    return zipError(this.context.source.name, code, `entry ${quoteName(this.name)}: ${message}`, { entry: this.name, offset: this.dataOffset }, cause);
  }
}
