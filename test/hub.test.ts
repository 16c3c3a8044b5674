/**
 * The Hugging Face Hub as a source, against a local server that answers like the Hub (and a content
 * host on another port, as the Hub redirects downloads to one): references parsed, revisions pinned to
 * a commit before any file is read, a repository's model picked as in a folder and a sharded index
 * followed, tokens from --token, HF_TOKEN or the token file sent to the Hub only and never printed, the
 * Hub's refusals as coded errors, the local Hugging Face cache read with no request, HF_ENDPOINT
 * honoured. No test reaches the internet: HF_ENDPOINT points every request at the local server.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatHubReference, looksLikeRepoId, parseHubReference, siblingReference } from '../src/hub/reference.js';
import { hubErrorOf } from '../src/hub/errors.js';
import { DEFAULT_HUB_ENDPOINT, hubFileUrl, resolveHubModel } from '../src/hub/resolve.js';
import { MAX_REDIRECTS, scopedFetch } from '../src/io/scoped-fetch.js';
import { HttpSource } from '../src/io/http-source.js';
import { hubOptions, hubReferenceOf, parseHeader, tokenFilePath, useHubCredentials } from '../src/node/hub.js';
import { hubCacheDir } from '../src/node/hub-cache.js';
import { safeOpen } from '../src/node/open-path.js';
import { commitOf, repoWith, startFakeHub, type FakeHub } from './helpers/fake-hub.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';

const TORCH = path.join(import.meta.dirname, 'fixtures', 'torch', 'byteorder_little_zip.pt');
/** Another checkpoint, with other tensor names (and only dtypes GGUF holds). */
const TORCH_2 = path.join(import.meta.dirname, 'fixtures', 'torch', 'parameters_zip.pt');
const ENV_KEYS = ['HF_ENDPOINT', 'HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN', 'HF_TOKEN_PATH', 'HF_HOME', 'HF_HUB_CACHE', 'HUGGINGFACE_HUB_CACHE', 'HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE', 'XDG_CACHE_HOME'];
const savedEnv = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));

let hub: FakeHub;
let work: string;
/** Local conversions of the files the repositories hold: what a conversion by repo id must equal. */
const local = { bin: '', shardDir: '', shards: [] as string[], binShardDir: '' };

const bytes = (file: string): Uint8Array => new Uint8Array(fs.readFileSync(file));
const hubRequests = (): string[] => hub.requests.filter((r) => r.server === 'hub').map((r) => r.path);
const contentRequests = (): number => hub.requests.filter((r) => r.server === 'content').length;

/** Every tensor and the metadata of a safetensors file, but the provenance record (which names the source: a path here, a pinned hf:// reference there). */
async function contentOf(file: string): Promise<unknown> {
  const h = await safeOpen(file);
  try {
    const metadata = { ...(h.metadata() ?? {}) };
    delete metadata['tensorsafe.source'];
    const tensors: Record<string, unknown> = {};
    for (const name of h.keys()) {
      const t = await h.getTensor(name);
      tensors[name] = { dtype: t.dtype, shape: [...t.shape], bytes: Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('hex') };
    }
    return { metadata, tensors };
  } finally {
    await h.close();
  }
}

