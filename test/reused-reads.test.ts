import { describe, expect, it } from 'vitest';
import { MemorySource } from '../src/io/byte-source.js';
import { ReusedReadsSource } from '../src/io/reused-reads.js';

/** A memory source that records the reads asked of it. */
function counted(bytes: Uint8Array): { source: MemorySource; reads: [number, number][] } {
  const source = new MemorySource(bytes, 'file');
  const reads: [number, number][] = [];
  const read = source.read.bind(source);
  source.read = (offset: number, length: number) => {
    reads.push([offset, length]);
    return read(offset, length);
  };
  return { source, reads };
}

describe('ReusedReadsSource', () => {
  const bytes = new Uint8Array(3 << 20).map((_, i) => (i * 31) & 0xff);

  it('answers a read inside a kept one from memory, and assembles one mostly kept from the gaps only', async () => {
    const { source, reads } = counted(bytes);
    const r = new ReusedReadsSource(source);
    await r.read(0, 2 << 20);
    expect(await r.read(100, 1000)).toEqual(bytes.subarray(100, 1100));
    expect(await r.read(1 << 20, 2 << 20)).toEqual(bytes.subarray(1 << 20, 3 << 20));
    expect(reads).toEqual([[0, 2 << 20], [2 << 20, 1 << 20]]);
  });

  it('reads a large range that kept bytes barely cover whole from the source (not assembled around a kept head)', async () => {
    const { source, reads } = counted(bytes);
    const r = new ReusedReadsSource(source);
    await r.read(0, 4096);
    expect(await r.read(0, bytes.length)).toEqual(bytes);
    expect(reads).toEqual([[0, 4096], [0, bytes.length]]);
    // Kept afterwards like any read.
    expect(await r.read(5, 10)).toEqual(bytes.subarray(5, 15));
    expect(reads.length).toBe(2);
  });
});
