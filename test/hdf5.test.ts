import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isTensorsafeError } from '../src/errors.js';
import { Hdf5Dataset, Hdf5Group, openHdf5 } from '../src/formats/hdf5/file.js';
import { hdf5Reader } from '../src/formats/hdf5/reader.js';
import { Fields } from '../src/formats/hdf5/fields.js';
import { lookup3 } from '../src/formats/hdf5/lookup3.js';
import { sharedAddress } from '../src/formats/hdf5/object-header.js';
import { MemorySource } from '../src/io/byte-source.js';
import type { TensorEntry } from '../src/tensor/tensor-set.js';
import * as limits from '../src/formats/hdf5/limits.js';
import { limitRow } from './helpers/readme-limits.js';

/**
 * The HDF5 structure reader against h5py's own reading of the same files (scripts/make-hdf5-fixtures.py):
 * what test/formats.test.ts does not check (left-out paths and why, attributes decoded, aliases, the
 * inspect view, user blocks), and hand-made damage that must be refused with a code.
 */

const FORMATS = path.join(import.meta.dirname, 'fixtures', 'formats', 'hdf5');
const EXTRA = path.join(import.meta.dirname, 'fixtures', 'hdf5');

interface Extra {
  leftOut: string[];
  attributes: Record<string, Record<string, unknown>>;
}

const fixtures = fs
  .readdirSync(EXTRA)
  .filter((f) => f.endsWith('.json') && !f.endsWith('.expected.json'))
  .map((f) => f.slice(0, -'.json'.length))
  .sort();

function fixturePath(name: string): string {
  const inFormats = path.join(FORMATS, `${name}.h5`);
  return fs.existsSync(inFormats) ? inFormats : path.join(EXTRA, `${name}.h5`);
}

function load(name: string): MemorySource {
  const file = fixturePath(name);
  return new MemorySource(new Uint8Array(fs.readFileSync(file)), file);
}

async function sha256(t: TensorEntry): Promise<string> {
  const h = createHash('sha256');
  for await (const c of t.chunks(40)) h.update(c);
  return h.digest('hex');
}

/** JSON-comparable attribute values (bigint as number when safe, arrays as arrays). */
function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map(plain);
  return v;
}

