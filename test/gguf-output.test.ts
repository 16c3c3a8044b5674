import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readGgufHeader, type GgufHeader } from '../src/formats/gguf/header.js';
import { ggufOutput } from '../src/convert/gguf-output.js';
import { planConversion, VerificationError, writeOutputs } from '../src/convert/pipeline.js';
import { FileSink } from '../src/node/file-sink.js';
import { FileSource } from '../src/node/file-source.js';
import { convertModel } from '../src/node/convert.js';
import { openModel } from '../src/node/open-model.js';
import { save } from '../src/safetensors/save.js';
import { GGML_BLOCK_FORMATS } from '../src/tensor/ggml-blocks.js';
import { GGML_QUANTIZERS } from '../src/tensor/ggml-quantize.js';
import { GGUF_TYPES_KEY } from '../src/tensor/gguf-metadata.js';
import { readEntry, STORED, type TensorEntry, type TensorSet } from '../src/tensor/tensor-set.js';
import { runCli } from './helpers/cli.js';
import { ROOT } from './helpers/paths.js';
import { tempDir } from './helpers/temp.js';

/**
 * `--to gguf`: written files parsed by the GGUF header parser (ggml's checks) and read back by the
 * GGUF reader; quantized blocks equal to libggml's own (the committed fixture of
 * scripts/make-ggml-quantize-expected.py); GGUF → safetensors → GGUF keeps every tensor's bytes.
 * (At development time, scripts/check-gguf-with-ggml.py also loads such files with libggml's
 * gguf_init_from_file and gguf-py.)
 */

const GGUF_FIXTURES = path.join(ROOT, 'test/fixtures/formats/gguf');
const fixture = JSON.parse(fs.readFileSync(path.join(ROOT, 'test/fixtures/ggml-quantize/expected.json'), 'utf8')) as { cases: ({ name: string; f32: string } & Record<string, string>)[] };
const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));

async function header(file: string): Promise<GgufHeader> {
  const source = await FileSource.open(file);
  try {
    return await readGgufHeader(source, { asGgml: true });
  } finally {
    await source.close();
  }
}

/** A tensor's bytes as they lie in a GGUF file. */
function stored(file: string, h: GgufHeader, name: string): Uint8Array {
  const t = h.tensors.find((x) => x.name === name)!;
  return new Uint8Array(fs.readFileSync(file).subarray(t.offset, t.offset + t.bytes));
}

function writeSafetensors(file: string, tensors: Record<string, { dtype: 'F32' | 'F16' | 'I32' | 'BOOL' | 'U8'; shape: number[]; data: ArrayBufferView }>, metadata?: Record<string, string>): void {
  fs.writeFileSync(file, save(tensors, metadata ? { metadata } : {}));
}

describe('GGUF → safetensors → GGUF keeps every tensor byte', () => {
  for (const name of ['raw-v3.gguf', 'raw-v1.gguf', 'raw-v2-align64.gguf', 'raw-v3-big-endian.gguf']) {
    it(name, async () => {
      const dir = tempDir('gguf-rt');
      const st = path.join(dir, 'model.safetensors');
      const back = path.join(dir, 'back.gguf');
      await convertModel(path.join(GGUF_FIXTURES, name), { output: st });
      const summary = await convertModel(st, { to: 'gguf', output: back, arch: 'test' });
      expect(summary.verified).toBe(true);
      const original = await openModel(path.join(GGUF_FIXTURES, name));
      const written = await openModel(back);
      try {
        const h = await header(back);
        expect(h.version).toBe(3);
        expect(h.alignment).toBe(32);
        expect(written.tensors.map((t) => t.name).sort()).toEqual(original.tensors.map((t) => t.name).sort());
        for (const t of original.tensors) {
          const w = written.tensors.find((x) => x.name === t.name)!;
          expect([t.name, w.dtype, w.shape]).toEqual([t.name, t.dtype, t.shape]);
          // The bytes in the file (not only as read): little-endian, as the original reads.
          expect(Buffer.from(stored(back, h, t.name)).equals(Buffer.from(await readEntry(t)))).toBe(true);
        }
      } finally {
        await original.close();
        await written.close();
      }
    });
  }
});

