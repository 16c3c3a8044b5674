import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { runCli } from './helpers/cli.js';
import { TORCH_FIXTURES } from './helpers/torch-fixtures.js';
import { saveFileSync } from '../src/node/files.js';
import { EXIT_BAD_INPUT, EXIT_OK } from '../src/cli/exit-codes.js';

/** Defects found by trying the CLI as a new user (output paths given with -o / --out). */
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tensorsafe-nu-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const at = (name: string): string => path.join(tmp, name);

const checkpoint = at('cnn.pt');
fs.copyFileSync(path.join(TORCH_FIXTURES, 'tied_zip.pt'), checkpoint);
const good = at('good.safetensors');
saveFileSync({ w: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) } }, good);
const key = at('key.pem');
fs.writeFileSync(key, generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }));

describe('an output path under a regular file', () => {
  // mkdir of a folder that is an existing regular file fails with EEXIST, which was reported as
  // "OutputExists: blocker already exists (--force replaces it)", and --force did not replace it.
  it.each([[false], [true]])('convert -o FILE/out.safetensors is NotADirectory, naming the file (--force %s)', async (force) => {
    const blocker = at(`blocker-${force}`);
    fs.writeFileSync(blocker, 'precious');
    const r = await runCli('convert', checkpoint, '-o', path.join(blocker, 'out.safetensors'), '--json', ...(force ? ['--force'] : []));
    expect(r.code).toBe(EXIT_BAD_INPUT);
    const j = JSON.parse(r.stdout);
    expect(j.error.code).toBe('NotADirectory');
    expect(j.error.message).toContain(blocker);
    expect(j.error.message).not.toMatch(/already exists|--force/);
    expect(r.stderr).not.toMatch(/--force/);
    expect(fs.readFileSync(blocker, 'utf8')).toBe('precious');
  });

  it('sign --out FILE/x.sig is NotADirectory too', async () => {
    const blocker = at('blocker-sign');
    fs.writeFileSync(blocker, 'precious');
    const r = await runCli('sign', good, '--key', key, '--out', path.join(blocker, 'good.sig'));
    expect(r.code).toBe(EXIT_BAD_INPUT);
    expect(r.stderr).toMatch(/^error NotADirectory: .*blocker-sign/m);
    expect(r.stderr).not.toMatch(/--force/);
  });
});

describe('-o with a trailing slash names a folder, created when missing', () => {
  // `convert cnn.pt -o newdir/` failed with "NotADirectory: newdir/: a part of the path is a file".
  it('convert FILE -o missing-folder/ writes missing-folder/<name>.safetensors', async () => {
    const dir = at('created') + path.sep;
    const r = await runCli('convert', checkpoint, '-o', dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(EXIT_OK);
    expect(fs.readdirSync(dir)).toEqual(['cnn.safetensors']);
  });

  it('sign --out missing-folder/ writes missing-folder/<name>.sig', async () => {
    const dir = at('sigs') + path.sep;
    const r = await runCli('sign', good, '--key', key, '--out', dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(EXIT_OK);
    expect(fs.readdirSync(dir)).toEqual(['good.safetensors.sig']);
  });
});

describe('a file that is not safetensors says what it is', () => {
  // `inspect model.pt` said "header too large: the file declares a 578712552184433488-byte header …
  // (is this a safetensors file?)": the first bytes answer that question.
  const lfs = at('lfs.safetensors');
  fs.writeFileSync(lfs, 'version https://git-lfs.github.com/spec/v1\noid sha256:4d7a\nsize 548105171\n');
  const html = at('html.safetensors');
  fs.writeFileSync(html, '<!DOCTYPE html><html><body>Not Found</body></html>\n');
  const pickle = at('legacy.safetensors');
  const index = at('model.safetensors.index.json');
  fs.writeFileSync(index, '{\n  "metadata": {"total_size": 8},\n  "weight_map": {"w": "good.safetensors"}\n}\n');
  fs.writeFileSync(pickle, Uint8Array.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]));

  it.each([
    ['a PyTorch zip checkpoint', checkpoint, /zip archive.*tensorsafe convert/],
    ['a Git LFS pointer', lfs, /Git LFS pointer.*git lfs pull/],
    ['an HTML page', html, /HTML page/],
    ['a pickle', pickle, /pickle.*tensorsafe convert/],
    ['a sharded set\'s index', index, /JSON file.*index/],
  ])('%s: inspect, hash and validate name it, keeping the reference error code', async (_what, file, expected) => {
    // inspect reads any registered format (issue 10), by the bytes: a checkpoint is shown, not refused
    // (below), and a pickle named .safetensors is read as the PyTorch file it is (next test).
    for (const command of file === index ? ['hash'] : file === checkpoint || file === pickle ? ['hash', 'validate'] : ['inspect', 'hash', 'validate']) {
      const r = await runCli(command, file);
      expect(r.code).not.toBe(EXIT_OK);
      const printed = `${r.stdout}\n${r.stderr}`;
      expect(printed).toContain(file);
      expect(printed).toMatch(/HeaderTooLarge: /);
      expect(printed).toMatch(expected);
    }
  });
});

