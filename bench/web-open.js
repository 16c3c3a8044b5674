// Benchmarks of the web page opening files (issue 14): from picking a file (setInputFiles) to its first
// tensor row shown, in headless Chromium driven by playwright-core, the page served by `tensorsafe web`'s
// server. Baseline in the same run: the library opening and scanning the same file in Node
// (openModelFile, as `tensorsafe inspect` does). Skipped when Chromium or playwright-core is missing.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ensureTmp, median, ratio, spread, ROOT, CHROMIUM, CHROMIUM_ARGS } from './lib.js';

/** Target of issue 14: a 5 GB safetensors file shows its table in under a second (only its header is read). */
const TARGET_MS = 1000;
/** Tensor data written after a sparse file's header (the rest is a hole): the first bytes of real weights are not zeros. */
const WRITTEN_DATA_BYTES = 64 * 1024;

/** A safetensors file of `tensors` F32 tensors of `rowsEach`×4 (or one of `bigBytes`), its data left sparse: nothing like 5 GB is written. */
function writeSparseSafetensors(file, { tensors = 1, rowsEach = 4, bigBytes }) {
  const parts = [];
  let offset = 0;
  if (bigBytes !== undefined) {
    parts.push(`"big":{"dtype":"F32","shape":[${bigBytes / 4}],"data_offsets":[0,${bigBytes}]}`);
    offset = bigBytes;
  } else {
    for (let i = 0; i < tensors; i++) {
      const size = rowsEach * 16;
      parts.push(`"layers.${i}.weight":{"dtype":"F32","shape":[${rowsEach},4],"data_offsets":[${offset},${offset + size}]}`);
      offset += size;
    }
  }
  let json = `{"__metadata__":{"format":"pt"},${parts.join(',')}}`;
  json = json.padEnd(Math.ceil(json.length / 8) * 8, ' ');
  const header = Buffer.alloc(8 + Buffer.byteLength(json));
  header.writeBigUInt64LE(BigInt(Buffer.byteLength(json)), 0);
  header.write(json, 8);
  const data = Buffer.alloc(Math.min(WRITTEN_DATA_BYTES, offset));
  let x = 0x9e3779b9;
  for (let i = 0; i < data.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    data[i] = x & 0xff;
  }
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, header);
    fs.writeSync(fd, data);
    fs.ftruncateSync(fd, header.length + offset);
  } finally {
    fs.closeSync(fd);
  }
  return header.length + offset;
}

async function browserOrSkip() {
  if (!fs.existsSync(CHROMIUM)) return { skip: `no Chromium at ${CHROMIUM} (set TENSORSAFE_CHROMIUM)` };
  if (!fs.existsSync(path.join(ROOT, 'dist', 'web', 'index.html'))) return { skip: 'dist/web is missing (npm run build)' };
  try {
    const { chromium } = await import('playwright-core');
    return { chromium };
  } catch (e) {
    return { skip: `playwright-core is not installed (${e.message})` };
  }
}

export async function run({ runs = 5 } = {}) {
  const head = ['## Web page: opening a file', '', '| benchmark | input | time | ratio | target |', '|---|---|---|---|---|'];
  const found = await browserOrSkip();
  if (found.skip) return [...head, `| page: pick → first tensor row | – | skipped: ${found.skip} | – | – |`].join('\n');
  const tmp = ensureTmp();
  const big = path.join(tmp, 'web-open-5g.safetensors');
  const many = path.join(tmp, 'web-open-100k.safetensors');
  const bigSize = writeSparseSafetensors(big, { bigBytes: 5 * 10 ** 9 - (5 * 10 ** 9) % 4 });
  const manySize = writeSparseSafetensors(many, { tensors: 100_000 });
  const { startWebServer } = await import(path.join(ROOT, 'dist', 'node', 'web-server.js'));
  const { openModelFile } = await import(path.join(ROOT, 'dist', 'node', 'open-files.js'));
  const server = await startWebServer({ port: 0 });
  const browser = await found.chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const rows = [];
  try {
    /** A fresh page (its worker and readers not loaded yet, as a user opening the page), then the file picked. */
    const inPage = async (file) => {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      try {
        const page = await context.newPage();
        await page.goto(server.url);
        await page.waitForSelector('body[data-ready=true]');
        const t0 = performance.now();
        await page.locator('[data-testid=file-input]').setInputFiles([file]);
        await page.waitForSelector('[data-testid=tensor-row]', { timeout: 120_000 });
        return performance.now() - t0;
      } finally {
        await context.close();
      }
    };
    const inNode = async (file) => {
      const t0 = performance.now();
      const opened = await openModelFile(file, { scan: true });
      const ms = performance.now() - t0;
      await opened.tensors.close();
      return ms;
    };
    for (const [file, input, target] of [
      [big, `${(bigSize / 1e9).toFixed(1)} GB safetensors (one tensor, sparse: header read only)`, TARGET_MS],
      [many, `safetensors header of 100,000 tensors (${(manySize / 2 ** 20).toFixed(1)} MiB file)`, undefined],
    ]) {
      const page = [];
      const node = [];
      await inPage(file); // warm the browser's own caches once (not the page's: each run is a fresh page)
      for (let r = 0; r < runs; r++) {
        page.push(await inPage(file));
        node.push(await inNode(file));
      }
      const m = median(page);
      rows.push([
        'page: pick → first tensor row',
        `${input}; fresh page each run; median (min–max) of ${runs}; vs the library opening and scanning it in Node`,
        `${spread(page)} vs ${spread(node)}`,
        ratio(m / median(node)),
        target === undefined ? 'for reference' : m < target ? `✅ < ${target} ms` : `❌ ≥ ${target} ms`,
      ]);
    }
  } finally {
    await browser.close();
    await server.close();
    fs.rmSync(big, { force: true });
    fs.rmSync(many, { force: true });
  }
  return [...head, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}
