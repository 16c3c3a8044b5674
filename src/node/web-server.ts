import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { IoError } from '../errors.js';

/** The page's static files, built by `npm run build` (scripts/build-web.js) and shipped in the package. */
export const WEB_ROOT = fileURLToPath(new URL('../web/', import.meta.url));
/** Where `tensorsafe web` listens unless told otherwise. */
export const DEFAULT_WEB_PORT = 8470;
export const DEFAULT_WEB_HOST = '127.0.0.1';

/**
 * Files served beside the page's own, by URL path: the sample checkpoint the empty page offers to open.
 * It is the one `tensorsafe demo` uses, already in the package; served from there rather than copied
 * into dist/web, so that the package does not carry it twice (static hosts of dist/web go without it).
 */
export const WEB_EXTRA_FILES: Readonly<Record<string, string>> = {
  '/samples/pytorch_model.bin': fileURLToPath(new URL('../../test/fixtures/torch/sample/pytorch_model.bin', import.meta.url)),
};

const MIME: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * What the page may do, said to the browser: its own scripts and styles only (no inline script, no
 * third-party code), connections to its own origin and to the http(s) URLs the user types (a model
 * read with range requests), downloads made from blobs, and nothing framed or posted anywhere.
 */
export const WEB_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; worker-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self' http: https:; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), payment=(), usb=()',
  'Cache-Control': 'no-cache',
};

export interface WebServerOptions {
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  /** The folder served (default WEB_ROOT). */
  root?: string;
}

export interface WebServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serves the page's static files with Node's http module: GET and HEAD of files inside `root` only,
 * with their MIME types and WEB_HEADERS. Requests naming another host than the one it was started
 * for are refused, so a web page elsewhere cannot reach it through a DNS name bound to 127.0.0.1.
 */
export async function startWebServer(options: WebServerOptions = {}): Promise<WebServer> {
  const root = path.resolve(options.root ?? WEB_ROOT);
  const host = options.host ?? DEFAULT_WEB_HOST;
  if (!fs.existsSync(path.join(root, 'index.html'))) {
    throw new IoError('NotFound', `${root} holds no index.html: the page is built by "npm run build" (scripts/build-web.js)`, { location: root });
  }
  const everywhere = host === '0.0.0.0' || host === '::';
  let allowedHosts: Set<string> | undefined = new Set<string>();
  const server = http.createServer((req, res) => {
    const hostHeader = (req.headers.host ?? '').toLowerCase();
    if (allowedHosts !== undefined && !allowedHosts.has(hostHeader)) {
      res.writeHead(421, { 'Content-Type': 'text/plain; charset=utf-8', ...WEB_HEADERS });
      res.end(`tensorsafe web answers requests for ${[...allowedHosts][0] ?? 'its own address'} only\n`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', ...WEB_HEADERS });
      res.end();
      return;
    }
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      res.writeHead(400, WEB_HEADERS);
      res.end();
      return;
    }
    const extra = Object.hasOwn(WEB_EXTRA_FILES, pathname) ? WEB_EXTRA_FILES[pathname] : undefined;
    const file = extra ?? path.resolve(root, `.${pathname.endsWith('/') ? `${pathname}index.html` : pathname}`);
    const inside = extra === undefined ? path.relative(root, file) : '';
    let stat: fs.Stats | undefined;
    try {
      stat = inside.startsWith('..') || path.isAbsolute(inside) || pathname.includes('\0') ? undefined : fs.statSync(file);
    } catch {
      stat = undefined;
    }
    if (stat === undefined || !stat.isFile()) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', ...WEB_HEADERS });
      res.end('not found\n');
      return;
    }
    res.writeHead(200, { 'Content-Type': MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream', 'Content-Length': String(stat.size), ...WEB_HEADERS });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    fs.createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'EADDRINUSE'
          ? new IoError('IoError', `port ${options.port ?? DEFAULT_WEB_PORT} on ${host} is in use; choose another with --port (0 picks a free one)`, { location: `${host}:${options.port ?? DEFAULT_WEB_PORT}` })
          : new IoError('IoError', `cannot listen on ${host}:${options.port ?? DEFAULT_WEB_PORT}: ${e.message}`, { location: host, cause: e }),
      ),
    );
    server.listen(options.port ?? DEFAULT_WEB_PORT, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const shown = host.includes(':') ? `[${host}]` : host;
  // Bound to every interface, it answers whatever name reaches it (the user chose to expose it).
  allowedHosts = everywhere ? undefined : new Set([`${shown}:${port}`, `localhost:${port}`]);
  return {
    url: `http://${everywhere ? '127.0.0.1' : shown}:${port}/`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
