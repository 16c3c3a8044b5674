import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MemorySource } from '../src/io/byte-source.js';
import { openZip } from '../src/formats/zip/index.js';
import { openTorchTensorSet } from '../src/formats/torch/weights.js';
import { MAX_SCRIPT_CODE_BYTES, readClassDeclarations, type ScriptClass } from '../src/formats/torch/script-classes.js';
import { readEntry } from '../src/tensor/tensor-set.js';
import { buildZip, type CraftEntry } from './helpers/zip-writer.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';

/**
 * TorchScript archives beyond what the fixture loop (test/formats.test.ts over
 * test/fixtures/formats/pytorch/torchscript_*.pt, whose expected values are torch.jit.load's
 * state_dict) checks: the declarations read from code/ as text, what is left out, tied weights, the
 * quantized modules refused by path, and archives edited to lie.
 */

const DIR = path.join(import.meta.dirname, 'fixtures', 'formats', 'pytorch');
const fixture = (name: string): Uint8Array => new Uint8Array(fs.readFileSync(path.join(DIR, `torchscript_${name}.pt`)));

/** The archive's records, edited: `edit` returns new bytes, or null to drop the record. */
async function rewrite(bytes: Uint8Array, edit: (name: string, data: Uint8Array) => Uint8Array | string | null | undefined, extra: CraftEntry[] = []): Promise<Uint8Array> {
  const zip = await openZip(new MemorySource(bytes));
  const entries: CraftEntry[] = [];
  for (const e of zip.entries) {
    const data = await e.read();
    const edited = edit(e.name, data);
    if (edited === null) continue;
    entries.push({ name: e.name, data: edited ?? data });
  }
  return buildZip([...entries, ...extra]);
}

const open = (bytes: Uint8Array, name = 'edited.pt') => openTorchTensorSet(new MemorySource(bytes, name));
const text = (d: Uint8Array): string => new TextDecoder().decode(d);

describe('TorchScript class declarations, read as text', () => {
  const read = (source: string): Map<string, ScriptClass> => {
    const m = new Map<string, ScriptClass>();
    readClassDeclarations(source, '__torch__.a', m);
    return m;
  };

  it('reads the two lists torch.jit.save writes, and nothing else', () => {
    const m = read(
      [
        'class Block(Module):',
        '  __parameters__ = ["weight", "bias", ]',
        '  __buffers__ = ["running_mean", ]',
        '  weight : Tensor',
        '  def forward(self: __torch__.a.Block, x: Tensor) -> Tensor:',
        '    __parameters__ = ["not", "this", ]',
        '    return x',
        'class Empty(Module):',
        '  __parameters__ = []',
        '  __buffers__ = []',
        'class Plain:',
        '  x : Tensor',
      ].join('\n'),
    );
    expect(m.get('__torch__.a.Block')).toEqual({ module: true, parameters: ['weight', 'bias'], buffers: ['running_mean'] });
    expect(m.get('__torch__.a.Empty')).toEqual({ module: true, parameters: [], buffers: [] });
    expect(m.get('__torch__.a.Plain')).toEqual({ module: false, parameters: undefined, buffers: undefined });
  });

  it('a list not written exactly as torch writes it is no list', () => {
    const m = read(['class A(Module):', '  __parameters__ = ["w"]', '  __buffers__ = ["b", ] + x', 'class B(Module):', '  __parameters__ = ["w\\"x", ]'].join('\n'));
    expect(m.get('__torch__.a.A')).toEqual({ module: true, parameters: undefined, buffers: undefined });
    expect(m.get('__torch__.a.B')?.parameters).toBeUndefined();
  });

  it('a line at column 0 ends the class', () => {
    const m = read(['class A(Module):', 'x = 1', '  __parameters__ = ["w", ]'].join('\n'));
    expect(m.get('__torch__.a.A')?.parameters).toBeUndefined();
  });
});

