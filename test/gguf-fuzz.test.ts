import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GGML_TYPES } from '../src/tensor/gguf-types.js';
import { ggufReader } from '../src/formats/gguf/reader.js';
import { BoundedSource } from './helpers/assertions.js';
import { applyEdits, EDITS, exerciseReader } from './helpers/fuzz.js';

/**
 * Fuzzing the GGUF reader: mutated fixtures (bytes anywhere, bytes aimed at the header, counts and
 * lengths set to extremes), every truncation, and random bytes behind the magic either open as a
 * TensorSet whose every tensor streams exactly byteLength bytes (in default and in small chunks), or
 * fail with a coded TensorsafeError: never another exception, a hang, or a read outside the file
 * (BoundedSource throws a plain Error on one, which fails the property).
 */

const DIR = path.join(import.meta.dirname, 'fixtures', 'formats', 'gguf');
const SEEDS = [
  ...['raw-v3.gguf', 'raw-v1.gguf', 'raw-v2-align64.gguf', 'raw-v3-big-endian.gguf', 'quant-q8_0-q4_0.gguf', 'refused-q8_k.gguf'].map((f) => new Uint8Array(fs.readFileSync(path.join(DIR, f)))),
  blockTypesSeed(['IQ2_XXS', 'IQ2_XS', 'IQ2_S', 'IQ3_XXS', 'IQ3_S', 'IQ1_S', 'IQ1_M', 'IQ4_NL', 'IQ4_XS', 'TQ1_0', 'TQ2_0', 'MXFP4', 'NVFP4', 'Q1_0', 'Q2_0']),
];
/**
 * A GGUF v3 with one tensor of one block per named ggml type (random bytes: the fuzzer only asks that
 * every tensor streams its length), so that mutations reach those types' decoders.
 */
function blockTypesSeed(names: readonly string[]): Uint8Array {
  const enc = new TextEncoder();
  const types = names.map((n) => [...GGML_TYPES].find(([, t]) => t[2] === n)!);
  const head: number[] = [...enc.encode('GGUF'), ...u32(3), ...u64(types.length), ...u64(0)];
  let offset = 0;
  for (const [id, [elements, bytes, name]] of types) {
    const key = enc.encode(name.toLowerCase());
    head.push(...u64(key.length), ...key, ...u32(1), ...u64(elements), ...u32(id), ...u64(offset));
    offset += Math.ceil(bytes / 32) * 32;
  }
  const data = Math.ceil(head.length / 32) * 32;
  const out = new Uint8Array(data + offset);
  out.set(head);
  let seed = 11;
  for (let i = data; i < out.length; i++) out[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
  return out;
}
function u32(v: number): number[] { return [v & 255, (v >> 8) & 255, (v >> 16) & 255, v >>> 24]; }
function u64(v: number): number[] { return [...u32(v), 0, 0, 0, 0]; }

/** Each case must finish well within this (a hang is a failure, not a slow test). */
const CASE_MS = 2000;

const exercise = (bytes: Uint8Array): Promise<string> => exerciseReader(ggufReader, bytes, 'fuzz.gguf', { maxChunk: true, caseMs: CASE_MS });

/** Values that make counts, lengths, dimensions and offsets extreme. */
const EXTREMES = [0n, 1n, 0x7fn, 0xffn, 0xffffn, 0xffffffffn, 0x100000000n, 1n << 40n, (1n << 63n) - 1n, 1n << 63n, (1n << 64n) - 1n];

describe('GGUF reader fuzz', () => {
  it('the seeds open as their fixtures say (the block types seed: every tensor decodes to its length)', async () => {
    expect(await Promise.all(SEEDS.map((b) => exercise(b)))).toEqual(['opened', 'opened', 'opened', 'opened', 'opened', 'UnsupportedTensor', 'opened']);
  });

  it('mutated files: bytes anywhere, or aimed at the header', async () => {
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: SEEDS.length - 1 }),
        EDITS,
        async (s, edits) => {
          const b = SEEDS[s]!.slice();
          // Aimed edits land in the header.
          seen.add(await exercise(applyEdits(b, edits, [0, Math.min(b.length, 700)])));
        },
      ),
      { numRuns: 1500 },
    );
    expect(seen.has('opened')).toBe(true);
    expect(seen.has('InvalidGguf')).toBe(true);
  });

  it('counts, lengths, dimensions and offsets set to extremes (u64 and u32 at any header position)', async () => {
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: SEEDS.length - 1 }),
        fc.nat(),
        fc.constantFrom(...EXTREMES),
        fc.boolean(),
        async (s, at, value, wide) => {
          const b = SEEDS[s]!.slice();
          const dv = new DataView(b.buffer);
          const pos = 8 + (at % Math.max(1, Math.min(b.length, 700) - 16));
          if (wide) dv.setBigUint64(pos, value, true);
          else dv.setUint32(pos, Number(value & 0xffffffffn), true);
          seen.add(await exercise(b));
        },
      ),
      { numRuns: 1500 },
    );
    expect(seen.has('GgufLimit') || seen.has('InvalidGguf')).toBe(true);
  });

  it('every truncation of every seed', async () => {
    for (const seed of SEEDS) {
      for (let n = 0; n < seed.length; n++) {
        const outcome = await exercise(seed.subarray(0, n));
        expect(['opened', 'InvalidGguf', 'UnsupportedTensor', 'GgufLimit']).toContain(outcome);
      }
    }
  });

  it('random bytes behind the magic and a version', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(1, 2, 3, 0x03000000), fc.uint8Array({ maxLength: 400 }), async (version, rest) => {
        const b = new Uint8Array(8 + rest.length);
        b.set([0x47, 0x47, 0x55, 0x46]);
        new DataView(b.buffer).setUint32(4, version, true);
        b.set(rest, 8);
        await exercise(b);
      }),
      { numRuns: 1500 },
    );
  });

  it('an unknown version and a wrong magic are coded refusals naming them', async () => {
    const b = SEEDS[0]!.slice();
    new DataView(b.buffer).setUint32(4, 7, true);
    await expect(ggufReader.open!(new BoundedSource(b, 'v7.gguf'))).rejects.toMatchObject({ code: 'InvalidGguf', message: expect.stringContaining('version 7') });
    const m = SEEDS[0]!.slice();
    m[0] = 0x48;
    await expect(ggufReader.open!(new BoundedSource(m, 'magic.gguf'))).rejects.toMatchObject({ code: 'InvalidGguf', message: expect.stringContaining('magic') });
  });
});
