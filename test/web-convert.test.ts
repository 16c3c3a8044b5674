/**
 * Conversion in the web page (web/app/convert-section.ts, web/worker/convert.ts) in a real headless
 * Chromium: a model picked into the page, converted there, and its download (or what was streamed
 * into a picked file or folder) compared byte for byte with what `tensorsafe convert` writes for the
 * same file, sources' record (name, size, modification time) included.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Download, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers/paths.js';
import { isLoopback, pickFiles, SKIP_BROWSER, webSession } from './helpers/web-page.js';

const SAMPLE = path.join(ROOT, 'test', 'fixtures', 'torch', 'sample', 'pytorch_model.bin');
const GGUF = path.join(ROOT, 'test', 'fixtures', 'formats', 'gguf', 'raw-v3.gguf');
const CLI = path.join(ROOT, 'bin', 'tensorsafe.js');

/**
 * A modification time with a fraction of a millisecond over a half: Chromium's File.lastModified drops
 * it and Node's stat.mtime rounds it up; the record of both must hold the same time (model/convert-setup.ts sourceRecord).
 */
const MTIME_SECONDS = 1_700_000_000.123_756;

let tmp: string;
let n = 0;

/** `file` copied into a folder of its own, with MTIME_SECONDS as its modification time. */
function copied(file: string, name = path.basename(file)): string {
  const dir = path.join(tmp, `in-${++n}`);
  fs.mkdirSync(dir);
  const to = path.join(dir, name);
  fs.copyFileSync(file, to);
  fs.utimesSync(to, MTIME_SECONDS, MTIME_SECONDS);
  return to;
}

/** What `tensorsafe convert` writes for `file` with `args` (beside it: `file` is a copy in a folder of its own): file name → bytes. */
function cliOutputs(file: string, args: string[] = []): Map<string, Buffer> {
  const dir = path.dirname(file);
  const before = new Set(fs.readdirSync(dir));
  execFileSync('node', [CLI, 'convert', file, ...args, '--json'], { encoding: 'utf8' });
  const out = new Map<string, Buffer>();
  for (const f of fs.readdirSync(dir).sort()) if (!before.has(f)) out.set(f, fs.readFileSync(path.join(dir, f)));
  return out;
}

/** Same bytes; when not, the safetensors headers are compared first, so that the failure says what differs. */
function expectSame(name: string, got: Buffer | undefined, expected: Buffer): void {
  expect(got, name).toBeDefined();
  if (!got!.equals(expected) && name.endsWith('.safetensors')) expect(headerText(got!), name).toBe(headerText(expected));
  expect([name, got!.equals(expected)]).toEqual([name, true]);
}

function headerText(b: Buffer): string {
  return b.subarray(8, 8 + Number(b.readBigUInt64LE(0))).toString('utf8');
}

/** The model's card's conversion: the options set, the button pressed. */
async function convertInPage(page: Page, options: { to?: string; maxShardSize?: string; save?: boolean } = {}): Promise<void> {
  const card = page.locator('.card').first();
  if (options.to) await card.locator('[data-testid=convert-to]').selectOption(options.to);
  if (options.maxShardSize) await card.locator('[data-testid=convert-max-shard-size]').fill(options.maxShardSize);
  if (options.save) await card.locator('[data-testid=convert-deliver-save]').check();
  await card.locator('[data-testid=convert]').click();
}

/** Waits for `count` downloads and reads each: suggested name → bytes. */
async function downloads(page: Page, count: number, start: () => Promise<void>): Promise<Map<string, Buffer>> {
  const got: Download[] = [];
  page.on('download', (d) => got.push(d));
  await start();
  await expect.poll(() => got.length, { timeout: 60_000 }).toBe(count);
  const out = new Map<string, Buffer>();
  for (const d of got) {
    const file = await d.path();
    out.set(d.suggestedFilename(), fs.readFileSync(file));
  }
  return new Map([...out].sort(([a], [b]) => a.localeCompare(b)));
}

