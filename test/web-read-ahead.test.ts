/** The page's read-ahead over a dropped File (web/worker/read-ahead.ts): every read is the File's bytes, whatever the pattern, and a copy. */
import { describe, expect, it } from 'vitest';
import { READ_AHEAD_BYTES, ReadAheadSource } from '../src/web/worker/read-ahead.js';

describe('ReadAheadSource', () => {
  const size = 2 * READ_AHEAD_BYTES + 12_345;
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 4096) bytes[i] = (i / 4096) & 255;
  for (let i = 0; i < size; i++) bytes[i] = bytes[i]! ^ ((i * 2654435761) >>> 24);
  const blob = new Blob([bytes]);

  it('streams in chunks across block boundaries and to the end, two streams at once, as the file holds them', async () => {
    const source = new ReadAheadSource(blob, 'm.bin');
    const chunk = 3 << 20;
    const streams = [0, 5000].map(async (start) => {
      for (let at = start; at < size; at += chunk) {
        const n = Math.min(chunk, size - at);
        expect(Buffer.from(await source.read(at, n)).equals(Buffer.from(bytes.subarray(at, at + n)))).toBe(true);
      }
    });
    await Promise.all(streams);
  });

  it('serves small, random, empty and whole-block reads alike; what it returns is a copy', async () => {
    const source = new ReadAheadSource(blob, 'm.bin');
    const reads: [number, number][] = [[0, 512], [512, 100], [READ_AHEAD_BYTES - 10, 20], [READ_AHEAD_BYTES + 7, READ_AHEAD_BYTES], [size - 1, 1], [size, 0], [123_456, 0], [40, 64 * 1024], [64 * 1024 + 40, 10]];
    for (const [at, n] of reads) {
      const got = await source.read(at, n);
      expect([at, n, Buffer.from(got).equals(Buffer.from(bytes.subarray(at, at + n)))]).toEqual([at, n, true]);
      got.fill(0xaa);
      const again = await source.read(at, n);
      expect([at, n, Buffer.from(again).equals(Buffer.from(bytes.subarray(at, at + n)))]).toEqual([at, n, true]);
    }
    await expect(source.read(size - 1, 2)).rejects.toMatchObject({ code: 'OutOfRange' });
  });

  it('asks the File once for a small read made again (a structure walked by the reader, the detection and the scan), and gives a copy each time', async () => {
    let slices = 0;
    const counting = { size, slice: (a: number, b: number) => (slices++, blob.slice(a, b)) } as unknown as Blob;
    const source = new ReadAheadSource(counting, 'm.bin');
    const at = READ_AHEAD_BYTES + 4_000_000;
    const first = await source.read(at, 176);
    first.fill(0);
    const again = await source.read(at, 176);
    expect(slices).toBe(1);
    expect(Buffer.from(again).equals(Buffer.from(bytes.subarray(at, at + 176)))).toBe(true);
  });

  it('reads spread over the file (the local headers of a zip) do not pull the file in block after block', async () => {
    let sliced = 0;
    const counting = { size, slice: (a: number, b: number) => ((sliced += b - a), blob.slice(a, b)) } as unknown as Blob;
    const source = new ReadAheadSource(counting, 'm.bin');
    // A stream at the start (a pickle after the file's head) keeps block 0; then headers 4 MiB apart, past its middle and beyond.
    await source.read(0, 512);
    await source.read(512, 20_000);
    for (let at = 4 << 20; at + 176 <= size; at += 4 << 20) await source.read(at, 176);
    expect(sliced).toBeLessThan(READ_AHEAD_BYTES + 512 + 20_000 + 64 * 176);
  });
});
