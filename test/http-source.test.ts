import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { equalBytes, rejection } from './helpers/assertions.js';
import {
  DEFAULT_PREFETCH_BYTES,
  HTTP_COALESCE_GAP,
  HttpSource,
  MAX_RETRY_AFTER_MS,
  MAX_UNSIZED_BODY_BYTES,
  parseRetryAfter,
  redactUrl,
  type FetchLike,
  type HttpSourceOptions,
} from '../src/io/http-source.js';

// ---- content ----------------------------------------------------------------------------------

interface Content {
  size: number;
  slice(start: number, end: number): Uint8Array;
}

/** Deterministic pseudo-random bytes, computed on demand (a "file" of any size costs no memory). */
function patternByte(i: number): number {
  let x = (i ^ 0x9e3779b9) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0;
  return (x ^ (x >>> 16)) & 0xff;
}

function patternContent(size: number): Content {
  return {
    size,
    slice(start, end) {
      const out = new Uint8Array(end - start);
      for (let i = 0; i < out.length; i++) out[i] = patternByte(start + i);
      return out;
    },
  };
}

function bufferContent(bytes: Uint8Array): Content {
  return { size: bytes.byteLength, slice: (start, end) => bytes.subarray(start, end) };
}

function patternBytes(size: number): Uint8Array {
  return patternContent(size).slice(0, size);
}

// ---- the in-process range server --------------------------------------------------------------

type Fault =
  | { kind: 'status'; status: number; headers?: Record<string, string>; body?: string }
  | { kind: 'truncate'; after: number } // send `after` body bytes, then close the connection
  | { kind: 'hang' } // never answer
  | { kind: 'stall'; after: number } // send headers and `after` body bytes, then nothing
  | { kind: 'slow'; chunk: number; intervalMs: number }; // send the body in small chunks with pauses

interface LoggedRequest {
  range: string | undefined;
  ifMatch: string | undefined;
  ifUnmodifiedSince: string | undefined;
  acceptEncoding: string | undefined;
  authorization: string | undefined;
  url: string;
  status: number;
}

const WRITE_CHUNK = 64 * 1024;

class RangeServer {
  content: Content = bufferContent(new Uint8Array(0));
  etag: string | null = '"v1"';
  lastModified: string | null = 'Wed, 01 Jan 2025 00:00:00 GMT';
  ignoreRange = false;
  sendContentLength = true;
  honourPreconditions = true;
  contentEncoding: string | undefined;
  /** A 206 starting this many bytes before the asked offset (a superset of the range). */
  extendRange = 0;
  /** Caps the length of 206 ranges (servers that serve at most N bytes per request). */
  maxRangeLength: number | undefined;
  /** Bytes written after a 206's declared range (no Content-Length then). */
  extraBytes = 0;
  /** One-shot faults, one per request, in order; then `fault` for every request. */
  faults: Fault[] = [];
  fault: Fault | undefined;
  log: LoggedRequest[] = [];
  bytesWritten = 0;
  /** Settles when every response so far has closed (finished or cut). */
  private pending = new Set<Promise<void>>();
  private open = new Set<http.ServerResponse>();
  private server = http.createServer((req, res) => void this.handle(req, res));
  url = '';

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  reset(content: Content): void {
    // Cut responses still in flight (hung or stalled ones); idle keep-alive connections stay, as the client may reuse them.
    for (const res of this.open) res.socket?.destroy();
    this.open.clear();
    Object.assign(this, {
      content,
      etag: '"v1"',
      lastModified: 'Wed, 01 Jan 2025 00:00:00 GMT',
      ignoreRange: false,
      sendContentLength: true,
      honourPreconditions: true,
      contentEncoding: undefined,
      extendRange: 0,
      maxRangeLength: undefined,
      extraBytes: 0,
      faults: [],
      fault: undefined,
      log: [],
      bytesWritten: 0,
    });
    this.pending.clear();
  }