describe('--quantize writes libggml\'s bytes', () => {
  const rows = fixture.cases.filter((c) => c.q4_k !== undefined && c.q8_0 !== undefined && c.q4_0 !== undefined);
  for (const kind of ['q8_0', 'q4_0', 'q4_k', 'f16', 'bf16']) {
    it(kind, async () => {
      const dir = tempDir('gguf-q');
      const src = path.join(dir, 'm.safetensors');
      const tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Uint8Array }> = {};
      for (const c of rows) {
        const data = b64(c.f32);
        tensors[`w.${c.name}`] = { dtype: 'F32', shape: [data.length / 4 / 256, 256], data };
      }
      tensors['norm'] = { dtype: 'F32', shape: [256], data: b64(rows[0]!.f32).subarray(0, 1024) };
      writeSafetensors(src, tensors, { 'general.architecture': 'llama' });
      const out = path.join(dir, `m-${kind}.gguf`);
      const summary = await convertModel(src, { to: 'gguf', quantize: kind, output: out });
      expect(summary.verified).toBe(true);
      const h = await header(out);
      const q = GGML_QUANTIZERS.get(kind)!;
      for (const c of rows) {
        const t = h.tensors.find((x) => x.name === `w.${c.name}`)!;
        expect([t.name, t.typeName]).toEqual([t.name, q.typeName]);
        expect([c.name, Buffer.from(stored(out, h, t.name)).toString('base64')]).toEqual([c.name, c[kind]]);
      }
      // A 1-D tensor is quantized only to F16/BF16; block types keep it as it is.
      expect(h.tensors.find((x) => x.name === 'norm')!.typeName).toBe(q.elements === 1 ? q.typeName : 'F32');
      if (q.elements > 1) expect(summary.notes.join('\n')).toMatch(/quantized to .*derived, lossy/);
      // The GGUF reader reads the blocks as what they decode to.
      const written = await openModel(out);
      try {
        const w = written.tensors.find((x) => x.name === `w.${rows[0]!.name}`)!;
        const raw = b64(rows[0]![kind]!);
        if (q.elements > 1) {
          const values = new Float32Array(raw.length / q.bytes * q.elements);
          GGML_BLOCK_FORMATS.get(q.typeName)!.decode(raw, raw.length / q.bytes, values);
          expect(Buffer.from(await readEntry(w)).equals(Buffer.from(values.buffer))).toBe(true);
        } else expect(Buffer.from(await readEntry(w)).equals(Buffer.from(raw))).toBe(true);
      } finally {
        await written.close();
      }
    });
  }

  it('rows that are not whole blocks are written as they are, with a note', async () => {
    const dir = tempDir('gguf-q');
    const src = path.join(dir, 'm.safetensors');
    writeSafetensors(src, { odd: { dtype: 'F32', shape: [2, 96], data: new Float32Array(192).fill(0.5) }, ids: { dtype: 'I32', shape: [2, 256], data: new Int32Array(512) } });
    const summary = await convertModel(src, { to: 'gguf', quantize: 'q4_k', arch: 'llama', output: path.join(dir, 'o.gguf') });
    const h = await header(path.join(dir, 'o.gguf'));
    expect(h.tensors.map((t) => [t.name, t.typeName]).sort()).toEqual([['ids', 'I32'], ['odd', 'F32']]);
    expect(summary.notes.join('\n')).toMatch(/odd: rows of 96, not a whole number of 256-element blocks/);
  });

  it('NaN in a tensor to quantize is refused, naming it; nothing is written', async () => {
    const dir = tempDir('gguf-q');
    const src = path.join(dir, 'm.safetensors');
    const data = new Float32Array(64);
    data[40] = Number.NaN;
    writeSafetensors(src, { bad: { dtype: 'F32', shape: [2, 32], data } });
    await expect(convertModel(src, { to: 'gguf', quantize: 'q8_0', arch: 'llama', output: path.join(dir, 'o.gguf') })).rejects.toThrow(/tensor `bad`: element 40 is NaN or infinite/);
    expect(fs.readdirSync(dir)).toEqual(['m.safetensors']);
  });
});

