/**
 * Thrown while parsing when the bytes break the format they are read as (a field that runs past the end
 * of the file, an impossible value), or when a named limit stops the parse. It is the file's fault,
 * never an I/O failure: format scan rules turn it into a finding, readers into their own error.
 * Internal control flow, not a TensorsafeError: never escapes a scanner or a reader (their fuzz tests check).
 */
export class FormatProblem extends Error {
  constructor(
    message: string,
    /** Byte offset in the parsed source, when there is one. */
    readonly offset?: number,
    /** `limit`: a named limit stopped the parse (the file may be fine, but was not fully read). */
    readonly kind: 'malformed' | 'limit' = 'malformed',
  ) {
    super(message);
    this.name = 'FormatProblem';
  }

  /** Where in `file` the problem is, as a reader's coded error names it: `file@offset`, or `file` without an offset. */
  locationIn(file: string): string {
    return this.offset === undefined ? file : `${file}@${this.offset}`;
  }
}

export function malformed(message: string, offset?: number): FormatProblem {
  return new FormatProblem(message, offset, 'malformed');
}

export function limitExceeded(message: string, offset?: number): FormatProblem {
  return new FormatProblem(message, offset, 'limit');
}