describe('the bytes decide what a file is read as', () => {
  it('inspect of a pickle named .safetensors reads it as the PyTorch checkpoint it is (here a truncated one), never as safetensors', async () => {
    // torch's magic number and nothing after it: a legacy checkpoint cut short.
    const pickle = at('cut.safetensors');
    fs.writeFileSync(pickle, Uint8Array.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]));
    const r = await runCli('inspect', '--json', pickle);
    expect(r.code).toBe(EXIT_BAD_INPUT);
    const j = JSON.parse(r.stdout);
    expect(j.error).toMatchObject({ code: 'PickleTruncated', file: pickle });
    expect(r.stderr).not.toMatch(/HeaderTooLarge/);
  });

  it('inspect --json names the file in error.file (not a location inside it), as verify and convert do', async () => {
    const evil = at('evil-file.pt');
    fs.writeFileSync(evil, Uint8Array.from([0x80, 2, ...Buffer.from('cposix\nsystem\nX\x02\x00\x00\x00id\x85R.', 'latin1')]));
    const r = await runCli('inspect', '--json', evil);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'UnsafeFile', file: evil, message: expect.stringMatching(/evil-file\.pt@\d+\]$/) });
  });

  it('a zip archive given to a safetensors-only command is not assumed to be PyTorch\'s', async () => {
    const { zipSync } = await import('fflate');
    const npz = at('plain.npz');
    fs.writeFileSync(npz, zipSync({ 'w.npy': fs.readFileSync(path.join(TORCH_FIXTURES, '..', 'formats', 'numpy', 'dtype_f4.npy')) }));
    const r = await runCli('hash', npz);
    expect(r.code).toBe(EXIT_BAD_INPUT);
    expect(r.stderr).toMatch(/zip archive \(a PyTorch checkpoint\? a NumPy \.npz\?\): tensorsafe convert turns those into safetensors/);
    expect(r.stderr).not.toMatch(/as PyTorch checkpoints are/);
  });
});

describe('inspect shows a model of any registered format', () => {
  it('a PyTorch zip checkpoint: its tensors and its format', async () => {
    const r = await runCli('inspect', '--json', checkpoint);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(EXIT_OK);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ file: checkpoint, format: 'pytorch-zip', size: fs.statSync(checkpoint).size, metadata: null });
    expect(j.tensors).toContainEqual({ name: 'lm_head.weight', dtype: 'F32', shape: [5, 3], bytes: 60 });
    expect(j.totals.tensors).toBe(j.tensors.length);
    const text = await runCli('inspect', checkpoint);
    expect(text.stdout).toMatch(/\(pytorch-zip, /);
    expect(text.stdout).toMatch(/lm_head\.weight\s+F32\s+\[5, 3\]\s+60 B/);
  });

  it('a dangerous pickle is refused before anything is read: UnsafeFile, exit 1', async () => {
    const evil = at('evil-inspect.pkl');
    fs.writeFileSync(evil, Uint8Array.from([0x80, 2, ...Buffer.from('cposix\nsystem\nX\x02\x00\x00\x00id\x85R.', 'latin1')]));
    const r = await runCli('inspect', '--json', evil);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).error.code).toBe('UnsafeFile');
  });

  it('a file no format reads says what it is', async () => {
    const text = at('notes.dat');
    fs.writeFileSync(text, 'hello\n');
    const r = await runCli('inspect', '--json', text);
    expect(r.code).toBe(EXIT_BAD_INPUT);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'NotAModel', message: expect.stringMatching(/text file/) });
  });
});