describe('GGUF metadata', () => {
  it('types come from gguf.types and the sidecar; tensorsafe\'s own keys are not carried over', async () => {
    const dir = tempDir('gguf-md');
    const src = path.join(dir, 'model.safetensors');
    writeSafetensors(src, { w: { dtype: 'F32', shape: [1, 4], data: new Float32Array(4) } }, {
      format: 'pt',
      'general.architecture': 'qwen2',
      'general.name': 'tiny',
      'qwen2.context_length': '32768',
      'qwen2.rope.freq_base': '1000000',
      'qwen2.eps': '0.000001',
      'tokenizer.ggml.add_bos_token': 'false',
      'tokenizer.ggml.merges': '["a b","c d"]',
      'big.ids': '["18446744073709551615","0"]',
      'nested.thing': '[["a"],["b","c"]]',
      'tensorsafe.source': '[{"file":"old.gguf","size":1,"mtime":"x"}]',
      [GGUF_TYPES_KEY]: JSON.stringify({ 'qwen2.context_length': 'UINT32', 'qwen2.rope.freq_base': 'FLOAT64', 'qwen2.eps': 'FLOAT32', 'tokenizer.ggml.add_bos_token': 'BOOL', 'tokenizer.ggml.merges': 'ARRAY[STRING]', 'big.ids': 'ARRAY[UINT64]', 'nested.thing': 'ARRAY[ARRAY[STRING]]' }),
    });
    fs.writeFileSync(path.join(dir, 'model.gguf-metadata.json'), JSON.stringify({ format: 'tensorsafe-gguf-metadata', version: 1, keys: { 'tokenizer.ggml.tokens': { type: 'ARRAY[STRING]', value: ['<s>', 'a', 'b'] }, 'tokenizer.ggml.scores': { type: 'ARRAY[FLOAT32]', value: [0, -1.5, 2] }, 'general.name': { type: 'STRING', value: 'sidecar loses' } } }));
    const out = path.join(dir, 'model.gguf');
    const summary = await convertModel(src, { to: 'gguf' });
    expect(summary.outputs).toEqual([out]);
    expect(summary.notes.join('\n')).toMatch(/2 GGUF metadata keys restored from .*model\.gguf-metadata\.json/);
    expect(summary.notes.join('\n')).toMatch(/left out, as ggml refuses arrays of arrays: nested\.thing \(ARRAY\[ARRAY\[STRING\]\]\)/);
    const h = await header(out);
    const kv = Object.fromEntries(h.metadata.map((m) => [m.key, [m.type === 'ARRAY' ? `ARRAY[${m.elementType}]` : m.type, m.value]]));
    expect(h.metadata.map((m) => m.key).slice(0, 2)).toEqual(['general.architecture', 'general.alignment']);
    expect(kv).toMatchObject({
      'general.architecture': ['STRING', 'qwen2'],
      'general.alignment': ['UINT32', 32],
      'general.name': ['STRING', 'tiny'],
      'qwen2.context_length': ['UINT32', 32768],
      'qwen2.rope.freq_base': ['FLOAT64', 1000000],
      'qwen2.eps': ['FLOAT32', Math.fround(0.000001)],
      'tokenizer.ggml.add_bos_token': ['BOOL', false],
      'tokenizer.ggml.merges': ['ARRAY[STRING]', ['a b', 'c d']],
      'big.ids': ['ARRAY[UINT64]', [18446744073709551615n, 0n]],
      'tokenizer.ggml.tokens': ['ARRAY[STRING]', ['<s>', 'a', 'b']],
      'tokenizer.ggml.scores': ['ARRAY[FLOAT32]', [0, -1.5, 2]],
    });
    expect(kv['format']).toBeUndefined();
    expect(kv['nested.thing']).toBeUndefined();
    expect(kv[GGUF_TYPES_KEY]).toBeUndefined();
    expect(JSON.parse(kv['tensorsafe.source']![1] as string)[0].file).toBe('model.safetensors');
  });

  it('a header larger than the first buffer: a vocabulary from the sidecar, long strings, every key back with its type', async () => {
    const dir = tempDir('gguf-md');
    const src = path.join(dir, 'big.safetensors');
    const longName = 'x'.repeat(5000);
    writeSafetensors(src, { w: { dtype: 'F32', shape: [1, 4], data: new Float32Array(4) } }, { 'general.architecture': 'llama', 'general.name': longName });
    const tokens = Array.from({ length: 3000 }, (_, i) => `tok${i}`);
    const scores = Array.from({ length: 3000 }, (_, i) => Math.fround(i / 3));
    fs.writeFileSync(path.join(dir, 'big.gguf-metadata.json'), JSON.stringify({ format: 'tensorsafe-gguf-metadata', version: 1, keys: { 'tokenizer.ggml.tokens': { type: 'ARRAY[STRING]', value: tokens }, 'tokenizer.ggml.scores': { type: 'ARRAY[FLOAT32]', value: scores } } }));
    await convertModel(src, { to: 'gguf' });
    const h = await header(path.join(dir, 'big.gguf'));
    const kv = Object.fromEntries(h.metadata.map((m) => [m.key, m]));
    expect(kv['general.name']?.value).toBe(longName);
    expect(kv['tokenizer.ggml.tokens']).toMatchObject({ type: 'ARRAY', elementType: 'STRING', length: 3000 });
    expect(kv['tokenizer.ggml.scores']).toMatchObject({ type: 'ARRAY', elementType: 'FLOAT32', length: 3000 });
    // And back: the GGUF reader puts the vocabulary in a sidecar equal to the one the file was made from.
    fs.mkdirSync(path.join(dir, 'back'));
    await convertModel(path.join(dir, 'big.gguf'), { output: path.join(dir, 'back') + path.sep });
    const back = JSON.parse(fs.readFileSync(path.join(dir, 'back', 'big.gguf-metadata.json'), 'utf8')) as { keys: Record<string, { type: string; value: unknown[] }> };
    expect(back.keys['tokenizer.ggml.tokens']).toEqual({ type: 'ARRAY[STRING]', value: tokens });
    // FLOAT32 values are written as the shortest decimal of the float32: read back through float32.
    expect(back.keys['tokenizer.ggml.scores']?.type).toBe('ARRAY[FLOAT32]');
    expect(back.keys['tokenizer.ggml.scores']?.value.map((v) => Math.fround(v as number))).toEqual(scores);
  });

  it('a value that is not of its listed type is refused, naming the key', async () => {
    const dir = tempDir('gguf-md');
    const src = path.join(dir, 'm.safetensors');
    writeSafetensors(src, { w: { dtype: 'F32', shape: [4], data: new Float32Array(4) } }, { 'general.architecture': 'llama', 'llama.block_count': '-3', [GGUF_TYPES_KEY]: '{"llama.block_count":"UINT32"}' });
    await expect(convertModel(src, { to: 'gguf' })).rejects.toThrow(/llama\.block_count: "-3" is not a UINT32/);
    expect(fs.existsSync(path.join(dir, 'm.gguf'))).toBe(false);
  });
});

