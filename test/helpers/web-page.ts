/**
 * The web page (dist/web, built by `npm test`) in Debian's headless Chromium, driven through
 * playwright-core and served by `tensorsafe web`'s own server (dist/node/web-server.js) on a free
 * loopback port. Every request the page makes is recorded, so that tests can prove none leaves
 * 127.0.0.1. Fails when Chromium is missing, unless TENSORSAFE_SKIP_BROWSER=1 (then the web tests
 * are skipped); TENSORSAFE_CHROMIUM overrides the browser binary.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll } from 'vitest';
import * as path from 'node:path';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { ROOT } from './paths.js';

export const SKIP_BROWSER = process.env.TENSORSAFE_SKIP_BROWSER === '1';
export const CHROMIUM = process.env.TENSORSAFE_CHROMIUM || '/usr/bin/chromium';
/** On this machine outbound network is closed: Chromium must not try to phone home. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-features=Translate,OptimizationHints,MediaRouter',
];
export const CHROMIUM_MISSING_MESSAGE =
  `Chromium not found at ${CHROMIUM}: the browser tests (dist/index.js and the web page) run in Debian's headless Chromium. ` +
  'Install the Debian package chromium (as root: DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; .ci/run does this), ' +
  'or set TENSORSAFE_SKIP_BROWSER=1 to skip the browser tests.';

interface WebServerModule {
  startWebServer(options?: { port?: number; host?: string }): Promise<{ url: string; port: number; close(): Promise<void> }>;
}

/** The browser, the page's server, and every URL requested by any page of the session. */
export interface WebSession {
  readonly browser: Browser;
  readonly url: string;
  readonly requests: string[];
  /** A new page (its own context: downloads accepted, nothing shared), loaded and ready. */
  newPage(options?: BrowserContextOptions): Promise<{ page: Page; context: BrowserContext }>;
  close(): Promise<void>;
}

/**
 * The session of the describe block it is called in: started before its tests (beforeAll), closed after
 * them (afterAll); what it returns reaches the started session.
 */
export function webSession(): WebSession {
  let started: WebSession | undefined;
  beforeAll(async () => {
    started = await startWebSession();
  }, 60_000);
  afterAll(async () => {
    await started?.close();
  });
  const current = (): WebSession => {
    if (started === undefined) throw new Error('the web session is not started yet: webSession() starts it in beforeAll');
    return started;
  };
  return {
    get browser() {
      return current().browser;
    },
    get url() {
      return current().url;
    },
    get requests() {
      return current().requests;
    },
    newPage: (options) => current().newPage(options),
    close: () => current().close(),
  };
}

export async function startWebSession(): Promise<WebSession> {
  if (!existsSync(CHROMIUM)) throw new Error(CHROMIUM_MISSING_MESSAGE);
  const serverModule = path.join(ROOT, 'dist', 'node', 'web-server.js');
  if (!existsSync(path.join(ROOT, 'dist', 'web', 'index.html'))) throw new Error('dist/web is missing: run "npm run build" (npm test does)');
  const { startWebServer } = (await import(serverModule)) as WebServerModule;
  const server = await startWebServer({ port: 0 });
  let browser: Browser;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 });
  } catch (e) {
    await server.close();
    throw new Error(`could not launch ${CHROMIUM} through playwright-core: ${(e as Error).message}`, { cause: e });
  }
  const requests: string[] = [];
  const contexts: BrowserContext[] = [];
  return {
    browser,
    url: server.url,
    requests,
    async newPage(options = {}) {
      const context = await browser.newContext({ acceptDownloads: true, ...options });
      contexts.push(context);
      context.on('request', (r) => requests.push(r.url()));
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(server.url);
      await page.waitForSelector('body[data-ready=true]', { timeout: 15_000 }).catch((e: unknown) => {
        throw new Error(`the page did not start: ${errors.join('; ') || String(e)}`);
      });
      return { page, context };
    },
    async close() {
      for (const c of contexts) await c.close().catch(() => undefined);
      await browser.close();
      await server.close();
    },
  };
}

/** Picks files through the page's `[data-testid=file-input]`, and waits until their cards are shown. */
export async function pickFiles(page: Page, files: string[], expectCards = 1): Promise<void> {
  const before = await page.locator('.card').count();
  await page.locator('[data-testid=file-input]').setInputFiles(files);
  await page.waitForFunction((n) => document.querySelectorAll('.card').length >= n, before + expectCards, { timeout: 60_000 });
}

/** Only loopback addresses: the page's own server and the test's nginx. */
export function isLoopback(url: string): boolean {
  if (url.startsWith('blob:') || url.startsWith('data:')) return true;
  const host = new URL(url).hostname;
  return host === '127.0.0.1' || host === 'localhost' || host === '[::1]';
}
