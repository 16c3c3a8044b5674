import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hdf5Reader } from '../src/formats/hdf5/reader.js';
import { exerciseReader, mutationOutcomes } from './helpers/fuzz.js';

/**
 * Fuzzing the HDF5 reader: mutated h5py-made files (test/fixtures/formats/hdf5, test/fixtures/hdf5),
 * truncated ones and random bytes either open as a TensorSet whose every tensor streams exactly
 * byteLength bytes (default and small chunks), or fail with a coded TensorsafeError: never another
 * exception, a hang (15 s a case: a loaded machine), or a read outside the file (BoundedSource throws on one). Checksums of version-2
 * metadata catch most edits of latest-format files, so edits also land in the earliest-format ones.
 */

const DIRS = [path.join(import.meta.dirname, 'fixtures', 'formats', 'hdf5'), path.join(import.meta.dirname, 'fixtures', 'hdf5')];
const SEEDS = DIRS.flatMap((d) =>
  fs
    .readdirSync(d)
    .filter((f) => f.endsWith('.h5'))
    .sort()
    .map((f) => new Uint8Array(fs.readFileSync(path.join(d, f)))),
);

const CODES = ['opened', 'InvalidHdf5', 'Hdf5Limit', 'Hdf5Unsupported'];

const exercise = (bytes: Uint8Array): Promise<string> => exerciseReader(hdf5Reader, bytes, 'fuzz.h5', { caseMs: 15_000 });

describe('HDF5 reader fuzz', () => {
  it('has seeds', () => expect(SEEDS.length).toBeGreaterThanOrEqual(8));

  it('every seed opens (or is refused as unsupported)', async () => {
    // shared-messages.h5 keeps its datatypes in the shared-message heap (SOHM): refused by name.
    for (const s of SEEDS) expect(['opened', 'Hdf5Unsupported']).toContain(await exercise(s));
  });

  it('mutated files: a TensorSet that streams its byte lengths, or a coded error', async () => {
    const outcomes = await mutationOutcomes(SEEDS, exercise, 3000);
    for (const o of outcomes.keys()) expect(CODES).toContain(o);
    expect(outcomes.get('opened') ?? 0).toBeGreaterThan(0);
    expect(outcomes.get('InvalidHdf5') ?? 0).toBeGreaterThan(0);
  }, 180_000);

  it('damaged chunk data (deflated, shuffled, fletcher32) fails while streaming with a coded error, never an internal one', async () => {
    const seed = new Uint8Array(fs.readFileSync(path.join(import.meta.dirname, 'fixtures', 'hdf5', 'deflate-chunks.h5')));
    const outcomes = new Map<string, number>();
    for (let at = 1024; at + 4 <= seed.length; at += 97) {
      const b = seed.slice();
      b.fill(0xa5, at, at + 4);
      const o = await exercise(b);
      outcomes.set(o, (outcomes.get(o) ?? 0) + 1);
    }
    for (const o of outcomes.keys()) expect(CODES).toContain(o);
    expect(outcomes.get('InvalidHdf5') ?? 0).toBeGreaterThan(50);
  }, 60_000);

  it('truncated files', async () => {
    for (const s of SEEDS) for (let n = 0; n < s.length; n += 97) expect(CODES).toContain(await exercise(s.subarray(0, n)));
  }, 120_000);

  it('random bytes after an HDF5 signature', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 600 }), fc.boolean(), async (b, sig) => {
        if (sig && b.length >= 8) b.set([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a], 0);
        expect(CODES).toContain(await exercise(b));
      }),
      { numRuns: 1500 },
    );
  }, 60_000);
});