beforeAll(async () => {
  hub = await startFakeHub();
  work = tempDir('hub');
  // The files of the repositories, and their local conversions.
  local.bin = path.join(work, 'local-bin', 'model.safetensors');
  fs.mkdirSync(path.dirname(local.bin), { recursive: true });
  fs.copyFileSync(TORCH, path.join(work, 'local-bin', 'pytorch_model.bin'));
  const c1 = await runCli('convert', path.join(work, 'local-bin', 'pytorch_model.bin'));
  expect(c1.code, c1.stderr).toBe(0);
  local.shardDir = path.join(work, 'local-sharded');
  fs.mkdirSync(path.join(work, 'local-bin-2'));
  fs.copyFileSync(TORCH_2, path.join(work, 'local-bin-2', 'pytorch_model.bin'));
  const c2 = await runCli('convert', path.join(work, 'local-bin-2', 'pytorch_model.bin'), '-o', `${local.shardDir}/`, '--max-shard-size', '20B');
  expect(c2.code, c2.stderr).toBe(0);
  local.shards = fs.readdirSync(local.shardDir).filter((f) => f.endsWith('.safetensors')).sort();
  expect(local.shards.length).toBeGreaterThan(1);
  expect(fs.existsSync(path.join(local.shardDir, 'model.safetensors.index.json'))).toBe(true);

  // A sharded PyTorch set (the two checkpoints as its shards, and their index), as a folder and as a repository.
  local.binShardDir = path.join(work, 'local-bin-sharded');
  fs.mkdirSync(local.binShardDir);
  const binShards: Record<string, Uint8Array> = {
    'pytorch_model-00001-of-00002.bin': bytes(TORCH),
    'pytorch_model-00002-of-00002.bin': bytes(TORCH_2),
  };
  const weightMap: Record<string, string> = {};
  for (const [file, checkpoint] of [['pytorch_model-00001-of-00002.bin', TORCH], ['pytorch_model-00002-of-00002.bin', TORCH_2]] as const) {
    const i = await runCli('inspect', '--json', checkpoint);
    for (const t of (JSON.parse(i.stdout) as { tensors: { name: string }[] }).tensors) weightMap[t.name] = file;
  }
  binShards['pytorch_model.bin.index.json'] = new TextEncoder().encode(JSON.stringify({ metadata: { total_size: 263 }, weight_map: weightMap }));
  for (const [name, data] of Object.entries(binShards)) fs.writeFileSync(path.join(local.binShardDir, name), data);
  const c3 = await runCli('convert', local.binShardDir, '-o', `${path.join(work, 'local-bin-sharded-out')}/`);
  expect(c3.code, c3.stderr).toBe(0);
  hub.repos.set('acme/private-sharded-bin', repoWith('private-sharded-bin', { ...binShards, 'config.json': new TextEncoder().encode('{}') }, { private: true }));

  const shardFiles = Object.fromEntries(fs.readdirSync(local.shardDir).map((f) => [f, bytes(path.join(local.shardDir, f))]));
  hub.repos.set('acme/private-bin', repoWith('private-bin', { 'pytorch_model.bin': bytes(TORCH), 'config.json': new TextEncoder().encode('{}'), 'training_args.bin': new Uint8Array(4) }, { private: true }));
  hub.repos.set('acme/private-sharded', repoWith('private-sharded', { ...shardFiles, 'README.md': new TextEncoder().encode('# model') }, { private: true }));
  hub.repos.set('acme/gated', repoWith('gated', { 'model.safetensors': bytes(local.bin) }, { gatedFor: new Set(['hf_accepted_terms']) }));
  hub.repos.set('acme/public', repoWith('public', { 'model.safetensors': bytes(local.bin), 'sub/other.safetensors': bytes(local.bin) }));
  hub.repos.set('acme/both', repoWith('both', { 'model.safetensors': bytes(local.bin), ...shardFiles }));
  hub.repos.set('acme/ggufs', repoWith('ggufs', { 'a.Q4_0.gguf': new Uint8Array(8), 'a.Q8_0.gguf': new Uint8Array(8) }));
});

afterAll(async () => {
  await hub?.stop();
  for (const k of ENV_KEYS) {
    if (savedEnv[k] === undefined) delete process.env[k];
    else process.env[k] = savedEnv[k];
  }
});

beforeEach(() => {
  for (const k of ENV_KEYS) delete process.env[k];
  process.env['HF_ENDPOINT'] = hub.url;
  // No token file and no cache of the machine's: a fresh HF_HOME per test.
  process.env['HF_HOME'] = tempDir('hf-home');
  hub.requests.length = 0;
  useHubCredentials({});
});
afterEach(() => useHubCredentials({}));

