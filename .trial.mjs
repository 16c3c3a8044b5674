import { chromium } from 'playwright-core';
import fs from 'node:fs'; import path from 'node:path';
const { startWebServer } = await import('./dist/node/web-server.js');
const s = await startWebServer({ port: 0 });
const b = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless','--no-sandbox','--disable-gpu'] });
const walk = (d) => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]);
const root = process.argv[2];
const files = walk(root).filter((f) => !f.endsWith('MANIFEST.tsv') && fs.statSync(f).size < 60e6);
const p = await b.newPage();
const errors = []; p.on('pageerror', (e) => errors.push(String(e)));
await p.goto(s.url); await p.waitForSelector('body[data-ready=true]');
for (const f of files) {
  const before = await p.locator('.card').count();
  const errBefore = await p.locator('.cards > p.error').count();
  await p.locator('[data-testid=file-input]').setInputFiles(f);
  try { await p.waitForFunction(([n, m]) => document.querySelectorAll('.card').length > n || document.querySelectorAll('.cards > p.error').length > m, [before, errBefore], { timeout: 30000 }); } catch { console.log('TIMEOUT', f); continue; }
  const card = p.locator('.card').first();
  const r = await card.evaluate((el) => ({ v: el.querySelector('[data-testid=verdict] .badge')?.textContent, fmt: el.querySelector('[data-testid=format]')?.textContent, t: el.querySelector('.table-status')?.textContent ?? '', e: el.querySelector('.error')?.textContent?.slice(0, 140) ?? '' }));
  console.log(path.relative(root, f), '|', r.v, '|', r.fmt, '|', r.t, '|', r.e);
}
console.log('pageerrors', errors);
await b.close(); await s.close();
