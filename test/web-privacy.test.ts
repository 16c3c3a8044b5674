/**
 * Nothing leaves the machine: one page driven through every feature it has (files, a folder, a drop,
 * a URL, filter, sort, scroll, the findings of a dangerous file, the metadata, the theme, closing a
 * card), with every request of the page and its worker recorded. Each one is for the page's own files
 * (served by `tensorsafe web` on 127.0.0.1) or for the URL typed (the test's nginx on 127.0.0.1).
 */
import { cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findNginx, NGINX_MISSING_MESSAGE, startNginx, type NginxServer } from './helpers/nginx.js';
import { ROOT } from './helpers/paths.js';
import { tempDir } from './helpers/temp.js';
import { isLoopback, pickFiles, SKIP_BROWSER, webSession } from './helpers/web-page.js';
import { evilTorchZip, manyTensorsHeader, openUrlInPage, writeSparse } from './helpers/web-models.js';

const SKIP_NGINX = process.env.TENSORSAFE_SKIP_NGINX === '1';
const FIXTURES = path.join(ROOT, 'test', 'fixtures');

describe.skipIf(SKIP_BROWSER || SKIP_NGINX)('the page makes no request but for its own files and the URLs typed', () => {
  const dir = tempDir('web-privacy');
  const session = webSession();
  let nginx: NginxServer;
  beforeAll(async () => {
    if (!findNginx()) throw new Error(NGINX_MISSING_MESSAGE);
    writeSparse(path.join(dir, 'many.safetensors'), manyTensorsHeader(2_000));
    writeFileSync(path.join(dir, 'evil.pt'), evilTorchZip());
    mkdirSync(path.join(dir, 'web_model', 'shards'), { recursive: true });
    cpSync(path.join(FIXTURES, 'formats', 'tfjs', 'layers-model.json'), path.join(dir, 'web_model', 'model.json'));
    for (const s of ['layers-shard1of3.bin', 'layers-shard2of3.bin', 'layers-shard3of3.bin']) cpSync(path.join(FIXTURES, 'formats', 'tfjs', 'shards', s), path.join(dir, 'web_model', 'shards', s));
    nginx = await startNginx(dir);
  }, 60_000);
  afterAll(async () => {
    await nginx?.stop();
  });

  it('drives every feature of the page', async () => {
    const { page } = await session.newPage({ viewport: { width: 390, height: 844 } });
    // Files picked, one of them dangerous: its findings opened in full.
    await pickFiles(page, [path.join(dir, 'many.safetensors'), path.join(FIXTURES, 'torch', 'sample', 'pytorch_model.bin'), path.join(dir, 'evil.pt')], 3);
    await page.locator('.card.verdict-dangerous .findings-box summary').first().click();
    // A folder.
    const before = await page.locator('.card').count();
    await page.locator('[data-testid=folder-input]').setInputFiles(path.join(dir, 'web_model'));
    await page.waitForFunction((n) => document.querySelectorAll('.card').length > n, before);
    // A drop of a file made in the page.
    await page.evaluate(async () => {
      const data = new DataTransfer();
      const bytes = new Uint8Array([0x80, 0x02, 0x5d, 0x71, 0x00, 0x2e]); // a pickle of an empty list
      data.items.add(new File([bytes], 'dropped.pkl'));
      document.dispatchEvent(new DragEvent('dragenter', { dataTransfer: data, bubbles: true }));
      document.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true }));
    });
    await page.waitForFunction(() => Array.from(document.querySelectorAll('.card-title')).some((t) => t.textContent === 'dropped.pkl'));
    // A URL, read with ranges from nginx (another origin, with CORS), and one that fails.
    await openUrlInPage(page, `${nginx.url}/cors/many.safetensors`);
    await openUrlInPage(page, `${nginx.url}/cors/missing.safetensors`);
    // The table: filter, sort, scroll.
    const table = page.locator('.card', { hasText: 'many.safetensors' }).first();
    await table.locator('[data-testid=tensor-filter]').fill('layers.19');
    await table.locator('th button.sort', { hasText: 'Name' }).click();
    await table.locator('th button.sort', { hasText: 'Parameters' }).click();
    await table.locator('[data-testid=tensor-filter]').fill('');
    await table.locator('.table-viewport').evaluate((el) => el.scrollTo(0, el.scrollHeight));
    // Metadata and notes, every <details> of every card.
    for (const summary of await page.locator('.card details > summary').all()) await summary.click();
    // The theme, both ways.
    const theme = page.locator('[data-testid=theme-toggle]');
    await theme.click();
    await theme.click();
    // Close every card.
    while ((await page.locator('.card').count()) > 0) await page.locator('.card button.close').first().click();
    expect(await page.locator('.card').count()).toBe(0);
    await page.waitForTimeout(200);
  }, 120_000);

  it('every request was for the page\'s own files or the URLs typed, all on 127.0.0.1', () => {
    expect(session.requests.length).toBeGreaterThan(0);
    expect(session.requests.filter((u) => !isLoopback(u))).toEqual([]);
    const own = new URL(session.url).origin;
    for (const url of session.requests) {
      const u = new URL(url);
      if (u.origin === own) {
        const file = u.pathname === '/' ? 'index.html' : u.pathname.slice(1);
        expect(existsSync(path.join(ROOT, 'dist', 'web', file)), url).toBe(true);
      } else {
        expect(u.origin).toBe(nginx.url);
        expect(u.pathname).toMatch(/^\/cors\/(many|missing)\.safetensors$/);
      }
    }
  });
});
