/**
 * How the web page looks and reads, in a real headless Chromium: no serious or critical accessibility
 * violation (axe-core) in light and dark, at a phone's width and a wide screen, empty and with a safe and
 * a dangerous model open; nothing wider than a phone's screen; the keyboard reaches every control and
 * works them; several models get a list that jumps to each card, and cards fold.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { axeViolations, SAMPLE, serious, writeMalicious } from './helpers/web-looks.js';
import { isLoopback, pickFiles, SKIP_BROWSER, webSession } from './helpers/web-page.js';

const VIEWS = [
  { width: 390, height: 844, colorScheme: 'light' },
  { width: 390, height: 844, colorScheme: 'dark' },
  { width: 1280, height: 900, colorScheme: 'light' },
  { width: 1280, height: 900, colorScheme: 'dark' },
] as const;

describe.skipIf(SKIP_BROWSER)('the web page: looks, accessibility and keyboard', () => {
  const session = webSession();
  let malicious: ReturnType<typeof writeMalicious>;
  beforeAll(async () => {
    malicious = writeMalicious();
  }, 60_000);
  afterAll(async () => {
    malicious?.dispose();
  });

  /** The page with the sample (safe) and the crafted checkpoint (dangerous) open. */
  async function withModels(view: (typeof VIEWS)[number]): Promise<Page> {
    const { page } = await session.newPage({ viewport: { width: view.width, height: view.height }, colorScheme: view.colorScheme });
    await pickFiles(page, [SAMPLE, malicious.file], 2);
    return page;
  }

  it.each(VIEWS)('no serious or critical axe violation, empty and with models: $width px, $colorScheme', async (view) => {
    const { page } = await session.newPage({ viewport: { width: view.width, height: view.height }, colorScheme: view.colorScheme });
    expect(serious(await axeViolations(page))).toEqual([]);
    await page.close();
    const open = await withModels(view);
    const verdicts = await open.locator('[data-testid=verdict]').allTextContents();
    expect(verdicts.map((v) => v.split(' ')[0]).sort()).toEqual(['dangerous', 'safe']);
    // The dangerous model's findings are open, so that axe sees them too.
    expect(await open.locator('.card.verdict-dangerous details.findings-box[open]').count()).toBe(1);
    expect(serious(await axeViolations(open))).toEqual([]);
  }, 60_000);

  it('axe-core reports what it should here (a control without a label, text without contrast): the check can fail', async () => {
    const { page } = await session.newPage({ viewport: { width: 1280, height: 900 } });
    await page.evaluate(() => {
      const main = document.getElementById('main')!;
      main.append(document.createElement('input'));
      const faint = document.createElement('p');
      faint.textContent = 'faint';
      faint.className = 'faint-for-test';
      main.append(faint);
      faint.style.color = '#c8c8c8';
    });
    expect(serious(await axeViolations(page)).map((v) => v.id).sort()).toEqual(['color-contrast', 'label']);
  }, 30_000);

  it('the theme toggle switches the theme and says which it switches to', async () => {
    const { page } = await session.newPage({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
    const background = () => page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    const light = await background();
    const toggle = page.locator('[data-testid=theme-toggle]');
    expect(await toggle.getAttribute('aria-label')).toBe('Use the dark theme');
    await toggle.click();
    expect(await page.evaluate(() => document.documentElement.dataset['theme'])).toBe('dark');
    expect(await background()).not.toBe(light);
    expect(await toggle.getAttribute('aria-label')).toBe('Use the light theme');
    expect(serious(await axeViolations(page))).toEqual([]);
  }, 30_000);

  it('nothing overflows a 390 px screen: the tensor table scrolls inside its box, long names are cut with the whole name kept', async () => {
    const page = await withModels(VIEWS[1]);
    const widths = await page.evaluate(() => ({ page: document.documentElement.scrollWidth, screen: innerWidth }));
    expect(widths.page).toBeLessThanOrEqual(widths.screen);
    const box = await page.locator('.table-viewport').first().evaluate((e) => ({ scroll: e.scrollWidth, client: e.clientWidth, overflow: getComputedStyle(e).overflowX }));
    expect(box.overflow).toBe('auto');
    const name = page.locator('[data-testid=tensor-row] td.name').first();
    const cut = await name.evaluate((e) => ({ text: e.textContent, title: e.getAttribute('title'), cut: e.scrollWidth > e.clientWidth, ellipsis: getComputedStyle(e).textOverflow }));
    expect(cut.title).toBe(cut.text);
    expect(cut.ellipsis).toBe('ellipsis');
    // Every element of every card lies within the screen (nothing pokes out of its card).
    const outside = await page.evaluate(() =>
      Array.from(document.querySelectorAll('.card *, header.top *, .open *'))
        .filter((e) => !e.closest('.table-viewport') && !e.closest('.visually-hidden') && e.getBoundingClientRect().width > 0)
        .filter((e) => e.getBoundingClientRect().right > innerWidth + 0.5)
        .map((e) => e.outerHTML.slice(0, 80)),
    );
    expect(outside).toEqual([]);
  }, 60_000);

  it('Tab reaches the skip link, the theme toggle, the file chooser, the filter box and the sort buttons, with a visible focus; Enter sorts', async () => {
    const page = await withModels(VIEWS[2]);
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    const seen: string[] = [];
    for (let i = 0; i < 60; i++) {
      await page.keyboard.press('Tab');
      // Past the last control the focus leaves the page (to the browser's own controls).
      if (await page.evaluate(() => document.activeElement === document.body)) break;
      const focused = await page.evaluate(() => {
        const e = document.activeElement as HTMLElement;
        const shown = e.id === 'file-input' ? (document.querySelector('label[for=file-input]') as HTMLElement) : e;
        const style = getComputedStyle(shown);
        return { key: e.dataset['testid'] ?? (e.classList.contains('sort') ? `sort:${e.textContent}` : e.className || e.tagName), outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2 };
      });
      seen.push(focused.key);
      expect([focused.key, focused.outline]).toEqual([focused.key, true]);
    }
    expect(seen[0]).toBe('skip');
    for (const key of ['theme-toggle', 'file-input', 'folder-input', 'url-input', 'tensor-filter', 'sort:Name', 'sort:Bytes']) expect(seen).toContain(key);
    expect(seen.indexOf('theme-toggle')).toBeLessThan(seen.indexOf('file-input'));
    expect(seen.indexOf('file-input')).toBeLessThan(seen.indexOf('tensor-filter'));

    // Enter on the Bytes sort button sorts the table by bytes, largest first.
    const sort = page.locator('.card.verdict-safe th .sort', { hasText: 'Bytes' });
    await sort.focus();
    await page.keyboard.press('Enter');
    expect(await page.locator('.card.verdict-safe th[aria-sort=descending]').textContent()).toBe('Bytes');
    const first = await page.locator('.card.verdict-safe [data-testid=tensor-row] td.name').first().textContent();
    expect(first).toBe('transformer.wte.weight');
  }, 60_000);

  it('the skip link moves to the main content', async () => {
    const { page } = await session.newPage({ viewport: { width: 1280, height: 900 } });
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => (document.activeElement as HTMLElement).className)).toBe('skip');
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main');
  }, 30_000);

  it('has one h1, a heading per card, landmarks, and a live announcement of each verdict', async () => {
    const page = await withModels(VIEWS[2]);
    const structure = await page.evaluate(() => ({
      h1: document.querySelectorAll('h1').length,
      cardHeadings: Array.from(document.querySelectorAll('.card')).map((c) => c.querySelector('h2')?.textContent),
      landmarks: ['header', 'main', 'footer', 'nav'].map((t) => document.querySelectorAll(t).length > 0),
      announced: document.getElementById('announcer')?.textContent ?? '',
    }));
    expect(structure.h1).toBe(1);
    expect(structure.cardHeadings.sort()).toEqual(['pytorch_model.bin', 'untrusted_model.pt']);
    expect(structure.landmarks).toEqual([true, true, true, true]);
    expect(structure.announced).toMatch(/pytorch_model\.bin: PyTorch[^;]*, safe/);
    expect(structure.announced).toMatch(/untrusted_model\.pt: [^;]*dangerous/);
  }, 60_000);

  it('several models: the list jumps to a card and opens it; cards fold and unfold, one or all', async () => {
    const page = await withModels(VIEWS[0]);
    const list = page.locator('[data-testid=model-list]');
    await expect.poll(() => list.isVisible()).toBe(true);
    expect(await list.locator('a').allTextContents()).toEqual(await page.locator('.card .card-title').allTextContents());
    const card = page.locator('.card.verdict-safe');
    const fold = card.locator('.card-head .collapse');
    await fold.click();
    expect(await fold.getAttribute('aria-expanded')).toBe('false');
    expect(await card.locator('.card-body').isHidden()).toBe(true);
    // Folded, the head still says the verdict, in words.
    expect(await card.locator('.card-facts .chip').textContent()).toBe('safe');
    await list.locator('a', { hasText: 'pytorch_model.bin' }).click();
    expect(await fold.getAttribute('aria-expanded')).toBe('true');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('pytorch_model.bin');
    await list.getByRole('button', { name: 'Fold all', exact: true }).click();
    expect(await page.locator('.card-body:visible').count()).toBe(0);
    await list.getByRole('button', { name: 'Unfold all', exact: true }).click();
    expect(await page.locator('.card-body:visible').count()).toBe(2);
  }, 60_000);

  it('Escape closes the panel the focus is in, and the focus returns to its card', async () => {
    const page = await withModels(VIEWS[2]);
    await page.evaluate(() => {
      const detail = document.querySelector('.card.verdict-safe .card-detail')!;
      const panel = document.createElement('div');
      panel.className = 'panel';
      panel.dataset['panel'] = '';
      const button = document.createElement('button');
      button.textContent = 'Inside';
      panel.append(button);
      detail.append(panel);
      button.focus();
    });
    await page.keyboard.press('Escape');
    expect(await page.locator('.card.verdict-safe .panel').count()).toBe(0);
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('pytorch_model.bin');
  }, 60_000);

  it('the empty page says what it does and that nothing is uploaded; "try it" opens the sample the server serves', async () => {
    const { page } = await session.newPage({ viewport: { width: 390, height: 844 } });
    const intro = page.locator('[data-testid=intro]');
    expect(await intro.textContent()).toContain('nothing is uploaded');
    await page.locator('[data-testid=try-sample]').click();
    await page.waitForSelector('.card');
    expect(await page.locator('[data-testid=verdict]').textContent()).toMatch(/^safe/);
    expect(await intro.isHidden()).toBe(true);
    expect(await page.locator('[data-testid=tensor-row]').count()).toBeGreaterThan(0);
  }, 60_000);

  it('hosted without the sample (static files elsewhere), "try it" says so instead of failing silently', async () => {
    const { page } = await session.newPage({ viewport: { width: 1280, height: 900 } });
    await page.route('**/samples/pytorch_model.bin', (route) => route.fulfill({ status: 404, body: 'not found' }));
    await page.locator('[data-testid=try-sample]').click();
    // The page has other alert regions (the tools' results, empty until used): this message is one of them.
    await expect.poll(() => page.locator('[role=alert]', { hasText: 'served by "tensorsafe web" only' }).count()).toBe(1);
    expect(await page.locator('.card').count()).toBe(0);
  }, 30_000);

  it('makes no request outside 127.0.0.1', () => {
    expect(session.requests.filter((u) => !isLoopback(u))).toEqual([]);
  });
});