describe('Hub references', () => {
  it('reads hf://owner/repo[@revision][/path] and bare owner/repo[@revision]', () => {
    expect(parseHubReference('hf://acme/m')).toEqual({ repo: 'acme/m' });
    expect(parseHubReference('hf://acme/m@v1.0/dir/model.safetensors')).toEqual({ repo: 'acme/m', revision: 'v1.0', path: 'dir/model.safetensors' });
    expect(parseHubReference('hf://acme/m@refs%2Fpr%2F3/model.bin')).toEqual({ repo: 'acme/m', revision: 'refs/pr/3', path: 'model.bin' });
    expect(parseHubReference('acme/Llama-3.1-8B@main', { bare: true })).toEqual({ repo: 'acme/Llama-3.1-8B', revision: 'main' });
    expect(parseHubReference('acme/m', {})).toBeUndefined();
    expect(formatHubReference({ repo: 'acme/m', revision: 'refs/pr/3', path: 'a/b.bin' })).toBe('hf://acme/m@refs%2Fpr%2F3/a/b.bin');
    for (const bad of ['hf://acme', 'hf://acme/m/../x', 'hf://-acme/m', 'hf://acme/m--x', 'hf://acme/m@', 'hf://acme/m@a..b/x', 'hf://acme/m/a\\b']) {
      expect(() => parseHubReference(bad), bad).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
    }
    expect(siblingReference({ repo: 'acme/m', revision: 'x', path: 'd/model.json' }, 'shard1.bin').path).toBe('d/shard1.bin');
    expect(() => siblingReference({ repo: 'acme/m', path: 'model.json' }, '../x.bin')).toThrow(expect.objectContaining({ code: 'ExternalDataRefused' }));
  });

  it('a bare owner/repo never shadows a local path of that name, nor a mistyped model file path', () => {
    // test/fixtures exists relative to the test's working folder (the package root): it is a path.
    expect(fs.existsSync('test/fixtures')).toBe(true);
    expect(hubReferenceOf('test/fixtures')).toBeUndefined();
    expect(hubReferenceOf('test/no-such-model-folder')).toEqual({ repo: 'test/no-such-model-folder' });
    expect(looksLikeRepoId('models/pytorch_model.bin')).toBe(false);
    expect(looksLikeRepoId('out/model.safetensors')).toBe(false);
    expect(looksLikeRepoId('out/model.json')).toBe(false);
    expect(looksLikeRepoId('./acme/m')).toBe(false);
    expect(looksLikeRepoId('/acme/m')).toBe(false);
    expect(hubReferenceOf('hf://test/fixtures')).toEqual({ repo: 'test/fixtures' });
  });

  it('settings as huggingface_hub reads them: HF_ENDPOINT, HF_TOKEN, the token file, the cache folder', () => {
    const env = { HF_HOME: '/h' };
    expect(tokenFilePath(env)).toBe('/h/token');
    expect(tokenFilePath({ ...env, HF_TOKEN_PATH: '/t/tok' })).toBe('/t/tok');
    expect(hubCacheDir(env)).toBe('/h/hub');
    expect(hubCacheDir({ ...env, HF_HUB_CACHE: '/c' })).toBe('/c');
    expect(hubCacheDir({ XDG_CACHE_HOME: '/x' })).toBe('/x/huggingface/hub');
    expect(hubOptions({ HF_HOME: '/nonexistent' }).endpoint).toBe(DEFAULT_HUB_ENDPOINT);
    expect(hubOptions({ HF_HOME: '/nonexistent', HF_ENDPOINT: 'http://mirror.local:8080/' }).endpoint).toBe('http://mirror.local:8080');
    expect(hubOptions({ HF_HOME: '/nonexistent', HF_TOKEN: 'a' }).token).toBe('a');
    expect(() => parseHeader('Range: bytes=0-1')).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
    expect(() => parseHeader('no colon')).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
    expect(parseHeader('X-Api-Key:  secret ')).toEqual(['X-Api-Key', 'secret']);
  });
});

describe('the Hub\'s refusals as coded errors', () => {
  const ctx = { endpoint: 'https://hub.example', repo: 'acme/m', revision: 'main', withToken: false };
  const answer = (status: number, code?: string, message?: string): Response =>
    new Response(null, { status, headers: { ...(code ? { 'x-error-code': code } : {}), ...(message ? { 'x-error-message': message } : {}) } });

  it('maps X-Error-Code, and the status when there is none', () => {
    expect(hubErrorOf(answer(403, 'GatedRepo'), ctx)).toMatchObject({ code: 'HubGatedRepo', message: expect.stringContaining('accept its terms at https://hub.example/acme/m') });
    expect(hubErrorOf(answer(401, 'RepoNotFound'), ctx)).toMatchObject({ code: 'HubRepoNotFound', message: expect.stringContaining('pass --token, set HF_TOKEN') });
    expect(hubErrorOf(answer(404, 'RepoNotFound'), { ...ctx, withToken: true })).toMatchObject({ code: 'HubRepoNotFound', message: expect.stringContaining('the token given has no access') });
    expect(hubErrorOf(answer(404, 'RevisionNotFound'), ctx)).toMatchObject({ code: 'HubRevisionNotFound', message: expect.stringContaining('no such revision "main"') });
    expect(hubErrorOf(answer(404, 'EntryNotFound'), { ...ctx, path: 'x.bin' })).toMatchObject({ code: 'HubEntryNotFound', message: expect.stringContaining('acme/m@main/x.bin: no such file at that revision') });
    expect(hubErrorOf(answer(401, undefined, 'Invalid credentials in Authorization header'), { ...ctx, withToken: true })).toMatchObject({ code: 'HubAccessDenied', message: expect.stringContaining('Invalid credentials') });
    expect(hubErrorOf(answer(500), ctx)).toBeUndefined();
    // The server's sentence is bounded and kept on one line.
    expect(hubErrorOf(answer(404, 'EntryNotFound', `a\u001b[31m${'x'.repeat(1000)}`), ctx)!.message.length).toBeLessThan(500);
  });
});

