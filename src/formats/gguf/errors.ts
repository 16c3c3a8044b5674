import { TensorsafeError, type GgufErrorCode as GgufCode } from '../../errors.js';

/** GGUF's own codes (src/errors.ts), and a ggml type this reader does not decode. */
export type GgufErrorCode = GgufCode | 'UnsupportedTensor';

export class GgufError extends TensorsafeError {
  constructor(code: GgufErrorCode, message: string, options?: { cause?: unknown; location?: string }) {
    super(code, message, options);
    this.name = 'GgufError';
  }
}