  /** Waits until every response so far has closed: proves that cut-short bodies were cancelled. */
  async allClosed(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let closed = false;
    this.open.add(res);
    this.pending.add(
      new Promise<void>((resolve) =>
        res.once('close', () => {
          closed = true;
          this.open.delete(res);
          resolve();
        }),
      ),
    );
    const entry: LoggedRequest = {
      range: req.headers.range,
      ifMatch: req.headers['if-match'],
      ifUnmodifiedSince: req.headers['if-unmodified-since'],
      acceptEncoding: req.headers['accept-encoding'],
      authorization: req.headers.authorization,
      url: req.url ?? '',
      status: 0,
    };
    this.log.push(entry);
    const fault = this.faults.shift() ?? this.fault;
    if (fault?.kind === 'hang') return;
    if (fault?.kind === 'status') {
      entry.status = fault.status;
      res.writeHead(fault.status, fault.headers);
      res.end(fault.body ?? `status ${fault.status}`);
      return;
    }
    const size = this.content.size;
    const headers: Record<string, string | number> = {};
    if (this.etag !== null) headers.etag = this.etag;
    if (this.lastModified !== null) headers['last-modified'] = this.lastModified;
    if (this.contentEncoding) headers['content-encoding'] = this.contentEncoding;
    if (this.honourPreconditions) {
      const ifMatch = req.headers['if-match'];
      const ius = req.headers['if-unmodified-since'];
      const failed =
        (ifMatch !== undefined && ifMatch !== this.etag) ||
        (ius !== undefined && this.lastModified !== null && Date.parse(this.lastModified) > Date.parse(ius));
      if (failed) {
        entry.status = 412;
        res.writeHead(412, headers).end();
        return;
      }
    }
    let start = 0;
    let end = size; // exclusive
    let status = 200;
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (m && !this.ignoreRange) {
      const first = Number(m[1]);
      const last = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
      if (first >= size) {
        entry.status = 416;
        res.writeHead(416, { ...headers, 'content-range': `bytes */${size}` }).end();
        return;
      }
      start = Math.max(0, first - this.extendRange);
      end = last + 1;
      if (this.maxRangeLength !== undefined) end = Math.min(end, start + this.maxRangeLength);
      status = 206;
      headers['content-range'] = `bytes ${start}-${end - 1}/${size}`;
      headers['accept-ranges'] = 'bytes';
      if (this.extraBytes === 0) headers['content-length'] = end - start;
    } else if (this.sendContentLength) {
      headers['content-length'] = size;
    }
    entry.status = status;
    res.writeHead(status, headers);
    const bodyEnd = status === 206 ? Math.min(size, end + this.extraBytes) : end;
    const limit = fault?.kind === 'truncate' || fault?.kind === 'stall' ? Math.min(bodyEnd, start + fault.after) : bodyEnd;
    const chunkSize = fault?.kind === 'slow' ? fault.chunk : WRITE_CHUNK;
    for (let pos = start; pos < limit && !closed; ) {
      const n = Math.min(chunkSize, limit - pos);
      const ok = res.write(this.content.slice(pos, pos + n));
      this.bytesWritten += n;
      pos += n;
      if (!ok) await drainedOrClosed(res);
      if (fault?.kind === 'slow') await new Promise((r) => setTimeout(r, fault.intervalMs));
    }
    if (closed) return;
    if (fault?.kind === 'truncate') res.socket?.end(); // FIN before the declared length: a premature close
    else if (fault?.kind !== 'stall') res.end();
  }
}

// ---- helpers ----------------------------------------------------------------------------------

/** Waits for 'drain' or 'close', and removes both listeners: a response that waits many times must not pile them up. */
function drainedOrClosed(res: http.ServerResponse): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}

const server = new RangeServer();
const FAST: HttpSourceOptions = { retryDelayMs: 1, timeoutMs: 2_000 };

beforeAll(() => server.start());
afterAll(() => server.stop());
afterEach(() => vi.useRealTimers());

function open(path = '/model.safetensors', options: HttpSourceOptions = {}): Promise<HttpSource> {
  return HttpSource.open(server.url + path, { ...FAST, ...options });
}


