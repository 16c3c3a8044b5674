import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tfliteReader } from '../src/formats/tflite/reader.js';
import { MemorySource } from '../src/io/byte-source.js';
import { openModelFile } from '../src/node/open-files.js';
import { openModel } from '../src/node/open-model.js';
import { runCli } from './helpers/cli.js';
import { CORPUS } from './helpers/corpus.js';
import { ROOT } from './helpers/paths.js';
import { tempDir } from './helpers/temp.js';

/**
 * The TFLite reader beyond the tensors test/formats.test.ts checks: quantization kept in metadata,
 * what is left out, names, inspect's view, the CLI; and the real models of ../shared/corpus/formats/tflite
 * (TensorFlow's converters, Vela, TinyNeuralNetwork) against flatc's reading of them
 * (scripts/make-tflite-corpus-expected.py).
 */

const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'formats', 'tflite');
const fixture = (name: string): MemorySource => new MemorySource(new Uint8Array(fs.readFileSync(path.join(FIXTURES, name))), name);
/** A copy of fixture `name` in `dir` (CLI runs write their output beside their input): its path. */
const copyFixture = (name: string, dir: string): string => {
  const copy = path.join(dir, name);
  fs.copyFileSync(path.join(FIXTURES, name), copy);
  return copy;
};

describe('TFLite reader', () => {
  it('keeps each quantized tensor\'s scale, zero point and quantized dimension as a JSON metadata value', async () => {
    const { tensors } = await tfliteReader.open!(fixture('types.tflite'));
    expect(tensors.metadata).toEqual({
      'tflite.quantization.i8': JSON.stringify({ scale: [0.0625], zero_point: [-3], quantized_dimension: 0 }),
      'tflite.quantization.u8_per_axis': JSON.stringify({ scale: [0.5, 0.25], zero_point: [1, 2], quantized_dimension: 0 }),
    });
  });

  it('leaves out STRING and external-buffer tensors with a reason, skips tensors without data, and notes renames', async () => {
    const { tensors } = await tfliteReader.open!(fixture('types.tflite'));
    expect(tensors.leftOut).toEqual([
      { path: 'strings', what: 'a STRING tensor: safetensors holds numbers only (tensor 15 of subgraph 0)' },
      { path: 'elsewhere', what: 'data in external buffer 1, a file the model names (not read) (tensor 18 of subgraph 0)' },
    ]);
    expect(tensors.tensors.map((t) => t.name)).not.toContain('input');
    expect(tensors.notes.join('\n')).toContain('`i8` (tensor 17 of subgraph 0) is named `i8#2`');
    expect(tensors.notes.join('\n')).toContain('INT4 unpacked to I8');
  });

  it('leaves out the constant inputs only a named custom operator reads, naming it; keeps those a builtin or nameless CUSTOM operator reads', async () => {
    const { tensors } = await tfliteReader.open!(fixture('custom-op.tflite'));
    expect(tensors.leftOut).toEqual([
      { path: 'command_stream', what: 'opaque data of custom operator "ethos-u" (a constant input no builtin operator reads, not a weight) (tensor 1 of subgraph 0)' },
      { path: 'flash', what: 'opaque data of custom operator "ethos-u" (a constant input no builtin operator reads, not a weight) (tensor 2 of subgraph 0)' },
    ]);
    expect(tensors.tensors.map((t) => t.name)).toEqual(['shared', 'nameless_custom_input']);
    expect(tensors.notes).toContain('2 constant inputs of custom operators left out as opaque data (listed with the operator): `command_stream`, `flash`');
    expect(tensors.metadata).toEqual({ 'tflite.quantization.shared': JSON.stringify({ scale: [0.5], zero_point: [0], quantized_dimension: 0 }) });
  });

  it('describes the model for inspect', async () => {
    const parsed = await tfliteReader.open!(fixture('offset-buffer.tflite'));
    const view = tfliteReader.describe!(parsed);
    expect(view[0]!.rows).toContainEqual({ key: 'buffers', value: '3 (1 placed by offset/size)' });
    expect(view[0]!.rows).toContainEqual({ key: 'schema version', value: '3' });
    expect(view[1]!.rows).toEqual([{ key: 'main', value: '2 tensors, 0 operators' }]);
  });

  it('names the tensor whose buffer does not match its shape and type', async () => {
    await expect(tfliteReader.open!(fixture('size-mismatch.tflite'))).rejects.toMatchObject({
      code: 'InvalidTflite',
      message: expect.stringContaining('tensor "short" (tensor 0 of subgraph 0, FLOAT32 [3]) needs 12 bytes, but its buffer 1 holds 8'),
    });
  });

  it('inspect, convert and verify through the CLI; the quantization metadata reaches the safetensors file', async () => {
    const dir = tempDir('tflite-cli');
    const src = copyFixture('types.tflite', dir);
    const inspected = await runCli('inspect', src);
    expect(inspected.code).toBe(0);
    expect(inspected.stdout).toContain('TFLite');
    expect(inspected.stdout).toContain('quantized tensors');
    const converted = await runCli('convert', src);
    expect([converted.code, converted.stderr]).toEqual([0, '']);
    const out = path.join(dir, 'types.safetensors');
    const written = await openModel(out);
    try {
      expect(written.metadata?.['tflite.quantization.u8_per_axis']).toBe(JSON.stringify({ scale: [0.5, 0.25], zero_point: [1, 2], quantized_dimension: 0 }));
    } finally {
      await written.close();
    }
    expect((await runCli('verify', src, out)).code).toBe(0);
    // A refused model: exit status 3, nothing written.
    const bad = copyFixture('size-mismatch.tflite', dir);
    expect((await runCli('convert', bad)).code).toBe(3);
    expect(fs.existsSync(path.join(dir, 'size-mismatch.safetensors'))).toBe(false);
  });
});

