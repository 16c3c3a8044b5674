// Whole-model pickles (torch.save(model), {"model": <Module>, ...}): converted to exactly what
// model.state_dict() gives, with nothing imported. Fixtures: test/fixtures/torch-modules, written by
// scripts/make-module-fixtures.py with torch 1.13 (expected values are the loaded model's state_dict()).
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { convertCheckpoint } from '../src/node/convert.js';
import { loadFileSync } from '../src/node/files.js';
import { safeOpen } from '../src/node/open-path.js';
import { FileSource } from '../src/node/file-source.js';
import { openTorchTensorSet } from '../src/formats/torch/weights.js';
import { readEntry } from '../src/tensor/tensor-set.js';
import { MemorySource } from '../src/io/byte-source.js';
import { MAX_MODULE_NAMES } from '../src/formats/torch/modules.js';
import { runCli } from './helpers/cli.js';
import { ROOT } from './helpers/paths.js';
import type { Expected } from './helpers/torch-fixtures.js';

const DIR = path.join(ROOT, 'test', 'fixtures', 'torch-modules');

interface ModuleExpected extends Expected {
  module_classes?: string[];
  left_out?: string[];
}
interface Fixture {
  file: string;
  format: string;
  expected: ModuleExpected;
}

const fixtures: Fixture[] = fs
  .readFileSync(path.join(DIR, 'MANIFEST.tsv'), 'utf8')
  .split('\n')
  .filter((l) => l && !l.startsWith('#') && !l.startsWith('file\t'))
  .map((l) => {
    const [file, format, expected] = l.split('\t') as [string, string, string];
    return { file, format, expected: JSON.parse(fs.readFileSync(path.join(DIR, expected), 'utf8')) as ModuleExpected };
  });
const converted = fixtures.filter((f) => !f.expected.expect_error);
const byName = (file: string): Fixture => fixtures.find((f) => f.file === file)!;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tensorsafe-modules-'));
const sha = (b: ArrayBufferView): string => createHash('sha256').update(new Uint8Array(b.buffer, b.byteOffset, b.byteLength)).digest('hex');
const FORMATS: Record<string, string> = { zip: 'pytorch-zip', legacy: 'pytorch-legacy' };

/** A fresh copy of a fixture in its own folder, so outputs land beside it. */
function copy(file: string): string {
  const dir = fs.mkdtempSync(path.join(tmp, 'case-'));
  const target = path.join(dir, file);
  fs.copyFileSync(path.join(DIR, file), target);
  return target;
}

describe('whole-model fixtures', () => {
  it('list every file, with expected values that hash to their sha256', () => {
    const listed = new Set(['MANIFEST.tsv', ...fixtures.flatMap((f) => [f.file, f.file.replace(/\.pt$/, '.expected.json')])]);
    expect(fs.readdirSync(DIR).filter((f) => !listed.has(f))).toEqual([]);
    for (const f of fixtures) expect(fs.statSync(path.join(DIR, f.file)).size, f.file).toBeLessThan(100_000);
    for (const f of converted) {
      for (const [name, t] of Object.entries(f.expected.tensors!)) expect(sha(Buffer.from(t.hex!, 'hex')), `${f.file} ${name}`).toBe(t.sha256);
    }
  });

  it('cover the cases of issue 8', () => {
    const all = converted.flatMap((f) => Object.keys(f.expected.tensors!));
    expect(all).toEqual(expect.arrayContaining(['features.1.running_mean', 'features.1.num_batches_tracked', 'heads.cls.proj.weight', 'shared.weight']));
    const classes = new Set(converted.flatMap((f) => f.expected.module_classes!));
    for (const c of ['__main__.Net', 'tinypkg.models.TinyNet', 'torch.nn.modules.container.Sequential', 'torch.nn.modules.container.ModuleList', 'torch.nn.modules.container.ModuleDict']) {
      expect(classes.has(c), c).toBe(true);
    }
    expect(byName('module_main.pt').expected.shared).toContainEqual(['emb.weight', 'heads.cls.proj.weight']);
    expect(byName('module_legacy.pt').format).toBe('legacy');
  });
});

