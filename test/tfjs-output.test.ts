import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { TFJS_DEFAULT_SHARD_BYTES } from '../src/convert/tfjs-output.js';
import { tfjsReader } from '../src/formats/tfjs/reader.js';
import { FileSource } from '../src/node/file-source.js';
import { openInsideFolder } from '../src/node/inside-folder.js';
import { readEntry } from '../src/tensor/tensor-set.js';
import { convertModel } from '../src/node/convert.js';
import { saveFile } from '../src/node/files.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';

/**
 * `--to tfjs`: shards and model.json loaded by tfjs-core itself (`io.decodeWeights` over the shards
 * concatenated in manifest order, with the manifest's specs) equal the source, bit for bit; the default
 * shard size is tfjs-converter's; dtypes TF.js lacks are refused with nothing written; existing outputs
 * are kept without --force.
 */

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Deterministic pseudo-random bytes. */
function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** Finite float32 values (random bits may be NaN, whose payload tfjs keeps, but keep the test plain). */
function floats(n: number, seed: number): Float32Array {
  const b = bytes(n, seed);
  return Float32Array.from(b, (v, i) => (v - 128) / 7 + i * 1e-3);
}

interface Manifest {
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
}

/** What tfjs-core decodes from the output folder: each weight's values as bytes. */
async function loadWithTfjs(dir: string, json = 'model.json'): Promise<{ manifest: Manifest; values: Map<string, Uint8Array> }> {
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, json), 'utf8')) as Manifest;
  const values = new Map<string, Uint8Array>();
  for (const group of manifest.weightsManifest) {
    const data = Buffer.concat(group.paths.map((p) => fs.readFileSync(path.join(dir, p))));
    const decoded = tf.io.decodeWeights(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength), group.weights);
    for (const w of group.weights) {
      const v = (await decoded[w.name]!.data()) as Float32Array | Int32Array | Uint8Array;
      values.set(w.name, new Uint8Array(v.buffer, v.byteOffset, v.byteLength).slice());
    }
    tf.dispose(Object.values(decoded));
  }
  return { manifest, values };
}

const asBytes = (v: ArrayBufferView): Uint8Array => new Uint8Array(v.buffer, v.byteOffset, v.byteLength);