describe('TorchScript archives as torch.jit.load reads them', () => {
  it('lists tensor attributes outside the state_dict as left out, and says it is TorchScript with its module tree', async () => {
    const set = await open(fixture('nested_script'));
    expect(set.format).toBe('torchscript');
    expect(set.leftOut).toContainEqual({ path: 'heads.right.offset', what: 'tensor attribute (not in the state_dict)' });
    expect(set.notes.join('\n')).toMatch(/TorchScript archive: a module tree of 13 module\(s\)/);
  });

  it('typed attributes are read as data: the ones holding tensors are left out, listed', async () => {
    const set = await open(fixture('attributes_script'));
    expect(set.tensors.map((t) => t.name)).toEqual(['lin.weight', 'lin.bias']);
    expect(set.leftOut.map((l) => l.path).sort()).toEqual(['table', 'tensors']);
    expect(set.leftOut.find((l) => l.path === 'table')?.what).toMatch(/^dict\(2\) holding tensors/);
  });

  it('a parameter shared by two modules is one tensor under both names', async () => {
    for (const name of ['shared_script', 'shared_trace']) {
      const set = await open(fixture(name));
      const alias = new Map(set.tensors.map((t) => [t.name, t.aliasKey]));
      expect(alias.get('out.weight'), name).toBe(alias.get('embed.weight'));
      expect(alias.get('inner.0.weight'), name).not.toBe(alias.get('embed.weight'));
    }
  });

  it('a submodule under two names is listed under both, its tensors one each', async () => {
    const set = await open(fixture('shared_module_script'));
    const alias = new Map(set.tensors.map((t) => [t.name, t.aliasKey]));
    expect(alias.get('second.weight')).toBe(alias.get('first.weight'));
    expect(alias.get('second.bias')).toBe(alias.get('first.bias'));
    expect(set.notes.join('\n')).toMatch(/a module tree of 4 module\(s\)/);
  });

  it('frozen modules: only constants, named constants.<index>', async () => {
    const set = await open(fixture('frozen'));
    expect(set.tensors.map((t) => t.name)).toEqual(Array.from({ length: 14 }, (_, i) => `constants.${i}`));
    expect(set.notes.join('\n')).toMatch(/14 tensor constant\(s\) of constants\.pkl/);
  });

  it('quantized packed parameters and modules set by __setstate__ are refused by path', async () => {
    await expect(open(fixture('quantized_dynamic'))).rejects.toMatchObject({
      code: 'UnsupportedTensor',
      message: expect.stringMatching(/`0\._packed_params\._packed_params` is a TorchScript custom class object \(__torch__\.torch\.classes\.quantized\.LinearPackedParamsBase/),
    });
    await expect(open(fixture('quantized_conv'))).rejects.toMatchObject({
      code: 'UnsupportedTensor',
      message: expect.stringMatching(/`conv` is a __torch__\.torch\.ao\.nn\.quantized\.modules\.conv\.Conv2d module whose state is set by its own __setstate__ code/),
    });
  });
});

describe('TorchScript archives edited to lie', () => {
  it('without code/, tensors are named by attribute path, and the note says so', async () => {
    const bytes = await rewrite(fixture('nested_script'), (n) => (n.includes('/code/') ? null : undefined));
    const set = await open(bytes);
    expect(set.tensors.map((t) => t.name)).toContain('heads.right.offset');
    expect(set.notes.join('\n')).toMatch(/whose classes code\/ does not declare/);
  });

  it('a submodule whose class code/ does not declare is refused, naming it', async () => {
    const bytes = await rewrite(fixture('nested_script'), (n) => (/code\/__torch__\/torch\/nn\/modules\/normalization.*\.py$/.test(n) ? null : undefined));
    await expect(open(bytes)).rejects.toMatchObject({ code: 'InvalidCheckpoint', message: expect.stringMatching(/`norm` is an object of class __torch__\.torch\.nn\.modules\.normalization\.\S*LayerNorm, which the archive's code\/ does not declare/) });
  });

  it('a declared parameter that is not a tensor is refused', async () => {
    const bytes = await rewrite(fixture('linear_script'), (n, d) => (/code\/.*linear\.py$/.test(n) ? text(d).replace('__parameters__ = ["weight", "bias", ]', '__parameters__ = ["weight", "bias", "training", ]') : undefined));
    await expect(open(bytes)).rejects.toMatchObject({ code: 'InvalidCheckpoint', message: expect.stringMatching(/`training` is declared a parameter of .*Linear but holds/) });
  });

  it('a buffer declared as such is listed; undeclared, it is left out', async () => {
    const undeclared = await rewrite(fixture('nested_script'), (n, d) => (/code\/.*batchnorm.*\.py$/.test(n) ? text(d).replace('"running_var", ', '') : undefined));
    const set = await open(undeclared);
    expect(set.tensors.map((t) => t.name)).not.toContain('seq.2.running_var');
    expect(set.leftOut.map((l) => l.path)).toContain('seq.2.running_var');
  });

  it('a constants/ record missing or of the wrong size is refused, naming it', async () => {
    const missing = await rewrite(fixture('constants_trace'), (n) => (n.endsWith('/constants/0') ? null : undefined));
    await expect(open(missing)).rejects.toMatchObject({ message: expect.stringMatching(/constants\/0/) });
    const short = await rewrite(fixture('constants_trace'), (n, d) => (n.endsWith('/constants/0') ? d.subarray(0, d.length - 4) : undefined));
    await expect(open(short)).rejects.toMatchObject({ message: expect.stringMatching(/record \S*constants\/0 holds 8/) });
  });

  it('constants read from constants/, never from data/ of the same key', async () => {
    const set = await open(fixture('constants_trace'));
    const c0 = set.tensors.find((t) => t.name === 'constants.0')!;
    // torch.tensor([1.5, -2.0, 0.25]) as float32, little-endian.
    expect(Array.from(new Float32Array((await readEntry(c0)).slice().buffer))).toEqual([1.5, -2, 0.25]);
  });

  it(`code/ records larger than MAX_SCRIPT_CODE_BYTES together are not read`, async () => {
    const bytes = await rewrite(fixture('nested_script'), (n) => (/code\/__torch__\.py$/.test(n) ? new Uint8Array(MAX_SCRIPT_CODE_BYTES + 1).fill(0x20) : undefined));
    await expect(open(bytes)).rejects.toMatchObject({ code: 'CheckpointLimit', message: expect.stringMatching(/MAX_SCRIPT_CODE_BYTES/) });
  });
});

describe('TorchScript constants.pkl runs on the data-only machine', () => {
  it('a dangerous global in constants.pkl refuses the archive', async () => {
    // PROTO 2, GLOBAL os.system, 'ls', TUPLE1, REDUCE, TUPLE1, STOP.
    const evil = new Uint8Array([0x80, 0x02, ...new TextEncoder().encode('cos\nsystem\nX'), 2, 0, 0, 0, 0x6c, 0x73, 0x85, 0x52, 0x85, 0x2e]);
    const bytes = await rewrite(fixture('constants_trace'), (n) => (n.endsWith('/constants.pkl') ? evil : undefined));
    await expect(open(bytes)).rejects.toMatchObject({ code: 'UnsafeGlobal', message: expect.stringMatching(/os\.system/) });
  });
});

describe('TorchScript declarations not as torch writes them', () => {
  it('a submodule whose class lists no parameters and buffers exactly is refused, not guessed', async () => {
    const bytes = await rewrite(fixture('nested_script'), (n, d) => (/code\/.*batchnorm.*\.py$/.test(n) ? text(d).replace(/ {2}__buffers__ = .*\n/, '') : undefined));
    await expect(open(bytes)).rejects.toMatchObject({ code: 'InvalidCheckpoint', message: expect.stringMatching(/`seq\.2` is a module of class \S*BatchNorm1d, whose declaration in code\/ has no __parameters__ and __buffers__ lines/) });
  });
});

describe('TorchScript archives from the command line', () => {
  const file = (name: string): string => path.join(DIR, `torchscript_${name}.pt`);

  it('inspect says TorchScript and the size of the module tree', async () => {
    const r = await runCli('inspect', file('nested_trace'));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\(torchscript, /);
    expect(r.stdout).toMatch(/note: TorchScript archive: a module tree of 13 module\(s\)/);
  });

  it('convert, then verify the output against the archive', async () => {
    const out = path.join(tempDir('torchscript-cli'), 'frozen.safetensors');
    const c = await runCli('convert', file('frozen'), '-o', out);
    expect([c.code, c.stderr]).toEqual([0, '']);
    const v = await runCli('verify', file('frozen'), out);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/14 tensors: 14 identical/);
  });

  it('scan reports the code, and the quantized archive is refused by convert with nothing written', async () => {
    const s = await runCli('scan', '--json', file('quantized_dynamic'));
    expect(JSON.parse(s.stdout)).toMatchObject({ verdict: 'suspicious', findings: expect.arrayContaining([expect.objectContaining({ rule: 'torchscript/code' })]) });
    const dir = tempDir('torchscript-cli-refused');
    const c = await runCli('convert', file('quantized_dynamic'), '-o', path.join(dir, 'q.safetensors'));
    expect(c.code).toBe(3);
    expect(c.stderr).toMatch(/UnsupportedTensor.*`0\._packed_params\._packed_params`/);
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});