describe('HDF5 structure, against h5py', () => {
  it('has the fixtures', () => expect(fixtures.length).toBeGreaterThanOrEqual(8));

  for (const name of fixtures) {
    it(`${name}: left out, attributes`, async () => {
      const extra = JSON.parse(fs.readFileSync(path.join(EXTRA, `${name}.json`), 'utf8')) as Extra;
      const { tensors } = await hdf5Reader.open!(load(name));
      expect(tensors.leftOut.map((l) => l.path).sort()).toEqual([...extra.leftOut].sort());
      for (const l of tensors.leftOut) expect(l.what.length).toBeGreaterThan(5);
      const file = await openHdf5(load(name));
      for (const [where, attrs] of Object.entries(extra.attributes)) {
        const node = await file.get(where);
        expect(node, where).toBeDefined();
        const got = await node!.attributes();
        expect(got.map((a) => a.name)).toEqual(Object.keys(attrs).sort());
        for (const a of got) expect([where, a.name, plain(a.value)]).toEqual([where, a.name, attrs[a.name]]);
      }
    });
  }

  it('the files outside the formats loop (user blocks, not detected from the head; a deep symbol table; a dense model_config) read as h5py reads them', async () => {
    const names = fs.readdirSync(EXTRA).filter((f) => f.endsWith('.h5.expected.json')).map((f) => f.slice(0, -'.h5.expected.json'.length));
    expect(names.length).toBeGreaterThanOrEqual(4);
    for (const name of names) {
      const want = JSON.parse(fs.readFileSync(path.join(EXTRA, `${name}.h5.expected.json`), 'utf8')) as { tensors: { name: string; dtype: string; shape: number[]; sha256: string }[] };
      const { tensors, structure } = await hdf5Reader.open!(load(name));
      expect(structure.file.superblock.signatureAt).toBe(name.includes('512') ? 512 : name.includes('1024') ? 1024 : 0);
      expect(tensors.tensors.map((t) => t.name)).toEqual(want.tensors.map((t) => t.name));
      for (const [i, t] of tensors.tensors.entries()) {
        expect([t.name, t.dtype, t.shape, await sha256(t)]).toEqual([want.tensors[i]!.name, want.tensors[i]!.dtype, want.tensors[i]!.shape, want.tensors[i]!.sha256]);
      }
    }
  });

  it('superblock versions and object header versions as written by each libver', async () => {
    const versions: Record<string, number> = { 'everything-earliest': 0, 'everything-v108': 2, 'everything-latest': 3 };
    for (const [name, v] of Object.entries(versions)) {
      const file = await openHdf5(load(name));
      expect(file.superblock.version).toBe(v);
      expect(file.root.header.version).toBe(v === 0 ? 1 : 2);
    }
  });

  it('aliases: a hard link and a soft link to one dataset are tensors with one aliasKey; a group that contains itself is walked once', async () => {
    for (const name of ['everything-earliest', 'everything-latest']) {
      const { tensors } = await hdf5Reader.open!(load(name));
      const byName = new Map(tensors.tensors.map((t) => [t.name, t]));
      expect(byName.get('links/hard_kernel')!.aliasKey).toBe(byName.get('model_weights/dense/dense/kernel:0')!.aliasKey);
      expect(byName.get('links/soft_bias')!.aliasKey).toBe(byName.get('model_weights/dense/dense/bias:0')!.aliasKey);
      expect(byName.get('links/hard_kernel')!.aliasKey).not.toBe(byName.get('links/soft_bias')!.aliasKey);
      expect(tensors.notes.some((n) => n.includes('`model_weights/dense/dense/kernel:0` is `links/hard_kernel`'))).toBe(true);
      expect(tensors.leftOut.find((l) => l.path === 'links/external')!.what).toMatch(/external link to "\/weights" in "other\.h5"/);
      expect(tensors.leftOut.find((l) => l.path === 'links/dangling')!.what).toMatch(/soft link to "\/nowhere"/);
      expect(tensors.leftOut.find((l) => l.path === 'numbers/empty')!.what).toMatch(/h5py\.Empty/);
      expect(tensors.leftOut.find((l) => l.path === 'numbers/compound')!.what).toMatch(/compound/);
    }
  });

  it('the API the Keras reader uses: paths, children, attributes, datasets', async () => {
    const file = await openHdf5(load('everything-latest'));
    const dense = await file.get('/model_weights/dense/dense');
    expect(dense).toBeInstanceOf(Hdf5Group);
    const g = dense as Hdf5Group;
    expect((await g.children()).map((c) => [c.name, c.node?.kind])).toEqual([
      ['bias:0', 'dataset'],
      ['kernel:0', 'dataset'],
    ]);
    expect(await g.attributeValue('weight_names')).toEqual(['dense/kernel:0', 'dense/bias:0']);
    const kernel = (await g.get('kernel:0')) as Hdf5Dataset;
    expect([kernel.shape, kernel.dtype, kernel.byteSwap, kernel.why]).toEqual([[4, 2], 'F32', undefined, undefined]);
    expect((await kernel.storage()).byteLength).toBe(32);
    const be = (await file.get('numbers/f8be')) as Hdf5Dataset;
    expect([be.dtype, be.byteSwap, be.datatype.description]).toEqual(['F64', 8, '>f8']);
    expect(((await file.get('numbers/bool')) as Hdf5Dataset).dtype).toBe('BOOL');
    expect(((await file.get('numbers/scalar')) as Hdf5Dataset).shape).toEqual([]);
    expect(await file.get('nothing/here')).toBeUndefined();
    expect(await file.get('links/up/up/up/hard_kernel')).toBe(kernel);
  });

  it('describe: superblock, sizes, counts, layouts, root attributes shortened', async () => {
    const parsed = await hdf5Reader.open!(load('many-latest'));
    const view = hdf5Reader.describe!(parsed);
    const rows = Object.fromEntries(view[0]!.rows.map((r) => [r.key, r.value]));
    expect(rows['superblock version']).toBe('3');
    expect(rows['sizes of offsets, lengths']).toBe('8, 8 bytes');
    expect(rows['datasets']).toBe('40');
    const types = await hdf5Reader.open!(load('types'));
    expect(hdf5Reader.describe!(types)[0]!.rows.find((r) => r.key === 'datasets')!.value).toBe('2 (and 1 path left out: not tensors)');
    expect(rows['layouts']).toMatch(/contiguous|compact/);
    const everything = await hdf5Reader.open!(load('everything-earliest'));
    const attrs = hdf5Reader.describe!(everything)[1]!;
    expect(attrs.title).toBe('root attributes');
    expect(attrs.rows.find((r) => r.key === 'vlen')!.value).toBe('"variable text é"');
  });

  it('a committed datatype is followed (a shared datatype message); other enums are their base integers; attributes not decoded say why', async () => {
    const file = await openHdf5(load('types'));
    const used = (await file.get('uses_named')) as Hdf5Dataset;
    expect([used.dtype, used.byteSwap]).toEqual(['F32', 4]);
    expect(((await file.get('colors')) as Hdf5Dataset).datatype.description).toBe('enum (<i2)');
    expect((await file.get('named_f4'))!.kind).toBe('datatype');
    const attrs = Object.fromEntries((await file.root.attributes()).map((a) => [a.name, a]));
    expect(attrs['compound']!.value).toBeUndefined();
    expect(attrs['compound']!.why).toMatch(/compound/);
    expect([attrs['empty']!.value, attrs['empty']!.dataspace.kind]).toEqual([undefined, 'null']);
    expect(attrs['bools']!.value).toEqual([true, false]);
    expect(attrs['f2']!.value).toEqual([1.5, -2]);
  });

  it('shared messages in the shared-message heap (SOHM) are refused by name; committed ones are followed', () => {
    const g = { base: 0, offsetSize: 8, lengthSize: 8 };
    expect(() => sharedAddress(Uint8Array.of(3, 1, 1, 2, 3, 4, 5, 6, 7, 8), 100, g, 'datatype')).toThrow(/shared message heap \(SOHM\)/);
    expect(sharedAddress(Uint8Array.of(3, 2, 0x20, 0, 0, 0, 0, 0, 0, 0), 100, g, 'datatype')).toBe(0x20);
  });

  it('lookup3 (hashlittle) known values', () => {
    expect(lookup3(new Uint8Array(0))).toBe(0xdeadbeef);
    expect(lookup3(new TextEncoder().encode('Four score and seven years ago'))).toBe(0x17770551);
  });
});

