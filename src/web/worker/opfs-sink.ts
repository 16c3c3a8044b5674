import { IoError, TensorsafeError } from '../../errors.js';
import { checkRange, originOf, type ByteSource, type SourceRange } from '../../io/byte-source.js';
import type { OutputSink } from '../../convert/pipeline.js';
import type { DirectoryHandle, SyncAccessHandle } from '../fsa.js';

/**
 * The page's temporary file: an output written into the Origin Private File System through a
 * synchronous access handle (workers only), read back through the same handle while it is written
 * (convert/write-checked.ts), as node/file-sink.ts does with a temporary file on disk. Nothing is
 * delivered from it until the whole conversion is checked and committed; `commit` only closes the
 * handle (the file is then handed over as it is), `abort` closes it too, and the job's folder is
 * removed by its owner (worker/convert.ts).
 *
 * Bytes a source holds as they are (a tensor stored in the dropped file: ByteSink.appendStored) are
 * not copied: the sink keeps a reference to them, the file in OPFS holds only the rest (headers,
 * decoded tensors), and `file()` assembles the output as a Blob of both, in order. Converting a
 * checkpoint then writes almost nothing (writing 500 MB into OPFS took ~2 s on the 2-core test
 * machine), and the download reads the tensors straight from the file the user picked.
 */

/** A run of the output: bytes in the OPFS file (`at`: where), or bytes of a dropped file (`blob`). */
type Part = { readonly start: number; length: number; readonly at: number } | { readonly start: number; readonly length: number; readonly blob: Blob; readonly from: SourceRange };

/** Small appends (headers, an npz member's local header) are gathered into one write of at most this many bytes. */
const STAGING_BYTES = 1 << 20;
/** Appends of at least this many bytes go straight to the file, from the caller's memory. */
const DIRECT_WRITE_BYTES = STAGING_BYTES / 2;

export class OpfsSink implements OutputSink {
  private readonly staging = new Uint8Array(STAGING_BYTES);
  private staged = 0;
  /** Output position of the first staged byte (the end of what is written). */
  private position = 0;
  private positionalEnd = 0;
  /** The output's runs, once a reference was taken (until then the file is the output). */
  private parts: Part[] | undefined;
  /** End of the bytes in the OPFS file, once a reference was taken. */
  private fileEnd = 0;
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
        this.append(chunk);
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
      if (this.parts) this.rewrite(chunk, position);
      else {
        this.writeAll(chunk, position);
        this.position = Math.max(this.position, position + chunk.byteLength);
      }
      this.positionalEnd = Math.max(this.positionalEnd, position + chunk.byteLength);
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Takes `length` bytes of a dropped file by reference (see the class); false for any other source. */
  appendStored(from: SourceRange, length: number): boolean {
    this.check();
    const origin = originOf(from.source, from.offset, length);
    const blob = (origin.source as { blob?: unknown }).blob;
    if (!(blob instanceof Blob) || origin.source.size !== blob.size || length === 0) return false;
    this.flush();
    if (!this.parts) {
      this.parts = this.position > 0 ? [{ start: 0, length: this.position, at: 0 }] : [];
      this.fileEnd = this.position;
    }
    this.parts.push({ start: this.position, length, blob, from: origin });
    this.position += length;
    return true;
  }

