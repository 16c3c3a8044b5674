import { describe, expect, it } from 'vitest';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { f32BitsToF16, fromFloat32 } from '../src/dtype/float-codecs.js';
import { convertModel } from '../src/node/convert.js';
import { loadFileSync } from '../src/node/files.js';
import { safeOpen } from '../src/node/open-path.js';
import { ggufReader } from '../src/formats/gguf/reader.js';
import { FileSource } from '../src/node/file-source.js';
import { castChunks, castEntry } from '../src/tensor/cast.js';
import {
  float32Text,
  ggufValueFromJson,
  ggufValueFromText,
  ggufValueJson,
  ggufValueText,
  parseGgufSidecar,
  parseGgufTypes,
  type GgufMetadataValue,
} from '../src/tensor/gguf-metadata.js';
import { readEntry } from '../src/tensor/tensor-set.js';
import { runCli } from './helpers/cli.js';
import { CORPUS } from './helpers/corpus.js';
import { tempDir } from './helpers/temp.js';

/**
 * GGUF → safetensors: --dtype (tensor/cast.ts, against torch), the metadata convention
 * (tensor/gguf-metadata.ts, against what gguf-py wrote and reads), the sidecar written with the outputs.
 * Fixtures: scripts/make-gguf-metadata-fixtures.py.
 */
const FIX = path.join(import.meta.dirname, 'fixtures', 'gguf-metadata');
const tmp = tempDir('gguf-convert');
const u32 = (file: string): Uint32Array => new Uint32Array(new Uint8Array(fs.readFileSync(path.join(FIX, file))).buffer);
const u16 = (file: string): Uint16Array => new Uint16Array(new Uint8Array(fs.readFileSync(path.join(FIX, file))).buffer);

async function* pieces(bytes: Uint8Array, sizes: number[]): AsyncGenerator<Uint8Array> {
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    const n = sizes[i % sizes.length]!;
    // Copied to an odd offset: chunks of any alignment.
    const buf = new Uint8Array(n + 1);
    buf.set(bytes.subarray(at, at + n), 1);
    yield buf.subarray(1, 1 + Math.min(n, bytes.length - at));
    at += n;
  }
}

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of chunks) parts.push(c.slice());
  return new Uint8Array(Buffer.concat(parts));
}

describe('--dtype: F32 cast to F16 and BF16 as torch casts (tensor/cast.ts)', () => {
  const input = u32('cast-edges.f32');
  const isNaN32 = (u: number): boolean => (u & 0x7fffffff) > 0x7f800000;
  for (const [to, file, nanCheck] of [['F16', 'cast-edges.f16', (h: number) => (h & 0x7fff) > 0x7c00], ['BF16', 'cast-edges.bf16', (h: number) => (h & 0x7fff) > 0x7f80]] as const) {
    it(`${to}: every value equals torch's .to() bit for bit (zeros, subnormals, ties, the largest values, overflow to inf, random bits); NaN stays NaN of its sign`, async () => {
      const torch = u16(file);
      for (const sizes of [[input.byteLength], [4, 8, 4096], [1, 3, 5, 7, 2], [6]]) {
        const out = new Uint16Array((await collect(castChunks(pieces(new Uint8Array(input.buffer), sizes), to, 64))).buffer);
        expect(out.length).toBe(input.length);
        let nans = 0;
        for (let i = 0; i < input.length; i++) {
          if (isNaN32(input[i]!)) {
            nans++;
            // torch 1.13 itself writes NaN two ways (F16 sign|0x7E00; BF16 0xFFFF vectorized, 0x7FC0 scalar): NaN-ness and sign are the contract.
            expect(nanCheck(out[i]!) && out[i]! >>> 15 === input[i]! >>> 31, `NaN at ${i}`).toBe(true);
          } else if (out[i] !== torch[i]) {
            expect.fail(`${to} of 0x${input[i]!.toString(16)}: 0x${out[i]!.toString(16)}, torch 0x${torch[i]!.toString(16)}`);
          }
        }
        expect(nans).toBeGreaterThan(4);
      }
      // The largest finite values and overflow: F16 65504 stays, 65520 and up is inf; BF16 of FLT_MAX is inf.
      if (to === 'F16') expect([torch[input.indexOf(0x477fe000)], torch[input.indexOf(0x477fefff)], torch[input.indexOf(0x477ff000)]]).toEqual([0x7bff, 0x7bff, 0x7c00]);
      else expect([torch[input.indexOf(0x7f7f7fff)], torch[input.indexOf(0x7f7fffff)]]).toEqual([0x7f7f, 0x7f80]);
    });
  }

  it("the streaming F16 encoder equals the codec's (fromFloat32) for every exponent, both signs, edge and random mantissas (all 2^32 patterns were checked once)", () => {
    const u = new Uint32Array(512 * 64);
    let k = 0;
    for (let e = 0; e < 512; e++) {
      for (const m of [0, 1, 0xfff, 0x1000, 0x1fff, 0x2000, 0x3000, 0x7fffff, 0x400000, 0x3fffff]) u[k++] = ((e << 23) | m) >>> 0;
      for (let j = 10; j < 64; j++) u[k++] = ((e << 23) | Math.floor(Math.random() * 0x800000)) >>> 0;
    }
    const ref = fromFloat32('F16', new Float32Array(u.buffer)) as Uint16Array;
    const mismatches = [...u].filter((b, i) => f32BitsToF16(b) !== ref[i]);
    expect(mismatches).toEqual([]);
  });

  it('a stream that ends inside an element is refused (InvalidTensor)', async () => {
    await expect(collect(castChunks(pieces(new Uint8Array(6), [6]), 'F16'))).rejects.toMatchObject({ code: 'InvalidTensor' });
  });
});

