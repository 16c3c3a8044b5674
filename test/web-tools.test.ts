/**
 * The web page's tools and a tensor's values, in headless Chromium, against the CLI (`node
 * bin/tensorsafe.js`, run on the same files) and numpy (the value-summary fixture's expected values):
 * a tensor's statistics; compare (verify) two open models; hash; sign (byte for byte the CLI's .sig at
 * the same instant); verify a signature; key pairs made in the page, used by the CLI.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers/paths.js';
import { tempDir } from './helpers/temp.js';
import { isLoopback, pickFiles, SKIP_BROWSER, webSession } from './helpers/web-page.js';

const run = promisify(execFile);
const BIN = path.join(ROOT, 'bin', 'tensorsafe.js');
const SAMPLE = path.join(ROOT, 'test', 'fixtures', 'torch', 'sample', 'pytorch_model.bin');
const VALUES = path.join(ROOT, 'test', 'fixtures', 'value-summary', 'values.safetensors');
const EXPECTED = JSON.parse(fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'value-summary', 'values.expected.json'), 'utf8')) as {
  tensors: Record<string, { parts: { part: string; count: number; nan: number; posInf: number; negInf: number; zeros: number; min: number | string; max: number | string; mean: number | string; std: number | string; minExact?: string; maxExact?: string; histogram: { counts: number[] } }[] }>;
};
/** Mean and std: float64 sums of 600 values in another order than numpy's (pairwise) agree to this relative error. */
const SUM_TOLERANCE = 1e-12;

/** The CLI as a user runs it: its exit code and its stdout, exactly. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

/** Clicks a control and saves the download it starts; returns the saved path. */
async function downloadOf(page: Page, click: () => Promise<unknown>, to: string): Promise<string> {
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 60_000 }), click()]);
  await download.saveAs(to);
  return to;
}

function flipTensorByte(from: string, to: string, tensorName: string): void {
  const bytes = fs.readFileSync(from);
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, { data_offsets: [number, number] }>;
  const at = 8 + n + header[tensorName]!.data_offsets[0];
  bytes[at] = bytes[at]! ^ 0x40;
  fs.writeFileSync(to, bytes);
}

function tool(page: Page, id: string) {
  return page.locator(`[data-tool="${id}"]`);
}

