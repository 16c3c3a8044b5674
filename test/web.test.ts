/**
 * The web page (`tensorsafe web`) in a real headless Chromium: a file picked into the page is read
 * there (in the page's worker) and shown as the CLI sees it: format, scan verdict, metadata, tensors.
 * Expected values come from the library in Node (the same registry the CLI uses).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openModel } from '../src/node.js';
import { ROOT } from './helpers/paths.js';
import { isLoopback, pickFiles, SKIP_BROWSER, webSession } from './helpers/web-page.js';

const SAMPLE = path.join(ROOT, 'test', 'fixtures', 'torch', 'sample', 'pytorch_model.bin');

describe.skipIf(SKIP_BROWSER)('the web page in headless Chromium', () => {
  const session = webSession();

  it('shows a picked PyTorch checkpoint: format, verdict, totals and one row per tensor as the library reads it', async () => {
    // Tall enough that the table (60% of the height) renders every one of the sample's rows.
    const { page } = await session.newPage({ viewport: { width: 1280, height: 2000 } });
    await pickFiles(page, [SAMPLE]);
    const model = await openModel(SAMPLE);
    try {
      await expect.poll(() => page.locator('[data-testid=verdict]').first().textContent()).toMatch(/^safe/);
      expect(await page.locator('[data-testid=format]').first().textContent()).toBe((await import('../src/index.js')).formatById('pytorch')!.name);
      const rows = page.locator('[data-testid=tensor-row]');
      expect(await rows.count()).toBe(model.tensors.length);
      const shown = await rows.evaluateAll((trs) => trs.map((tr) => Array.from(tr.querySelectorAll("td")).slice(0, 3).map((td) => td.textContent)));
      expect(shown).toEqual(model.tensors.map((t) => [t.name, t.dtype, `[${t.shape.join(', ')}]`]));
      const params = model.tensors.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
      expect(await page.locator('[data-testid=totals]').textContent()).toContain(`(${params.toLocaleString('en-US')})`);
    } finally {
      await model.close();
    }
  }, 60_000);

  it('keeps keyboard focus on a Values button while the table renders the rows scrolled into view', async () => {
    // Short enough that the sample's 31 rows are not all rendered: scrolling adds rows.
    const { page } = await session.newPage({ viewport: { width: 1280, height: 600 } });
    await pickFiles(page, [SAMPLE]);
    const firstName = await page.locator('[data-testid=tensor-row] td.name').first().textContent();
    const button = page.locator('[data-testid=tensor-row]').nth(8).locator('button');
    const label = await button.getAttribute('aria-label');
    await button.focus();
    // Far enough that the first rows leave the rendered range (and the last ones enter it), not so far that the focused one does.
    await page.locator('.table-viewport').evaluate((el) => el.scrollBy(0, 15 * 30));
    await expect.poll(() => page.locator('[data-testid=tensor-row] td.name').first().textContent()).not.toBe(firstName);
    expect(await page.locator('[data-testid=tensor-row] td.name').last().textContent()).toBe('lm_head.weight');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe(label);
  }, 60_000);

  it('a file the scan finds safe but that holds no tensors is shown safe, with the reader saying why (as tensorsafe scan and convert say)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tensorsafe-web-'));
    try {
      // A protocol 2 pickle of the list [1, 2, 3]: data only, and no tensors.
      const file = path.join(dir, 'list.pkl');
      writeFileSync(file, Uint8Array.from([0x80, 2, 0x5d, 0x71, 0, 0x28, 0x4b, 1, 0x4b, 2, 0x4b, 3, 0x65, 0x2e]));
      const { page } = await session.newPage();
      await pickFiles(page, [file]);
      await expect.poll(() => page.locator('[data-testid=verdict]').first().textContent()).toMatch(/^\W*safe/i);
      expect(await page.locator('.card .error').first().textContent()).toMatch(/^NoTensors: /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('makes no request outside 127.0.0.1', () => {
    expect(session.requests.length).toBeGreaterThan(0);
    expect(session.requests.filter((u) => !isLoopback(u))).toEqual([]);
  });
});
