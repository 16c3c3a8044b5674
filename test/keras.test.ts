import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as limits from '../src/formats/keras/limits.js';
import { kerasReader } from '../src/formats/keras/reader.js';
import { MemorySource } from '../src/io/byte-source.js';
import { detectSourceFormat } from '../src/formats/registry.js';
import { scanSource } from '../src/scan/scan.js';
import { openModelFile } from '../src/node/open-files.js';
import type { TensorEntry } from '../src/tensor/tensor-set.js';
import { runCli } from './helpers/cli.js';
import { CORPUS } from './helpers/corpus.js';
import { ROOT } from './helpers/paths.js';
import { limitRow } from './helpers/readme-limits.js';
import { tempDir } from './helpers/temp.js';

/**
 * The Keras reader beyond the per-tensor fixtures of test/formats.test.ts: the corpus files read equal
 * to h5py (scripts/make-keras-corpus-expected.py), the same model saved as .keras and as .h5 named
 * alike, the malicious archive refused unread, the metadata a loader needs, inspect's view, and the
 * CLI's convert and verify end to end.
 */

const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'formats', 'keras');
const fixture = (name: string): string => path.join(FIXTURES, name);
const HAVE = fs.existsSync(path.join(CORPUS, 'formats', 'keras-h5'));
const expected = JSON.parse(fs.readFileSync(path.join(ROOT, 'test/fixtures/corpus-expected/keras.json'), 'utf8')) as Record<
  string,
  { layout: string; keras_version: string; tensors: { name: string; dtype: string; shape: number[]; sha256: string }[] }
>;

async function sha256(t: TensorEntry): Promise<string> {
  const h = createHash('sha256');
  for await (const c of t.chunks()) h.update(c);
  return h.digest('hex');
}

if (!HAVE) console.log(`Keras corpus tests skipped: ${path.join(CORPUS, 'formats')} has no Keras files`);

describe.skipIf(!HAVE)('shared corpus: Keras files', () => {
  it.each(Object.keys(expected).map((f) => [f]))('reads %s as h5py does', async (rel) => {
    const want = expected[rel]!;
    const opened = await openModelFile(path.join(CORPUS, 'formats', rel));
    try {
      expect(opened.format.id).toBe('keras');
      expect(opened.tensors.metadata).toMatchObject({ 'keras.layout': want.layout, 'keras.version': want.keras_version });
      const got = await Promise.all(opened.tensors.tensors.map(async (t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, sha256: await sha256(t) })));
      expect(got).toEqual(want.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, sha256: t.sha256 })));
    } finally {
      await opened.tensors.close();
    }
  });

  it('adit3101: the same weights as .keras and as .h5, under the same names', async () => {
    const a = await openModelFile(path.join(CORPUS, 'formats', 'keras', 'adit3101', 'model.keras'));
    const b = await openModelFile(path.join(CORPUS, 'formats', 'keras-h5', 'adit3101', 'model.h5'));
    try {
      const names = (s: typeof a): string[] => s.tensors.tensors.map((t) => t.name);
      expect(names(a)).toEqual(['dense_3/kernel', 'dense_3/bias', 'dense_4/kernel', 'dense_4/bias', 'dense_5/kernel', 'dense_5/bias']);
      expect(names(b)).toEqual(names(a));
      for (const [i, t] of a.tensors.tensors.entries()) expect([t.name, await sha256(t)]).toEqual([t.name, await sha256(b.tensors.tensors[i]!)]);
    } finally {
      await a.tensors.close();
      await b.tensors.close();
    }
  });

  it('malicious/model.keras (two model.weights.npz entries): refused by name, nothing read', async () => {
    const bytes = fs.readFileSync(path.join(CORPUS, 'formats', 'keras', 'malicious', 'model.keras'));
    await expect(kerasReader.open!(new MemorySource(new Uint8Array(bytes), 'model.keras'))).rejects.toMatchObject({ code: 'DuplicateName', message: expect.stringContaining('model.weights.npz') });
  });
});

