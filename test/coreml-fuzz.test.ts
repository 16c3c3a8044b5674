import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TensorsafeError } from '../src/errors.js';
import { coremlReader } from '../src/formats/coreml/reader.js';
import { BoundedSource } from './helpers/assertions.js';
import { EDITS } from './helpers/fuzz.js';

/**
 * Fuzzing the Core ML reader: mutated, truncated and random .mlmodel and MIL text files, and mutated
 * weight files (blob headers and metadata records) behind an intact model, either open as a TensorSet
 * whose every tensor streams exactly byteLength bytes (default and 8-byte chunks, with and without
 * --dequantize), or fail with a coded TensorsafeError: never another exception, a hang, or a read
 * outside a file (BoundedSource throws on one).
 */

const DIR = path.join(import.meta.dirname, 'fixtures', 'formats', 'coreml');
const FILES = fs
  .readdirSync(DIR)
  .filter((f) => f.endsWith('.mlmodel') || f.endsWith('.mil'))
  .sort();
const SEEDS = FILES.map((f) => new Uint8Array(fs.readFileSync(path.join(DIR, f))));
const OUTCOMES = FILES.map((f) => (JSON.parse(fs.readFileSync(path.join(DIR, `${f}.expected.json`), 'utf8')) as { error?: string }).error ?? 'opened');
const WEIGHTS = new Map(fs.readdirSync(path.join(DIR, 'weights')).map((f) => [`weights/${f}`, new Uint8Array(fs.readFileSync(path.join(DIR, 'weights', f)))]));

async function exercise(bytes: Uint8Array, weights: ReadonlyMap<string, Uint8Array> = WEIGHTS, dequantize = false): Promise<string> {
  const started = Date.now();
  try {
    const openSibling = async (p: string) => {
      const w = weights.get(p);
      if (w === undefined) throw new TensorsafeError('ExternalDataRefused', `no ${p}`);
      return new BoundedSource(w, p);
    };
    const { tensors } = await coremlReader.open!(new BoundedSource(bytes, 'fuzz.mlmodel'), { openSibling, dequantize });
    try {
      for (const t of tensors.tensors) {
        for (const chunk of [undefined, 8]) {
          let total = 0;
          for await (const c of t.chunks(chunk)) total += c.byteLength;
          expect(total).toBe(t.byteLength);
        }
      }
    } finally {
      await tensors.close();
    }
    return 'opened';
  } catch (e) {
    if (!(e instanceof TensorsafeError) || !e.code || !e.message) throw e;
    return e.code;
  } finally {
    expect(Date.now() - started).toBeLessThan(3000);
  }
}

describe('Core ML reader fuzz', () => {
  it('has seeds', () => expect(SEEDS.length).toBeGreaterThanOrEqual(10));

  it('every seed opens or fails with the error its .expected.json names', async () => {
    for (const [i, s] of SEEDS.entries()) expect([FILES[i], await exercise(s)]).toEqual([FILES[i], OUTCOMES[i]]);
  });

  it('mutated models: a TensorSet that streams its byte lengths, or a coded error', async () => {
    const outcomes = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: SEEDS.length - 1 }), EDITS, fc.boolean(), async (i, edits, dequantize) => {
        const b = SEEDS[i]!.slice();
        for (const [at, value, xor] of edits) b[at % b.length] = xor ? b[at % b.length]! ^ (1 << (value % 8)) : value;
        const o = await exercise(b, WEIGHTS, dequantize);
        outcomes.set(o, (outcomes.get(o) ?? 0) + 1);
      }),
      { numRuns: 2000 },
    );
    expect(outcomes.get('opened') ?? 0).toBeGreaterThan(0);
    expect(outcomes.get('InvalidCoreml') ?? 0).toBeGreaterThan(0);
  }, 120_000);

  it('mutated weight files behind intact models', async () => {
    const programs = FILES.flatMap((f, i) => (OUTCOMES[i] === 'opened' && (f.startsWith('prog-') || f.endsWith('.mil')) ? [SEEDS[i]!] : []));
    const names = [...WEIGHTS.keys()];
    const outcomes = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: programs.length - 1 }), fc.integer({ min: 0, max: names.length - 1 }), EDITS, async (p, w, edits) => {
        const weights = new Map(WEIGHTS);
        const b = weights.get(names[w]!)!.slice();
        // Aimed at the headers and metadata records (the first 64 bytes of every 64-aligned record) as often as not.
        for (const [at, value, aim] of edits) b[aim ? (at % Math.ceil(b.length / 64)) * 64 + (value % 32) : at % b.length] = value;
        weights.set(names[w]!, b.subarray(0, b.length));
        const o = await exercise(programs[p]!, weights);
        outcomes.set(o, (outcomes.get(o) ?? 0) + 1);
      }),
      { numRuns: 1500 },
    );
    expect(outcomes.get('CoremlBlobInvalid') ?? 0).toBeGreaterThan(0);
  }, 120_000);

  it('truncated models and weight files', async () => {
    for (const [i, s] of SEEDS.entries()) {
      for (let n = 0; n < s.length; n += Math.max(1, Math.floor(s.length / 200))) expect(['opened', 'InvalidCoreml', 'CoremlLimit', 'NoTensors', OUTCOMES[i]]).toContain(await exercise(s.subarray(0, n)));
    }
    const types = SEEDS[FILES.indexOf('prog-types.mlmodel')]!;
    const bin = WEIGHTS.get('weights/types.bin')!;
    for (let n = 0; n < bin.length; n += 7) expect(['CoremlBlobInvalid']).toContain(await exercise(types, new Map([...WEIGHTS, ['weights/types.bin', bin.subarray(0, n)]])));
  }, 60_000);

  it('an immediate int32 value whose last varint runs past its field is InvalidCoreml (a fuzz counterexample)', async () => {
    const b = SEEDS[FILES.indexOf('prog-types.mlmodel')]!.slice();
    // i_int32's packed values: 1, -2 (ten bytes), 2^31 - 1 (five), -2^31 (ten): the very last byte loses its end.
    const values = Uint8Array.of(0x01, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0xff, 0xff, 0xff, 0xff, 0x07, 0x80, 0x80, 0x80, 0x80, 0xf8, 0xff, 0xff, 0xff, 0xff, 0x01);
    const at = Buffer.from(b).indexOf(Buffer.from(values));
    expect(at).toBeGreaterThan(0);
    b[at + values.length - 1] = 0x81;
    expect(await exercise(b)).toBe('InvalidCoreml');
  });

  it('random bytes, as a protobuf Model and as MIL text', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 400 }), fc.constantFrom('pb', 'text', 'json'), async (b, kind) => {
        const prefix = kind === 'pb' ? [0x08, 0x04] : kind === 'text' ? [...new TextEncoder().encode('program(1.0)\n')] : [...new TextEncoder().encode('{"itemInfoEntries":')];
        await exercise(Uint8Array.of(...prefix, ...b));
      }),
      { numRuns: 1500 },
    );
  }, 60_000);
});