describe.skipIf(SKIP_BROWSER)('the web page tools in headless Chromium', () => {
  const session = webSession();
  let dir: string;
  let converted: string;
  beforeAll(async () => {
    dir = tempDir('web-tools');
    converted = path.join(dir, 'model.safetensors');
    const c = await cli('convert', SAMPLE, '-o', converted);
    expect(c.code, c.stderr).toBe(0);
  }, 120_000);

  it("shows a tensor's values: statistics equal numpy's, and the histogram's bins are numpy's and sum to the count", async () => {
    const { page } = await session.newPage({ viewport: { width: 1280, height: 2400 } });
    await pickFiles(page, [VALUES]);
    for (const name of ['f64', 'f32', 'bf16', 'i64', 'u8', 'c64']) {
      await page.getByRole('button', { name: `Values of ${name}`, exact: true }).click();
      const panel = page.locator('[data-testid=values]');
      await expect.poll(() => panel.locator('[data-testid=value-stats]').count(), { timeout: 30_000 }).toBe(EXPECTED.tensors[name]!.parts.length);
      const parts = await panel.locator('.values-part').evaluateAll((els) =>
        els.map((el) => ({
          part: el.getAttribute('data-part'),
          stats: Object.fromEntries(Array.from(el.querySelectorAll('dd[data-stat]')).map((dd) => [dd.getAttribute('data-stat'), dd.getAttribute('data-value')])),
          bars: Array.from(el.querySelectorAll('svg.histogram rect')).map((r) => Number(r.getAttribute('data-count'))),
        })),
      );
      EXPECTED.tensors[name]!.parts.forEach((want, i) => {
        const got = parts[i]!;
        const where = `${name}/${want.part}`;
        expect(got.part, where).toBe(want.part);
        for (const key of ['count', 'nan', 'posInf', 'negInf', 'zeros'] as const) expect(Number(got.stats[key]), `${where} ${key}`).toBe(want[key]);
        expect(got.stats['min'], `${where} min`).toBe(want.minExact ?? String(Number(want.min) + 0));
        expect(got.stats['max'], `${where} max`).toBe(want.maxExact ?? String(Number(want.max) + 0));
        for (const key of ['mean', 'std'] as const) {
          const w = Number(want[key]);
          expect(Math.abs(Number(got.stats[key]) - w), `${where} ${key}`).toBeLessThanOrEqual(SUM_TOLERANCE * Math.abs(w));
        }
        expect(got.bars, `${where} histogram`).toEqual(want.histogram.counts);
        expect(got.bars.reduce((a, b) => a + b, 0)).toBe(want.count - want.nan - want.posInf - want.negInf);
      });
    }
    // The panel is labelled and its result is announced to screen readers.
    expect(await page.locator('[data-testid=values] [role=status]').count()).toBe(1);
    expect(await page.locator('svg.histogram[role=img]').first().getAttribute('aria-label')).toMatch(/^Histogram of \d+ finite values/);
  }, 120_000);

  it("shows a big tensor's reading as progress, and stops it when cancelled", async () => {
    // A 1 GiB F32 tensor of zeros (a sparse file: nothing is written but its header).
    const big = path.join(dir, 'big.safetensors');
    const elements = 1 << 28;
    let json = JSON.stringify({ big: { dtype: 'F32', shape: [elements], data_offsets: [0, 4 * elements] } });
    json += ' '.repeat((8 - (json.length % 8)) % 8);
    const head = Buffer.alloc(8);
    head.writeBigUInt64LE(BigInt(json.length));
    fs.writeFileSync(big, Buffer.concat([head, Buffer.from(json)]));
    fs.truncateSync(big, 8 + json.length + 4 * elements);
    const { page } = await session.newPage();
    await pickFiles(page, [big]);
    await page.getByRole('button', { name: 'Values of big', exact: true }).click();
    const panel = page.locator('[data-testid=values]');
    await expect.poll(async () => Number(await panel.locator('progress').getAttribute('value')), { timeout: 30_000 }).toBeGreaterThan(0);
    expect(await panel.locator('label.progress-label').textContent()).toMatch(/^Reading the values of big \d+%/);
    await panel.locator('[data-testid=values-cancel]').click();
    await expect.poll(() => panel.locator('[data-testid=values-error]').textContent(), { timeout: 30_000 }).toBe('Aborted: cancelled');
    expect(await panel.locator('[data-testid=value-stats]').count()).toBe(0);
    expect(await panel.locator('.job-progress').isHidden()).toBe(true);
  }, 120_000);

  it('compares two open models as tensorsafe verify does: the sample against its conversion is equal; against a changed copy, the tensor that differs is named', async () => {
    const changed = path.join(dir, 'changed', 'model.safetensors');
    fs.mkdirSync(path.dirname(changed));
    const header = JSON.parse(fs.readFileSync(converted).subarray(8, 8 + Number(fs.readFileSync(converted).readBigUInt64LE(0))).toString('utf8')) as Record<string, unknown> & { __metadata__?: Record<string, string> };
    // A tensor no tied name leads to (a tied one is two names of one tensor: both would differ).
    const tied = new Set(Object.values(header.__metadata__ ?? {}));
    const firstTensor = Object.keys(header).find((k) => k !== '__metadata__' && !tied.has(k))!;
    flipTensorByte(converted, changed, firstTensor);
    const { page } = await session.newPage();
    await pickFiles(page, [SAMPLE]);
    await pickFiles(page, [converted]);
    await pickFiles(page, [changed]);
    const compare = tool(page, 'compare');
    const ids = await page.locator('.card').evaluateAll((cards) => cards.map((c) => [c.querySelector('.card-title')!.textContent, c.getAttribute('data-model')]));
    const idOf = (name: string): string => ids.filter(([n]) => n === name).map(([, id]) => id!)[0]!;
    // Cards are shown newest first; the two safetensors files share a name and are told apart in the selects.
    const [changedId, convertedId] = ids.filter(([n]) => n === 'model.safetensors').map(([, id]) => id!);
    await compare.locator('[data-testid=compare-a]').selectOption(idOf('pytorch_model.bin'));
    await compare.locator('[data-testid=compare-b]').selectOption(convertedId!);
    await compare.locator('[data-testid=compare-run]').click();
    const report = compare.locator('[data-testid=compare-report]');
    await expect.poll(() => report.getAttribute('data-ok'), { timeout: 60_000 }).toBe('true');
    const equal = await cli('verify', SAMPLE, converted);
    expect(equal.code).toBe(0);
    const cliLines = equal.stdout.trim().split('\n');
    expect(await compare.locator('[data-testid=compare-summary]').textContent()).toBe(cliLines.at(-2));
    expect(await compare.locator('[data-testid=compare-verdict]').textContent()).toBe(cliLines.at(-1));

    await compare.locator('[data-testid=compare-b]').selectOption(changedId!);
    await compare.locator('[data-testid=compare-run]').click();
    await expect.poll(() => report.getAttribute('data-ok'), { timeout: 60_000 }).toBe('false');
    const different = await cli('verify', SAMPLE, changed);
    expect(different.code).toBe(1);
    const lines = different.stdout.trim().split('\n');
    expect(await compare.locator('[data-testid=compare-summary]').textContent()).toBe(lines.at(-2));
    expect(await compare.locator('[data-testid=compare-verdict]').textContent()).toBe(lines.at(-1));
    const named = await report.locator('li[data-status]').evaluateAll((lis) => lis.map((li) => [li.getAttribute('data-tensor'), li.getAttribute('data-status')]));
    expect(named).toEqual([[firstTensor, 'different']]);
    // Each line says what the CLI says of that tensor.
    const cliLine = lines.find((l) => l.includes(` ${firstTensor}: `))!.trim();
    expect((await report.locator('li[data-status]').textContent())!.trim()).toBe(cliLine);
    // The --json download is the CLI's --json but for the names (paths there, file names here).
    const json = await downloadOf(page, () => compare.locator('[data-testid=compare-download-json]').click(), path.join(dir, 'report.json'));
    const cliJson = JSON.parse((await cli('verify', '--json', SAMPLE, changed)).stdout) as { a: string; b: string };
    expect(JSON.parse(fs.readFileSync(json, 'utf8'))).toEqual({ ...cliJson, a: 'pytorch_model.bin', b: 'model.safetensors' });
  }, 120_000);

  it('hashes a safetensors file: the download is exactly what tensorsafe hash --json prints', async () => {
    const { page } = await session.newPage();
    const hash = tool(page, 'hash');
    await hash.locator('[data-testid=hash-file]').setInputFiles(converted);
    await hash.locator('[data-testid=hash-run]').click();
    await expect.poll(() => hash.locator('[data-testid=hash-json]').count(), { timeout: 60_000 }).toBe(1);
    const saved = await downloadOf(page, () => hash.locator('[data-testid=hash-download]').click(), path.join(dir, 'manifest.json'));
    const expected = await cli('hash', '--json', converted);
    expect(expected.code).toBe(0);
    expect(fs.readFileSync(saved, 'utf8')).toBe(expected.stdout);
    expect(`${await hash.locator('[data-testid=hash-json]').textContent()}\n`).toBe(expected.stdout);

    // An open safetensors model is hashed the same.
    await pickFiles(page, [converted]);
    const id = await page.locator('.card').first().getAttribute('data-model');
    await hash.locator('[data-testid=hash-model]').selectOption(id!);
    await hash.locator('[data-testid=hash-run]').click();
    await expect.poll(() => hash.locator('[data-testid=hash-json]').textContent(), { timeout: 60_000 }).toBe(expected.stdout.trimEnd());
  }, 120_000);

  it('signs a file: the .sig is byte for byte what tensorsafe sign writes with the same key at the same instant; verify-signature says good, then bad after a tensor byte flips', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const keyPem = path.join(dir, 'node-key.pem');
    const pubPem = path.join(dir, 'node-key.pub.pem');
    fs.writeFileSync(keyPem, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    fs.writeFileSync(pubPem, publicKey.export({ type: 'spki', format: 'pem' }));
    const { page } = await session.newPage();
    const sign = tool(page, 'sign');
    await sign.locator('[data-testid=sign-file]').setInputFiles(converted);
    await sign.locator('[data-testid=sign-key]').setInputFiles(keyPem);
    const pageSig = await downloadOf(page, () => sign.locator('[data-testid=sign-run]').click(), path.join(dir, 'page', 'model.safetensors.sig'));
    expect(path.basename(pageSig)).toBe('model.safetensors.sig');
    const signedAt = (JSON.parse(fs.readFileSync(pageSig, 'utf8')) as { signedAt: string }).signedAt;
    // The CLI at the instant the page signed: its clock fixed there by a preloaded module (the CLI's code unchanged).
    const clock = path.join(dir, 'fixed-clock.mjs');
    fs.writeFileSync(clock, `const T = ${Date.parse(signedAt)}; const D = Date; globalThis.Date = class extends D { constructor(...a) { if (a.length === 0) super(T); else super(...a); } static now() { return T; } };\n`);
    const cliSig = path.join(dir, 'cli.sig');
    const { code, stderr } = await run(process.execPath, ['--import', `file://${clock}`, BIN, 'sign', converted, '--key', keyPem, '--out', cliSig]).then(() => ({ code: 0, stderr: '' }), (e: { code: number; stderr: string }) => e);
    expect(code, stderr).toBe(0);
    expect(fs.readFileSync(pageSig).equals(fs.readFileSync(cliSig))).toBe(true);
    expect((await cli('verify-signature', converted, '--key', pubPem, '--sig', pageSig)).code).toBe(0);

    const check = tool(page, 'verify-signature');
    await check.locator('[data-testid=verify-sig-file]').setInputFiles(converted);
    await check.locator('[data-testid=verify-sig-sig]').setInputFiles(pageSig);
    await check.locator('[data-testid=verify-sig-key]').setInputFiles(pubPem);
    await check.locator('[data-testid=verify-sig-run]').click();
    const result = check.locator('[data-testid=verify-sig-result]');
    await expect.poll(() => result.getAttribute('data-ok'), { timeout: 60_000 }).toBe('true');
    expect(await result.textContent()).toContain('good');
    expect(await result.textContent()).toContain(`model.safetensors: signature valid (Ed25519 key node-key.pub.pem, signed ${signedAt}); the header and every tensor match`);

    // One byte of one tensor flipped (the same file name, in another folder): bad, and the tensor named as the CLI names it.
    const header = JSON.parse(fs.readFileSync(converted).subarray(8, 8 + Number(fs.readFileSync(converted).readBigUInt64LE(0))).toString('utf8')) as Record<string, unknown>;
    const victim = Object.keys(header).filter((k) => k !== '__metadata__').at(-1)!;
    const flipped = path.join(dir, 'flipped', 'model.safetensors');
    fs.mkdirSync(path.dirname(flipped));
    flipTensorByte(converted, flipped, victim);
    await check.locator('[data-testid=verify-sig-file]').setInputFiles(flipped);
    await check.locator('[data-testid=verify-sig-run]').click();
    await expect.poll(() => result.getAttribute('data-ok'), { timeout: 60_000 }).toBe('false');
    expect(await result.getAttribute('data-signature-valid')).toBe('true');
    const text = await result.textContent();
    expect(text).toContain('bad');
    const cliCheck = await cli('verify-signature', flipped, '--key', pubPem, '--sig', pageSig);
    expect(cliCheck.code).toBe(1);
    const detail = cliCheck.stdout.trim().split('\n').slice(1).map((l) => l.trim());
    expect(detail.length).toBeGreaterThan(0);
    expect(detail.some((l) => l.includes(`\`${victim}\``))).toBe(true);
    expect(await result.locator('li').allTextContents()).toEqual(detail);

    // The wrong key: the signature is not valid, said as the CLI says it.
    const other = generateKeyPairSync('ed25519').publicKey;
    const otherPem = path.join(dir, 'other.pub.pem');
    fs.writeFileSync(otherPem, other.export({ type: 'spki', format: 'pem' }));
    await check.locator('[data-testid=verify-sig-file]').setInputFiles(converted);
    await check.locator('[data-testid=verify-sig-key]').setInputFiles(otherPem);
    await check.locator('[data-testid=verify-sig-run]').click();
    await expect.poll(() => result.getAttribute('data-signature-valid'), { timeout: 60_000 }).toBe('false');
    expect(await result.textContent()).toContain('the signature is NOT valid for other.pub.pem');

    // A key that is not a key: the error's code and message.
    await sign.locator('[data-testid=sign-key]').setInputFiles(pubPem);
    await sign.locator('[data-testid=sign-run]').click();
    await expect.poll(() => sign.locator('[data-testid=sign-error]').textContent(), { timeout: 30_000 }).toMatch(/^InvalidKey: node-key\.pub\.pem is a public key/);
  }, 120_000);

  it('makes key pairs the CLI accepts: it signs with the private key and verifies with the public one', async () => {
    const { page } = await session.newPage();
    const sign = tool(page, 'sign');
    await sign.locator('details.keygen summary').click();
    await sign.locator('[data-testid=keygen-run]').click();
    await expect.poll(() => sign.locator('[data-testid=keygen-private]').count(), { timeout: 30_000 }).toBe(1);
    const keyPem = await downloadOf(page, () => sign.locator('[data-testid=keygen-private]').click(), path.join(dir, 'page-key', 'key.pem'));
    const pubPem = await downloadOf(page, () => sign.locator('[data-testid=keygen-public]').click(), path.join(dir, 'page-key', 'key.pub.pem'));
    expect(fs.readFileSync(keyPem, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n[A-Za-z0-9+/=]{64}\n-----END PRIVATE KEY-----\n$/);
    const cliSig = path.join(dir, 'page-key', 'model.sig');
    const signed = await cli('sign', converted, '--key', keyPem, '--out', cliSig);
    expect(signed.code, signed.stderr).toBe(0);
    const checked = await cli('verify-signature', converted, '--key', pubPem, '--sig', cliSig);
    expect(checked.code, checked.stdout).toBe(0);
    // And the page signs with its own key what the CLI verifies.
    await sign.locator('[data-testid=sign-file]').setInputFiles(converted);
    await sign.locator('[data-testid=sign-key]').setInputFiles(keyPem);
    const pageSig = await downloadOf(page, () => sign.locator('[data-testid=sign-run]').click(), path.join(dir, 'page-key', 'page.sig'));
    expect((await cli('verify-signature', converted, '--key', pubPem, '--sig', pageSig)).code).toBe(0);
  }, 120_000);

  it('makes no request outside 127.0.0.1', () => {
    expect(session.requests.length).toBeGreaterThan(0);
    expect(session.requests.filter((u) => !isLoopback(u))).toEqual([]);
  });
});
