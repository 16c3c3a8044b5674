import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { onnxReader } from '../src/formats/onnx/reader.js';
import { MemorySource } from '../src/io/byte-source.js';
import { convertModel } from '../src/node/convert.js';
import { openModelFile } from '../src/node/open-files.js';
import { openModel } from '../src/node/open-model.js';
import { tempDir } from './helpers/temp.js';

/**
 * ONNX external data (test/fixtures/onnx-external, scripts/make-onnx-fixtures.py): tensors whose bytes
 * are in weights/data.bin at `offset`/`length` read through the model's folder; locations that leave
 * the folder (absolute, `..`, a symbolic link out, a URL) refused with ExternalDataRefused, nothing read.
 */

const DIR = path.join(import.meta.dirname, 'fixtures', 'onnx-external');
const MODEL = path.join(DIR, 'model.onnx');
const expected = JSON.parse(fs.readFileSync(`${MODEL}.expected.json`, 'utf8')) as { tensors: { name: string; dtype: string; shape: number[]; sha256: string }[] };

async function sha(t: { chunks(n?: number): AsyncIterable<Uint8Array> }, n?: number): Promise<string> {
  const h = createHash('sha256');
  for await (const c of t.chunks(n)) h.update(c);
  return h.digest('hex');
}

/** The model's bytes with every external location `weights/data.bin` replaced by `to`, of the same length (no protobuf length changes). */
function withLocation(to: string): Uint8Array {
  const text = fs.readFileSync(MODEL);
  const from = Buffer.from('weights/data.bin');
  const repl = Buffer.from(to);
  // Each location is a StringStringEntryProto value (field 2) inside external_data (field 13) of a TensorProto in the graph:
  // rebuilding lengths by hand is brittle, so only same-length replacements are made here.
  expect(repl.length).toBe(from.length);
  const out = Buffer.from(text);
  for (let i = out.indexOf(from); i >= 0; i = out.indexOf(from, i + 1)) repl.copy(out, i);
  return new Uint8Array(out);
}

describe('ONNX external data', () => {
  it('reads tensors from weights/data.bin as onnx.numpy_helper.to_array does', async () => {
    const opened = await openModelFile(MODEL);
    try {
      expect(opened.format.id).toBe('onnx');
      expect(opened.tensors.tensors.map((t) => [t.name, t.dtype, t.shape])).toEqual(expected.tensors.map((t) => [t.name, t.dtype, t.shape]));
      for (const [i, t] of opened.tensors.tensors.entries()) {
        expect([t.name, await sha(t)]).toEqual([t.name, expected.tensors[i]!.sha256]);
        expect([t.name, await sha(t, 24)]).toEqual([t.name, expected.tensors[i]!.sha256]);
      }
    } finally {
      await opened.tensors.close();
    }
  });

  it('converts and verifies through the registry', async () => {
    const out = tempDir('onnx-external');
    const summary = await convertModel(MODEL, { output: out });
    expect(summary.verified).toBe(true);
    const written = await openModel(summary.outputs[0]!);
    try {
      for (const want of expected.tensors) expect([want.name, await sha(written.tensors.find((t) => t.name === want.name)!)]).toEqual([want.name, want.sha256]);
    } finally {
      await written.close();
    }
  });

  it('without the model folder (bytes in memory), external tensors are refused with a reason', async () => {
    await expect(onnxReader.open!(new MemorySource(new Uint8Array(fs.readFileSync(MODEL)), 'model.onnx'))).rejects.toMatchObject({ code: 'ExternalDataRefused' });
  });

  const tmp = tempDir('onnx-escape');
  const cases: [string, string, (dir: string) => void][] = [
    ['an absolute path', '/etc/passwd/////x', () => {}],
    ['.. segments', '../../../etc/pass', () => {}],
    ['a URL', 'file:///etc/passw', () => {}],
    ['a symbolic link out of the folder', 'weights/link.bin', (dir) => fs.symlinkSync('/etc/hostname', path.join(dir, 'weights', 'link.bin'))],
    ['a linked folder out of the folder', 'linked/data.bin', (dir) => fs.symlinkSync(DIR + '/weights', path.join(dir, 'linked'))],
    ['a missing file', 'weights/nope.bin', () => {}],
  ];
  for (const [what, location, setup] of cases) {
    it(`refuses ${what} (${location})`, async () => {
      const dir = fs.mkdtempSync(path.join(tmp, 'm-'));
      fs.mkdirSync(path.join(dir, 'weights'));
      fs.copyFileSync(path.join(DIR, 'weights', 'data.bin'), path.join(dir, 'weights', 'data.bin'));
      setup(dir);
      const file = path.join(dir, 'model.onnx');
      fs.writeFileSync(file, withLocation(location.padEnd(16, '/').slice(0, 16)));
      await expect(openModelFile(file, { scan: false })).rejects.toMatchObject({ code: 'ExternalDataRefused' });
    });
  }

  it('reads the same file through a link that stays inside the folder', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'in-'));
    fs.mkdirSync(path.join(dir, 'weights'));
    fs.copyFileSync(path.join(DIR, 'weights', 'data.bin'), path.join(dir, 'weights', 'real.bin'));
    fs.symlinkSync('real.bin', path.join(dir, 'weights', 'data.bin'));
    fs.copyFileSync(MODEL, path.join(dir, 'model.onnx'));
    const opened = await openModelFile(path.join(dir, 'model.onnx'), { scan: false });
    try {
      expect(await sha(opened.tensors.tensors[0]!)).toBe(expected.tensors[0]!.sha256);
    } finally {
      await opened.tensors.close();
    }
  });
});
