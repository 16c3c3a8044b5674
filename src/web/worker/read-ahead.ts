import { BlobSource, checkRange, type ByteSource, type ReadOptions } from '../../io/byte-source.js';

/**
 * A dropped File read in large blocks: every read of a Blob is a round trip to the browser's blob
 * store, and on the 2-core test machine 500 MB took ~3.5 s in 2 MiB reads against ~1.1 s in 32 MiB
 * ones (bench/web.js). A read that continues where an earlier one ended (a tensor streamed in
 * chunks, the next tensor after a small gap) fetches a whole block, and the block after it while
 * that one is used; other reads go straight to the File. What a read returns is always a copy:
 * no caller can change the block that a later read (the conversion's check) is served from.
 */

/** Bytes fetched at a time for sequential reads. */
export const READ_AHEAD_BYTES = 16 << 20;
/** Blocks kept (LRU): a conversion streams the source twice at once (the write and its check). */
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
    this.ends = [end, ...this.ends.filter((e) => e !== offset && !(offset >= e && offset - e <= STREAM_GAP_BYTES))].slice(0, KEPT_BLOCKS);
    let block = this.blocks.find((b) => b.start <= offset && end <= b.start + READ_AHEAD_BYTES);
    if (block === undefined) {
      if (!streaming || length >= READ_AHEAD_BYTES) return this.direct.read(offset, length);
      block = this.fetch(offset);
    }
    // The next block is on its way while this one is used.
    const next = block.start + READ_AHEAD_BYTES;
    if (end > block.start + READ_AHEAD_BYTES / 2 && next < this.size && !this.blocks.some((b) => b.start === next)) this.fetch(next);
    const bytes = await block.bytes;
    if (end > block.start + bytes.byteLength) return this.direct.read(offset, length); // the block ended early (at the end of the file)
    return bytes.slice(offset - block.start, end - block.start);
  }

  private fetch(start: number): Block {
    const block: Block = { start, bytes: this.direct.read(start, Math.min(READ_AHEAD_BYTES, this.size - start)) };
    block.bytes.catch(() => {
      this.blocks = this.blocks.filter((b) => b !== block);
    });
    this.blocks = [block, ...this.blocks.filter((b) => b.start !== start)].slice(0, KEPT_BLOCKS);
    return block;
  }
}