describe('Keras reader', () => {
  it('records what a loader needs in the metadata: the layout, the Keras version and backend', async () => {
    const cases: [string, Record<string, string>][] = [
      ['model.keras', { 'keras.layout': 'keras3-h5', 'keras.version': '3.11.3' }],
      ['keras2-model.h5', { 'keras.layout': 'legacy-model', 'keras.version': '2.2.4', 'keras.backend': 'tensorflow' }],
      ['weights-only.h5', { 'keras.layout': 'legacy-weights', 'keras.version': '2.13.1' }],
      ['tf_model.h5', { 'keras.layout': 'hf-tf', format: 'tf' }],
      ['tf_model-00001-of-00002.h5', { 'keras.layout': 'hf-tf-shard', format: 'tf' }],
      ['model.weights.h5', { 'keras.layout': 'keras3-h5' }],
    ];
    for (const [file, meta] of cases) {
      const opened = await openModelFile(fixture(file));
      try {
        expect([file, opened.tensors.metadata]).toEqual([file, expect.objectContaining(meta)]);
      } finally {
        await opened.tensors.close();
      }
    }
  });

  it('leaves the optimizer out and lists it', async () => {
    const opened = await openModelFile(fixture('model.keras'));
    try {
      expect(opened.tensors.leftOut).toEqual([{ path: 'optimizer', what: 'optimizer state (adam): 3 variables, not model weights' }]);
      expect(opened.tensors.notes.join('\n')).toContain('named by index (class or variable count not known): `layers/my_scale/0`, `layers/my_scale/1`');
    } finally {
      await opened.tensors.close();
    }
  });

  it("inspect's view: version, weights source, layout, model class, layers, custom objects", async () => {
    const { code, stdout } = await runCli('inspect', '--json', fixture('model.keras'));
    expect(code).toBe(0);
    const view = (JSON.parse(stdout) as { view: { title: string; rows: { key: string; value: string }[] }[] }).view;
    const rows = Object.fromEntries(view.flatMap((s) => s.rows.map((r) => [`${s.title}.${r.key}`, r.value])));
    expect(rows).toMatchObject({
      'Keras.keras_version': '3.11.3',
      'Keras.weights': 'model.weights.h5 (stored: read in place)',
      'Keras.layout': 'Keras 3 (<object path>/vars/<i>)',
      'model.class': 'Sequential',
      'model.name': 'sequential',
      'model.Lambda layers': 'none',
      'model.custom objects': 'MyScale (module my_package.layers)',
    });
    expect(rows['model.layers']).toMatch(/^11: input_layer:InputLayer, conv:Conv2D, depthwise:DepthwiseConv2D, /);
    const legacy = JSON.parse((await runCli('inspect', '--json', fixture('keras1-model.h5'))).stdout) as { view: { title: string; rows: { key: string; value: string }[] }[] };
    const legacyRows = Object.fromEntries(legacy.view.flatMap((s) => s.rows.map((r) => [`${s.title}.${r.key}`, r.value])));
    expect(legacyRows).toMatchObject({ 'Keras.keras_version': '1.2.2', 'Keras.backend': 'theano', 'model.layer_names': '3: dense_1, dropout_1, dense_2' });
  });

  it('convert, then verify, end to end through the CLI', async () => {
    const out = tempDir('keras-cli');
    for (const file of ['model.keras', 'keras2-model.h5', 'tf_model.h5']) {
      const target = path.join(out, `${file}.safetensors`);
      const converted = await runCli('convert', fixture(file), '-o', target, '--json');
      expect([file, converted.code, converted.stderr]).toEqual([file, 0, '']);
      expect(fs.existsSync(target)).toBe(true);
      const verified = await runCli('verify', fixture(file), target);
      expect([file, verified.code]).toEqual([file, 0]);
    }
  });

  it('a plain HDF5 file that only looks like Keras to detection (datasets named layers and vars; layer_names in an attribute) is read as HDF5, every dataset by its path', async () => {
    for (const name of ['keras-lookalike-links', 'keras-lookalike-attr']) {
      const file = path.join(ROOT, 'test', 'fixtures', 'hdf5', `${name}.h5`);
      const want = JSON.parse(fs.readFileSync(`${file}.expected.json`, 'utf8')) as { tensors: { name: string; dtype: string; shape: number[]; sha256: string }[] };
      const source = new MemorySource(new Uint8Array(fs.readFileSync(file)), file);
      expect((await detectSourceFormat(source))?.id).toBe('keras');
      const parsed = await kerasReader.open!(source);
      expect(parsed.tensors.format).toBe('hdf5');
      const got = [];
      for (const t of parsed.tensors.tensors) got.push({ name: t.name, dtype: t.dtype, shape: t.shape, sha256: await sha256(t) });
      expect(got).toEqual(want.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, sha256: t.sha256 })));
      expect(kerasReader.describe!(parsed)[0]!.title).toBe('HDF5');
      await parsed.tensors.close();
      const target = path.join(tempDir('keras-lookalike'), `${name}.safetensors`);
      const converted = await runCli('convert', file, '-o', target);
      expect([name, converted.code, converted.stderr]).toEqual([name, 0, '']);
    }
  });

  it("README's limits row for Keras gives each named constant's value", () => {
    const { values: numbers, constants } = limitRow('Keras: ');
    const names = constants.map((c) => c.name);
    expect(names.map((n) => (limits as Record<string, number>)[n])).toEqual(numbers);
    expect(names.sort()).toEqual(Object.keys(limits).sort());
  });

  it('scan given the parse of a legacy .h5 checks its decoded root attributes: the same report as a scan alone', async () => {
    for (const file of ['keras2-model.h5', 'keras3-model.h5', 'tf_model.h5', 'model.weights.h5']) {
      const bytes = new Uint8Array(fs.readFileSync(fixture(file)));
      const without = await scanSource(new MemorySource(bytes, file));
      const parsed = await kerasReader.open!(new MemorySource(bytes, file));
      expect(parsed.structure.rootAttributes?.length).toBeGreaterThanOrEqual(file === 'model.weights.h5' ? 0 : 2);
      expect([file, await scanSource(new MemorySource(bytes, file), { parsed })]).toEqual([file, without]);
    }
  });
});

describe('the format names inspect and convert show for Keras files', () => {
  it('every one the fixtures give is explained in the README Keras section', async () => {
    // Found by a new user: a .keras zip shown as `keras-h5`, a .weights.h5 as `keras-keras3-h5`, undocumented.
    const dir = path.join(ROOT, 'test', 'fixtures', 'formats', 'keras');
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('\n### Keras\n'), readme.indexOf('\n### HDF5\n'));
    const seen = new Set<string>();
    for (const file of fs.readdirSync(dir).filter((f) => !f.endsWith('.json'))) {
      const bytes = new Uint8Array(fs.readFileSync(path.join(dir, file)));
      const parsed = await kerasReader.open!(new MemorySource(bytes, file)).catch(() => undefined);
      if (!parsed) continue;
      seen.add(parsed.tensors.format);
      await parsed.tensors.close();
    }
    expect(seen.size).toBeGreaterThan(4);
    expect([...seen].filter((f) => !section.includes(`\`${f}\``))).toEqual([]);
  });
});