/** The page's private storage (OPFS), every file by path. */
function opfsFiles(page: Page): Promise<string[]> {
  return page.evaluate(async () => {
    const out: string[] = [];
    const walk = async (dir: FileSystemDirectoryHandle, prefix: string): Promise<void> => {
      for await (const [name, handle] of (dir as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries()) {
        if (handle.kind === 'directory') await walk(handle as FileSystemDirectoryHandle, `${prefix}${name}/`);
        else out.push(`${prefix}${name}`);
      }
    };
    await walk(await navigator.storage.getDirectory(), '');
    return out.sort();
  });
}

/** The sizes of the files in the page's private storage (OPFS), in path order. */
function opfsSizes(page: Page): Promise<number[]> {
  return page.evaluate(async () => {
    const out: [string, number][] = [];
    const walk = async (dir: FileSystemDirectoryHandle, prefix: string): Promise<void> => {
      for await (const [name, handle] of (dir as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries()) {
        if (handle.kind === 'directory') await walk(handle as FileSystemDirectoryHandle, `${prefix}${name}/`);
        else out.push([`${prefix}${name}`, (await (handle as FileSystemFileHandle).getFile()).size]);
      }
    };
    await walk(await navigator.storage.getDirectory(), '');
    return out.sort(([a], [b]) => a.localeCompare(b)).map(([, size]) => size);
  });
}

describe.skipIf(SKIP_BROWSER)('conversion in the web page', () => {
  const session = webSession();
  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tensorsafe-web-convert-'));
  }, 60_000);
  afterAll(async () => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('converts the sample checkpoint to the same bytes as the CLI, records the same source, and says what it did', async () => {
    const { page } = await session.newPage();
    const file = copied(SAMPLE);
    await pickFiles(page, [file]);
    const got = await downloads(page, 1, () => convertInPage(page));
    const expected = cliOutputs(file);
    expect([...got.keys()]).toEqual(['model.safetensors']);
    expect([...expected.keys()]).toEqual(['model.safetensors']);
    expectSame('model.safetensors', got.get('model.safetensors'), expected.get('model.safetensors')!);
    // The record's modification time is the same instant from Chromium's File.lastModified and Node's stat.
    const header = got.get('model.safetensors')!;
    const json = JSON.parse(header.subarray(8, 8 + Number(header.readBigUInt64LE(0))).toString('utf8')) as { __metadata__: Record<string, string> };
    expect(JSON.parse(json.__metadata__['tensorsafe.source']!)).toEqual([{ file: 'pytorch_model.bin', size: fs.statSync(file).size, mtime: '2023-11-14T22:13:20.123Z' }]);
    const summary = await page.locator('[data-testid=convert-summary]').textContent();
    expect(summary).toContain('converted pytorch_model.bin');
    expect(summary).toMatch(/verified: every tensor equals the source, bit for bit/);
    // The downloaded files wait in OPFS until they are no longer wanted; then nothing is left.
    expect((await opfsFiles(page)).length).toBe(1);
    // Every tensor was taken from the picked file by reference (opfs-sink.ts): the page's own file holds only the header.
    expect(await opfsSizes(page)).toEqual([8 + Number(header.readBigUInt64LE(0))]);
    await page.locator('[data-testid=convert-clear]').click();
    await expect.poll(() => opfsFiles(page)).toEqual([]);
  }, 120_000);

  it('shards with a small --max-shard-size: every shard and the index as the CLI writes them', async () => {
    const { page } = await session.newPage();
    const file = copied(SAMPLE);
    await pickFiles(page, [file]);
    const expected = cliOutputs(file, ['--max-shard-size', '64KB']);
    expect(expected.size).toBeGreaterThan(2);
    const got = await downloads(page, expected.size, () => convertInPage(page, { maxShardSize: '64KB' }));
    expect([...got.keys()]).toEqual([...expected.keys()]);
    for (const [name, bytes] of expected) expectSame(name, got.get(name), bytes);
  }, 120_000);

  it('writes an npz as the CLI does', async () => {
    const { page } = await session.newPage();
    const file = copied(SAMPLE);
    await pickFiles(page, [file]);
    const got = await downloads(page, 1, () => convertInPage(page, { to: 'npz' }));
    const expected = cliOutputs(file, ['--to', 'npz']);
    expect([...got.keys()]).toEqual(['model.npz']);
    expect(got.get('model.npz')!.equals(expected.get('model.npz')!)).toBe(true);
    // The options shown are the ones that apply: npz takes --allow-raw, not --dtype.
    const card = page.locator('.card').first();
    expect(await card.locator('[data-testid=convert-allow-raw]').isVisible()).toBe(true);
    expect(await card.locator('[data-testid=convert-dtype]').isVisible()).toBe(false);
    expect(await card.locator('label[for]').evaluateAll((ls) => ls.every((l) => document.getElementById(l.getAttribute('for')!) !== null))).toBe(true);
  }, 120_000);

  it('converts a GGUF (not PyTorch) to the same safetensors as the CLI', async () => {
    const { page } = await session.newPage();
    const file = copied(GGUF);
    await pickFiles(page, [file]);
    const got = await downloads(page, 1, () => convertInPage(page));
    const expected = cliOutputs(file);
    expect([...got.keys()]).toEqual([...expected.keys()]);
    for (const [name, bytes] of expected) expectSame(name, got.get(name), bytes);
  }, 120_000);

  it('shows an option error with its code, as the CLI would', async () => {
    const { page } = await session.newPage();
    await pickFiles(page, [copied(SAMPLE)]);
    await convertInPage(page, { maxShardSize: 'lots' });
    const error = page.locator('[data-testid=convert-error]');
    await expect.poll(() => error.textContent()).toMatch(/^InvalidSize: .*"lots"/);
    expect(await opfsFiles(page)).toEqual([]);
  }, 60_000);

  it('cancel midway leaves no file in OPFS and downloads nothing', async () => {
    // 384 MiB of F32 zeros (a sparse file): long enough to cancel in the middle.
    const big = path.join(tmp, 'big.safetensors');
    const count = 96 * 1024 * 1024;
    const header = Buffer.from(JSON.stringify({ w: { dtype: 'F32', shape: [count], data_offsets: [0, count * 4] } }));
    const fd = fs.openSync(big, 'w');
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(header.length));
    fs.writeSync(fd, length);
    fs.writeSync(fd, header);
    fs.ftruncateSync(fd, 8 + header.length + count * 4);
    fs.closeSync(fd);
    const { page } = await session.newPage();
    let downloaded = 0;
    page.on('download', () => downloaded++);
    await pickFiles(page, [big]);
    await convertInPage(page, { to: 'npz' });
    const progress = page.locator('.convert-progress progress');
    await expect.poll(() => progress.evaluate((p: HTMLProgressElement) => p.value), { timeout: 30_000 }).toBeGreaterThan(0);
    expect(await progress.evaluate((p: HTMLProgressElement) => p.value < p.max)).toBe(true);
    await page.locator('[data-testid=convert-cancel]').click();
    await expect.poll(() => page.locator('[data-testid=convert-error]').textContent(), { timeout: 30_000 }).toMatch(/Cancelled/);
    expect(await opfsFiles(page)).toEqual([]);
    await page.waitForTimeout(500);
    expect(downloaded).toBe(0);
  }, 120_000);

  it("a dangerous file's card has no convert button: it says why", async () => {
    // A pickle that would call os.system when loaded (never loaded: only read as bytes).
    const evil = path.join(tmp, 'evil');
    fs.mkdirSync(evil);
    fs.writeFileSync(path.join(evil, 'pytorch_model.bin'), Buffer.from('\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00lsq\x01\x85q\x02Rq\x03.', 'latin1'));
    const { page } = await session.newPage();
    await pickFiles(page, [path.join(evil, 'pytorch_model.bin')]);
    const card = page.locator('.card').first();
    await expect.poll(() => card.locator('[data-testid=verdict]').textContent()).toMatch(/^dangerous/);
    expect(await card.locator('[data-testid=convert]').count()).toBe(0);
    expect(await card.locator('[data-testid=convert-refused]').textContent()).toMatch(/would run code/);
  }, 60_000);

  describe('Save to… (File System Access, its pickers stubbed with handles into OPFS)', () => {
    /** The pickers return a file and a folder in OPFS (headless Chromium cannot show its own). */
    async function pageWithPickers(): Promise<Page> {
      const { page, context } = await session.newPage();
      await context.addInitScript(() => {
        const w = window as unknown as Record<string, unknown>;
        w['showSaveFilePicker'] = async (options: { suggestedName?: string }) => {
          const root = await navigator.storage.getDirectory();
          const dir = await root.getDirectoryHandle('picked-file', { create: true });
          return dir.getFileHandle(`saved-${options.suggestedName ?? 'x'}`, { create: true });
        };
        w['showDirectoryPicker'] = async () => (await navigator.storage.getDirectory()).getDirectoryHandle('picked-folder', { create: true });
      });
      await page.reload();
      await page.waitForSelector('body[data-ready=true]');
      return page;
    }

    /** Every file of an OPFS folder: name → bytes. */
    async function readOpfs(page: Page, folder: string): Promise<Map<string, Buffer>> {
      const files = await page.evaluate(async (name) => {
        const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle(name);
        const out: [string, number[]][] = [];
        for await (const [n, h] of (dir as unknown as { entries(): AsyncIterable<[string, FileSystemFileHandle]> }).entries()) {
          out.push([n, Array.from(new Uint8Array(await (await h.getFile()).arrayBuffer()))]);
        }
        return out;
      }, folder);
      return new Map(files.map(([name, bytes]) => [name, Buffer.from(bytes)] as const).sort(([a], [b]) => a.localeCompare(b)));
    }

    it('one file: streamed into the picked file, the same bytes as the CLI; nothing downloaded, no temporary file left', async () => {
      const page = await pageWithPickers();
      let downloaded = 0;
      page.on('download', () => downloaded++);
      const file = copied(SAMPLE);
      await pickFiles(page, [file]);
      await convertInPage(page, { save: true });
      await expect.poll(() => page.locator('[data-testid=convert-summary]').count(), { timeout: 60_000 }).toBe(1);
      const expected = cliOutputs(file);
      const got = await readOpfs(page, 'picked-file');
      expect([...got.keys()]).toEqual(['saved-model.safetensors']);
      expectSame('model.safetensors', got.get('saved-model.safetensors'), expected.get('model.safetensors')!);
      expect((await opfsFiles(page)).filter((f) => f.startsWith('tensorsafe-convert-'))).toEqual([]);
      expect(downloaded).toBe(0);
    }, 120_000);

    it('several files (shards and their index): into the picked folder', async () => {
      const page = await pageWithPickers();
      const file = copied(SAMPLE);
      await pickFiles(page, [file]);
      await convertInPage(page, { save: true, maxShardSize: '100KB' });
      await expect.poll(() => page.locator('[data-testid=convert-summary]').count(), { timeout: 60_000 }).toBe(1);
      const expected = cliOutputs(file, ['--max-shard-size', '100KB']);
      const got = await readOpfs(page, 'picked-folder');
      expect([...got.keys()]).toEqual([...expected.keys()]);
      for (const [name, bytes] of expected) expectSame(name, got.get(name), bytes);
      expect((await opfsFiles(page)).filter((f) => f.startsWith('tensorsafe-convert-'))).toEqual([]);
    }, 120_000);
  });

  it('makes no request outside 127.0.0.1', () => {
    expect(session.requests.filter((u) => !isLoopback(u))).toEqual([]);
  });
});