describe('credentials stay with their origin', () => {
  it('a redirect to another origin is followed without the scoped headers; one to the same origin keeps them; https to http is refused; loops end', async () => {
    const seen: { url: string; auth: string | null; custom: string | null; range: string | null }[] = [];
    const fake = async (url: string, init: RequestInit): Promise<Response> => {
      const h = new Headers(init.headers);
      seen.push({ url, auth: h.get('authorization'), custom: h.get('x-key'), range: h.get('range') });
      expect(init.redirect).toBe('manual');
      if (url.startsWith('https://hub.test/a')) return new Response(null, { status: 302, headers: { location: '/b' } });
      if (url.startsWith('https://hub.test/b')) return new Response(null, { status: 307, headers: { location: 'https://cdn.test/blob?sig=1' } });
      if (url.startsWith('https://hub.test/down')) return new Response(null, { status: 302, headers: { location: 'http://cdn.test/x' } });
      if (url.startsWith('https://hub.test/loop')) return new Response(null, { status: 302, headers: { location: '/loop' } });
      return new Response('ok', { status: 200 });
    };
    const f = scopedFetch([{ origin: 'https://hub.test', headers: { authorization: 'Bearer SECRET', 'x-key': 'K' } }], fake);
    const res = await f('https://hub.test/a', { method: 'GET', headers: { range: 'bytes=0-3' } });
    expect(await res.text()).toBe('ok');
    expect(seen).toEqual([
      { url: 'https://hub.test/a', auth: 'Bearer SECRET', custom: 'K', range: 'bytes=0-3' },
      { url: 'https://hub.test/b', auth: 'Bearer SECRET', custom: 'K', range: 'bytes=0-3' },
      { url: 'https://cdn.test/blob?sig=1', auth: null, custom: null, range: 'bytes=0-3' },
    ]);
    await expect(f('https://hub.test/down', { method: 'GET' })).rejects.toMatchObject({ code: 'InvalidResponse', message: expect.stringContaining('plain http') });
    seen.length = 0;
    await expect(f('https://hub.test/loop', { method: 'GET' })).rejects.toMatchObject({ code: 'InvalidResponse' });
    expect(seen.length).toBe(MAX_REDIRECTS + 1);
  });

  it('HttpSource through the Hub: the token reaches the Hub, never the content host (real servers, Node fetch)', async () => {
    const model = await resolveHubModel('acme/private-bin', { endpoint: hub.url, token: hub.token });
    expect(model.files.map((f) => f.url)).toEqual([hubFileUrl(hub.url, 'acme/private-bin', commitOf('private-bin'), 'pytorch_model.bin')]);
    const { openHubFile } = await import('../src/hub/resolve.js');
    const opened = await openHubFile('acme/private-bin', model.commit, 'pytorch_model.bin', { endpoint: hub.url, token: hub.token, http: { prefetchBytes: 64 } });
    expect(opened.from).toBe('network');
    expect(opened.source).toBeInstanceOf(HttpSource);
    expect(await opened.source.read(100, 50)).toEqual(bytes(TORCH).subarray(100, 150));
    expect(await opened.source.read(1000, 10)).toEqual(bytes(TORCH).subarray(1000, 1010));
    // Where the Hub sent the file is remembered: each later read is one request, to the content host.
    expect(hub.requests.map((r) => r.server)).toEqual(['hub', 'hub', 'content', 'content', 'content']);
    // A signed URL that expired: the Hub is asked again, once.
    hub.expireSignedUrls();
    expect(await opened.source.read(2000, 10)).toEqual(bytes(TORCH).subarray(2000, 2010));
    expect(hub.requests.slice(5).map((r) => r.server)).toEqual(['content', 'hub', 'content']);
    await opened.source.close?.();
    const hubSide = hub.requests.filter((r) => r.server === 'hub');
    const contentSide = hub.requests.filter((r) => r.server === 'content');
    expect(hubSide.length).toBeGreaterThan(0);
    expect(hubSide.every((r) => r.authorization === `Bearer ${hub.token}`)).toBe(true);
    expect(contentSide.length).toBeGreaterThan(0);
    expect(contentSide.every((r) => r.authorization === undefined)).toBe(true);
    expect(contentSide.every((r) => r.range !== undefined)).toBe(true);
  });
});

