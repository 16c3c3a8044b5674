import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MemorySource } from '../src/io/byte-source.js';
import { save } from '../src/safetensors/save.js';
import { FORMATS, formatById, formatsByExtension, formatsClaiming, probeSource } from '../src/formats/registry.js';
import { DETECT_HEAD_BYTES, type FormatDescriptor } from '../src/formats/format.js';
import { buildZip } from './helpers/zip-writer.js';
import { gguf, onnxModel, tfliteModel } from './fixtures/scan/craft.js';
import { ROOT } from './helpers/paths.js';
import { TORCH_FIXTURES } from './helpers/torch-fixtures.js';
import { CORPUS, HAVE_CORPUS, formatsCorpus } from './helpers/corpus.js';

/** The format registry: every format detected from its bytes (and an archive's entry names), never its name. */

const SCAN_FIXTURES = path.join(ROOT, 'test', 'fixtures', 'scan');
const GGML_FIXTURES = path.join(ROOT, 'test', 'fixtures', 'formats', 'ggml');
const claims = async (bytes: Uint8Array, name = 'x'): Promise<string[]> => formatsClaiming(await probeSource(new MemorySource(bytes, name))).map((f) => f.id);
const file = (...parts: string[]): Uint8Array => new Uint8Array(fs.readFileSync(path.join(...parts)));

