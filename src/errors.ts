/**
 * Every error tensorsafe throws is a TensorsafeError with a stable `code`.
 * safetensors codes are the reference implementation's error variant names
 * (HeaderTooLarge, InvalidOffset, …) so that a verdict can be compared with the
 * Rust crate's one for one; the other codes are tensorsafe's own.
 */
export class TensorsafeError extends Error {
  readonly code: string;
  /** Where the problem is: file, entry, tensor, byte offset (whatever applies). */
  readonly location: string | undefined;
  /** The file (path or URL) the error is about, once known: see `inFile`. */
  file: string | undefined;

  constructor(code: string, message: string, options?: { cause?: unknown; location?: string; file?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TensorsafeError';
    this.code = code;
    this.location = options?.location;
    this.file = options?.file;
  }
}

/**
 * Names the file an error is about: sets `file` (once: the innermost file wins) and, when the message
 * does not mention the file yet, puts it in front (`model.safetensors: header character 32 …`), so
 * that every error printed says where. Returns the error, for `throw inFile(e, path)`.
 */
export function inFile<E>(e: E, file: string): E {
  if (e instanceof TensorsafeError && e.file === undefined) {
    e.file = file;
    if (!e.message.includes(file)) e.message = `${file}: ${e.message}`;
  }
  return e;
}

/** Errors of the safetensors format itself; the code is the reference's variant name. */
export class SafetensorError extends TensorsafeError {
  constructor(code: SafetensorErrorCode, message: string, options?: { cause?: unknown; location?: string }) {
    super(code, message, options);
    this.name = 'SafetensorError';
  }
}

/** The reference's `SafeTensorError` variants, plus the slicing ones and tensorsafe's writer checks. */
export type SafetensorErrorCode =
  | 'HeaderTooSmall'
  | 'HeaderTooLarge'
  | 'InvalidHeaderLength'
  | 'InvalidHeader'
  | 'InvalidHeaderDeserialization'
  | 'InvalidOffset'
  | 'TensorInvalidInfo'
  | 'MisalignedSlice'
  | 'ValidationOverflow'
  | 'MetadataIncompleteBuffer'
  | 'TensorNotFound'
  | 'InvalidTensorView'
  | 'TooManySlices'
  | 'SliceOutOfRange'
  | 'InvalidSlice'
  | 'InvalidTensorName'
  | 'InvalidMetadata'
  | 'InvalidDtype'
  | 'InvalidShape'
  | 'DuplicateTensor'
  | 'WriteOrder'
  | 'WriteOverflow'
  | 'IncompleteWrite'
  | 'NotSynchronous'
  | 'Closed';

/** Transport errors (files, HTTP) are kept apart from parse errors. */
export class IoError extends TensorsafeError {
  constructor(code: IoErrorCode, message: string, options?: { cause?: unknown; location?: string }) {
    super(code, message, options);
    this.name = 'IoError';
  }
}

export type IoErrorCode =
  | 'IoError'
  | 'OutOfRange'
  | 'HttpError'
  | 'RangeNotSatisfiable'
  | 'SourceChanged'
  | 'TruncatedResponse'
  /** The server's answer breaks HTTP range rules (unusable Content-Range, compressed range, unknown size). */
  | 'InvalidResponse'
  | 'Timeout'
  | 'Aborted'
  | 'OutputExists'
  /** Two sources would be converted to the same output file. */
  | 'OutputConflict'
  /** A folder holds two models under one name (`model.safetensors` and `model.safetensors.index.json`). */
  | 'AmbiguousModel'
  | 'NotFound'
  /** Operating-system refusals, each naming the path (EACCES/EPERM, ENOSPC, EROFS, EISDIR, ENOTDIR, EMFILE/ENFILE). */
  | 'PermissionDenied'
  | 'NoSpace'
  | 'ReadOnlyFileSystem'
  | 'IsADirectory'
  | 'NotADirectory'
  | 'TooManyOpenFiles';

export function isTensorsafeError(e: unknown): e is TensorsafeError {
  return e instanceof TensorsafeError;
}