const dequantized = JSON.parse(fs.readFileSync(path.join(ROOT, 'test/fixtures/tflite-dequantized.json'), 'utf8')) as {
  tensors: Record<string, { dtype: string; shape: number[]; sha256: string; values: number[] }>;
};

async function bytesOf(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of chunks) parts.push(c);
  return new Uint8Array(Buffer.concat(parts));
}

describe('TFLite --dequantize', () => {
  it('writes quantized INT4, INT8, UINT8, INT16 and INT32 constants as F32, bit for bit as TFLite\'s reference kernels (numpy in float32/float64)', async () => {
    const { tensors } = await tfliteReader.open!(fixture('dequantize.tflite'), { dequantize: true });
    const byName = new Map(tensors.tensors.map((t) => [t.name, t]));
    expect(Object.keys(dequantized.tensors).sort()).toEqual(['bias', 'i16', 'i8', 'i8_axis1', 'int4', 'int4_axis0', 'u8', 'u8_axis0']);
    for (const [name, want] of Object.entries(dequantized.tensors)) {
      const t = byName.get(name)!;
      const decoder = name.startsWith('int4') ? 'int4-unpack+tflite-dequantize' : 'tflite-dequantize';
      expect([name, t.dtype, t.shape, t.fidelity, t.encoding]).toEqual([name, 'F32', want.shape, 'derived', { layout: 'decoded', decoder }]);
      // Whole, and in chunks of 8 bytes (two floats): a per-axis channel must carry across chunks.
      for (const chunk of [undefined, 8]) {
        const bytes = await bytesOf(t.chunks(chunk));
        expect([name, chunk, bytes.length]).toEqual([name, chunk, t.byteLength]);
        expect([name, chunk, createHash('sha256').update(bytes).digest('hex')]).toEqual([name, chunk, want.sha256]);
        expect([name, Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4))]).toEqual([name, want.values]);
      }
    }
    // Not dequantized: a FLOAT32 tensor and an INT32 whose parameters do not fit it, which keep their quantization metadata.
    expect([byName.get('f32')!.dtype, byName.get('odd_axis')!.dtype]).toEqual(['F32', 'I32']);
    expect(Object.keys(tensors.metadata ?? {}).sort()).toEqual(['tflite.quantization.f32', 'tflite.quantization.odd_axis']);
    expect(tensors.notes).toContain('`odd_axis` is not dequantized (kept as stored, its parameters in the metadata): 2 scales for quantized dimension 3 of shape [2]');
    expect(tensors.notes).toContain("8 quantized tensors dequantized to F32 as TFLite's DEQUANTIZE kernel computes (q - zero_point) * scale (--dequantize): `i8`, `u8`, `i16`, `bias`, `i8_axis1`, `u8_axis0`, `int4`, `int4_axis0`");
  });

  it('without the option keeps the stored integers', async () => {
    const { tensors } = await tfliteReader.open!(fixture('dequantize.tflite'));
    expect(tensors.tensors.find((t) => t.name === 'bias')!.dtype).toBe('I32');
    expect(tensors.metadata?.['tflite.quantization.bias']).toBeDefined();
  });

  it('convert --dequantize writes the F32 values; other formats and --recursive refuse it as a usage error', async () => {
    const dir = tempDir('tflite-dequantize');
    const src = copyFixture('dequantize.tflite', dir);
    const converted = await runCli('convert', src, '--dequantize');
    expect([converted.code, converted.stderr]).toEqual([0, '']);
    const written = await openModel(path.join(dir, 'dequantize.safetensors'));
    try {
      const bias = written.tensors.find((t) => t.name === 'bias')!;
      expect(bias.dtype).toBe('F32');
      expect(createHash('sha256').update(await bytesOf(bias.chunks())).digest('hex')).toBe(dequantized.tensors['bias']!.sha256);
      expect(written.metadata?.['tflite.quantization.bias']).toBeUndefined();
    } finally {
      await written.close();
    }
    const other = path.join(dir, 'weights.safetensors');
    fs.copyFileSync(path.join(dir, 'dequantize.safetensors'), other);
    fs.rmSync(path.join(dir, 'dequantize.safetensors'));
    const refused = await runCli('convert', other, '-o', path.join(dir, 'again.safetensors'), '--dequantize');
    expect([refused.code, refused.stderr]).toEqual([2, expect.stringContaining('--dequantize applies to TFLite models')]);
    expect(fs.existsSync(path.join(dir, 'again.safetensors'))).toBe(false);
    expect((await runCli('convert', dir, '--recursive', '--dequantize')).code).toBe(2);
  });

  it('convert --to tfjs of a quantized TFLite model names --dequantize as the way to write it', async () => {
    // Found by a new user: "I8, which TF.js has no type for … convert it to one of those first" did not say how.
    const dir = tempDir('tflite-to-tfjs');
    const src = copyFixture('dequantize.tflite', dir);
    const refused = await runCli('convert', src, '--to', 'tfjs', '-o', path.join(dir, 'web'));
    expect([refused.code, refused.stderr]).toEqual([3, expect.stringMatching(/UnsupportedTensor: .*TF\.js has no type for.*: a quantized TFLite model is written as F32 with --dequantize/)]);
    expect(fs.existsSync(path.join(dir, 'web'))).toBe(false);
    expect((await runCli('convert', src, '--to', 'tfjs', '--dequantize', '-o', path.join(dir, 'web'))).code).toBe(0);
  });

  it('verify --dequantize compares a TFLite model, dequantized as convert --dequantize reads it, with its output', async () => {
    // Found by a new user: the output of convert --dequantize could not be verified against its source
    // (bit for bit: dtype mismatch; --allow-dtype-change: the stored integers against their floats).
    const dir = tempDir('tflite-verify-dequantize');
    const src = copyFixture('dequantize.tflite', dir);
    expect((await runCli('convert', src, '--dequantize')).code).toBe(0);
    const out = path.join(dir, 'dequantize.safetensors');
    expect((await runCli('verify', src, out)).code).toBe(1);
    const verified = await runCli('verify', src, out, '--dequantize');
    expect([verified.code, verified.stdout]).toEqual([0, expect.stringContaining('every tensor matches')]);
    const a = await openModel(src, { dequantize: true });
    try {
      expect(a.tensors.find((t) => t.name === 'bias')!.dtype).toBe('F32');
    } finally {
      await a.close();
    }
  });
});

