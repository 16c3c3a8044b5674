import { TensorsafeError } from '../../errors.js';

/**
 * Codes of the zip reader. The same code names an error (strict mode, or a problem no
 * mode can read past) and a finding (non-strict mode records the anomaly and goes on).
 */
export type ZipErrorCode =
  /** No end-of-central-directory record: not a zip archive. */
  | 'NotZip'
  /** A structure, a comment or an entry's data runs past the end of the source. */
  | 'Truncated'
  /** A ZIP64 end record, locator or extra field is missing, malformed or contradicts the classic record. */
  | 'Zip64Invalid'
  /** The archive spans several disks (split archive): refused. */
  | 'Multidisk'
  /** The end record's entry counts disagree with each other or with the central directory. */
  | 'CountMismatch'
  /** A central-directory record is malformed, or the directory overlaps the end records. */
  | 'BadCentralDirectory'
  /** No local file header where the central directory points. */
  | 'BadLocalHeader'
  /** The local header's name differs from the central directory's (CVE-2025-1944). */
  | 'NameMismatch'
  /** The local header's method, flags, CRC or sizes differ from the central directory's. */
  | 'HeaderMismatch'
  /** Two entries have the same name: readers disagree on which one a name means. */
  | 'DuplicateName'
  /** A name with a `..` segment, an absolute path, a drive letter, a backslash, a NUL, invalid UTF-8, or empty. */
  | 'UnsafeName'
  /** A name longer than MAX_ENTRY_NAME_BYTES. */
  | 'NameTooLong'
  /** Flag bit 0 (encryption) is set (CVE-2025-1945). */
  | 'Encrypted'
  /** Flag bits 0x20 (patched data) or 0x40 (strong encryption) are set (CVE-2025-1945). */
  | 'OddFlags'
  /** A compression method other than 0 (stored) or 8 (deflate). */
  | 'UnsupportedMethod'
  /** An entry's bytes overlap another entry's or the central directory (overlapping-file zip bombs, hidden data). */
  | 'OverlappingEntries'
  /** Bytes before the first local header: a prepended file (polyglot, self-extractor). */
  | 'LeadingData'
  /** Bytes after the end record and its comment: an appended file (polyglot). */
  | 'TrailingData'
  /** Bytes between entries, or between the last entry and the central directory, that no entry owns. */
  | 'UnreferencedData'
  /** Sizes that cannot both be right: stored entries whose two sizes differ, deflate output longer or shorter than declared (zip bombs). */
  | 'SizeMismatch'
  /** Deflate data that does not decode. */
  | 'BadDeflate'
  /** The bytes of an entry read in full do not match its CRC-32 (changed after it was written). */
  | 'BadCrc'
  /** More entries than MAX_ZIP_ENTRIES. */
  | 'TooManyEntries'
  /** A central directory larger than MAX_CENTRAL_DIRECTORY_BYTES. */
  | 'CentralDirectoryTooLarge'
  /** An entry larger than the inflate limit (MAX_INFLATED_ENTRY_BYTES unless raised). */
  | 'EntryTooLarge'
  /** More findings than MAX_ZIP_FINDINGS: the rest were not recorded. */
  | 'TooManyFindings';

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
