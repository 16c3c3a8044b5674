import { TensorsafeError, type ZipErrorCode } from '../../errors.js';

/** These codes are part of the one union of src/errors.ts, where each is documented. */
export type { ZipErrorCode };

/** Parse errors of zip archives. `location` is `source:entry@offset` when they apply. */
export class ZipError extends TensorsafeError {
  declare readonly code: ZipErrorCode;
  /** The entry concerned (its central-directory name), if any. */
  readonly entry: string | undefined;
  /** Absolute byte offset in the source, if any. */
  readonly offset: number | undefined;

  constructor(code: ZipErrorCode, message: string, options?: { cause?: unknown; entry?: string; offset?: number; source?: string }) {
    super(code, message, {
      cause: options?.cause,
      location: zipLocation(options?.source, options?.entry, options?.offset),
    });
    this.name = 'ZipError';
    this.entry = options?.entry;
    this.offset = options?.offset;
  }
}

/** An anomaly noticed in non-strict mode (strict mode throws it as a ZipError instead). */
export interface ZipFinding {
  code: ZipErrorCode;
  message: string;
  /** The entry concerned (its central-directory name), if any. */
  entry?: string;
  /** Absolute byte offset in the source, if any. */
  offset?: number;
}

function zipLocation(source: string | undefined, entry: string | undefined, offset: number | undefined): string | undefined {
  if (source === undefined && entry === undefined && offset === undefined) return undefined;
  let s = source ?? '';
  if (entry !== undefined) s += `${s ? ':' : ''}${entry}`;
  if (offset !== undefined) s += `@${offset}`;
  return s;
}
