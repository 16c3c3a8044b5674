import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openModelFile } from '../src/node/open-files.js';
import { CORPUS } from './helpers/corpus.js';
import { ROOT } from './helpers/paths.js';

/**
 * The ONNX files of ../shared/corpus/formats/onnx (the ONNX backend tests, a model with external
 * data), read where they are: every file opens through the registry, and every tensor
 * onnx.numpy_helper.to_array reads (scripts/make-onnx-corpus-expected.py: main-graph initializers and
 * Constant values) is there with the same dtype, shape and bytes; every other tensor streams its length.
 */

const BASE = path.join(CORPUS, 'formats', 'onnx');
const HAVE = fs.existsSync(BASE);
const expected = JSON.parse(fs.readFileSync(path.join(ROOT, 'test/fixtures/corpus-expected/onnx.json'), 'utf8')) as {
  files: Record<string, Record<string, { dtype: string; shape: number[]; sha256: string }>>;
};

function onnxFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? onnxFiles(p) : e.name.endsWith('.onnx') ? [p] : [];
  });
}

if (!HAVE) console.log(`ONNX corpus tests skipped: ${BASE} is absent`);

describe.skipIf(!HAVE)('shared corpus: ONNX files', () => {
  const files = HAVE ? onnxFiles(BASE).sort() : [];

  it('has the files the expected values were made from', () => {
    expect(files.map((f) => path.relative(CORPUS, f))).toEqual(Object.keys(expected.files).sort());
  });

  it.each(files.map((f) => [path.relative(CORPUS, f)]))('reads %s as onnx.numpy_helper.to_array does', async (rel) => {
    const opened = await openModelFile(path.join(CORPUS, rel));
    try {
      expect(opened.format.id).toBe('onnx');
      const byName = new Map(opened.tensors.tensors.map((t) => [t.name, t]));
      for (const [name, want] of Object.entries(expected.files[rel] ?? {})) {
        const t = byName.get(name);
        expect(t, `${rel}: tensor ${name}`).toBeDefined();
        expect([name, t!.dtype, t!.shape]).toEqual([name, want.dtype, want.shape]);
        const h = createHash('sha256');
        for await (const c of t!.chunks()) h.update(c);
        expect([name, h.digest('hex')]).toEqual([name, want.sha256]);
      }
      for (const t of opened.tensors.tensors) {
        let n = 0;
        for await (const c of t.chunks()) n += c.byteLength;
        expect([t.name, n]).toEqual([t.name, t.byteLength]);
      }
    } finally {
      await opened.tensors.close();
    }
  });
});
