/**
 * HTTP(S) range reads as a ByteSource. Browser-safe: only the global `fetch`, `AbortController`,
 * `Headers` and `Response` are used (or a `fetch` passed in).
 *
 * Protocol, in short:
 * - `open` makes one `GET` with `Range: bytes=0-(prefetchBytes-1)`. Its answer gives the size
 *   (`Content-Range` of a 206, `Content-Length` of a 200), the validators that are pinned for the
 *   source's lifetime (`ETag`, `Last-Modified`) and the first bytes, kept as a cache: a safetensors
 *   header inside the prefetch costs one request in all, a larger one two.
 * - every later read is one `GET` with `Range: bytes=a-b` and a precondition: `If-Match: <etag>` when
 *   a strong ETag is pinned, else `If-Unmodified-Since: <last-modified>` (nginx, Apache, S3 and most
 *   CDNs answer both with 412 when the file changed). Whatever the precondition does, every answer's
 *   ETag, Last-Modified and total size are compared with the pinned ones: a mismatch, or a 412, is
 *   IoError 'SourceChanged', so bytes of two versions of a file are never mixed.
 * - a 200 to a ranged request (the server ignores Range) is read as a stream: the bytes before the
 *   wanted offset are discarded, the wanted ones kept, and the body cancelled at once, so memory stays
 *   bounded by the read's length; `rangeSupported` becomes false.
 * - bytes beyond the asked range (a 206 for a larger range than asked, a body longer than its
 *   Content-Range) are never used: the wanted bytes are placed by the response's Content-Range, the
 *   rest is discarded and the body cancelled. A 206 for a *shorter* range than asked (servers that cap
 *   range sizes) is continued with a request for the rest, at most MAX_PARTIAL_RESPONSES times.
 * - a body that ends before its declared length (connection closed early) is retried; the retry asks
 *   only for the bytes still missing. After `retries` failed attempts: IoError 'TruncatedResponse'.
 * - network errors, timeouts, 408, 429 and 5xx are retried with exponential backoff and jitter,
 *   honouring Retry-After up to MAX_RETRY_AFTER_MS; other statuses fail at once (IoError 'HttpError').
 *   Aborting the caller's signal fails at once with IoError 'Aborted'.
 *
 * Browsers, cross-origin: the server must list `Content-Range, ETag, Last-Modified` in
 * `Access-Control-Expose-Headers` (without Content-Range the size is unknown and open fails), and
 * `If-Match` / `If-Unmodified-Since` are not CORS-safelisted, so reads after the prefetch trigger a
 * preflight (single-range `Range` headers alone do not).
 */
import { IoError, TensorsafeError } from '../errors.js';
import { checkRange, type ByteSource, type ReadOptions } from './byte-source.js';

/** Size of the first request, kept as a cache: a safetensors header below this costs one request in all. */
export const DEFAULT_PREFETCH_BYTES = 64 * 1024;

/** Largest prefetch accepted: the cache lives as long as the source, so a huge value would pin memory. */
export const MAX_PREFETCH_BYTES = 64 * 1024 * 1024;

/** Time an attempt may go without progress (no headers, or no body bytes) before it is abandoned: guards against hung connections. */
export const DEFAULT_TIMEOUT_MS = 30_000;

/** Retries after the first attempt, per read. */
export const DEFAULT_RETRIES = 3;

/** Most retries an option may ask for: guards against retry storms on a failing server. */
export const MAX_RETRIES = 10;

/** Base of the exponential backoff between attempts (doubled each failure, with jitter). */
export const DEFAULT_RETRY_DELAY_MS = 200;

/** Longest backoff between two attempts: keeps exponential growth from stalling a read for minutes. */
export const MAX_RETRY_DELAY_MS = 10_000;

/** Longest wait a server's Retry-After may impose: a hostile or misconfigured server cannot park a read for hours. */
export const MAX_RETRY_AFTER_MS = 30_000;

/** Short 206 answers (fewer bytes than asked, then a request for the rest) accepted per read: guards against an endless request loop. */
export const MAX_PARTIAL_RESPONSES = 64;

/** Bytes read to learn the size when the first answer is a 200 with no Content-Length: guards against downloading an endless stream. */
export const MAX_UNSIZED_BODY_BYTES = 128 * 1024 * 1024;

