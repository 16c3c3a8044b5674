import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { paddleReader } from '../src/formats/paddle/reader.js';
import { applyEdits, EDITS, exerciseReader } from './helpers/fuzz.js';

/**
 * Fuzzing the PaddlePaddle reader: mutated state-dict pickles (protocols 2 and 4) and every truncation
 * either open as a TensorSet whose every tensor streams exactly byteLength bytes, or fail with a coded
 * TensorsafeError (the pickle machine's own codes included); never another exception or a hang.
 */

const DIR = path.join(import.meta.dirname, 'fixtures', 'formats', 'paddle');
const SEEDS = ['model-protocol2.pdparams', 'model-protocol4.pdparams'].map((f) => new Uint8Array(fs.readFileSync(path.join(DIR, f))));
const CASE_MS = 2000;

const exercise = (bytes: Uint8Array): Promise<string> => exerciseReader(paddleReader, bytes, 'fuzz.pdparams', { maxChunk: true, caseMs: CASE_MS });

describe('PaddlePaddle reader fuzz', () => {
  it('mutated files: bytes anywhere', async () => {
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: SEEDS.length - 1 }), EDITS, async (s, edits) => {
        const b = SEEDS[s]!.slice();
        seen.add(await exercise(applyEdits(b, edits, [0, b.length])));
      }),
      { numRuns: 1000 },
    );
    expect(seen.has('opened')).toBe(true);
    expect(seen.size).toBeGreaterThan(2);
  });

  it('every truncation of every seed is a coded error', async () => {
    for (const seed of SEEDS) for (let n = 0; n < seed.length; n++) expect(await exercise(seed.subarray(0, n))).not.toBe('opened');
  });
});
