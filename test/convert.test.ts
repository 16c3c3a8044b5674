import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { convertCheckpoint } from '../src/node/convert.js';
import { loadFileSync } from '../src/node/files.js';
import { safeOpen } from '../src/node/open-path.js';
import { TensorsafeError } from '../src/errors.js';
import { TORCH_FIXTURES, torchFixtures } from './helpers/torch-fixtures.js';
import { runCli } from './helpers/cli.js';
import { openZip } from '../src/formats/zip/index.js';
import { FileSource } from '../src/node/file-source.js';
import { tempDir } from './helpers/temp.js';

const fixtures = torchFixtures().filter((f) => f.format !== 'index' && !f.file.startsWith('sharded/'));
const tmp = tempDir('convert');
const sha = (b: ArrayBufferView): string => createHash('sha256').update(new Uint8Array(b.buffer, b.byteOffset, b.byteLength)).digest('hex');
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const leftovers = (dir: string): string[] => fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'));

/** A fresh copy of a fixture in its own folder, so outputs land beside it. */
function copy(file: string): string {
  const dir = fs.mkdtempSync(path.join(tmp, 'case-'));
  const target = path.join(dir, path.basename(file));
  fs.copyFileSync(path.join(TORCH_FIXTURES, file), target);
  return target;
}

describe('convert: every fixture converts exactly (values as torch loads them)', () => {
  it.each(fixtures.filter((f) => !f.expected.expect_error).map((f) => [f.file, f] as const))('%s', async (_n, fixture) => {
    const src = copy(fixture.file);
    const summary = await convertCheckpoint(src, { key: fixture.expected.key ?? undefined, skipUnknown: fixture.expected.needs_skip_unknown });
    expect(summary.verified).toBe(true);
    if (fixture.expected.needs_skip_unknown) expect(summary.leftOut.some((l) => l.what.includes('placeholder for __main__.RunConfig'))).toBe(true);
    expect(summary.outputs).toHaveLength(1);
    const out = summary.outputs[0]!;
    const tensors = loadFileSync(out);
    const file = await safeOpen(out);
    const metadata = file.metadata()!;
    await file.close();
    expect(metadata['format']).toBe('pt');
    const want = fixture.expected.tensors!;
    const shared = fixture.expected.shared ?? [];
    for (const [name, w] of Object.entries(want)) {
      // A removed tied name is recorded as removed → kept, and the kept one holds its values.
      const group = shared.find((g) => g.includes(name));
      const kept = group ? [...group].sort()[0]! : name;
      if (kept !== name) expect(metadata[name]).toBe(kept);
      const t = tensors.get(kept)!;
      expect([name, t.dtype, t.shape]).toEqual([name, w.dtype, w.shape]);
      expect([name, sha(t.data)]).toEqual([name, w.sha256]);
    }
    expect(tensors.size).toBe(Object.keys(want).length - shared.reduce((n, g) => n + g.length - 1, 0));
    expect(leftovers(path.dirname(out))).toEqual([]);
  });

  it.each(fixtures.filter((f) => f.expected.expect_error).map((f) => [f.file] as const))('%s is refused and leaves nothing', async (file) => {
    const src = copy(file);
    await expect(convertCheckpoint(src)).rejects.toBeInstanceOf(TensorsafeError);
    expect(fs.readdirSync(path.dirname(src))).toEqual([path.basename(src)]);
  });
});

