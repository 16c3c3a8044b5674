import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectSourceFormat } from '../src/formats/registry.js';
import { MemorySource } from '../src/io/byte-source.js';
import { convertModel } from '../src/node/convert.js';
import { openModel } from '../src/node/open-model.js';
import { scanFile } from '../src/node.js';
import { tempDir } from './helpers/temp.js';

/**
 * PaddlePaddle beyond the format fixtures: an optimizer's state is inspected and scanned but never
 * converted; a pickle that looks like a state dict but calls a function is dangerous to scan and refused
 * by the reader; bare torch pickles are still PyTorch's.
 */
const DIR = path.join(import.meta.dirname, 'fixtures', 'paddle');
const bytesOf = (p: string) => new MemorySource(new Uint8Array(fs.readFileSync(p)), p);

describe('PaddlePaddle', () => {
  it('a .pdopt opens (for inspect) with its moments, and convert refuses it with PaddleOptimizerState, writing nothing', async () => {
    const file = path.join(DIR, 'adam.pdopt');
    expect((await detectSourceFormat(bytesOf(file)))?.id).toBe('paddle');
    const model = await openModel(file);
    try {
      expect(model.tensors.map((t) => t.name)).toEqual(['linear_0.w_0_moment1_0', 'linear_0.w_0_moment2_0', 'linear_0.w_0_beta1_pow_acc_0']);
      expect(model.leftOut.map((l) => l.path)).toEqual(['LR_Scheduler']);
    } finally {
      await model.close();
    }
    const out = tempDir('paddle-pdopt');
    await expect(convertModel(file, { output: out })).rejects.toMatchObject({ code: 'PaddleOptimizerState' });
    expect(fs.readdirSync(out)).toEqual([]);
    const report = await scanFile(file);
    expect(report.format).toBe('paddle');
    expect(report.findings.map((f) => f.rule)).toContain('paddle/optimizer-state');
    expect(report.verdict).toBe('safe');
  });

  it('a state dict pickle that calls posix.system is dangerous to scan and refused by the reader', async () => {
    const file = path.join(DIR, 'evil.pdparams');
    expect((await detectSourceFormat(bytesOf(file)))?.id).toBe('paddle');
    const report = await scanFile(file);
    expect(report.verdict).toBe('dangerous');
    const out = tempDir('paddle-evil');
    await expect(convertModel(file, { output: out })).rejects.toMatchObject({ code: 'UnsafeFile' });
    expect(fs.readdirSync(out)).toEqual([]);
  });

  it('the fixtures are scanned as paddle, safe', async () => {
    for (const f of ['model-protocol2.pdparams', 'model-protocol4.pdparams']) {
      const report = await scanFile(path.join(import.meta.dirname, 'fixtures', 'formats', 'paddle', f));
      expect([f, report.format, report.verdict]).toEqual([f, 'paddle', 'safe']);
    }
  });

  it("a bare torch pickle is still PyTorch's", async () => {
    expect((await detectSourceFormat(bytesOf(path.join(import.meta.dirname, 'fixtures', 'torch', 'bare_pickle.pkl'))))?.id).toBe('pytorch');
  });
});
