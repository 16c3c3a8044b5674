import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { onnxReader, type OnnxStructure } from '../src/formats/onnx/reader.js';
import { rebuildOnnxModel } from '../src/formats/onnx/rebuild.js';
import { onnxReplacements } from '../src/formats/onnx/runner.js';
import { MemorySource } from '../src/io/byte-source.js';
import { FileSource } from '../src/node/file-source.js';
import { openInsideFolder } from '../src/node/inside-folder.js';
import { openModelFile } from '../src/node/open-files.js';
import { openModel } from '../src/node/open-model.js';
import { importPackage, loadRuntime } from '../src/node/runtimes.js';
import { batchMarkdown, convertFolder } from '../src/node/batch.js';
import type { RunValue } from '../src/tensor/runnable-model.js';
import { readEntry } from '../src/tensor/tensor-set.js';
import { compareOutput } from '../src/verify/behaviour.js';
import { runInputs } from '../src/verify/run-inputs.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';

/**
 * The behaviour check (verify --run) on the fixtures of scripts/make-behaviour-fixtures.py: each model is
 * converted with tensorsafe convert, then run as it is and with the converted weights, in
 * onnxruntime-node and @tensorflow/tfjs (devDependencies). Identical outputs for a lossless conversion;
 * a weight changed by one ulp fails, naming the output; the original's outputs agree with numpy's,
 * computed independently of any runtime.
 */

const FIX = path.join(import.meta.dirname, 'fixtures', 'behaviour');
const MLP = path.join(FIX, 'onnx', 'mlp.onnx');
const CONV = path.join(FIX, 'onnx', 'conv.onnx');
const EXTERNAL = path.join(FIX, 'onnx-external', 'mlp.onnx');
const TFJS = path.join(FIX, 'tfjs', 'model.json');
const tmp = tempDir('verify-run');

async function converted(model: string, name: string): Promise<string> {
  const out = path.join(tmp, `${name}.safetensors`);
  if (!fs.existsSync(out)) expect((await runCli('convert', model, '-o', out)).code).toBe(0);
  return out;
}

/** A copy of a safetensors file with element `index` of `tensor` one ulp up (its bits + 1). */
function bumped(file: string, tensor: string, index: number): string {
  const b = Buffer.from(fs.readFileSync(file));
  const n = Number(b.readBigUInt64LE(0));
  const header = JSON.parse(b.subarray(8, 8 + n).toString()) as Record<string, { dtype: string; data_offsets: [number, number] }>;
  const t = header[tensor]!;
  const width = t.dtype === 'F16' ? 2 : 4;
  const at = 8 + n + t.data_offsets[0] + index * width;
  if (width === 2) b.writeUInt16LE(b.readUInt16LE(at) + 1, at);
  else b.writeUInt32LE(b.readUInt32LE(at) + 1, at);
  const out = path.join(tmp, `${path.basename(file, '.safetensors')}-${tensor.replace(/\W/g, '_')}-${index}.safetensors`);
  fs.writeFileSync(out, b);
  return out;
}

async function run(...args: string[]): Promise<{ code: number; json: any; stdout: string }> {
  const r = await runCli('verify', ...args, '--run', '--json');
  return { code: r.code, json: r.stdout ? JSON.parse(r.stdout) : undefined, stdout: r.stdout };
}

