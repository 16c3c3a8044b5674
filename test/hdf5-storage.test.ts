import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MemorySource } from '../src/io/byte-source.js';
import { PagedReader } from '../src/io/cursor.js';
import { FormatProblem } from '../src/io/format-problem.js';
import { openDatasetStorage } from '../src/formats/hdf5/storage.js';
import { UnsupportedStorage } from '../src/formats/hdf5/storage-problem.js';
import { CHUNK_INDEX_NAMES } from '../src/formats/hdf5/layout-message.js';
import { loadStorageFixture, storageMessagesOf } from './helpers/hdf5-storage-messages.js';

/**
 * The storage side of the HDF5 reader against h5py: every dataset of the storage fixtures (contiguous,
 * compact, chunked through each chunk index, with and without deflate, shuffle and fletcher32, partly
 * written ones reading the fill value) streams exactly the bytes h5py reads, whatever the piece size;
 * each chunked one is read through the index the fixture claims (read from its layout message) and lists
 * as many chunks as HDF5 allocated; lzf and scaleoffset are refused by name.
 */
const FIXTURES = ['storage-earliest', 'storage-latest'].map(loadStorageFixture);

async function sha256Of(chunks: AsyncIterable<Uint8Array>, maxPiece?: number): Promise<{ hash: string; length: number }> {
  const h = createHash('sha256');
  let length = 0;
  for await (const c of chunks) {
    if (maxPiece !== undefined) expect(c.byteLength).toBeLessThanOrEqual(maxPiece);
    h.update(c);
    length += c.byteLength;
  }
  return { hash: h.digest('hex'), length };
}

describe.each(FIXTURES)('$name', (fixture) => {
  const source = new MemorySource(fixture.bytes, fixture.name);
  it.each(fixture.datasets.map((d) => [d.path, d] as const))('%s', async (_path, d) => {
    const { messages, g } = await storageMessagesOf(fixture.bytes, d);
    const r = new PagedReader(source);
    if (d.refused) {
      const e = await openDatasetStorage(source, r, g, messages).then(() => undefined, (x: unknown) => x);
      expect(e).toBeInstanceOf(UnsupportedStorage);
      expect((e as Error).message).toContain(`filter ${d.refused}`);
      expect((e as Error).message).toContain(`/${d.path}`);
      return;
    }
    const storage = await openDatasetStorage(source, r, g, messages);
    expect(storage.byteLength).toBe(d.byteLength);
    if (d.layout === 'chunked') {
      expect(storage.kind === 'chunked' || storage.kind === 'unallocated').toBe(true);
      expect(storage.description).toContain(CHUNK_INDEX_NAMES[d.index as keyof typeof CHUNK_INDEX_NAMES]);
      if (storage.kind === 'chunked') expect(storage.description).toMatch(new RegExp(`, ${d.chunksAllocated} of \\d+ chunks written$`));
      else expect(d.chunksAllocated).toBe(0);
      const names: Record<number, string> = { 1: 'deflate', 2: 'shuffle', 3: 'fletcher32' };
      expect(storage.filters).toEqual(d.filters!.map((id) => names[id]));
    } else {
      expect([d.layout, 'unallocated']).toContain(storage.kind);
    }
    expect(await sha256Of(storage.chunks())).toEqual({ hash: d.sha256, length: d.byteLength });
    // Small pieces: every piece within the size asked for, the same bytes.
    expect(await sha256Of(storage.chunks(7), 7)).toEqual({ hash: d.sha256, length: d.byteLength });
  });
});

describe('every chunk index and filter is exercised by the fixtures', () => {
  it('each index with and without filters, and each filter', () => {
    const all = FIXTURES.flatMap((f) => f.datasets);
    for (const index of ['btree-v1', 'single', 'implicit', 'fixed-array', 'extensible-array', 'btree-v2']) {
      expect([index, all.some((d) => d.index === index && d.filters!.length === 0)]).toEqual([index, true]);
      if (index !== 'implicit') expect([index, all.some((d) => d.index === index && d.filters!.length === 3)]).toEqual([index, true]);
    }
    expect(all.some((d) => d.layout === 'compact')).toBe(true);
    expect(all.some((d) => d.layout === 'contiguous')).toBe(true);
  });
});

describe('layout messages versions 1 and 2 (HDF5 1.10 writes 3 and 4: made by hand)', () => {
  const g = { base: 0, offsetSize: 8, lengthSize: 8 };
  const data = Uint8Array.from({ length: 24 }, (_, i) => i * 3);
  const file = new Uint8Array(64 + data.length);
  file.set(data, 64);
  const source = new MemorySource(file);
  const m = { dims: [2, 3], elementSize: 4, where: '/old' };

  function v1(cls: number, version = 1): Uint8Array {
    const body: number[] = [version, 3, cls, 0, 0, 0, 0, 0];
    if (cls !== 0) body.push(64, 0, 0, 0, 0, 0, 0, 0);
    body.push(2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0);
    if (cls === 0) body.push(24, 0, 0, 0, ...data);
    return Uint8Array.from(body);
  }

  it.each([1, 2])('contiguous, version %i', async (version) => {
    const s = await openDatasetStorage(source, new PagedReader(source), g, { ...m, layout: v1(1, version) });
    expect(s.kind).toBe('contiguous');
    const parts: Uint8Array[] = [];
    for await (const c of s.chunks()) parts.push(c.slice());
    expect(Buffer.concat(parts)).toEqual(Buffer.from(data));
  });

  it('compact, version 1', async () => {
    const s = await openDatasetStorage(source, new PagedReader(source), g, { ...m, layout: v1(0) });
    expect(s.kind).toBe('compact');
    const parts: Uint8Array[] = [];
    for await (const c of s.chunks()) parts.push(c.slice());
    expect(Buffer.concat(parts)).toEqual(Buffer.from(data));
  });

  it('a virtual layout is refused by name', async () => {
    const e = await openDatasetStorage(source, new PagedReader(source), g, { ...m, layout: Uint8Array.of(4, 3, ...new Array(12).fill(0)) }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UnsupportedStorage);
    expect((e as Error).message).toMatch(/\/old.*virtual/);
  });

  it('an unknown layout version is malformed', async () => {
    const e = await openDatasetStorage(source, new PagedReader(source), g, { ...m, layout: Uint8Array.of(9, 1) }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(FormatProblem);
    expect((e as Error).message).toMatch(/\/old: data layout message: version 9/);
  });
});
