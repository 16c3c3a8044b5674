import { TensorsafeError, type NumpyErrorCode as NumpyCode } from '../../errors.js';

/** NumPy's own codes (src/errors.ts), a dtype safetensors cannot hold, and an .npz with no array. */
export type NumpyErrorCode = NumpyCode | 'UnsupportedTensor' | 'NoTensors';

export class NumpyError extends TensorsafeError {
  constructor(code: NumpyErrorCode, message: string, options?: { cause?: unknown; location?: string }) {
    super(code, message, options);
    this.name = 'NumpyError';
  }
}
