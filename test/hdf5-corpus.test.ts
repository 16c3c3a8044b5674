import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hdf5Reader } from '../src/formats/hdf5/reader.js';
import { openZip } from '../src/formats/zip/archive.js';
import type { ByteSource } from '../src/io/byte-source.js';
import { MemorySource } from '../src/io/byte-source.js';
import { CORPUS } from './helpers/corpus.js';
import { ROOT } from './helpers/paths.js';

/**
 * The HDF5 reader on real Keras files of ../shared/corpus (legacy .h5, and model.weights.h5 inside .keras
 * archives, read as a window of the stored zip entry): every dataset equals what h5py reads
 * (test/fixtures/corpus-expected/hdf5.json, scripts/make-hdf5-corpus-expected.py), bit for bit.
 */

interface Expected {
  tensors: { name: string; dtype: string; shape: number[]; sha256: string }[];
  leftOut: string[];
}

const expected = JSON.parse(fs.readFileSync(path.join(ROOT, 'test/fixtures/corpus-expected/hdf5.json'), 'utf8')) as { files: Record<string, Expected> };
const HAVE = fs.existsSync(path.join(CORPUS, 'formats', 'keras-h5'));
if (!HAVE) console.log(`HDF5 corpus tests skipped: ${path.join(CORPUS, 'formats', 'keras-h5')} is absent`);

async function sourceOf(key: string): Promise<ByteSource> {
  const [file, entry] = key.split(':');
  const whole = new MemorySource(new Uint8Array(fs.readFileSync(path.join(CORPUS, file!))), path.join(CORPUS, file!));
  if (entry === undefined) return whole;
  const zip = await openZip(whole);
  return zip.get(entry)!.source();
}

describe.skipIf(!HAVE)('shared corpus: Keras HDF5 files, against h5py', () => {
  it('has files', () => expect(Object.keys(expected.files).length).toBeGreaterThanOrEqual(6));
  for (const [key, want] of Object.entries(expected.files)) {
    it(key, async () => {
      const { tensors } = await hdf5Reader.open!(await sourceOf(key));
      expect(tensors.tensors.map((t) => t.name)).toEqual(want.tensors.map((t) => t.name));
      expect(tensors.leftOut.map((l) => l.path).sort()).toEqual([...want.leftOut].sort());
      for (const [i, t] of tensors.tensors.entries()) {
        const h = createHash('sha256');
        for await (const c of t.chunks()) h.update(c);
        const w = want.tensors[i]!;
        expect([t.name, t.dtype, t.shape, h.digest('hex')]).toEqual([w.name, w.dtype, w.shape, w.sha256]);
      }
    });
  }
});