describe('a folder that holds several models is ambiguous, not missing', () => {
  // `inspect st/burn` (two .safetensors) and `convert DIR` (two checkpoints) said NotFound.
  const two = at('two');
  fs.mkdirSync(two);
  fs.copyFileSync(good, path.join(two, 'a.safetensors'));
  fs.copyFileSync(good, path.join(two, 'b.safetensors'));
  fs.copyFileSync(checkpoint, path.join(two, 'a.pt'));
  fs.copyFileSync(checkpoint, path.join(two, 'b.pt'));

  it.each([['inspect'], ['hash'], ['convert']])('%s DIR', async (command) => {
    const r = await runCli(command, two, '--json');
    expect(r.code).toBe(EXIT_BAD_INPUT);
    const j = JSON.parse(r.stdout);
    expect(j.error.code).toBe(command === 'hash' ? 'IsADirectory' : 'AmbiguousModel');
    if (command !== 'hash') expect(j.error.message).toMatch(/several/);
    if (command === 'convert') expect(j.error.message).toMatch(/--recursive/);
  });

  it('verify DIR DIR', async () => {
    const r = await runCli('verify', two, two, '--json');
    expect(r.code).toBe(EXIT_BAD_INPUT);
    expect(JSON.parse(r.stdout).error.code).toBe('AmbiguousModel');
  });
});

describe('convert --recursive --report', () => {
  // A report path that could not be written failed only after every model was converted, with the
  // per-model results never printed; a missing folder for it was not created (unlike -o and --out).
  it('into a missing folder: the folder is created', async () => {
    const dir = at('batch-ok');
    fs.mkdirSync(dir);
    fs.copyFileSync(checkpoint, path.join(dir, 'cnn.pt'));
    const report = path.join(at('reports'), 'deep', 'r.json');
    const r = await runCli('convert', dir, '--recursive', '--jobs', '1', '--report', report);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(EXIT_OK);
    expect(JSON.parse(fs.readFileSync(report, 'utf8')).summary.converted).toBe(1);
    expect(fs.existsSync(path.join(at('reports'), 'deep', 'r.md'))).toBe(true);
  });

  it('under a regular file: fails before converting anything, naming the path', async () => {
    const dir = at('batch-blocked');
    fs.mkdirSync(dir);
    fs.copyFileSync(checkpoint, path.join(dir, 'cnn.pt'));
    const blocker = at('report-blocker');
    fs.writeFileSync(blocker, 'x');
    const r = await runCli('convert', dir, '--recursive', '--jobs', '1', '--report', path.join(blocker, 'r.json'), '--json');
    expect(r.code).toBe(EXIT_BAD_INPUT);
    const j = JSON.parse(r.stdout);
    expect(j.error.code).toBe('NotADirectory');
    expect(j.error.message).toContain(blocker);
    expect(fs.readdirSync(dir)).toEqual(['cnn.pt']);
  });
});

