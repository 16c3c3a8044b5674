import { SEVERITY_RANK, type Finding, type ScanContext, type Severity } from './findings.js';
import { FormatProblem } from '../io/format-problem.js';

/**
 * What every format's scan rules share: findings capped per rule, a FormatProblem turned into a
 * finding, text made safe to show, and checks of paths that name other files. Nothing here touches
 * the file system or runs anything it reads. (The byte cursor the rules parse with is io/cursor.ts.)
 */

/** Findings of one rule kept per scanned file; the rest are counted in one closing finding (a hostile file could otherwise produce one per tensor). */
export const MAX_FINDINGS_PER_RULE = 50;
/** Longest text (a name, a key, a path) shown in a message: hostile names could be megabytes long. */
export const MAX_SHOWN_CHARS = 200;

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
    if (SEVERITY_RANK[severity] > SEVERITY_RANK[c.severity]) c.severity = severity;
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

// A leading U+FEFF is text like any other (a GGUF vocabulary has it as a token): never stripped.
const utf8Fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Lenient = new TextDecoder('utf-8', { ignoreBOM: true });

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
 * JSON bytes as Python's json.loads reads them (json.detect_encoding): UTF-32 and UTF-16 by their BOM
 * or by the NUL bytes of the first characters, UTF-8 (with or without a BOM) otherwise.
 */
export function decodeJsonBytes(b: Uint8Array): string {
  const starts = (...sig: number[]): boolean => sig.every((x, i) => b[i] === x);
  let encoding: 'utf-8' | 'utf-16le' | 'utf-16be' | 'utf-32le' | 'utf-32be';
  let skip = 0;
  if (starts(0xff, 0xfe, 0, 0)) [encoding, skip] = ['utf-32le', 4];
  else if (starts(0, 0, 0xfe, 0xff)) [encoding, skip] = ['utf-32be', 4];
  else if (starts(0xff, 0xfe)) [encoding, skip] = ['utf-16le', 2];
  else if (starts(0xfe, 0xff)) [encoding, skip] = ['utf-16be', 2];
  else if (starts(0xef, 0xbb, 0xbf)) [encoding, skip] = ['utf-8', 3];
  else if (b.length >= 4 && b[0] === 0) encoding = b[1] ? 'utf-16be' : 'utf-32be';
  else if (b.length >= 4 && b[1] === 0) encoding = b[2] || b[3] ? 'utf-16le' : 'utf-32le';
  else if (b.length === 2 && b[0] === 0) encoding = 'utf-16be';
  else if (b.length === 2 && b[1] === 0) encoding = 'utf-16le';
  else encoding = 'utf-8';
  const body = b.subarray(skip);
  if (encoding === 'utf-32le' || encoding === 'utf-32be') {
    const v = new DataView(body.buffer, body.byteOffset, body.length);
    let out = '';
    for (let i = 0; i + 4 <= body.length; i += 4) {
      const cp = v.getUint32(i, encoding === 'utf-32le');
      out += cp <= 0x10ffff ? String.fromCodePoint(cp) : '\ufffd';
    }
    return out;
  }
  return new TextDecoder(encoding, { ignoreBOM: true }).decode(body);
}
