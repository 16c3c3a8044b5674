/**
 * `tensorsafe web`'s server (src/node/web-server.ts, src/cli/web.ts): the page's files with their MIME
 * types and security headers, nothing outside its folder (whatever the encoding of `..`), only
 * requests for its own host name (a DNS name rebound to 127.0.0.1 gets 421), HEAD, `--port 0`, a
 * clear error for a port in use; and the command itself, run as a child process, printing its URL,
 * serving the page and freeing its port on Ctrl-C.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebServer, WEB_HEADERS, type WebServer } from '../src/node/web-server.js';
import { runCli } from './helpers/cli.js';
import { ROOT } from './helpers/paths.js';
import { tempDir } from './helpers/temp.js';

/** One raw request (no URL normalization by a client: the path is sent as written). */
function request(port: number, rawPath: string, options: { method?: string; host?: string } = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: rawPath, method: options.method ?? 'GET', headers: { host: options.host ?? `127.0.0.1:${port}` }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

describe('tensorsafe web: the server', () => {
  // A served folder with a secret beside it: every way of writing `..` must stay inside `www`.
  const dir = tempDir('web-server');
  const www = path.join(dir, 'www');
  let server: WebServer;
  beforeAll(async () => {
    mkdirSync(path.join(www, 'chunks'), { recursive: true });
    writeFileSync(path.join(www, 'index.html'), '<!doctype html><title>t</title>');
    writeFileSync(path.join(www, 'app.js'), 'export {};');
    writeFileSync(path.join(www, 'style.css'), 'body{}');
    writeFileSync(path.join(www, 'chunks', 'a.js'), 'export {};');
    writeFileSync(path.join(www, 'data.bin'), 'x');
    writeFileSync(path.join(dir, 'secret.txt'), 'SECRET');
    server = await startWebServer({ port: 0, root: www });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('--port 0 picks a free port on 127.0.0.1', () => {
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/`);
  });

  it.each([
    ['/', 'text/html; charset=utf-8'],
    ['/index.html', 'text/html; charset=utf-8'],
    ['/app.js', 'text/javascript; charset=utf-8'],
    ['/chunks/a.js', 'text/javascript; charset=utf-8'],
    ['/style.css', 'text/css; charset=utf-8'],
    ['/data.bin', 'application/octet-stream'],
  ])('serves %s as %s, with every security header', async (p, type) => {
    const r = await request(server.port, p);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe(type);
    for (const [name, value] of Object.entries(WEB_HEADERS)) expect(r.headers[name.toLowerCase()]).toBe(value);
    expect(r.headers['content-security-policy']).toMatch(/script-src 'self';/);
    expect(r.headers['content-security-policy']).not.toMatch(/unsafe-inline|unsafe-eval/);
  });

  it('answers 404 for a file it does not have, with the security headers', async () => {
    const r = await request(server.port, '/nope.js');
    expect(r.status).toBe(404);
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.headers['content-security-policy']).toBe(WEB_HEADERS['Content-Security-Policy']);
  });

  it.each(['/../secret.txt', '/..%2fsecret.txt', '/%2e%2e/secret.txt', '/%2e%2e%2fsecret.txt', '/chunks/..%2f..%2fsecret.txt', '/chunks/%2e%2e%2f%2e%2e%2fsecret.txt', '/..%5csecret.txt', '/%2e%2e%5csecret.txt', `/${encodeURIComponent(path.join(dir, 'secret.txt'))}`, '//../secret.txt'])(
    'never serves a file outside its folder: %s',
    async (p) => {
      const r = await request(server.port, p);
      expect(r.status).toBe(404);
      expect(r.body).not.toContain('SECRET');
    },
  );

  it('refuses a NUL byte and a malformed escape', async () => {
    expect((await request(server.port, '/index.html%00.js')).status).toBe(404);
    expect((await request(server.port, '/%E0%A4%A')).status).toBe(400);
  });

  it('answers 421 to a request for another host name (DNS rebinding), and serves localhost', async () => {
    const r = await request(server.port, '/', { host: `evil.example:${server.port}` });
    expect(r.status).toBe(421);
    expect(r.body).not.toContain('<title>');
    expect((await request(server.port, '/', { host: `127.0.0.1:${server.port + 1}` })).status).toBe(421);
    expect((await request(server.port, '/', { host: `localhost:${server.port}` })).status).toBe(200);
  });

  it('answers HEAD with the headers and no body, and 405 to other methods', async () => {
    const head = await request(server.port, '/index.html', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String('<!doctype html><title>t</title>'.length));
    expect(head.body).toBe('');
    const post = await request(server.port, '/', { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
  });

  it('says a port in use is in use, and how to choose another', async () => {
    await expect(startWebServer({ port: server.port, root: www })).rejects.toMatchObject({ code: 'IoError', message: expect.stringMatching(new RegExp(`port ${server.port} on 127\\.0\\.0\\.1 is in use; choose another with --port \\(0 picks a free one\\)`)) });
  });

  it('says a folder without the page is not built', async () => {
    await expect(startWebServer({ port: 0, root: dir })).rejects.toMatchObject({ code: 'NotFound', message: expect.stringMatching(/npm run build/) });
  });
});

describe('tensorsafe web: the command', () => {
  it('--help says what it does and how to use it', async () => {
    const r = await runCli('web', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: tensorsafe web \[--port N\] \[--host ADDRESS\] \[--open\]/);
    expect(r.stdout).toMatch(/Nothing is uploaded/);
  });

  it('refuses a bad port and files as usage errors (exit 2)', async () => {
    expect((await runCli('web', '--port', 'x')).code).toBe(2);
    expect((await runCli('web', '--port', '70000')).code).toBe(2);
    expect((await runCli('web', 'model.safetensors')).code).toBe(2);
  });

  it('runs as a child process: prints its URL, serves the page, and on Ctrl-C (SIGINT) exits and frees its port', async () => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'tensorsafe.js'), 'web', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no URL printed in 20 s: ${out} ${err}`)), 20_000);
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /http:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(m[0]);
          }
        });
        child.once('exit', () => reject(new Error(`exited before printing its URL: ${out} ${err}`)));
      });
      const port = Number(new URL(url).port);
      const page = await fetch(`${url}index.html`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(await page.text()).toMatch(/<script type="module" src="[^"]*app\.js"/);
      expect(await canConnect(port)).toBe(true);
      child.kill('SIGINT');
      const { code, signal } = await exited;
      // Stopped by Ctrl-C, as every command is: 128 + SIGINT's number (src/node/interrupt.ts), not killed by the signal.
      expect(signal).toBeNull();
      expect(code).toBe(130);
      expect(await canConnect(port)).toBe(false);
      // Free: it can be bound again.
      const again = net.createServer();
      await new Promise<void>((resolve, reject) => {
        again.once('error', reject);
        again.listen(port, '127.0.0.1', () => resolve());
      });
      await new Promise((r) => again.close(r));
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }, 30_000);
});
