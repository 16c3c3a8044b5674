import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeGguf } from '../src/formats/gguf/view.js';
import type { GgufHeader } from '../src/formats/gguf/header.js';
import { ProgressBar } from '../src/cli/progress.js';
import { convertFolder } from '../src/node/batch.js';
import { convertModel } from '../src/node/convert.js';
import { save } from '../src/safetensors/save.js';
import { runCli } from './helpers/cli.js';
import { ROOT } from './helpers/paths.js';
import { tempDir } from './helpers/temp.js';
import { gguf as craftGguf } from './fixtures/scan/craft.js';

/**
 * What a new user met trying GGUF and NumPy outputs (issue 11), each a case that failed before its fix:
 * an existing GGUF or NumPy output was judged as if it were safetensors, and a NumPy output dropped
 * the source's metadata with a note that said it was replaced.
 */

const tmp = tempDir('user-trial');

function model(dir: string, metadata?: Record<string, string>): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'm.safetensors');
  fs.writeFileSync(
    file,
    save({ 'blk.0.attn_q.weight': { dtype: 'F32', shape: [2, 32], data: new Float32Array(64).map((_, i) => i / 7) } }, metadata ? { metadata } : {}),
  );
  return file;
}

describe('an existing GGUF or NumPy output is judged as its own format, not as safetensors', () => {
  it('converting to GGUF again finds it already converted (tensorsafe wrote it from this source)', async () => {
    const src = model(path.join(tmp, 'gguf-again'));
    const first = await convertModel(src, { to: 'gguf', arch: 'llama' });
    expect(first.upToDate).toBe(false);
    const again = await convertModel(src, { to: 'gguf', arch: 'llama' });
    expect(again.upToDate).toBe(true);
  });

  it('a GGUF of another source in the way is named for what it is, never "not a valid safetensors file"', async () => {
    const dir = path.join(tmp, 'gguf-other');
    const src = model(dir);
    const other = path.join(dir, 'other.safetensors');
    fs.copyFileSync(src, other);
    const out = path.join(dir, 'out.gguf');
    await convertModel(other, { to: 'gguf', arch: 'llama', output: out });
    const err = await convertModel(src, { to: 'gguf', arch: 'llama', output: out }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'OutputExists' });
    expect((err as Error).message).toContain('converted from other.safetensors');
    expect((err as Error).message).not.toContain('safetensors file');
  });

  it('an existing .npz says that NumPy files record no source, not that it is not safetensors', async () => {
    const src = model(path.join(tmp, 'npz-again'));
    await convertModel(src, { to: 'npz' });
    const err = await convertModel(src, { to: 'npz' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'OutputExists' });
    expect((err as Error).message).toMatch(/NumPy files hold no metadata/);
    expect((err as Error).message).not.toContain('not a valid safetensors file');
    // tensorsafe may well have written it, from this very source: the message must not say otherwise.
    expect((err as Error).message).not.toContain('did not write it');
  });
});

describe('a NumPy output names the metadata it cannot hold', () => {
  it('the source\'s keys are listed as not written, and no note claims a record was replaced', async () => {
    const dir = path.join(tmp, 'npz-metadata');
    // As a GGUF converted by tensorsafe holds it: the model's keys and tensorsafe's own record.
    const record = JSON.stringify([{ file: 'm.gguf', size: 1, mtime: '2026-01-01T00:00:00.000Z' }]);
    const src = model(dir, { 'general.architecture': 'llama', note: 'kept nowhere', 'tensorsafe.source': record });
    const summary = await convertModel(src, { to: 'npz' });
    const text = summary.notes.join('\n');
    expect(text).not.toContain('is replaced by this conversion');
    expect(text).toMatch(/metadata not written \(NumPy files hold none\): 3 keys: general\.architecture, note, tensorsafe\.source/);
  });
});

