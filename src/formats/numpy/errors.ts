import { TensorsafeError, type NumpyErrorCode as NumpyCode } from '../../errors.js';

/** NumPy's own codes (src/errors.ts), and a dtype safetensors cannot hold. */
export type NumpyErrorCode = NumpyCode | 'UnsupportedTensor';

export class NumpyError extends TensorsafeError {
  constructor(code: NumpyErrorCode, message: string, options?: { cause?: unknown; location?: string }) {
    super(code, message, options);
    this.name = 'NumpyError';
  }
}
