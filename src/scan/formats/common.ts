import type { ByteSource } from '../../io/byte-source.js';
import type { Finding, ScanContext, Severity } from '../../formats/findings.js';

/**
 * What the format scanners share: the error that turns bad bytes into a finding, a bounds-checked
 * paged reader over a ByteSource, findings capped per rule, and checks of paths that name other files.
 * Nothing here touches the file system or runs anything it reads.
 */

/** Findings of one rule kept per scanned file; the rest are counted in one closing finding (a hostile file could otherwise produce one per tensor). */
export const MAX_FINDINGS_PER_RULE = 50;
/** Page size of the paged reader: structures are read a page at a time, never a whole file. */
export const PAGE_BYTES = 64 * 1024;
/** Pages kept by a paged reader: bounds the memory of random-access walks (FlatBuffers, HDF5, protobuf). */
export const MAX_CACHED_PAGES = 32;
/** Longest text (a name, a key, a path) shown in a message: hostile names could be megabytes long. */
export const MAX_SHOWN_CHARS = 200;

/**
 * Thrown inside a scanner when the bytes break the format (or a limit stops the scan); caught at the
 * scanner's top and reported. Internal control flow, not a TensorsafeError: never escapes a scanner.
 */
export class FormatProblem extends Error {
  constructor(
    message: string,
    /** Byte offset in the scanned source, when there is one. */
    readonly offset?: number,
    /** `limit`: a named limit stopped the scan (the file may be fine, but was not fully checked). */
    readonly kind: 'malformed' | 'limit' = 'malformed',
  ) {
    super(message);
    this.name = 'FormatProblem';
  }
}

export function malformed(message: string, offset?: number): FormatProblem {
  return new FormatProblem(message, offset, 'malformed');
}

export function limitExceeded(message: string, offset?: number): FormatProblem {
  return new FormatProblem(message, offset, 'limit');
}

/** `file@offset`, or `file` when there is no offset. */
export function at(location: string, offset?: number): string {
  return offset === undefined ? location : `${location}@${offset}`;
}

/** A string for a message: quoted, control characters escaped, cut at MAX_SHOWN_CHARS. */
export function show(text: string): string {
  const cut = text.length > MAX_SHOWN_CHARS ? `${text.slice(0, MAX_SHOWN_CHARS)}…` : text;
  return JSON.stringify(cut);
}

/** Findings for one scanned file: at most MAX_FINDINGS_PER_RULE per rule, then one summary per rule. */
export class Findings {
  private readonly counts = new Map<string, { n: number; severity: Severity; location: string }>();

  constructor(
    readonly ctx: ScanContext,
    readonly maxPerRule = MAX_FINDINGS_PER_RULE,
  ) {}

  add(severity: Severity, rule: string, message: string, location: string): void {
    const c = this.counts.get(rule) ?? { n: 0, severity, location };
    c.n++;
    if (severityRank(severity) > severityRank(c.severity)) c.severity = severity;
    this.counts.set(rule, c);
    if (c.n <= this.maxPerRule) this.ctx.report({ severity, rule, message, location } satisfies Finding);
  }

  /** Whether any finding of these severities was added. */
  has(...severities: Severity[]): boolean {
    for (const c of this.counts.values()) if (severities.includes(c.severity)) return true;
    return false;
  }

  count(rule: string): number {
    return this.counts.get(rule)?.n ?? 0;
  }

  /** Reports how many findings of each rule were left out. Call once, at the end. */
  flush(): void {
    for (const [rule, c] of this.counts) {
      if (c.n > this.maxPerRule) {
        this.ctx.report({
          severity: c.severity,
          rule,
          message: `${c.n - this.maxPerRule} more ${rule} findings like the ones above were not listed (${c.n} in all)`,
          location: c.location,
        });
      }
    }
  }