/** Two reads closer than this are cheaper as one request: a round trip costs about what this much transfer does. */
export const HTTP_COALESCE_GAP = 1024 * 1024;

/** The subset of `fetch` the source needs; `globalThis.fetch` fits, and so does a test fake. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export interface HttpSourceOptions {
  /** The fetch to use; default `globalThis.fetch` (looked up at each request). */
  fetch?: FetchLike;
  /** Extra request headers (Authorization, …). Range, If-Match and If-Unmodified-Since are the source's own. */
  headers?: HeadersInit;
  /** Per attempt: longest wait for the response headers, and then between two body chunks. Default DEFAULT_TIMEOUT_MS. */
  timeoutMs?: number;
  /** Retries after a failed attempt (network error, timeout, 408/429/5xx, truncated body). Default DEFAULT_RETRIES, at most MAX_RETRIES. */
  retries?: number;
  /** Base of the exponential backoff, in ms. Default DEFAULT_RETRY_DELAY_MS. */
  retryDelayMs?: number;
  /** Size of the first request and of the cache it fills. Default DEFAULT_PREFETCH_BYTES, 1 … MAX_PREFETCH_BYTES. */
  prefetchBytes?: number;
  /** Aborts `open` and every later read of this source (each read may also have its own signal). */
  signal?: AbortSignal;
}

/** Counters for tests and benchmarks. */
export interface HttpSourceStats {
  /** fetch calls made, retries and continuations included. */
  requests: number;
  /** Response body bytes actually read (discarded ones included; bytes of error responses excluded). */
  bytesReceived: number;
}

/** An HTTP(S) URL read with Range requests; see the module comment for the protocol. */
export class HttpSource implements ByteSource {
  /** The URL without userinfo, with query values redacted: for messages. */
  readonly name: string;
  readonly coalesceGap = HTTP_COALESCE_GAP;
  readonly stats: HttpSourceStats = { requests: 0, bytesReceived: 0 };

  private readonly requestUrl: string;
  private readonly baseHeaders: Headers;
  private readonly fetchFn: FetchLike;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly retryDelayMs: number;
  private readonly prefetchBytes: number;
  private readonly userSignal: AbortSignal | undefined;
  private readonly lifetime = new AbortController();

  private _size = 0;
  private _etag: string | undefined;
  private _lastModified: string | undefined;
  private _rangeSupported = true;
  private prefetch: Uint8Array = new Uint8Array(0);
  private closed = false;

  private constructor(url: URL, options: HttpSourceOptions) {
    this.name = redactUrl(url);
    const headers = new Headers(options.headers);
    if ((url.username || url.password) && !headers.has('authorization')) {
      headers.set('authorization', basicAuth(decodeURIComponent(url.username), decodeURIComponent(url.password)));
    }
    const clean = new URL(url.href);
    clean.username = '';
    clean.password = '';
    clean.hash = '';
    this.requestUrl = clean.href;
    this.baseHeaders = headers;
    const custom = options.fetch;
    // Called without a receiver: browsers throw "Illegal invocation" for a fetch called on another object.
    this.fetchFn = custom ?? ((u, init) => globalThis.fetch(u, init));
    this.timeoutMs = option('timeoutMs', options.timeoutMs, DEFAULT_TIMEOUT_MS, 1, 2 ** 31 - 1);
    this.retries = option('retries', options.retries, DEFAULT_RETRIES, 0, MAX_RETRIES);
    this.retryDelayMs = option('retryDelayMs', options.retryDelayMs, DEFAULT_RETRY_DELAY_MS, 0, MAX_RETRY_DELAY_MS);
    this.prefetchBytes = option('prefetchBytes', options.prefetchBytes, DEFAULT_PREFETCH_BYTES, 1, MAX_PREFETCH_BYTES);
    this.userSignal = options.signal;
  }

  /** Makes the first request (one GET of the first prefetchBytes) and pins size and validators. */
  static async open(url: string | URL, options: HttpSourceOptions = {}): Promise<HttpSource> {
    let parsed: URL;
    try {
      const base = typeof location === 'undefined' ? undefined : location.href;
      parsed = new URL(String(url), base);
    } catch (cause) {
      throw new IoError('IoError', `not a valid URL: ${String(url)}`, { cause });
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new IoError('IoError', `${redactUrl(parsed)}: only http: and https: URLs can be read with ranges`, { location: redactUrl(parsed) });
    }
    const source = new HttpSource(parsed, options);
    await source.run(undefined, (attempt) => source.openStep(attempt));
    return source;
  }

