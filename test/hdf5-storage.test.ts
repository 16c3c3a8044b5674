import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MemorySource } from '../src/io/byte-source.js';
import { PagedReader } from '../src/io/cursor.js';
import { FormatProblem } from '../src/io/format-problem.js';
import { openDatasetStorage } from '../src/formats/hdf5/storage.js';
import { UnsupportedStorage } from '../src/formats/hdf5/storage-problem.js';
import { CHUNK_INDEX_NAMES } from '../src/formats/hdf5/layout-message.js';
import { loadStorageFixture, storageMessagesOf } from './helpers/hdf5-storage-messages.js';
import { limitRow } from './helpers/readme-limits.js';

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
    // Pieces shorter than an element (the smaller datasets: one piece per 3 bytes).
    if (d.byteLength! <= 20_000) expect(await sha256Of(storage.chunks(3), 3)).toEqual({ hash: d.sha256, length: d.byteLength });
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

describe('hostile chunks and limits', () => {
  const g = { base: 0, offsetSize: 8, lengthSize: 8 };
  const u64 = (n: number): number[] => Array.from({ length: 8 }, (_, i) => Math.floor(n / 2 ** (8 * i)) % 256);
  const u32 = (n: number): number[] => [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24];
  /** A version 4 single-chunk layout (filtered: its stored size and mask in the message) for a 6×7 float32 dataset. */
  const singleLayout = (address: number, storedSize: number, chunk = [6, 7]): Uint8Array =>
    Uint8Array.of(4, 2, 0x02, 3, 4, ...chunk.flatMap(u32), ...u32(4), 1, ...u64(storedSize), ...u32(0), ...u64(address));
  const deflateFilter = Uint8Array.of(2, 1, 1, 0, 0, 0, 1, 0, 6, 0, 0, 0);
  const m: { dims: number[]; elementSize: number; where: string; filters: Uint8Array } = { dims: [6, 7], elementSize: 4, where: '/hostile', filters: deflateFilter };

  async function read(file: Uint8Array, layout: Uint8Array, extra: Partial<typeof m> = {}): Promise<unknown> {
    const source = new MemorySource(file);
    try {
      const s = await openDatasetStorage(source, new PagedReader(source), g, { ...m, ...extra, layout });
      for await (const c of s.chunks()) void c;
      return 'ok';
    } catch (e) {
      return e;
    }
  }

  it('a deflate bomb in a chunk stops at the chunk size', async () => {
    const { deflateSync } = await import('node:zlib');
    const bomb = new Uint8Array(deflateSync(new Uint8Array(64 << 20)));
    const file = new Uint8Array(16 + bomb.length);
    file.set(bomb, 16);
    const e = await read(file, singleLayout(16, bomb.length));
    expect(e).toBeInstanceOf(FormatProblem);
    expect((e as Error).message).toMatch(/\/hostile: chunk \[0, 0\].*inflates to more than the chunk's 168 bytes/);
  });

  it('a chunk that inflates short, or is not zlib, or fails its Adler-32, is malformed', async () => {
    const { deflateSync } = await import('node:zlib');
    const cases: [Uint8Array, RegExp][] = [
      [new Uint8Array(deflateSync(new Uint8Array(100))), /inflates to fewer than the chunk's 168 bytes/],
      [Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8), /not a zlib stream/],
      [(() => { const z = new Uint8Array(deflateSync(new Uint8Array(168).fill(1))); z[z.length - 1]! ^= 1; return z; })(), /Adler-32/],
    ];
    for (const [stored, why] of cases) {
      const file = new Uint8Array(16 + stored.length);
      file.set(stored, 16);
      const e = await read(file, singleLayout(16, stored.length));
      expect(e).toBeInstanceOf(FormatProblem);
      expect((e as Error).message).toMatch(why);
    }
  });

  it('a changed byte in a fletcher32-checked chunk is caught', async () => {
    const fixture = FIXTURES.find((f) => f.name === 'storage-latest')!;
    const d = fixture.datasets.find((x) => x.path === 'single_shuffle_gzip_fletcher')!;
    const bytes = fixture.bytes.slice();
    const { messages, g: geometry } = await storageMessagesOf(bytes, d);
    const layout = (await import('../src/formats/hdf5/layout-message.js')).parseLayoutMessage(messages.layout, geometry, messages.where);
    if (layout.kind !== 'chunked' || layout.address === undefined) throw new Error('not a written chunked dataset');
    bytes[layout.address + 10]! ^= 0x40;
    const source = new MemorySource(bytes);
    const e = await openDatasetStorage(source, new PagedReader(source), geometry, messages)
      .then(async (s) => {
        for await (const c of s.chunks()) void c;
      })
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(FormatProblem);
    expect((e as Error).message).toMatch(/\/single_shuffle_gzip_fletcher: chunk \[0, 0\].*Fletcher-32 checksum/);
  });

  it('chunks larger than MAX_HDF5_CHUNK_BYTES are refused before anything is read', async () => {
    const e = await read(new Uint8Array(64), singleLayout(16, 10, [1 << 20, 1 << 20]), { dims: [6, 7] });
    expect(e).toBeInstanceOf(FormatProblem);
    expect((e as FormatProblem).kind).toBe('limit');
    expect((e as Error).message).toContain('MAX_HDF5_CHUNK_BYTES');
  });

  it('a chunk past the end of the file is malformed, with its offset', async () => {
    const e = await read(new Uint8Array(64), singleLayout(40, 100));
    expect(e).toBeInstanceOf(FormatProblem);
    expect((e as Error).message).toMatch(/\/hostile: chunk \[0, 0\] \(100 bytes at offset 40\): runs past the end of the file/);
    expect((e as FormatProblem).offset).toBe(40);
  });

  it('every refused filter is named with its id', async () => {
    const body = (id: number, name = ''): Uint8Array => {
      const nm = new TextEncoder().encode(name);
      return id >= 256 ? Uint8Array.of(2, 1, id & 255, id >> 8, nm.length, 0, 0, 0, 0, 0, ...nm) : Uint8Array.of(2, 1, id, 0, 0, 0, 0, 0);
    };
    for (const [id, label] of [[4, 'szip (4)'], [5, 'nbit (5)'], [6, 'scaleoffset (6)'], [32000, 'lzf (32000)'], [32001, 'blosc (32001)'], [32004, 'lz4 (32004)'], [32008, 'bitshuffle (32008)'], [32015, 'zstd (32015)']] as const) {
      const e = await read(new Uint8Array(64), singleLayout(16, 10), { filters: body(id) });
      expect(e).toBeInstanceOf(UnsupportedStorage);
      expect((e as Error).message).toContain(`/hostile: filter ${label} is not decoded`);
    }
    const e = await read(new Uint8Array(64), singleLayout(16, 10), { filters: body(40000, 'my_codec') });
    expect((e as Error).message).toContain('filter my_codec (40000)');
  });
});

describe('README', () => {
  it('the HDF5 storage limits row gives each named constant of storage-limits.ts its value', async () => {
    const limits = await import('../src/formats/hdf5/storage-limits.js');
    const { values: numbers, constants } = limitRow('HDF5 storage: ');
    const names = constants.map((c) => c.name);
    const exported = Object.keys(limits).filter((k) => k.startsWith('MAX_HDF5_')).sort();
    expect([...names].sort()).toEqual(exported);
    expect(names.map((n) => (limits as Record<string, number>)[n])).toEqual(numbers);
  });
});

describe('end to end through the structure reader (openHdf5)', () => {
  it.each(FIXTURES)('$name: every dataset, found by the structure side, equals h5py (refused ones: Hdf5Unsupported)', async (fixture) => {
    const { openHdf5 } = await import('../src/formats/hdf5/file.js');
    const { Hdf5Dataset } = await import('../src/formats/hdf5/file.js');
    const file = await openHdf5(new MemorySource(fixture.bytes, `${fixture.name}.h5`));
    for (const d of fixture.datasets) {
      const node = await file.object(file.geometry.base + d.objectHeader, `/${d.path}`);
      expect(node).toBeInstanceOf(Hdf5Dataset);
      const ds = node as InstanceType<typeof Hdf5Dataset>;
      // The structure side hands over the dataspace's maximum dimensions (unlimited: Infinity).
      expect([d.path, ds.storageMessages.maxDims ?? ds.storageMessages.dims]).toEqual([d.path, (d.maxShape ?? d.shape).map((x) => (x === null ? Infinity : x))]);
      if (d.refused) {
        const e = await ds.storage().catch((x: unknown) => x);
        expect([d.path, (e as { code?: string }).code]).toEqual([d.path, 'Hdf5Unsupported']);
        expect((e as Error).message).toContain(`filter ${d.refused}`);
        continue;
      }
      const storage = await ds.storage();
      expect([d.path, await sha256Of(storage.chunks())]).toEqual([d.path, { hash: d.sha256, length: d.byteLength }]);
    }
  });
});

describe('partial edge chunks stored unfiltered (layout flag bit 0, H5Pset_chunk_opts)', () => {
  const fixture = FIXTURES.find((f) => f.name === 'storage-latest')!;
  it.each(['edges_unfiltered_farray', 'edges_unfiltered_earray'])('%s: the flag is set, and without it the edge chunks would not decode', async (name) => {
    const d = fixture.datasets.find((x) => x.path === name)!;
    const { messages, g } = await storageMessagesOf(fixture.bytes, d);
    const { parseLayoutMessage } = await import('../src/formats/hdf5/layout-message.js');
    const layout = parseLayoutMessage(messages.layout, g, messages.where);
    expect(layout.kind === 'chunked' && layout.flags & 1).toBe(1);
    const source = new MemorySource(fixture.bytes);
    // Flags are the byte after version and class in a version 4 layout message.
    const cleared = messages.layout.slice();
    cleared[2]! &= ~1;
    const e = await openDatasetStorage(source, new PagedReader(source), g, { ...messages, layout: cleared })
      .then(async (s) => {
        for await (const c of s.chunks()) void c;
      })
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(FormatProblem);
  });
});