/** A fetch returning canned responses in order (hermetic, no sockets). */
function fakeFetch(responses: (() => Response)[]): FetchLike & { calls: RequestInit[] } {
  const calls: RequestInit[] = [];
  const f = (async (_url: string, init: RequestInit) => {
    calls.push(init);
    const next = responses.shift();
    if (!next) throw new Error('no more canned responses');
    return next();
  }) as FetchLike & { calls: RequestInit[] };
  f.calls = calls;
  return f;
}

// ---- tests ------------------------------------------------------------------------------------

describe('HttpSource: open and the prefetch cache', () => {
  it('opens a small file with exactly one request and serves header reads from the cache', async () => {
    const bytes = patternBytes(1000);
    server.reset(bufferContent(bytes));
    const src = await open();
    expect(src.size).toBe(1000);
    expect(src.stats).toEqual({ requests: 1, bytesReceived: 1000 });
    expect(server.log[0]?.range).toBe(`bytes=0-${DEFAULT_PREFETCH_BYTES - 1}`);
    expect(server.log[0]?.acceptEncoding).toBe('identity'); // added by fetch itself for ranged requests
    expect(src.etag).toBe('"v1"');
    expect(src.rangeSupported).toBe(true);
    expect(src.coalesceGap).toBe(HTTP_COALESCE_GAP);
    equalBytes(await src.read(0, 8), bytes.subarray(0, 8));
    equalBytes(await src.read(8, 992), bytes.subarray(8));
    expect(src.stats.requests).toBe(1);
  });

  it('returns fresh, aligned copies from the cache', async () => {
    server.reset(bufferContent(patternBytes(1000)));
    const src = await open();
    const a = await src.read(3, 16);
    expect(a.byteOffset).toBe(0);
    a.fill(0);
    expect(await src.read(3, 16)).not.toEqual(a);
  });

  it('reads a 1 MB slice of a 10 MB file with one more request of ~1 MB', async () => {
    const bytes = patternBytes(10 * 1024 * 1024);
    server.reset(bufferContent(bytes));
    const src = await open();
    expect(src.size).toBe(bytes.byteLength);
    expect(src.stats).toEqual({ requests: 1, bytesReceived: DEFAULT_PREFETCH_BYTES });
    const offset = 5 * 1024 * 1024 + 123;
    const length = 1024 * 1024;
    equalBytes(await src.read(offset, length), bytes.subarray(offset, offset + length));
    expect(src.stats).toEqual({ requests: 2, bytesReceived: DEFAULT_PREFETCH_BYTES + length });
    expect(server.log[1]).toMatchObject({ range: `bytes=${offset}-${offset + length - 1}`, ifMatch: '"v1"', ifUnmodifiedSince: undefined });
  });

  it('costs two requests in all for a header larger than the prefetch, fetching only the missing part', async () => {
    const bytes = patternBytes(1024 * 1024);
    server.reset(bufferContent(bytes));
    const src = await open();
    await src.read(0, 8);
    const header = await src.read(8, 100_000);
    equalBytes(header, bytes.subarray(8, 100_008));
    expect(src.stats.requests).toBe(2);
    expect(server.log[1]?.range).toBe(`bytes=${DEFAULT_PREFETCH_BYTES}-100007`);
  });

  it('is exact at the prefetch boundary (headers of prefetch-8 ± a few bytes)', async () => {
    const bytes = patternBytes(200_000);
    server.reset(bufferContent(bytes));
    for (let n = DEFAULT_PREFETCH_BYTES - 12; n <= DEFAULT_PREFETCH_BYTES - 4; n++) {
      const src = await open();
      await src.read(0, 8);
      equalBytes(await src.read(8, n), bytes.subarray(8, 8 + n));
      expect(src.stats.requests).toBe(8 + n <= DEFAULT_PREFETCH_BYTES ? 1 : 2);
    }
  });

  it('honours prefetchBytes', async () => {
    server.reset(bufferContent(patternBytes(10_000)));
    const src = await open('/x', { prefetchBytes: 100 });
    expect(server.log[0]?.range).toBe('bytes=0-99');
    expect(src.stats.bytesReceived).toBe(100);
    await src.read(50, 50);
    expect(src.stats.requests).toBe(1);
    await src.read(50, 51);
    expect(src.stats.requests).toBe(2);
    expect(server.log[1]?.range).toBe('bytes=100-100');
  });

  it('makes no request for zero-length reads and rejects reads out of range', async () => {
    server.reset(bufferContent(patternBytes(200_000)));
    const src = await open();
    expect((await src.read(150_000, 0)).byteLength).toBe(0);
    expect((await src.read(200_000, 0)).byteLength).toBe(0);
    expect((await rejection(src.read(199_999, 2))).code).toBe('OutOfRange');
    expect((await rejection(src.read(-1, 1))).code).toBe('OutOfRange');
    expect(src.stats.requests).toBe(1);
  });

  it('serves concurrent reads independently', async () => {
    const bytes = patternBytes(3 * 1024 * 1024);
    server.reset(bufferContent(bytes));
    const src = await open();
    const spans = [100_000, 900_000, 1_500_000, 2_000_000, 3_000_000].map((o, i) => [o, 1000 * (i + 1)] as const);
    const results = await Promise.all(spans.map(([o, l]) => src.read(o, l)));
    spans.forEach(([o, l], i) => equalBytes(results[i] as Uint8Array, bytes.subarray(o, o + l)));
    expect(src.stats.requests).toBe(1 + spans.length);
  });

  it('names the source without credentials or query values, and sends the credentials as Basic auth', async () => {
    server.reset(bufferContent(patternBytes(100)));
    const url = server.url.replace('http://', 'http://alice:s%C3%A9cret@') + '/m.safetensors?X-Amz-Signature=abc&download=1#frag';
    const src = await HttpSource.open(url, FAST);
    expect(src.name).toBe(`${server.url}/m.safetensors?X-Amz-Signature=…&download=…`);
    expect(server.log[0]?.authorization).toBe(`Basic ${Buffer.from('alice:sécret').toString('base64')}`);
    expect(server.log[0]?.url).toBe('/m.safetensors?X-Amz-Signature=abc&download=1');
    expect(redactUrl(new URL('https://u:p@h.example/a/b'))).toBe('https://h.example/a/b');
  });

  it('sends extra headers and uses a custom fetch', async () => {
    server.reset(bufferContent(patternBytes(100)));
    let used = 0;
    const custom: FetchLike = (u, init) => (used++, fetch(u, init));
    await open('/x', { fetch: custom, headers: { Authorization: 'Bearer t0ken' } });
    expect(used).toBe(1);
    expect(server.log[0]?.authorization).toBe('Bearer t0ken');
  });

  it('rejects invalid options and URLs', async () => {
    expect((await rejection(open('/x', { prefetchBytes: 0 }))).code).toBe('IoError');
    expect((await rejection(open('/x', { retries: 1000 }))).code).toBe('IoError');
    expect((await rejection(HttpSource.open('ftp://example.com/x'))).code).toBe('IoError');
    expect((await rejection(HttpSource.open('not a url'))).code).toBe('IoError');
  });

  it('fails reads after close', async () => {
    server.reset(bufferContent(patternBytes(100_000)));
    const src = await open();
    await src.close();
    expect((await rejection(src.read(0, 8))).message).toMatch(/closed/);
  });
});