describe('HDF5 damage is refused with a code', () => {
  const base = new Uint8Array(fs.readFileSync(path.join(FORMATS, 'everything-latest.h5')));

  async function outcome(bytes: Uint8Array): Promise<string> {
    try {
      const { tensors } = await hdf5Reader.open!(new MemorySource(bytes, 'damaged.h5'));
      for (const t of tensors.tensors) for await (const c of t.chunks()) void c;
      return 'opened';
    } catch (e) {
      if (!isTensorsafeError(e)) throw e;
      expect(e.message).toContain('damaged.h5');
      return e.code;
    }
  }

  it('no signature', async () => expect(await outcome(new Uint8Array(2048))).toBe('InvalidHdf5'));

  it('a superblock whose checksum fails', async () => {
    const b = base.slice();
    b[12] = b[12]! ^ 1; // the base address, covered by the checksum
    expect(await outcome(b)).toBe('InvalidHdf5');
  });

  it('an object header whose checksum fails', async () => {
    const b = base.slice();
    const ohdr = Buffer.from(b).indexOf('OHDR');
    b[ohdr + 8] = b[ohdr + 8]! ^ 0x40;
    expect(await outcome(b)).toBe('InvalidHdf5');
  });

  it('an unknown message marked "must understand" is refused by its type', async () => {
    // A version-1 header's first message turned into type 0x00ff with flag 0x80.
    const b = new Uint8Array(fs.readFileSync(path.join(FORMATS, 'everything-earliest.h5')));
    const view = new DataView(b.buffer);
    const root = Number(view.getBigUint64(64, true)); // the root symbol table entry's object header address
    view.setUint16(root + 16, 0xff, true);
    b[root + 16 + 4] = 0x80;
    const got = await hdf5Reader.open!(new MemorySource(b, 'x.h5')).then(
      () => 'opened',
      (e: unknown) => (isTensorsafeError(e) ? `${e.code}: ${e.message}` : String(e)),
    );
    expect(got).toMatch(/^Hdf5Unsupported: .*type 255.*must understand/);
  });

  it('truncated files', async () => {
    for (const n of [0, 7, 100, 500, 1000, 2000, 5000, base.length - 1]) {
      expect(['InvalidHdf5', 'Hdf5Limit', 'opened']).toContain(await outcome(base.subarray(0, n)));
    }
  });
});

