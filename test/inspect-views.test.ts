import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FormatView } from '../src/formats/format.js';
import { runCli } from './helpers/cli.js';
import { gguf, onnxModel, onnxNode, pb } from './fixtures/scan/craft.js';
import { tempDir } from './helpers/temp.js';
import { TORCH_FIXTURES } from './helpers/torch-fixtures.js';

/**
 * `inspect` shows each format's own view (FormatReader.describe), made from the parse it already did:
 * in text, titled sections of aligned key-value rows; under --json, `view`. Formats without one
 * (safetensors, PyTorch) print what they printed before, and have no `view`.
 */

const FORMATS = path.join(import.meta.dirname, 'fixtures', 'formats');
const fixture = (...p: string[]): string => path.join(FORMATS, ...p);

async function inspectJson(file: string): Promise<{ view?: FormatView; metadata: Record<string, string> | null }> {
  const r = await runCli('inspect', '--json', file);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

/** The rows of a view's section as an object. */
function section(view: FormatView | undefined, title: string): Record<string, string> {
  const s = view?.find((x) => x.title === title);
  expect(s, `section ${title}`).toBeDefined();
  return Object.fromEntries(s!.rows.map((r) => [r.key, r.value]));
}

describe('inspect: each format’s own view', () => {
  it('GGUF: version, byte order, alignment, every metadata key with its type, tensor types with counts', async () => {
    const { view } = await inspectJson(fixture('gguf', 'raw-v3.gguf'));
    expect(view!.map((s) => s.title)).toEqual(['GGUF', 'metadata', 'tensor types']);
    expect(section(view, 'GGUF')).toMatchObject({ version: '3', 'byte order': 'little-endian', alignment: '32', 'key-value pairs': '15', tensors: '9' });
    expect(section(view, 'metadata')).toMatchObject({
      'general.architecture': 'STRING "llama"',
      'llama.block_count': 'UINT32 2',
      'test.i64': 'INT64 -1099511627776',
      'test.bool': 'BOOL true',
      'tokenizer.ggml.tokens': 'ARRAY<STRING>[4] "<s>", "</s>", "a", "b"',
    });
    expect(section(view, 'tensor types')).toEqual({ F32: '2', F16: '1', BF16: '1', F64: '1', I8: '1', I16: '1', I32: '1', I64: '1' });
    expect(section((await inspectJson(fixture('gguf', 'raw-v3-big-endian.gguf'))).view, 'GGUF')['byte order']).toBe('big-endian');
    expect(section((await inspectJson(fixture('gguf', 'raw-v2-align64.gguf'))).view, 'GGUF')).toMatchObject({ version: '2', alignment: '64' });

    const text = await runCli('inspect', fixture('gguf', 'raw-v3.gguf'));
    expect(text.lines).toContain('GGUF:');
    expect(text.lines).toContain('  version          3');
    expect(text.lines).toContain('  byte order       little-endian');
    expect(text.lines.some((l) => /^ {2}general\.architecture +STRING "llama"$/.test(l))).toBe(true);
    expect(text.lines).toContain('tensor types:');
    // The view shows the metadata: the generic block is not printed a second time.
    expect(text.lines).not.toContain('metadata: none');
    expect(text.lines.filter((l) => l.includes('general.architecture'))).toHaveLength(1);
  });

  it('GGUF: a long array is summarised (type, length, the first few), control characters are escaped in text', async () => {
    const dir = tempDir('inspect-views');
    const file = path.join(dir, 'long.gguf');
    const tokens = Array.from({ length: 40 }, (_, i) => `t${i}`);
    fs.writeFileSync(file, gguf([['tokenizer.ggml.tokens', { type: 'strs', value: tokens }], ['tokenizer.chat_template', { type: 'str', value: 'a\n\x1b[31mred' }]], [{ name: 'w', ne: [4] }]));
    const { view } = await inspectJson(file);
    const rows = section(view, 'metadata');
    expect(rows['tokenizer.ggml.tokens']).toBe('ARRAY<STRING>[40] "t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", …');
    expect(rows['tokenizer.chat_template']).toBe('STRING "a\\n\\u001b[31mred"');
    const text = await runCli('inspect', file);
    expect(text.stdout).not.toContain('\x1b');
    expect(text.lines.some((l) => l.includes('tokenizer.ggml.tokens') && l.endsWith('"t7", …'))).toBe(true);
    // An array longer than the header parse keeps (a vocabulary): its type, length and the first few the parse kept, never a second read.
    const vocab = path.join(dir, 'vocab.gguf');
    fs.writeFileSync(vocab, gguf([['tokenizer.ggml.tokens', { type: 'strs', value: Array.from({ length: 1500 }, (_, i) => `t${i}`) }], ['tokenizer.ggml.scores', { type: 'f32s', value: Array.from({ length: 1500 }, (_, i) => i / 2) }]], [{ name: 'w', ne: [4] }]));
    const vocabRows = section((await inspectJson(vocab)).view, 'metadata');
    expect(vocabRows['tokenizer.ggml.tokens']).toBe('ARRAY<STRING>[1500] "t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", …');
    expect(vocabRows['tokenizer.ggml.scores']).toBe('ARRAY<FLOAT32>[1500] 0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, …');
  });

  it('GGUF: FLOAT32 values as the shortest decimal of the float32, not the double it widens to', async () => {
    const rows = section((await inspectJson(path.join(import.meta.dirname, 'fixtures', 'gguf-metadata', 'all-types.gguf'))).view, 'metadata');
    expect(rows['test.float32.0']).toBe('FLOAT32 0.1');
    expect(rows['test.float32.1']).toBe('FLOAT32 0.00001');
    expect(rows['test.float32.3']).toBe('FLOAT32 3.4028235e+38');
  });

  it('ONNX: ir_version, producer, opset imports, graph counts', async () => {
    const { view } = await inspectJson(fixture('onnx', 'subgraphs-and-constants.onnx'));
    expect(view!.map((s) => s.title)).toEqual(['ONNX', 'opset imports', 'graph', 'operator domains']);
    expect(section(view, 'ONNX')).toEqual({ ir_version: '8', producer: 'tensorsafe-fixtures' });
    expect(section(view, 'opset imports')).toEqual({ 'ai.onnx': '13' });
    expect(section(view, 'graph')).toEqual({ nodes: '10', initializers: '1', 'initializers in subgraphs': '3', 'Constant tensors': '7', subgraphs: '5', functions: '0', 'left out': '0' });
    expect(section(view, 'operator domains')).toEqual({ 'ai.onnx': 'Constant, If, Loop' });
    const text = await runCli('inspect', fixture('onnx', 'subgraphs-and-constants.onnx'));
    expect(text.lines).toContain('opset imports:');
    expect(text.lines).toContain('  ai.onnx  13');
  });

  it('ONNX: model-local functions and the operator domains nodes use', async () => {
    const file = path.join(tempDir('inspect-views-onnx'), 'functions.onnx');
    fs.writeFileSync(file, onnxModel([onnxNode('Helper', [], 'local.fns'), onnxNode('Relu')], [pb.msg(25, pb.str(1, 'Helper'), pb.str(10, 'local.fns'), onnxNode('Relu', [], undefined, 7))]));
    const { view } = await inspectJson(file);
    expect(section(view, 'ONNX')).toEqual({ ir_version: '8', producer: 'crafted' });
    expect(section(view, 'opset imports')).toEqual({ 'ai.onnx': '17' });
    expect(section(view, 'graph')).toMatchObject({ nodes: '2', functions: '1' });
    expect(section(view, 'operator domains')).toMatchObject({ 'local.fns': 'Helper' });
  });

  it('ONNX: the model’s domain and model_version, when set', async () => {
    const file = path.join(tempDir('inspect-views-onnx'), 'versioned.onnx');
    fs.writeFileSync(file, onnxModel([onnxNode('Relu')], [pb.str(4, 'com.example'), pb.int(5, 2n ** 40n + 3n)]));
    expect(section((await inspectJson(file)).view, 'ONNX')).toEqual({ ir_version: '8', producer: 'crafted', domain: 'com.example', model_version: '1099511627779' });
  });

  it('ONNX: the external data files its tensors name', async () => {
    const { view } = await inspectJson(path.join(import.meta.dirname, 'fixtures', 'onnx-external', 'model.onnx'));
    expect(section(view, 'external data')).toEqual({ 'weights/data.bin': '2 tensors' });
  });

  it('NumPy: each array’s dtype with its byte order, its order, shape and format version', async () => {
    const { view } = await inspectJson(fixture('numpy', 'stored.npz'));
    expect(section(view, 'NumPy')).toEqual({ container: '.npz (a zip of .npy arrays)', arrays: '7' });
    expect(section(view, 'arrays')).toMatchObject({
      'weight.npy': '<f4 (little-endian), C order, shape [4, 3], format 1.0',
      'big.npy': '>i8 (big-endian), C order, shape [5], format 1.0',
      'fortran.npy': '<u4 (little-endian), Fortran order, shape [2, 3], format 1.0',
      'scalar.npy': '|b1 (not applicable), C order, shape [], format 1.0',
    });
    expect(section((await inspectJson(fixture('numpy', 'version3.npy'))).view, 'arrays')).toEqual({ version3: expect.stringMatching(/format 3\.0$/) });
    const text = await runCli('inspect', fixture('numpy', 'fortran_big_f8.npy'));
    expect(text.lines).toContain('  fortran_big_f8  >f8 (big-endian), Fortran order, shape [4, 5], format 1.0');
  });

  it('legacy GGML: magic, version, hparams, vocabulary, tensor types', async () => {
    const { view } = await inspectJson(fixture('ggml', 'ggjt-v3-f16.bin'));
    expect(section(view, 'GGML (legacy)')).toMatchObject({ magic: 'ggjt', version: '3' });
    expect(section(view, 'hparams')).toEqual({ n_vocab: '6', n_embd: '8', n_mult: '256', n_head: '2', n_layer: '1', n_rot: '4', ftype: '1 (MOSTLY_F16)' });
    expect(section(view, 'vocabulary')).toMatchObject({ tokens: '6', scores: 'yes' });
    expect(section(view, 'tensor types')).toEqual({ F16: '4', F32: '3' });
    expect(section((await inspectJson(fixture('ggml', 'ggml-unversioned-f16.bin'))).view, 'GGML (legacy)')).toMatchObject({ magic: 'ggml', version: 'none (unversioned)' });
    const text = await runCli('inspect', fixture('ggml', 'ggmf-v1-f16.bin'));
    expect(text.lines).toContain('GGML (legacy):');
    expect(text.lines).toContain('  magic    ggmf');
    expect(text.lines).toContain('  ftype    1 (MOSTLY_F16)');
  });

  it('safetensors and PyTorch: no view, the output as before', async () => {
    for (const file of [fixture('safetensors', 'dtypes.safetensors'), path.join(TORCH_FIXTURES, 'sample', 'pytorch_model.bin')]) {
      const json = await inspectJson(file);
      expect(json.view, file).toBeUndefined();
      const text = await runCli('inspect', file);
      expect(text.lines.some((l) => l.startsWith('metadata'))).toBe(true);
    }
  });
});