  /** Total size in bytes, from the first answer. */
  get size(): number {
    return this._size;
  }

  /** The ETag pinned at open (strong or weak), if the server sent one. */
  get etag(): string | undefined {
    return this._etag;
  }

  /** The Last-Modified pinned at open, if the server sent one. */
  get lastModified(): string | undefined {
    return this._lastModified;
  }

  /**
   * False once the server answered a ranged request with 200 (the whole body). Reads stay correct
   * but each one downloads from byte 0 up to its end. A small file answered whole by a 200 also
   * reports false, though it is then served from the cache without further requests.
   */
  get rangeSupported(): boolean {
    return this._rangeSupported;
  }

  /**
   * Exactly `length` bytes at `offset`, in a fresh Uint8Array of their own (also for cache hits,
   * so callers may keep or change the result and typed-array views over it are aligned).
   */
  async read(offset: number, length: number, options?: ReadOptions): Promise<Uint8Array> {
    const stop = this.stopError(options?.signal);
    if (stop) throw stop;
    checkRange(this, offset, length);
    if (length === 0) return new Uint8Array(0);
    const cached = this.prefetch.byteLength;
    if (offset + length <= cached) return this.prefetch.slice(offset, offset + length);
    const job: Job = { out: new Uint8Array(length), offset, filled: 0 };
    if (offset < cached) {
      job.out.set(this.prefetch.subarray(offset));
      job.filled = cached - offset;
    }
    await this.run(options?.signal, (attempt) => this.readStep(job, attempt));
    return job.out;
  }