describe('verify --run: a lossless conversion behaves the same', () => {
  it.each([
    ['ONNX: Gemm, Relu, MatMul (float_data), a Constant, Reshape by int64, a value_float Constant, float16', MLP, 'mlp', ['--dim', 'batch=3'], ['logits', 'scaled']],
    ['ONNX: Conv', CONV, 'conv', [], ['features']],
    ['ONNX with external data', EXTERNAL, 'external', [], ['logits', 'scaled']],
    ['TF.js graph model: float16- and uint8-quantized weights, an int32 shape', TFJS, 'tfjs', [], ['Identity']],
    // A const output straight from a uint8-quantized weight: tfjs's dequantization and the reader's agree bit for bit; its string weight (kept as metadata) is not needed by the graph.
    ['the TF.js graph model of the format fixtures: a Placeholder and a quantized Const as outputs', path.join(import.meta.dirname, 'fixtures', 'formats', 'tfjs', 'graph-model.json'), 'graph-model', [], ['x', 'conv/weights_u8']],
  ])('%s', async (_what, model, name, extra, outputs) => {
    const r = await run(model, await converted(model, name), ...extra);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ ok: true, tensorsOk: true, behaviour: { ok: true, seed: 0 } });
    expect(r.json.behaviour.outputs.map((o: { name: string }) => o.name)).toEqual(outputs);
    for (const o of r.json.behaviour.outputs) expect(o).toMatchObject({ status: 'identical', maxAbsDiff: 0, maxUlps: 0, differing: 0 });
    expect(r.json.behaviour.code).toBeUndefined();
  });

  it('prints every output with its dtype, shape and difference; a named open dimension takes --dim', async () => {
    const r = await runCli('verify', MLP, await converted(MLP, 'mlp'), '--run', '--dim', 'batch=5', '--seed', '7');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('inputs generated with seed 7: x F32 [5, 4]');
    expect(r.lines).toContain('  ✓ logits F32 [5, 3]: identical');
    expect(r.lines).toContain('  ✓ scaled F16 [5, 3]: identical');
    expect(r.lines.at(-1)).toBe('✓ behaves the same: 2 outputs identical');
  });

  it('--markdown adds a table of the outputs', async () => {
    const r = await runCli('verify', TFJS, await converted(TFJS, 'tfjs'), '--run', '--markdown');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('### ✅ behaves the same in @tensorflow/tfjs');
    expect(r.stdout).toMatch(/\| `Identity` \| F32 \| \[1, 2\] \| identical \| 0 \| 0 \| 0 \/ 2 \|/);
  });

  it('the same seed gives the same inputs; another seed others', async () => {
    const specs = [{ name: 'x', dtype: 'F32' as const, shape: ['batch', 4] }, { name: 'i', dtype: 'I64' as const, shape: [null] }, { name: 'h', dtype: 'F16' as const, shape: [2] }];
    const a = await runInputs(specs, { seed: 3, dims: { batch: 2 } });
    expect(a.map((v) => [v.name, v.shape])).toEqual([['x', [2, 4]], ['i', [1]], ['h', [2]]]);
    expect(await runInputs(specs, { seed: 3, dims: { batch: 2 } })).toEqual(a);
    expect((await runInputs(specs, { seed: 4, dims: { batch: 2 } }))[0]!.data).not.toEqual(a[0]!.data);
    const x = new Float32Array(a[0]!.data.slice().buffer);
    expect(x.every((v) => v >= -1 && v < 1)).toBe(true);
    expect(await runInputs(specs, { dims: { 'i:0': 3 } }).then((v) => v[1]!.shape)).toEqual([3]);
  });
});

describe('verify --run: a weight one ulp off fails, naming the output', () => {
  it.each([
    ['a float16 initializer of ONNX', MLP, 'mlp', 'scale', 1, [], 'scaled'],
    ["an ONNX Constant node's value", MLP, 'mlp', 'b2', 0, ['--dim', 'batch=8'], 'logits'],
    ['an ONNX Conv bias', CONV, 'conv', 'B', 1, [], 'features'],
    ['a TF.js weight (uint8-quantized in the original)', TFJS, 'tfjs', 'out/bias', 1, [], 'Identity'],
    ['a TF.js weight, with given inputs', TFJS, 'tfjs', 'dense/bias', 1, ['--inputs', path.join(FIX, 'tfjs', 'inputs.npz')], 'Identity'],
  ])('%s', async (_what, model, name, tensor, index, extra, output) => {
    const bad = bumped(await converted(model, name), tensor, index);
    const r = await run(model, bad, ...(extra as string[]));
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ ok: false, tensorsOk: false, behaviour: { ok: false, code: 'BehaviourChanged' } });
    const o = r.json.behaviour.outputs.find((x: { name: string }) => x.name === output);
    expect(o).toMatchObject({ status: 'different' });
    expect(o.maxAbsDiff).toBeGreaterThan(0);
    expect(o.maxUlps).toBeGreaterThanOrEqual(1);
    const text = await runCli('verify', model, bad, '--run', ...(extra as string[]));
    expect(text.lines.at(-1)).toBe(`✗ behaviour changed (BehaviourChanged): ${output}`);
  });

  it('--tolerance accepts a difference within it', async () => {
    const bad = bumped(await converted(MLP, 'mlp'), 'scale', 1);
    const r = await run(MLP, bad, '--tolerance', '0.01');
    expect(r.json.behaviour).toMatchObject({ ok: true, tolerance: 0.01 });
    expect(r.json.behaviour.outputs.find((o: { name: string }) => o.name === 'scaled')).toMatchObject({ status: 'close' });
    expect(r.code).toBe(1); // the tensors still differ, bit for bit
  });
});

