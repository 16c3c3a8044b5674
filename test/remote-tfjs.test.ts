/**
 * TF.js models opened from a URL (a real nginx): model.json first, each shard's size in one small
 * request, a weight's bytes only from the shards that hold it; shard paths resolved relative to the
 * model.json's URL and kept inside its folder (no `..`, no absolute path or URL, no other origin),
 * refused before any request for them; inspect, convert (-o) and verify on the URL.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveInsideUrl } from '../src/io/url-inside.js';
import { openModel } from '../src/node/open-model.js';
import { readEntry } from '../src/tensor/tensor-set.js';
import { findNginx, NGINX_MISSING_MESSAGE, startNginx, type NginxServer } from './helpers/nginx.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';

const SKIP = process.env.TENSORSAFE_SKIP_NGINX === '1';
const FIXTURES = path.join(import.meta.dirname, 'fixtures', 'formats', 'tfjs');
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tensorsafe-remote-tfjs-'));
let nginx: NginxServer;

const requests = (): string[] => nginx.accessLog().trim().split('\n').filter(Boolean);
/** The paths requested since `before` requests. */
const requestedSince = (before: number): string[] => requests().slice(before).map((l) => l.split(' ')[1]!);

describe.skipIf(SKIP)('TF.js over HTTP (nginx)', () => {
  beforeAll(async () => {
    if (!findNginx()) throw new Error(NGINX_MISSING_MESSAGE);
    fs.mkdirSync(path.join(root, 'm', 'shards'), { recursive: true });
    fs.mkdirSync(path.join(root, 'other'));
    fs.copyFileSync(path.join(FIXTURES, 'graph-model.json'), path.join(root, 'm', 'model.json'));
    for (const f of fs.readdirSync(path.join(FIXTURES, 'shards'))) fs.copyFileSync(path.join(FIXTURES, 'shards', f), path.join(root, 'm', 'shards', f));
    fs.writeFileSync(path.join(root, 'other', 'secret.bin'), new Uint8Array(8));
    nginx = await startNginx(root);
    const hostile = (name: string, p: string): void => {
      fs.writeFileSync(path.join(root, 'm', name), JSON.stringify({ weightsManifest: [{ paths: [p], weights: [{ name: 'w', shape: [2], dtype: 'float32' }] }] }));
    };
    hostile('dotdot.json', '../other/secret.bin');
    hostile('encoded.json', '%2e%2e/other/secret.bin');
    hostile('absolute.json', '/other/secret.bin');
    hostile('same-origin-url.json', `${nginx.url}/other/secret.bin`);
    hostile('other-host.json', '//127.0.0.2/other/secret.bin');
  });
  afterAll(async () => {
    await nginx?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('inspect: model.json, then one small request per shard (its size); no weight bytes', async () => {
    const before = requests().length;
    const r = await runCli('inspect', '--json', `${nginx.url}/m/model.json`);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { format: string; tensors: { name: string }[]; size: number };
    expect(report.format).toBe('tfjs');
    expect(report.tensors.map((t) => t.name)).toContain('head/w');
    expect(report.size).toBe(fs.statSync(path.join(root, 'm', 'model.json')).size);
    expect(requestedSince(before).sort()).toEqual(['/m/model.json', '/m/shards/graph-g1-shard1of2.bin', '/m/shards/graph-g1-shard2of2.bin', '/m/shards/graph-g2-shard1of1.bin']);
  });

  it('reading one weight fetches only the shard that holds it', async () => {
    const set = await openModel(`${nginx.url}/m/model.json`);
    try {
      const before = requests().length;
      const head = set.tensors.find((t) => t.name === 'head/w')!;
      const local = await openModel(path.join(FIXTURES, 'graph-model.json'));
      try {
        const want = await readEntry(local.tensors.find((t) => t.name === 'head/w')!);
        expect(Buffer.from(await readEntry(head)).equals(Buffer.from(want))).toBe(true);
      } finally {
        await local.close();
      }
      // Its shard was prefetched up to SIBLING_PREFETCH_BYTES when opened: at most one more request, to it alone.
      expect(requestedSince(before).every((p) => p === '/m/shards/graph-g2-shard1of1.bin')).toBe(true);
    } finally {
      await set.close();
    }
  });

  it('convert to a local -o, then verify the URL against it', async () => {
    const out = tempDir('remote-tfjs-out');
    const c = await runCli('convert', `${nginx.url}/m/model.json`, '-o', `${out}/`, '--json');
    expect(c.code, c.stderr).toBe(0);
    expect(fs.readdirSync(out)).toEqual(['model.safetensors']);
    const v = await runCli('verify', `${nginx.url}/m/model.json`, path.join(out, 'model.safetensors'));
    expect(v.code, v.stdout + v.stderr).toBe(0);
    // Without -o there is no folder to write beside.
    const no = await runCli('convert', `${nginx.url}/m/model.json`);
    expect(no.code).toBe(3);
    expect(no.stderr).toMatch(/name the output .* with -o/);
    // An existing output is kept without --force.
    const again = await runCli('convert', `${nginx.url}/m/model.json`, '-o', `${out}/`);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/already exists/);
  });

  for (const name of ['dotdot.json', 'encoded.json', 'absolute.json', 'same-origin-url.json', 'other-host.json']) {
    it(`${name}: the shard path is refused (exit 3), and nothing outside the folder is requested`, async () => {
      const before = requests().length;
      const r = await runCli('inspect', `${nginx.url}/m/${name}`);
      expect(r.code, r.stdout).toBe(3);
      expect(r.stderr).toMatch(/refused|outside|URL|absolute|segments/);
      expect(requestedSince(before)).toEqual([`/m/${name}`]);
    });
  }
});

describe('resolveInsideUrl', () => {
  const base = 'https://cdn.example/models/m/model.json';
  it('resolves plain relative paths inside the folder', () => {
    expect(resolveInsideUrl(base, 'group1-shard1of2.bin')).toBe('https://cdn.example/models/m/group1-shard1of2.bin');
    expect(resolveInsideUrl(base, 'shards/a%20b.bin')).toBe('https://cdn.example/models/m/shards/a%20b.bin');
    expect(resolveInsideUrl(base, 'x.bin?v=1')).toBe('https://cdn.example/models/m/x.bin?v=1');
  });
  for (const p of ['../x.bin', 'a/../../x.bin', 'a/%2e%2e/x.bin', 'a/./x.bin', 'a/../a/x.bin', '%2E%2E/x.bin', './x.bin', '/models/m/x.bin', '//evil.example/x.bin', 'https://cdn.example/models/m/x.bin', 'data:,x', 'file:///etc/passwd', 'a\\..\\x', 'x\0.bin', '..%2fx.bin', '..%2Fx.bin', '%2e%2e%2fx.bin', '..%5cx.bin']) {
    it(`refuses ${JSON.stringify(p)}`, () => {
      expect(() => resolveInsideUrl(base, p)).toThrow(expect.objectContaining({ code: 'ExternalDataRefused' }));
    });
  }
});
