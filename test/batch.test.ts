import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { convertFolder, findModels } from '../src/node/batch.js';
import { convertCheckpoint } from '../src/node/convert.js';
import { TORCH_FIXTURES } from './helpers/torch-fixtures.js';
import { ROOT } from './helpers/paths.js';
import { tempDir } from './helpers/temp.js';

const EVIL = Uint8Array.from([0x80, 2, ...Buffer.from('cposix\nsystem\nX\x02\x00\x00\x00id\x85R.', 'latin1')]);

/** A tree of models of every kind: good, sharded, already converted, dangerous, broken, not a model. */
async function tree(): Promise<string> {
  const root = tempDir('batch');
  const put = (rel: string, from: string | Uint8Array): void => {
    const p = path.join(root, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    if (typeof from === 'string') fs.copyFileSync(path.join(TORCH_FIXTURES, from), p);
    else fs.writeFileSync(p, from);
  };
  put('gpt/pytorch_model.bin', 'sample/pytorch_model.bin');
  put('legacy/weights.pt', 'model_state_dict_legacy.bin');
  for (const f of fs.readdirSync(path.join(TORCH_FIXTURES, 'sharded'))) put(`sharded/${f}`, `sharded/${f}`);
  put('done/pytorch_model.bin', 'tied_zip.pt');
  await convertCheckpoint(path.join(root, 'done/pytorch_model.bin'));
  put('evil/model.pt', Uint8Array.from([...EVIL, ...fs.readFileSync(path.join(TORCH_FIXTURES, 'tied_zip.pt'))]));
  put('broken/model.ckpt', fs.readFileSync(path.join(TORCH_FIXTURES, 'dtypes_zip.pt')).subarray(0, 700));
  put('training/optimizer.pt', 'tied_zip.pt');
  put('notes/readme.txt', Uint8Array.from(Buffer.from('hello')));
  return root;
}

const leftovers = (dir: string): string[] =>
  fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && e.name.endsWith('.tmp')).map((e) => e.name);