const sparseDequantized = JSON.parse(fs.readFileSync(path.join(ROOT, 'test/fixtures/tflite-sparse-dequantized.json'), 'utf8')) as typeof dequantized;

/**
 * Sparse tensors: test/formats.test.ts checks each densified tensor of sparse.tflite against the numpy
 * array the generator sparsified (and its own reference densifier gave back); here, reading in chunks,
 * what is left out and noted, --dequantize after densifying, and what is refused.
 */
describe('TFLite sparse tensors', () => {
  const names = ['csr_2d', 'block_1x4', 'block_4x4', 'permuted_3d', 'blocked_4d', 'c64'];
  const want = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'sparse.tflite.expected.json'), 'utf8')) as { tensors: { name: string; sha256: string }[] };

  it('densifies in chunks of any whole number of elements, the same bytes', async () => {
    const { tensors } = await tfliteReader.open!(fixture('sparse.tflite'));
    expect(tensors.tensors.map((t) => t.name)).toEqual(names);
    for (const t of tensors.tensors) {
      const sha = want.tensors.find((w) => w.name === t.name)!.sha256;
      for (const chunk of [1, 8, 24, undefined]) {
        const parts: number[] = [];
        const all: Uint8Array[] = [];
        for await (const c of t.chunks(chunk)) {
          parts.push(c.length);
          all.push(c.slice());
        }
        expect([t.name, chunk, createHash('sha256').update(Buffer.concat(all)).digest('hex')]).toEqual([t.name, chunk, sha]);
        if (chunk !== undefined) expect(Math.max(...parts)).toBeLessThanOrEqual(Math.max(chunk, t.byteLength / t.shape.reduce((a, b) => a * b, 1)));
      }
    }
  });

  it('leaves out a sparse INT4 tensor and notes the densified ones; inspect counts the sparse tensors', async () => {
    const parsed = await tfliteReader.open!(fixture('sparse.tflite'));
    const { tensors } = parsed;
    expect(tfliteReader.describe!(parsed)[0]!.rows).toContainEqual({ key: 'sparse tensors', value: '7' });
    expect(tensors.leftOut).toEqual([{ path: 'int4_sparse', what: 'a sparse INT4 tensor: packed 4-bit values are not densified (tensor 6 of subgraph 0)' }]);
    expect(tensors.notes).toContain(
      "6 sparse tensors densified as TFLite's FormatConverter does (SparsityParameters: traversal order, block map, DENSE and SPARSE_CSR dimensions): `csr_2d`, `block_1x4`, `block_4x4`, `permuted_3d`, `blocked_4d`, `c64`",
    );
  });

  it('--dequantize densifies, then dequantizes per axis (INT8 1x4 blocks), bit for bit as numpy from the dense array', async () => {
    const { tensors } = await tfliteReader.open!(fixture('sparse.tflite'), { dequantize: true });
    const t = tensors.tensors.find((e) => e.name === 'block_1x4')!;
    const w = sparseDequantized.tensors['block_1x4']!;
    expect([t.dtype, t.shape, t.fidelity, t.encoding]).toEqual(['F32', w.shape, 'derived', { layout: 'decoded', decoder: 'sparse-densify+tflite-dequantize' }]);
    for (const chunk of [undefined, 12]) {
      const bytes = await bytesOf(t.chunks(chunk));
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(w.sha256);
      expect(Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4))).toEqual(w.values);
    }
  });

  it('refuses decreasing segments, an index outside its dimension and a dense size over the limit, naming the tensor', async () => {
    await expect(tfliteReader.open!(fixture('sparse-unsorted.tflite'))).rejects.toMatchObject({
      code: 'InvalidTflite',
      message: expect.stringContaining('sparse tensor "bad" (tensor 0 of subgraph 0, FLOAT32 [3, 3]) has unsorted segments for SPARSE_CSR dimension metadata 1: segment 2 (1) is before segment 1 (2)'),
    });
    await expect(tfliteReader.open!(fixture('sparse-index-range.tflite'))).rejects.toMatchObject({
      code: 'InvalidTflite',
      message: expect.stringContaining('sparse tensor "bad" (tensor 0 of subgraph 0, FLOAT32 [3, 3]) has index 3 (entry 1 of SPARSE_CSR dimension metadata 1), outside its dimension of size 3'),
    });
    await expect(tfliteReader.open!(fixture('sparse-dense-limit.tflite'))).rejects.toMatchObject({
      code: 'TfliteLimit',
      message: expect.stringContaining('sparse tensor "huge" (tensor 0 of subgraph 0, FLOAT32 [65536, 65536]) is 17179869184 bytes dense, more than MAX_TFLITE_SPARSE_DENSE_BYTES'),
    });
  });

  it('convert and verify through the CLI', async () => {
    const dir = tempDir('tflite-sparse');
    const src = copyFixture('sparse.tflite', dir);
    const converted = await runCli('convert', src);
    expect([converted.code, converted.stderr]).toEqual([0, '']);
    expect((await runCli('verify', src, path.join(dir, 'sparse.safetensors'))).code).toBe(0);
    const bad = copyFixture('sparse-unsorted.tflite', dir);
    expect((await runCli('convert', bad)).code).toBe(3);
    expect(fs.existsSync(path.join(dir, 'sparse-unsorted.safetensors'))).toBe(false);
  });
});

