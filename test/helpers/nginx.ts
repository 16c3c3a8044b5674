/**
 * A real nginx (Debian package nginx-light) serving a directory on a free loopback port, for tests of
 * HTTP range reading against a production server. Everything nginx writes (config, pid, logs, temp
 * files) goes into a temporary directory removed by `stop()`.
 *
 * Served paths:
 * - `/<file>`: `rootDir/<file>` with nginx's defaults for static files: Range support, a strong
 *   `ETag: "<mtime hex>-<size hex>"`, `Last-Modified`, If-Match / If-Unmodified-Since answered with 412.
 * - `/noetag/<file>`: the same files with `etag off`, so only Last-Modified validates them.
 * - `/cors/<file>`: the same files for pages of another origin (CORS): `Access-Control-Allow-Origin: *`,
 *   the headers a range reader needs exposed (Content-Range, ETag, Last-Modified, Content-Length,
 *   Accept-Ranges), and preflight OPTIONS answered 204 allowing Range, If-Match, If-Unmodified-Since.
 * - `/cors-noexpose/<file>`: CORS allowed (origin and preflight) but no header exposed: a page reads
 *   neither Content-Range nor the validators (a misconfigured server).
 *
 * Access log lines (see `accessLog()`), one per request, header values JSON-escaped (empty when absent):
 *   `GET /model.safetensors 206 65536 range="bytes=0-65535" if_match="\"6b0493ed-300fa8\"" if_unmodified_since=""`
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export interface NginxServer {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:40123`. */
  url: string;
  /** Stops nginx and removes its temporary directory (not `rootDir`). */
  stop(): Promise<void>;
  /** The access log so far (format in the module comment). */
  accessLog(): string;
}

/** How long nginx may take to accept connections. */
const START_TIMEOUT_MS = 5_000;
/** How long nginx may take to exit after SIGTERM before it is killed. */
const STOP_TIMEOUT_MS = 5_000;
/** Attempts at a free port (another process may take the probed port before nginx binds it). */
const PORT_ATTEMPTS = 5;

/** The nginx binary: $TENSORSAFE_NGINX, /usr/sbin/nginx, or `nginx` on the PATH; undefined when absent. */
export function findNginx(): string | undefined {
  const candidates = [process.env.TENSORSAFE_NGINX, '/usr/sbin/nginx', ...(process.env.PATH ?? '').split(path.delimiter).map((d) => d && path.join(d, 'nginx'))];
  return candidates.find((c): c is string => !!c && existsSync(c));
}

export const NGINX_MISSING_MESSAGE =
  'nginx not found (looked at $TENSORSAFE_NGINX, /usr/sbin/nginx and the PATH): install the Debian package nginx-light ' +
  '(apt-get install nginx-light), or set TENSORSAFE_SKIP_NGINX=1 to skip the nginx tests';

/** Starts nginx serving `rootDir`; resolves once it accepts connections. */
export async function startNginx(rootDir: string): Promise<NginxServer> {
  const binary = findNginx();
  if (!binary) throw new Error(NGINX_MISSING_MESSAGE);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tensorsafe-nginx-'));
  let lastError: unknown;
  for (let i = 0; i < PORT_ATTEMPTS; i++) {
    const port = await freePort();
    try {
      return await launch(binary, dir, path.resolve(rootDir), port);
    } catch (e) {
      lastError = e;
      if (!/Address already in use/i.test(String((e as Error).message))) break;
    }
  }
  rmSync(dir, { recursive: true, force: true });
  throw lastError;
}

async function launch(binary: string, dir: string, root: string, port: number): Promise<NginxServer> {
  const conf = path.join(dir, 'nginx.conf');
  const errorLog = path.join(dir, 'error.log');
  const accessLog = path.join(dir, 'access.log');
  const q = (p: string): string => JSON.stringify(p); // nginx accepts double-quoted paths
  // As root, nginx would run its worker as `nobody`, which cannot read the 0700 temp directories.
  const user = process.getuid?.() === 0 ? 'user root;\n' : '';
  writeFileSync(
    conf,
    `${user}daemon off;
worker_processes 1;
pid ${q(path.join(dir, 'nginx.pid'))};
error_log ${q(errorLog)} info;
events { worker_connections 64; }
http {
  default_type application/octet-stream;
  log_format tensorsafe escape=json '$request_method $request_uri $status $body_bytes_sent range="$http_range" if_match="$http_if_match" if_unmodified_since="$http_if_unmodified_since"';
  access_log ${q(accessLog)} tensorsafe;
  client_body_temp_path ${q(path.join(dir, 'client_body'))};
  proxy_temp_path ${q(path.join(dir, 'proxy'))};
  fastcgi_temp_path ${q(path.join(dir, 'fastcgi'))};
  uwsgi_temp_path ${q(path.join(dir, 'uwsgi'))};
  scgi_temp_path ${q(path.join(dir, 'scgi'))};
  server {
    listen 127.0.0.1:${port};
    root ${q(root)};
    location /noetag/ {
      alias ${q(root + '/')};
      etag off;
    }
    location /cors/ {
      alias ${q(root + '/')};
      if ($request_method = OPTIONS) {
        add_header Access-Control-Allow-Origin * always;
        add_header Access-Control-Allow-Methods "GET, HEAD, OPTIONS" always;
        add_header Access-Control-Allow-Headers "Range, If-Match, If-Unmodified-Since" always;
        add_header Access-Control-Max-Age 600 always;
        return 204;
      }
      add_header Access-Control-Allow-Origin * always;
      add_header Access-Control-Expose-Headers "Content-Range, ETag, Last-Modified, Content-Length, Accept-Ranges" always;
    }
    location /cors-noexpose/ {
      alias ${q(root + '/')};
      if ($request_method = OPTIONS) {
        add_header Access-Control-Allow-Origin * always;
        add_header Access-Control-Allow-Methods "GET, HEAD, OPTIONS" always;
        add_header Access-Control-Allow-Headers "Range, If-Match, If-Unmodified-Since" always;
        return 204;
      }
      add_header Access-Control-Allow-Origin * always;
    }
  }
}
`,
  );
  writeFileSync(accessLog, '');
  // -e: the error log from the very start (before the config is read), -p: the prefix for relative paths.
  const child = spawn(binary, ['-p', dir, '-e', errorLog, '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.once('error', (e) => (output += String(e)));

  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const state = await Promise.race([exited.then(() => 'exited' as const), canConnect(port).then((ok) => (ok ? ('up' as const) : ('down' as const)))]);
    if (state === 'up') break;
    if (state === 'exited' || Date.now() > deadline) {
      await kill(child, exited);
      const log = existsSync(errorLog) ? readFileSync(errorLog, 'utf8') : '';
      throw new Error(`nginx did not start on 127.0.0.1:${port}: ${(output + log).trim() || 'no output'}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }

  let stopped = false;
  return {
    url: `http://127.0.0.1:${port}`,
    accessLog: () => readFileSync(accessLog, 'utf8'),
    async stop() {
      if (stopped) return;
      stopped = true;
      await kill(child, exited);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function kill(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}
