import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { saveFileSync } from '../src/node/files.js';
import { convertCheckpoint } from '../src/node/convert.js';
import { fromFloat32 } from '../src/dtype/float-codecs.js';
import { runCli } from './helpers/cli.js';
import { TORCH_FIXTURES } from './helpers/torch-fixtures.js';
import { tempDir } from './helpers/temp.js';

const tmp = tempDir('verify');
const file = (name: string, tensors: Parameters<typeof saveFileSync>[0], metadata?: Record<string, string>): string => {
  const p = path.join(tmp, name);
  saveFileSync(tensors, p, { metadata });
  return p;
};
const values = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 10);
const perturbed = values.map((v, i) => (i % 100 === 0 ? v + 1e-4 : v));
const base = file('a.safetensors', { w: { dtype: 'F32', shape: [10, 100], data: values }, b: { dtype: 'I64', shape: [3], data: new BigInt64Array([1n, 2n, 3n]) } });

async function verify(...args: string[]): Promise<{ code: number; json: any }> {
  const r = await runCli('verify', ...args, '--json');
  return { code: r.code, json: r.stdout ? JSON.parse(r.stdout) : undefined };
}

describe('tensorsafe verify', () => {
  it('identical models: exit 0', async () => {
    const copy = file('copy.safetensors', { b: { dtype: 'I64', shape: [3], data: new BigInt64Array([1n, 2n, 3n]) }, w: { dtype: 'F32', shape: [10, 100], data: values } });
    const r = await verify(base, copy);
    expect(r.code).toBe(0);
    expect(r.json.summary).toMatchObject({ identical: 2, different: 0 });
  });

  it('bit for bit by default; a tolerance accepts small differences and reports them', async () => {
    const near = file('near.safetensors', { w: { dtype: 'F32', shape: [10, 100], data: perturbed }, b: { dtype: 'I64', shape: [3], data: new BigInt64Array([1n, 2n, 3n]) } });
    const exact = await verify(base, near);
    expect(exact.code).toBe(1);
    const w = exact.json.tensors.find((t: { name: string }) => t.name === 'w');
    expect(w).toMatchObject({ status: 'different', stats: { values: 1000, mismatched: 10 } });
    expect(w.stats.maxAbsError).toBeGreaterThan(5e-5);
    expect(w.stats.cosine).toBeGreaterThan(0.999999);
    expect(w.reason).toMatch(/10 of 1000 values differ/);
    const tolerant = await verify(base, near, '--atol', '1e-3');
    expect(tolerant.code).toBe(0);
    expect(tolerant.json.summary).toMatchObject({ identical: 1, close: 1 });
    const tooTight = await verify(base, near, '--atol', '1e-6', '--rtol', '1e-7');
    expect(tooTight.code).toBe(1);
  });

  it('a dtype change is a mismatch unless allowed; then values are compared', async () => {
    const bf16 = file('bf16.safetensors', { w: { dtype: 'BF16', shape: [10, 100], data: fromFloat32('BF16', values) }, b: { dtype: 'I64', shape: [3], data: new BigInt64Array([1n, 2n, 3n]) } });
    const strict = await verify(base, bf16);
    expect(strict.code).toBe(1);
    expect(strict.json.tensors.find((t: { name: string }) => t.name === 'w')).toMatchObject({ status: 'dtype-mismatch', dtype: ['F32', 'BF16'] });
    const loose = await verify(base, bf16, '--allow-dtype-change', '--rtol', '1e-2', '--atol', '1e-6');
    expect(loose.code).toBe(0);
    expect(loose.json.tensors.find((t: { name: string }) => t.name === 'w')).toMatchObject({ status: 'close' });
    const tight = await verify(base, bf16, '--allow-dtype-change', '--rtol', '1e-5');
    expect(tight.code).toBe(1);
  });

  it('NaN and infinity agreement', async () => {
    const withNaN = (v: number[]) => ({ x: { dtype: 'F32' as const, shape: [4], data: Float32Array.from(v) } });
    const a = file('nan-a.safetensors', withNaN([NaN, 1, Infinity, 2]));
    const same = file('nan-b.safetensors', withNaN([NaN, 1, Infinity, 2.0000001]));
    const other = file('nan-c.safetensors', withNaN([0, 1, -Infinity, 2]));
    expect((await verify(a, same, '--atol', '1e-3')).code).toBe(0);
    const r = await verify(a, other, '--atol', '1e-3');
    expect(r.code).toBe(1);
    expect(r.json.tensors[0].stats).toMatchObject({ nanA: 1, nanB: 0, nanMismatch: 1, infMismatch: 1, mismatched: 2 });
  });

  it('missing, extra and shape mismatches, each named with why', async () => {
    const other = file('other.safetensors', { w: { dtype: 'F32', shape: [100, 10], data: values }, c: { dtype: 'U8', shape: [1], data: new Uint8Array(1) } });
    const r = await verify(base, other);
    expect(r.code).toBe(1);
    const by = Object.fromEntries(r.json.tensors.map((t: { name: string; status: string }) => [t.name, t.status]));
    expect(by).toEqual({ b: 'missing', c: 'extra', w: 'shape-mismatch' });
    expect(r.json.tensors.every((t: { reason?: string }) => t.reason)).toBe(true);
  });

  it('a PyTorch checkpoint against its conversion, tied names matched through the metadata, both ways', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'pt-'));
    const pt = path.join(dir, 'pytorch_model.bin');
    fs.copyFileSync(path.join(TORCH_FIXTURES, 'sample/pytorch_model.bin'), pt);
    const { outputs } = await convertCheckpoint(pt);
    for (const [a, b] of [[pt, outputs[0]!], [outputs[0]!, pt]]) {
      const r = await verify(a!, b!);
      expect(r.code).toBe(0);
      expect(r.json.summary.identical).toBe(31);
      expect(r.json.tensors.find((t: { matchedAs?: string }) => t.matchedAs)).toBeDefined();
    }
    // The folder too: the checkpoint against the folder's safetensors.
    expect((await verify(pt, dir)).code).toBe(0);
  });

  it('text and Markdown reports; usage errors exit 2', async () => {
    const near = file('near2.safetensors', { w: { dtype: 'F32', shape: [10, 100], data: perturbed }, b: { dtype: 'I64', shape: [3], data: new BigInt64Array([1n, 2n, 3n]) } });
    const text = await runCli('verify', base, near);
    expect(text.stdout).toMatch(/✗ w: different: 10 of 1000 values differ/);
    expect(text.stdout).toMatch(/2 tensors: 1 identical, 1 different/);
    const md = await runCli('verify', base, near, '--markdown');
    expect(md.stdout).toMatch(/^### ❌ tensorsafe verify/);
    expect(md.stdout).toMatch(/\| `w` \| different \| F32 \/ F32 \|/);
    expect((await runCli('verify', base)).code).toBe(2);
    expect((await runCli('verify', base, near, '--atol', 'x')).code).toBe(2);
    expect((await runCli('verify', base, near, '--json', '--markdown')).code).toBe(2);
  });
});

