import type { ByteSource } from '../../io/byte-source.js';
import { TfjsError } from './errors.js';

/**
 * The weight shards of a manifest read as one byte sequence, in manifest order, as tfjs-core's loader
 * concatenates them: a weight may start in one shard and end in the next. A read that spans shards
 * is copied into a new buffer; one inside a shard is that shard's read.
 */
export class ShardSequence {
  /** Start of each part in the sequence, ascending. */
  private readonly starts: number[] = [];
  readonly size: number;

  constructor(
    private readonly parts: readonly ByteSource[],
    readonly name: string,
  ) {
    let at = 0;
    for (const p of parts) {
      this.starts.push(at);
      at += p.size;
    }
    this.size = at;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (offset < 0 || length < 0 || offset + length > this.size) {
      throw new TfjsError('TfjsShardMismatch', `${this.name}: a read of ${length} bytes at ${offset} is past the shards' ${this.size} bytes`, { location: this.name });
    }
    if (length === 0) return new Uint8Array(0);
    let i = this.partAt(offset);
    const first = this.parts[i]!;
    const within = offset - this.starts[i]!;
    if (within + length <= first.size) return first.read(within, length);
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const part = this.parts[i]!;
      const from = offset + done - this.starts[i]!;
      const n = Math.min(part.size - from, length - done);
      if (n > 0) out.set(await part.read(from, n), done);
      done += n;
      i++;
    }
    return out;
  }

  /** The last part that starts at or before `offset` and is not empty past it. */
  private partAt(offset: number): number {
    let lo = 0;
    let hi = this.parts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    // Empty parts share a start with the next one: step past them.
    while (lo < this.parts.length - 1 && this.starts[lo]! + this.parts[lo]!.size <= offset) lo++;
    return lo;
  }
}
