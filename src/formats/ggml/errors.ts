import { TensorsafeError, type GgufErrorCode } from '../../errors.js';

/** A legacy GGML file's own codes (src/errors.ts), and a quantized type this reader does not decode. */
export type GgmlErrorCode = Extract<GgufErrorCode, 'InvalidGgml' | 'GgmlLimit'> | 'UnsupportedTensor';

export class GgmlError extends TensorsafeError {
  constructor(code: GgmlErrorCode, message: string, options?: { cause?: unknown; location?: string }) {
    super(code, message, options);
    this.name = 'GgmlError';
  }
}