describe('HttpSource: small, empty and odd answers', () => {
  it('accepts a 200 with the whole body for a file smaller than the prefetch', async () => {
    const bytes = patternBytes(5000);
    server.reset(bufferContent(bytes));
    server.ignoreRange = true;
    const src = await open();
    expect(src.size).toBe(5000);
    expect(src.rangeSupported).toBe(false);
    expect(src.stats).toEqual({ requests: 1, bytesReceived: 5000 });
    equalBytes(await src.read(100, 4900), bytes.subarray(100));
    expect(src.stats.requests).toBe(1);
  });

  it('treats a first 416 with "bytes */0" as an empty file', async () => {
    server.reset(bufferContent(new Uint8Array(0)));
    server.faults = [{ kind: 'status', status: 416, headers: { 'content-range': 'bytes */0' } }];
    const src = await open();
    expect(src.size).toBe(0);
    expect((await src.read(0, 0)).byteLength).toBe(0);
    expect((await rejection(src.read(0, 1))).code).toBe('OutOfRange');
    expect(src.stats.requests).toBe(1);
  });

  it('treats a first 200 with Content-Length: 0 as an empty file (nginx)', async () => {
    server.reset(bufferContent(new Uint8Array(0)));
    const src = await open();
    expect(src.size).toBe(0);
  });

  it('rejects a first 416 that does not announce an empty file', async () => {
    server.reset(bufferContent(patternBytes(10)));
    server.faults = [{ kind: 'status', status: 416, headers: { 'content-range': 'bytes */1000' } }];
    expect((await rejection(open())).code).toBe('RangeNotSatisfiable');
    server.faults = [{ kind: 'status', status: 416 }];
    expect((await rejection(open())).code).toBe('RangeNotSatisfiable');
  });

  it('rejects unusable Content-Range and compressed bodies', async () => {
    server.reset(bufferContent(patternBytes(100)));
    server.faults = [{ kind: 'status', status: 206, headers: { 'content-range': 'bytes 0-9/*' }, body: '0123456789' }];
    expect((await rejection(open())).code).toBe('InvalidResponse');
    server.faults = [{ kind: 'status', status: 206, body: '0123456789' }];
    expect((await rejection(open())).message).toMatch(/Access-Control-Expose-Headers/);
    server.contentEncoding = 'gzip';
    expect((await rejection(open())).code).toBe('InvalidResponse');
  });

  it('uses only the asked bytes of a 206 for a larger range', async () => {
    const bytes = patternBytes(500_000);
    server.reset(bufferContent(bytes));
    const src = await open();
    server.extendRange = 1000;
    equalBytes(await src.read(300_000, 5000), bytes.subarray(300_000, 305_000));
    expect(server.log[1]?.status).toBe(206);
    expect(src.stats.requests).toBe(2);
  });

  it('ignores bytes sent beyond the declared Content-Range', async () => {
    const bytes = patternBytes(500_000);
    server.reset(bufferContent(bytes));
    server.extraBytes = 10_000;
    const src = await open();
    equalBytes(await src.read(300_000, 5000), bytes.subarray(300_000, 305_000));
    equalBytes(await src.read(0, 1000), bytes.subarray(0, 1000));
  });

  it('continues a 206 for a shorter range than asked', async () => {
    const bytes = patternBytes(2 * 1024 * 1024);
    server.reset(bufferContent(bytes));
    server.maxRangeLength = 256 * 1024;
    const src = await open();
    equalBytes(await src.read(100_000, 1024 * 1024), bytes.subarray(100_000, 100_000 + 1024 * 1024));
    expect(src.stats.requests).toBe(1 + 4);
  });
});

