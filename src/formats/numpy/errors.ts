import { TensorsafeError } from '../../errors.js';

export type NumpyErrorCode =
  /** The bytes are neither a .npy file nor a zip archive (.npz). */
  | 'NotNumpy'
  /** A .npy header or its data is damaged: bad magic or version, a header numpy refuses, truncated data. */
  | 'InvalidNumpy'
  /** An object array: its data is a pickle, which is never read (numpy needs allow_pickle=True for it). */
  | 'ObjectArray'
  /** A dtype safetensors cannot hold: structured, strings, raw bytes, datetimes, complex128, long double. */
  | 'UnsupportedTensor'
  /** A named limit stopped the read (header size, dimensions, members). */
  | 'NumpyLimit';

export class NumpyError extends TensorsafeError {
  constructor(code: NumpyErrorCode, message: string, options?: { cause?: unknown; location?: string }) {
    super(code, message, options);
    this.name = 'NumpyError';
  }
}
