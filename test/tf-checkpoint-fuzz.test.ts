import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TensorsafeError } from '../src/errors.js';
import { FormatProblem } from '../src/io/format-problem.js';
import { tfCheckpointReader } from '../src/formats/tf-checkpoint/reader.js';
import { crc32c, maskCrc } from '../src/formats/tf-checkpoint/crc32c.js';
import { unsnappy } from '../src/formats/tf-checkpoint/snappy.js';
import { BoundedSource } from './helpers/assertions.js';
import { EDITS, mutationOutcomes } from './helpers/fuzz.js';

/**
 * Fuzzing the TensorFlow checkpoint reader: mutated indexes (as they are, so mostly refused by their
 * block CRCs; and with every block's CRC re-signed after the edit, so that the entries, handles, restart
 * arrays and Snappy streams themselves are exercised), mutated, cut or grown data shards, mutated
 * saved_model.pb files, and random Snappy input: a TensorSet whose every tensor streams exactly its
 * byteLength, or a coded error; never another exception, a hang, or a read outside a file.
 */

const DIR = path.join(import.meta.dirname, 'fixtures', 'formats', 'tf-checkpoint');
const INDEXES = ['dtypes', 'model.ckpt-1000', 'big-endian', 'partitioned', 'snappy', 'collision'];
const FILES = new Map(fs.readdirSync(DIR).filter((f) => fs.statSync(path.join(DIR, f)).isFile() && !f.endsWith('.json')).map((f) => [f, new Uint8Array(fs.readFileSync(path.join(DIR, f)))]));
for (const f of fs.readdirSync(path.join(DIR, 'variables'))) FILES.set(`variables/${f}`, new Uint8Array(fs.readFileSync(path.join(DIR, 'variables', f))));