describe('converting a private repository by its repo id', () => {
  const tokenWays: [string, () => string[]][] = [
    ['HF_TOKEN', () => ((process.env['HF_TOKEN'] = hub.token), [])],
    ['--token', () => ['--token', hub.token]],
    ['the token file ($HF_HOME/token)', () => (fs.writeFileSync(path.join(process.env['HF_HOME']!, 'token'), `${hub.token}\n`), [])],
    ['the token file (HF_TOKEN_PATH)', () => {
      const file = path.join(tempDir('tok'), 'my-token');
      fs.writeFileSync(file, hub.token);
      process.env['HF_TOKEN_PATH'] = file;
      return [];
    }],
  ];
  for (const [how, give] of tokenWays) {
    it(`pytorch_model.bin, token from ${how}: equal to the local conversion of the same file; the token sent to the Hub only and never printed`, async () => {
      const extra = give();
      const out = path.join(tempDir('hub-out'), 'out.safetensors');
      const r = await runCli('convert', 'acme/private-bin', '-o', out, '--json', ...extra);
      expect(r.code, r.stderr).toBe(0);
      expect(await contentOf(out)).toEqual(await contentOf(local.bin));
      const summary = JSON.parse(r.stdout) as { inputs: string[]; sources: { file: string }[] };
      const pinned = `hf://acme/private-bin@${commitOf('private-bin')}/pytorch_model.bin`;
      expect(summary.inputs).toEqual([pinned]);
      // The output records its source as the pinned reference: which bytes, exactly.
      expect(summary.sources.map((s) => s.file)).toEqual([pinned]);
      expect(`${r.stdout}${r.stderr}`).not.toContain(hub.token);
      expect(hub.requests.filter((q) => q.server === 'hub').every((q) => q.authorization === `Bearer ${hub.token}`)).toBe(true);
      expect(hub.requests.filter((q) => q.server === 'content').every((q) => q.authorization === undefined)).toBe(true);
      // Every file read at the commit, never at the branch.
      expect(hubRequests().filter((p) => p.includes('/resolve/')).every((p) => p.includes(`/resolve/${commitOf('private-bin')}/`))).toBe(true);
    });
  }

  it('a sharded PyTorch repository: its index followed to its shards; the same files as the local conversion of the same folder', async () => {
    process.env['HF_TOKEN'] = hub.token;
    const out = tempDir('hub-sharded-bin');
    const r = await runCli('convert', 'acme/private-sharded-bin', '-o', `${out}/`);
    expect(r.code, r.stderr).toBe(0);
    const mine = path.join(work, 'local-bin-sharded-out');
    expect(fs.readdirSync(out).sort()).toEqual(fs.readdirSync(mine).sort());
    for (const f of fs.readdirSync(out).filter((n) => n.endsWith('.safetensors'))) expect([f, await contentOf(path.join(out, f))]).toEqual([f, await contentOf(path.join(mine, f))]);
    const indexOf = (dir: string): { weight_map: unknown; metadata: Record<string, unknown> } => JSON.parse(fs.readFileSync(path.join(dir, 'model.safetensors.index.json'), 'utf8'));
    expect(indexOf(out).weight_map).toEqual(indexOf(mine).weight_map);
    expect(indexOf(out).metadata['total_size']).toEqual(indexOf(mine).metadata['total_size']);
    expect(hubRequests().filter((p) => p.includes('/resolve/') && p.endsWith('.bin')).length).toBeGreaterThan(1);
  });

  it('a sharded safetensors repository: its index followed to its shards; the same file as the local set\'s conversion (--to gguf)', async () => {
    process.env['HF_TOKEN'] = hub.token;
    const out = tempDir('hub-gguf');
    const r = await runCli('convert', 'acme/private-sharded', '--to', 'gguf', '--arch', 'llama', '-o', `${out}/`);
    expect(r.code, r.stderr).toBe(0);
    const mine = tempDir('local-gguf');
    const l = await runCli('convert', path.join(local.shardDir, 'model.safetensors.index.json'), '--to', 'gguf', '--arch', 'llama', '-o', `${mine}/`);
    expect(l.code, l.stderr).toBe(0);
    expect(fs.readdirSync(out)).toEqual(fs.readdirSync(mine));
    // The same tensors, bit for bit, and the same metadata but the source record (a pinned hf:// reference there, a path here).
    const [a, b] = [path.join(out, fs.readdirSync(out)[0]!), path.join(mine, fs.readdirSync(mine)[0]!)];
    expect((await runCli('verify', a, b)).code).toBe(0);
    const described = async (file: string): Promise<unknown> => {
      const report = JSON.parse((await runCli('inspect', '--json', file)).stdout) as { tensors: unknown; metadata: Record<string, string> | null };
      const metadata = Object.fromEntries(Object.entries(report.metadata ?? {}).filter(([k]) => !k.includes('tensorsafe.source')));
      return { tensors: report.tensors, metadata };
    };
    expect(await described(a)).toEqual(await described(b));
    const resolves = hubRequests().filter((p) => p.includes('/resolve/'));
    for (const shard of local.shards) expect(resolves.some((p) => p.endsWith(`/${shard}`))).toBe(true);
    // Converting it to safetensors again is refused as for a local set: it already is.
    const again = await runCli('convert', 'acme/private-sharded', '-o', `${tempDir('x')}/`);
    expect(again.code).toBe(3);
    expect(again.stderr).toContain('already safetensors');
  });

  it('inspect, verify, validate, scan and hash take Hub references too', async () => {
    process.env['HF_TOKEN'] = hub.token;
    const i = await runCli('inspect', '--json', 'acme/private-sharded');
    expect(i.code, i.stderr).toBe(0);
    const report = JSON.parse(i.stdout) as { format: string; shards: string[]; hub: { commit: string; read: string[] } };
    expect(report.format).toBe('safetensors-sharded');
    expect([...report.shards].sort()).toEqual(local.shards);
    expect(report.hub.commit).toBe(commitOf('private-sharded'));
    expect(report.hub.read.every((l) => l.includes('fetched from'))).toBe(true);
    // Resolved once (one question about main), the index read twice (to pick the files, to open the set), each shard's header once.
    expect(hubRequests().filter((p) => p.startsWith('/api/')).length).toBe(1);
    expect(hubRequests().filter((p) => p.endsWith('.index.json')).length).toBe(2);
    for (const shard of local.shards) expect(hubRequests().filter((p) => p.endsWith(`/${shard}`)).length).toBe(1);
    const v = await runCli('verify', 'acme/private-bin', local.bin);
    expect(v.code, v.stderr).toBe(0);
    const v2 = await runCli('verify', 'acme/private-sharded', TORCH_2);
    expect(v2.code, v2.stderr).toBe(0);
    expect(v.code, v.stderr).toBe(0);
    const val = await runCli('validate', 'acme/private-sharded', 'hf://acme/private-bin/pytorch_model.bin');
    expect(val.lines[0]).toContain('valid');
    expect(val.code).toBe(1); // the .bin is not safetensors
    const s = await runCli('scan', '--json', 'acme/private-sharded');
    expect(s.code, s.stderr).toBe(0);
    expect(s.lines.length).toBe(local.shards.length + 1);
    // Each file named by its pinned reference, as inspect and convert name it, not by the URL it was read from.
    for (const line of s.lines) expect(JSON.parse(line).file).toMatch(new RegExp(`^hf://acme/private-sharded@${commitOf('private-sharded')}/`));
    const whole = await runCli('hash', 'acme/private-sharded');
    expect(whole.code).toBe(3);
    expect(whole.stderr).toContain(`is a sharded set (model.safetensors.index.json and ${local.shards.length} shards): name one file, hf://acme/private-sharded/${local.shards[0]}`);
    const h = await runCli('hash', '--json', `hf://acme/private-sharded/${local.shards[0]}`);
    const mine = await runCli('hash', '--json', path.join(local.shardDir, local.shards[0]!));
    expect(h.code, h.stderr).toBe(0);
    expect(JSON.parse(h.stdout).tensors).toEqual(JSON.parse(mine.stdout).tensors);
  });

  it('verify --run takes a Hub reference, and a URL, as its original: the model read with range requests, run as a local one is', async () => {
    const mlp = path.join(import.meta.dirname, 'fixtures', 'behaviour', 'onnx', 'mlp.onnx');
    hub.repos.set('acme/onnx-run', repoWith('onnx-run', { 'model.onnx': new Uint8Array(fs.readFileSync(mlp)) }));
    const converted = path.join(tempDir('run'), 'mlp.safetensors');
    const c = await runCli('convert', mlp, '-o', converted);
    expect(c.code, c.stderr).toBe(0);
    for (const original of ['acme/onnx-run', `hf://acme/onnx-run@${commitOf('onnx-run')}/model.onnx`, `${hub.url}/acme/onnx-run/resolve/main/model.onnx`]) {
      const v = await runCli('verify', original, converted, '--run', '--dim', 'batch=4');
      expect([original, v.code, v.stderr]).toEqual([original, 0, '']);
      expect(v.stdout).toMatch(/behaves the same: 2 outputs identical/);
    }
  });
});

