import * as fs from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ggufReader } from '../src/formats/gguf/reader.js';
import { MemorySource } from '../src/io/byte-source.js';
import * as codebooks from '../src/tensor/ggml-codebooks.js';
import { GGML_BLOCK_FORMATS } from '../src/tensor/ggml-blocks.js';
import { readEntry } from '../src/tensor/tensor-set.js';

/**
 * Every ggml block type against libggml's own to_float, from committed fixtures (no tool needed):
 * test/fixtures/gguf-quant/quant.gguf (written by gguf-py) holds, per type, ggml's quantizer output for
 * rows at its edges (zeros, huge, tiny, negative, spikes) and random block bytes; beside it,
 * quant.expected.safetensors.gz holds libggml's to_float of each tensor (scripts/make-ggml-quant-fixtures.py).
 */
const DIR = path.join(import.meta.dirname, 'fixtures', 'gguf-quant');

/** The expected tensors, read here with no code of tensorsafe's (a second reading of safetensors). */
function expectedTensors(): { tensors: Map<string, { shape: number[]; bytes: Buffer }>; metadata: Record<string, string> } {
  const b = gunzipSync(fs.readFileSync(path.join(DIR, 'quant.expected.safetensors.gz')));
  const n = Number(b.readBigUInt64LE(0));
  const { __metadata__: metadata, ...entries } = JSON.parse(b.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown>;
  const tensors = new Map<string, { shape: number[]; bytes: Buffer }>();
  for (const [k, e] of Object.entries(entries)) {
    const v = e as { dtype: string; shape: number[]; data_offsets: [number, number] };
    expect(v.dtype).toBe('F32');
    tensors.set(k, { shape: v.shape, bytes: b.subarray(8 + n + v.data_offsets[0], 8 + n + v.data_offsets[1]) });
  }
  return { tensors, metadata: metadata as Record<string, string> };
}

const open = () => ggufReader.open!(new MemorySource(new Uint8Array(fs.readFileSync(path.join(DIR, 'quant.gguf'))), 'quant.gguf'));

describe('GGUF: every ggml block type equals libggml to_float bit for bit (committed fixtures)', () => {
  const expected = expectedTensors();

  it('the fixtures cover every type this reader decodes, and nothing else', () => {
    const types = JSON.parse(expected.metadata['types']!) as string[];
    expect([...types].sort()).toEqual([...GGML_BLOCK_FORMATS.keys()].sort());
    expect([...expected.tensors.keys()].sort()).toEqual(types.flatMap((t) => [`${t.toLowerCase()}.bytes`, `${t.toLowerCase()}.edge`]).sort());
  });

  it('every tensor decodes to exactly the bytes libggml gives', async () => {
    const { tensors } = await open();
    expect(tensors.tensors.map((t) => t.name).sort()).toEqual([...expected.tensors.keys()].sort());
    for (const t of tensors.tensors) {
      const want = expected.tensors.get(t.name)!;
      expect([t.name, t.dtype, t.shape, t.encoding]).toEqual([t.name, 'F32', want.shape, { layout: 'decoded', decoder: t.name.split('.')[0] }]);
      const got = Buffer.from(await readEntry(t));
      if (!got.equals(want.bytes)) {
        const g = new Uint32Array(got.buffer, got.byteOffset, got.length / 4);
        const w = new Uint32Array(want.bytes.buffer.slice(want.bytes.byteOffset, want.bytes.byteOffset + want.bytes.length));
        const i = g.findIndex((x, k) => x !== w[k]);
        expect.fail(`${t.name}: element ${i} is 0x${g[i]!.toString(16)}, libggml gives 0x${w[i]!.toString(16)}`);
      }
    }
  });

  it('the same values in chunks of one block or less (the decoder streams block by block)', async () => {
    const { tensors } = await open();
    for (const t of tensors.tensors) {
      const parts: Uint8Array[] = [];
      for await (const c of t.chunks(60)) parts.push(c.slice());
      expect(Buffer.concat(parts).equals(expected.tensors.get(t.name)!.bytes), t.name).toBe(true);
    }
  });

  it('gguf-py agrees with libggml wherever it can dequantize (recorded by the generator)', () => {
    // libggml is the reference; this pins what the generator found, so a change in gguf-py shows.
    expect(JSON.parse(expected.metadata['gguf_py_differs']!)).toEqual({
      'q1_0.edge': 'gguf-py has no dequantize for this type', 'q1_0.bytes': 'gguf-py has no dequantize for this type',
      'q2_0.edge': 'gguf-py has no dequantize for this type', 'q2_0.bytes': 'gguf-py has no dequantize for this type',
    });
  });
});

describe('ggml codebooks (generated from ggml-common.h)', () => {
  const width = { uint8_t: 1, int8_t: 1, uint32_t: 4, uint64_t: 8 } as const;
  it('each table holds count entries of its C type', () => {
    const tables = Object.values(codebooks).filter((v): v is codebooks.GgmlCodebook => typeof v === 'object');
    expect(tables).toHaveLength(9);
    for (const c of tables) expect(Buffer.from(c.base64, 'base64').length).toBe(c.count * width[c.type]);
  });

  it('ksigns is 7 sign bits and an eighth for even parity; the IQ4_NL and FP4 values are the published ones', () => {
    const k = Buffer.from(codebooks.KSIGNS_IQ2XS.base64, 'base64');
    for (let i = 0; i < 128; i++) {
      let ones = 0;
      for (let b = 0; b < 7; b++) ones += (i >> b) & 1;
      expect(k[i]).toBe(i | ((ones & 1) << 7));
    }
    expect([...new Int8Array(Buffer.from(codebooks.KVALUES_IQ4NL.base64, 'base64'))]).toEqual([-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113]);
    expect([...new Int8Array(Buffer.from(codebooks.KVALUES_FP4.base64, 'base64'))]).toEqual([0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12]);
  });
});