describe('openTorchTensorSet: a module tree is read as its state_dict()', () => {
  it.each(converted.map((f) => [f.file, f] as const))('%s', async (_n, fixture) => {
    const exp = fixture.expected;
    // Pure module trees need no --skip-unknown: their classes are only ever used as module objects.
    const set = await openTorchTensorSet(await FileSource.open(path.join(DIR, fixture.file)), { skipUnknown: exp.needs_skip_unknown });
    try {
      expect(set.format).toBe(FORMATS[fixture.format]);
      expect(set.weightsPath).toBe(exp.key ?? '');
      // Exactly the state_dict's names, in its order (parameters, buffers, then children, depth first).
      expect(set.tensors.map((t) => t.name)).toEqual(Object.keys(exp.tensors!));
      for (const t of set.tensors) {
        const w = exp.tensors![t.name]!;
        expect([t.name, t.dtype, t.shape]).toEqual([t.name, w.dtype, w.shape]);
        expect([t.name, sha(await readEntry(t))]).toEqual([t.name, w.sha256]);
      }
      // Tied and shared weights are one view: one alias key per group.
      const alias = new Map(set.tensors.map((t) => [t.name, t.aliasKey]));
      for (const group of exp.shared ?? []) expect(new Set(group.map((n) => alias.get(n))).size, group.join()).toBe(1);
      expect(set.moduleClasses).toEqual(exp.module_classes);
      expect(set.notes.join('\n')).toContain(`module classes met (read as data, never imported): ${exp.module_classes!.join(', ')}`);
      expect(set.leftOut.map((l) => l.path)).toEqual(expect.arrayContaining(exp.left_out!));
      expect(set.checkpoint.placeholders.filter((p) => exp.module_classes!.includes(p.global))).toEqual([]);
    } finally {
      await set.close();
    }
  });

  it('says what the module holds besides its state_dict', async () => {
    const set = await openTorchTensorSet(await FileSource.open(path.join(DIR, 'module_main.pt')));
    await set.close();
    const what = Object.fromEntries(set.leftOut.map((l) => [l.path, l.what]));
    expect(what['stride']).toBe('tensor attribute (not in the state_dict)');
    expect(what['cache']).toBe('non-persistent buffer (not in the state_dict)');
    expect(set.tensors.map((t) => t.name)).not.toContain('unused');
    expect(set.tensors.map((t) => t.name)).not.toContain('missing');
  });

  it('--key goes into a module by its children’s names', async () => {
    const set = await openTorchTensorSet(await FileSource.open(path.join(DIR, 'module_yolo_like.pt')), { key: 'model.features' });
    await set.close();
    const want = Object.keys(byName('module_yolo_like.pt').expected.tensors!).filter((n) => n.startsWith('features.')).map((n) => n.slice('features.'.length));
    expect(set.tensors.map((t) => t.name)).toEqual(want);
    expect(set.moduleClasses).toEqual(['torch.nn.modules.container.Sequential', 'torch.nn.modules.conv.Conv2d', 'torch.nn.modules.batchnorm.BatchNorm2d', 'torch.nn.modules.activation.ReLU']);
  });

  it('a module holding a plain user object is refused without --skip-unknown, naming that class and why', async () => {
    const source = await FileSource.open(path.join(DIR, 'module_with_config.pt'));
    await expect(openTorchTensorSet(source)).rejects.toMatchObject({
      code: 'UnsupportedGlobal',
      message: expect.stringMatching(/names __main__\.Config, .*not read as a torch module object .*state that is not that of a torch module object \(dict\(2\)\).*--skip-unknown/),
    });
    await source.close();
  });

  it('a module holding a dangerous global is refused, also with --skip-unknown', async () => {
    for (const skipUnknown of [false, true]) {
      const source = await FileSource.open(path.join(DIR, 'module_dangerous.pt'));
      await expect(openTorchTensorSet(source, { skipUnknown })).rejects.toMatchObject({ code: 'UnsafeGlobal', message: expect.stringContaining('posix.system') });
      await source.close();
    }
  });
});

describe('module trees that are not a state_dict', () => {
  const SEQ = 'ctorch.nn.modules.container\nSequential\n)\x81';
  const STATE = (children: string): string => `}(U\x0b_parameters}U\x08_buffers}U\x08_modules}${children}u`;
  const open = (bytes: Uint8Array) => openTorchTensorSet(new MemorySource(bytes, 'crafted.pkl'));

  it('a submodule shared 2^40 times over is refused at MAX_MODULE_NAMES, not walked', async () => {
    // Level i holds level i-1 under two names: torch's state_dict would make 2^40 names.
    const parts: (string | number[])[] = [[0x80, 2], SEQ, STATE(''), 'bq\x00'];
    for (let i = 1; i <= 40; i++) parts.push('0', SEQ, STATE(`(U\x01ah${String.fromCharCode(i - 1)}U\x01bh${String.fromCharCode(i - 1)}u`), `bq${String.fromCharCode(i)}`);
    parts.push('.');
    const bytes = Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...Buffer.from(p, 'latin1')] : p)));
    await expect(open(bytes)).rejects.toMatchObject({ code: 'CheckpointLimit', message: expect.stringContaining(`more than ${MAX_MODULE_NAMES} names`) });
  });

  it('a module with 200 000 parameters is named without overflowing the call stack', async () => {
    // One meta tensor (no storage) under 200 000 names: read to the end, then refused as unsupported.
    const head = `\x80\x02ctorch.nn.modules.linear\nLinear\n)\x81}(U\x0b_parametersccollections\nOrderedDict\n)R(U\x02p0ctorch._utils\n_rebuild_meta_tensor_no_storage\n)Rq\x00`;
    const items: string[] = [];
    for (let i = 1; i < 200_000; i++) items.push(`X${String.fromCharCode(...new Uint8Array(new Uint32Array([`p${i}`.length]).buffer))}p${i}h\x00`);
    const bytes = Uint8Array.from(Buffer.from(`${head}${items.join('')}uU\x08_buffers}U\x08_modules}ub.`, 'latin1'));
    await expect(open(bytes)).rejects.toMatchObject({ code: 'UnsupportedTensor', message: expect.stringContaining('`p0` is a meta tensor') });
  });

  it('a module that contains itself has no state_dict', async () => {
    // m._modules['self'] = m: the child is the parent, built before its own state is complete.
    const bytes = Uint8Array.from(Buffer.from(`\x80\x02${SEQ}q\x00${STATE('(U\x04selfh\x00u')}b.`, 'latin1'));
    await expect(open(bytes)).rejects.toMatchObject({ code: 'InvalidCheckpoint', message: expect.stringContaining('contains itself') });
  });
});

