import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { convertCheckpoint } from '../src/node/convert.js';
import { loadFileSync } from '../src/node/files.js';
import { TensorsafeError } from '../src/errors.js';
import { createHash } from 'node:crypto';
import { CORPUS, formatsCorpus, HAVE_CORPUS, pickleCorpus } from './helpers/corpus.js';
import { ROOT } from './helpers/paths.js';
import { tempDir } from './helpers/temp.js';

/** What torch 1.13 itself loads from the benign files (scripts/make-corpus-expected.py). */
const torchLoads = JSON.parse(fs.readFileSync(path.join(ROOT, 'test/fixtures/corpus-expected/pytorch.json'), 'utf8')) as {
  files: Record<string, Record<string, { dtype: string; shape: number[]; sha256: string }>>;
};

/**
 * The third-party files of ../shared/corpus: every benign PyTorch file converts and verifies; every
 * malicious (or malformed) file is refused, leaving nothing behind. Files are read where they are.
 */
// Made only when the corpus is there: a file whose tests are all skipped runs no afterAll to remove it.
const tmp = HAVE_CORPUS ? tempDir('corpus') : '';
const pytorch = formatsCorpus('pytorch');
const benign = [
  ...pytorch.filter((r) => r.label === 'benign'),
  ...pickleCorpus().filter((r) => r.label === 'benign' && /torch\.save|legacy \(pre-1\.6/.test(r.notes)),
];
const refused = [...pytorch.filter((r) => r.label !== 'benign'), ...pickleCorpus().filter((r) => r.label === 'malicious')];

function outputFor(file: string): string {
  return path.join(fs.mkdtempSync(path.join(tmp, 'out-')), path.basename(file) + '.safetensors');
}

describe.skipIf(!HAVE_CORPUS)('shared corpus: PyTorch files', () => {
  it('has files of both kinds', () => {
    expect(benign.length).toBeGreaterThan(40);
    expect(refused.length).toBeGreaterThan(90);
  });

  it.each(benign.map((r) => [r.file, r] as const))('converts %s', async (_f, row) => {
    const out = outputFor(row.file);
    const summary = await convertCheckpoint(row.path, { output: out });
    expect(summary.verified).toBe(true);
    const tensors = loadFileSync(out);
    expect(tensors.size).toBe(summary.tensors);
    // Every tensor equals what torch.load gives, where torch could load the file (weights_only).
    const expected = torchLoads.files[path.relative(CORPUS, row.path)];
    if (expected) {
      for (const [name, t] of tensors) {
        const want = expected[summary.weightsPath ? `${summary.weightsPath}.${name}` : name]!;
        const sha = createHash('sha256').update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)).digest('hex');
        expect([name, t.dtype, t.shape, sha]).toEqual([name, want.dtype, want.shape, want.sha256]);
      }
    }
  });

  it('torch confirmed the values of most benign files', () => {
    expect(Object.keys(torchLoads.files).length).toBeGreaterThan(50);
  });

  it.each(refused.map((r) => [r.file, r] as const))('refuses %s', async (_f, row) => {
    const out = outputFor(row.file);
    const error = await convertCheckpoint(row.path, { output: out }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TensorsafeError);
    expect(fs.readdirSync(path.dirname(out))).toEqual([]);
  });

  it('values: candle test.pt, a Fortran-ordered tensor, and the MNIST pair\'s names and shapes', async () => {
    const test = outputFor('test.pt');
    await convertCheckpoint(path.join(CORPUS, 'formats/pytorch/candle/test.pt'), { output: test });
    expect([...(loadFileSync(test).get('test')!.data as BigInt64Array)]).toEqual([1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n]);

    const fortran = outputFor('fortran.pth');
    await convertCheckpoint(path.join(CORPUS, 'formats/pytorch/candle/fortran_tensor_3d.pth'), { output: fortran });
    const f = loadFileSync(fortran).get('tensor_fortran')!;
    expect(f.shape).toEqual([2, 3, 4]);
    expect([...(f.data as BigInt64Array)].map(Number)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));

    const mnist = outputFor('mnist.pt');
    await convertCheckpoint(path.join(CORPUS, 'formats/pytorch/burn-mnist/mnist.pt'), { output: mnist });
    const ours = loadFileSync(mnist);
    const theirs = loadFileSync(path.join(CORPUS, 'formats/safetensors/burn/mnist.safetensors'));
    expect([...ours.keys()].sort()).toEqual([...theirs.keys()].sort());
    // The safetensors copy has the same layout but other values (checked against torch.load: ours
    // equal torch's, theirs do not; its MANIFEST note says "same weights", which is not so).
    for (const [name, t] of theirs) {
      const o = ours.get(name)!;
      expect([name, o.dtype, o.shape]).toEqual([name, t.dtype, t.shape]);
    }
  });
});
