import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { findModel } from '../src/node/model-files.js';
import { openModel } from '../src/node/open-model.js';
import { convertModel } from '../src/node/convert.js';
import { saveFileSync } from '../src/node/files.js';
import { TORCH_FIXTURES } from './helpers/torch-fixtures.js';
import { ROOT } from './helpers/paths.js';
import { tempDir } from './helpers/temp.js';

/** Model discovery asks the format registry: ids from it, bytes for a named file, extensions in a folder. */
const NUMPY_FIXTURES = path.join(ROOT, 'test', 'fixtures', 'formats', 'numpy');
const tmp = tempDir('model-files');
const at = (...parts: string[]): string => path.join(tmp, ...parts);
const safetensors = (file: string): void => saveFileSync({ w: { dtype: 'F32', shape: [1], data: new Float32Array([1]) } }, file);

describe('findModel', () => {
  it('a named file: its format from its bytes, whatever its name says when the name says nothing', async () => {
    fs.copyFileSync(path.join(TORCH_FIXTURES, 'tied_zip.pt'), at('checkpoint'));
    expect(await findModel(at('checkpoint'))).toMatchObject({ format: 'pytorch', files: [at('checkpoint')] });
    safetensors(at('weights'));
    expect((await findModel(at('weights'))).format).toBe('safetensors');
  });

  it('the bytes decide whenever a registered format claims them, whatever the name says', async () => {
    // A torch zip named .npy is PyTorch (not an "npz" of 0 tensors); an .npy named .pt, .bin or
    // .safetensors is NumPy (not "not a PyTorch checkpoint", not "already safetensors").
    fs.copyFileSync(path.join(TORCH_FIXTURES, 'tied_zip.pt'), at('zip_as.npy'));
    expect((await findModel(at('zip_as.npy'))).format).toBe('pytorch');
    for (const name of ['npy_as.pt', 'npy_as.bin', 'npy_as.safetensors']) {
      fs.copyFileSync(path.join(NUMPY_FIXTURES, 'dtype_f4.npy'), at(name));
      expect((await findModel(at(name))).format).toBe('numpy');
    }
    fs.copyFileSync(path.join(NUMPY_FIXTURES, 'stored.npz'), at('npz_as.pt'));
    expect((await findModel(at('npz_as.pt'))).format).toBe('numpy');
    // A legacy torch pickle named .safetensors is read as what it is, never opened as safetensors.
    fs.copyFileSync(path.join(TORCH_FIXTURES, 'tied_legacy.pt'), at('legacy.safetensors'));
    expect((await findModel(at('legacy.safetensors'))).format).toBe('pytorch');
  });

  it('bytes no format claims: the name\'s format reads them, and its reader says what they are', async () => {
    fs.writeFileSync(at('lfs.bin'), 'version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 1\n');
    expect((await findModel(at('lfs.bin'))).format).toBe('pytorch');
    // A protocol 0 pickle has no signature: only its name says it is a checkpoint.
    fs.writeFileSync(at('proto0.pt'), "(dp0\nVw\np1\nI1\ns.");
    expect((await findModel(at('proto0.pt'))).format).toBe('pytorch');
    fs.writeFileSync(at('page.safetensors'), '<!DOCTYPE html><html></html>\n');
    expect((await findModel(at('page.safetensors'))).format).toBe('safetensors');
  });

  it('a file no format reads, by bytes or name: NotAModel, saying what it is', async () => {
    fs.writeFileSync(at('notes.dat'), 'hello\n');
    await expect(findModel(at('notes.dat'))).rejects.toMatchObject({ code: 'NotAModel', message: expect.stringMatching(/notes\.dat .*a text file/) });
  });

  it('a folder: each format by its extensions; prefer and avoid pick among several', async () => {
    const dir = at('both');
    fs.mkdirSync(dir);
    fs.copyFileSync(path.join(TORCH_FIXTURES, 'tied_zip.pt'), path.join(dir, 'pytorch_model.bin'));
    fs.copyFileSync(path.join(TORCH_FIXTURES, 'tied_zip.pt'), path.join(dir, 'optimizer.pt'));
    safetensors(path.join(dir, 'model.safetensors'));
    expect((await findModel(dir)).format).toBe('safetensors');
    expect(await findModel(dir, { avoid: 'safetensors' })).toMatchObject({ format: 'pytorch', files: [path.join(dir, 'pytorch_model.bin')] });
    expect((await findModel(dir, { prefer: 'pytorch' })).format).toBe('pytorch');
    expect((await findModel(dir, 'pytorch')).format).toBe('pytorch');
  });

  it('a folder of several models beside an output (even an empty one) is AmbiguousModel, never the output', async () => {
    const dir = at('two-and-output');
    fs.mkdirSync(dir);
    fs.copyFileSync(path.join(TORCH_FIXTURES, 'tied_legacy.pt'), path.join(dir, 'legacy.pt'));
    fs.copyFileSync(path.join(TORCH_FIXTURES, 'tied_zip.pt'), path.join(dir, 'sd.pt'));
    fs.writeFileSync(path.join(dir, 'model.safetensors'), '');
    const ambiguous = { code: 'AmbiguousModel', message: expect.stringMatching(/holds several models \(legacy\.pt, sd\.pt\); name the one to use/) };
    await expect(findModel(dir, { avoid: 'safetensors' })).rejects.toMatchObject(ambiguous);
    await expect(convertModel(dir)).rejects.toMatchObject(ambiguous);
    const numpy = at('numpy-and-output');
    fs.mkdirSync(numpy);
    fs.copyFileSync(path.join(NUMPY_FIXTURES, 'dtype_f4.npy'), path.join(numpy, 'f32.npy'));
    fs.copyFileSync(path.join(NUMPY_FIXTURES, 'stored.npz'), path.join(numpy, 'plain.npz'));
    safetensors(path.join(numpy, 'plain.safetensors'));
    await expect(convertModel(numpy)).rejects.toMatchObject({ code: 'AmbiguousModel', message: expect.stringMatching(/\(f32\.npy, plain\.npz\)/) });
    // A folder holding only an output: that is what is found (convert says it is already converted).
    const only = at('only-output');
    fs.mkdirSync(only);
    safetensors(path.join(only, 'model.safetensors'));
    expect((await findModel(only, { avoid: 'safetensors' })).format).toBe('safetensors');
    await expect(convertModel(only)).rejects.toMatchObject({ code: 'NotACheckpoint', message: expect.stringMatching(/already safetensors/) });
  });

  it('a sharded set by its index: the shards\' format', async () => {
    const dir = at('sharded');
    fs.mkdirSync(dir);
    for (const f of fs.readdirSync(path.join(TORCH_FIXTURES, 'sharded'))) fs.copyFileSync(path.join(TORCH_FIXTURES, 'sharded', f), path.join(dir, f));
    const model = await findModel(dir);
    expect(model.format).toBe('pytorch');
    expect(model.files.map((f) => path.basename(f))).toEqual(['pytorch_model-00001-of-00002.bin', 'pytorch_model-00002-of-00002.bin']);
    expect(model.index).toBe(path.join(dir, 'pytorch_model.bin.index.json'));
  });

  it('a TF.js folder: the JSON (model.json or another name) is the model, its one shard .bin is no checkpoint', async () => {
    for (const [dir, json, shard] of [['tfjs-one', 'model.json', 'group1-shard1of1.bin'], ['tfjs-named', 'bundle.json', 'bundle_weights.bin']] as const) {
      fs.mkdirSync(at(dir));
      const group = { paths: [shard], weights: [{ name: 'w', shape: [1], dtype: 'float32' }] };
      fs.writeFileSync(at(dir, json), JSON.stringify({ modelTopology: {}, weightsManifest: [group] }));
      fs.writeFileSync(at(dir, shard), new Uint8Array(new Float32Array([3]).buffer));
      expect(await findModel(at(dir))).toMatchObject({ format: 'tfjs', files: [at(dir, json)] });
    }
  });

  it('an empty folder is NotFound, naming every registered extension', async () => {
    fs.mkdirSync(at('empty'));
    await expect(findModel(at('empty'))).rejects.toMatchObject({ code: 'NotFound', message: expect.stringMatching(/\.safetensors.*\.pt/) });
  });
});

describe('openModel', () => {
  it('a sharded set of any format must hold exactly what its index says (ShardMismatch), as safetensors sets must', async () => {
    const dir = at('sharded-mismatch');
    fs.mkdirSync(dir);
    for (const f of fs.readdirSync(path.join(TORCH_FIXTURES, 'sharded'))) fs.copyFileSync(path.join(TORCH_FIXTURES, 'sharded', f), path.join(dir, f));
    const set = await openModel(dir);
    expect(set.tensors.length).toBe(10);
    await set.close();
    const indexPath = path.join(dir, 'pytorch_model.bin.index.json');
    const index = JSON.parse(fs.readFileSync(indexPath, 'utf8'));
    delete index.weight_map['lm_head.weight'];
    fs.writeFileSync(indexPath, JSON.stringify(index));
    await expect(openModel(dir)).rejects.toMatchObject({ code: 'ShardMismatch', message: expect.stringMatching(/contains tensor `lm_head\.weight`, which the index does not list/) });
  });
});