  /** Reports a FormatProblem as `<format>/malformed` or `<format>/limit-exceeded` (both suspicious). */
  problem(format: string, p: FormatProblem, location: string, what: string): void {
    if (p.kind === 'limit') {
      this.add('suspicious', `${format}/limit-exceeded`, `${what} was not fully scanned: ${p.message}`, at(location, p.offset));
    } else {
      this.add('suspicious', `${format}/malformed`, `${what} is malformed: ${p.message}`, at(location, p.offset));
    }
  }
}

function severityRank(s: Severity): number {
  return s === 'dangerous' ? 3 : s === 'suspicious' ? 2 : s === 'error' ? 1 : 0;
}

/**
 * Runs a scanner body: a FormatProblem becomes a finding; anything else (I/O errors) propagates.
 * Returns false when the body stopped on a problem.
 */
export async function guarded(findings: Findings, format: string, location: string, what: string, body: () => Promise<void>): Promise<boolean> {
  try {
    await body();
    return true;
  } catch (e) {
    if (e instanceof FormatProblem) {
      findings.problem(format, e, location, what);
      return false;
    }
    throw e;
  }
}

/**
 * Random access to a source a page at a time, every read checked against the source's size first
 * (a read past the end is the file's fault, reported as malformed, never an I/O error).
 */
export class PagedReader {
  private readonly pages = new Map<number, Uint8Array>();
  private lastPage: Uint8Array | undefined;
  private lastStart = 0;
  /** Bytes fetched from the source so far. */
  bytesRead = 0;

  constructor(
    readonly source: ByteSource,
    readonly pageBytes = PAGE_BYTES,
    readonly maxPages = MAX_CACHED_PAGES,
  ) {}

  get size(): number {
    return this.source.size;
  }

  /** Throws a FormatProblem unless [offset, offset + length) lies inside the source. */
  check(offset: number, length: number, what: string): void {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.source.size) {
      throw malformed(`${what} (${length} bytes at offset ${offset}) runs past the end of the file (${this.source.size} bytes)`, Number.isSafeInteger(offset) ? offset : undefined);
    }
  }

  /** `length` bytes at `offset`; a view, read-only. */
  async bytes(offset: number, length: number, what: string): Promise<Uint8Array> {
    this.check(offset, length, what);
    if (length === 0) return new Uint8Array(0);
    const hit = this.peek(offset, length);
    if (hit) return hit;
    const first = Math.floor(offset / this.pageBytes);
    const last = Math.floor((offset + length - 1) / this.pageBytes);
    if (first === last) {
      const page = await this.page(first);
      const from = offset - first * this.pageBytes;
      return page.subarray(from, from + length);
    }
    if (length > this.pageBytes * 2) {
      this.bytesRead += length;
      return this.source.read(offset, length);
    }
    const out = new Uint8Array(length);
    for (let p = first; p <= last; p++) {
      const page = await this.page(p);
      const pageStart = p * this.pageBytes;
      const from = Math.max(offset, pageStart);
      const to = Math.min(offset + length, pageStart + page.length);
      out.set(page.subarray(from - pageStart, to - pageStart), from - offset);
    }
    return out;
  }

  /**
   * The bytes when they are already in the most recently used page (no await), else undefined.
   * Callers bounds-check first (or fall back to `bytes`, which does).
   */
  peek(offset: number, length: number): Uint8Array | undefined {
    const last = this.lastPage;
    if (last === undefined) return undefined;
    const from = offset - this.lastStart;
    if (from < 0 || length < 0 || from + length > last.length) return undefined;
    return last.subarray(from, from + length);
  }

  /** Up to `length` bytes at `offset`, fewer at the end of the file. */
  async upTo(offset: number, length: number, what: string): Promise<Uint8Array> {
    this.check(offset, 0, what);
    return this.bytes(offset, Math.max(0, Math.min(length, this.source.size - offset)), what);
  }

  private async page(index: number): Promise<Uint8Array> {
    const hit = this.pages.get(index);
    if (hit) {
      this.pages.delete(index);
      this.pages.set(index, hit);
      this.lastPage = hit;
      this.lastStart = index * this.pageBytes;
      return hit;
    }
    const start = index * this.pageBytes;
    const length = Math.min(this.pageBytes, this.source.size - start);
    const page = await this.source.read(start, length);
    this.bytesRead += length;
    this.pages.set(index, page);
    if (this.pages.size > this.maxPages) this.pages.delete(this.pages.keys().next().value!);
    this.lastPage = page;
    this.lastStart = start;
    return page;
  }
}

