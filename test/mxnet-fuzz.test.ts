import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mxnetReader } from '../src/formats/mxnet/reader.js';
import { scanMxnet } from '../src/formats/mxnet/scan-rules.js';
import type { Finding } from '../src/formats/findings.js';
import { BoundedSource } from './helpers/assertions.js';
import { applyEdits, EDITS, exerciseReader } from './helpers/fuzz.js';

/**
 * Fuzzing the MXNet NDArray reader and its scan rules: mutated fixtures (dense of every type, every
 * version, row-sparse and CSR), i32/u64 fields set to extremes, every truncation, and random bytes
 * behind the list magic either open as a TensorSet whose every tensor streams exactly byteLength bytes,
 * or fail with a coded TensorsafeError; the scan rules give findings, never throw. Never another
 * exception, a hang, or a read outside the file (BoundedSource throws a plain Error).
 */

const DIR = path.join(import.meta.dirname, 'fixtures', 'formats', 'mxnet');
const SEEDS = ['all-dtypes-v2.params', 'versions-no-names.nd', 'sparse.params', 'legacy_ndarray.v0'].map((f) => new Uint8Array(fs.readFileSync(path.join(DIR, f))));
const CASE_MS = 2000;
const CODES = ['opened', 'InvalidMxnet', 'MxnetLimit'];

async function exercise(bytes: Uint8Array): Promise<string> {
  const outcome = await exerciseReader(mxnetReader, bytes, 'fuzz.params', { maxChunk: true, caseMs: CASE_MS });
  const findings: Finding[] = [];
  await scanMxnet(new BoundedSource(bytes, 'fuzz.params'), { file: 'fuzz.params', dir: undefined, report: (f: Finding) => findings.push(f), scanPickle: () => {} });
  const rules = findings.map((f) => f.rule);
  // The scan reads the same structure (a sparse array's indices are the reader's alone to check).
  if (outcome === 'opened') expect(rules).toContain('mxnet/valid');
  if (rules.includes('mxnet/malformed')) expect(outcome).toBe('InvalidMxnet');
  return outcome;
}

describe('MXNet reader fuzz', () => {
  it('mutated files: bytes anywhere, or aimed at the headers', async () => {
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: SEEDS.length - 1 }), EDITS, async (s, edits) => {
        const b = SEEDS[s]!.slice();
        seen.add(await exercise(applyEdits(b, edits, [24, Math.min(b.length, 200)])));
      }),
      { numRuns: 1000 },
    );
    expect(seen.has('opened')).toBe(true);
    expect(seen.has('InvalidMxnet')).toBe(true);
  });

  it('u32 fields set to extremes anywhere', async () => {
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: SEEDS.length - 1 }), fc.nat(), fc.constantFrom(0, 1, 2, 0x7f, 0xffff, 0x7fffffff, 0xffffffff, 0xf993fac9, 0xf993faca), async (s, at, value) => {
        const b = SEEDS[s]!.slice();
        new DataView(b.buffer).setUint32(16 + (at % (b.length - 20)), value, true);
        seen.add(await exercise(b));
      }),
      { numRuns: 1000 },
    );
    expect(seen.has('MxnetLimit') || seen.has('InvalidMxnet')).toBe(true);
  });

  it('every truncation of every seed', async () => {
    for (const seed of SEEDS) for (let n = 24; n < seed.length; n++) expect(CODES).toContain(await exercise(seed.subarray(0, n)));
  });

  it('random bytes behind the list magic', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 400 }), fc.integer({ min: 0, max: 4 }), async (rest, count) => {
        const b = new Uint8Array(24 + rest.length);
        const dv = new DataView(b.buffer);
        dv.setBigUint64(0, 0x112n, true);
        dv.setBigUint64(16, BigInt(count), true);
        b.set(rest, 24);
        expect(CODES).toContain(await exercise(b));
      }),
      { numRuns: 1000 },
    );
  });

  it('a count of a billion arrays is an MxnetLimit, not a walk', async () => {
    const b = new Uint8Array(64);
    const dv = new DataView(b.buffer);
    dv.setBigUint64(0, 0x112n, true);
    dv.setBigUint64(16, 1n << 30n, true);
    expect(await exercise(b)).toBe('MxnetLimit');
  });
});

describe('MXNet CSR indptr', () => {
  it('a pointer past the non-zeros in the middle of indptr is InvalidMxnet, not an endless walk', async () => {
    const b = new Uint8Array(fs.readFileSync(path.join(DIR, 'sparse.params')));
    // Found by the fuzz test: indptr [0, 2^62, …] with the last pointer right walked a row 2^62 long.
    const csr = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    const magic = Buffer.from([0xc9, 0xfa, 0x93, 0xf9, 2, 0, 0, 0]);
    const at = csr.indexOf(magic);
    expect(at).toBeGreaterThan(0);
    // csr_f64: storage shape (4,), shape (4, 5), context, type, aux types and shapes, 4 values, then indptr (5 × i64).
    const indptr = at + 8 + 12 + 20 + 8 + 4 + 4 + 12 + 4 + 12 + 4 * 8;
    expect(csr.readBigInt64LE(indptr)).toBe(0n);
    csr.writeBigInt64LE(1n << 62n, indptr + 8);
    expect(await exercise(b)).toBe('InvalidMxnet');
  });
});
