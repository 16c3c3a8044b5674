import { BlobSource, checkRange, type ByteSource, type ReadOptions } from '../../io/byte-source.js';

/**
 * A dropped File read in large blocks: every read of a Blob is a round trip to the browser's blob
 * store, and on the 2-core test machine 500 MB took ~3.5 s in 2 MiB reads against ~1.1 s in 32 MiB
 * ones; with 32 MiB blocks a 500 MB checkpoint converted in the page in ~3.7 s instead of ~6.5 s
 * (bench/web.js). A read that continues where an earlier one ended (a tensor streamed in chunks, the
 * next tensor after a small gap) fetches the whole aligned block, and the block after it while that
 * one is used; a read inside a block already fetched is served from it; other reads go straight to
 * the File. What a read returns is always a copy: no caller can change the block that a later read
 * (the conversion's check) is served from.
 */

/** Bytes fetched at a time for sequential reads. */
export const READ_AHEAD_BYTES = 32 << 20;
/** Blocks kept (LRU; at most 128 MiB): a conversion streams the source twice at once (the write and its check), mostly from the same blocks. */
const KEPT_BLOCKS = 4;
/**
 * Small reads (a zip member's local header, a pickle's opcodes) are kept, up to SMALL_READS_KEPT_BYTES
 * in all: the reader, the format detection and the scan each walk the same structure, and in a
 * browser each of their reads is a round trip to the blob store (~1 ms) where a local file's is a
 * page-cache copy (a 500 MB checkpoint's 125 local headers were read 4 times over: ~0.5 s).
 */
const SMALL_READ_BYTES = 4096;
const SMALL_READS_KEPT_BYTES = 4 << 20;
/** A read starting at most this far after where an earlier one ended continues its stream (zip members' headers between tensors). */
const STREAM_GAP_BYTES = 64 * 1024;

interface Block {
  readonly start: number;
  readonly bytes: Promise<Uint8Array>;
}

export class ReadAheadSource implements ByteSource {
  readonly size: number;
  readonly coalesceGap = 64 * 1024;
  private readonly direct: BlobSource;
  private blocks: Block[] = [];
  /** Where recent reads ended (streams to continue). */
  private ends: number[] = [];
  /** Small reads by `offset:length`, oldest first. */
  private readonly small = new Map<string, Promise<Uint8Array>>();
  private smallBytes = 0;

  constructor(
    readonly blob: Blob,
    readonly name = (blob as { name?: string }).name ?? 'blob',
  ) {
    this.direct = new BlobSource(blob, name);
    this.size = blob.size;
  }

  async read(offset: number, length: number, _options?: ReadOptions): Promise<Uint8Array> {
    checkRange(this, offset, length);
    const end = offset + length;
    const streaming = this.ends.some((e) => offset >= e && offset - e <= STREAM_GAP_BYTES);
    this.ends = [end, ...this.ends.filter((e) => !(offset >= e && offset - e <= STREAM_GAP_BYTES))].slice(0, KEPT_BLOCKS);
    if (length === 0 || length >= READ_AHEAD_BYTES) return this.direct.read(offset, length);
    if (length <= SMALL_READ_BYTES && !streaming && !this.blocks.some((b) => b.start <= offset && end <= b.start + READ_AHEAD_BYTES)) return this.smallRead(offset, length);
    // Blocks are aligned: a read spans one or two of them.
    const first = offset - (offset % READ_AHEAD_BYTES);
    const last = end - 1 - ((end - 1) % READ_AHEAD_BYTES);
    const starts = first === last ? [first] : [first, last];
    const cached = starts.map((s) => this.blocks.find((b) => b.start === s));
    if (cached.some((b) => b === undefined) && !streaming) return this.direct.read(offset, length);
    const blocks = starts.map((s, i) => cached[i] ?? this.fetch(s));
    // Least recently used blocks go first: the write and its check share the blocks they both read.
    this.blocks = [...blocks, ...this.blocks.filter((b) => !blocks.includes(b))];
    // The next block is on its way while this one is used.
    const next = last + READ_AHEAD_BYTES;
    // Only for a stream: a read that merely lands in a kept block (a zip member's local header) would otherwise pull in the whole file, block after block.
    if (streaming && end > last + READ_AHEAD_BYTES / 2 && next < this.size && !this.blocks.some((b) => b.start === next)) this.fetch(next);
    const out = new Uint8Array(length);
    for (const block of blocks) {
      const bytes = await block.bytes;
      const from = Math.max(offset, block.start);
      const to = Math.min(end, block.start + bytes.byteLength);
      out.set(bytes.subarray(from - block.start, to - block.start), from - offset);
    }
    return out;
  }

  /** A small read, from the kept ones when it was made before (a copy either way). */
  private async smallRead(offset: number, length: number): Promise<Uint8Array> {
    const key = `${offset}:${length}`;
    let kept = this.small.get(key);
    if (kept === undefined) {
      kept = this.direct.read(offset, length);
      this.small.set(key, kept);
      this.smallBytes += length;
      kept.catch(() => this.small.delete(key));
      for (const [k] of this.small) {
        if (this.smallBytes <= SMALL_READS_KEPT_BYTES) break;
        this.small.delete(k);
        this.smallBytes -= Number(k.slice(k.indexOf(':') + 1));
      }
    }
    return (await kept).slice();
  }

  private fetch(start: number): Block {
    const block: Block = { start, bytes: this.direct.read(start, Math.min(READ_AHEAD_BYTES, this.size - start)) };
    block.bytes.catch(() => {
      this.blocks = this.blocks.filter((b) => b !== block);
    });
    this.blocks = [block, ...this.blocks.filter((b) => b !== block)].slice(0, KEPT_BLOCKS);
    return block;
  }
}
