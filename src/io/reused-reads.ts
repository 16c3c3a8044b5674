import type { ByteSource, ReadOptions, SourceRange } from './byte-source.js';

/** Bytes kept in all: a checkpoint's pickle the scanner analyses is no larger (MAX_SCANNED_PICKLE_BYTES); bounds the memory held. */
export const MAX_REUSED_BYTES = 256 << 20;
/** Reads kept, at most: each read looks through them all, so a file of many small structures cannot make reads quadratic. */
export const MAX_REUSED_READS = 64;
/** Smaller reads (a zip entry's local header) cost less to repeat than to keep. */
export const MIN_REUSED_READ = 512;
/** Reads this large that kept bytes cover less than an eighth of are read whole again rather than assembled (copying costs more than re-reading the few kept bytes). */
const MIN_ASSEMBLED_READ = 1 << 20;

/**
 * A source that keeps what it reads (until `freeze()`) and answers later reads from memory where they
 * fall inside earlier ones (reading only the bytes it does not hold), until `release()`. A file is then read
 * from disk once while its format's reader and the scanner both look at its structure (a checkpoint's
 * pickle, a zip's directory); tensor bytes are read after the release, straight from the source
 * beneath. Results may be views of kept memory: read-only, as the ByteSource contract says.
 */
export class ReusedReadsSource implements ByteSource {
  readonly size: number;
  readonly name: string;
  readonly coalesceGap: number | undefined;
  readonly readSync?: (offset: number, length: number) => Uint8Array;
  readonly readInto?: (target: Uint8Array, offset: number) => Promise<void>;
  private kept: { offset: number; bytes: Uint8Array }[] = [];
  private keptBytes = 0;
  private keeping = true;
  private released = false;

  constructor(readonly inner: ByteSource) {
    this.size = inner.size;
    this.name = inner.name;
    this.coalesceGap = inner.coalesceGap;
    const sync = inner.readSync?.bind(inner);
    if (sync) this.readSync = (offset, length) => this.fromKept(offset, length) ?? sync(offset, length);
    const into = inner.readInto?.bind(inner);
    if (into) {
      this.readInto = async (target, offset) => {
        const held = this.fromKept(offset, target.byteLength);
        if (held) target.set(held);
        else await into(target, offset);
      };
    }
  }

  /** Its bytes are the inner source's. */
  origin(offset: number): SourceRange {
    return { source: this.inner, offset };
  }

  async read(offset: number, length: number, options?: ReadOptions): Promise<Uint8Array> {
    if (this.released || this.kept.length === 0) return this.keep(offset, await this.inner.read(offset, length, options));
    const whole = this.fromKept(offset, length);
    if (whole) return whole;
    // A large read that kept bytes barely cover (a whole pickle after its first bytes were detected):
    // read it whole from the source, not assembled (a second buffer of its size, zeroed, then copied).
    if (length >= MIN_ASSEMBLED_READ && this.keptWithin(offset, length) < length / 8) return this.keep(offset, await this.inner.read(offset, length, options));
    // Assemble: kept bytes where there are some, reads of the gaps between them.
    const out = new Uint8Array(length);
    const end = offset + length;
    let pos = offset;
    let read = false;
    while (pos < end) {
      let cover: { offset: number; bytes: Uint8Array } | undefined;
      let next = end;
      for (const k of this.kept) {
        const kEnd = k.offset + k.bytes.byteLength;
        if (k.offset <= pos && kEnd > pos && (!cover || kEnd > cover.offset + cover.bytes.byteLength)) cover = k;
        else if (k.offset > pos && k.offset < next) next = k.offset;
      }
      if (cover) {
        const upTo = Math.min(end, cover.offset + cover.bytes.byteLength);
        out.set(cover.bytes.subarray(pos - cover.offset, upTo - cover.offset), pos - offset);
        pos = upTo;
      } else {
        out.set(await this.inner.read(pos, next - pos, options), pos - offset);
        read = true;
        pos = next;
      }
    }
    return read ? this.keep(offset, out) : out;
  }

  /**
   * Keeps nothing more, but still answers from what it holds: the scan after the reader then costs
   * no memory beyond what the reader read (its growing windows are not kept).
   */
  freeze(): void {
    this.keeping = false;
  }

  /** Stops keeping and drops what was kept: later reads go to the source beneath. */
  release(): void {
    this.keeping = false;
    this.released = true;
    this.kept = [];
    this.keptBytes = 0;
  }

  close(): Promise<void> {
    this.release();
    return this.inner.close?.() ?? Promise.resolve();
  }

  /** Kept bytes inside [offset, offset+length) (overlapping kept reads counted twice: an estimate). */
  private keptWithin(offset: number, length: number): number {
    let n = 0;
    for (const k of this.kept) n += Math.max(0, Math.min(offset + length, k.offset + k.bytes.byteLength) - Math.max(offset, k.offset));
    return n;
  }

  /** The bytes of [offset, offset+length) when one kept read holds them all. */
  private fromKept(offset: number, length: number): Uint8Array | undefined {
    for (const k of this.kept) {
      if (k.offset <= offset && offset + length <= k.offset + k.bytes.byteLength) return k.bytes.subarray(offset - k.offset, offset - k.offset + length);
    }
    return undefined;
  }

  private keep(offset: number, bytes: Uint8Array): Uint8Array {
    if (this.keeping && bytes.byteLength >= MIN_REUSED_READ && this.kept.length < MAX_REUSED_READS && this.keptBytes + bytes.byteLength <= MAX_REUSED_BYTES) {
      this.kept.push({ offset, bytes });
      this.keptBytes += bytes.byteLength;
    }
    return bytes;
  }
}
