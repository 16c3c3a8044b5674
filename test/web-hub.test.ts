/**
 * The web page's URL box takes Hugging Face Hub references (src/web/worker/hub-models.ts over
 * hub/resolve.ts), read from a local server that answers like the Hub and its content host (another
 * origin, as on the Hub; both answer CORS as the Hub does): a public repository by its id, a private
 * one with the token typed into the page (sent to the Hub only, never to the content host), a sharded
 * one; a conversion gives the CLI's bytes for the same reference; a refusal is a card that says why.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Download, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitOf, repoWith, startFakeHub, type FakeHub } from './helpers/fake-hub.js';
import { ROOT } from './helpers/paths.js';
import { SKIP_BROWSER, webSession } from './helpers/web-page.js';
import { openUrlInPage } from './helpers/web-models.js';

const CLI = path.join(ROOT, 'bin', 'tensorsafe.js');
const SAMPLE = path.join(ROOT, 'test', 'fixtures', 'torch', 'sample', 'pytorch_model.bin');

/** A safetensors file of the named F32 tensors, each [n] of the values i + seed. */
function safetensors(tensors: Record<string, number>, seed: number): Uint8Array {
  let at = 0;
  const header: Record<string, unknown> = {};
  for (const [name, n] of Object.entries(tensors)) {
    header[name] = { dtype: 'F32', shape: [n], data_offsets: [at, at + n * 4] };
    at += n * 4;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const out = new Uint8Array(8 + json.length + at);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(new TextEncoder().encode(json), 8);
  const values = new Float32Array(at / 4).map((_, i) => i + seed);
  out.set(new Uint8Array(values.buffer), 8 + json.length);
  return out;
}

/** The CLI's conversion of a Hub reference (async: the fake Hub answers from this process). */
function cliConvert(hub: FakeHub, reference: string, out: string, token?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI, 'convert', reference, '-o', out], { env: { ...process.env, HF_ENDPOINT: hub.url, HF_HOME: path.join(path.dirname(out), 'hf-home'), ...(token ? { HF_TOKEN: token } : {}) } }, (e, _stdout, stderr) =>
      e ? reject(new Error(`${e.message}\n${stderr}`)) : resolve(),
    );
  });
}

/** Opens the page's Hub settings and sets its address to the fake Hub's (as HF_ENDPOINT does for the CLI). */
async function hubAt(page: Page, hub: FakeHub): Promise<void> {
  await page.locator('.hub-settings summary').click();
  await page.locator('[data-testid=hub-endpoint]').fill(hub.url);
}

async function download(page: Page): Promise<{ name: string; bytes: Buffer }> {
  const got = page.waitForEvent('download', { timeout: 60_000 });
  await page.locator('.card').first().locator('[data-testid=convert]').click();
  const d: Download = await got;
  return { name: d.suggestedFilename(), bytes: fs.readFileSync(await d.path()) };
}

