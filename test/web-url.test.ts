/**
 * The page's URL form (src/web/worker/models.ts openUrl → model/open-source.ts openModelUrl →
 * HttpSource) against a real nginx of another origin: a model is read lazily with range requests
 * (only its header), a TF.js model.json brings its shards, and a server that fails or does not allow
 * the page to read it gives a coded error saying what to do. A dangerous pickle by URL is refused.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatById } from '../src/index.js';
import { openModel } from '../src/node.js';
import { findNginx, NGINX_MISSING_MESSAGE, startNginx, type NginxServer } from './helpers/nginx.js';
import { ROOT } from './helpers/paths.js';
import { isLoopback, SKIP_BROWSER, webSession } from './helpers/web-page.js';
import { evilTorchZip, manyTensorsHeader, openUrlInPage } from './helpers/web-models.js';

const SKIP_NGINX = process.env.TENSORSAFE_SKIP_NGINX === '1';
const TFJS = path.join(ROOT, 'test', 'fixtures', 'formats', 'tfjs');
/** Data after the header: far more than the reads of its header and the scan's checks, so a read of it shows in the log. */
const DATA_BYTES = 50 * 16 * 10_240;

describe.skipIf(SKIP_BROWSER || SKIP_NGINX)('the web page opens URLs with range requests', () => {
  const session = webSession();
  let nginx: NginxServer;
  let root = '';
  let headerBytes = 0;

  beforeAll(async () => {
    if (!findNginx()) throw new Error(NGINX_MISSING_MESSAGE);
    root = mkdtempSync(path.join(os.tmpdir(), 'tensorsafe-web-url-'));
    const header = manyTensorsHeader(50, DATA_BYTES / 50 / 16);
    expect(Number.isInteger(DATA_BYTES / 50 / 16)).toBe(true);
    headerBytes = header.bytes.byteLength;
    const model = new Uint8Array(headerBytes + header.dataBytes);
    model.set(header.bytes);
    model.fill(0x3f, headerBytes);
    writeFileSync(path.join(root, 'model.safetensors'), model);
    mkdirSync(path.join(root, 'tfjs'));
    cpSync(path.join(TFJS, 'layers-model.json'), path.join(root, 'tfjs', 'model.json'));
    cpSync(path.join(TFJS, 'shards'), path.join(root, 'tfjs', 'shards'), { recursive: true });
    writeFileSync(path.join(root, 'evil.pt'), evilTorchZip());
    nginx = await startNginx(root);
  }, 60_000);
  afterAll(async () => {
    await nginx?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  /** The access log's requests for one path: method, status, bytes sent and Range header. */
  function requestsFor(uri: string): { method: string; status: number; sent: number; range: string }[] {
    return nginx
      .accessLog()
      .split('\n')
      .map((l) => /^(\S+) (\S+) (\d+) (\d+) range="([^"]*)"/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null && m[2] === uri)
      .map((m) => ({ method: m[1]!, status: Number(m[3]), sent: Number(m[4]), range: m[5]! }));
  }

  it('shows a safetensors file by URL from its header alone: every request a range read, none of its data', async () => {
    const { page } = await session.newPage({ viewport: { width: 1280, height: 1600 } });
    await openUrlInPage(page, `${nginx.url}/cors/model.safetensors`);
    await expect.poll(() => page.locator('[data-testid=verdict]').first().textContent()).toMatch(/^safe/);
    expect(await page.locator('[data-testid=format]').first().textContent()).toBe(formatById('safetensors')!.name);
    await expect.poll(() => page.locator('.table-status').first().textContent()).toBe('50 tensors');
    expect(await page.locator('[data-testid=tensor-row] td.name').first().textContent()).toBe('layers.0.weight');
    const gets = requestsFor('/cors/model.safetensors').filter((r) => r.method === 'GET');
    expect(gets.length).toBeGreaterThan(0);
    // Every read is a range read of at most the first read's size (64 KiB, plus what a zip end record
    // search adds): the header; the scan's checks for a second format (the file's last 64 KiB, where a
    // zip's directory would be, and 8 bytes at each power of two from 512, where HDF5 looks for its
    // signature). The 8 MiB of tensor data are never read.
    for (const r of gets) {
      expect(r.status).toBe(206);
      expect(r.range).toMatch(/^bytes=\d+-\d+$/);
      expect(r.sent).toBeLessThanOrEqual(64 * 1024 + 64);
    }
    expect(gets[0]!.range).toBe('bytes=0-65535');
    expect(headerBytes).toBeLessThan(64 * 1024);
    const total = gets.reduce((n, r) => n + r.sent, 0);
    expect(total).toBeLessThan(3 * 64 * 1024 + 8 * 32);
    expect(total).toBeLessThan(DATA_BYTES / 20);
  }, 60_000);

  it('opens a TF.js model.json by URL with its shards beside it, as the library reads it', async () => {
    const { page } = await session.newPage({ viewport: { width: 1280, height: 1600 } });
    await openUrlInPage(page, `${nginx.url}/cors/tfjs/model.json`);
    await expect.poll(() => page.locator('[data-testid=verdict]').first().textContent()).toMatch(/^safe/);
    const model = await openModel(path.join(TFJS, 'layers-model.json'));
    try {
      const names = await page.locator('[data-testid=tensor-row] td.name').allTextContents();
      expect(names).toEqual(model.tensors.map((t) => t.name));
    } finally {
      await model.close();
    }
    const shards = nginx.accessLog().split('\n').filter((l) => l.startsWith('GET /cors/tfjs/shards/'));
    expect(shards.length).toBeGreaterThan(0);
  }, 60_000);

  it('says what an HTTP error is, with its code', async () => {
    const { page } = await session.newPage();
    await openUrlInPage(page, `${nginx.url}/cors/missing.safetensors`);
    const card = page.locator('.card').first();
    await expect.poll(() => card.locator('[data-testid=verdict]').textContent()).toMatch(/could not be read/);
    const error = await card.locator('.error').textContent();
    expect(error).toMatch(/^HttpError: /);
    expect(error).toMatch(/HTTP 404/);
    expect(error).toMatch(/check the URL/i);
  }, 60_000);

  it('says the server must allow CORS when it does not (no Access-Control-Allow-Origin)', async () => {
    const { page } = await session.newPage();
    await openUrlInPage(page, `${nginx.url}/model.safetensors`);
    const error = await page.locator('.card').first().locator('.error').textContent();
    expect(error).toMatch(/^CorsRefused: /);
    expect(error).toMatch(/Access-Control-Allow-Origin/);
    expect(error).toMatch(/download the file and drop it/i);
  }, 60_000);

  it('says the server must expose Content-Range when it allows the origin but hides the headers', async () => {
    const { page } = await session.newPage();
    await openUrlInPage(page, `${nginx.url}/cors-noexpose/model.safetensors`);
    const error = await page.locator('.card').first().locator('.error').textContent();
    expect(error).toMatch(/^CorsRefused: /);
    expect(error).toMatch(/Access-Control-Expose-Headers/);
    expect(error).toMatch(/Content-Range/);
  }, 60_000);

  it('shows a dangerous pickle by URL as dangerous, with its findings and no tensors', async () => {
    const { page } = await session.newPage();
    await openUrlInPage(page, `${nginx.url}/cors/evil.pt`);
    const card = page.locator('.card').first();
    await expect.poll(() => card.locator('[data-testid=verdict]').textContent()).toMatch(/^dangerous/);
    expect(await card.locator('.finding').first().textContent()).toMatch(/posix\.system/);
    expect(await card.locator('[data-testid=tensor-row]').count()).toBe(0);
  }, 60_000);

  it('made no request outside 127.0.0.1', () => {
    expect(session.requests.filter((u) => !isLoopback(u))).toEqual([]);
  });
});