describe("the runner agrees with numpy's outputs (computed by scripts/make-behaviour-fixtures.py, no runtime)", () => {
  async function original(file: string, inputs: string): Promise<RunValue[]> {
    const opened = await openModelFile(file);
    const source = await FileSource.open(file);
    const given = await openModel(inputs);
    try {
      const runner = (await opened.format.load()).runner!;
      const m = await runner.load({ parsed: { tensors: opened.tensors, structure: opened.structure }, source, openSibling: (r) => openInsideFolder(path.dirname(file), r), runtime: await loadRuntime(runner.runtime), label: file });
      try {
        return await m.run(await runInputs(m.inputs, { given, givenName: inputs }));
      } finally {
        await m.dispose();
      }
    } finally {
      await Promise.all([opened.tensors.close(), source.close(), given.close()]);
    }
  }

  it.each([
    [MLP, path.join(FIX, 'onnx', 'mlp.inputs.npz'), path.join(FIX, 'onnx', 'mlp.expected.npz')],
    [CONV, path.join(FIX, 'onnx', 'conv.inputs.npz'), path.join(FIX, 'onnx', 'conv.expected.npz')],
    [EXTERNAL, path.join(FIX, 'onnx', 'mlp.inputs.npz'), path.join(FIX, 'onnx', 'mlp.expected.npz')],
    [TFJS, path.join(FIX, 'tfjs', 'inputs.npz'), path.join(FIX, 'tfjs', 'expected.npz')],
  ])('%s', async (model, inputs, expectedFile) => {
    const outputs = await original(model, inputs);
    const expected = await openModel(expectedFile);
    try {
      expect(outputs.map((o) => o.name).sort()).toEqual(expected.tensors.map((t) => t.name).sort());
      for (const t of expected.tensors) {
        const want: RunValue = { name: t.name, dtype: t.dtype, shape: t.shape, data: await readEntry(t) };
        const got = outputs.find((o) => o.name === t.name)!;
        // numpy sums in float64 and rounds once; the runtimes sum in float32: a few float32 ulps apart at most,
        // which a float16 output (rounded from them) may show as one of its own.
        const c = compareOutput(want, got, 0);
        const near = c.status === 'identical' || (t.dtype === 'F16' ? c.maxUlps! <= 1 : c.maxAbsDiff! <= 1e-6 && c.maxUlps! <= 16);
        expect([t.name, c.dtype, c.shape[1], near]).toEqual([t.name, [t.dtype, t.dtype], t.shape, true]);
      }
    } finally {
      await expected.close();
    }
  });
});

