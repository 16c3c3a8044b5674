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
    if (end > last + READ_AHEAD_BYTES / 2 && next < this.size && !this.blocks.some((b) => b.start === next)) this.fetch(next);
    const out = new Uint8Array(length);
    for (const block of blocks) {
      const bytes = await block.bytes;
      const from = Math.max(offset, block.start);
      const to = Math.min(end, block.start + bytes.byteLength);
      out.set(bytes.subarray(from - block.start, to - block.start), from - offset);
    }
    return out;
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
