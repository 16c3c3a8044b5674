import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PagedReader } from '../src/io/cursor.js';
import { FormatProblem } from '../src/io/format-problem.js';
import { parseLayoutMessage } from '../src/formats/hdf5/layout-message.js';
import { openDatasetStorage } from '../src/formats/hdf5/storage.js';
import type { StorageMessages } from '../src/formats/hdf5/storage-contract.js';
import { BoundedSource } from './helpers/assertions.js';
import { EDITS, applyEdits } from './helpers/fuzz.js';
import { loadStorageFixture, storageMessagesOf } from './helpers/hdf5-storage-messages.js';

/**
 * Fuzzing the storage side of the HDF5 reader: the h5py fixtures with bytes changed in a dataset's
 * layout message, its filter pipeline message, its chunk index (or first chunk), or anywhere, and cut
 * short. Each case either streams exactly byteLength bytes in pieces no larger than asked for, or throws
 * a FormatProblem: never another exception, a read outside the file (BoundedSource throws a plain Error),
 * or a hang.
 */
const FIXTURES = ['storage-earliest', 'storage-latest'].map(loadStorageFixture);
/** Bytes changed from the start of a chunk index (its header, or its first node). */
const INDEX_SPAN = 2048;
const CASE_MS = 3000;

interface Target {
  readonly bytes: Uint8Array;
  readonly path: string;
  readonly messages: StorageMessages;
  readonly layout: readonly [number, number];
  readonly filters?: readonly [number, number];
  readonly index?: readonly [number, number];
}

const TARGETS: Target[] = [];
for (const f of FIXTURES) {
  for (const d of f.datasets) {
    const { messages, layoutAt, filtersAt, g } = await storageMessagesOf(f.bytes, d);
    const layout = parseLayoutMessage(messages.layout, g, messages.where);
    const address = layout.kind === 'chunked' || layout.kind === 'contiguous' ? layout.address : undefined;
    TARGETS.push({
      bytes: f.bytes,
      path: d.path,
      messages,
      layout: [layoutAt, layoutAt + messages.layout.length],
      ...(filtersAt !== undefined && messages.filters ? { filters: [filtersAt, filtersAt + messages.filters.length] as const } : {}),
      ...(address !== undefined ? { index: [g.base + address, Math.min(f.bytes.length, g.base + address + INDEX_SPAN)] as const } : {}),
    });
  }
}

/** Opens and streams one mutated dataset: 'ok', or the FormatProblem's kind; anything else fails. */
async function exercise(t: Target, bytes: Uint8Array): Promise<string> {
  const view = (at: number, n: number): Uint8Array => (at + n <= bytes.length ? bytes.subarray(at, at + n) : new Uint8Array(0));
  const messages: StorageMessages = {
    ...t.messages,
    layout: view(t.layout[0], t.layout[1] - t.layout[0]),
    ...(t.filters ? { filters: view(t.filters[0], t.filters[1] - t.filters[0]) } : {}),
  };
  const source = new BoundedSource(bytes);
  const started = Date.now();
  try {
    const storage = await openDatasetStorage(source, new PagedReader(source), { base: 0, offsetSize: 8, lengthSize: 8 }, messages);
    for (const piece of [undefined, 5]) {
      let total = 0;
      for await (const c of storage.chunks(piece)) {
        if (piece !== undefined) expect(c.byteLength).toBeLessThanOrEqual(piece);
        total += c.byteLength;
      }
      expect(total).toBe(storage.byteLength);
    }
    return 'ok';
  } catch (e) {
    if (!(e instanceof FormatProblem)) throw e;
    return e.kind;
  } finally {
    expect(Date.now() - started).toBeLessThan(CASE_MS);
  }
}

describe('HDF5 storage fuzz', () => {
  it('has targets in both fixtures, chunked ones with filters among them', () => {
    expect(TARGETS.length).toBeGreaterThan(100);
    expect(TARGETS.filter((t) => t.filters && t.index).length).toBeGreaterThan(30);
  });

  it.each([
    ['layout message', (t: Target) => t.layout],
    ['filter pipeline message', (t: Target) => t.filters],
    ['chunk index', (t: Target) => t.index],
    ['anywhere', () => undefined],
  ] as const)('bytes changed in the %s: the data, or a FormatProblem', async (_name, region) => {
    const outcomes = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(fc.nat(), EDITS, async (which, edits) => {
        const candidates = TARGETS.filter((t) => region(t) !== undefined || _name === 'anywhere');
        const t = candidates[which % candidates.length]!;
        const bytes = applyEdits(t.bytes.slice(), edits, region(t));
        const outcome = await exercise(t, bytes);
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      }),
      { numRuns: Number(process.env.HDF5_FUZZ_RUNS ?? 700) },
    );
    expect(outcomes.get('malformed') ?? 0).toBeGreaterThan(0);
    expect(outcomes.get('ok') ?? 0).toBeGreaterThan(0);
  }, 120_000);

  it('files cut short: the data, or a FormatProblem', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.nat(), async (which, cut) => {
        const t = TARGETS[which % TARGETS.length]!;
        const end = t.layout[1] + (cut % (t.bytes.length - t.layout[1]));
        await exercise(t, t.bytes.slice(0, end));
      }),
      { numRuns: 400 },
    );
  }, 120_000);
});