describe('convert: whole-model pickles', () => {
  it.each(converted.map((f) => [f.file, f] as const))('%s converts to the state_dict, bit for bit', async (_n, fixture) => {
    const exp = fixture.expected;
    const src = copy(fixture.file);
    const summary = await convertCheckpoint(src, { skipUnknown: exp.needs_skip_unknown });
    expect(summary.verified).toBe(true);
    expect(summary.weightsPath).toBe(exp.key ?? '');
    expect(summary.moduleClasses).toEqual(exp.module_classes);
    const out = summary.outputs[0]!;
    const tensors = loadFileSync(out);
    const file = await safeOpen(out);
    const metadata = file.metadata()!;
    await file.close();
    const shared = exp.shared ?? [];
    for (const [name, w] of Object.entries(exp.tensors!)) {
      const group = shared.find((g) => g.includes(name));
      const kept = group ? [...group].sort()[0]! : name;
      if (kept !== name) expect(metadata[name]).toBe(kept);
      const t = tensors.get(kept)!;
      expect([name, t.dtype, t.shape, sha(t.data)]).toEqual([name, w.dtype, w.shape, w.sha256]);
    }
    // Nothing else: the written names plus the removed tied names are exactly the state_dict's keys.
    expect([...tensors.keys(), ...Object.keys(summary.sharedRemoved)].sort()).toEqual(Object.keys(exp.tensors!).sort());
  });

  it('the CLI converts a pure module tree without --skip-unknown and names the classes met', async () => {
    const src = copy('module_main.pt');
    const r = await runCli('convert', src);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/module classes met \(read as data, never imported\): __main__\.Net, torch\.nn\.modules\.sparse\.Embedding, .*__main__\.Head/);
    expect(r.stdout).toContain('  cache: non-persistent buffer (not in the state_dict)');
    const out = path.join(path.dirname(src), 'module_main.safetensors');
    const exp = byName('module_main.pt').expected;
    expect(loadFileSync(out).size).toBe(Object.keys(exp.tensors!).length - exp.shared!.length);
    // verify reads the whole-model pickle the same way: every state_dict name matches, tied names included.
    const v = await runCli('verify', src, out);
    expect(v.code).toBe(0);
    expect(v.stdout).toContain(`${Object.keys(exp.tensors!).length} tensors: ${Object.keys(exp.tensors!).length} identical`);
  });

  it('the CLI --json summary carries the module classes', async () => {
    const src = copy('module_package.pt');
    const r = await runCli('convert', src, '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).moduleClasses).toEqual(byName('module_package.pt').expected.module_classes);
  });

  it('the "not converted" summary tells floats from ints', async () => {
    const r = await runCli('convert', copy('module_yolo_like.pt'));
    expect(r.code).toBe(0);
    expect(r.lines).toEqual(expect.arrayContaining(['  epoch: int 3', '  best_fitness: float 1.0', '  lr: float 0.001']));
  });

  it('the summary counts one tensor as "1 tensor"', async () => {
    const r = await runCli('convert', copy('module_single.pt'));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^1 tensor, 12 B/m);
  });

  it('a module holding a plain user object needs --skip-unknown; with it, the module is still converted', async () => {
    const src = copy('module_with_config.pt');
    const refused = await runCli('convert', src);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/__main__\.Config.*--skip-unknown/);
    expect(fs.readdirSync(path.dirname(src))).toEqual(['module_with_config.pt']);
    const summary = await convertCheckpoint(src, { skipUnknown: true });
    expect(summary.leftOut.some((l) => l.what === 'placeholder for __main__.Config')).toBe(true);
    expect(summary.moduleClasses).toEqual(['__main__.WithConfig', 'torch.nn.modules.linear.Linear']);
  });

  it('a module holding os.system is refused by the scanner and leaves nothing', async () => {
    const src = copy('module_dangerous.pt');
    for (const skipUnknown of [false, true]) await expect(convertCheckpoint(src, { skipUnknown })).rejects.toMatchObject({ code: 'UnsafeFile' });
    const r = await runCli('convert', src, '--skip-unknown');
    expect(r.code).toBe(1);
    expect(fs.readdirSync(path.dirname(src))).toEqual(['module_dangerous.pt']);
  });
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