describe('convert: outputs, sharding, refusals', () => {
  it('a sharded set becomes model-0000k-of-0000N.safetensors + model.safetensors.index.json', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'sharded-'));
    for (const f of fs.readdirSync(path.join(TORCH_FIXTURES, 'sharded'))) fs.copyFileSync(path.join(TORCH_FIXTURES, 'sharded', f), path.join(dir, f));
    const summary = await convertCheckpoint(dir);
    expect(summary.outputs.map((o) => path.basename(o))).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
    const index = JSON.parse(fs.readFileSync(summary.index!, 'utf8'));
    const expected = JSON.parse(fs.readFileSync(path.join(TORCH_FIXTURES, 'sharded', 'expected.json'), 'utf8'));
    for (const [shard, names] of Object.entries(expected.shards as Record<string, string[]>)) {
      for (const n of names) expect(index.weight_map[n]).toBe(shard.replace('pytorch_model', 'model').replace('.bin', '.safetensors'));
    }
    const total = Object.values(expected.tensors as Record<string, { dtype: string; shape: number[]; hex: string }>).reduce((n, t) => n + t.hex.length / 2, 0);
    expect(index.metadata.total_size).toBe(total);
    const set = await safeOpen(summary.index!);
    expect(set.keys().sort()).toEqual(Object.keys(expected.tensors).sort());
    await set.close();
  });

  it('--max-shard-size shards a single input', async () => {
    const src = copy('sample/pytorch_model.bin');
    const summary = await convertCheckpoint(src, { maxShardSize: '60KB' });
    expect(summary.outputs.length).toBeGreaterThan(2);
    expect(path.basename(summary.outputs[0]!)).toMatch(/^model-00001-of-0000\d\.safetensors$/);
    expect(path.basename(summary.index!)).toBe('model.safetensors.index.json');
    const set = await safeOpen(summary.index!);
    expect(set.keys().length).toBe(summary.tensors);
    await set.close();
  });

  it('never overwrites without --force, and replaces with it', async () => {
    const src = copy('tied_zip.pt');
    const out = path.join(path.dirname(src), 'tied_zip.safetensors');
    fs.writeFileSync(out, 'precious');
    await expect(convertCheckpoint(src)).rejects.toMatchObject({ code: 'OutputExists' });
    expect(fs.readFileSync(out, 'utf8')).toBe('precious');
    await convertCheckpoint(src, { force: true });
    expect(loadFileSync(out).size).toBe(3);
  });

  it('names outputs conventionally and honours -o', async () => {
    const src = copy('model_state_dict.bin');
    const renamed = path.join(path.dirname(src), 'pytorch_model.bin');
    fs.renameSync(src, renamed);
    expect((await convertCheckpoint(renamed)).outputs).toEqual([path.join(path.dirname(src), 'model.safetensors')]);
    const outDir = fs.mkdtempSync(path.join(tmp, 'out-'));
    expect((await convertCheckpoint(renamed, { output: outDir })).outputs).toEqual([path.join(outDir, 'model.safetensors')]);
    const explicit = path.join(outDir, 'x.safetensors');
    expect((await convertCheckpoint(renamed, { output: explicit })).outputs).toEqual([explicit]);
    // A model folder: pytorch_model.bin inside it.
    const folderOut = fs.mkdtempSync(path.join(tmp, 'folder-'));
    expect((await convertCheckpoint(path.dirname(renamed), { output: folderOut })).outputs).toEqual([path.join(folderOut, 'model.safetensors')]);
  });

  it('--key picks the weights; a wrong key names what is there', async () => {
    const src = copy('training_checkpoint.pt');
    const s = await convertCheckpoint(src, { key: 'state_dict' });
    expect(s.leftOut.map((l) => l.path)).toEqual(expect.arrayContaining(['optimizer', 'epoch', 'hyper_parameters']));
    await expect(convertCheckpoint(src, { key: 'nope', force: true })).rejects.toMatchObject({ code: 'KeyNotFound' });
  });

  it('a mismatch found by the verification fails the conversion and leaves nothing', async () => {
    const src = copy('dtypes_zip.pt');
    const zip = await openZip(await FileSource.open(src));
    const entry = zip.entries.find((e) => /\/data\/\d+$/.test(e.name) && e.size > 0)!;
    await zip.source.close?.();
    let tampered = false;
    const run = convertCheckpoint(src, {
      onProgress: (p) => {
        // The source changes after it was written out and before it is compared.
        if (p.phase === 'write' && p.bytesDone === p.bytesTotal && !tampered) {
          tampered = true;
          const fd = fs.openSync(src, 'r+');
          const b = Buffer.alloc(1);
          fs.readSync(fd, b, 0, 1, entry.dataOffset);
          b[0] = b[0]! ^ 0xff;
          fs.writeSync(fd, b, 0, 1, entry.dataOffset);
          fs.closeSync(fd);
        }
      },
    });
    await expect(run).rejects.toMatchObject({ code: 'VerificationFailed' });
    expect(tampered).toBe(true);
    expect(fs.readdirSync(path.dirname(src))).toEqual([path.basename(src)]);
  });

  it('the CLI: --json summary, exit codes', async () => {
    const src = copy('tied_legacy.pt');
    const r = await runCli('convert', src, '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ inputs: [src], format: 'pytorch-legacy', tensors: 3, verified: true, sharedRemoved: { 'lm_head.weight': 'embed.weight', 'tok.weight': 'decoder.weight' } });
    expect(typeof j.seconds).toBe('number');
    const again = await runCli('convert', src); // the output exists, converted from this very source
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/already converted: .* holds exactly what tied_legacy\.pt converts to \(checked tensor by tensor, bit for bit\)/);
    expect((await runCli('convert')).code).toBe(2);
    expect((await runCli('convert', src, '--bogus')).code).toBe(2);
    const bad = copy('quantized_zip.pt');
    const refused = await runCli('convert', bad);
    expect(refused.code).toBe(3); // not convertible: a quantized tensor
    expect(refused.stderr).toMatch(/quantized/);
  });
});