  reserve(size: number): Promise<void> {
    try {
      this.check();
      this.flush();
      // Only the file's own bytes once references are taken; before, the output's final length (its header is read early).
      if (!this.parts) this.handle.truncate(size);
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
      if (this.parts) this.handle.truncate(this.fileEnd);
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

  /** The output, once committed: the OPFS file itself, or assembled from it and the dropped files' bytes it references. */
  async file(folder: DirectoryHandle): Promise<File> {
    const own = await (await folder.getFileHandle(this.name)).getFile();
    if (!this.parts) return own;
    const pieces = this.parts.map((p) => ('blob' in p ? p.blob.slice(p.from.offset, p.from.offset + p.length) : own.slice(p.at, p.at + p.length)));
    const file = new File(pieces, this.name);
    if (file.size !== this.position) throw new IoError('IoError', `${this.name}: the assembled output is ${file.size} bytes, ${this.position} were written (a source file changed?)`, { location: this.name });
    return file;
  }

  abort(): Promise<void> {
    this.closed = true;
    this.release();
    return Promise.resolve();
  }

  /**
   * What is in the output now, as a source: the file read through the same handle, and the bytes
   * taken by reference read from their files (whose origin it gives, so that a comparison with the
   * source needs no read: tensor/compare-tensors.ts). Reads check the job's signal too.
   */
  source(): Promise<ByteSource> {
    const { handle, signal, name } = this;
    const size = Math.max(handle.getSize(), this.parts ? this.position : 0);
    // The file's own bytes at output position `offset` (zeros where nothing is written yet, as in a file reserved to its length).
    const readOwn = (target: Uint8Array, offset: number): void => {
      if (!this.parts) {
        const n = handle.read(target, { at: offset });
        if (n !== target.byteLength) throw new IoError('IoError', `${name}: read ${n} of ${target.byteLength} bytes at ${offset}`, { location: `${name}@${offset}` });
        return;
      }
      target.fill(0);
      for (const p of this.parts) {
        const from = Math.max(offset, p.start);
        const to = Math.min(offset + target.byteLength, p.start + p.length);
        if (from >= to) continue;
        if ('blob' in p) throw new IoError('IoError', `${name}: bytes ${from}..${to} are another file's; read them asynchronously`, { location: `${name}@${from}` });
        const n = handle.read(target.subarray(from - offset, to - offset), { at: p.at + from - p.start });
        if (n !== to - from) throw new IoError('IoError', `${name}: read ${n} of ${to - from} bytes at ${from}`, { location: `${name}@${from}` });
      }
    };
    const refsIn = (offset: number, length: number): Extract<Part, { blob: Blob }>[] =>
      (this.parts ?? []).filter((p): p is Extract<Part, { blob: Blob }> => 'blob' in p && p.start < offset + length && offset < p.start + p.length);
    const readInto = async (target: Uint8Array, offset: number): Promise<void> => {
      if (signal?.aborted) throw aborted(name);
      checkRange(source, offset, target.byteLength);
      const refs = refsIn(offset, target.byteLength);
      if (refs.length === 0) return readOwn(target, offset);
      // Own bytes around the references, then each reference's bytes from its file.
      const end = offset + target.byteLength;
      let at = offset;
      for (const r of refs) {
        if (r.start > at) readOwn(target.subarray(at - offset, r.start - offset), at);
        const from = Math.max(at, r.start);
        const to = Math.min(end, r.start + r.length);
        target.set(await r.from.source.read(r.from.offset + from - r.start, to - from), from - offset);
        at = to;
      }
      if (at < end) readOwn(target.subarray(at - offset), at);
    };
    const source: ByteSource = {
      name,
      size,
      coalesceGap: 64 * 1024,
      readSync: (offset, length) => {
        if (signal?.aborted) throw aborted(name);
        checkRange(source, offset, length);
        const out = new Uint8Array(length);
        readOwn(out, offset);
        return out;
      },
      read: async (offset, length) => {
        const out = new Uint8Array(length);
        await readInto(out, offset);
        return out;
      },
      readInto,
      origin: (offset, length) => {
        const [r] = refsIn(offset, length);
        return r !== undefined && r.start <= offset && offset + length <= r.start + r.length ? { source: r.from.source, offset: r.from.offset + offset - r.start } : undefined;
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
    this.append(this.staging.subarray(0, n));
  }

  /** Appends the file's own bytes at the end of the output. */
  private append(bytes: Uint8Array): void {
    if (!this.parts) {
      this.writeAll(bytes, this.position);
      this.position += bytes.byteLength;
      return;
    }
    this.writeAll(bytes, this.fileEnd);
    const last = this.parts.at(-1);
    if (last !== undefined && !('blob' in last) && last.at + last.length === this.fileEnd) last.length += bytes.byteLength;
    else this.parts.push({ start: this.position, length: bytes.byteLength, at: this.fileEnd });
    this.fileEnd += bytes.byteLength;
    this.position += bytes.byteLength;
  }

  /** Writes over output bytes of the file's own (a header written again); bytes taken by reference are never written over. */
  private rewrite(bytes: Uint8Array, position: number): void {
    let at = position;
    while (at < position + bytes.byteLength) {
      const p = this.parts!.find((q) => q.start <= at && at < q.start + q.length);
      if (p === undefined || 'blob' in p) throw new IoError('IoError', `${this.name}: bytes at ${at} were taken from another file and cannot be written over`, { location: `${this.name}@${at}` });
      const n = Math.min(position + bytes.byteLength - at, p.start + p.length - at);
      this.writeAll(bytes.subarray(at - position, at - position + n), p.at + at - p.start);
      at += n;
    }
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
