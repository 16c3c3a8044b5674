import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { flaxReader } from '../src/formats/flax/reader.js';
import { scanFlax } from '../src/formats/flax/scan-rules.js';
import { looksLikeFlax } from '../src/formats/flax/sniff.js';
import type { Finding } from '../src/formats/findings.js';
import { BoundedSource } from './helpers/assertions.js';
import { applyEdits, EDITS, exerciseReader } from './helpers/fuzz.js';

/**
 * Fuzzing the Flax msgpack reader, its scan rules and its detector: mutated checkpoints (plain and
 * chunked arrays, every msgpack type), every truncation, msgpack headers declaring huge lengths, and
 * random bytes behind a map header either open as a TensorSet whose every tensor streams exactly
 * byteLength bytes, or fail with a coded TensorsafeError; the scan gives findings, the detector an
 * answer, never an exception or a hang.
 */

const DIR = path.join(import.meta.dirname, 'fixtures', 'formats', 'flax');
const SEEDS = ['train-state.msgpack', 'chunked.msgpack'].map((f) => new Uint8Array(fs.readFileSync(path.join(DIR, f))));
const CASE_MS = 2000;
const CODES = ['opened', 'InvalidFlax', 'FlaxLimit', 'UnsupportedTensor'];

async function exercise(bytes: Uint8Array): Promise<string> {
  looksLikeFlax(bytes.subarray(0, 512), bytes.length);
  const outcome = await exerciseReader(flaxReader, bytes, 'fuzz.msgpack', { maxChunk: true, caseMs: CASE_MS });
  const findings: Finding[] = [];
  await scanFlax(new BoundedSource(bytes, 'fuzz.msgpack'), { file: 'fuzz.msgpack', dir: undefined, report: (f: Finding) => findings.push(f), scanPickle: () => {} });
  const rules = findings.map((f) => f.rule);
  if (outcome === 'InvalidFlax') expect(rules).toContain('flax/malformed');
  if (outcome === 'opened') expect(rules).toEqual(['flax/valid']);
  return outcome;
}

describe('Flax reader fuzz', () => {
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
    expect(seen.has('InvalidFlax')).toBe(true);
  });

  it('every truncation of every seed is a coded error', async () => {
    for (const seed of SEEDS) for (let n = 0; n < seed.length; n++) expect(['InvalidFlax', 'FlaxLimit']).toContain(await exercise(seed.subarray(0, n)));
  });

  it('random bytes behind a map header', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(0x81, 0x8f, 0xde, 0xdf), fc.uint8Array({ maxLength: 300 }), async (t, rest) => {
        const b = new Uint8Array(1 + rest.length);
        b[0] = t;
        b.set(rest, 1);
        expect(CODES).toContain(await exercise(b));
      }),
      { numRuns: 1000 },
    );
  });

  it('a map of 2^32-1 entries, an array of 2^31, a str of 4 GiB: limits or the end of the file, never a walk', async () => {
    for (const head of [[0xdf, 0xff, 0xff, 0xff, 0xff], [0x81, 0xa1, 0x61, 0xdd, 0x80, 0, 0, 0], [0x81, 0xa1, 0x61, 0xdb, 0xff, 0xff, 0xff, 0xff]]) {
      expect(['FlaxLimit', 'InvalidFlax']).toContain(await exercise(new Uint8Array([...head, 0, 0, 0])));
    }
  });

  it('nesting past MAX_FLAX_DEPTH is a FlaxLimit', async () => {
    const b = new Uint8Array(200).fill(0x91);
    b[0] = 0x81;
    b[1] = 0xa1;
    b[2] = 0x61;
    b[199] = 0xc0;
    expect(await exercise(b)).toBe('FlaxLimit');
  });
});
