import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { runCli } from './helpers/cli.js';
import { HAVE_SHARED_CONFORMANCE, ROOT, SHARED_CONFORMANCE } from './helpers/paths.js';
import { saveFileSync } from '../src/node/files.js';
import { craft, entry } from './helpers/craft.js';
import { tempDir } from './helpers/temp.js';

const tmp = tempDir('cli');
const good = path.join(tmp, 'good.safetensors');
saveFileSync(
  {
    'b.weight': { dtype: 'F32', shape: [2, 3], data: new Float32Array(6) },
    'a.bias': { dtype: 'BF16', shape: [3], data: new Uint16Array(3) },
  },
  good,
  { metadata: { format: 'pt' } },
);
const bad = path.join(tmp, 'bad.safetensors');
fs.writeFileSync(bad, craft(`{"a":${entry('U8', [4], 0, 4)}}`, 5));

describe('tensorsafe validate', () => {
  it('--json prints one line per file; exits 1 when any is invalid, 3 when any cannot be read', async () => {
    expect((await runCli('validate', '--json', good, bad)).code).toBe(1);
    const r = await runCli('validate', '--json', good, bad, path.join(tmp, 'missing.safetensors'));
    expect(r.code).toBe(3);
    const rows = r.lines.map((l) => JSON.parse(l));
    expect(rows[0]).toEqual({ file: good, ok: true, tensors: 2 });
    expect(rows[1]).toMatchObject({ file: bad, ok: false, error: { code: 'MetadataIncompleteBuffer' } });
    expect(rows[1].error.message).toMatch(/1 trailing byte/);
    expect(rows[2]).toMatchObject({ ok: false, error: { code: 'NotFound' } });
  });

  it('exits 0 when all are valid, with a readable summary', async () => {
    const r = await runCli('validate', good);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('valid, 2 tensors');
  });

  it('searches folders for .safetensors files', async () => {
    const r = await runCli('validate', '--json', tmp);
    expect(r.lines.map((l) => path.basename(JSON.parse(l).file)).sort()).toEqual(['bad.safetensors', 'good.safetensors']);
  });

  /** `validate --json` over a folder of vectors gives each file's expected verdict. */
  async function agreesWith(dir: string): Promise<void> {
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.safetensors')).map((f) => path.join(dir, f));
    const r = await runCli('validate', '--json', ...files);
    const want = new Map(
      fs.readFileSync(path.join(dir, 'expected.tsv'), 'utf8').trim().split('\n').slice(1).map((l) => {
        const [f, v, c] = l.split('\t');
        return [f!, v === 'OK' ? 'OK' : c!];
      }),
    );
    for (const line of r.lines) {
      const row = JSON.parse(line);
      expect([path.basename(row.file), row.ok ? 'OK' : row.error.code]).toEqual([path.basename(row.file), want.get(path.basename(row.file))]);
    }
    expect(r.lines.length).toBe(want.size);
  }

  it('agrees with the expected verdict on every own conformance vector', async () => {
    await agreesWith(path.join(ROOT, 'test', 'fixtures', 'conformance'));
  });

  it.skipIf(!HAVE_SHARED_CONFORMANCE)('agrees with the reference on every shared conformance file', async () => {
    await agreesWith(SHARED_CONFORMANCE);
  });

  it('usage errors exit 2', async () => {
    expect((await runCli('validate')).code).toBe(2);
    expect((await runCli('validate', '--nope', good)).code).toBe(2);
    expect((await runCli('frobnicate')).code).toBe(2);
  });
});

describe('tensorsafe inspect', () => {
  it('prints metadata, tensors and totals', async () => {
    const r = await runCli('inspect', good);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/format: pt/);
    expect(r.stdout).toMatch(/a\.bias\s+BF16\s+\[3\]\s+6 B/);
    expect(r.stdout).toMatch(/b\.weight\s+F32\s+\[2, 3\]\s+24 B/);
    expect(r.stdout).toMatch(/tensors: 2, parameters: 9/);
  });

  it('--json has the same content', async () => {
    const r = await runCli('inspect', '--json', good);
    const j = JSON.parse(r.stdout);
    expect(j.metadata).toEqual({ format: 'pt' });
    expect(j.tensors).toEqual([
      { name: 'a.bias', dtype: 'BF16', shape: [3], bytes: 6, offsets: [24, 30] },
      { name: 'b.weight', dtype: 'F32', shape: [2, 3], bytes: 24, offsets: [0, 24] },
    ]);
    expect(j.totals).toEqual({
      tensors: 2,
      parameters: 9,
      bytes: 30,
      byDtype: { BF16: { tensors: 1, parameters: 3, bytes: 6 }, F32: { tensors: 1, parameters: 6, bytes: 24 } },
    });
    expect(j.size).toBe(fs.statSync(good).size);
  });

  it('an invalid file is bad input: its code and its path, exit 3', async () => {
    const r = await runCli('inspect', bad);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/MetadataIncompleteBuffer/);
    expect(r.stderr).toContain(bad);
  });
});

describe('the installed command', () => {
  it('npx tensorsafe --help lists the commands', () => {
    const out = execFileSync('node', [path.join(ROOT, 'bin', 'tensorsafe.js'), '--help'], { encoding: 'utf8' });
    expect(out).toMatch(/validate/);
    expect(out).toMatch(/inspect/);
  });

  it('each command has --help with examples', async () => {
    for (const c of ['validate', 'inspect', 'demo']) {
      const r = await runCli(c, '--help');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/Usage: tensorsafe/);
    }
  });

  it('demo converts the bundled sample, then validates and inspects it', () => {
    const out = tempDir('demo');
    const r = spawnSync('node', [path.join(ROOT, 'bin', 'tensorsafe.js'), 'demo', '--out', out], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/verified: every tensor equals the source, bit for bit/);
    expect(r.stdout).toMatch(/transformer\.wte\.weight → lm_head\.weight/);
    expect(r.stdout).toMatch(/model\.safetensors: valid/);
    expect(fs.existsSync(path.join(out, 'model.safetensors'))).toBe(true);
  });
});