describe('two sources of the same file name in different folders, one output', () => {
  // a/m.pt -o out/m.safetensors, then b/m.pt (another model) -o out/m.safetensors replaced a's output
  // without --force: the record held only the name "m.pt", so b/m.pt passed for "an earlier version".
  it('the second is OutputExists naming the first, and the output keeps the first model', async () => {
    const a = at('same-name/a/m.pt');
    const b = at('same-name/b/m.pt');
    fs.mkdirSync(path.dirname(a), { recursive: true });
    fs.mkdirSync(path.dirname(b), { recursive: true });
    fs.copyFileSync(checkpoint, a);
    fs.copyFileSync(path.join(TORCH_FIXTURES, 'shapes_zip.pt'), b);
    const out = at('same-name/out/m.safetensors');
    expect((await runCli('convert', a, '-o', out)).code).toBe(EXIT_OK);
    const before = fs.readFileSync(out);
    const r = await runCli('convert', b, '-o', out, '--json');
    expect(r.code).toBe(EXIT_BAD_INPUT);
    const j = JSON.parse(r.stdout);
    expect(j.error.code).toBe('OutputExists');
    expect(j.error.message).toContain('a/m.pt');
    expect(fs.readFileSync(out).equals(before)).toBe(true);
    // The first source again: already converted. Beside its source, the record is the plain name.
    expect(JSON.parse((await runCli('convert', a, '-o', out, '--json')).stdout).upToDate).toBe(true);
    const beside = await runCli('convert', a, '--json');
    expect(JSON.parse(beside.stdout).sources[0].file).toBe('m.pt');
  });
});

describe('convert --json: error.file is the file', () => {
  // It held "c" (a tensor name), "q (x.pt:archive/data.pkl@196)" or "x.pt:archive/data.pkl@77".
  it.each([['complex128_zip.pt'], ['quantized_zip.pt'], ['protocol0_zip.pt'], ['unknown_class.pt']])('%s', async (name) => {
    const src = at(`err-${name}`);
    fs.copyFileSync(path.join(TORCH_FIXTURES, name), src);
    const r = await runCli('convert', src, '-o', at('err-out') + path.sep, '--json');
    expect(r.code).not.toBe(EXIT_OK);
    const j = JSON.parse(r.stdout);
    expect(j.error.file).toBe(src);
    expect(j.error.message).toContain(src);
  });
});

describe('a Git LFS pointer is recognised', () => {
  // detect.ts compared 24 characters with the 23-character 'version https://git-lfs', so a pointer
  // was "a text file": convert said "not a pickle (0x76 is not a pickle opcode)", scan "(text)".
  const pointer = at('lfs.bin');
  fs.writeFileSync(pointer, 'version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n');

  it('convert says so and how to get the file', async () => {
    const r = await runCli('convert', pointer);
    expect(r.code).toBe(EXIT_BAD_INPUT);
    expect(r.stderr).toMatch(/NotACheckpoint: .*lfs\.bin.*Git LFS pointer.*git lfs pull/);
  });

  it('scan names the format', async () => {
    const r = await runCli('scan', '--json', pointer);
    expect(JSON.parse(r.stdout)).toMatchObject({ format: 'git-lfs-pointer', verdict: 'safe' });
  });
});

