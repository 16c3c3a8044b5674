/**
 * HttpSource against a real nginx (Debian package nginx-light): Range, ETag and precondition
 * behaviour of a production static-file server. Fails when nginx is missing, unless
 * TENSORSAFE_SKIP_NGINX=1.
 */
import { mkdtempSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { equalBytes, rejection } from './helpers/assertions.js';
import { DEFAULT_PREFETCH_BYTES, HttpSource } from '../src/io/http-source.js';
import { findNginx, NGINX_MISSING_MESSAGE, startNginx, type NginxServer } from './helpers/nginx.js';

const SKIP = process.env.TENSORSAFE_SKIP_NGINX === '1';

/** Deterministic pseudo-random bytes (xorshift32). */
function randomBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** A safetensors-shaped file: 8-byte little-endian header length, a space-padded JSON header, data. */
function safetensorsLike(headerLength: number, dataLength: number, seed: number): Uint8Array {
  const json = new TextEncoder().encode(`{"__metadata__":{"seed":"${seed}"}}`.padEnd(headerLength, ' '));
  const out = new Uint8Array(8 + headerLength + dataLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.set(randomBytes(dataLength, seed), 8 + headerLength);
  return out;
}

/** Writes a new version of a file the way deployments do (temp file + rename), with a new mtime. */
function replaceFile(file: string, bytes: Uint8Array, mtimeSeconds: number): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, bytes);
  utimesSync(tmp, mtimeSeconds, mtimeSeconds);
  renameSync(tmp, file);
}

function logLines(nginx: NginxServer, uri: string): string[] {
  return nginx
    .accessLog()
    .split('\n')
    .filter((l) => l.startsWith(`GET ${uri} `));
}