  /** Drops the cache and aborts reads in flight; later reads fail. */
  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.prefetch = new Uint8Array(0);
      this.lifetime.abort();
    }
    return Promise.resolve();
  }

  // ---- one request each -------------------------------------------------------------------

  /** The first request: size, validators, cache. Returns true when done. */
  private async openStep(attempt: Attempt): Promise<boolean> {
    const last = this.prefetchBytes - 1;
    const res = await this.send(attempt, 0, last, false);
    if (res.status === 416) {
      const contentRange = res.headers.get('content-range');
      discard(res);
      if (contentRange !== null && /^bytes\s+\*\/0$/i.test(contentRange.trim())) {
        this.pin(res, 0, new Uint8Array(0));
        return true;
      }
      throw new IoError(
        'RangeNotSatisfiable',
        `${this.name}: HTTP 416 Range Not Satisfiable to bytes=0-${last} (Content-Range: ${contentRange ?? 'absent'}); only an empty file, announced as "bytes */0", explains that`,
        { location: this.name },
      );
    }
    this.checkStatus(res);
    const span = this.span(res);
    if (span.start !== 0) {
      discard(res);
      throw this.invalid(`answered bytes=0-${last} with a range starting at byte ${span.start}`);
    }
    if (span.total === undefined) {
      // A 200 without Content-Length: read to the end to learn the size, keeping only the prefetch.
      const job: Job = { out: new Uint8Array(this.prefetchBytes), offset: 0, filled: 0 };
      const end = await this.consume(res, 0, MAX_UNSIZED_BODY_BYTES + 1, job, attempt, false);
      if (!end.ended) {
        throw this.invalid(`sent more than ${MAX_UNSIZED_BODY_BYTES} bytes (MAX_UNSIZED_BODY_BYTES) without Content-Length or Content-Range; the size cannot be learnt`);
      }
      this.pin(res, end.pos, job.out.slice(0, Math.min(job.filled, end.pos)));
      return true;
    }
    const keep = Math.min(this.prefetchBytes, span.end);
    const job: Job = { out: new Uint8Array(keep), offset: 0, filled: 0 };
    const end = await this.consume(res, 0, span.end, job, attempt, true);
    if (job.filled < keep) throw this.truncated(0, keep, end.pos);
    this.pin(res, span.total, job.out);
    return true;
  }

  /** One request for the bytes `job` still misses. Returns true when the job is complete, false to continue a short 206. */
  private async readStep(job: Job, attempt: Attempt): Promise<boolean> {
    const from = job.offset + job.filled;
    const to = job.offset + job.out.byteLength;
    const res = await this.send(attempt, from, to - 1, true);
    if (res.status === 412) {
      discard(res);
      const precondition = this.strongEtag() ? `If-Match: ${this._etag}` : `If-Unmodified-Since: ${this._lastModified}`;
      throw this.changed(`the server answered 412 Precondition Failed to ${precondition}`, from);
    }
    if (res.status === 416) {
      discard(res);
      throw new IoError(
        'RangeNotSatisfiable',
        `${this.name}: HTTP 416 Range Not Satisfiable for bytes ${from}-${to - 1} of the ${this._size} bytes seen at open: the file is shorter now (it changed)`,
        { location: `${this.name}@${from}` },
      );
    }
    this.checkStatus(res);
    const span = this.span(res);
    this.checkUnchanged(res, span.total, from);
    if (span.start > from) {
      discard(res);
      throw this.invalid(`answered bytes=${from}-${to - 1} with a range starting at byte ${span.start}`);
    }
    this._rangeSupported = res.status === 206;
    const end = await this.consume(res, span.start, span.end, job, attempt, true);
    if (job.filled === job.out.byteLength) return true;
    if (end.pos >= span.end && span.end < to) return false; // a complete but short 206: ask for the rest
    throw this.truncated(from, to - from, end.pos);
  }

  /** Sends one GET for bytes first..last (inclusive). */
  private async send(attempt: Attempt, first: number, last: number, conditional: boolean): Promise<Response> {
    const headers = new Headers(this.baseHeaders);
    // The fetch standard adds `Accept-Encoding: identity` to any request with a Range header (Node's
    // undici and browsers do); a compressed answer from another fetch is rejected in span().
    headers.set('range', `bytes=${first}-${last}`);
    if (conditional) {
      if (this.strongEtag()) headers.set('if-match', this._etag as string);
      else if (this._lastModified !== undefined) headers.set('if-unmodified-since', this._lastModified);
    }
    this.stats.requests++;
    attempt.phase = 'headers';
    const fetchFn = this.fetchFn;
    const res = await fetchFn(this.requestUrl, { method: 'GET', headers, signal: attempt.controller.signal, redirect: 'follow' });
    attempt.phase = 'body';
    attempt.progress();
    return res;
  }

  /**
   * Reads the body of a response covering bytes [start, end) of the file into the job; bytes outside
   * the job are discarded. Stops (cancelling the body) as soon as the job is complete when
   * `stopWhenFilled`, else reads to the end (counting bytes up to `end`).
   */
  private async consume(res: Response, start: number, end: number, job: Job, attempt: Attempt, stopWhenFilled: boolean): Promise<{ pos: number; ended: boolean }> {
    let pos = start;
    if (res.body === null) return { pos, ended: true };
    const reader = res.body.getReader();
    const want = job.offset + job.out.byteLength;
    let ended = false;
    try {
      while (pos < end && !(stopWhenFilled && job.offset + job.filled >= want)) {
        const chunk = await this.readChunk(reader, attempt, job, pos);
        if (chunk.done) {
          ended = true;
          break;
        }
        pos = this.take(chunk.value, pos, end, job);
      }
      if (!ended && pos === end && end !== Infinity) {
        // Everything declared has arrived: wait for the end of the stream so the connection can be reused.
        try {
          const next = await reader.read();
          if (next.done) ended = true;
          else this.stats.bytesReceived += next.value.byteLength; // more than declared: ignored
        } catch {
          // the bytes we needed are all here; a late error changes nothing
        }
      }
    } finally {
      if (!ended) {
        reader.cancel().catch(() => undefined);
        attempt.controller.abort();
      }
    }
    return { pos, ended };
  }

  private async readChunk(reader: ReadableStreamDefaultReader<Uint8Array>, attempt: Attempt, job: Job, pos: number): Promise<ReadableStreamReadResult<Uint8Array>> {
    try {
      const chunk = await reader.read();
      if (!chunk.done) attempt.progress();
      return chunk;
    } catch (cause) {
      if (attempt.timedOut || attempt.controller.signal.aborted) throw cause;
      throw new Retry(
        new IoError('TruncatedResponse', `${this.name}: the connection failed after byte ${pos} while reading bytes at ${job.offset}: ${describe(cause)}`, {
          cause,
          location: `${this.name}@${pos}`,
        }),
      );
    }
  }

  /** Copies the part of `bytes` (file bytes [pos, pos+len)) that the job wants; returns the new position. */
  private take(bytes: Uint8Array, pos: number, end: number, job: Job): number {
    this.stats.bytesReceived += bytes.byteLength;
    const chunkEnd = Math.min(pos + bytes.byteLength, end);
    const from = Math.max(pos, job.offset + job.filled);
    const to = Math.min(chunkEnd, job.offset + job.out.byteLength);
    if (to > from) {
      job.out.set(bytes.subarray(from - pos, to - pos), from - job.offset);
      job.filled = to - job.offset;
    }
    return pos + bytes.byteLength;
  }

  // ---- response checks --------------------------------------------------------------------

  /** Passes 200 and 206; throws HttpError for the rest (retryable for 408, 429 and 5xx). */
  private checkStatus(res: Response): void {
    if (res.status === 200 || res.status === 206) return;
    discard(res);
    const message = `${this.name}: HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
    const error = new IoError('HttpError', message, { location: this.name });
    if (res.status === 408 || res.status === 429 || (res.status >= 500 && res.status <= 599)) {
      throw new Retry(error, parseRetryAfter(res.headers.get('retry-after')));
    }
    throw error;
  }

  /** Which bytes of the file the body holds, [start, end), and the file's total size if stated. */
  private span(res: Response): { start: number; end: number; total: number | undefined } {
    const encoding = res.headers.get('content-encoding');
    if (encoding !== null && encoding.trim().toLowerCase() !== 'identity') {
      discard(res);
      throw this.invalid(`sent a body with Content-Encoding: ${encoding}, whose bytes are not the file's bytes at the requested offsets`);
    }
    const lengthHeader = res.headers.get('content-length');
    const contentLength = lengthHeader === null ? undefined : parseDecimal(lengthHeader.trim());
    if (lengthHeader !== null && contentLength === undefined) {
      discard(res);
      throw this.invalid(`sent an invalid Content-Length: ${lengthHeader}`);
    }
    if (res.status === 200) return { start: 0, end: contentLength ?? Infinity, total: contentLength };
    const header = res.headers.get('content-range');
    const m = header === null ? null : /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i.exec(header.trim());
    const first = m ? parseDecimal(m[1] as string) : undefined;
    const last = m ? parseDecimal(m[2] as string) : undefined;
    const total = m ? (m[3] === '*' ? undefined : parseDecimal(m[3] as string)) : undefined;
    if (header === null && res.type === 'cors') {
      // A browser hides every header of a cross-origin answer that the server does not list as exposed.
      discard(res);
      throw new IoError(
        'CorsRefused',
        `${this.name}: the server lets this page read the file (CORS) but hides its Content-Range header, so its size and byte ranges cannot be read; the server must list Content-Range, ETag and Last-Modified in Access-Control-Expose-Headers (or download the file and drop it into the page)`,
        { location: this.name },
      );
    }
    if (first === undefined || last === undefined || total === undefined || last < first || last >= total) {
      discard(res);
      throw this.invalid(
        header === null
          ? 'sent a 206 without a readable Content-Range (cross-origin, the server must list Content-Range in Access-Control-Expose-Headers)'
          : `sent a 206 with an unusable Content-Range: ${header} (a single range and a known total size are required)`,
      );
    }
    if (contentLength !== undefined && contentLength !== last - first + 1) {
      discard(res);
      throw this.invalid(`sent Content-Range: ${header} with Content-Length: ${contentLength}`);
    }
    return { start: first, end: last + 1, total };
  }

  /** Compares a later answer with what was pinned at open. */
  private checkUnchanged(res: Response, total: number | undefined, at: number): void {
    if (total !== undefined && total !== this._size) {
      discard(res);
      throw this.changed(`its size is now ${total} bytes, ${this._size} at open`, at);
    }
    const etag = res.headers.get('etag');
    if (this._etag !== undefined && (etag === null || !sameEtag(this._etag, etag))) {
      discard(res);
      throw this.changed(`its ETag is now ${etag ?? 'absent'}, ${this._etag} at open`, at);
    }
    const lastModified = res.headers.get('last-modified');
    // With a pinned ETag that matched, a missing Last-Modified proves nothing either way; a different one is a change.
    const mustHave = this._etag === undefined;
    if (this._lastModified !== undefined && (lastModified === null ? mustHave : !sameDate(this._lastModified, lastModified))) {
      discard(res);
      throw this.changed(`its Last-Modified is now ${lastModified ?? 'absent'}, ${this._lastModified} at open`, at);
    }
  }

  private pin(res: Response, size: number, prefetch: Uint8Array): void {
    this._size = size;
    this._etag = res.headers.get('etag') ?? undefined;
    this._lastModified = res.headers.get('last-modified') ?? undefined;
    this._rangeSupported = res.status !== 200;
    this.prefetch = prefetch;
  }

  private strongEtag(): boolean {
    return this._etag !== undefined && !this._etag.startsWith('W/');
  }

  // ---- attempts, retries ------------------------------------------------------------------

  /** Runs `step` until it reports completion, retrying failures and continuing short answers. */
  private async run(readSignal: AbortSignal | undefined, step: (attempt: Attempt) => Promise<boolean>): Promise<void> {
    const signals = [this.lifetime.signal, this.userSignal, readSignal].filter((s): s is AbortSignal => s !== undefined);
    let failures = 0;
    let partials = 0;
    for (;;) {
      const stop = this.stopError(readSignal);
      if (stop) throw stop;
      const attempt = new Attempt(this.timeoutMs, signals);
      let outcome: boolean | Retry;
      try {
        outcome = await step(attempt);
      } catch (e) {
        outcome = this.classify(e, attempt, readSignal);
      } finally {
        attempt.dispose();
      }
      if (outcome === true) return;
      if (outcome === false) {
        if (++partials > MAX_PARTIAL_RESPONSES) throw this.invalid(`answered with more than ${MAX_PARTIAL_RESPONSES} short ranges for one read (MAX_PARTIAL_RESPONSES)`);
        continue;
      }
      failures++;
      if (failures > this.retries) {
        const last = outcome.error;
        throw new IoError(last.code, `${last.message} (gave up after ${failures} attempts)`, {
          cause: last.cause,
          location: last.location ?? this.name,
        });
      }
      try {
        await sleep(this.backoff(failures, outcome.retryAfterMs), signals);
      } catch (e) {
        throw this.stopError(readSignal) ?? e;
      }
    }
  }

  /** Turns what an attempt threw into a Retry, or rethrows it as final. */
  private classify(e: unknown, attempt: Attempt, readSignal: AbortSignal | undefined): Retry {
    const stop = this.stopError(readSignal);
    if (stop) throw stop;
    if (e instanceof TensorsafeError) throw e;
    if (attempt.timedOut) {
      const what = attempt.phase === 'headers' ? 'no response' : 'no body bytes';
      return new Retry(new IoError('Timeout', `${this.name}: ${what} for ${this.timeoutMs} ms`, { cause: e, location: this.name }));
    }
    if (e instanceof Retry) return e;
    if (attempt.phase === 'body') {
      return new Retry(new IoError('TruncatedResponse', `${this.name}: the response failed while its body was read: ${describe(e)}`, { cause: e, location: this.name }));
    }
    return new Retry(new IoError('IoError', `${this.name}: network error: ${describe(e)}`, { cause: e, location: this.name }));
  }

  /** The error to stop with when the source is closed or a signal aborted, else undefined. */
  private stopError(readSignal: AbortSignal | undefined): IoError | undefined {
    if (this.closed) return this.closedError();
    const aborted = [this.userSignal, readSignal].find((s) => s?.aborted);
    if (aborted) return new IoError('Aborted', `${this.name}: aborted`, { cause: aborted.reason, location: this.name });
    return undefined;
  }

  private backoff(failures: number, retryAfterMs: number | undefined): number {
    const exponential = Math.min(MAX_RETRY_DELAY_MS, this.retryDelayMs * 2 ** (failures - 1));
    const jittered = exponential * (0.5 + Math.random() / 2);
    return retryAfterMs === undefined ? jittered : Math.max(jittered, Math.min(retryAfterMs, MAX_RETRY_AFTER_MS));
  }

  // ---- errors -----------------------------------------------------------------------------

  private changed(why: string, at: number): IoError {
    return new IoError('SourceChanged', `${this.name} changed since it was opened: ${why}; its bytes cannot be mixed with those read before`, {
      location: `${this.name}@${at}`,
    });
  }

  private invalid(why: string): IoError {
    return new IoError('InvalidResponse', `${this.name}: the server ${why}`, { location: this.name });
  }

  private truncated(from: number, length: number, pos: number): Retry {
    return new Retry(
      new IoError('TruncatedResponse', `${this.name}: the response for ${length} bytes at ${from} ended early, at byte ${pos}`, { location: `${this.name}@${pos}` }),
    );
  }

  private closedError(): IoError {
    return new IoError('IoError', `${this.name} is closed`, { location: this.name });
  }
}