describe('inspect shows a GGUF FLOAT32 as the float32 it is (formats/gguf/view.ts)', () => {
  it('the shortest decimal of the float32, as convert writes it, not the double it widens to', () => {
    const eps = Math.fround(1e-5);
    const header: GgufHeader = {
      version: 3,
      littleEndian: true,
      alignment: 32,
      metadata: [
        { key: 'llama.attention.layer_norm_rms_epsilon', type: 'FLOAT32', value: eps, at: 0 },
        { key: 'test.f64', type: 'FLOAT64', value: 0.1, at: 0 },
        { key: 'test.arr_f32', type: 'ARRAY', elementType: 'FLOAT32', typeName: 'ARRAY[FLOAT32]', value: [0.5, Math.fround(0.001)], length: 2, at: 0 },
      ],
      tensors: [],
      dataStart: 0,
      dataEnd: 0,
    };
    const rows = describeGguf(header).find((s) => s.title === 'metadata')!.rows;
    expect(rows.map((r) => r.value)).toEqual(['FLOAT32 0.00001', 'FLOAT64 0.1', 'ARRAY<FLOAT32>[2] 0.5, 0.001']);
  });
});

describe('the convert summary does not call dequantized or cast tensors equal to the source bit for bit', () => {
  const quantized = path.join(ROOT, 'test/fixtures/formats/gguf/quant-q8_0-q4_0.gguf');

  it('GGUF → safetensors with --dtype f16: the summary counts them and the line says "what the source converts to"', async () => {
    const dir = path.join(tmp, 'derived');
    fs.mkdirSync(dir, { recursive: true });
    const src = path.join(dir, 'q.gguf');
    fs.copyFileSync(quantized, src);
    const r = await runCli('convert', src, '--dtype', 'f16');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('verified: every tensor equals what the source converts to (see the notes), bit for bit');
    const json = await runCli('convert', src, '--dtype', 'f16', '--json', '-o', path.join(dir, 'j.safetensors'));
    expect(JSON.parse(json.stdout).derived).toBeGreaterThan(0);
  });

  it('a NumPy array converted as it lies: derived 0, "equals the source"', async () => {
    const dir = path.join(tmp, 'exact');
    const src = model(dir);
    const r = await runCli('convert', src, '--to', 'npz', '--json');
    expect(JSON.parse(r.stdout).derived).toBe(0);
  });
});

describe('option combinations a NumPy or GGUF output cannot take are usage errors (exit 2), as --dtype and --allow-raw are', () => {
  it('--sha256 with --to gguf or npz, --max-shard-size with --to npz or npy', async () => {
    const src = model(path.join(tmp, 'usage'));
    for (const args of [['--to', 'gguf', '--arch', 'llama', '--sha256'], ['--to', 'npz', '--sha256'], ['--to', 'npz', '--max-shard-size', '1MB'], ['--to', 'npy', '--max-shard-size', '1MB']]) {
      const r = await runCli('convert', src, ...args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).not.toContain('a gguf output holds none');
    }
    expect(fs.readdirSync(path.join(tmp, 'usage'))).toEqual(['m.safetensors']);
  });

  it('the library says why --sha256 does not go with a GGUF: it holds metadata, but no digests are written into it', async () => {
    const src = model(path.join(tmp, 'sha-lib'));
    const err = await convertModel(src, { to: 'gguf', arch: 'llama', sourceSha256: true }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'InvalidArgument' });
    expect((err as Error).message).not.toContain('holds none');
  });
});