describe('errors', () => {
  it('a private repository without a token, with a wrong one; a gated one; a missing revision or file; several models', async () => {
    const noToken = await runCli('convert', 'acme/private-bin', '-o', path.join(tempDir('e'), 'o.safetensors'), '--json');
    expect(noToken.code).toBe(3);
    expect(JSON.parse(noToken.lines[0]!).error.code).toBe('HubRepoNotFound');
    expect(noToken.stderr).toContain('private or no such repository');
    expect(noToken.stderr).toContain('pass --token, set HF_TOKEN');
    const wrong = await runCli('inspect', 'acme/private-bin', '--token', 'hf_wrong_token_value');
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toContain('HubRepoNotFound');
    expect(wrong.stderr).not.toContain('hf_wrong_token_value');
    const gated = await runCli('inspect', 'acme/gated', '--token', hub.token);
    expect(gated.code).toBe(3);
    expect(gated.stderr).toContain('HubGatedRepo');
    expect(gated.stderr).toContain(`accept its terms at ${hub.url}/acme/gated`);
    expect(gated.stderr).not.toContain(hub.token);
    const accepted = await runCli('inspect', 'acme/gated', '--token', 'hf_accepted_terms');
    expect(accepted.code, accepted.stderr).toBe(0);
    const revision = await runCli('inspect', 'acme/public@v9');
    expect(revision.stderr).toContain('HubRevisionNotFound');
    expect(revision.stderr).toContain('no such revision "v9"');
    const file = await runCli('inspect', 'hf://acme/public/nope.safetensors');
    expect(file.stderr).toContain('HubEntryNotFound');
    expect(file.stderr).toContain('no such file at that revision');
    const missing = await runCli('inspect', 'acme/no-such-repo');
    expect(missing.stderr).toContain('HubRepoNotFound');
    expect(missing.stderr).toContain('no local file or folder acme/no-such-repo');
    const several = await runCli('inspect', 'acme/ggufs');
    expect(several.stderr).toContain('AmbiguousModel');
    expect(several.stderr).toContain('a.Q4_0.gguf, a.Q8_0.gguf');
    expect(several.stderr).toContain('hf://acme/ggufs/<file>');
    const both = await runCli('inspect', 'acme/both');
    expect(both.stderr).toContain('AmbiguousModel');
    expect(both.stderr).toContain('holds both model.safetensors and model.safetensors.index.json');
    // A two-part path that ends like a model file is a path, never a repository: not found, no request.
    hub.requests.length = 0;
    const typo = await runCli('inspect', 'no-such-folder/model.safetensors');
    expect(typo.stderr).toContain('NotFound');
    expect(hub.requests).toEqual([]);
    const noOutput = await runCli('convert', 'acme/public');
    expect(noOutput.code).toBe(3);
    expect(noOutput.stderr).toContain('name the output');
    const badHeader = await runCli('inspect', 'acme/public', '--header', 'Range: bytes=0-1');
    expect(badHeader.code).toBe(2);
  });
});

