import { ZipError, type ZipErrorCode, type ZipFinding } from './errors.js';
import { MAX_ZIP_FINDINGS } from './limits.js';

/** Where a problem is: the entry (central-directory name) and the absolute byte offset. */
export interface Where {
  entry?: string;
  offset?: number;
}

/**
 * Collects anomalies. Strict mode throws the first one as a ZipError; non-strict mode records it
 * as a finding and lets the reader go on. `fail` throws in both modes (nothing sensible follows).
 */
export class Reporter {
  readonly findings: ZipFinding[] = [];
  private full = false;

  constructor(
    readonly strict: boolean,
    readonly sourceName: string,
  ) {}

  report(code: ZipErrorCode, message: string, where: Where = {}): void {
    if (this.strict) throw this.error(code, message, where);
    if (this.full) return;
    if (this.findings.length >= MAX_ZIP_FINDINGS) {
      this.full = true;
      this.findings.push({ code: 'TooManyFindings', message: `more than ${MAX_ZIP_FINDINGS} findings: the rest were not recorded` });
      return;
    }
    const finding: ZipFinding = { code, message };
    if (where.entry !== undefined) finding.entry = where.entry;
    if (where.offset !== undefined) finding.offset = where.offset;
    this.findings.push(finding);
  }

  /** Reports a problem that makes an entry unreadable and returns the error its reads will throw (non-strict mode). */
  problem(code: ZipErrorCode, message: string, where: Where = {}): ZipError {
    const error = this.error(code, message, where);
    if (this.strict) throw error;
    this.report(code, message, where);
    return error;
  }

  fail(code: ZipErrorCode, message: string, where: Where = {}, cause?: unknown): never {
    throw this.error(code, message, where, cause);
  }

  error(code: ZipErrorCode, message: string, where: Where = {}, cause?: unknown): ZipError {
    return zipError(this.sourceName, code, message, where, cause);
  }
}

/** A ZipError whose message starts with the source's name. */
export function zipError(sourceName: string, code: ZipErrorCode, message: string, where: Where = {}, cause?: unknown): ZipError {
  return new ZipError(code, `${sourceName}: ${message}`, { ...where, source: sourceName, cause });
}

/** `entry "name"` for messages. */
export function quoteName(name: string): string {
  return JSON.stringify(name);
}
