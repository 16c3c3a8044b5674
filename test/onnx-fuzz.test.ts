import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { onnxReader } from '../src/formats/onnx/reader.js';
import { exerciseReader, mutationOutcomes } from './helpers/fuzz.js';
import { pb } from './fixtures/scan/craft.js';

/**
 * Fuzzing the ONNX reader: mutated real files (python3-onnx's, test/fixtures/formats/onnx), truncated
 * ones and random bytes either open as a TensorSet whose every tensor streams exactly byteLength bytes
 * (default and small chunks), or fail with a coded TensorsafeError: never another exception, a hang,
 * or a read outside the file (BoundedSource throws on one).
 */

const DIR = path.join(import.meta.dirname, 'fixtures', 'formats', 'onnx');
const SEEDS = fs
  .readdirSync(DIR)
  .filter((f) => f.endsWith('.onnx'))
  .sort()
  .map((f) => new Uint8Array(fs.readFileSync(path.join(DIR, f))));

const exercise = (bytes: Uint8Array): Promise<string> => exerciseReader(onnxReader, bytes, 'fuzz.onnx');

describe('ONNX reader fuzz', () => {
  it('has seeds', () => expect(SEEDS.length).toBeGreaterThanOrEqual(5));

  it('every seed opens or fails as its expected file says', async () => {
    for (const s of SEEDS) expect(['opened', 'UnsupportedTensor', 'InvalidOnnx']).toContain(await exercise(s));
  });

  it('mutated files: a TensorSet that streams its byte lengths, or a coded error', async () => {
    const outcomes = await mutationOutcomes(SEEDS, exercise, 1500);
    // The mutations reach both sides: some files still open, some are refused.
    expect(outcomes.get('opened') ?? 0).toBeGreaterThan(0);
    expect(outcomes.get('InvalidOnnx') ?? 0).toBeGreaterThan(0);
  }, 120_000);

  it('truncated files', async () => {
    for (const s of SEEDS) for (let n = 0; n < s.length; n += Math.max(1, Math.floor(s.length / 60))) await exercise(s.subarray(0, n));
  }, 60_000);

  it('random bytes', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 400 }), async (b) => void (await exercise(b))), { numRuns: 1500 });
  }, 60_000);

  it('deep nesting and huge declared lengths are coded errors, not a stack overflow', async () => {
    // Graph attributes nesting 900 messages deep: node → attribute → graph → node …
    let inner: Uint8Array = new Uint8Array(0);
    for (let i = 0; i < 300; i++) inner = pb.bytes(1, pb.bytes(5, pb.bytes(6, inner)));
    expect(await exercise(pb.bytes(7, inner))).toBe('OnnxLimit');
    // A raw_data that claims 2^40 bytes in a 20-byte file.
    expect(await exercise(new Uint8Array([0x3a, 0x0c, 0x2a, 0x0a, 0x4a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20, 0, 0, 0, 0, 0, 0, 0]))).toBe('InvalidOnnx');
  });
});
