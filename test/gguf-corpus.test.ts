import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ggufReader } from '../src/formats/gguf/reader.js';
import { MemorySource } from '../src/io/byte-source.js';
import { readEntry } from '../src/tensor/tensor-set.js';
import { CORPUS } from './helpers/corpus.js';

/**
 * The oracle: ../shared/corpus/formats/gguf/ggml-generated holds GGUF files written by libggml and,
 * beside them, what libggml's own `to_float` makes of each tensor (*.expected.safetensors, float32,
 * shapes already reversed). Every tensor, of every type in them (all those ggml can dequantize), must
 * equal it bit for bit. (The types ggml cannot dequantize, Q8_1 and Q8_K, are refused by name:
 * test/fixtures/formats/gguf/refused-q8_k.gguf.)
 */
const DIR = path.join(CORPUS, 'formats', 'gguf', 'ggml-generated');
const HAVE = fs.existsSync(path.join(DIR, 'ggml-all-types.gguf'));
if (!HAVE) console.log('gguf-corpus: ../shared/corpus/formats/gguf/ggml-generated is absent; the libggml oracle is skipped');

/** The tensors of a safetensors file, read here with no code of tensorsafe's (a second reading). */
function expectedTensors(file: string): Map<string, { shape: number[]; bytes: Uint8Array }> {
  const b = fs.readFileSync(file);
  const n = Number(b.readBigUInt64LE(0));
  const header = JSON.parse(b.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const out = new Map<string, { shape: number[]; bytes: Uint8Array }>();
  for (const [k, v] of Object.entries(header)) {
    if (k === '__metadata__') continue;
    expect(v.dtype).toBe('F32');
    out.set(k, { shape: v.shape, bytes: new Uint8Array(b.subarray(8 + n + v.data_offsets[0], 8 + n + v.data_offsets[1])) });
  }
  return out;
}

/** A tensor's values as F32 bytes: raw F16/BF16 widened the way ggml's to_float does (exactly). */
async function asF32(entry: Awaited<ReturnType<typeof open>>['tensors']['tensors'][number]): Promise<Uint8Array> {
  const bytes = await readEntry(entry);
  if (entry.dtype === 'F32') return bytes;
  const u16 = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
  const out = new Uint32Array(u16.length);
  if (entry.dtype === 'BF16') for (let i = 0; i < u16.length; i++) out[i] = u16[i]! << 16;
  else {
    const { f16ToF32 } = await import('../src/dtype/float-codecs.js');
    const f = new Float32Array(out.buffer);
    for (let i = 0; i < u16.length; i++) f[i] = f16ToF32(u16[i]!);
  }
  return new Uint8Array(out.buffer);
}

async function open(file: string) {
  return ggufReader.open!(new MemorySource(new Uint8Array(fs.readFileSync(file)), file));
}

/** The GGUF's tensor types, from libggml's own index (tensor → type name). */
function typesOf(tsv: string): Map<string, string> {
  const rows = fs.readFileSync(path.join(DIR, tsv), 'utf8').trim().split('\n').slice(1);
  return new Map(rows.map((r) => r.split('\t')).map((c) => [c[0]!, c[1]!.toUpperCase()]));
}

describe.skipIf(!HAVE)('GGUF: libggml to_float oracle (shared corpus)', () => {
  for (const [gguf, tsv, quantized] of [['ggml-all-types', 'expected_index.tsv', 22], ['ggml-new-types', 'expected_index_new.tsv', 3]] as const) {
    it(`${gguf}.gguf: every tensor, of every type in it, equals libggml's to_float bit for bit`, async () => {
      const expected = expectedTensors(path.join(DIR, `${gguf}.expected.safetensors`));
      const types = typesOf(tsv);
      const { tensors } = await open(path.join(DIR, `${gguf}.gguf`));
      // Every tensor libggml wrote is read (none refused) and every one has libggml's values beside it.
      expect(tensors.tensors.map((t) => t.name).sort()).toEqual([...types.keys()].sort());
      for (const name of types.keys()) expect(expected.has(name), name).toBe(true);
      const decoded = new Set<string>();
      for (const t of tensors.tensors) {
        const want = expected.get(t.name)!;
        expect([t.name, t.shape]).toEqual([t.name, want.shape]);
        const got = await asF32(t);
        expect(Buffer.from(got).equals(Buffer.from(want.bytes)), `${t.name} (${types.get(t.name)}) differs from libggml's to_float`).toBe(true);
        if (t.encoding.layout === 'decoded') decoded.add(types.get(t.name)!);
      }
      // Every quantized type of the file went through its decoder (22 in ggml-all-types: Q*, K, IQ, TQ, MXFP4).
      expect(decoded.size).toBe(quantized);
    });
  }
});

const GGUF = path.join(CORPUS, 'formats', 'gguf');

describe.skipIf(!HAVE)('GGUF: the other files of the shared corpus', () => {
  it('ggml-align64.gguf (general.alignment 64, written by libggml) reads the same values as ggml-all-types', async () => {
    const expected = expectedTensors(path.join(DIR, 'ggml-all-types.expected.safetensors'));
    const { tensors } = await open(path.join(DIR, 'ggml-align64.gguf'));
    expect(tensors.tensors.map((t) => t.name).sort()).toEqual(['layout.f32_ne_4_3_2', 'q.bf16', 'q.q4_K', 'q.q8_0']);
    for (const t of tensors.tensors) expect(Buffer.from(await asF32(t)).equals(Buffer.from(expected.get(t.name)!.bytes)), t.name).toBe(true);
  });

  it('files ggml refuses are refused (overlapping offsets, offsets not padded to general.alignment)', async () => {
    for (const f of ['ggml-align64-mismatch.gguf', 'test_model.gguf']) {
      await expect(open(path.join(GGUF, 'malformed', f)), f).rejects.toMatchObject({ code: 'InvalidGguf', message: expect.stringContaining('offset') });
    }
  });

  it("llama.cpp's dummy.gguf: every tensor_i is filled with 100 + i, shapes reversed", async () => {
    const { tensors } = await open(path.join(GGUF, 'hyllama', 'dummy.gguf'));
    expect(tensors.tensors).toHaveLength(10);
    expect(tensors.tensors[0]!.shape).toEqual([4, 6, 8, 7]);
    for (const [i, t] of tensors.tensors.entries()) {
      const v = new Float32Array((await readEntry(t)).slice().buffer);
      expect(v.every((x) => x === 100 + i), t.name).toBe(true);
    }
  });

  it('a tiny llama (ollama) opens; long arrays are left out, listed', async () => {
    const { tensors } = await open(path.join(GGUF, 'ollama', 'llama-2-tiny-random.gguf'));
    expect(tensors.tensors).toHaveLength(12);
    expect(tensors.tensors.find((t) => t.name === 'token_embd.weight')).toMatchObject({ dtype: 'F16', shape: [32000, 8] });
    expect(tensors.metadata?.['general.architecture']).toBe('llama');
    expect(tensors.leftOut.map((l) => l.path)).toContain('tokenizer.ggml.tokens');
  });

  it('the llama-vocab copies, damaged in transit (bytes replaced by EF BF BD, a text decoder\'s U+FFFD), are refused as the scanner reports them', async () => {
    for (const f of fs.readdirSync(path.join(GGUF, 'llama-vocab'))) {
      const file = path.join(GGUF, 'llama-vocab', f);
      expect(fs.readFileSync(file).includes(Buffer.from([0xef, 0xbf, 0xbd])), f).toBe(true);
      await expect(open(file), f).rejects.toMatchObject({ code: 'InvalidGguf' });
    }
  });
});