describe('format registry', () => {
  it('lists each format once, with a light descriptor', () => {
    const ids = FORMATS.map((f) => f.id);
    expect(ids).toEqual(['safetensors', 'paddle', 'pytorch', 'gguf', 'ggml', 'mxnet', 'coreml', 'tf-checkpoint', 'onnx', 'tflite', 'keras', 'numpy', 'hdf5', 'tfjs', 'pmml', 'pfa', 'flax']);
    for (const id of ids) expect(formatById(id)?.id).toBe(id);
    expect(formatsByExtension('MODEL.GGUF').map((f) => f.id)).toEqual(['gguf']);
    expect(formatsByExtension('weights.NPZ').map((f) => f.id)).toEqual(['numpy']);
    expect(formatsByExtension('model.json').map((f) => f.id)).toEqual(['tfjs']);
    expect(formatsByExtension('config.json')).toEqual([]);
    expect(formatsByExtension('iris.PMML').map((f) => f.id)).toEqual(['pmml']);
    expect(formatsByExtension('model.pfa.yaml').map((f) => f.id)).toEqual(['pfa']);
    expect(formatsByExtension('config.yaml')).toEqual([]);
  });

  it('is frozen: no format is added, removed or changed at run time', () => {
    expect(Object.isFrozen(FORMATS)).toBe(true);
    expect(() => (FORMATS as FormatDescriptor[]).push({ ...FORMATS[0]!, id: 'fake' })).toThrow(TypeError);
    for (const format of FORMATS) {
      expect([format.id, Object.isFrozen(format), Object.isFrozen(format.extensions)]).toEqual([format.id, true, true]);
      expect(() => ((format as { detect: FormatDescriptor['detect'] }).detect = () => true)).toThrow(TypeError);
    }
  });

  it('detects each format from its bytes, whatever the name', async () => {
    expect(await claims(save({ a: { dtype: 'F32', shape: [1], data: new Uint8Array(4) } }), 'x.bin')).toEqual(['safetensors']);
    expect(await claims(gguf([['general.architecture', { type: 'str', value: 'llama' }]]), 'x.safetensors')).toEqual(['gguf']);
    expect(await claims(onnxModel([]), 'x.gguf')).toEqual(['onnx']);
    expect(await claims(file(SCAN_FIXTURES, 'matmul.onnx'))).toEqual(['onnx']);
    for (const legacy of ['ggjt-v3-f16.bin', 'ggmf-v1-f16.bin', 'ggml-unversioned-f16.bin']) expect([legacy, await claims(file(GGML_FIXTURES, legacy), 'x.gguf')]).toEqual([legacy, ['ggml']]);
    expect(await claims(tfliteModel({ codes: [[0]] }))).toEqual(['tflite']);
    expect(await claims(file(TORCH_FIXTURES, 'dtypes_zip.pt'))).toEqual(['pytorch']);
    expect(await claims(file(TORCH_FIXTURES, 'dtypes_legacy.pt'))).toEqual(['pytorch']);
    expect(await claims(new TextEncoder().encode('{"modelTopology": {}, "weightsManifest": []}'), 'x.bin')).toEqual(['tfjs']);
    expect(await claims(new TextEncoder().encode('{"hidden_size": 768}'), 'model.json')).toEqual([]);
  });

  it('a TF.js model.json is recognised by keys that come after a long value (the probe holds its text)', async () => {
    const padding = 'x'.repeat(4 * DETECT_HEAD_BYTES);
    expect(await claims(new TextEncoder().encode(`{"format": "${padding}", "weightsManifest": []}`))).toEqual(['tfjs']);
  });

  it('a .keras archive by its entries; a zip of other entries is no format', async () => {
    expect(await claims(buildZip([{ name: 'metadata.json', data: '{}' }, { name: 'config.json', data: '{}' }, { name: 'model.weights.h5', data: 'x' }]))).toEqual(['keras']);
    expect(await claims(buildZip([{ name: 'config.json', data: '{}' }]))).toEqual([]);
    // A torch zip that is also a Keras archive: both claim it, torch first (it names the file in a scan).
    expect(await claims(buildZip([{ name: 'a/data.pkl', data: '\x80\x02}q\x00.' }, { name: 'config.json', data: '{}' }, { name: 'metadata.json', data: '{}' }]))).toEqual(['pytorch', 'keras']);
  });

  it('every entry name is shown to the detectors: a data.pkl after 4,100 .npy members makes a torch zip, not an npz', async () => {
    const npys = Array.from({ length: 4100 }, (_, i) => ({ name: `m/extra/a${i}.npy`, data: '\x93NUMPY' }));
    expect(await claims(buildZip([...npys, { name: 'm/data.pkl', data: '\x80\x02}q\x00.' }]))).toEqual(['pytorch']);
    expect(await claims(buildZip([...npys, { name: 'm/notes.txt', data: 'x' }]))).toEqual([]);
    expect(await claims(buildZip(npys))).toEqual(['numpy']);
  });

  it('a legacy Keras .h5 by its model_config attribute, past the first 512 bytes; another HDF5 file is HDF5', async () => {
    for (const f of ['keras2-lambda.h5', 'keras2-lambda-fixed-string.h5', 'keras2-lambda-dense-attributes.h5']) expect([f, await claims(file(SCAN_FIXTURES, f))]).toEqual([f, ['keras', 'hdf5']]);
    expect(await claims(file(SCAN_FIXTURES, 'plain.h5'))).toEqual(['hdf5']);
  });

  it('files that are no model format are claimed by none', async () => {
    expect(await claims(new Uint8Array(0))).toEqual([]);
    expect(await claims(new TextEncoder().encode('import os\n'), 'x.pt')).toEqual([]);
    expect(await claims(Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a), 'x.pt')).toEqual([]);
  });
});

describe.skipIf(!HAVE_CORPUS)('format registry on the shared corpus', () => {
  const BY_EXTENSION: Record<string, string> = { '.safetensors': 'safetensors', '.gguf': 'gguf', '.onnx': 'onnx', '.tflite': 'tflite', '.keras': 'keras', '.h5': 'keras' };
  const rows = formatsCorpus().filter((r) => r.label !== 'malformed' && BY_EXTENSION[path.extname(r.file)] !== undefined);

  it('has files of every format named by extension', () => {
    expect(new Set(rows.map((r) => BY_EXTENSION[path.extname(r.file)]))).toEqual(new Set(Object.values(BY_EXTENSION)));
  });

  it.each(rows.map((r) => r.file))('%s', async (name) => {
    const expected = BY_EXTENSION[path.extname(name)]!;
    expect(await claims(file(CORPUS, 'formats', name), name)).toContain(expected);
  });
});