export function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

const utf8Fatal = new TextDecoder('utf-8', { fatal: true });
const utf8Lenient = new TextDecoder('utf-8');

/** UTF-8 text, or undefined when the bytes are not valid UTF-8. */
export function utf8OrUndefined(b: Uint8Array): string | undefined {
  try {
    return utf8Fatal.decode(b);
  } catch {
    return undefined;
  }
}

/** UTF-8 text with invalid sequences replaced (for messages only). */
export function utf8Lossy(b: Uint8Array): string {
  return utf8Lenient.decode(b);
}

export function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, Math.min(b.length, i + 8192)));
  return s;
}

/** Why a path naming another file (ONNX external data, TFLite external buffers) would leave the model's folder, or undefined. */
export function pathEscape(path: string): string | undefined {
  if (path.includes('\0')) return 'it contains a NUL byte (the name a loader opens may be cut short)';
  if (/^[\\/]/.test(path)) return 'it is an absolute path';
  if (/^[a-zA-Z]:/.test(path)) return 'it starts with a drive letter';
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(path)) return 'it is a URL';
  if (path.split(/[\\/]/).some((s) => s === '..')) return "it has '..' segments that climb out of the model's folder";
  return undefined;
}

/**
 * A sequential reader with a read-ahead buffer: `need(n)` (async) makes n bytes available at `pos`,
 * then the sync accessors consume them. Every range is checked against the source's size first.
 */
export class Cursor {
  private buf: Uint8Array = new Uint8Array(0);
  private bufStart = 0;
  private dv: DataView = new DataView(new ArrayBuffer(0));

  constructor(
    readonly source: ByteSource,
    public pos = 0,
    public littleEndian = true,
    readonly chunkBytes = PAGE_BYTES,
  ) {}

  /** Bytes buffered at `pos`. */
  available(): number {
    const off = this.pos - this.bufStart;
    return off < 0 || off > this.buf.length ? 0 : this.buf.length - off;
  }

  async need(n: number, what: string): Promise<void> {
    if (this.available() >= n) return;
    if (!Number.isSafeInteger(n) || n < 0 || this.pos + n > this.source.size) {
      throw malformed(`${what} (${n} bytes at offset ${this.pos}) runs past the end of the file (${this.source.size} bytes)`, this.pos);
    }
    const length = Math.min(this.source.size - this.pos, Math.max(n, this.chunkBytes));
    this.buf = await this.source.read(this.pos, length);
    this.bufStart = this.pos;
    this.dv = view(this.buf);
  }

  /** Moves past n bytes without reading them. */
  skip(n: number | bigint, what: string): void {
    const end = BigInt(this.pos) + BigInt(n);
    if (end > BigInt(this.source.size)) {
      throw malformed(`${what} (${n} bytes at offset ${this.pos}) runs past the end of the file (${this.source.size} bytes)`, this.pos);
    }
    this.pos = Number(end);
  }

  private o(n: number): number {
    const off = this.pos - this.bufStart;
    this.pos += n;
    return off;
  }

  u8(): number {
    return this.dv.getUint8(this.o(1));
  }
  u16(): number {
    return this.dv.getUint16(this.o(2), this.littleEndian);
  }
  u32(): number {
    return this.dv.getUint32(this.o(4), this.littleEndian);
  }
  u64(): bigint {
    return this.dv.getBigUint64(this.o(8), this.littleEndian);
  }
  /** A view of the next n bytes (after need(n)). */
  take(n: number): Uint8Array {
    const off = this.o(n);
    return this.buf.subarray(off, off + n);
  }
}