describe('verify --run: coded errors', () => {
  it('RuntimeFailed: an operator onnxruntime does not have (exit 3), after the tensors report', async () => {
    const model = path.join(FIX, 'onnx', 'unknown-op.onnx');
    const out = await converted(model, 'unknown-op');
    const r = await runCli('verify', model, out, '--run');
    expect(r.code).toBe(3);
    expect(r.lines).toContain('✓ every tensor matches');
    expect(r.stderr).toMatch(/RuntimeFailed: onnxruntime could not load the original \(.*unknown-op\.onnx\): .*NoSuchOp/);
    const j = await runCli('verify', model, out, '--run', '--json');
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: false, error: { code: 'RuntimeFailed' } });
  });

  it('RuntimeMissing: a runtime package that is not installed says what to install', async () => {
    const missing = (): Promise<unknown> => Promise.reject(Object.assign(new Error("Cannot find package 'tensorsafe-no-such-runtime'"), { code: 'ERR_MODULE_NOT_FOUND' }));
    await expect(importPackage('tensorsafe-no-such-runtime', missing)).rejects.toMatchObject({ code: 'RuntimeMissing', message: expect.stringMatching(/^tensorsafe-no-such-runtime is not installed: npm install tensorsafe-no-such-runtime/) });
  });

  it('RunUnsupported: a format no runtime runs (exit 3)', async () => {
    const st = await converted(MLP, 'mlp');
    const r = await runCli('verify', st, st, '--run', '--json');
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'RunUnsupported', message: expect.stringMatching(/runs ONNX models .* and TF\.js graph models/) });
  });

  it('RunWeightMismatch: converted weights without one of the graph\'s (exit 1)', async () => {
    const out = path.join(tmp, 'conv-no-bias.safetensors');
    const all = await openModel(await converted(CONV, 'conv'));
    const { saveFileSync } = await import('../src/node/files.js');
    const w = all.tensors.find((t) => t.name === 'W')!;
    saveFileSync({ W: { dtype: 'F32', shape: [...w.shape], data: new Float32Array((await readEntry(w)).slice().buffer) } }, out);
    await all.close();
    const r = await runCli('verify', CONV, out, '--run', '--json');
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'RunWeightMismatch', message: expect.stringContaining('no tensor "B"') });
  });

  it('InputMismatch: given inputs that do not fit the graph, or a --dim it does not have (exit 3)', async () => {
    const st = await converted(MLP, 'mlp');
    const wrongName = await run(MLP, st, '--inputs', path.join(FIX, 'onnx', 'conv.inputs.npz'));
    expect(wrongName.code).toBe(3);
    expect(wrongName.json.error).toMatchObject({ code: 'InputMismatch', message: expect.stringContaining('"image" is not an input of the model (its inputs: x)') });
    const wrongShape = await run(CONV, await converted(CONV, 'conv'), '--inputs', path.join(FIX, 'onnx', 'mlp.inputs.npz'));
    expect(wrongShape.json.error.code).toBe('InputMismatch');
    const wrongDim = await run(MLP, st, '--inputs', path.join(FIX, 'onnx', 'mlp.inputs.npz'), '--dim', 'batch=3');
    expect(wrongDim.json.error).toMatchObject({ code: 'InputMismatch', message: expect.stringContaining('array "x" is F32 [2, 4], but the model\'s input is F32 [batch, 4]') });
    const noSuchDim = await run(MLP, st, '--dim', 'height=3');
    expect(noSuchDim.json.error).toMatchObject({ code: 'InputMismatch', message: expect.stringContaining('its open dimensions: batch, x:0') });
  });

  it('RunLimit: an input past MAX_RUN_INPUT_ELEMENTS', async () => {
    const r = await run(MLP, await converted(MLP, 'mlp'), '--dim', 'batch=100000000');
    expect(r.json.error).toMatchObject({ code: 'RunLimit', message: expect.stringContaining('MAX_RUN_INPUT_ELEMENTS') });
  });

  it('usage: the options of --run without it, and bad values (exit 2)', async () => {
    const st = await converted(MLP, 'mlp');
    for (const args of [['--seed', '1'], ['--dim', 'batch=2'], ['--tolerance', '1'], ['--run', '--seed', '-1'], ['--run', '--dim', 'batch'], ['--run', '--dim', 'batch=0'], ['--run', '--tolerance', 'x'], ['--run', '--seed', '1', '--inputs', 'x.npz']]) {
      expect([args, (await runCli('verify', MLP, st, ...args)).code]).toEqual([args, 2]);
    }
  });
});