describe('pinning, the cache, HF_ENDPOINT', () => {
  it('the revision is pinned: main moving between the API call and the reads changes nothing', async () => {
    const first = repoWith('moving-1', { 'pytorch_model.bin': bytes(TORCH) });
    const second = commitOf('moving-2');
    // The second commit holds another checkpoint under the same name.
    first.commits.set(second, new Map([['pytorch_model.bin', bytes(path.join(path.dirname(TORCH), 'parameters_zip.pt'))]]));
    first.afterApi = () => first.refs.set('main', second);
    hub.repos.set('acme/moving', first);
    const out = path.join(tempDir('pin'), 'o.safetensors');
    const r = await runCli('convert', 'acme/moving', '-o', out);
    expect(r.code, r.stderr).toBe(0);
    expect(first.refs.get('main')).toBe(second);
    expect(await contentOf(out)).toEqual(await contentOf(local.bin));
    const resolves = hubRequests().filter((p) => p.includes('/resolve/'));
    expect(resolves.length).toBeGreaterThan(0);
    expect(resolves.every((p) => p.includes(`/resolve/${commitOf('moving-1')}/`))).toBe(true);
    expect(hubRequests().filter((p) => p.startsWith('/api/'))).toEqual(['/api/models/acme/moving/revision/main']);
  });

  it('files in the Hugging Face cache are read with no request; inspect says so', async () => {
    const cache = path.join(process.env['HF_HOME']!, 'hub');
    const sha = commitOf('public');
    const repoDir = path.join(cache, 'models--acme--public');
    fs.mkdirSync(path.join(repoDir, 'blobs'), { recursive: true });
    fs.mkdirSync(path.join(repoDir, 'refs'), { recursive: true });
    fs.mkdirSync(path.join(repoDir, 'snapshots', sha), { recursive: true });
    fs.copyFileSync(local.bin, path.join(repoDir, 'blobs', 'abc123'));
    fs.symlinkSync(path.join('..', '..', 'blobs', 'abc123'), path.join(repoDir, 'snapshots', sha, 'model.safetensors'));
    fs.writeFileSync(path.join(repoDir, 'refs', 'main'), sha);

    // A commit hash and a file: nothing asked of the Hub.
    const byFile = await runCli('inspect', '--json', `hf://acme/public@${sha}/model.safetensors`);
    expect(byFile.code, byFile.stderr).toBe(0);
    expect(hub.requests).toEqual([]);
    expect((JSON.parse(byFile.stdout) as { hub: { read: string[] } }).hub.read[0]).toContain('read from the local Hugging Face cache');
    // A repository at a commit: its cached snapshot holds its model.
    const byRepo = await runCli('inspect', `acme/public@${sha}`);
    expect(byRepo.code, byRepo.stderr).toBe(0);
    expect(byRepo.stdout).toContain(`read at commit ${sha}`);
    expect(byRepo.stdout).toContain('read from the local Hugging Face cache');
    expect(hub.requests).toEqual([]);
    // A branch: one question (what main is now), and the file from the cache.
    const byBranch = await runCli('convert', 'acme/public', '--to', 'npz', '--allow-raw', '-o', path.join(tempDir('c'), 'm.npz'));
    expect(byBranch.code, byBranch.stderr).toBe(0);
    expect(byBranch.stdout).toContain(`note: hf://acme/public@${sha}/model.safetensors: read from the local Hugging Face cache`);
    expect(hubRequests()).toEqual(['/api/models/acme/public/revision/main']);
    expect(contentRequests()).toBe(0);
    // Offline (HF_HUB_OFFLINE=1): the branch from refs/main, no request at all.
    hub.requests.length = 0;
    process.env['HF_HUB_OFFLINE'] = '1';
    const offline = await runCli('hash', 'acme/public');
    expect(offline.code, offline.stderr).toBe(0);
    expect(hub.requests).toEqual([]);
    const notCached = await runCli('inspect', 'acme/private-bin');
    expect(notCached.code).toBe(3);
    expect(notCached.stderr).toContain('HF_HUB_OFFLINE');
    expect(hub.requests).toEqual([]);
  });

  it('HF_ENDPOINT decides where every request goes (a trailing slash allowed)', async () => {
    const second = await startFakeHub();
    try {
      second.repos.set('acme/only-here', repoWith('only-here', { 'model.safetensors': bytes(local.bin) }));
      process.env['HF_ENDPOINT'] = `${second.url}/`;
      const r = await runCli('inspect', 'acme/only-here');
      expect(r.code, r.stderr).toBe(0);
      expect(second.requests.length).toBeGreaterThan(0);
      expect(hub.requests).toEqual([]);
      process.env['HF_ENDPOINT'] = hub.url;
      const elsewhere = await runCli('inspect', 'acme/only-here');
      expect(elsewhere.stderr).toContain('HubRepoNotFound');
    } finally {
      await second.stop();
    }
  });

  it('--header goes to the URL\'s host (and the Hub\'s), never past a redirect to another host', async () => {
    const url = `${hub.url}/acme/public/resolve/main/model.safetensors`;
    const r = await runCli('inspect', '--json', url, '--header', 'X-Api-Key: s3cret-value');
    expect(r.code, r.stderr).toBe(0);
    expect(`${r.stdout}${r.stderr}`).not.toContain('s3cret-value');
    const hubSide = hub.requests.filter((q) => q.server === 'hub');
    const contentSide = hub.requests.filter((q) => q.server === 'content');
    expect(hubSide.length).toBeGreaterThan(0);
    expect(contentSide.length).toBeGreaterThan(0);
    expect(hubSide.every((q) => q.headers['x-api-key'] === 's3cret-value')).toBe(true);
    expect(contentSide.every((q) => q.headers['x-api-key'] === undefined)).toBe(true);
  });
});