describe('the GGUF metadata convention (tensor/gguf-metadata.ts)', () => {
  it("FLOAT32 prints as the shortest decimal that reads back: numpy's own (Dragon4) digits, for edge and random values", () => {
    const rows = JSON.parse(fs.readFileSync(path.join(FIX, 'float32-text.json'), 'utf8')).values as [number, string][];
    const f = new Float32Array(1);
    const bits = new Uint32Array(f.buffer);
    const digits = (t: string): string => t.replace(/^-/, '').replace(/e.*$/i, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
    for (const [b, numpy] of rows) {
      bits[0] = b;
      const text = float32Text(f[0]!);
      expect(Math.fround(Number(text)), text).toBe(f[0]);
      expect([b, Number(text)]).toEqual([b, Number(numpy)]);
      expect(digits(text).length).toBe(digits(numpy).length);
    }
    expect([0.1, 1e-5, 16777216, -0, Infinity, NaN].map((x) => float32Text(Math.fround(x)))).toEqual(['0.1', '0.00001', '16777216', '-0', 'Infinity', 'NaN']);
  });

  it('every type reads back from its text and JSON exactly; wrong values and types are InvalidGgufMetadata', () => {
    const cases: [string, GgufMetadataValue][] = [
      ['UINT8', 255], ['INT8', -128], ['UINT16', 65535], ['INT16', -32768], ['UINT32', 4294967295], ['INT32', -2147483648],
      ['UINT64', 18446744073709551615n], ['INT64', -9223372036854775808n], ['FLOAT32', Math.fround(0.1)], ['FLOAT32', -0], ['FLOAT32', NaN],
      ['FLOAT64', 5e-324], ['FLOAT64', -Infinity], ['BOOL', true], ['BOOL', false], ['STRING', 'a "b" \\ 🦙'], ['STRING', ''],
      ['ARRAY[INT64]', [1n, -(2n ** 63n)]], ['ARRAY[FLOAT32]', [Math.fround(0.1), -0, Infinity, NaN]], ['ARRAY[ARRAY[STRING]]', [['a'], []]], ['ARRAY[BOOL]', []],
    ];
    for (const [type, value] of cases) {
      expect(ggufValueFromText(type, ggufValueText(type, value)), type).toEqual(value);
      expect(ggufValueFromJson(type, JSON.parse(ggufValueJson(type, value))), type).toEqual(value);
    }
    expect(ggufValueText('ARRAY[UINT64]', [18446744073709551615n])).toBe('["18446744073709551615"]');
    expect(ggufValueText('ARRAY[FLOAT32]', [Math.fround(0.1), -0, NaN])).toBe('[0.1,-0,"NaN"]');
    for (const [type, text] of [['UINT8', '256'], ['INT8', '1.5'], ['UINT64', '-1'], ['INT64', '9223372036854775808'], ['BOOL', '1'], ['FLOAT32', '0x10'], ['ARRAY[INT32]', '["1"]'], ['ARRAY[UINT64]', '[1]'], ['FLOAT16', '1'], ['ARRAY[STRING', '[]']]) {
      expect(() => ggufValueFromText(type!, text!), `${type} ${text}`).toThrow(expect.objectContaining({ code: 'InvalidGgufMetadata' }));
    }
    expect(() => parseGgufTypes('{"a":"ARRAY[INT32]","b":"INT128"}')).toThrow(expect.objectContaining({ code: 'InvalidGgufMetadata' }));
    expect(() => parseGgufSidecar('{"format":"tensorsafe-gguf-metadata","version":2,"source":"m.gguf","keys":{}}')).toThrow(expect.objectContaining({ code: 'InvalidGgufMetadata' }));
    expect(() => parseGgufSidecar('{"format":"tensorsafe-gguf-metadata","version":1,"source":"m.gguf","keys":{"k":{"type":"INT8","value":300}}}')).toThrow(/INT8/);
  });
});

async function metadataOf(file: string): Promise<Record<string, string>> {
  const set = await safeOpen(file);
  try {
    return { ...(set.metadata() ?? {}) };
  } finally {
    await set.close();
  }
}

/** Every GGUF key of a converted file, from its __metadata__ and sidecar, as the convention reads them back. */
async function readBack(out: string, sidecarFile: string): Promise<{ types: Record<string, string>; values: Map<string, GgufMetadataValue>; where: Map<string, string> }> {
  const metadata = await metadataOf(out);
  const types = parseGgufTypes(metadata['gguf.types']!);
  const values = new Map<string, GgufMetadataValue>();
  const where = new Map<string, string>();
  for (const [k, t] of Object.entries(types)) {
    values.set(k, ggufValueFromText(t, metadata[k]!, k));
    where.set(k, 'metadata');
  }
  const sidecar = parseGgufSidecar(fs.readFileSync(sidecarFile, 'utf8'));
  for (const [k, { type, value }] of sidecar.keys) {
    expect(values.has(k), `${k} in both places`).toBe(false);
    types[k] = type;
    values.set(k, value);
    where.set(k, 'sidecar');
  }
  return { types, values, where };
}

describe('GGUF → safetensors: metadata in __metadata__ and the sidecar, --dtype', () => {
  const expected = JSON.parse(fs.readFileSync(path.join(FIX, 'all-types.expected.json'), 'utf8')) as { sidecar: string[]; keys: Record<string, { type: string; value: unknown }> };

  it('every key of a gguf-py file reads back with its type and value (nothing dropped); large values and a key named gguf.types are in the sidecar', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'all-'));
    fs.copyFileSync(path.join(FIX, 'all-types.gguf'), path.join(dir, 'all-types.gguf'));
    const summary = await convertModel(path.join(dir, 'all-types.gguf'));
    const sidecarFile = path.join(dir, 'all-types.gguf-metadata.json');
    expect(summary.companions).toEqual([{ file: sidecarFile, what: 'metadata: 3 large values', keys: expected.sidecar }]);
    expect(summary.leftOut).toEqual([]);
    const { types, values, where } = await readBack(path.join(dir, 'all-types.safetensors'), sidecarFile);
    expect(Object.keys(types).sort()).toEqual(Object.keys(expected.keys).sort());
    for (const [k, e] of Object.entries(expected.keys)) {
      expect(types[k], k).toBe(e.type);
      expect(values.get(k), k).toEqual(ggufValueFromJson(e.type, e.value, k));
      expect(where.get(k), k).toBe(expected.sidecar.includes(k) ? 'sidecar' : 'metadata');
    }
    const metadata = await metadataOf(path.join(dir, 'all-types.safetensors'));
    expect([metadata['test.float32.0'], metadata['test.float32.1'], metadata['test.float32.2'], metadata['test.float64.0'], metadata['test.bool.true'], metadata['test.uint64.0']]).toEqual(['0.1', '0.00001', '-0', '0.1', 'true', '18446744073709551615']);
    expect(metadata['test.arr.64']).toBe(JSON.stringify([...Array(64).keys()]));
    expect(JSON.parse(fs.readFileSync(sidecarFile, 'utf8'))).toMatchObject({ format: 'tensorsafe-gguf-metadata', version: 1, source: 'all-types.gguf' });
    // Converted again: up to date, outputs and sidecar alike.
    expect((await convertModel(path.join(dir, 'all-types.gguf'))).upToDate).toBe(true);
    fs.writeFileSync(sidecarFile, '{}');
    const again = await convertModel(path.join(dir, 'all-types.gguf'));
    expect(again.upToDate).toBe(false);
    expect(parseGgufSidecar(fs.readFileSync(sidecarFile, 'utf8')).keys.size).toBe(3);
  });

  for (const dtype of ['f16', 'bf16', 'f32'] as const) {
    it(`--dtype ${dtype}: the dequantized tensor is the cast of its F32 values, bit for bit; the raw F32 tensor keeps its dtype; the summary says so`, async () => {
      const dir = fs.mkdtempSync(path.join(tmp, `${dtype}-`));
      const out = path.join(dir, 'm.safetensors');
      const summary = await convertModel(path.join(FIX, 'all-types.gguf'), { output: out, dtype });
      const D = dtype.toUpperCase() as 'F16' | 'BF16' | 'F32';
      expect(summary.notes).toContain(`--dtype ${dtype}: 1 dequantized tensor written as ${D}${D === 'F32' ? '' : ' (rounded to nearest even from F32)'}; every other tensor keeps its dtype`);
      const file = loadFileSync(out);
      expect(file.get('f32')!.dtype).toBe('F32');
      expect(file.get('q8')!).toMatchObject({ dtype: D, shape: [2, 64] });
      const source = await ggufReader.open!(await FileSource.open(path.join(FIX, 'all-types.gguf')));
      const q8 = source.tensors.tensors.find((t) => t.name === 'q8')!;
      const f32 = new Float32Array((await readEntry(q8)).slice().buffer);
      const want = D === 'F32' ? new Uint8Array(f32.buffer) : new Uint8Array(fromFloat32(D, f32).buffer);
      expect(Buffer.from(file.get('q8')!.data.buffer, file.get('q8')!.data.byteOffset, file.get('q8')!.data.byteLength).equals(Buffer.from(want))).toBe(true);
      if (D !== 'F32') expect(Buffer.from(await readEntry(castEntry(q8, D))).equals(Buffer.from(want))).toBe(true);
      await source.tensors.close();
    });
  }

  it('--dtype on a model with nothing dequantized (raw GGUF, NumPy float32, ONNX typed fields): every tensor keeps its dtype, and the summary says so', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'raw-'));
    const formats = path.join(import.meta.dirname, 'fixtures', 'formats');
    for (const [i, file] of ['gguf/raw-v3.gguf', 'numpy/big_f4.npy', 'onnx/typed-fields.onnx'].entries()) {
      const out = path.join(dir, `r${i}.safetensors`);
      const plain = path.join(dir, `p${i}.safetensors`);
      const summary = await convertModel(path.join(formats, file), { output: out, dtype: 'bf16' });
      expect(summary.notes, file).toContain('--dtype bf16: no tensor was dequantized; every tensor keeps its dtype');
      await convertModel(path.join(formats, file), { output: plain });
      const [a, b] = [loadFileSync(out), loadFileSync(plain)];
      expect([...a.keys()]).toEqual([...b.keys()]);
      for (const [name, t] of a) expect([name, t.dtype, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).equals(Buffer.from(b.get(name)!.data.buffer, b.get(name)!.data.byteOffset, b.get(name)!.data.byteLength))]).toEqual([name, b.get(name)!.dtype, true]);
    }
  });

  it('--dtype is refused for other outputs and unknown dtypes (usage error, exit 2; InvalidArgument from the API), nothing written', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'usage-'));
    const src = path.join(FIX, 'all-types.gguf');
    expect((await runCli('convert', src, '-o', path.join(dir, 'm.npz'), '--to', 'npz', '--dtype', 'f16')).code).toBe(2);
    expect((await runCli('convert', src, '-o', path.join(dir, 'm.safetensors'), '--dtype', 'f8')).code).toBe(2);
    await expect(convertModel(src, { output: path.join(dir, 'm.npz'), to: 'npz', dtype: 'f16' })).rejects.toMatchObject({ code: 'InvalidArgument' });
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('an existing sidecar tensorsafe did not write is never replaced without --force; with --force it is', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'foreign-'));
    const sidecarFile = path.join(dir, 'm.gguf-metadata.json');
    fs.writeFileSync(sidecarFile, 'mine');
    const src = path.join(FIX, 'all-types.gguf');
    await expect(convertModel(src, { output: path.join(dir, 'm.safetensors') })).rejects.toMatchObject({ code: 'OutputExists', message: expect.stringContaining(sidecarFile) });
    expect(fs.readdirSync(dir)).toEqual(['m.gguf-metadata.json']);
    expect(fs.readFileSync(sidecarFile, 'utf8')).toBe('mine');
    await convertModel(src, { output: path.join(dir, 'm.safetensors'), force: true });
    expect(parseGgufSidecar(fs.readFileSync(sidecarFile, 'utf8')).source).toBe('all-types.gguf');
  });

  it('the summary names the sidecar (text and --json)', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'cli-'));
    const out = path.join(dir, 'm.safetensors');
    const text = await runCli('convert', path.join(FIX, 'all-types.gguf'), '-o', out, '--dtype', 'f16');
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`metadata: 3 large values (gguf.types, test.arr.long.i32, test.arr.long.str) → ${path.join(dir, 'm.gguf-metadata.json')}`);
    const json = await runCli('convert', path.join(FIX, 'all-types.gguf'), '-o', out, '--dtype', 'f16', '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({ upToDate: true, companions: [{ file: path.join(dir, 'm.gguf-metadata.json'), keys: expected.sidecar }] });
  });
});

