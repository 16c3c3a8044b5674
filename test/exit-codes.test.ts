import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { runCli } from './helpers/cli.js';
import { ROOT } from './helpers/paths.js';
import { TORCH_FIXTURES } from './helpers/torch-fixtures.js';
import { saveFileSync } from '../src/node/files.js';
import { fileError } from '../src/node/file-source.js';
import { COMMANDS } from '../src/cli/main.js';
import { EXIT_BAD_INPUT, EXIT_FINDING, EXIT_OK, EXIT_USAGE } from '../src/cli/exit-codes.js';

/** One exit-code table for every command (README "Exit status"), checked command by command. */
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tensorsafe-exit-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const at = (name: string): string => path.join(tmp, name);

const good = at('good.safetensors');
saveFileSync({ w: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) } }, good);
const other = at('other.safetensors');
saveFileSync({ w: { dtype: 'F32', shape: [2], data: new Float32Array([1, 3]) } }, other);
const truncated = at('truncated.safetensors');
fs.writeFileSync(truncated, fs.readFileSync(good).subarray(0, fs.statSync(good).size - 1));
const missing = at('missing.safetensors');
const evil = at('evil.pkl');
fs.writeFileSync(evil, Uint8Array.from([0x80, 2, ...Buffer.from('cposix\nsystem\nX\x02\x00\x00\x00id\x85R.', 'latin1')]));
const checkpoint = at('cnn.pt');
fs.copyFileSync(path.join(TORCH_FIXTURES, 'tied_zip.pt'), checkpoint);
const keys = (() => {
  const pair = generateKeyPairSync('ed25519');
  fs.writeFileSync(at('key.pem'), pair.privateKey.export({ format: 'pem', type: 'pkcs8' }));
  fs.writeFileSync(at('key.pub.pem'), pair.publicKey.export({ format: 'pem', type: 'spki' }));
  return { key: at('key.pem'), pub: at('key.pub.pem') };
})();

/** Every command: a call that succeeds, one whose check fails (where the command checks), a usage error, bad input. */
const TABLE: Record<string, { ok: string[]; finding?: string[]; usage: string[][]; badInput: string[][] }> = {
  convert: {
    ok: [checkpoint, '-o', at('out/cnn.safetensors')],
    finding: [evil, '-o', at('evil.safetensors')],
    usage: [[], [checkpoint, '--bogus'], [checkpoint, '--max-shard-size', 'lots'], [checkpoint, '--jobs', '2']],
    badInput: [[missing], [truncated]],
  },
  scan: { ok: [good], finding: [evil], usage: [[], ['--json', '--sarif', good]], badInput: [[missing]] },
  verify: { ok: [good, good], finding: [good, other], usage: [[good], [good, other, '--atol', 'abc'], [good, other, '--rtol', '-1']], badInput: [[good, missing], [truncated, good]] },
  validate: { ok: [good], finding: [truncated], usage: [[], ['--bogus', good]], badInput: [[missing]] },
  inspect: { ok: [good], usage: [[], [good, other]], badInput: [[missing], [truncated]] },
  hash: { ok: [good], usage: [[], [good, other]], badInput: [[missing], [truncated]] },
  sign: { ok: [good, '--key', keys.key, '--out', at('sigs/good.sig')], usage: [[good], [good, '--key']], badInput: [[missing, '--key', keys.key], [good, '--key', keys.pub, '--out', at('x.sig')]] },
  'verify-signature': {
    ok: [good, '--key', keys.pub, '--sig', at('sigs/good.sig')],
    finding: [other, '--key', keys.pub, '--sig', at('sigs/good.sig')],
    usage: [[good], [good, '--key', keys.pub, '--bogus']],
    badInput: [[missing, '--key', keys.pub], [good, '--key', keys.pub, '--sig', at('none.sig')]],
  },
  demo: { ok: ['--out', at('demo')], usage: [['--bogus'], ['extra']], badInput: [] },
  // The server runs until interrupted: its success here is --help; a port it cannot use is tested in test/web-server.test.ts.
  web: { ok: ['--help'], usage: [['--port', 'lots'], ['model.bin']], badInput: [] },
};

