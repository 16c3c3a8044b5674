/**
 * The browser entry (dist/index.js) in a real browser: Debian's headless Chromium, driven through
 * playwright-core, loads the built ES modules from a loopback node:http server and runs save/load,
 * Blob and HTTP-range reading, the float codecs and the coded errors. Results come back to Node and
 * are asserted here.
 *
 * Needs `dist/` (built by `npm test`) and /usr/bin/chromium (Debian package chromium; .ci/run
 * installs it). Fails when Chromium is missing, unless TENSORSAFE_SKIP_BROWSER=1.
 * TENSORSAFE_CHROMIUM overrides the browser binary.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PREFETCH_BYTES, fromFloat32, save, type Dtype, type TensorsInput } from '../src/index.js';
import { loadHeader } from '../src/safetensors/load.js';
import { CHROMIUM, CHROMIUM_ARGS, CHROMIUM_MISSING_MESSAGE, SKIP_BROWSER } from './helpers/web-page.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIST = path.join(REPO, 'dist');

// ---- tensors, built the same way in Node and in the page --------------------------------------

/** A tensor as JSON: F32 values as-is, BF16/F4 through fromFloat32, I64 as decimal strings (BigInt). */
interface TensorSpec {
  dtype: Dtype;
  shape: number[];
  values: (number | string)[];
}

const ROUND_TRIP: Record<string, TensorSpec> = {
  w: { dtype: 'F32', shape: [2, 3], values: [1.5, -2, 0, 3.25, 0.125, -7] },
  b: { dtype: 'BF16', shape: [4], values: [1, -2.5, 0.15625, 65280] },
  ids: { dtype: 'I64', shape: [3], values: ['-1', '4611686018427387904', '-9223372036854775808'] },
  q: { dtype: 'F4', shape: [6], values: [0, 0.5, 1, -1.5, 6, -6] },
  m: { dtype: 'F32', shape: [4, 3], values: Array.from({ length: 12 }, (_, i) => i) },
};
const ROUND_TRIP_METADATA = { format: 'pt', made_in: 'browser' };

function buildTensors(spec: Record<string, TensorSpec>): TensorsInput {
  const out: Record<string, { dtype: Dtype; shape: number[]; data: ArrayBufferView }> = {};
  for (const [name, t] of Object.entries(spec)) {
    const data =
      t.dtype === 'I64'
        ? BigInt64Array.from(t.values.map((v) => BigInt(v)))
        : t.dtype === 'F32'
          ? Float32Array.from(t.values as number[])
          : fromFloat32(t.dtype, t.values as number[]);
    out[name] = { dtype: t.dtype, shape: t.shape, data };
  }
  return out;
}