async function exercise(name: string, bytes: Uint8Array, files: ReadonlyMap<string, Uint8Array>): Promise<string> {
  const started = Date.now();
  try {
    const openSibling = async (p: string): Promise<BoundedSource> => {
      const b = files.get(p);
      if (!b) throw new TensorsafeError('ExternalDataRefused', `external data ${p} cannot be found`);
      return new BoundedSource(b, p);
    };
    const { tensors } = await tfCheckpointReader.open!(new BoundedSource(bytes, name), { openSibling });
    for (const t of tensors.tensors) {
      for (const size of [undefined, 8]) {
        let total = 0;
        try {
          for await (const c of t.chunks(size)) total += c.byteLength;
        } catch (e) {
          if (e instanceof TensorsafeError && e.code === 'TfCheckpointChecksum') return e.code;
          throw e;
        }
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

function varint(b: Uint8Array, pos: number): [number, number] {
  let v = 0;
  for (let i = 0; i < 10; i++) {
    const x = b[pos + i]!;
    v += (x & 0x7f) * 2 ** (7 * i);
    if ((x & 0x80) === 0) return [v, i + 1];
  }
  throw new Error('bad varint');
}

/** The block handles of an (unmutated) table: every data block and the index block. */
function blocks(table: Uint8Array): [number, number][] {
  const footer = table.length - 48;
  let p = footer;
  const [, a] = varint(table, p);
  p += a;
  const [, b] = varint(table, p);
  p += b;
  const [io, c] = varint(table, p);
  p += c;
  const [is] = varint(table, p);
  const handles: [number, number][] = [[io, is]];
  const block = table.subarray(io, io + is);
  const restarts = new DataView(block.buffer, block.byteOffset + block.length - 4).getUint32(0, true);
  const limit = block.length - 4 - 4 * restarts;
  let q = 0;
  while (q < limit) {
    const [, n1] = varint(block, q);
    const [unshared, n2] = varint(block, q + n1);
    const [vlen, n3] = varint(block, q + n1 + n2);
    q += n1 + n2 + n3 + unshared;
    const [off, m] = varint(block, q);
    const [size] = varint(block, q + m);
    handles.push([off, size]);
    q += vlen;
  }
  return handles;
}

/** Re-signs every block's trailer after an edit, as a writer of the edited table would have. */
function resign(table: Uint8Array, handles: readonly [number, number][]): Uint8Array {
  for (const [off, size] of handles) {
    const crc = maskCrc(crc32c(table.subarray(off, off + size + 1)));
    new DataView(table.buffer, table.byteOffset + off + size + 1, 4).setUint32(0, crc, true);
  }
  return table;
}

describe('TensorFlow checkpoint reader fuzz', () => {
  it('every seed opens', async () => {
    for (const i of INDEXES) expect([i, await exercise(`${i}.index`, FILES.get(`${i}.index`)!, FILES)]).toEqual([i, 'opened']);
    expect(await exercise('saved_model.pb', FILES.get('saved_model.pb')!, FILES)).toBe('opened');
  });

  it('mutated indexes: refused by their block checksums', async () => {
    const outcomes = new Map<string, number>();
    for (const i of INDEXES) {
      const o = await mutationOutcomes([FILES.get(`${i}.index`)!], (b) => exercise(`${i}.index`, b, FILES), 150);
      for (const [k, n] of o) outcomes.set(k, (outcomes.get(k) ?? 0) + n);
    }
    expect(outcomes.get('InvalidTfCheckpoint') ?? 0).toBeGreaterThan(0);
  }, 120_000);

  it('mutated blocks, re-signed: entries, handles, restarts and Snappy streams exercised', async () => {
    const outcomes = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: INDEXES.length - 1 }), EDITS, async (k, edits) => {
        const name = `${INDEXES[k]!}.index`;
        const seed = FILES.get(name)!;
        const handles = blocks(seed);
        const b = seed.slice();
        const inside = handles.flatMap(([off, size]) => Array.from({ length: size }, (_, j) => off + j));
        for (const [at, value, xor] of edits) {
          const p = inside[at % inside.length]!;
          b[p] = xor ? b[p]! ^ (1 << (value % 8)) : value;
        }
        const o = await exercise(name, resign(b, handles), FILES);
        outcomes.set(o, (outcomes.get(o) ?? 0) + 1);
      }),
      { numRuns: 1500 },
    );
    expect(outcomes.get('opened') ?? 0).toBeGreaterThan(0);
    expect(outcomes.get('InvalidTfCheckpoint') ?? 0).toBeGreaterThan(0);
  }, 120_000);

  it('mutated, cut or grown data shards', async () => {
    const shards = [...FILES.keys()].filter((f) => f.includes('.data-'));
    const outcomes = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: shards.length - 1 }), EDITS, fc.integer({ min: -8, max: 8 }), async (s, edits, grow) => {
        const shard = shards[s]!;
        const bytes = FILES.get(shard)!;
        const changed = new Uint8Array(Math.max(0, bytes.length + grow));
        changed.set(bytes.subarray(0, changed.length));
        if (changed.length > 0) for (const [at, value] of edits) changed[at % changed.length] = value;
        const files = new Map(FILES);
        files.set(shard, changed);
        const prefix = shard.slice(0, shard.indexOf('.data-'));
        const index = prefix === 'variables/variables' ? 'saved_model.pb' : `${prefix}.index`;
        const o = await exercise(index, files.get(index) ?? FILES.get(index)!, files);
        outcomes.set(o, (outcomes.get(o) ?? 0) + 1);
      }),
      { numRuns: 800 },
    );
    expect(outcomes.get('TfCheckpointChecksum') ?? 0).toBeGreaterThan(0);
  }, 120_000);

  it('mutated and cut saved_model.pb files', async () => {
    const seed = FILES.get('saved_model.pb')!;
    const outcomes = await mutationOutcomes([seed], (b) => exercise('saved_model.pb', b, FILES), 800);
    expect(outcomes.get('opened') ?? 0).toBeGreaterThan(0);
    for (let n = 0; n < seed.length; n++) await exercise('saved_model.pb', seed.subarray(0, n), FILES);
  }, 120_000);

  it('random Snappy input: output within its declared bound, or a FormatProblem', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (input) => {
        try {
          expect(unsnappy(input, 4096, 'MAX', 0).length).toBeLessThanOrEqual(4096);
        } catch (e) {
          if (!(e instanceof FormatProblem)) throw e;
        }
      }),
      { numRuns: 3000 },
    );
  });
});