describe('HttpSource: servers that ignore Range', () => {
  it('reads correct bytes from a 200 while discarding the prefix and cancelling the body', async () => {
    const size = 256 * 1024 * 1024; // never materialised: the server computes bytes as it writes them
    const content = patternContent(size);
    server.reset(content);
    server.ignoreRange = true;
    const src = await open();
    expect(src.size).toBe(size);
    expect(src.rangeSupported).toBe(false);
    expect(src.stats.requests).toBe(1);
    expect(src.stats.bytesReceived).toBeLessThan(DEFAULT_PREFETCH_BYTES + 2 * WRITE_CHUNK);
    const offset = 3 * 1024 * 1024 + 7;
    const length = 1024 * 1024;
    equalBytes(await src.read(offset, length), content.slice(offset, offset + length));
    expect(src.stats.requests).toBe(2);
    // What was read: the prefix up to the slice's end, plus at most a chunk or two.
    expect(src.stats.bytesReceived).toBeLessThan(DEFAULT_PREFETCH_BYTES + offset + length + 4 * WRITE_CHUNK);
    // Both bodies were cancelled: the server's responses closed long before 256 MiB were written.
    await server.allClosed();
    expect(server.bytesWritten).toBeLessThan(64 * 1024 * 1024);
  }, 5_000);

  it('learns the size by reading a 200 without Content-Length to the end', async () => {
    const bytes = patternBytes(300_000);
    server.reset(bufferContent(bytes));
    server.ignoreRange = true;
    server.sendContentLength = false;
    const src = await open();
    expect(src.size).toBe(300_000);
    expect(src.stats.bytesReceived).toBe(300_000);
    equalBytes(await src.read(0, 8), bytes.subarray(0, 8));
    expect(src.stats.requests).toBe(1);
    equalBytes(await src.read(200_000, 1000), bytes.subarray(200_000, 201_000));
    expect(src.stats.requests).toBe(2);
  });

  it(`gives up learning the size past MAX_UNSIZED_BODY_BYTES`, async () => {
    const chunk = new Uint8Array(4 * 1024 * 1024);
    let sent = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(c) {
        sent += chunk.byteLength;
        c.enqueue(chunk);
      },
    });
    const f = fakeFetch([() => new Response(endless, { status: 200 })]);
    const e = await rejection(HttpSource.open('http://fake.test/x', { fetch: f }));
    expect(e.code).toBe('InvalidResponse');
    expect(sent).toBeLessThan(MAX_UNSIZED_BODY_BYTES + 4 * chunk.byteLength);
  });
});

