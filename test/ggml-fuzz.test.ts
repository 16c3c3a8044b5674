import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ggmlReader } from '../src/formats/ggml/reader.js';
import { scanGgml } from '../src/formats/ggml/scan-rules.js';
import type { Finding } from '../src/formats/findings.js';
import { BoundedSource } from './helpers/assertions.js';
import { applyEdits, EDITS, exerciseReader } from './helpers/fuzz.js';

/**
 * Fuzzing the legacy GGML reader and its scan rules: mutated fixtures (bytes anywhere, bytes aimed at
 * the hparams, vocabulary and first tensor descriptions, u32 fields set to extremes), every truncation,
 * and random bytes behind each magic either open as a TensorSet whose every tensor streams exactly
 * byteLength bytes, or fail with a coded TensorsafeError; the scan rules give findings, never throw.
 * Never another exception, a hang, or a read outside the file (BoundedSource throws a plain Error).
 */

const DIR = path.join(import.meta.dirname, 'fixtures', 'formats', 'ggml');
const SEEDS = ['ggjt-v3-f16.bin', 'ggjt-v1-f16.bin', 'ggmf-v1-f16.bin', 'ggml-unversioned-f16.bin', 'refused-ggjt-v3-q4_0.bin', 'refused-ggjt-v2-q8_0.bin'].map(
  (f) => new Uint8Array(fs.readFileSync(path.join(DIR, f))),
);
const CASE_MS = 2000;
const CODES = ['opened', 'InvalidGgml', 'GgmlLimit', 'UnsupportedTensor'];

async function exercise(bytes: Uint8Array): Promise<string> {
  const outcome = await exerciseReader(ggmlReader, bytes, 'fuzz.bin', { maxChunk: true, caseMs: CASE_MS });
  const findings: Finding[] = [];
  await scanGgml(new BoundedSource(bytes, 'fuzz.bin'), { file: 'fuzz.bin', dir: undefined, report: (f: Finding) => findings.push(f), scanPickle: () => {} });
  // The scan and the reader read the same structure: a file the reader refuses as damaged is a finding.
  if (outcome === 'InvalidGgml') expect(findings.map((f) => f.rule)).toContain('ggml/malformed');
  if (outcome === 'opened') expect(findings.map((f) => f.rule)).toEqual(['ggml/valid']);
  return outcome;
}

describe('legacy GGML reader fuzz', () => {
  it('mutated files: bytes anywhere, or aimed at the header', async () => {
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: SEEDS.length - 1 }), EDITS, async (s, edits) => {
        const b = SEEDS[s]!.slice();
        seen.add(await exercise(applyEdits(b, edits, [0, Math.min(b.length, 300)])));
      }),
      { numRuns: 1000 },
    );
    expect(seen.has('opened')).toBe(true);
    expect(seen.has('InvalidGgml')).toBe(true);
  });

  it('u32 fields set to extremes anywhere in the header', async () => {
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: SEEDS.length - 1 }), fc.nat(), fc.constantFrom(0, 1, 0x7f, 0xff, 0xffff, 0x7fffffff, 0xffffffff), async (s, at, value) => {
        const b = SEEDS[s]!.slice();
        new DataView(b.buffer).setUint32(4 + (at % Math.max(1, Math.min(b.length, 300) - 8)), value, true);
        seen.add(await exercise(b));
      }),
      { numRuns: 1000 },
    );
    expect(seen.has('GgmlLimit') || seen.has('InvalidGgml')).toBe(true);
  });

  it('every truncation of every seed', async () => {
    for (const seed of SEEDS) {
      for (let n = 8; n < seed.length; n++) expect(CODES).toContain(await exercise(seed.subarray(0, n)));
    }
  });

  it('random bytes behind each magic', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('lmgg', 'fmgg', 'tjgg'), fc.constantFrom(1, 2, 3, 7), fc.uint8Array({ maxLength: 400 }), async (magic, version, rest) => {
        const b = new Uint8Array(8 + rest.length);
        b.set(new TextEncoder().encode(magic));
        new DataView(b.buffer).setUint32(4, version, true);
        b.set(rest, 8);
        expect(CODES).toContain(await exercise(b));
      }),
      { numRuns: 1000 },
    );
  });

  it('an unknown version is a coded refusal naming it', async () => {
    const b = SEEDS[0]!.slice();
    new DataView(b.buffer).setUint32(4, 4, true);
    await expect(ggmlReader.open!(new BoundedSource(b, 'v4.bin'))).rejects.toMatchObject({ code: 'InvalidGgml', message: expect.stringContaining('ggjt version 4') });
  });
});