// ---- helpers --------------------------------------------------------------------------------

/** A read in progress: `out` receives file bytes [offset, offset + out.length); `filled` are there. */
interface Job {
  out: Uint8Array;
  offset: number;
  filled: number;
}

/** A failure worth another attempt (internal; never escapes). */
class Retry {
  constructor(
    readonly error: IoError,
    readonly retryAfterMs?: number,
  ) {}
}

/** One request's abort controller, idle timer and link to the caller's signals. */
class Attempt {
  readonly controller = new AbortController();
  timedOut = false;
  phase: 'headers' | 'body' = 'headers';
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly cleanups: (() => void)[] = [];

  constructor(
    private readonly timeoutMs: number,
    signals: readonly AbortSignal[],
  ) {
    for (const signal of signals) {
      const onAbort = (): void => this.controller.abort(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      this.cleanups.push(() => signal.removeEventListener('abort', onAbort));
    }
    this.progress();
  }

  /** Restarts the idle timer. */
  progress(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort();
    }, this.timeoutMs);
  }

  dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    for (const cleanup of this.cleanups) cleanup();
  }
}

function sleep(ms: number, signals: readonly AbortSignal[]): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signals.some((s) => s.aborted)) {
      reject(new IoError('Aborted', 'the wait before a retry was aborted'));
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      for (const s of signals) s.removeEventListener('abort', onAbort);
    };
    const onAbort = (): void => {
      done();
      reject(new IoError('Aborted', 'the wait before a retry was aborted'));
    };
    const timer = setTimeout(() => {
      done();
      resolve();
    }, ms);
    for (const s of signals) s.addEventListener('abort', onAbort, { once: true });
  });
}