describe('convert: the bytes decide the format, and a model with no tensors is refused', () => {
  const NUMPY = path.join(import.meta.dirname, 'fixtures', 'formats', 'numpy');
  /** `from` (a path, or bytes) copied to a fresh folder under `name`. */
  const put = (name: string, from: string | Uint8Array): string => {
    const target = path.join(fs.mkdtempSync(path.join(tmp, 'bytes-')), name);
    if (typeof from === 'string') fs.copyFileSync(from, target);
    else fs.writeFileSync(target, from);
    return target;
  };

  it('a torch zip named .npy converts as PyTorch, with its tensors', async () => {
    const src = put('pt_as.npy', path.join(TORCH_FIXTURES, 'tied_zip.pt'));
    const summary = await convertCheckpoint(src);
    expect(summary).toMatchObject({ format: 'pytorch-zip', verified: true });
    expect(summary.tensors).toBeGreaterThan(0);
    expect(summary.leftOut).toEqual([]);
  });

  it('an .npy named .pt, .bin or .safetensors converts as NumPy', async () => {
    for (const name of ['npy_as.pt', 'npy_as.bin', 'npy_as.safetensors']) {
      const src = put(name, path.join(NUMPY, 'dtype_f4.npy'));
      const summary = await convertCheckpoint(src, { output: path.join(path.dirname(src), 'out.safetensors') });
      expect(summary).toMatchObject({ format: 'npy', tensors: 1, verified: true });
    }
    const npz = put('npz_as.pt', path.join(NUMPY, 'stored.npz'));
    expect(await convertCheckpoint(npz)).toMatchObject({ format: 'npz', verified: true });
  });

  it('NumPy outputs carry no `format` metadata (no loader knows "np"); PyTorch ones say pt', async () => {
    const npy = put('w.npy', path.join(NUMPY, 'dtype_f4.npy'));
    const out = (await convertCheckpoint(npy)).outputs[0]!;
    const file = await safeOpen(out);
    expect(Object.keys(file.metadata() ?? {})).not.toContain('format');
    await file.close();
    const pt = (await convertCheckpoint(copy('tied_zip.pt'))).outputs[0]!;
    const ptFile = await safeOpen(pt);
    expect(ptFile.metadata()!['format']).toBe('pt');
    await ptFile.close();
  });

  it('an npz with no array is refused by the NumPy reader (NoTensors, NotNumpy), and nothing is written', async () => {
    const { zipSync } = await import('fflate');
    const empty = put('none.npz', zipSync({}));
    await expect(convertCheckpoint(empty)).rejects.toMatchObject({ code: 'NoTensors', message: expect.stringMatching(/none\.npz: an empty zip archive: no \.npy arrays in it/) });
    expect(fs.readdirSync(path.dirname(empty))).toEqual(['none.npz']);
    const text = put('text.npz', zipSync({ 'README.txt': new Uint8Array([104, 105]) }));
    await expect(convertCheckpoint(text)).rejects.toMatchObject({ code: 'NotNumpy', message: expect.stringMatching(/text\.npz is not a NumPy \.npz: .*no \.npy array in it \(entries: README\.txt\)/) });
    expect(fs.readdirSync(path.dirname(text))).toEqual(['text.npz']);
    const r = await runCli('convert', empty);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/NoTensors: /);
    expect(r.stdout).not.toMatch(/verified/);
  });
});
