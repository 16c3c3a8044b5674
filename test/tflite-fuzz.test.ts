import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tfliteReader } from '../src/formats/tflite/reader.js';
import { exerciseReader, mutationOutcomes } from './helpers/fuzz.js';

/**
 * Fuzzing the TFLite reader: mutated flatc-made files (test/fixtures/formats/tflite), truncated ones
 * and random bytes either open as a TensorSet whose every tensor streams exactly byteLength bytes
 * (default and small chunks), or fail with a coded TensorsafeError: never another exception, a hang,
 * or a read outside the file (BoundedSource throws on one).
 */

const DIR = path.join(import.meta.dirname, 'fixtures', 'formats', 'tflite');
const FILES = fs
  .readdirSync(DIR)
  .filter((f) => f.endsWith('.tflite'))
  .sort();
const SEEDS = FILES.map((f) => new Uint8Array(fs.readFileSync(path.join(DIR, f))));
/** Each seed's outcome: its .expected.json's error code, or opened. */
const OUTCOMES = FILES.map((f) => (JSON.parse(fs.readFileSync(path.join(DIR, `${f}.expected.json`), 'utf8')) as { error?: string }).error ?? 'opened');

const exercise = (bytes: Uint8Array): Promise<string> => exerciseReader(tfliteReader, bytes, 'fuzz.tflite', { caseMs: 2000 });

describe('TFLite reader fuzz', () => {
  it('has seeds', () => expect(SEEDS.length).toBeGreaterThanOrEqual(5));

  it('every seed opens or fails with the error its .expected.json names', async () => {
    for (const [i, s] of SEEDS.entries()) expect([FILES[i], await exercise(s)]).toEqual([FILES[i], OUTCOMES[i]]);
  });

  it('mutated files: a TensorSet that streams its byte lengths, or a coded error', async () => {
    const outcomes = await mutationOutcomes(SEEDS, exercise, 2000);
    // The mutations reach both sides: some files still open, some are refused.
    expect(outcomes.get('opened') ?? 0).toBeGreaterThan(0);
    expect(outcomes.get('InvalidTflite') ?? 0).toBeGreaterThan(0);
  }, 120_000);

  it('truncated files', async () => {
    // A seed refused by a limit may still reach it when its tail is cut (the tables come first).
    for (const [i, s] of SEEDS.entries()) for (let n = 0; n < s.length; n++) expect(['opened', 'InvalidTflite', OUTCOMES[i]]).toContain(await exercise(s.subarray(0, n)));
  }, 60_000);

  it('random bytes, with and without the TFL3 identifier', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 400 }), fc.boolean(), async (b, ident) => {
        if (ident && b.length >= 8) b.set([0x54, 0x46, 0x4c, 0x33], 4);
        await exercise(b);
      }),
      { numRuns: 2000 },
    );
  }, 60_000);

  it('a vector of a million tables is a TfliteLimit, not a walk', async () => {
    // A Model whose buffers vector (field 4) claims 1,000,000 elements in a 64-byte file.
    const b = new Uint8Array(64);
    const v = new DataView(b.buffer);
    v.setUint32(0, 24, true); // root offset: the Model table at 24
    b.set([0x54, 0x46, 0x4c, 0x33], 4); // TFL3
    v.setUint16(8, 14, true); // vtable at 8: 14 bytes (fields 0 to 4)
    v.setUint16(10, 8, true); // table size 8
    v.setUint16(20, 4, true); // field 4 (buffers) at table offset 4
    v.setInt32(24, 24 - 8, true); // the table's offset back to its vtable
    v.setUint32(28, 4, true); // buffers: the vector at 32
    v.setUint32(32, 1_000_000, true);
    expect(await exercise(b)).toBe('TfliteLimit');
  });
});