const BASE = path.join(CORPUS, 'formats', 'tflite');
const HAVE = fs.existsSync(BASE);
interface CorpusTensor {
  dtype: string;
  shape: number[];
  sha256: string;
  quantization?: { scales: number; first_scale: number; zero_points: number; zero_point_sum: number; quantized_dimension: number };
}
const expected = JSON.parse(fs.readFileSync(path.join(ROOT, 'test/fixtures/corpus-expected/tflite.json'), 'utf8')) as { files: Record<string, Record<string, CorpusTensor>> };

function tfliteFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? tfliteFiles(p) : e.name.endsWith('.tflite') ? [p] : [];
  });
}

if (!HAVE) console.log(`TFLite corpus tests skipped: ${BASE} is absent`);

describe.skipIf(!HAVE)('shared corpus: TFLite files', () => {
  const files = HAVE ? tfliteFiles(BASE).sort() : [];

  it('--dequantize on a real int8 model: each quantized tensor is F32, or kept as stored with a note saying why', async () => {
    const file = path.join(BASE, 'tflite-micro', 'person_detect.tflite');
    const plain = await openModelFile(file);
    const opened = await openModelFile(file, { dequantize: true });
    try {
      const dq = new Map(opened.tensors.tensors.map((t) => [t.name, t]));
      let floats = 0;
      for (const t of plain.tensors.tensors) {
        if (plain.tensors.metadata?.[`tflite.quantization.${t.name}`] === undefined) continue;
        const d = dq.get(t.name)!;
        if (d.dtype === 'F32') {
          floats++;
          expect([t.name, (await bytesOf(d.chunks())).length]).toEqual([t.name, d.byteLength]);
        } else {
          expect([t.name, opened.tensors.notes.some((n) => n.startsWith(`\`${t.name}\` is not dequantized`))]).toEqual([t.name, true]);
        }
      }
      expect(floats).toBeGreaterThan(10);
    } finally {
      await plain.tensors.close();
      await opened.tensors.close();
    }
  });

  it('leaves out the Ethos-U command stream and flash of a Vela-compiled model, naming the custom operator', async () => {
    const opened = await openModelFile(path.join(BASE, 'tflite-micro', 'person_detect_vela.tflite'));
    try {
      expect(opened.tensors.tensors).toEqual([]);
      const why = expect.stringMatching(/^opaque data of custom operator "ethos-u" \(a constant input no builtin operator reads, not a weight\) \(tensor \d+ of subgraph 0\)$/);
      expect(opened.tensors.leftOut).toEqual([
        { path: '_split_1_command_stream', what: why },
        { path: '_split_1_flash', what: why },
      ]);
    } finally {
      await opened.tensors.close();
    }
  });

  it('has the files the expected values were made from', () => {
    expect(files.map((f) => path.relative(CORPUS, f))).toEqual(Object.keys(expected.files).sort());
  });

  it.each(files.map((f) => [path.relative(CORPUS, f)]))('reads %s as flatc does', async (rel) => {
    const opened = await openModelFile(path.join(CORPUS, rel));
    try {
      expect(opened.format.id).toBe('tflite');
      const want = expected.files[rel]!;
      expect(opened.tensors.tensors.map((t) => t.name).sort()).toEqual(Object.keys(want).sort());
      for (const t of opened.tensors.tensors) {
        const w = want[t.name]!;
        expect([t.name, t.dtype, t.shape]).toEqual([t.name, w.dtype, w.shape]);
        const h = createHash('sha256');
        for await (const c of t.chunks()) h.update(c);
        expect([t.name, h.digest('hex')]).toEqual([t.name, w.sha256]);
        const q = opened.tensors.metadata?.[`tflite.quantization.${t.name}`];
        if (w.quantization === undefined) {
          expect([t.name, q]).toEqual([t.name, undefined]);
        } else {
          const got = JSON.parse(q!) as { scale: number[]; zero_point: number[]; quantized_dimension: number };
          const sum = got.zero_point.reduce((a, b) => a + b, 0);
          expect([t.name, got.scale.length, got.zero_point.length, sum, got.quantized_dimension]).toEqual([t.name, w.quantization.scales, w.quantization.zero_points, w.quantization.zero_point_sum, w.quantization.quantized_dimension]);
          // flatc prints a float with 6 decimals (trailing zeros trimmed).
          expect([t.name, Number(got.scale[0]!.toFixed(6))]).toEqual([t.name, w.quantization.first_scale]);
        }
      }
    } finally {
      await opened.tensors.close();
    }
  });
});