describe('a GGUF or NumPy output reports progress while it is read back and checked, not only while written', () => {
  for (const to of ['gguf', 'npz'] as const) {
    it(`--to ${to}: verify-phase progress moves through the tensors before the end`, async () => {
      const dir = path.join(tmp, `progress-${to}`);
      fs.mkdirSync(dir, { recursive: true });
      const src = path.join(dir, 'm.safetensors');
      const tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
      for (let i = 0; i < 4; i++) tensors[`blk.${i}.ffn_up.weight`] = { dtype: 'F32', shape: [8, 256], data: new Float32Array(2048).map((_, j) => Math.sin(i + j)) };
      fs.writeFileSync(src, save(tensors));
      const verify: number[] = [];
      await convertModel(src, { to, ...(to === 'gguf' ? { arch: 'llama', quantize: 'q4_k' } : {}), onProgress: (p) => p.phase === 'verify' && verify.push(p.bytesDone / p.bytesTotal) });
      // Some check progress before the whole is done: between 0 and 1, increasing.
      expect(verify.some((f) => f > 0 && f < 1)).toBe(true);
      expect(verify).toEqual([...verify].sort((a, b) => a - b));
      expect(verify.at(-1)).toBe(1);
    });
  }
});

describe('the progress bar on a terminal that reports 0 columns (a pseudo-terminal with no size, as `script` makes)', () => {
  it('is drawn at the default width, not as an empty line', () => {
    const stream = { columns: 0, isTTY: true, text: '', write: (c: string) => ((stream.text += c), true) };
    const bar = new ProgressBar(stream as unknown as NodeJS.WriteStream, true, () => 0);
    bar.update('writing  ', 50, 100);
    expect(stream.text).toContain('writing');
    expect(stream.text).toContain('50%');
    bar.done();
  });
});

describe('an ONNX TensorProto file (input_0.pb of ONNX test data) is named for what it is', () => {
  it('inspect says it is a single tensor, not a model, and how to read it', async () => {
    const dir = path.join(tmp, 'tensorproto');
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'input_0.pb');
    // TensorProto { dims: [2], data_type: FLOAT, name: "x", raw_data: 1.0f, 2.0f }, as onnx.numpy_helper.from_array writes it.
    fs.writeFileSync(file, Buffer.from([0x08, 0x02, 0x10, 0x01, 0x42, 0x01, 0x78, 0x4a, 0x08, 0, 0, 0x80, 0x3f, 0, 0, 0, 0x40]));
    const r = await runCli('inspect', file);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('InvalidOnnx');
    expect(r.stderr).toMatch(/TensorProto/);
  });
});

describe('convert --recursive lists the GGUF metadata sidecar it writes among the outputs', () => {
  it('a GGUF with long arrays: the report names <stem>.gguf-metadata.json beside <stem>.safetensors', async () => {
    const dir = path.join(tmp, 'batch-sidecar');
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(path.join(ROOT, 'test/fixtures/gguf-metadata/all-types.gguf'), path.join(dir, 'm.gguf'));
    const report = await convertFolder(dir, { jobs: 1 });
    expect(report.models).toHaveLength(1);
    expect(report.models[0]!.status).toBe('converted');
    expect(report.models[0]!.outputs.map((o) => path.basename(o)).sort()).toEqual(['m.gguf-metadata.json', 'm.safetensors']);
  });
});

describe('convert says what the scan found suspicious in a file it converts (nothing in it runs, but the output carries it)', () => {
  it('a GGUF whose chat template has a Jinja sandbox escape: converted, and the summary names the finding', async () => {
    const dir = path.join(tmp, 'suspicious');
    fs.mkdirSync(dir, { recursive: true });
    const src = path.join(dir, 'evil.gguf');
    const template = "{{ cycler.__init__.__globals__.os.popen('id').read() }}";
    fs.writeFileSync(src, craftGguf([['general.architecture', { type: 'str', value: 'llama' }], ['tokenizer.chat_template', { type: 'str', value: template }]], [{ name: 'w', ne: [4] }]));
    const summary = await convertModel(src);
    expect(summary.outputs).toHaveLength(1);
    const note = summary.notes.find((n) => n.includes('gguf/chat-template-suspicious'));
    expect(note, summary.notes.join('\n')).toMatch(/^the scan found this file suspicious/);
    const r = await runCli('convert', src, '-o', path.join(dir, 'cli.safetensors'));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('gguf/chat-template-suspicious');
  });
});