describe('README', () => {
  it('the HDF5 limits row gives each named constant its value', () => {
    const { values: numbers, constants } = limitRow('HDF5: ');
    const names = constants.map((c) => c.name);
    const exported = Object.keys(limits).filter((k) => k.startsWith('MAX_HDF5_')).sort();
    expect([...names].sort()).toEqual(exported);
    expect(names.map((n) => (limits as Record<string, number>)[n])).toEqual(numbers);
  });
});

describe('scan rules with the reader\'s parse', () => {
  async function findings(name: string, withParsed: boolean): Promise<string[]> {
    const source = load(name);
    const out: string[] = [];
    const ctx = { file: name, dir: undefined, report: (f: { rule: string; message: string }) => void out.push(`${f.rule}: ${f.message}`), scanPickle: () => undefined };
    const parsed = withParsed ? await hdf5Reader.open!(load(name)) : undefined;
    await hdf5Reader.scan!(source, ctx as never, parsed);
    return out;
  }

  it('a model_config in dense root attributes: the same findings, from the decoded attributes instead of a search by name', async () => {
    const without = await findings('dense-keras-config', false);
    const given = await findings('dense-keras-config', true);
    expect(given).toEqual(without);
    expect(given.some((f) => f.startsWith('keras/lambda-layer'))).toBe(true);
    expect(given.some((f) => f.startsWith('hdf5/keras-config') && f.includes('keras_version "2.4.0"'))).toBe(true);
  });

  it('files without a config: the same findings', async () => {
    for (const name of ['everything-earliest', 'many-latest']) expect(await findings(name, true)).toEqual(await findings(name, false));
  });
});

describe('Fields (the one field reader of the structure and storage sides)', () => {
  it('all ones is a value in a size field and the undefined address in an address field', () => {
    // A 1-byte link name length of 255 (h5py writes it for a 255-byte name) was once refused as "undefined".
    expect(new Fields(Uint8Array.of(0xff), 0, 'a link message').uint(1)).toBe(255);
    expect(new Fields(Uint8Array.of(0xff, 0xff), undefined, 'a layout message').relativeAddress(2)).toBeUndefined();
    expect(new Fields(Uint8Array.of(1, 0), undefined, 'a layout message').address({ base: 512, offsetSize: 2, lengthSize: 2 })).toBe(513);
  });

  it('a value past 2^53, or a field past the end, is malformed (where known)', () => {
    const e = (f: () => unknown): unknown => {
      try {
        f();
      } catch (x) {
        return x;
      }
      return undefined;
    };
    expect(e(() => new Fields(new Uint8Array(8).fill(0x7f), 100, 'a heap').uint(8))).toMatchObject({ kind: 'malformed', offset: 100 });
    expect(e(() => new Fields(Uint8Array.of(1), undefined, 'a layout message').uint(2, 'data size'))).toMatchObject({ kind: 'malformed', offset: undefined, message: expect.stringContaining('a layout message: data size is cut short') });
  });
});