describe('the ONNX rebuild copies every byte but the replaced tensors', () => {
  const open = async (bytes: Uint8Array, name: string) => onnxReader.open!(new MemorySource(bytes, name));
  const digest = async (t: { chunks(n?: number): AsyncIterable<Uint8Array> }): Promise<string> => {
    const h = createHash('sha256');
    for await (const c of t.chunks()) h.update(c);
    return h.digest('hex');
  };

  it('no replacement: the same bytes', async () => {
    const bytes = new Uint8Array(fs.readFileSync(MLP));
    expect(rebuildOnnxModel(bytes, [])).toEqual(bytes);
  });

  it.each(['raw-data', 'typed-fields', 'subgraphs-and-constants', 'int4', 'float8', 'sparse'])(
    'formats/onnx/%s.onnx rebuilt with its own tensors reads back the same (raw_data, typed fields, Constants of every kind, subgraphs, INT4 repacked, a sparse initializer made dense)',
    async (name) => {
      const file = path.join(import.meta.dirname, 'fixtures', 'formats', 'onnx', `${name}.onnx`);
      const bytes = new Uint8Array(fs.readFileSync(file));
      const parsed = await open(bytes, file);
      const model = (parsed.structure as OnnxStructure).model;
      // A sparse Constant value is not put back into a graph (its attribute would change kind): refused, by name.
      const sparseConstant = model.tensors.some((t) => t.data?.kind === 'sparse' && t.where.startsWith('Constant'));
      if (sparseConstant) {
        await expect(onnxReplacements(model.tensors, parsed.tensors, parsed.tensors, 'x')).rejects.toMatchObject({ code: 'RunUnsupported' });
        return;
      }
      const replacements = await onnxReplacements(model.tensors, parsed.tensors, parsed.tensors, 'x');
      expect(replacements.length).toBe(parsed.tensors.tensors.length);
      const rebuilt = rebuildOnnxModel(bytes, replacements);
      const again = await open(rebuilt, file);
      expect(again.tensors.tensors.map((t) => [t.name, t.dtype, t.shape])).toEqual(parsed.tensors.tensors.map((t) => [t.name, t.dtype, t.shape]));
      for (const [i, t] of parsed.tensors.tensors.entries()) expect([t.name, await digest(again.tensors.tensors[i]!)]).toEqual([t.name, await digest(t)]);
      expect(again.tensors.leftOut).toEqual(parsed.tensors.leftOut);
      const m2 = (again.structure as OnnxStructure).model;
      expect([m2.nodes, m2.subgraphs, m2.opsets, m2.producer]).toEqual([model.nodes, model.subgraphs, model.opsets, model.producer]);
      // Every rebuilt tensor holds its bytes as raw_data now.
      expect(m2.tensors.filter((t) => replacements.some((r) => r.record.name === t.name)).every((t) => t.data?.kind === 'raw' || t.data?.kind === 'inline')).toBe(true);
    },
  );

  it('the sparse initializers of sparse.onnx become dense initializers', async () => {
    const file = path.join(import.meta.dirname, 'fixtures', 'formats', 'onnx', 'sparse.onnx');
    const bytes = new Uint8Array(fs.readFileSync(file));
    const parsed = await open(bytes, file);
    const model = (parsed.structure as OnnxStructure).model;
    const records = model.tensors.filter((t) => !(t.data?.kind === 'sparse' && t.where.startsWith('Constant')));
    const rebuilt = rebuildOnnxModel(bytes, await onnxReplacements(records, parsed.tensors, parsed.tensors, 'x'));
    const again = (await open(rebuilt, file)).structure as OnnxStructure;
    const initializers = again.model.tensors.filter((t) => t.where.includes('initializer'));
    expect(initializers.length).toBeGreaterThan(0);
    expect(initializers.every((t) => t.where === 'initializer' && t.data?.kind === 'raw')).toBe(true);
  });
});

describe('convert --recursive --run: the batch report says whether each model behaves the same', () => {
  it('same for the fixtures, not run for an operator no runtime has, with a "behaves the same" column', async () => {
    const dir = path.join(tmp, 'batch');
    for (const sub of ['onnx', 'tfjs']) fs.cpSync(path.join(FIX, sub), path.join(dir, sub), { recursive: true, filter: (f) => !f.endsWith('.npz') });
    const report = await convertFolder(dir, { run: true, jobs: 1 });
    const by = (name: string) => report.models.find((m) => m.path.endsWith(name))!;
    expect(by('mlp.onnx').behaviour).toMatchObject({ result: 'same', runtime: expect.stringMatching(/^onnxruntime-node/) });
    expect(by('conv.onnx').behaviour).toMatchObject({ result: 'same' });
    expect(by('model.json').behaviour).toMatchObject({ result: 'same', runtime: expect.stringMatching(/^@tensorflow\/tfjs/) });
    expect(by('unknown-op.onnx').behaviour).toMatchObject({ result: 'not-run', code: 'RuntimeFailed' });
    const md = batchMarkdown(report);
    expect(md).toContain('| model | status | verified | behaves the same | in |');
    expect(md).toMatch(/mlp\.onnx` \| ✅ converted \| yes \| yes \|/);
    expect(md).toMatch(/unknown-op\.onnx` \| ✅ converted \| yes \| not run \(RuntimeFailed\) \|/);
    // Without --run: no behaviour, no column.
    const plain = await convertFolder(dir, { jobs: 1 });
    expect(plain.models.every((m) => m.behaviour === undefined)).toBe(true);
    expect(batchMarkdown(plain)).not.toContain('behaves the same');
  });

  it('an up-to-date model is checked too; a changed one shows its outputs in the column', async () => {
    const dir = path.join(tmp, 'batch-again');
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(CONV, path.join(dir, 'conv.onnx'));
    expect((await runCli('convert', dir, '--recursive', '--jobs', '1')).code).toBe(0);
    const r = await runCli('convert', dir, '--recursive', '--jobs', '1', '--run', '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.models[0]).toMatchObject({ status: 'skipped', behaviour: { result: 'same' } });
    report.models[0].behaviour = { result: 'changed', outputs: ['features'], code: 'BehaviourChanged', reason: 'BehaviourChanged: features' };
    expect(batchMarkdown(report)).toMatch(/conv\.onnx` \| ⏭️ skipped \| – \| \*\*no\*\*: `features` \|/);
  });
});