const OLLAMA = path.join(CORPUS, 'formats', 'gguf', 'ollama', 'llama-2-tiny-random.gguf');
const HAVE_OLLAMA = fs.existsSync(OLLAMA);
if (!HAVE_OLLAMA) console.log('gguf-convert: ../shared/corpus/formats/gguf/ollama is absent; the real-vocabulary check is skipped');

describe.skipIf(!HAVE_OLLAMA)('GGUF → safetensors of a real vocabulary (shared corpus), against gguf-py', () => {
  it("llama-2-tiny-random.gguf: every key equals what gguf-py's GGUFReader reads (vocabulary, scores, token types by count and SHA-256)", async () => {
    const expected = JSON.parse(fs.readFileSync(path.join(FIX, 'ollama-tiny-llama.expected.json'), 'utf8')).keys as Record<string, { type: string; value?: unknown; count?: number; sha256?: string }>;
    const dir = fs.mkdtempSync(path.join(tmp, 'ollama-'));
    await convertModel(OLLAMA, { output: path.join(dir, 'llama.safetensors') });
    const { types, values } = await readBack(path.join(dir, 'llama.safetensors'), path.join(dir, 'llama.gguf-metadata.json'));
    expect(Object.keys(types).sort()).toEqual(Object.keys(expected).sort());
    for (const [k, e] of Object.entries(expected)) {
      expect(types[k], k).toBe(e.type);
      const v = values.get(k)!;
      if (e.sha256 === undefined) {
        expect(v, k).toEqual(ggufValueFromJson(e.type, e.value, k));
        continue;
      }
      const items = v as GgufMetadataValue[];
      let bytes: Uint8Array;
      if (e.type === 'ARRAY[STRING]') {
        bytes = Buffer.concat((items as string[]).map((s) => {
          const b = Buffer.from(s, 'utf8');
          const n = Buffer.alloc(4);
          n.writeUInt32LE(b.length);
          return Buffer.concat([n, b]);
        }));
      } else if (e.type === 'ARRAY[FLOAT32]') bytes = new Uint8Array(Float32Array.from(items as number[]).buffer);
      else bytes = new Uint8Array(Int32Array.from(items as number[]).buffer);
      expect([k, items.length, crypto.createHash('sha256').update(bytes).digest('hex')]).toEqual([k, e.count, e.sha256]);
    }
    const set = await safeOpen(path.join(dir, 'llama.safetensors'));
    expect(set.metadata()?.['general.architecture']).toBe('llama');
    await set.close();
  });
});
