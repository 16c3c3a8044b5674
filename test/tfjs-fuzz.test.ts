import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TensorsafeError } from '../src/errors.js';
import { tfjsReader } from '../src/formats/tfjs/reader.js';
import { BoundedSource } from './helpers/assertions.js';
import { mutationOutcomes } from './helpers/fuzz.js';

/**
 * Fuzzing the TF.js reader: mutated model.json files and mutated or cut shards (tfjs-core's own, from
 * test/fixtures/formats/tfjs), and random text, either open as a TensorSet whose every tensor streams
 * exactly byteLength bytes (default and 8-byte chunks), or fail with a coded TensorsafeError: never
 * another exception, a hang, or a read outside a file (BoundedSource throws on one).
 */

const DIR = path.join(import.meta.dirname, 'fixtures', 'formats', 'tfjs');
const SHARDS = new Map(fs.readdirSync(path.join(DIR, 'shards')).map((f) => [`shards/${f}`, new Uint8Array(fs.readFileSync(path.join(DIR, 'shards', f)))]));
const SEEDS = ['layers-model.json', 'graph-model.json', 'weights-manifest.json'].map((f) => new Uint8Array(fs.readFileSync(path.join(DIR, f))));
/** The embedded form of the graph-model's first group: its specs, and its shards as base64 weightData (two strings). */
function embeddedSeed(): Uint8Array<ArrayBuffer> {
  const group = (JSON.parse(fs.readFileSync(path.join(DIR, 'graph-model.json'), 'utf8')) as { weightsManifest: { paths: string[]; weights: unknown[] }[] }).weightsManifest[0]!;
  const weightData = group.paths.map((p) => Buffer.from(SHARDS.get(p)!).toString('base64'));
  return Uint8Array.from(new TextEncoder().encode(JSON.stringify({ format: 'graph-model', weightSpecs: group.weights, weightData })));
}
SEEDS.push(embeddedSeed());

async function exercise(json: Uint8Array, shards: ReadonlyMap<string, Uint8Array>): Promise<string> {
  const started = Date.now();
  try {
    const openSibling = async (p: string): Promise<BoundedSource> => {
      const b = shards.get(p);
      if (!b) throw new TensorsafeError('ExternalDataRefused', `no shard ${p}`);
      return new BoundedSource(b, p);
    };
    const { tensors } = await tfjsReader.open!(new BoundedSource(json, 'model.json'), { openSibling });
    for (const t of tensors.tensors) {
      for (const size of [undefined, 8]) {
        let total = 0;
        for await (const c of t.chunks(size)) total += c.byteLength;
        expect(total).toBe(t.byteLength);
      }
    }
    return 'opened';
  } catch (e) {
    if (!(e instanceof TensorsafeError) || !e.code || !e.message) throw e;
    return e.code;
  } finally {
    expect(Date.now() - started).toBeLessThan(5000);
  }
}

describe('TF.js reader fuzz', () => {
  it('every seed opens', async () => {
    for (const s of SEEDS) expect(await exercise(s, SHARDS)).toBe('opened');
  });

  it('mutated model.json: a TensorSet that streams its byte lengths, or a coded error', async () => {
    const outcomes = await mutationOutcomes(SEEDS, (b) => exercise(b, SHARDS), 1500);
    expect(outcomes.get('opened') ?? 0).toBeGreaterThan(0);
    expect(outcomes.get('InvalidTfjs') ?? 0).toBeGreaterThan(0);
  }, 120_000);

  it('mutated digits of the manifest (shapes, scales, offsets) and cut or grown shards', async () => {
    const outcomes = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: SEEDS.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 9 })), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 0, max: SHARDS.size - 1 }),
        fc.integer({ min: -8, max: 8 }),
        async (i, digits, s, grow) => {
          const b = SEEDS[i]!.slice();
          const at = [...b.keys()].filter((k) => b[k]! >= 0x30 && b[k]! <= 0x39);
          for (const [k, d] of digits) b[at[k % at.length]!] = 0x30 + d;
          const shards = new Map(SHARDS);
          const [name, bytes] = [...SHARDS][s]!;
          const changed = new Uint8Array(Math.max(0, bytes.length + grow));
          changed.set(bytes.subarray(0, changed.length));
          shards.set(name, changed);
          const o = await exercise(b, shards);
          outcomes.set(o, (outcomes.get(o) ?? 0) + 1);
        },
      ),
      { numRuns: 1000 },
    );
    expect(outcomes.get('TfjsShardMismatch') ?? 0).toBeGreaterThan(0);
  }, 120_000);

  it('truncated model.json files', async () => {
    for (const s of SEEDS) for (let n = 0; n < s.length; n += Math.max(1, Math.floor(s.length / 80))) await exercise(s.subarray(0, n), SHARDS);
  }, 60_000);

  it('random JSON-like text', async () => {
    await fc.assert(
      fc.asyncProperty(fc.json(), async (j) => void (await exercise(new TextEncoder().encode(j), SHARDS))),
      { numRuns: 1000 },
    );
  }, 60_000);
});
