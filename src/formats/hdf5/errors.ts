import { TensorsafeError, type Hdf5ErrorCode as Hdf5Code } from '../../errors.js';
import { FormatProblem } from '../../io/format-problem.js';
import { UnsupportedStorage } from './storage-problem.js';

/** HDF5's own codes (src/errors.ts). */
export type Hdf5ErrorCode = Hdf5Code;

export class Hdf5Error extends TensorsafeError {
  declare readonly code: Hdf5ErrorCode;
  constructor(code: Hdf5ErrorCode, message: string, options?: { cause?: unknown; location?: string }) {
    super(code, message, options);
    this.name = 'Hdf5Error';
  }
}

/** Valid HDF5 that this reader does not read (named: what, and where). */
export function unsupported(message: string, offset?: number): Hdf5Error {
  return new Hdf5Error('Hdf5Unsupported', message, offset === undefined ? undefined : { location: `@${offset}` });
}

/**
 * A parser's FormatProblem as a coded error naming the file and the object being read (`where`); an
 * Hdf5Error gets the file in front of its message; anything else is returned as it is.
 */
export function coded(e: unknown, file: string, where?: string): unknown {
  const context = where === undefined ? '' : ` (${where})`;
  if (e instanceof FormatProblem) {
    const location = e.offset === undefined ? file : `${file}@${e.offset}`;
    if (e instanceof UnsupportedStorage) return new Hdf5Error('Hdf5Unsupported', `${file}: ${e.message}${context}`, { location, cause: e });
    return new Hdf5Error(e.kind === 'limit' ? 'Hdf5Limit' : 'InvalidHdf5', `${file}: not a readable HDF5 file${context}: ${e.message}`, { location, cause: e });
  }
  if (e instanceof Hdf5Error && !e.message.startsWith(`${file}: `)) {
    const location = e.location?.startsWith('@') ? `${file}${e.location}` : (e.location ?? file);
    return new Hdf5Error(e.code, `${file}: ${e.message}${context}`, { location, cause: e.cause });
  }
  return e;
}
