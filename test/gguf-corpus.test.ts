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
 * shapes already reversed). Every tensor of a type this reader decodes must equal it bit for bit;
 * every other type must be refused by name, never read silently.
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
  for (const [gguf, tsv] of [['ggml-all-types', 'expected_index.tsv'], ['ggml-new-types', 'expected_index_new.tsv']] as const) {
    it(`${gguf}.gguf: every tensor of a decoded type equals libggml's to_float bit for bit; every other type is refused by name`, async () => {
      const expected = expectedTensors(path.join(DIR, `${gguf}.expected.safetensors`));
      const types = typesOf(tsv);
      let decodedTypes = 0;
      // A file with a type not decoded is refused whole, naming the first such tensor and its type.
      const { readGgufHeader } = await import('../src/formats/gguf/header.js');
      const { GGML_BLOCK_FORMATS } = await import('../src/tensor/ggml-blocks.js');
      const bytes = new Uint8Array(fs.readFileSync(path.join(DIR, `${gguf}.gguf`)));
      const header = await readGgufHeader(new MemorySource(bytes, gguf));
      const raw = new Set(['F32', 'F16', 'BF16', 'F64', 'I8', 'I16', 'I32', 'I64']);
      const supported = header.tensors.filter((t) => raw.has(t.typeName) || GGML_BLOCK_FORMATS.has(t.typeName));
      const refused = header.tensors.filter((t) => !supported.includes(t));
      if (refused.length > 0) {
        await expect(open(path.join(DIR, `${gguf}.gguf`))).rejects.toMatchObject({ code: 'UnsupportedTensor', message: expect.stringContaining(refused[0]!.typeName) });
      }
      // The supported tensors, through the reader proper: the same file with only them (a GGUF rewritten by the test).
      const only = rewriteWith(bytes, header, supported.map((t) => t.name));
      const { tensors } = await ggufReader.open!(new MemorySource(only, `${gguf} (decoded types)`));
      expect(tensors.tensors.map((t) => t.name)).toEqual(supported.map((t) => t.name));
      for (const t of tensors.tensors) {
        const want = expected.get(t.name);
        expect(want, t.name).toBeDefined();
        expect([t.name, t.shape]).toEqual([t.name, want!.shape]);
        const got = await asF32(t);
        expect(Buffer.from(got).equals(Buffer.from(want!.bytes)), `${t.name} (${types.get(t.name)}) differs from libggml's to_float`).toBe(true);
        if (t.encoding.layout === 'decoded') decodedTypes++;
      }
      if (gguf === 'ggml-all-types') expect(decodedTypes).toBe(10);
    });
  }
});

/**
 * The same GGUF with only the named tensors: the header bytes up to the tensor infos are kept as they
 * are, the infos of the others dropped, the data of the kept ones moved after the new infos.
 */
function rewriteWith(bytes: Uint8Array, header: Awaited<ReturnType<typeof import('../src/formats/gguf/header.js')['readGgufHeader']>>, names: string[]): Uint8Array {
  const kept = header.tensors.filter((t) => names.includes(t.name));
  // The first tensor info starts where the first tensor's description does.
  const infosAt = header.tensors[0]!.at;
  const parts: Uint8Array[] = [bytes.slice(0, infosAt)];
  const head = parts[0]!;
  new DataView(head.buffer).setBigUint64(8, BigInt(kept.length), true);
  const enc = new TextEncoder();
  let offset = 0;
  const A = header.alignment;
  const pad = (x: number): number => Math.ceil(x / A) * A;
  for (const t of kept) {
    const name = enc.encode(t.name);
    const info = new Uint8Array(8 + name.length + 4 + 8 * t.ne.length + 4 + 8);
    const v = new DataView(info.buffer);
    let p = 0;
    v.setBigUint64(p, BigInt(name.length), true); p += 8;
    info.set(name, p); p += name.length;
    v.setUint32(p, t.ne.length, true); p += 4;
    for (const n of t.ne) { v.setBigUint64(p, BigInt(n), true); p += 8; }
    v.setUint32(p, t.type, true); p += 4;
    v.setBigUint64(p, BigInt(offset), true);
    parts.push(info);
    offset = pad(offset + t.bytes);
  }
  const infoEnd = parts.reduce((a, b) => a + b.length, 0);
  const dataStart = pad(infoEnd);
  const out = new Uint8Array(dataStart + offset);
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  let o = 0;
  for (const t of kept) { out.set(bytes.subarray(t.offset, t.offset + t.bytes), dataStart + o); o = pad(o + t.bytes); }
  return out;
}

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

  it('a tiny llama (ollama) opens; long arrays go to the metadata sidecar, nothing is left out', async () => {
    const { tensors } = await open(path.join(GGUF, 'ollama', 'llama-2-tiny-random.gguf'));
    expect(tensors.tensors).toHaveLength(12);
    expect(tensors.tensors.find((t) => t.name === 'token_embd.weight')).toMatchObject({ dtype: 'F16', shape: [32000, 8] });
    expect(tensors.metadata?.['general.architecture']).toBe('llama');
    expect(tensors.leftOut).toEqual([]);
    expect(tensors.companions?.map((c) => [c.suffix, c.keys])).toEqual([['.gguf-metadata.json', ['tokenizer.ggml.tokens', 'tokenizer.ggml.scores', 'tokenizer.ggml.token_type']]]);
  });

  it('the llama-vocab copies, damaged in transit (bytes replaced by EF BF BD, a text decoder\'s U+FFFD), are refused as the scanner reports them', async () => {
    for (const f of fs.readdirSync(path.join(GGUF, 'llama-vocab'))) {
      const file = path.join(GGUF, 'llama-vocab', f);
      expect(fs.readFileSync(file).includes(Buffer.from([0xef, 0xbf, 0xbd])), f).toBe(true);
      await expect(open(file), f).rejects.toMatchObject({ code: 'InvalidGguf' });
    }
  });
});