describe('fuzz: references and the Hub\'s answers', () => {
  const piece = fc.oneof(fc.constantFrom('acme', 'm', 'a.b', 'a-b', 'a_b', '-x', 'x-', '..', '.', '', '@', '%2F', '%', 'refs', 'main', '~', ' ', '\\', '\0', 'é'), fc.string({ maxLength: 6 }));
  const text = fc.tuple(fc.constantFrom('hf://', '', 'HF://', 'hf:/'), fc.array(piece, { maxLength: 8 }), fc.array(fc.constantFrom('/', '@'), { maxLength: 8 })).map(([scheme, parts, seps]) => scheme + parts.map((p, i) => p + (seps[i] ?? '')).join(''));

  it('a reference parses to one that formats back to itself, or is refused with InvalidArgument; never anything else', () => {
    fc.assert(
      fc.property(text, (t) => {
        let ref;
        try {
          ref = parseHubReference(t, { bare: true });
        } catch (e) {
          expect((e as { code?: string }).code).toBe('InvalidArgument');
          return;
        }
        if (ref === undefined) return;
        expect(ref.path === undefined || !ref.path.split('/').includes('..')).toBe(true);
        expect(parseHubReference(formatHubReference(ref))).toEqual(ref);
      }),
      { numRuns: 3000 },
    );
  });

  it('any answer of the revision API, and any index, resolves or fails with a coded error', async () => {
    const sha = commitOf('fuzz');
    const answers = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.json({ maxDepth: 3 }),
      fc.record({ sha: fc.oneof(fc.constant(sha), fc.string({ maxLength: 41 })), siblings: fc.array(fc.oneof(fc.record({ rfilename: fc.constantFrom('model.safetensors', 'pytorch_model.bin', 'model.safetensors.index.json', 'a.gguf', 'x/y.bin', 'config.json', '../evil.bin') }), fc.anything()), { maxLength: 6 }) }).map((o) => JSON.stringify(o)),
    );
    const indexes = fc.oneof(fc.string({ maxLength: 100 }), fc.json({ maxDepth: 3 }), fc.dictionary(fc.constantFrom('a', 'b', 'c'), fc.constantFrom('model-1.safetensors', '../x.safetensors', '/abs.safetensors', 'sub/m.bin', '')).map((w) => JSON.stringify({ weight_map: w })));
    await fc.assert(
      fc.asyncProperty(answers, indexes, async (answer, index) => {
        const fetch = async (url: string): Promise<Response> =>
          url.includes('/api/') ? new Response(answer, { status: 200 }) : new Response(index, { status: 200, headers: { 'content-length': String(new TextEncoder().encode(index).length) } });
        try {
          const model = await resolveHubModel('acme/m', { endpoint: 'https://hub.test', fetch, http: { retries: 0 } });
          expect(model.commit).toBe(sha);
          for (const f of model.files) expect(f.path.split('/').includes('..')).toBe(false);
        } catch (e) {
          expect(typeof (e as { code?: unknown }).code, String(e)).toBe('string');
          expect((e as Error).constructor.name).not.toBe('TypeError');
        }
      }),
      { numRuns: 300 },
    );
  });
});
