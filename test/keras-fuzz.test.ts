import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { kerasReader } from '../src/formats/keras/reader.js';
import { applyEdits, EDITS, exerciseReader, mutationOutcomes } from './helpers/fuzz.js';

/**
 * Fuzzing the Keras reader: mutated fixtures (h5py's legacy and Keras 3 files, .keras archives with
 * stored and deflated weights, and an npz) and their truncations either open as a TensorSet whose every
 * tensor streams exactly byteLength bytes, or fail with a coded TensorsafeError (Keras's, HDF5's, the
 * zip reader's, NumPy's): never another exception, a hang, or a read outside the file.
 */

const DIR = path.join(import.meta.dirname, 'fixtures', 'formats', 'keras');
const NAMES = ['keras2-model.h5', 'keras3-model.h5', 'split-names.h5', 'weights-only.h5', 'tf_model.h5', 'model.weights.h5', 'model.keras', 'deflated.keras', 'npz-plain.keras'];
const SEEDS = NAMES.map((f) => new Uint8Array(fs.readFileSync(path.join(DIR, f))));
/** A case that takes longer than this is a hang. */
const CASE_MS = 10_000;

const exercise = (bytes: Uint8Array): Promise<string> => exerciseReader(kerasReader, bytes, 'fuzz.keras', { caseMs: CASE_MS });

describe('Keras reader fuzz', () => {
  it('mutated files: bytes anywhere', async () => {
    const outcomes = await mutationOutcomes(SEEDS, exercise, 400);
    expect(outcomes.has('opened')).toBe(true);
    expect([...outcomes.keys()].filter((k) => k !== 'opened').length).toBeGreaterThan(0);
  }, 300_000);

  it('mutated files: edits aimed at the first 4 KiB (superblock, root header, name attributes, zip headers)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: SEEDS.length - 1 }), EDITS, async (which, edits) => {
        const bytes = SEEDS[which]!.slice();
        await exercise(applyEdits(bytes, edits, [0, Math.min(4096, bytes.length)]));
      }),
      { numRuns: 300 },
    );
  }, 300_000);

  it('truncations of every seed', async () => {
    // A truncation that cuts only what the weights do not need (a legacy file's optimizer_weights at its
    // end) may open: formats/hdf5 does not compare the superblock's end-of-file address with the size.
    const codes = new Set<string>();
    for (const seed of SEEDS) {
      for (let n = 0; n < seed.length; n += Math.max(1, seed.length >> 5)) codes.add(await exercise(seed.subarray(0, n)));
    }
    expect(codes.size).toBeGreaterThan(1);
  }, 300_000);
});