describe('validate checks a sharded set through its index', () => {
  // `validate DIR` of a sharded set with a missing shard said "✓ … valid" for the shard that was there
  // and exited 0; `validate model.safetensors.index.json` said HeaderTooLarge.
  const set = at('sharded-set');
  fs.mkdirSync(set);
  const shard = (name: string, tensors: Record<string, number>): void =>
    saveFileSync(Object.fromEntries(Object.entries(tensors).map(([k, v]) => [k, { dtype: 'F32' as const, shape: [1], data: new Float32Array([v]) }])), path.join(set, name));
  shard('model-00001-of-00002.safetensors', { a: 1 });
  shard('model-00002-of-00002.safetensors', { b: 2 });
  const index = path.join(set, 'model.safetensors.index.json');
  fs.writeFileSync(index, JSON.stringify({ metadata: { total_size: 8 }, weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' } }));

  it('a complete set is valid, the index included', async () => {
    const r = await runCli('validate', '--json', set);
    expect(r.code).toBe(EXIT_OK);
    expect(r.lines.map((l) => JSON.parse(l))).toContainEqual({ file: index, ok: true, tensors: 2 });
  });

  it('a missing shard is named, exit 3', async () => {
    const moved = path.join(set, 'model-00002-of-00002.safetensors');
    fs.renameSync(moved, `${moved}.away`);
    try {
      for (const target of [set, index]) {
        const r = await runCli('validate', target);
        expect(r.code).toBe(EXIT_BAD_INPUT);
        expect(r.stdout).toMatch(/✗ .*model\.safetensors\.index\.json: NotFound: .*model-00002-of-00002\.safetensors/);
      }
    } finally {
      fs.renameSync(`${moved}.away`, moved);
    }
  });

  it('an index that does not match its shards is not valid, exit 1', async () => {
    const other = at('sharded-mismatch.safetensors.index.json');
    fs.copyFileSync(path.join(set, 'model-00001-of-00002.safetensors'), at('m1.safetensors'));
    fs.writeFileSync(other, JSON.stringify({ metadata: {}, weight_map: { a: 'm1.safetensors', zzz: 'm1.safetensors' } }));
    const r = await runCli('validate', '--json', other);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ file: other, ok: false, error: { code: 'ShardMismatch' } });
  });
});

describe('demo never replaces files it did not write', () => {
  // `demo --out DIR` copied the sample over DIR/pytorch_model.bin and converted with --force, replacing
  // the user's own DIR/model.safetensors; `demo --out FILE` said "OutputExists … (--force replaces it)",
  // an option demo does not have.
  it('a model.safetensors of the user is left alone (OutputExists, no --force hint)', async () => {
    const dir = at('demo-user');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'model.safetensors'), 'mine');
    const r = await runCli('demo', '--out', dir);
    expect(r.code).toBe(EXIT_BAD_INPUT);
    expect(r.stderr).toMatch(/OutputExists: .*model\.safetensors/);
    expect(r.stderr).not.toMatch(/--force/);
    expect(fs.readFileSync(path.join(dir, 'model.safetensors'), 'utf8')).toBe('mine');
  });

  it('a pytorch_model.bin of the user is left alone', async () => {
    const dir = at('demo-user-ckpt');
    fs.mkdirSync(dir);
    fs.copyFileSync(checkpoint, path.join(dir, 'pytorch_model.bin'));
    const r = await runCli('demo', '--out', dir);
    expect(r.code).toBe(EXIT_BAD_INPUT);
    expect(r.stderr).toMatch(/OutputExists: .*pytorch_model\.bin/);
    expect(fs.readFileSync(path.join(dir, 'pytorch_model.bin')).equals(fs.readFileSync(checkpoint))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'model.safetensors'))).toBe(false);
  });

  it('run twice in its own folder: fine', async () => {
    const dir = at('demo-twice');
    expect((await runCli('demo', '--out', dir)).code).toBe(EXIT_OK);
    const again = await runCli('demo', '--out', dir);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(EXIT_OK);
  });

  it('--out FILE is NotADirectory', async () => {
    const blocker = at('demo-blocker');
    fs.writeFileSync(blocker, 'x');
    const r = await runCli('demo', '--out', blocker);
    expect(r.code).toBe(EXIT_BAD_INPUT);
    expect(r.stderr).toMatch(/NotADirectory: .*demo-blocker/);
    expect(r.stderr).not.toMatch(/--force/);
  });
});

describe('an output that is the input itself', () => {
  // `sign m.safetensors --out m.safetensors --force` replaced the model with its signature;
  // `convert m.pt -o m.pt --force` replaced the checkpoint with its conversion.
  it('sign refuses, with or without --force, and the model is untouched', async () => {
    const model = at('self.safetensors');
    fs.copyFileSync(good, model);
    for (const force of [[], ['--force']]) {
      const r = await runCli('sign', model, '--key', key, '--out', model, ...force);
      expect(r.code).toBe(EXIT_BAD_INPUT);
      expect(r.stderr).toMatch(/InvalidArgument: .*self\.safetensors.*is the file being signed/);
      expect(fs.readFileSync(model).equals(fs.readFileSync(good))).toBe(true);
    }
  });

  it('convert refuses, with or without --force, and the checkpoint is untouched', async () => {
    const src = at('self.pt');
    fs.copyFileSync(checkpoint, src);
    for (const force of [[], ['--force']]) {
      const r = await runCli('convert', src, '-o', src, ...force);
      expect(r.code).toBe(EXIT_BAD_INPUT);
      expect(r.stderr).toMatch(/InvalidArgument: .*self\.pt.*is the source/);
      expect(fs.readFileSync(src).equals(fs.readFileSync(checkpoint))).toBe(true);
    }
  });
});