describe('--to tfjs', () => {
  it('writes model.json and one shard that tfjs-core decodes equal to the source, bit for bit', async () => {
    const dir = tempDir('tfjs-out');
    const src = path.join(dir, 'model.safetensors');
    const kernel = floats(6 * 5, 1);
    const ids = Int32Array.from(bytes(7, 2), (v) => (v - 100) * 70_000);
    const mask = Uint8Array.from(bytes(9, 3), (v) => v & 1);
    const complex = floats(8, 4);
    await saveFile({ 'dense/kernel': { dtype: 'F32', shape: [6, 5], data: kernel }, ids: { dtype: 'I32', shape: [7], data: ids }, mask: { dtype: 'BOOL', shape: [3, 3], data: mask }, z: { dtype: 'C64', shape: [4], data: asBytes(complex) } }, src);
    const summary = await convertModel(src, { to: 'tfjs' });
    expect(summary.outputs.map((f) => path.basename(f))).toEqual(['group1-shard1of1.bin']);
    expect(path.basename(summary.index!)).toBe('model.json');
    const { manifest, values } = await loadWithTfjs(dir);
    expect(manifest.weightsManifest).toHaveLength(1);
    expect(manifest.weightsManifest[0]!.paths).toEqual(['group1-shard1of1.bin']);
    expect(manifest.weightsManifest[0]!.weights.map((w) => [w.name, w.dtype, w.shape]).sort()).toEqual([
      ['dense/kernel', 'float32', [6, 5]],
      ['ids', 'int32', [7]],
      ['mask', 'bool', [3, 3]],
      ['z', 'complex64', [4]],
    ].sort());
    expect(Buffer.from(values.get('dense/kernel')!).equals(asBytes(kernel))).toBe(true);
    expect(Buffer.from(values.get('ids')!).equals(asBytes(ids))).toBe(true);
    expect(Buffer.from(values.get('mask')!).equals(mask)).toBe(true);
    expect(Buffer.from(values.get('z')!).equals(asBytes(complex))).toBe(true);
    // tensorsafe reads its own output back through the registry too (the CLI on model.json).
    const back = await runCli('inspect', path.join(dir, 'model.json'), '--json');
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toContain('dense/kernel');
  });

  it('shards at 4 MB by default, as tfjs-converter does, and at --max-shard-size when given', async () => {
    const dir = tempDir('tfjs-shards');
    const src = path.join(dir, 'weights.safetensors');
    const big = floats((TFJS_DEFAULT_SHARD_BYTES / 4) * 0.75, 5); // 3 MB each: two per shard would pass 4 MB
    const tensors = { a: { dtype: 'F32' as const, shape: [big.length], data: big }, b: { dtype: 'F32' as const, shape: [big.length], data: big.map((v) => -v) }, c: { dtype: 'F32' as const, shape: [3], data: Float32Array.of(1, 2, 3) } };
    await saveFile(tensors, src);
    const summary = await convertModel(src, { to: 'tfjs' });
    expect(summary.outputs.map((f) => path.basename(f))).toEqual(['group1-shard1of2.bin', 'group1-shard2of2.bin']);
    expect(path.basename(summary.index!)).toBe('weights.json');
    fs.renameSync(summary.index!, path.join(dir, 'model.json'));
    const { manifest, values } = await loadWithTfjs(dir);
    expect(manifest.weightsManifest[0]!.paths).toEqual(['group1-shard1of2.bin', 'group1-shard2of2.bin']);
    for (const f of summary.outputs) expect(fs.statSync(f).size).toBeLessThanOrEqual(TFJS_DEFAULT_SHARD_BYTES);
    for (const [name, t] of Object.entries(tensors)) expect(Buffer.from(values.get(name)!).equals(asBytes(t.data)), name).toBe(true);

    const small = tempDir('tfjs-small-shards');
    fs.copyFileSync(src, path.join(small, 'model.safetensors'));
    const cli = await runCli('convert', path.join(small, 'model.safetensors'), '--to', 'tfjs', '--max-shard-size', '1MB', '--json');
    expect(cli.code, cli.stderr).toBe(0);
    const files = fs.readdirSync(small).filter((f) => f.endsWith('.bin')).sort();
    expect(files).toEqual(['group1-shard1of3.bin', 'group1-shard2of3.bin', 'group1-shard3of3.bin']);
    const again = await loadWithTfjs(small);
    for (const [name, t] of Object.entries(tensors)) expect(Buffer.from(again.values.get(name)!).equals(asBytes(t.data)), name).toBe(true);
  });

  it('refuses a dtype TF.js has no type for, by name, with nothing written', async () => {
    const dir = tempDir('tfjs-dtype');
    const src = path.join(dir, 'model.safetensors');
    await saveFile({ ok: { dtype: 'F32', shape: [2], data: Float32Array.of(1, 2) }, half: { dtype: 'F16', shape: [2], data: new Uint16Array([0x3c00, 0x4000]) } }, src);
    const r = await runCli('convert', src, '--to', 'tfjs');
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/`half` is F16, which TF.js has no type for/);
    expect(fs.readdirSync(dir)).toEqual(['model.safetensors']);
  });

  it('-o without .json names the output folder (as tfjs-converter takes one): two models never share shard files', async () => {
    const dir = tempDir('tfjs-folder');
    const a = path.join(dir, 'a.safetensors');
    const b = path.join(dir, 'b.safetensors');
    await saveFile({ w: { dtype: 'F32', shape: [2], data: Float32Array.of(1, 2) } }, a);
    await saveFile({ v: { dtype: 'F32', shape: [3], data: Float32Array.of(3, 4, 5) } }, b);
    const ra = await runCli('convert', a, '--to', 'tfjs', '-o', path.join(dir, 'web_a'));
    expect(ra.code, ra.stderr).toBe(0);
    const rb = await runCli('convert', b, '--to', 'tfjs', '-o', path.join(dir, 'web_b'));
    expect(rb.code, rb.stderr).toBe(0);
    expect(fs.readdirSync(path.join(dir, 'web_a')).sort()).toEqual(['a.json', 'group1-shard1of1.bin']);
    expect(fs.readdirSync(path.join(dir, 'web_b')).sort()).toEqual(['b.json', 'group1-shard1of1.bin']);
    expect((await loadWithTfjs(path.join(dir, 'web_a'), 'a.json')).values.get('w')).toBeDefined();
    // A path ending in .json is the model.json itself, the shards beside it.
    const rc = await runCli('convert', a, '--to', 'tfjs', '-o', path.join(dir, 'c', 'named.json'));
    expect(rc.code, rc.stderr).toBe(0);
    expect(fs.readdirSync(path.join(dir, 'c')).sort()).toEqual(['group1-shard1of1.bin', 'named.json']);
  });

  it("tfjs-converter's spellings of options get tensorsafe's named (usage error, exit 2)", async () => {
    for (const [theirs, ours] of [['--shard-size', '--max-shard-size'], ['--weight_shard_size_bytes', '--max-shard-size'], ['--quantize_uint8', '--quantize uint8']] as const) {
      const r = await runCli('convert', 'model.safetensors', '--to', 'tfjs', theirs, ...(theirs.startsWith('--quantize') ? [] : ['1MB']));
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`Unknown option '${theirs}': tensorsafe's is ${ours}`);
    }
  });

  it('keeps existing outputs without --force, and replaces them with it', async () => {
    const dir = tempDir('tfjs-exists');
    const src = path.join(dir, 'model.safetensors');
    await saveFile({ w: { dtype: 'F32', shape: [2], data: Float32Array.of(1, 2) } }, src);
    expect((await runCli('convert', src, '--to', 'tfjs')).code).toBe(0);
    const before = fs.readFileSync(path.join(dir, 'model.json'));
    fs.writeFileSync(path.join(dir, 'model.json'), 'mine');
    const r = await runCli('convert', src, '--to', 'tfjs');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/already exists/);
    expect(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')).toBe('mine');
    expect((await runCli('convert', src, '--to', 'tfjs', '--force')).code).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'model.json')).equals(before)).toBe(true);
  });

  it('refuses options of other writers (usage errors)', async () => {
    const dir = tempDir('tfjs-usage');
    const src = path.join(dir, 'model.safetensors');
    await saveFile({ w: { dtype: 'F32', shape: [2], data: Float32Array.of(1, 2) } }, src);
    for (const args of [['--quantize', 'q8_0'], ['--allow-raw'], ['--sha256']]) {
      const r = await runCli('convert', src, '--to', 'tfjs', ...args);
      expect(r.code, args.join(' ')).toBe(2);
    }
    expect(fs.readdirSync(dir)).toEqual(['model.safetensors']);
  });

  describe('--quantize', () => {
    const QDIR = path.join(import.meta.dirname, 'fixtures', 'tfjs-quantize');
    const expected = JSON.parse(fs.readFileSync(path.join(QDIR, 'expected.json'), 'utf8')) as { cases: { name: string; offset: number; count: number; types: Record<string, { sha256: string; min?: number; scale?: number }> }[] };
    const inputs = fs.readFileSync(path.join(QDIR, 'inputs.bin'));
    const caseValues = (name: string): { values: Float32Array; types: Record<string, { sha256: string; min?: number; scale?: number }> } => {
      const c = expected.cases.find((x) => x.name === name)!;
      return { values: new Float32Array(inputs.buffer.slice(inputs.byteOffset + c.offset, inputs.byteOffset + c.offset + 4 * c.count)), types: c.types };
    };

    /** tensorsafe's own reading of the output folder: each weight's decoded bytes. */
    async function readWithTensorsafe(dir: string): Promise<Map<string, Uint8Array>> {
      const source = await FileSource.open(path.join(dir, 'model.json'));
      const parsed = await tfjsReader.open!(source, { openSibling: (p) => openInsideFolder(dir, p) });
      const out = new Map<string, Uint8Array>();
      for (const t of parsed.tensors.tensors) out.set(t.name, await readEntry(t));
      await parsed.tensors.close();
      return out;
    }

    for (const type of ['uint8', 'uint16', 'float16'] as const) {
      it(`${type}: the shard holds tfjs-converter's codes and the manifest its min and scale; tfjs-core decodes what tensorsafe reads`, async () => {
        const dir = tempDir(`tfjs-q-${type}`);
        const src = path.join(dir, 'model.safetensors');
        const sym = caseValues('symmetric');
        const pos = caseValues('positive');
        // min 0: the nudged min is -0, which tfjs-converter writes as -0.0 (and JSON.stringify as 0).
        const zero = caseValues('zero-min');
        const ids = Int32Array.of(5, -7, 1 << 30);
        await saveFile({ a: { dtype: 'F32', shape: [sym.values.length], data: sym.values }, b: { dtype: 'F32', shape: [10, pos.values.length / 10], data: pos.values }, z: { dtype: 'F32', shape: [zero.values.length], data: zero.values }, ids: { dtype: 'I32', shape: [3], data: ids }, empty: { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) } }, src);
        const r = await runCli('convert', src, '--to', 'tfjs', '--quantize', type, '--json');
        expect(r.code, r.stderr).toBe(0);
        const summary = JSON.parse(r.stdout) as { notes: string[] };
        expect(summary.notes.join('\n')).toMatch(new RegExp(`3 float32 weights quantized to ${type}`));
        const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')) as Manifest;
        const specs = manifest.weightsManifest[0]!.weights;
        const shard = fs.readFileSync(path.join(dir, 'group1-shard1of1.bin'));
        const per = type === 'uint8' ? 1 : 2;
        let at = 0;
        for (const [name, c] of [['a', sym], ['b', pos], ['z', zero]] as const) {
          const spec = specs.find((w) => w.name === name)!;
          expect(spec.dtype).toBe('float32');
          const want = c.types[type]!;
          expect(spec.quantization).toEqual(type === 'float16' ? { dtype: 'float16', original_dtype: 'float32' } : { dtype: type, min: want.min, scale: want.scale, original_dtype: 'float32' });
          const codes = shard.subarray(at, at + c.values.length * per);
          expect(createHash('sha256').update(codes).digest('hex'), name).toBe(want.sha256);
          at += codes.length;
        }
        // int32 and empty weights as they are, as tfjs-converter leaves them.
        expect(specs.find((w) => w.name === 'ids')!.quantization).toBeUndefined();
        expect(specs.find((w) => w.name === 'empty')!.quantization).toBeUndefined();
        expect(shard.length).toBe(at + 12);
        const tfjs = await loadWithTfjs(dir);
        const ours = await readWithTensorsafe(dir);
        expect([...ours.keys()].sort()).toEqual([...tfjs.values.keys()].sort());
        for (const [name, v] of tfjs.values) expect(Buffer.from(ours.get(name)!).equals(Buffer.from(v)), name).toBe(true);
        expect(Buffer.from(tfjs.values.get('ids')!).equals(asBytes(ids))).toBe(true);
      });
    }

    it('F16 weights: widened to float32 first, as tfjs-converter does; float16 writes their bits unchanged', async () => {
      const dir = tempDir('tfjs-q-f16');
      const src = path.join(dir, 'model.safetensors');
      // Normal, subnormal, zero, -0, infinity and NaN codes (a NaN with a payload).
      const half = new Uint16Array([0x3c00, 0xc000, 0x0001, 0x0000, 0x8000, 0x7bff, 0x7c00, 0x7e01, 0x3555, 0xb3ff]);
      const finite = new Uint16Array([0x3c00, 0xc000, 0x0001, 0x0000, 0x8000, 0x7bff, 0x3555, 0xb3ff]);
      for (const type of ['float16', 'uint8', 'uint16'] as const) {
        const codes = type === 'float16' ? half : finite;
        fs.rmSync(dir, { recursive: true, force: true });
        fs.mkdirSync(dir);
        await saveFile({ h: { dtype: 'F16', shape: [codes.length], data: codes } }, src);
        const r = await runCli('convert', src, '--to', 'tfjs', '--quantize', type, '--json');
        expect(r.code, r.stderr).toBe(0);
        expect((JSON.parse(r.stdout) as { notes: string[] }).notes.join('\n')).toMatch(/1 of them F16 in the source, widened to float32 first/);
        const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')) as Manifest;
        const spec = manifest.weightsManifest[0]!.weights[0]!;
        expect([spec.dtype, spec.quantization?.dtype]).toEqual(['float32', type]);
        const shard = fs.readFileSync(path.join(dir, 'group1-shard1of1.bin'));
        if (type === 'float16') expect(shard.equals(asBytes(half))).toBe(true);
        const tfjs = await loadWithTfjs(dir);
        const ours = await readWithTensorsafe(dir);
        expect(Buffer.from(ours.get('h')!).equals(Buffer.from(tfjs.values.get('h')!)), type).toBe(true);
      }
      // Without --quantize, TF.js has no type for F16: refused (the test above).
    });

    it('fills shards by the bytes written: uint8 weights of 3 MB each as floats share a 4 MB shard', async () => {
      const dir = tempDir('tfjs-q-shards');
      const src = path.join(dir, 'model.safetensors');
      const big = floats((TFJS_DEFAULT_SHARD_BYTES / 4) * 0.75, 9);
      await saveFile({ a: { dtype: 'F32', shape: [big.length], data: big }, b: { dtype: 'F32', shape: [big.length], data: big.map((v) => v * 2) } }, src);
      const summary = await convertModel(src, { to: 'tfjs', quantize: 'uint8' });
      expect(summary.outputs.map((f) => path.basename(f))).toEqual(['group1-shard1of1.bin']);
      expect(fs.statSync(summary.outputs[0]!).size).toBe(2 * big.length);
      const f16 = tempDir('tfjs-q-shards16');
      fs.copyFileSync(src, path.join(f16, 'model.safetensors'));
      const half = await convertModel(path.join(f16, 'model.safetensors'), { to: 'tfjs', quantize: 'float16', maxShardSize: '2MiB' });
      expect(half.outputs.map((f) => path.basename(f))).toEqual(['group1-shard1of2.bin', 'group1-shard2of2.bin']);
    });

    it('refuses NaN or infinity for uint8/uint16 by name, with nothing written; float16 keeps them', async () => {
      const dir = tempDir('tfjs-q-nan');
      const src = path.join(dir, 'model.safetensors');
      await saveFile({ ok: { dtype: 'F32', shape: [2], data: Float32Array.of(1, 2) }, bad: { dtype: 'F32', shape: [3], data: Float32Array.of(1, Infinity, 0) } }, src);
      const r = await runCli('convert', src, '--to', 'tfjs', '--quantize', 'uint16');
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/`bad`: element 1 is Infinity/);
      expect(fs.readdirSync(dir)).toEqual(['model.safetensors']);
      const ok = await runCli('convert', src, '--to', 'tfjs', '--quantize', 'float16');
      expect(ok.code, ok.stderr).toBe(0);
      const { values } = await loadWithTfjs(dir);
      expect(Array.from(new Float32Array(values.get('bad')!.slice().buffer))).toEqual([1, Infinity, 0]);
    });

    it('names the types each output takes (usage errors)', async () => {
      const dir = tempDir('tfjs-q-usage');
      const src = path.join(dir, 'model.safetensors');
      await saveFile({ w: { dtype: 'F32', shape: [2], data: Float32Array.of(1, 2) } }, src);
      const tfjs = await runCli('convert', src, '--to', 'tfjs', '--quantize', 'q8_0');
      expect(tfjs.code).toBe(2);
      expect(tfjs.stderr).toMatch(/--quantize q8_0: --to tfjs takes uint8, uint16, float16/);
      const gguf = await runCli('convert', src, '--to', 'gguf', '--arch', 'llama', '--quantize', 'uint8');
      expect(gguf.code).toBe(2);
      expect(gguf.stderr).toMatch(/--quantize uint8: --to gguf takes f32/);
      const st = await runCli('convert', src, '--quantize', 'uint8');
      expect(st.code).toBe(2);
      expect(st.stderr).toMatch(/--quantize goes with --to gguf or --to tfjs/);
      const arch = await runCli('convert', src, '--to', 'tfjs', '--arch', 'llama');
      expect(arch.code).toBe(2);
      expect(arch.stderr).toMatch(/--arch goes with --to gguf, not --to tfjs/);
      expect(fs.readdirSync(dir)).toEqual(['model.safetensors']);
    });
  });
});

