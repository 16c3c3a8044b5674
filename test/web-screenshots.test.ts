/**
 * The README's screenshots of the web page, taken here: the bundled sample (safe) and a crafted PyTorch
 * checkpoint whose pickle would call os.system (dangerous; bytes built in the test, never loaded by
 * Python), in the light theme at 1280 px and the dark theme at 390 px, each cropped to the models.
 * `UPDATE_SCREENSHOTS=1 npx vitest run test/web-screenshots.test.ts` writes them to docs/screenshots/;
 * otherwise they are taken and checked (not blank, small enough to commit) and nothing is written, so
 * that the suite never rewrites tracked files.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers/paths.js';
import { distinctColours, SAMPLE, writeMalicious } from './helpers/web-looks.js';
import { pickFiles, SKIP_BROWSER, webSession } from './helpers/web-page.js';

const UPDATE = process.env.UPDATE_SCREENSHOTS === '1';
const OUT = path.join(ROOT, 'docs', 'screenshots');
/** What a committed screenshot may weigh: the README loads them, and the repository keeps every version (~200 KiB each at these sizes). */
const MAX_PNG_BYTES = 224 * 1024;

const SHOTS = [
  { file: 'web-light-1280.png', width: 1280, height: 760, colorScheme: 'light' },
  { file: 'web-dark-390.png', width: 390, height: 700, colorScheme: 'dark' },
] as const;

describe.skipIf(SKIP_BROWSER)('screenshots of the web page for the README', () => {
  const session = webSession();
  let malicious: ReturnType<typeof writeMalicious>;
  beforeAll(async () => {
    malicious = writeMalicious();
  }, 60_000);
  afterAll(async () => {
    malicious?.dispose();
  });

  it.each(SHOTS)('$file: a safe and a dangerous model, $colorScheme theme at $width px', async (shot) => {
    const { page } = await session.newPage({ viewport: { width: shot.width, height: shot.height }, colorScheme: shot.colorScheme, deviceScaleFactor: 1 });
    // The sample first, then the dangerous file: the newest card is on top.
    await pickFiles(page, [SAMPLE]);
    await pickFiles(page, [malicious.file]);
    expect((await page.locator('[data-testid=verdict]').allTextContents()).map((t) => t.split(' ')[0])).toEqual(['dangerous', 'safe']);
    // Steady pixels: no caret, no hover, fonts loaded, the table's rows rendered.
    await page.mouse.move(0, 0);
    await page.evaluate(async () => {
      (document.activeElement as HTMLElement | null)?.blur();
      await document.fonts.ready;
    });
    await page.waitForSelector('[data-testid=tensor-row]');
    // From the page's header down to the end of the safe model's table (its first rows: the crop keeps it small).
    const clip = await page.evaluate((phone) => {
      const top = 0;
      const table = document.querySelector('.card.verdict-safe .table-viewport')!.getBoundingClientRect();
      const bottom = Math.min(table.bottom, table.top + (phone ? 200 : 180)) + window.scrollY + 12;
      return { x: 0, y: top, width: document.documentElement.clientWidth, height: Math.ceil(bottom - top) };
    }, shot.width < 600);
    const png = await page.screenshot({ clip, fullPage: true, animations: 'disabled', caret: 'hide' });
    expect(png.length).toBeLessThan(MAX_PNG_BYTES);
    expect(await distinctColours(page, png)).toBeGreaterThan(64);
    if (UPDATE) {
      fs.mkdirSync(OUT, { recursive: true });
      fs.writeFileSync(path.join(OUT, shot.file), png);
    } else {
      expect(fs.existsSync(path.join(OUT, shot.file)), `docs/screenshots/${shot.file} is missing: UPDATE_SCREENSHOTS=1 npx vitest run test/web-screenshots.test.ts`).toBe(true);
    }
  }, 60_000);
});