describe('folders whose model files are symbolic links (a Hugging Face cache snapshot)', () => {
  // Folder walks took only regular files: `scan SNAPSHOT` said "no files" (exit 2), and a dangerous
  // checkpoint reached through a link beside a README was not scanned at all (exit 0).
  const root = at('hf');
  const snap = path.join(root, 'snapshots', 'abc');
  fs.mkdirSync(path.join(root, 'blobs'), { recursive: true });
  fs.mkdirSync(snap, { recursive: true });
  const evil = Uint8Array.from([0x80, 2, ...Buffer.from('cposix\nsystem\nX\x02\x00\x00\x00id\x85R.', 'latin1')]);
  fs.writeFileSync(path.join(root, 'blobs', '1234'), evil);
  fs.copyFileSync(good, path.join(root, 'blobs', '5678'));
  fs.copyFileSync(checkpoint, path.join(root, 'blobs', '9abc'));
  fs.symlinkSync('../../blobs/1234', path.join(snap, 'evil.pkl'));
  fs.symlinkSync('../../blobs/5678', path.join(snap, 'model.safetensors'));
  fs.writeFileSync(path.join(snap, 'README.md'), '# a model\n');
  // A folder linked into itself: the walk must end.
  fs.symlinkSync('.', path.join(snap, 'loop'));

  it('scan follows the links and finds the dangerous file', async () => {
    const r = await runCli('scan', '--json', snap);
    expect(r.code).toBe(1);
    const files = r.lines.map((l) => JSON.parse(l));
    expect(files).toContainEqual(expect.objectContaining({ file: path.join(snap, 'evil.pkl'), verdict: 'dangerous' }));
    expect(files.filter((f) => f.file.endsWith('model.safetensors'))).toHaveLength(1);
  });

  it('validate follows them', async () => {
    const r = await runCli('validate', '--json', snap);
    expect(r.code).toBe(EXIT_OK);
    expect(r.lines.map((l) => JSON.parse(l))).toEqual([{ file: path.join(snap, 'model.safetensors'), ok: true, tensors: 1 }]);
  });

  it('convert --recursive follows them', async () => {
    const dir = at('hf-convert');
    fs.mkdirSync(dir);
    fs.symlinkSync(path.join(root, 'blobs', '9abc'), path.join(dir, 'cnn.pt'));
    const r = await runCli('convert', dir, '--recursive', '--jobs', '1', '--json');
    expect(r.code).toBe(EXIT_OK);
    expect(JSON.parse(r.stdout).summary.converted).toBe(1);
  });
});

describe('a URL given to a command that reads local files', () => {
  // convert, verify, hash, sign and verify-signature said "http://…: no such file", as if the server had answered 404.
  const url = 'http://127.0.0.1:9/model.safetensors';
  it.each([
    ['hash', [url]],
    ['sign', [url, '--key', key]],
  ])('%s says it reads local files only', async (command, args) => {
    const r = await runCli(command, ...args);
    expect(r.code).toBe(EXIT_BAD_INPUT);
    expect(r.stderr).toMatch(/NotFound: http:\/\/127\.0\.0\.1:9\/model\.safetensors is a URL: .*local files/);
  });

  // convert and verify read a model over HTTP (a TF.js model.json and its shards): they go to the server
  // and say what it answered, never "no such file"; convert asks for -o first, having no folder to write beside.
  it('convert asks for -o; convert -o and verify say what the server answered', async () => {
    const noOut = await runCli('convert', url);
    expect(noOut.code).toBe(EXIT_BAD_INPUT);
    expect(noOut.stderr).toMatch(/is a URL: name the output .* with -o/);
    for (const args of [['convert', url, '-o', `${at('url-out')}/`], ['verify', url, good]]) {
      const r = await runCli(...args);
      expect(r.code, args[0]).toBe(EXIT_BAD_INPUT);
      expect(r.stderr).toMatch(/IoError: http:\/\/127\.0\.0\.1:9\/model\.safetensors: network error/);
      expect(r.stderr).not.toMatch(/no such file/i);
    }
  });
});