describe('--to tfjs --quantize of a model that is already TF.js', () => {
  it('is refused with the way to do it (through safetensors), nothing written', async () => {
    // Found by a new user quantizing a TF.js model: "nothing to convert" alone did not say how.
    const dir = tempDir('tfjs-requantize');
    const src = path.join(dir, 'model.safetensors');
    await saveFile({ w: { dtype: 'F32', shape: [4], data: floats(4, 5) } }, src);
    expect((await runCli('convert', src, '--to', 'tfjs', '-o', path.join(dir, 'web'))).code).toBe(0);
    const r = await runCli('convert', path.join(dir, 'web', 'model.json'), '--to', 'tfjs', '--quantize', 'uint8', '-o', path.join(dir, 'q'));
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/already TF\.js: nothing to convert .*convert it to safetensors first, then that with --to tfjs --quantize/);
    expect(fs.existsSync(path.join(dir, 'q'))).toBe(false);
    // validate reads safetensors only: the refusal without --quantize points at inspect, and validate of a
    // model.json says what it may be.
    const again = await runCli('convert', path.join(dir, 'web', 'model.json'), '--to', 'tfjs', '-o', path.join(dir, 'q'));
    expect(again.stderr).toMatch(/already TF\.js: nothing to convert \(tensorsafe inspect shows it\)/);
    const validated = await runCli('validate', path.join(dir, 'web', 'model.json'));
    expect([validated.code, validated.stdout + validated.stderr]).toEqual([1, expect.stringMatching(/a TF\.js model\.json \(tensorsafe inspect reads it\)/)]);
  });
});
