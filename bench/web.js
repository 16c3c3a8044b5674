// Benchmark of conversion in the web page (issue 14): a ~500 MB PyTorch checkpoint converted in
// headless Chromium (picked with setInputFiles, converted in the page's worker: the header into OPFS,
// the tensors by reference to the picked file; checked; downloaded) against `tensorsafe convert` of
// the same file in the same run. Skipped without Chromium.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { ensureTmp, fmtMB, fmtMs, median, ratio, spread, verdict, ROOT, CHROMIUM, CHROMIUM_ARGS } from './lib.js';
import { writeTorchCheckpoint } from './torch-checkpoint.js';

/** Issue 14: the page takes at most this many times the CLI's time on the same file. */
const TARGET = 3;

const section = (rows) => ['## Conversion in the web page', '', '| benchmark | input | time | ratio | target |', '|---|---|---|---|---|', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');

export async function run({ sizeMiB = 500, runs = 5 } = {}) {
  if (!fs.existsSync(CHROMIUM)) return section([['convert in the page vs `tensorsafe convert`', `skipped: no Chromium at ${CHROMIUM} (TENSORSAFE_CHROMIUM names another)`, '–', '–', '–']]);
  const { chromium } = await import('playwright-core');
  const { startWebServer } = await import(path.join(ROOT, 'dist/node/web-server.js'));
  const tmp = ensureTmp();
  const dir = fs.mkdtempSync(path.join(tmp, 'web-'));
  const src = path.join(dir, 'pytorch_model.bin');
  const count = writeTorchCheckpoint(src, sizeMiB * 2 ** 20);
  const size = fs.statSync(src).size;
  const out = path.join(dir, 'model.safetensors');
  const server = await startWebServer({ port: 0 });
  // A profile on disk, as a user's: an incognito context (Playwright's newContext) keeps OPFS in memory.
  const profile = fs.mkdtempSync(path.join(tmp, 'web-profile-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, acceptDownloads: true, timeout: 30_000 });
  try {
    const page = await context.newPage();
    await page.goto(server.url);
    await page.waitForSelector('body[data-ready=true]');
    const clean = () => {
      fs.rmSync(out, { force: true });
      execFileSync('sync');
    };
    const cli = () => execFileSync(process.execPath, [path.join(ROOT, 'bin/tensorsafe.js'), 'convert', src, '-o', out, '--force'], { stdio: 'ignore' });
    // Resolves when `selector` is in the page, from a MutationObserver in the page: Playwright's own
    // waits poll at growing intervals (up to a second), which would add their sleep to the time measured.
    const appeared = (selector) =>
      page.evaluate(
        (sel) =>
          new Promise((resolve) => {
            const found = () => document.querySelector(sel) !== null && (observer.disconnect(), resolve(), true);
            const observer = new MutationObserver(found);
            observer.observe(document.body, { subtree: true, childList: true, attributes: true });
            found();
          }),
        selector,
      );
    // From the pick to the download complete (Chromium has written the whole file into its download folder).
    const phases = { open: [], convert: [], download: [] };
    const inPage = async () => {
      const t0 = Date.now();
      await page.locator('[data-testid=file-input]').setInputFiles([src]);
      const card = page.locator('.card').first();
      await appeared('.card [data-testid=convert]');
      const t1 = Date.now();
      const download = page.waitForEvent('download', { timeout: 600_000 });
      await card.locator('[data-testid=convert]').click();
      await appeared('.card [data-testid=convert-summary]');
      const t2 = Date.now();
      const d = await download;
      const file = await d.path();
      phases.open.push(t1 - t0);
      phases.convert.push(t2 - t1);
      phases.download.push(Date.now() - t2);
      if (fs.statSync(file).size <= size / 2) throw new Error(`the page's download is ${fs.statSync(file).size} bytes`);
      await d.delete();
      // Its temporary files removed and its card closed, for the next run.
      await card.locator('[data-testid=convert-clear]').click();
      await card.locator('button.close').click();
    };
    execFileSync('dd', [`if=${src}`, 'of=/dev/null', 'bs=16M', 'status=none']); // warm the page cache
    const times = [[], []];
    for (let r = 0; r < runs; r++) {
      for (const [i, fn] of [cli, inPage].entries()) {
        clean();
        const t0 = process.hrtime.bigint();
        await fn();
        times[i].push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    }
    clean();
    const [tCli, tPage] = times.map(median);
    return section([
      [
        'convert in the page vs `tensorsafe convert` (same file, same run)',
        `${fmtMB(size)} zip checkpoint, ${count} tensors; page: pick → convert in the worker (header into OPFS, tensors by reference) → check → download complete`,
        `${spread(times[1])} vs ${spread(times[0])}`,
        ratio(tPage / tCli),
        verdict(tPage / tCli, TARGET),
      ],
      [
        "where the page's time goes",
        "medians: open (read, scan, show the table) · convert (header into OPFS, tensors taken by reference to the picked file, checked) · download (Chromium writes the assembled file: the header from OPFS, the tensors from the picked file)",
        `${fmtMs(median(phases.open))} · ${fmtMs(median(phases.convert))} · ${fmtMs(median(phases.download))}`,
        '–',
        'for reference',
      ],
    ]);
  } finally {
    await context.close();
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(profile, { recursive: true, force: true });
  }
}