describe('exit codes: one table for every command', () => {
  it('the table covers every command', () => {
    expect(Object.keys(TABLE).sort()).toEqual(COMMANDS.map((c) => c.name).sort());
  });

  for (const [command, row] of Object.entries(TABLE)) {
    it(`${command}: 0 success, 1 finding, 2 usage, 3 bad input`, async () => {
      expect((await runCli(command, ...row.ok)).code).toBe(EXIT_OK);
      if (row.finding) expect([row.finding, (await runCli(command, ...row.finding)).code]).toEqual([row.finding, EXIT_FINDING]);
      for (const args of row.usage) expect([args, (await runCli(command, ...args)).code]).toEqual([args, EXIT_USAGE]);
      for (const args of row.badInput) {
        const r = await runCli(command, ...args);
        expect([args, r.code]).toEqual([args, EXIT_BAD_INPUT]);
        // Every error names the file it is about.
        const named = args.find((a) => a === missing || a === truncated || a.endsWith('none.sig')) ?? args.find((a) => a === keys.pub)!;
        expect([args, r.stderr.includes(named) || r.stdout.includes(named)]).toEqual([args, true]);
      }
    });
  }

  it('each command --help shows the shared exit-status lines', async () => {
    for (const c of COMMANDS) {
      const help = (await runCli(c.name, '--help')).stdout;
      if (c.name === 'demo') continue;
      expect([c.name, /Exit status:\n {2}0 {2}.+\n(?: {2}1 {2}.+\n)? {2}2 {2}usage error\n {2}3 {2}/.test(help)]).toEqual([c.name, true]);
    }
    expect((await runCli('--help')).stdout).toMatch(/Exit status \(the same for every command\):[\s\S]*3 +bad input/);
  });
});

describe('a NumPy object array: a refusal (exit 1), the same from convert and convert --recursive', () => {
  it('convert FILE and convert DIR --recursive both exit 1 with ObjectArray', async () => {
    const dir = at('objects');
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(path.join(ROOT, 'test/fixtures/formats/numpy/object.npy'), path.join(dir, 'labels.npy'));
    const single = await runCli('convert', path.join(dir, 'labels.npy'), '--json');
    expect([single.code, JSON.parse(single.stdout).error.code]).toEqual([EXIT_FINDING, 'ObjectArray']);
    const batch = await runCli('convert', dir, '--recursive');
    expect([batch.code, batch.stdout]).toEqual([EXIT_FINDING, expect.stringMatching(/refused +.*labels\.npy: ObjectArray/)]);
  });
});

describe('--json: a JSON object on stdout on failure too', () => {
  const cases: [string, string[]][] = [
    ['convert', [missing, '--json']],
    ['inspect', ['--json', missing]],
    ['hash', ['--json', truncated]],
    ['verify', ['--json', good, missing]],
  ];
  it.each(cases)('%s', async (command, args) => {
    const r = await runCli(command, ...args);
    expect(r.code).toBe(EXIT_BAD_INPUT);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ ok: false, error: { code: expect.any(String), message: expect.any(String), file: expect.any(String) } });
    expect(j.error.message).toContain(j.error.file);
  });

  it('usage errors too', async () => {
    const r = await runCli('verify', '--json', good, good, '--atol', 'abc');
    expect(r.code).toBe(EXIT_USAGE);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, error: { code: 'UsageError', message: expect.stringMatching(/--atol/) } });
  });

  it('validate and scan keep their one line per file, with the error', async () => {
    expect(JSON.parse((await runCli('validate', '--json', missing)).stdout)).toMatchObject({ file: missing, ok: false, error: { code: 'NotFound' } });
    expect(JSON.parse((await runCli('scan', '--json', missing)).stdout)).toMatchObject({ file: missing, verdict: 'error' });
  });
});