describe.skipIf(SKIP_BROWSER)('the web page opens Hugging Face Hub repositories', () => {
  const session = webSession();
  let hub: FakeHub;
  let tmp = '';
  const sample = new Uint8Array(fs.readFileSync(SAMPLE));

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tensorsafe-web-hub-'));
    hub = await startFakeHub();
    hub.repos.set('acme/public', repoWith('public-1', { 'model.safetensors': safetensors({ a: 16, b: 3 }, 1), 'config.json': new TextEncoder().encode('{}') }));
    hub.repos.set('acme/private', repoWith('private-1', { 'pytorch_model.bin': sample, 'README.md': new TextEncoder().encode('# private') }, { private: true }));
    const index = { metadata: { total_size: 19 * 4 + 5 * 4 }, weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00001-of-00002.safetensors', c: 'model-00002-of-00002.safetensors' } };
    hub.repos.set('acme/sharded', repoWith('sharded-1', {
      'model-00001-of-00002.safetensors': safetensors({ a: 16, b: 3 }, 2),
      'model-00002-of-00002.safetensors': safetensors({ c: 5 }, 3),
      'model.safetensors.index.json': new TextEncoder().encode(JSON.stringify(index)),
    }));
  }, 60_000);
  afterAll(async () => {
    await hub?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('a public repository by its id: the model picked, pinned to its commit, its header read with range requests', async () => {
    const { page } = await session.newPage();
    hub.requests.length = 0;
    await hubAt(page, hub);
    await openUrlInPage(page, 'acme/public');
    const card = page.locator('.card').first();
    await expect.poll(() => card.locator('[data-testid=verdict]').textContent()).toMatch(/^safe/);
    expect(await card.locator('[data-testid=tensor-row]').count()).toBe(2);
    expect(await card.textContent()).toContain(`hf://acme/public@${commitOf('public-1')}/model.safetensors`);
    // Pinned: the file was asked for at the commit, never at `main`.
    const resolves = hub.requests.filter((r) => r.server === 'hub' && r.path.includes('/resolve/'));
    expect(resolves.length).toBeGreaterThan(0);
    expect(resolves.every((r) => r.path.includes(`/resolve/${commitOf('public-1')}/`))).toBe(true);
    // Only the header and the scan's small reads: every content request is a range.
    expect(hub.requests.filter((r) => r.server === 'content' && r.method === 'GET').every((r) => r.range !== undefined)).toBe(true);
  }, 60_000);

  it('a private repository: refused without a token, with a card that says what to do; opened and converted with one, as the CLI converts it', async () => {
    const { page } = await session.newPage();
    await hubAt(page, hub);
    await openUrlInPage(page, 'acme/private');
    const refused = page.locator('.card').first();
    await expect.poll(() => refused.textContent()).toMatch(/HubRepoNotFound/);
    expect(await refused.textContent()).toMatch(/token/);
    await refused.locator('button.close').click();

    hub.requests.length = 0;
    await page.locator('[data-testid=hub-token]').fill(hub.token);
    await openUrlInPage(page, 'hf://acme/private');
    const card = page.locator('.card').first();
    await expect.poll(() => card.locator('[data-testid=verdict]').textContent()).toMatch(/^safe/);
    const got = await download(page);
    expect(got.name).toBe('model.safetensors');
    // The token went to the Hub, never to its content host.
    expect(hub.requests.some((r) => r.server === 'hub' && r.authorization === `Bearer ${hub.token}`)).toBe(true);
    expect(hub.requests.filter((r) => r.server === 'content').every((r) => r.authorization === undefined)).toBe(true);

    const out = path.join(tmp, 'private', 'model.safetensors');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    await cliConvert(hub, 'hf://acme/private', out, hub.token);
    const expected = fs.readFileSync(out);
    expect(got.bytes.equals(expected)).toBe(true);
    const header = JSON.parse(expected.subarray(8, 8 + Number(expected.readBigUInt64LE(0))).toString('utf8')) as { __metadata__: Record<string, string> };
    expect(JSON.parse(header.__metadata__['tensorsafe.source']!)[0].file).toBe(`hf://acme/private@${commitOf('private-1')}/pytorch_model.bin`);
  }, 120_000);

  it('a sharded repository: its index followed to its shards, one card, every tensor', async () => {
    const { page } = await session.newPage();
    await hubAt(page, hub);
    await openUrlInPage(page, 'acme/sharded@main');
    const card = page.locator('.card').first();
    await expect.poll(() => card.locator('[data-testid=verdict]').textContent()).toMatch(/^safe/);
    expect(await card.locator('[data-testid=tensor-row]').count()).toBe(3);
    expect(await card.textContent()).toContain('model.safetensors.index.json');
  }, 60_000);

  it('no such file, no such revision: coded errors in the card', async () => {
    const { page } = await session.newPage();
    await hubAt(page, hub);
    await openUrlInPage(page, 'hf://acme/public/nope.safetensors');
    await expect.poll(() => page.locator('.card', { hasText: 'HubEntryNotFound' }).count()).toBe(1);
    await openUrlInPage(page, 'acme/public@v9');
    await expect.poll(() => page.locator('.card', { hasText: 'HubRevisionNotFound' }).count()).toBe(1);
    expect(await page.locator('.card', { hasText: 'HubRevisionNotFound' }).textContent()).toMatch(/no such revision "v9"/);
  }, 60_000);
});
