import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isTensorsafeError } from '../src/errors.js';
import { detectSourceFormat, formatById } from '../src/formats/registry.js';
import { MemorySource } from '../src/io/byte-source.js';
import type { TensorEntry } from '../src/tensor/tensor-set.js';
import { convertModel } from '../src/node/convert.js';
import { openModel } from '../src/node/open-model.js';
import { openInsideFolder } from '../src/node/inside-folder.js';
import { expectConvertedTensors } from './helpers/assertions.js';
import { tempDir } from './helpers/temp.js';

/**
 * Every format's fixtures, the way hyparquet tests every parquet file in its folder:
 * test/fixtures/formats/<format id>/<file> beside <file>.expected.json, written by the format's own
 * producer (numpy, torch) with the values that producer reads back. A new format's fixtures are
 * tested by adding files. For each fixture: the registry detects it as that format from its bytes,
 * its reader opens it, and every tensor's name, dtype, shape, encoding and the SHA-256 of its
 * streamed bytes are the expected ones; or opening fails with the expected error code.
 */

const ROOT = path.join(import.meta.dirname, 'fixtures', 'formats');

interface ExpectedTensor {
  name: string;
  dtype: string;
  shape: number[];
  sha256: string;
  encoding?: { layout: string; byteSwap?: number; decoder?: string };
  /** Default `exact`: the bytes are the source's values as they are. */
  fidelity?: string;
}

interface Expected {
  format: string;
  tensors?: ExpectedTensor[];
  error?: string;
  /** Files beside the fixture that it reads (not fixtures of their own). */
  parts?: string[];
}

/** A chunk size that cuts every dtype's elements at odd places in a file (a multiple of 8 bytes). */
const SMALL_CHUNK = 24;

async function digest(entry: TensorEntry, chunkBytes?: number): Promise<string> {
  const hash = createHash('sha256');
  let total = 0;
  for await (const chunk of entry.chunks(chunkBytes)) {
    if (chunkBytes !== undefined) expect(chunk.byteLength).toBeLessThanOrEqual(chunkBytes);
    expect(chunk.byteLength).toBeGreaterThan(0);
    hash.update(chunk);
    total += chunk.byteLength;
  }
  expect(total).toBe(entry.byteLength);
  return hash.digest('hex');
}

const formatIds = fs.existsSync(ROOT) ? fs.readdirSync(ROOT).filter((d) => fs.statSync(path.join(ROOT, d)).isDirectory()) : [];

describe('format fixtures', () => {
  it('every fixture folder is a registered format, and has fixtures', () => {
    expect(formatIds.length).toBeGreaterThan(0);
    for (const id of formatIds) {
      expect(formatById(id)?.id, `test/fixtures/formats/${id} names no registered format`).toBe(id);
      expect(fs.readdirSync(path.join(ROOT, id)).some((f) => f.endsWith('.expected.json'))).toBe(true);
    }
  });

  for (const id of formatIds) {
    const dir = path.join(ROOT, id);
    const files = fs.readdirSync(dir).filter((f) => !f.endsWith('.expected.json') && fs.existsSync(path.join(dir, `${f}.expected.json`)));
    describe(id, () => {
      it('every expected file has its fixture, and every fixture its expected file (none is skipped)', () => {
        for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.expected.json'))) {
          expect(fs.existsSync(path.join(dir, f.slice(0, -'.expected.json'.length))), f).toBe(true);
        }
        // Sub-folders hold what fixtures reference (TF.js weight shards), not fixtures; so do the files a
        // fixture's expected file lists as its `parts` (a TF checkpoint's data shards, named after its index).
        const parts = new Set(files.flatMap((f) => (JSON.parse(fs.readFileSync(path.join(dir, `${f}.expected.json`), 'utf8')) as Expected).parts ?? []));
        const unpaired = fs.readdirSync(dir).filter((f) => !f.endsWith('.expected.json') && !files.includes(f) && !parts.has(f) && fs.statSync(path.join(dir, f)).isFile());
        expect(unpaired, `fixtures without a .expected.json in test/fixtures/formats/${id}`).toEqual([]);
      });

      for (const file of files) {
        it(file, async () => {
          const expected = JSON.parse(fs.readFileSync(path.join(dir, `${file}.expected.json`), 'utf8')) as Expected;
          expect(expected.format).toBe(id);
          const source = new MemorySource(new Uint8Array(fs.readFileSync(path.join(dir, file))), path.join(dir, file));
          // Files a model references (TF.js shards) are opened inside its folder, as the CLI opens them.
          const siblings = { openSibling: (relative: string) => openInsideFolder(dir, relative) };
          const format = await detectSourceFormat(source);
          expect(format?.id).toBe(id);
          const reader = await format!.load();
          if (expected.error !== undefined) {
            const outcome = await reader.open!(source, siblings).then(
              () => 'opened',
              (e: unknown) => (isTensorsafeError(e) ? e.code : `not a TensorsafeError: ${String(e)}`),
            );
            expect(outcome).toBe(expected.error);
            return;
          }
          const { tensors } = await reader.open!(source, siblings);
          try {
            expect(tensors.tensors.map((t) => t.name)).toEqual(expected.tensors!.map((t) => t.name));
            for (const [i, want] of expected.tensors!.entries()) {
              const t = tensors.tensors[i]!;
              expect([t.name, t.dtype, t.shape]).toEqual([want.name, want.dtype, want.shape]);
              if (want.encoding) expect([t.name, t.encoding]).toEqual([want.name, want.encoding]);
              expect([t.name, t.fidelity]).toEqual([want.name, want.fidelity ?? 'exact']);
              expect([t.name, await digest(t)]).toEqual([want.name, want.sha256]);
              expect([t.name, await digest(t, SMALL_CHUNK)]).toEqual([want.name, want.sha256]);
            }
          } finally {
            await tensors.close();
          }
        });
      }
    });
  }
});

/**
 * The same fixtures through the whole door a user takes: `convertModel` (detect, one parse, scan, the
 * conversion pipeline, the checked write), then the written safetensors opened again and every tensor
 * compared with the format's own reference values: what a user converts is what numpy or torch reads.
 */
describe('format fixtures, converted to safetensors', () => {
  const out = tempDir('format-fixtures');
  for (const id of formatIds.filter((x) => x !== 'safetensors')) {
    const dir = path.join(ROOT, id);
    for (const file of fs.readdirSync(dir).filter((f) => !f.endsWith('.expected.json') && fs.existsSync(path.join(dir, `${f}.expected.json`)))) {
      it(`${id}/${file}`, async () => {
        const expected = JSON.parse(fs.readFileSync(path.join(dir, `${file}.expected.json`), 'utf8')) as Expected;
        const target = path.join(out, id, file.replace(/[^\w.-]/g, '_'));
        fs.mkdirSync(target, { recursive: true });
        const converting = convertModel(path.join(dir, file), { output: target });
        if (expected.error !== undefined) {
          await expect(converting).rejects.toMatchObject({ code: expected.error });
          expect(fs.readdirSync(target)).toEqual([]);
          return;
        }
        const summary = await converting;
        expect(summary.verified).toBe(true);
        const written = await openModel(summary.outputs[0]!);
        try {
          // Tied tensors are written once: every expected name is there, or recorded as removed.
          await expectConvertedTensors(written.tensors, expected.tensors!, summary.sharedRemoved, (t) => digest(t));
        } finally {
          await written.close();
        }
      });
    }
  }
});
