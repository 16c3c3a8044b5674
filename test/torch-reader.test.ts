import { describe, expect, it } from 'vitest';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { FileSource } from '../src/node/file-source.js';
import { openTorchTensorSet } from '../src/formats/torch/weights.js';
import { readEntry } from '../src/tensor/tensor-set.js';
import { TensorsafeError } from '../src/errors.js';
import { TORCH_FIXTURES, torchFixtures } from './helpers/torch-fixtures.js';

const fixtures = torchFixtures().filter((f) => f.format !== 'index');
const FORMATS: Record<string, string> = { zip: 'pytorch-zip', legacy: 'pytorch-legacy', tar: 'pytorch-tar', torchscript: 'torchscript', pickle: 'pickle' };

describe('PyTorch checkpoints read without running them, against what torch loads', () => {
  it.each(fixtures.filter((f) => !f.expected.expect_error).map((f) => [f.file, f] as const))('%s', async (_n, fixture) => {
    const set = await openTorchTensorSet(await FileSource.open(path.join(TORCH_FIXTURES, fixture.file)), {
      key: fixture.expected.key ?? undefined,
      skipUnknown: fixture.expected.needs_skip_unknown,
    });
    try {
      expect(set.format).toBe(FORMATS[fixture.format]);
      const want = fixture.expected.tensors!;
      // A shard of a sharded set holds the names the set's expected file lists for it.
      const shardNames = fixture.expected.shards?.[path.basename(fixture.file)];
      expect(set.tensors.map((t) => t.name).sort()).toEqual((shardNames ?? Object.keys(want)).sort());
      for (const t of set.tensors) {
        const w = want[t.name]!;
        expect([t.name, t.dtype, t.shape]).toEqual([t.name, w.dtype, w.shape]);
        const bytes = await readEntry(t);
        expect([t.name, createHash('sha256').update(bytes).digest('hex')]).toEqual([t.name, w.sha256]);
      }
      // Tied weights (one identical view) share an alias key; different views of one storage do not.
      const alias = new Map(set.tensors.map((t) => [t.name, t.aliasKey]));
      for (const group of fixture.expected.shared ?? []) expect(new Set(group.map((n) => alias.get(n))).size).toBe(1);
      for (const group of fixture.expected.same_storage ?? []) {
        // Distinct views in the group: its names, less the extra names of tied groups inside it.
        const tiedInside = (fixture.expected.shared ?? []).filter((g) => g.every((n) => group.includes(n)));
        const distinct = group.length - tiedInside.reduce((n, g) => n + g.length - 1, 0);
        expect(new Set(group.map((n) => alias.get(n))).size).toBe(distinct);
      }
      for (const other of fixture.expected.other ?? []) expect(set.leftOut.map((l) => l.path)).toContain(other);
    } finally {
      await set.close();
    }
  });

  it.each(fixtures.filter((f) => f.expected.needs_skip_unknown).map((f) => [f.file] as const))('%s is refused without skipUnknown, naming the class', async (file) => {
    const source = await FileSource.open(path.join(TORCH_FIXTURES, file));
    await expect(openTorchTensorSet(source)).rejects.toMatchObject({ code: 'UnsupportedGlobal', message: expect.stringMatching(/__main__\.RunConfig.*--skip-unknown/) });
    await source.close();
  });

  it.each(fixtures.filter((f) => f.expected.expect_error).map((f) => [f.file, f.expected.expect_error] as const))('%s is refused: %s', async (file) => {
    const source = await FileSource.open(path.join(TORCH_FIXTURES, file));
    try {
      await openTorchTensorSet(source);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(TensorsafeError);
      expect((e as TensorsafeError).message.length).toBeGreaterThan(10);
    } finally {
      await source.close();
    }
  });
});