describe.skipIf(SKIP)('HttpSource against nginx', () => {
  let root = '';
  let nginx: NginxServer | undefined;
  const model = safetensorsLike(4000, 3 * 1024 * 1024, 1); // header inside the prefetch
  const bigHeader = safetensorsLike(200_000, 512 * 1024, 2); // header beyond it
  const small = randomBytes(100, 3);
  const opts = { retries: 1, retryDelayMs: 1, timeoutMs: 5_000 };

  beforeAll(async () => {
    if (!findNginx()) throw new Error(NGINX_MISSING_MESSAGE);
    root = mkdtempSync(path.join(os.tmpdir(), 'tensorsafe-www-'));
    writeFileSync(path.join(root, 'model.safetensors'), model);
    writeFileSync(path.join(root, 'big-header.safetensors'), bigHeader);
    writeFileSync(path.join(root, 'small.bin'), small);
    writeFileSync(path.join(root, 'empty.bin'), new Uint8Array(0));
    nginx = await startNginx(root);
  });

  afterAll(async () => {
    await nginx?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const url = (p: string): string => `${(nginx as NginxServer).url}/${p}`;

  it('opens with one request and reads a header inside the prefetch without another', async () => {
    const src = await HttpSource.open(url('model.safetensors'), opts);
    expect(src.size).toBe(model.byteLength);
    expect(src.rangeSupported).toBe(true);
    const n = Number(new DataView((await src.read(0, 8)).buffer).getBigUint64(0, true));
    expect(n).toBe(4000);
    equalBytes(await src.read(8, n), model.subarray(8, 8 + n));
    expect(src.stats).toEqual({ requests: 1, bytesReceived: DEFAULT_PREFETCH_BYTES });
    const lines = logLines(nginx as NginxServer, '/model.safetensors');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`206 ${DEFAULT_PREFETCH_BYTES} range="bytes=0-${DEFAULT_PREFETCH_BYTES - 1}"`);
  });

  it('reads a header beyond the prefetch with exactly one more request', async () => {
    const src = await HttpSource.open(url('big-header.safetensors'), opts);
    const n = Number(new DataView((await src.read(0, 8)).buffer).getBigUint64(0, true));
    equalBytes(await src.read(8, n), bigHeader.subarray(8, 8 + n));
    expect(src.stats.requests).toBe(2);
    expect(logLines(nginx as NginxServer, '/big-header.safetensors').at(-1)).toContain(`range="bytes=${DEFAULT_PREFETCH_BYTES}-${8 + n - 1}"`);
  });

  it('pins the strong ETag and sends it as If-Match; random reads equal the file', async () => {
    const src = await HttpSource.open(url('model.safetensors'), opts);
    expect(src.etag).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/);
    expect(src.lastModified).toBeDefined();
    const rand = randomBytes(64, 99);
    const before = src.stats.requests;
    let expectedRequests = before;
    for (let i = 0; i < 32; i++) {
      const r = ((rand[2 * i] as number) << 8) | (rand[2 * i + 1] as number);
      const length = 1 + ((r * 37) % 300_000);
      const offset = Math.floor((r / 65536) * (model.byteLength - length));
      equalBytes(await src.read(offset, length), model.subarray(offset, offset + length));
      if (offset + length > DEFAULT_PREFETCH_BYTES) expectedRequests++;
    }
    expect(src.stats.requests).toBe(expectedRequests);
    const reads = logLines(nginx as NginxServer, '/model.safetensors').slice(-(expectedRequests - 1));
    const ifMatch = `if_match=${JSON.stringify(src.etag)}`; // nginx logs header values JSON-escaped
    for (const line of reads) {
      expect(line).toMatch(/^GET \/model.safetensors 206 \d+ range="bytes=\d+-\d+" /);
      expect(line).toContain(ifMatch);
    }
  });

  it('reads a 1 MB slice with one request of 1 MB', async () => {
    const src = await HttpSource.open(url('model.safetensors'), opts);
    const offset = 1_500_001;
    equalBytes(await src.read(offset, 1024 * 1024), model.subarray(offset, offset + 1024 * 1024));
    expect(src.stats).toEqual({ requests: 2, bytesReceived: DEFAULT_PREFETCH_BYTES + 1024 * 1024 });
  });

  it('opens a small file (a 206 shorter than the prefetch) and an empty one (200, Content-Length 0)', async () => {
    const s = await HttpSource.open(url('small.bin'), opts);
    expect(s.size).toBe(100);
    equalBytes(await s.read(0, 100), small);
    expect(s.stats.requests).toBe(1);
    const e = await HttpSource.open(url('empty.bin'), opts);
    expect(e.size).toBe(0);
    expect((await e.read(0, 0)).byteLength).toBe(0);
  });

  it('reports 404 as HttpError, without retrying', async () => {
    const e = await rejection(HttpSource.open(url('missing.safetensors'), opts));
    expect(e.code).toBe('HttpError');
    expect(e.message).toContain('HTTP 404');
    expect(e.message).toContain(url('missing.safetensors'));
    expect(logLines(nginx as NginxServer, '/missing.safetensors')).toHaveLength(1);
  });

  it('fails with SourceChanged, never mixed bytes, when the file is replaced mid-session', async () => {
    const file = path.join(root, 'replaced.safetensors');
    const v1 = safetensorsLike(1000, 2 * 1024 * 1024, 10);
    replaceFile(file, v1, 1_700_000_000);
    const src = await HttpSource.open(url('replaced.safetensors'), opts);
    equalBytes(await src.read(1_000_000, 1000), v1.subarray(1_000_000, 1_001_000));

    // A new version of another size: new ETag; nginx answers If-Match with 412.
    replaceFile(file, safetensorsLike(1000, 2 * 1024 * 1024 + 8, 11), 1_700_000_100);
    const e = await rejection(src.read(1_500_000, 1000));
    expect(e.code).toBe('SourceChanged');
    expect(logLines(nginx as NginxServer, '/replaced.safetensors').at(-1)).toMatch(/^GET \/replaced.safetensors 412 /);

    // Same size, new mtime: still a new ETag, still refused.
    const src2 = await HttpSource.open(url('replaced.safetensors'), opts);
    replaceFile(file, safetensorsLike(1000, 2 * 1024 * 1024 + 8, 12), 1_700_000_200);
    expect((await rejection(src2.read(1_500_000, 1000))).code).toBe('SourceChanged');
    // The failed reads were not retried.
    expect(src.stats.requests).toBe(3);
    expect(src2.stats.requests).toBe(2);
  });

  it('falls back to If-Unmodified-Since when nginx sends no ETag', async () => {
    const file = path.join(root, 'lm.safetensors');
    const v1 = safetensorsLike(1000, 1024 * 1024, 20);
    replaceFile(file, v1, 1_700_000_000);
    const src = await HttpSource.open(url('noetag/lm.safetensors'), opts);
    expect(src.etag).toBeUndefined();
    expect(src.lastModified).toBe(new Date(1_700_000_000_000).toUTCString());
    equalBytes(await src.read(500_000, 1000), v1.subarray(500_000, 501_000));
    expect(logLines(nginx as NginxServer, '/noetag/lm.safetensors').at(-1)).toContain(`if_unmodified_since="${src.lastModified}"`);
    replaceFile(file, safetensorsLike(1000, 1024 * 1024, 21), 1_700_000_100);
    expect((await rejection(src.read(500_000, 1000))).code).toBe('SourceChanged');
    expect(logLines(nginx as NginxServer, '/noetag/lm.safetensors').at(-1)).toMatch(/ 412 /);
  });
});