describe('operating-system errors: coded, naming the path, never a stack trace', () => {
  const bin = path.join(ROOT, 'bin', 'tensorsafe.js');
  const run = (...args: string[]): { status: number | null; stderr: string } => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });

  it('an output folder that cannot be created (a file is in the way)', () => {
    const blocker = at('blocker');
    fs.writeFileSync(blocker, 'x');
    const r = run('convert', checkpoint, '-o', path.join(blocker, 'sub', 'out.safetensors'));
    expect(r.status).toBe(EXIT_BAD_INPUT);
    expect(r.stderr).toMatch(/^error (NotADirectory|NotFound): .*blocker/m);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack
  });

  it('an output that is a directory', () => {
    const d = at('out-dir.safetensors');
    fs.mkdirSync(path.join(d, 'x'), { recursive: true });
    const r = run('sign', good, '--key', keys.key, '--out', d, '--force');
    expect(r.status).toBe(EXIT_BAD_INPUT);
    expect(r.stderr).toContain(d);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('sign --out creates a missing folder, as convert -o does', async () => {
    expect((await runCli('sign', good, '--key', keys.key, '--out', at('new/folder/good.sig'))).code).toBe(EXIT_OK);
    expect(fs.existsSync(at('new/folder/good.sig'))).toBe(true);
  });

  it('verify-signature on a missing model names the model, not its missing .sig', async () => {
    const r = await runCli('verify-signature', missing, '--key', keys.pub);
    expect(r.code).toBe(EXIT_BAD_INPUT);
    expect(r.stderr).toMatch(/NotFound: .*missing\.safetensors: no such file/);
    expect(r.stderr).not.toMatch(/\.sig/);
  });

  it.each([
    ['EACCES', 'PermissionDenied', false],
    ['EPERM', 'PermissionDenied', true],
    ['ENOSPC', 'NoSpace', true],
    ['EROFS', 'ReadOnlyFileSystem', true],
    ['EISDIR', 'IsADirectory', false],
    ['ENOTDIR', 'NotADirectory', false],
    ['EMFILE', 'TooManyOpenFiles', false],
  ])('%s becomes %s, naming the path', (errno, code, writing) => {
    const e = fileError('/some/where.safetensors', Object.assign(new Error('x'), { code: errno, syscall: 'open' }), writing);
    expect(e).toMatchObject({ code, location: '/some/where.safetensors' });
    expect(e.message).toContain('/some/where.safetensors');
  });
});

describe('library errors name their file', () => {
  it('loadFile, loadFileSync and safeOpen of a path put the path in the message and in `file`', async () => {
    const { loadFile, loadFileSync } = await import('../src/node/files.js');
    const { safeOpen } = await import('../src/node/open-path.js');
    for (const attempt of [() => loadFile(truncated), async () => loadFileSync(truncated), () => safeOpen(truncated)]) {
      const e = await attempt().then(
        () => undefined,
        (x: unknown) => x as { code: string; message: string; file?: string },
      );
      expect(e).toMatchObject({ code: 'MetadataIncompleteBuffer', file: truncated });
      expect(e!.message.startsWith(`${truncated}: `)).toBe(true);
    }
  });
});

describe('convert --report', () => {
  it('takes a .json path (the Markdown goes beside it): r.md is a usage error, not JSON in r.md and a table in r.md.md', async () => {
    const dir = at('report-case');
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(path.join(TORCH_FIXTURES, 'tied_zip.pt'), path.join(dir, 'a.pt'));
    const bad = await runCli('convert', dir, '--recursive', '--report', path.join(dir, 'r.md'));
    expect(bad.code).toBe(EXIT_USAGE);
    expect(fs.existsSync(path.join(dir, 'r.md'))).toBe(false);
    expect((await runCli('convert', dir, '--recursive', '--jobs', '1', '--report', path.join(dir, 'r.json'))).code).toBe(EXIT_OK);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'r.json'), 'utf8')).summary.models).toBe(1);
    expect(fs.readFileSync(path.join(dir, 'r.md'), 'utf8')).toMatch(/^### ✅ tensorsafe: 1 model/);
  });
});