/** The same construction as buildTensors, as page code (`ts` is the module, `spec` the JSON). */
const BUILD_TENSORS_JS = `
  const tensors = {};
  for (const [name, t] of Object.entries(spec)) {
    const data = t.dtype === 'I64' ? BigInt64Array.from(t.values.map((v) => BigInt(v)))
      : t.dtype === 'F32' ? Float32Array.from(t.values)
      : ts.fromFloat32(t.dtype, t.values);
    tensors[name] = { dtype: t.dtype, shape: t.shape, data };
  }`;

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function dataHex(data: ArrayBufferView): string {
  return hex(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

/**
 * The non-relative import specifiers (`node:fs`, `fs`, a package name) in the module graph of a
 * built file that `allowed` (the import map) does not map, found by reading the files: names what a
 * browser could not resolve when the import fails there (Chromium only says "Failed to fetch
 * dynamically imported module"). Imports inside dependencies are not followed.
 */
function bareImports(entry: string, allowed: Record<string, string> = {}): { file: string; specifier: string }[] {
  const found: { file: string; specifier: string }[] = [];
  const seen = new Set<string>();
  const queue = [entry];
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    if (!existsSync(file)) continue;
    const code = readFileSync(file, 'utf8');
    const statements = /^\s*(?:import|export)\b[^;'"`]*?\bfrom\s*(['"])([^'"\n]+)\1|^\s*import\s*(['"])([^'"\n]+)\3|\bimport\(\s*(['"])([^'"\n]+)\5\s*\)/gm;
    for (const m of code.matchAll(statements)) {
      const specifier = (m[2] ?? m[4] ?? m[6])!;
      if (/^\.{1,2}\//.test(specifier)) queue.push(path.resolve(path.dirname(file), specifier));
      else if (!Object.hasOwn(allowed, specifier)) found.push({ file: path.relative(REPO, file), specifier });
    }
  }
  return found;
}

// ---- runtime dependencies, through an import map ----------------------------------------------------

/**
 * The package's runtime `dependencies`, as a browser without a bundler would load them: an import map
 * from each package name (and each of its exported subpaths) to its browser ESM file under
 * `/node_modules/`, chosen by the export conditions a bundler targeting browsers uses.
 */
function dependencyImportMap(): Record<string, string> {
  const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  const imports: Record<string, string> = {};
  for (const name of Object.keys(pkg.dependencies ?? {})) {
    const dir = path.join(REPO, 'node_modules', name);
    const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
      exports?: unknown;
      browser?: unknown;
      module?: unknown;
      main?: unknown;
    };
    const entries: [string, unknown][] =
      manifest.exports !== undefined && isObject(manifest.exports) && Object.keys(manifest.exports).every((k) => k.startsWith('.'))
        ? Object.entries(manifest.exports)
        : [['.', manifest.exports ?? (typeof manifest.browser === 'string' ? manifest.browser : undefined) ?? manifest.module ?? manifest.main ?? './index.js']];
    for (const [subpath, target] of entries) {
      const file = browserTarget(target);
      if (subpath.includes('*') || file === undefined || !/\.m?js$/.test(file)) continue;
      imports[name + subpath.slice(1)] = `/node_modules/${name}/${path.posix.normalize(file)}`;
    }
  }
  return imports;
}

/** The file an `exports` target resolves to under the conditions browser, import, default (first match in key order). */
function browserTarget(target: unknown): string | undefined {
  if (typeof target === 'string') return target;
  if (Array.isArray(target)) return target.map(browserTarget).find((t) => t !== undefined);
  if (!isObject(target)) return undefined;
  for (const [condition, value] of Object.entries(target)) {
    if (condition !== 'browser' && condition !== 'import' && condition !== 'default') continue;
    const file = browserTarget(value);
    if (file !== undefined) return file;
  }
  return undefined;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

// ---- the fixture served over HTTP ---------------------------------------------------------------

/** `big` (F32, 256 KiB) comes first in the file, so `small` lies beyond the 64 KiB prefetch. */
function makeFixture(): Uint8Array {
  const big = Float32Array.from({ length: 256 * 256 }, (_, i) => (i % 1000) * 0.5);
  const small = Int32Array.from([-3, 7, 1 << 30, -(2 ** 31), 0]);
  return save(
    { big: { dtype: 'F32', shape: [256, 256], data: big }, small: { dtype: 'I32', shape: [5], data: small } },
    { metadata: { format: 'pt', source: 'browser.test' } },
  );
}

// ---- the loopback server --------------------------------------------------------------------------

interface LoggedRequest {
  method: string;
  path: string;
  range: string | undefined;
  ifMatch: string | undefined;
  status: number;
}

function pageHtml(importMap: Record<string, string>): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>tensorsafe browser test</title>
<script type="importmap">${JSON.stringify({ imports: importMap })}</script>
</head>
<body>
<script type="module">
  import('/dist/index.js').then(
    (ts) => { window.tensorsafeStatus = 'ok ' + Object.keys(ts).length; },
    (e) => { window.tensorsafeStatus = 'error: ' + (e && e.stack ? e.stack : String(e)); },
  );
</script>
</body></html>
`;
}

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
};

interface Served {
  bytes: Uint8Array;
  etag: string;
}

function served(bytes: Uint8Array): Served {
  return { bytes, etag: `"${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}"` };
}

const LAST_MODIFIED = 'Wed, 01 Jan 2025 00:00:00 GMT';

class TestServer {
  readonly log: LoggedRequest[] = [];
  url = '';
  private readonly server: http.Server;

  constructor(
    private readonly files: Record<string, Served>,
    private readonly importMap: Record<string, string>,
  ) {
    this.server = http.createServer((req, res) => {
      try {
        this.handle(req, res);
      } catch (e) {
        this.send(req, res, 500, { 'content-type': 'text/plain' }, String(e));
      }
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', resolve);
    });
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    if (req.method !== 'GET' && req.method !== 'HEAD') return this.send(req, res, 405, { allow: 'GET, HEAD' }, '');
    if (pathname === '/' || pathname === '/index.html') return this.send(req, res, 200, { 'content-type': CONTENT_TYPES['.html']! }, pageHtml(this.importMap));
    if (pathname === '/favicon.ico') return this.send(req, res, 204, {}, '');
    if (pathname.startsWith('/dist/')) return this.sendFile(req, res, DIST, pathname.slice('/dist/'.length));
    // Only the directories of the packages in the import map.
    const dependency = Object.values(this.importMap)
      .map((url) => url.split('/').slice(0, url.startsWith('/node_modules/@') ? 4 : 3).join('/') + '/')
      .find((prefix) => pathname.startsWith(prefix));
    if (dependency) return this.sendFile(req, res, path.join(REPO, dependency), pathname.slice(dependency.length));
    const entry = this.files[pathname];
    if (!entry) return this.send(req, res, 404, { 'content-type': 'text/plain' }, 'not found');
    this.sendRanged(req, res, entry);
  }

  /** A file under `root` (no way out of it), with its Content-Type. */
  private sendFile(req: http.IncomingMessage, res: http.ServerResponse, root: string, relative: string): void {
    const dir = path.resolve(root);
    const file = path.resolve(dir, relative);
    if (!file.startsWith(dir + path.sep) || !existsSync(file) || !statSync(file).isFile()) return this.send(req, res, 404, { 'content-type': 'text/plain' }, 'not found');
    const type = CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream';
    this.send(req, res, 200, { 'content-type': type, 'cache-control': 'no-store' }, readFileSync(file));
  }

  /** A static file with single-range support, a strong ETag and If-Match, like nginx. */
  private sendRanged(req: http.IncomingMessage, res: http.ServerResponse, { bytes, etag }: Served): void {
    const size = bytes.byteLength;
    const base = {
      'content-type': 'application/octet-stream',
      'accept-ranges': 'bytes',
      'cache-control': 'no-store',
      etag,
      'last-modified': LAST_MODIFIED,
    };
    const ifMatch = req.headers['if-match'];
    if (ifMatch !== undefined && ifMatch.trim() !== '*' && !ifMatch.split(',').some((t) => t.trim() === etag)) {
      return this.send(req, res, 412, base, '');
    }
    const range = req.headers.range;
    const m = range === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(range.trim());
    if (!m || (m[1] === '' && m[2] === '')) return this.send(req, res, 200, base, bytes); // no Range, or one we do not serve: the whole file
    let start: number;
    let end: number;
    if (m[1] === '') {
      start = Math.max(0, size - Number(m[2])); // suffix range: the last n bytes
      end = size - 1;
    } else {
      start = Number(m[1]);
      end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    }
    if (start >= size || end < start) return this.send(req, res, 416, { ...base, 'content-range': `bytes */${size}` }, '');
    this.send(req, res, 206, { ...base, 'content-range': `bytes ${start}-${end}/${size}` }, bytes.subarray(start, end + 1));
  }

  private send(req: http.IncomingMessage, res: http.ServerResponse, status: number, headers: Record<string, string>, body: string | Uint8Array): void {
    const buf = typeof body === 'string' ? Buffer.from(body) : body;
    this.log.push({
      method: req.method ?? '',
      path: new URL(req.url ?? '/', 'http://localhost').pathname,
      range: req.headers.range,
      ifMatch: req.headers['if-match'],
      status,
    });
    res.writeHead(status, { ...headers, 'x-content-type-options': 'nosniff', 'content-length': String(buf.byteLength) });
    res.end(req.method === 'HEAD' ? undefined : buf);
  }
}

// ---- in the page ----------------------------------------------------------------------------------

/** Helpers every page evaluation starts with; `ts` is dist/index.js. */
const PRELUDE = `
  const ts = await import('/dist/index.js');
  const hex = (v) => Array.from(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), (b) => b.toString(16).padStart(2, '0')).join('');
  const num = (xs) => Array.from(xs, (x) => typeof x === 'bigint' ? x.toString() : Object.is(x, -0) ? '-0' : Number.isFinite(x) ? x : String(x));
  const caught = async (f) => {
    try { await f(); return { threw: false }; }
    catch (e) {
      return { threw: true, name: e && e.name, code: e && e.code, message: String(e && e.message),
        tensorsafeError: e instanceof ts.TensorsafeError, safetensorError: e instanceof ts.SafetensorError, ioError: e instanceof ts.IoError };
    }
  };`;

interface Caught {
  threw: boolean;
  name?: string;
  code?: string;
  message?: string;
  tensorsafeError?: boolean;
  safetensorError?: boolean;
  ioError?: boolean;
}

interface PageTensor {
  dtype: string;
  shape: number[];
  array: string;
  hex: string;
  values: (number | string)[];
}

/** Serialises a tensor in the page: typed-array class, raw bytes and element values. */
const TENSOR_JS = `(t) => ({ dtype: t.dtype, shape: [...t.shape], array: t.data.constructor.name, hex: hex(t.data),
  values: ['F32', 'I32', 'I64'].includes(t.dtype) ? num(t.data) : num(ts.toFloat32(t.dtype, t.data, t.shape.reduce((a, b) => a * b, 1))) })`;

// ---- the tests ------------------------------------------------------------------------------------

describe.skipIf(SKIP_BROWSER)('dist/index.js in headless Chromium', () => {
  let server: TestServer | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];
  const fixture = makeFixture();
  const truncated = fixture.subarray(0, fixture.byteLength - 4);
  const fixtureEtag = served(fixture).etag;
  let importMap: Record<string, string> = {};

  /** Runs `body` (an async function body with PRELUDE's names in scope) in the page; returns its value. */
  async function inPage<T>(body: string, args: Record<string, unknown> = {}): Promise<T> {
    if (!page) throw new Error('the browser page did not start (see the beforeAll error)');
    const bindings = Object.entries(args)
      .map(([k, v]) => `const ${k} = ${JSON.stringify(v)};`)
      .join('\n');
    return (await page.evaluate(`(async () => {\n${PRELUDE}\n${bindings}\n${body}\n})()`)) as T;
  }

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(CHROMIUM_MISSING_MESSAGE);
    if (!existsSync(path.join(DIST, 'index.js'))) throw new Error(`${path.join(DIST, 'index.js')} is missing: run \`npm run build\` first (npm test does)`);
    expect(loadHeader(fixture).info('small').byteOffset).toBeGreaterThan(DEFAULT_PREFETCH_BYTES); // `small` needs a second Range request

    importMap = dependencyImportMap();
    server = new TestServer({ '/fixture.safetensors': served(fixture), '/truncated.safetensors': served(truncated) }, importMap);
    await server.start();
    try {
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 });
    } catch (e) {
      throw new Error(`could not launch ${CHROMIUM} through playwright-core: ${(e as Error).message}`, { cause: e });
    }
    const context = await browser.newContext();
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (e) => pageErrors.push(e.stack ?? e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    await page.goto(`${server.url}/`);
    await page.waitForFunction('window.tensorsafeStatus !== undefined');
    const status = (await page.evaluate('window.tensorsafeStatus')) as string;
    if (!status.startsWith('ok')) {
      const details = [...consoleErrors, ...pageErrors, ...bareImports(path.join(DIST, 'index.js'), importMap).map((i) => `${i.file} imports '${i.specifier}'`)];
      throw new Error(`dist/index.js did not load in Chromium: ${status}${details.map((d) => `\n  ${d}`).join('')}`);
    }
  });

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await server?.stop();
  });

  it('loads dist/index.js as ES modules, without Node built-ins or Node-only modules', async () => {
    const env = await inPage<{ exports: string[]; process: string; buffer: string; ua: string }>(`
      return { exports: Object.keys(ts), process: typeof process, buffer: typeof Buffer, ua: navigator.userAgent };`);
    expect(env.process).toBe('undefined');
    expect(env.buffer).toBe('undefined');
    expect(env.ua).toMatch(/Chrom/);
    for (const name of ['save', 'load', 'safeOpen', 'toFloat32', 'fromFloat32', 'HttpSource', 'SafetensorError', 'TensorsafeError']) {
      expect(env.exports).toContain(name);
    }
    const modules = server!.log.filter((r) => r.path.startsWith('/dist/') && r.path.endsWith('.js'));
    expect(modules.length).toBeGreaterThan(10);
    expect(modules.every((r) => r.status === 200)).toBe(true);
    const nodeOnly = modules.map((r) => r.path).filter((p) => /^\/dist\/(node|cli)\/|^\/dist\/node\.js$/.test(p));
    expect(nodeOnly, 'Node-only modules reached from dist/index.js').toEqual([]);
    // The same graph read from disk: every import is relative or a declared dependency in the import map (no `node:*`).
    expect(bareImports(path.join(DIST, 'index.js'), importMap)).toEqual([]);
    const graph = new Set(modules.map((r) => r.path));
    expect(graph.has('/dist/io/http-source.js') && graph.has('/dist/dtype/float-codecs.js')).toBe(true);
  });

  it('save() then load(): F32, BF16, I64, F4 round-trip byte for byte, and save() matches Node', async () => {
    const result = await inPage<{ fileHex: string; tensors: Record<string, PageTensor>; inputHex: Record<string, string>; metadata: unknown }>(
      `${BUILD_TENSORS_JS}
      const bytes = ts.save(tensors, { metadata });
      const loaded = ts.load(bytes);
      const toJson = ${TENSOR_JS};
      const out = {};
      for (const [name, t] of loaded) out[name] = toJson(t);
      const inputHex = {};
      for (const [name, t] of Object.entries(tensors)) inputHex[name] = hex(t.data);
      return { fileHex: hex(bytes), tensors: out, inputHex, metadata: (await ts.safeOpen(bytes)).metadata() };`,
      { spec: ROUND_TRIP, metadata: ROUND_TRIP_METADATA },
    );

    const inNode = buildTensors(ROUND_TRIP) as Record<string, { data: ArrayBufferView }>;
    expect(result.fileHex).toBe(hex(save(buildTensors(ROUND_TRIP), { metadata: ROUND_TRIP_METADATA })));
    expect(result.metadata).toEqual(ROUND_TRIP_METADATA);
    expect(Object.keys(result.tensors).sort()).toEqual(Object.keys(ROUND_TRIP).sort());
    const arrays: Record<string, string> = { F32: 'Float32Array', BF16: 'Uint16Array', I64: 'BigInt64Array', F4: 'Uint8Array' };
    for (const [name, spec] of Object.entries(ROUND_TRIP)) {
      const t = result.tensors[name]!;
      expect(t.dtype, name).toBe(spec.dtype);
      expect(t.shape, name).toEqual(spec.shape);
      expect(t.array, name).toBe(arrays[spec.dtype]);
      expect(t.hex, name).toBe(result.inputHex[name]);
      expect(t.hex, name).toBe(dataHex(inNode[name]!.data));
      expect(t.values, name).toEqual(spec.values); // every value here is exact in its dtype
    }
    expect(result.tensors.q!.hex).toBe('10b2f7'); // F4 codes 0,1,2,0xb,7,0xf: element 0 in the low nibble
  });

  it('safeOpen(Blob): getTensor and getSlice read from the Blob', async () => {
    const result = await inPage<{ keys: string[]; offsetKeys: string[]; metadata: unknown; w: PageTensor; rows: PageTensor; column: PageTensor; name: string }>(
      `${BUILD_TENSORS_JS}
      const bytes = ts.save(tensors, { metadata });
      const h = await ts.safeOpen(new Blob([bytes]));
      const toJson = ${TENSOR_JS};
      const out = { keys: h.keys(), offsetKeys: h.offsetKeys(), metadata: h.metadata(), name: h.name,
        w: toJson(await h.getTensor('w')),
        rows: toJson(await h.getSlice('m').get('1:3')),
        column: toJson(await h.getSlice('m').get(':', -1)) };
      await h.close();
      return out;`,
      { spec: ROUND_TRIP, metadata: ROUND_TRIP_METADATA },
    );
    expect(result.name).toBe('blob');
    expect(result.keys).toEqual(['b', 'ids', 'm', 'q', 'w']);
    expect(result.offsetKeys).toHaveLength(5);
    expect(result.metadata).toEqual(ROUND_TRIP_METADATA);
    expect(result.w).toMatchObject({ dtype: 'F32', shape: [2, 3], array: 'Float32Array', values: ROUND_TRIP.w!.values });
    expect(result.rows).toMatchObject({ dtype: 'F32', shape: [2, 3], values: [3, 4, 5, 6, 7, 8] });
    expect(result.column).toMatchObject({ dtype: 'F32', shape: [4], values: [2, 5, 8, 11] });
  });

  it('safeOpen(http URL): HttpSource over the browser fetch reads the header, then single tensors with Range + If-Match', async () => {
    const before = server!.log.length;
    const result = await inPage<{
      keys: string[];
      metadata: unknown;
      small: PageTensor;
      rows: PageTensor;
      size: number;
      etag: string;
      rangeSupported: boolean;
      stats: { requests: number; bytesReceived: number };
    }>(
      `const h = await ts.safeOpen(base + '/fixture.safetensors');
      const toJson = ${TENSOR_JS};
      const out = { keys: h.keys(), metadata: h.metadata(),
        small: toJson(await h.getTensor('small')),
        rows: toJson(await h.getSlice('big').get('100:102', '0:4')),
        size: h.source.size, etag: h.source.etag, rangeSupported: h.source.rangeSupported, stats: { ...h.source.stats } };
      await h.close();
      return out;`,
      { base: server!.url },
    );
    expect(result.keys).toEqual(['big', 'small']);
    expect(result.metadata).toEqual({ format: 'pt', source: 'browser.test' });
    expect(result.small).toMatchObject({ dtype: 'I32', shape: [5], array: 'Int32Array', values: [-3, 7, 2 ** 30, -(2 ** 31), 0] });
    const row = (r: number): number[] => [0, 1, 2, 3].map((c) => ((r * 256 + c) % 1000) * 0.5);
    expect(result.rows).toMatchObject({ dtype: 'F32', shape: [2, 4], values: [...row(100), ...row(101)] });
    expect(result.size).toBe(fixture.byteLength);
    expect(result.etag).toBe(fixtureEtag);
    expect(result.rangeSupported).toBe(true);

    const requests = server!.log.slice(before).filter((r) => r.path === '/fixture.safetensors');
    expect(requests.length).toBe(result.stats.requests);
    expect(requests[0]).toMatchObject({ method: 'GET', range: `bytes=0-${DEFAULT_PREFETCH_BYTES - 1}`, ifMatch: undefined, status: 206 });
    expect(requests.length).toBeGreaterThanOrEqual(2);
    for (const r of requests.slice(1)) expect(r).toMatchObject({ method: 'GET', range: expect.stringMatching(/^bytes=\d+-\d+$/), ifMatch: fixtureEtag, status: 206 });
    expect(result.stats.bytesReceived).toBeLessThan(fixture.byteLength); // ranges, not the whole file
  });

  it('HttpSource.open resolves a relative URL against the page', async () => {
    const result = await inPage<{ size: number; etag: string; head: string }>(
      `const s = await ts.HttpSource.open('/fixture.safetensors', { prefetchBytes: 8 });
      const out = { size: s.size, etag: s.etag, head: hex(await s.read(0, 8)) };
      await s.close();
      return out;`,
    );
    expect(result).toEqual({ size: fixture.byteLength, etag: fixtureEtag, head: hex(fixture.subarray(0, 8)) });
  });

  it('safeOpen resolves a relative URL against the page', async () => {
    const result = await inPage<{ keys: string[] }>(
      `const h = await ts.safeOpen('fixture.safetensors');
      const out = { keys: h.keys() };
      await h.close();
      return out;`,
    );
    expect(result.keys.length).toBeGreaterThan(0);
  });

  it('scanBytes judges a pickle and a safetensors file in the page', async () => {
    const result = await inPage<{ evil: string; rule: string; safe: string; format: string }>(
      `const evil = new Uint8Array([0x80, 2, ...new TextEncoder().encode('cposix\\nsystem\\nX'), 2, 0, 0, 0, 0x69, 0x64, 0x85, 0x52, 0x2e]);
      const a = await ts.scanBytes(evil, 'evil.pkl');
      const b = await ts.scanBytes(ts.save({ w: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) } }), 'w.safetensors');
      return { evil: a.verdict, rule: a.findings[0].rule, safe: b.verdict, format: b.format };`,
    );
    expect(result).toEqual({ evil: 'dangerous', rule: 'pickle/dangerous-global', safe: 'safe', format: 'safetensors' });
  });

  it('toFloat32 and fromFloat32 for BF16', async () => {
    const result = await inPage<{ decoded: (number | string)[]; encoded: number[] }>(`
      return { decoded: num(ts.toFloat32('BF16', new Uint16Array([0x3f80, 0xc020, 0x7f80, 0x8000, 0x3e20]))),
        encoded: Array.from(ts.fromFloat32('BF16', [1, -2.5, Infinity, -0, 0.15625, 1.00390625])) };`);
    expect(result.decoded).toEqual([1, -2.5, 'Infinity', '-0', 0.15625]);
    expect(result.encoded).toEqual([0x3f80, 0xc020, 0x7f80, 0x8000, 0x3e20, 0x3f80]); // 1 + 2^-8 is a tie: rounds to even
  });

  it('invalid input rejects with coded TensorsafeErrors', async () => {
    type Case = 'loadTruncated' | 'blobTruncated' | 'httpTruncated' | 'badJson' | 'httpMissing' | 'path' | 'badDtype' | 'f4NaN';
    const result = await inPage<Record<Case, Caught>>(
      `const truncated = ts.save({ a: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) } }).subarray(0, 68);
      const badJson = new Uint8Array(16); badJson[0] = 8; badJson.set(new TextEncoder().encode('{not js}'), 8);
      return {
        loadTruncated: await caught(() => ts.load(truncated)),
        blobTruncated: await caught(() => ts.safeOpen(new Blob([truncated]))),
        httpTruncated: await caught(() => ts.safeOpen(base + '/truncated.safetensors')),
        badJson: await caught(() => ts.load(badJson)),
        httpMissing: await caught(() => ts.safeOpen(base + '/missing.safetensors', { http: { retries: 0 } })),
        path: await caught(() => ts.safeOpen('missing.safetensors', { http: { retries: 0 } })),
        badDtype: await caught(() => ts.save({ x: { dtype: 'F33', shape: [1], data: new Uint8Array(1) } })),
        f4NaN: await caught(() => ts.fromFloat32('F4', [NaN])),
      };`,
      { base: server!.url },
    );
    const safetensors = { threw: true, name: 'SafetensorError', tensorsafeError: true, safetensorError: true, ioError: false };
    expect(result.loadTruncated).toMatchObject({ ...safetensors, code: 'MetadataIncompleteBuffer' });
    expect(result.blobTruncated).toMatchObject({ ...safetensors, code: 'MetadataIncompleteBuffer' });
    expect(result.httpTruncated).toMatchObject({ ...safetensors, code: 'MetadataIncompleteBuffer' });
    expect(result.badJson).toMatchObject({ ...safetensors, code: 'InvalidHeaderDeserialization' });
    expect(result.badDtype).toMatchObject({ ...safetensors, code: 'InvalidDtype' });
    expect(result.f4NaN).toMatchObject({ ...safetensors, code: 'InvalidDtype' });
    expect(result.httpMissing).toMatchObject({ threw: true, name: 'IoError', code: 'HttpError', tensorsafeError: true, ioError: true });
    expect(result.httpMissing.message).toMatch(/404/);
    // In a page, a plain string is a URL relative to the page, not a file path.
    expect(result.path).toMatchObject({ threw: true, name: 'IoError', code: 'HttpError', tensorsafeError: true });
    expect(result.path.message).toMatch(/missing\.safetensors/);
  });

  it('raised no uncaught errors in the page', () => {
    expect(pageErrors).toEqual([]);
  });
});