describe('tensorsafe convert --to gguf', () => {
  const model = (dir: string, tensors: Parameters<typeof writeSafetensors>[1] = { 'a.weight': { dtype: 'F32', shape: [2, 32], data: new Float32Array(64).map((_, i) => i / 7) } }): string => {
    const src = path.join(dir, 'm.safetensors');
    writeSafetensors(src, tensors);
    return src;
  };

  it('writes, with --arch and --quantize, and says the quantized tensors are derived', async () => {
    const dir = tempDir('gguf-cli');
    const r = await runCli('convert', model(dir), '--to', 'gguf', '--arch', 'llama', '--quantize', 'q8_0');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/m\.gguf/);
    expect(r.stdout).toMatch(/1 tensor quantized to Q8_0 \(derived, lossy/);
    expect(r.stdout).toMatch(/verified: every tensor equals what the source converts to/);
    expect((await header(path.join(dir, 'm.gguf'))).tensors[0]!.typeName).toBe('Q8_0');
  });

  it('without an architecture: a usage error that says to pass --arch', async () => {
    const dir = tempDir('gguf-cli');
    const r = await runCli('convert', model(dir), '--to', 'gguf');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/pass --arch/);
    expect(fs.readdirSync(dir)).toEqual(['m.safetensors']);
  });

  it('usage errors: an unknown type, --quantize without --to gguf, --max-shard-size', async () => {
    const dir = tempDir('gguf-cli');
    const src = model(dir);
    expect((await runCli('convert', src, '--to', 'gguf', '--arch', 'llama', '--quantize', 'q3_k')).stderr).toMatch(/--quantize q3_k: --to gguf takes f32, f16, bf16, q8_0, q4_0, q4_k/);
    expect((await runCli('convert', src, '--quantize', 'q8_0')).code).toBe(2);
    expect((await runCli('convert', src, '--to', 'npz', '--arch', 'llama')).code).toBe(2);
    const sharded = await runCli('convert', src, '--to', 'gguf', '--arch', 'llama', '--max-shard-size', '1KB');
    expect([sharded.code, sharded.stderr]).toEqual([2, expect.stringMatching(/one file: --max-shard-size does not apply/)]);
    expect(fs.readdirSync(dir)).toEqual(['m.safetensors']);
  });

  it('refuses what ggml cannot hold, naming the tensor: a long name, 5 dimensions, BOOL and U8, a NUL in a name', async () => {
    const cases: [Parameters<typeof writeSafetensors>[1], RegExp][] = [
      [{ ['x'.repeat(64)]: { dtype: 'F32', shape: [1], data: new Float32Array(1) } }, /tensor `x{64}`: its name is 64 bytes.*GGML_MAX_NAME/],
      [{ five: { dtype: 'F32', shape: [1, 1, 1, 1, 2], data: new Float32Array(2) } }, /tensor `five` has 5 dimensions .*at most 4/],
      [{ mask: { dtype: 'BOOL', shape: [2], data: new Uint8Array(2) } }, /tensor `mask` is BOOL, which GGUF has no type for/],
      [{ bytes: { dtype: 'U8', shape: [2], data: new Uint8Array(2) } }, /tensor `bytes` is U8/],
      [{ 'w\0hidden': { dtype: 'F32', shape: [1], data: new Float32Array(1) } }, /its name holds a NUL byte, and ggml reads names only up to the first one/],
    ];
    for (const [tensors, message] of cases) {
      const dir = tempDir('gguf-cli');
      const r = await runCli('convert', model(dir, tensors), '--to', 'gguf', '--arch', 'llama');
      expect([r.code, r.stderr]).toEqual([3, expect.stringMatching(message)]);
      expect(fs.readdirSync(dir)).toEqual(['m.safetensors']);
    }
    // A 63-byte name is ggml's longest.
    const dir = tempDir('gguf-cli');
    expect((await runCli('convert', model(dir, { ['y'.repeat(63)]: { dtype: 'F32', shape: [1], data: new Float32Array(1) } }), '--to', 'gguf', '--arch', 'llama')).code).toBe(0);
  });

  it('an existing output is kept intact without --force, replaced with it', async () => {
    const dir = tempDir('gguf-cli');
    const src = model(dir);
    const out = path.join(dir, 'm.gguf');
    fs.writeFileSync(out, 'not mine');
    const r = await runCli('convert', src, '--to', 'gguf', '--arch', 'llama');
    expect([r.code, r.stderr]).toEqual([3, expect.stringMatching(/already exists/)]);
    expect(fs.readFileSync(out, 'utf8')).toBe('not mine');
    expect((await runCli('convert', src, '--to', 'gguf', '--arch', 'llama', '--force')).code).toBe(0);
    expect((await header(out)).tensors.map((t) => t.name)).toEqual(['a.weight']);
  });

  it('--help documents --to gguf, --quantize and --arch', async () => {
    const r = await runCli('convert', '--help');
    for (const word of ['--to gguf', '--quantize TYPE', 'q4_k', '--arch NAME']) expect(r.stdout).toContain(word);
  });
});