describe('tensorsafe verify model.onnx model.safetensors', () => {
  const ONNX = path.join(import.meta.dirname, 'fixtures', 'formats', 'onnx');
  const out = tempDir('verify-onnx');
  for (const [name, onnx] of [
    ['subgraphs and constants', path.join(ONNX, 'subgraphs-and-constants.onnx')],
    ['sparse initializers (densified)', path.join(ONNX, 'sparse.onnx')],
    ['INT4/UINT4 (unpacked) and FLOAT4E2M1', path.join(ONNX, 'int4.onnx')],
    ['external data', path.join(import.meta.dirname, 'fixtures', 'onnx-external', 'model.onnx')],
  ] as const) {
    it(`${name}: its conversion is identical, a changed tensor is found`, async () => {
      const converted = path.join(out, `${path.basename(onnx, '.onnx')}.safetensors`);
      expect((await runCli('convert', onnx, '-o', converted)).code).toBe(0);
      const same = await verify(onnx, converted);
      expect(same.code).toBe(0);
      expect(same.json.summary.different).toBe(0);
      expect(same.json.summary.identical).toBeGreaterThan(0);
      // One byte of the last tensor's data changed (the data ends the file).
      const bytes = fs.readFileSync(converted);
      bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
      const changed = path.join(out, `changed-${path.basename(converted)}`);
      fs.writeFileSync(changed, bytes);
      const r = await verify(onnx, changed);
      expect(r.code).toBe(1);
      expect(r.json.summary.different).toBe(1);
    });
  }
});