describe('HttpSource: changed files', () => {
  it('sends If-Match and reports a 412 as SourceChanged', async () => {
    server.reset(bufferContent(patternBytes(500_000)));
    const src = await open();
    server.etag = '"v2"';
    const e = await rejection(src.read(100_000, 1000));
    expect(e.code).toBe('SourceChanged');
    expect(server.log[1]).toMatchObject({ ifMatch: '"v1"', status: 412 });
    expect(src.stats.requests).toBe(2); // never retried
  });

  it('compares the ETag of every answer even when the server ignores If-Match', async () => {
    server.reset(bufferContent(patternBytes(500_000)));
    server.honourPreconditions = false;
    const src = await open();
    server.etag = '"v2"';
    expect((await rejection(src.read(100_000, 1000))).code).toBe('SourceChanged');
    server.etag = null;
    expect((await rejection(src.read(100_000, 1000))).message).toMatch(/ETag is now absent/);
  });

  it('compares the total size of every answer', async () => {
    server.reset(bufferContent(patternBytes(500_000)));
    server.honourPreconditions = false;
    const src = await open();
    server.content = bufferContent(patternBytes(600_000));
    const e = await rejection(src.read(100_000, 1000));
    expect(e.code).toBe('SourceChanged');
    expect(e.message).toMatch(/600000/);
  });

  it('uses If-Unmodified-Since and compares Last-Modified when there is no ETag', async () => {
    server.reset(bufferContent(patternBytes(500_000)));
    server.etag = null;
    const src = await open();
    expect(src.etag).toBeUndefined();
    await src.read(100_000, 10);
    expect(server.log[1]).toMatchObject({ ifMatch: undefined, ifUnmodifiedSince: 'Wed, 01 Jan 2025 00:00:00 GMT', status: 206 });
    server.lastModified = 'Thu, 02 Jan 2025 00:00:00 GMT';
    expect((await rejection(src.read(100_000, 10))).code).toBe('SourceChanged');
    expect(server.log[2]?.status).toBe(412);
    server.honourPreconditions = false;
    expect((await rejection(src.read(100_000, 10))).message).toMatch(/Last-Modified/);
  });

  it('never sends If-Match with a weak ETag, but still compares it', async () => {
    server.reset(bufferContent(patternBytes(500_000)));
    server.etag = 'W/"w1"';
    const src = await open();
    await src.read(100_000, 10);
    expect(server.log[1]).toMatchObject({ ifMatch: undefined, ifUnmodifiedSince: 'Wed, 01 Jan 2025 00:00:00 GMT' });
    server.etag = 'W/"w2"';
    expect((await rejection(src.read(100_000, 10))).code).toBe('SourceChanged');
  });

  it('reports a later 416 as RangeNotSatisfiable without retrying', async () => {
    server.reset(bufferContent(patternBytes(500_000)));
    server.honourPreconditions = false;
    const src = await open();
    server.content = bufferContent(patternBytes(200_000));
    server.extendRange = 0;
    // Same ETag, shorter file: the size check cannot see it before the server answers 416.
    const e = await rejection(src.read(300_000, 1000));
    expect(e.code).toBe('RangeNotSatisfiable');
    expect(src.stats.requests).toBe(2);
  });
});