describe('the check of a GGUF write', () => {
  /** An F32 [2, 32] tensor whose reads after the first (the check's) give other values: a source that does not read back the same. */
  function unstable(name: string, changes: boolean): TensorEntry {
    let reads = 0;
    return {
      name, dtype: 'F32', shape: [2, 32], byteLength: 256, encoding: STORED, fidelity: 'exact',
      async *chunks() {
        const values = new Float32Array(64).map((_, i) => Math.sin(i));
        if (changes && reads++ > 0) values[3] = values[3]! + 0.5;
        yield new Uint8Array(values.buffer);
      },
    };
  }
  const set = (tensors: TensorEntry[]): TensorSet => ({ format: 'memory', tensors, leftOut: [], notes: [], close: async () => undefined });
  const write = async (dir: string, inputs: TensorSet[], quantize: string) => {
    const output = ggufOutput.configure!({ quantize, arch: 'llama' });
    const plan = planConversion(inputs.map((tensors, i) => ({ name: `memory://${i}`, tensors })), { output, stem: 'm' });
    await writeOutputs(plan, {
      records: {},
      createSink: (i) => FileSink.create(path.join(dir, plan.files[i]!), { deferCommit: true, overwrite: true }),
      openWritten: (sink) => FileSource.open(sink.tempPath),
      writeIndex: () => undefined,
    });
    return plan;
  };

  for (const quantize of ['q4_0', 'f16']) {
    it(`compares the file with the encoder's output for a fresh read of the source (${quantize}): a difference fails the write and leaves nothing`, async () => {
      const dir = tempDir('gguf-check');
      await expect(write(dir, [set([unstable('w', true)])], quantize)).rejects.toBeInstanceOf(VerificationError);
      expect(fs.readdirSync(dir)).toEqual([]);
      await write(dir, [set([unstable('w', false)])], quantize);
      expect(fs.readdirSync(dir)).toEqual(['m.gguf']);
    });
  }

  it('several inputs become one file', async () => {
    const dir = tempDir('gguf-check');
    const plan = await write(dir, [set([unstable('a', false)]), set([unstable('b', false)])], 'q8_0');
    expect(plan.files).toEqual(['m.gguf']);
    expect((await header(path.join(dir, 'm.gguf'))).tensors.map((t) => [t.name, t.typeName])).toEqual([['a', 'Q8_0'], ['b', 'Q8_0']]);
  });
});