describe('batch conversion', () => {
  it('finds every model: sharded sets once, single checkpoints, not optimizers or other files', async () => {
    const root = await tree();
    const found = findModels(root).map((m) => path.relative(root, m.path)).sort();
    expect(found).toEqual(['broken/model.ckpt', 'done/pytorch_model.bin', 'evil/model.pt', 'gpt/pytorch_model.bin', 'legacy/weights.pt', 'sharded/pytorch_model.bin.index.json']);
  });

  it('scans, converts and verifies each; skips, refuses and fails without stopping the rest (in-process)', async () => {
    const root = await tree();
    const report = await convertFolder(root, { jobs: 1 });
    const by = Object.fromEntries(report.models.map((m) => [path.relative(root, m.path), m]));
    expect(by['gpt/pytorch_model.bin']).toMatchObject({ status: 'converted', verified: true });
    expect(by['legacy/weights.pt']).toMatchObject({ status: 'converted', verified: true });
    expect(by['sharded/pytorch_model.bin.index.json']).toMatchObject({ status: 'converted', verified: true });
    expect(by['sharded/pytorch_model.bin.index.json']!.outputs.map((o) => path.basename(o))).toEqual([
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
      'model.safetensors.index.json',
    ]);
    expect(by['done/pytorch_model.bin']).toMatchObject({ status: 'skipped' });
    expect(by['evil/model.pt']).toMatchObject({ status: 'refused', verified: false });
    expect(by['evil/model.pt']!.reason).toMatch(/^UnsafeFile: .*posix\.system/);
    expect(by['broken/model.ckpt']).toMatchObject({ status: 'failed' });
    expect(report.summary).toMatchObject({ models: 6, converted: 3, skipped: 1, refused: 1, failed: 1 });
    for (const m of report.models) expect(m.bytesIn).toBeGreaterThan(0);
    expect(fs.existsSync(path.join(root, 'legacy/weights.safetensors'))).toBe(true);
    expect(fs.readdirSync(path.join(root, 'evil'))).toEqual(['model.pt']);
    expect(fs.readdirSync(path.join(root, 'broken'))).toEqual(['model.ckpt']);
    expect(leftovers(root)).toEqual([]);
    // A second run skips what was converted.
    const again = await convertFolder(root, { jobs: 1 });
    expect(again.summary).toMatchObject({ converted: 0, skipped: 4, refused: 1, failed: 1 });
  });

  it('takes every format tensorsafe reads; a NumPy object array (its data a pickle) is refused, not failed', async () => {
    const root = tempDir('batch-numpy');
    const numpy = path.join(ROOT, 'test', 'fixtures', 'formats', 'numpy');
    for (const [rel, fixture] of [['a/labels.npy', 'object.npy'], ['a/w.npy', 'dtype_f4.npy'], ['b/arrays.npz', 'stored.npz'], ['c/model.pt', '']] as const) {
      fs.mkdirSync(path.join(root, path.dirname(rel)), { recursive: true });
      fs.copyFileSync(fixture ? path.join(numpy, fixture) : path.join(TORCH_FIXTURES, 'tied_zip.pt'), path.join(root, rel));
    }
    const report = await convertFolder(root, { jobs: 1 });
    const by = Object.fromEntries(report.models.map((m) => [path.relative(root, m.path), m]));
    expect(by['a/labels.npy']).toMatchObject({ status: 'refused', code: 'ObjectArray', verified: false, reason: expect.stringMatching(/^ObjectArray: .*a pickle/) });
    expect(by['a/w.npy']).toMatchObject({ status: 'converted', verified: true });
    expect(by['b/arrays.npz']).toMatchObject({ status: 'converted', verified: true });
    expect(by['c/model.pt']).toMatchObject({ status: 'converted', verified: true });
    expect(report.summary).toMatchObject({ models: 4, converted: 3, refused: 1, failed: 0 });
    expect(fs.readdirSync(path.join(root, 'a')).sort()).toEqual(['labels.npy', 'w.npy', 'w.safetensors']);
    // The CLI: a refusal is a finding (1), as a dangerous file's is, not bad input (3).
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/tensorsafe.js'), 'convert', root, '--recursive', '--jobs', '2'], { encoding: 'utf8' });
    expect(r.stdout).toMatch(/4 models: 0 converted, 3 skipped, 1 refused, 0 failed/);
    expect(r.stdout).toMatch(/refused +.*labels\.npy: ObjectArray/);
    expect(r.status).toBe(1);
  });

  it('the CLI: worker threads, a JSON and a Markdown report, exit 3 when a model is broken (worse than refused: 1)', () => {
    return tree().then((root) => {
      const report = path.join(root, 'report.json');
      const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/tensorsafe.js'), 'convert', root, '--recursive', '--jobs', '3', '--report', report], { encoding: 'utf8' });
      expect(r.status).toBe(3);
      expect(r.stdout).toMatch(/6 models: 3 converted, 1 skipped, 1 refused, 1 failed/);
      const json = JSON.parse(fs.readFileSync(report, 'utf8'));
      expect(json.summary).toMatchObject({ models: 6, converted: 3, skipped: 1, refused: 1, failed: 1 });
      expect(Object.keys(json.models[0]).sort()).toEqual(['bytesIn', 'bytesOut', 'outputs', 'path', 'seconds', 'status', 'verified'].concat(json.models[0].reason ? ['reason'] : [], json.models[0].code ? ['code'] : []).sort());
      const md = fs.readFileSync(path.join(root, 'report.md'), 'utf8');
      expect(md).toMatch(/^### ❌ tensorsafe: 6 models: 3 converted, 1 skipped, 1 refused, 1 failed/);
      expect(md).toMatch(/⛔ refused/);
      expect(leftovers(root)).toEqual([]);
      const clean = tempDir('batch-ok');
      fs.copyFileSync(path.join(TORCH_FIXTURES, 'tied_zip.pt'), path.join(clean, 'a.pt'));
      const ok = spawnSync(process.execPath, [path.join(ROOT, 'bin/tensorsafe.js'), 'convert', clean, '-r', '--json'], { encoding: 'utf8' });
      expect(ok.status).toBe(0);
      expect(JSON.parse(ok.stdout).summary).toMatchObject({ converted: 1 });
    });
  });
});

describe('TF.js models in a folder: their shards are their parts, whatever the JSON file is named', () => {
  /** A float32 TF.js model: its JSON (`json`, a model.json or a bare manifest) and one shard `shard`. */
  const tfjsModel = (dir: string, jsonName: string, shard: string, bare: boolean): void => {
    fs.mkdirSync(dir, { recursive: true });
    const group = { paths: [shard], weights: [{ name: 'dense/kernel', shape: [2], dtype: 'float32' }] };
    const json = bare ? [group] : { format: 'layers-model', modelTopology: {}, weightsManifest: [group] };
    fs.writeFileSync(path.join(dir, jsonName), JSON.stringify(json));
    // Bytes no format claims: a shard is neither a pickle nor anything else, only floats.
    fs.writeFileSync(path.join(dir, shard), new Uint8Array(new Float32Array([1.5, -2.25]).buffer));
  };

  it('findModels and convertFolder take the JSON (model.json, a bare weights_manifest.json, a model saved as bundle.json), never a shard .bin', async () => {
    const root = tempDir('batch-tfjs');
    tfjsModel(path.join(root, 'a'), 'model.json', 'group1-shard1of1.bin', false);
    tfjsModel(path.join(root, 'b'), 'weights_manifest.json', 'group1-shard1of1.bin', true);
    tfjsModel(path.join(root, 'c'), 'bundle.json', 'bundle_weights.bin', false);
    fs.writeFileSync(path.join(root, 'c', 'config.json'), '{"hidden_size": 4}');
    expect(findModels(root).map((m) => path.relative(root, m.path))).toEqual(['a/model.json', 'b/weights_manifest.json', 'c/bundle.json']);
    const report = await convertFolder(root, { jobs: 1 });
    expect(report.summary).toMatchObject({ models: 3, converted: 3, failed: 0 });
    expect(fs.readdirSync(path.join(root, 'b')).sort()).toEqual(['group1-shard1of1.bin', 'weights_manifest.json', 'weights_manifest.safetensors']);
  });
});

describe('a model with no weights in a folder', () => {
  it('is skipped with its reason (NoTensors), not failed: the run exits 0', async () => {
    const root = tempDir('batch-weightless');
    fs.mkdirSync(path.join(root, 'graph'));
    fs.writeFileSync(path.join(root, 'graph', 'model.json'), JSON.stringify({ format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [] }));
    fs.copyFileSync(path.join(ROOT, 'test/fixtures/formats/tflite/types.tflite'), path.join(root, 'types.tflite'));
    const report = await convertFolder(root, { jobs: 1 });
    expect(report.summary).toMatchObject({ models: 2, converted: 1, skipped: 1, failed: 0 });
    const weightless = report.models.find((m) => m.path.endsWith('model.json'))!;
    expect(weightless).toMatchObject({ status: 'skipped', code: 'NoTensors', outputs: [] });
    expect(weightless.reason).toMatch(/no tensors to convert/);
    expect(fs.readdirSync(path.join(root, 'graph'))).toEqual(['model.json']);
    const cli = spawnSync(process.execPath, [path.join(ROOT, 'bin/tensorsafe.js'), 'convert', root, '--recursive', '--force'], { encoding: 'utf8' });
    expect(cli.status, cli.stderr).toBe(0);
  });
});

describe('Core ML packages and compiled models in a folder', () => {
  it('each .mlpackage and .mlmodelc is one model, converted beside the folder (never into it, never its coremldata.bin as a .bin checkpoint)', async () => {
    const root = tempDir('batch-coreml');
    for (const name of ['tiny.mlpackage', 'tiny.mlmodelc', 'network.mlmodelc']) {
      fs.cpSync(path.join(ROOT, 'test/fixtures/coreml', name), path.join(root, 'models', name), { recursive: true });
    }
    expect(findModels(root).map((m) => [path.relative(root, m.path), m.outputs.map((o) => path.relative(root, o))])).toEqual([
      ['models/network.mlmodelc', ['models/network.safetensors']],
      ['models/tiny.mlmodelc', ['models/tiny.safetensors']],
      ['models/tiny.mlpackage', ['models/tiny.safetensors']],
    ]);
    fs.rmSync(path.join(root, 'models', 'tiny.mlmodelc'), { recursive: true });
    const report = await convertFolder(root, { jobs: 1 });
    const by = Object.fromEntries(report.models.map((m) => [path.relative(root, m.path), m]));
    expect(by['models/tiny.mlpackage']).toMatchObject({ status: 'converted', verified: true });
    expect(by['models/network.mlmodelc']).toMatchObject({ status: 'failed', code: 'CoremlUnsupported' });
    expect(fs.readdirSync(path.join(root, 'models')).sort()).toEqual(['network.mlmodelc', 'tiny.mlpackage', 'tiny.safetensors']);
    expect(fs.readdirSync(path.join(root, 'models', 'tiny.mlpackage', 'Data', 'com.apple.CoreML')).sort()).toEqual(['model.mlmodel', 'weights']);
  });
});