describe('HttpSource: retries, truncation, timeouts', () => {
  it('retries a truncated body, asking only for the missing bytes', async () => {
    const bytes = patternBytes(4 * 1024 * 1024);
    server.reset(bufferContent(bytes));
    const src = await open();
    server.faults = [{ kind: 'truncate', after: 300_000 }];
    const offset = 1_000_000;
    const length = 1024 * 1024;
    equalBytes(await src.read(offset, length), bytes.subarray(offset, offset + length));
    expect(src.stats.requests).toBe(3);
    const resumedAt = Number(/^bytes=(\d+)-/.exec(server.log[2]?.range ?? '')?.[1]);
    expect(resumedAt).toBeGreaterThan(offset);
    expect(resumedAt).toBeLessThanOrEqual(offset + 300_000);
    expect(src.stats.bytesReceived).toBeLessThanOrEqual(DEFAULT_PREFETCH_BYTES + length);
  });

  it('retries a truncated first answer', async () => {
    const bytes = patternBytes(1024 * 1024);
    server.reset(bufferContent(bytes));
    server.faults = [{ kind: 'truncate', after: 1000 }];
    const src = await open();
    expect(src.stats.requests).toBe(2);
    equalBytes(await src.read(0, 60_000), bytes.subarray(0, 60_000));
  });

  it('gives up with TruncatedResponse after the retries', async () => {
    server.reset(bufferContent(patternBytes(4 * 1024 * 1024)));
    const src = await open('/x', { retries: 2 });
    server.fault = { kind: 'truncate', after: 1000 };
    const e = await rejection(src.read(1_000_000, 100_000));
    expect(e.code).toBe('TruncatedResponse');
    expect(e.message).toMatch(/gave up after 3 attempts/);
    expect(src.stats.requests).toBe(1 + 3);
  });

  it('retries a 503, then succeeds', async () => {
    const bytes = patternBytes(1000);
    server.reset(bufferContent(bytes));
    server.faults = [{ kind: 'status', status: 503 }, { kind: 'status', status: 429 }];
    const src = await open();
    expect(src.stats.requests).toBe(3);
    equalBytes(await src.read(0, 1000), bytes);
  });

  it('gives up with HttpError after the retries, naming status and URL', async () => {
    server.reset(bufferContent(patternBytes(1000)));
    server.fault = { kind: 'status', status: 503 };
    const e = await rejection(open('/shard-1.safetensors', { retries: 2 }));
    expect(e.code).toBe('HttpError');
    expect(e.message).toContain('HTTP 503 Service Unavailable');
    expect(e.message).toContain(`${server.url}/shard-1.safetensors`);
    expect(server.log).toHaveLength(3);
  });

  it('honours Retry-After', async () => {
    server.reset(bufferContent(patternBytes(1000)));
    server.faults = [{ kind: 'status', status: 503, headers: { 'retry-after': '1' } }];
    const t0 = performance.now();
    await open();
    expect(performance.now() - t0).toBeGreaterThanOrEqual(950);
    expect(server.log).toHaveLength(2);
  });

  it('caps Retry-After at MAX_RETRY_AFTER_MS', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const f = fakeFetch([
      () => new Response('busy', { status: 503, headers: { 'retry-after': '86400' } }),
      () => new Response(new Uint8Array(10), { status: 206, headers: { 'content-range': 'bytes 0-9/10' } }),
    ]);
    const opening = HttpSource.open('http://fake.test/x', { fetch: f, retryDelayMs: 1 });
    await vi.advanceTimersByTimeAsync(MAX_RETRY_AFTER_MS - 100);
    expect(f.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(200);
    expect(f.calls).toHaveLength(2);
    expect((await opening).size).toBe(10);
  });

  it('parses Retry-After as seconds or a date', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
    const now = Date.parse('Wed, 01 Jan 2025 00:00:00 GMT');
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Tue, 31 Dec 2024 00:00:00 GMT', now)).toBe(0);
  });

  it('does not retry 404 and 403', async () => {
    server.reset(bufferContent(patternBytes(100_000)));
    server.faults = [{ kind: 'status', status: 404, body: 'Not Found' }];
    const e = await rejection(open('/missing.safetensors'));
    expect(e.code).toBe('HttpError');
    expect(e.message).toContain('HTTP 404');
    expect(e.message).toContain(`${server.url}/missing.safetensors`);
    expect(server.log).toHaveLength(1);
    const src = await open();
    server.faults = [{ kind: 'status', status: 403 }];
    expect((await rejection(src.read(90_000, 10))).message).toContain('HTTP 403');
    expect(src.stats.requests).toBe(2);
  });

  it('times out a hanging response, retries, then reports Timeout', async () => {
    server.reset(bufferContent(patternBytes(1000)));
    server.fault = { kind: 'hang' };
    const t0 = performance.now();
    const e = await rejection(open('/x', { timeoutMs: 100, retries: 1 }));
    expect(e.code).toBe('Timeout');
    expect(server.log).toHaveLength(2);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(190);
  });

  it('times out a body that stalls', async () => {
    server.reset(bufferContent(patternBytes(1024 * 1024)));
    const src = await open('/x', { timeoutMs: 150, retries: 0 });
    server.fault = { kind: 'stall', after: 1000 };
    const e = await rejection(src.read(500_000, 100_000));
    expect(e.code).toBe('Timeout');
    expect(e.message).toMatch(/no body bytes/);
  });

  it('does not time out a slow body that keeps making progress', async () => {
    const bytes = patternBytes(1024 * 1024);
    server.reset(bufferContent(bytes));
    // The body takes 32 gaps of 50 ms (1.6 s, four times the timeout); each gap is an eighth of it, so a
    // loaded machine's scheduling delays cannot pass for a stall.
    const src = await open('/x', { timeoutMs: 400, retries: 0 });
    server.faults = [{ kind: 'slow', chunk: 16 * 1024, intervalMs: 50 }];
    const t0 = performance.now();
    equalBytes(await src.read(400_000, 512 * 1024), bytes.subarray(400_000, 400_000 + 512 * 1024));
    expect(performance.now() - t0).toBeGreaterThan(400);
  });

  it('stops at once, without retrying, when the caller aborts', async () => {
    server.reset(bufferContent(patternBytes(1000)));
    server.fault = { kind: 'hang' };
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const t0 = performance.now();
    const e = await rejection(open('/x', { signal: controller.signal, timeoutMs: 5_000 }));
    expect(e.code).toBe('Aborted');
    expect(performance.now() - t0).toBeLessThan(2_000);
    expect(server.log).toHaveLength(1);
  });

  it('honours per-read signals and already-aborted signals', async () => {
    server.reset(bufferContent(patternBytes(1024 * 1024)));
    const src = await open();
    expect((await rejection(src.read(500_000, 10, { signal: AbortSignal.abort() }))).code).toBe('Aborted');
    expect((await rejection(src.read(0, 10, { signal: AbortSignal.abort() }))).code).toBe('Aborted'); // even from the cache
    expect(src.stats.requests).toBe(1);
    server.fault = { kind: 'hang' };
    const controller = new AbortController();
    const reading = src.read(500_000, 10, { signal: controller.signal });
    setTimeout(() => controller.abort(), 30);
    expect((await rejection(reading)).code).toBe('Aborted');
    expect(src.stats.requests).toBe(2);
  });

  it('retries network errors, then reports them', async () => {
    const probe = http.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const e = await rejection(HttpSource.open(`http://127.0.0.1:${port}/x`, { ...FAST, retries: 2 }));
    expect(e.code).toBe('IoError');
    expect(e.message).toMatch(/network error/);
    expect(e.message).toMatch(/gave up after 3 attempts/);
  });
});