/** Frees the connection of a response whose body is not wanted. */
function discard(res: Response): void {
  if (res.body !== null && !res.bodyUsed) res.body.cancel().catch(() => undefined);
}

/** Retry-After as delay-seconds or an HTTP-date, in ms; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Math.min(Number(v) * 1000, Number.MAX_SAFE_INTEGER);
  const date = Date.parse(v);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The URL for messages: no userinfo, no fragment, query values replaced by `…` (signed URLs carry secrets there). */
export function redactUrl(url: URL): string {
  const path = `${url.protocol}//${url.host}${url.pathname}`;
  if (!url.search) return path;
  const keys = [...new URLSearchParams(url.search).keys()].map((k) => `${encodeURIComponent(k)}=…`);
  return `${path}?${keys.join('&')}`;
}

function basicAuth(user: string, password: string): string {
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return `Basic ${btoa(binary)}`;
}

/** Strong comparison for a strong pinned ETag, weak comparison (W/ ignored) for a weak one. */
function sameEtag(pinned: string, seen: string): boolean {
  const a = pinned.trim();
  const b = seen.trim();
  if (!a.startsWith('W/')) return a === b;
  return a.slice(2) === (b.startsWith('W/') ? b.slice(2) : b);
}

function sameDate(a: string, b: string): boolean {
  if (a === b) return true;
  const x = Date.parse(a);
  return !Number.isNaN(x) && x === Date.parse(b);
}

function parseDecimal(s: string): number | undefined {
  if (!/^\d+$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

function option(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new IoError('IoError', `HttpSource: option ${name} must be an integer from ${min} to ${max}, not ${String(value)}`);
  }
  return value;
}

function describe(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const cause = (e as { cause?: unknown }).cause;
  const code = (cause as { code?: unknown } | undefined)?.code;
  const inner = cause instanceof Error ? cause.message : undefined;
  return [e.message, typeof code === 'string' ? code : undefined, inner && inner !== code ? inner : undefined].filter(Boolean).join(': ');
}
