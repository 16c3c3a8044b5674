import { TensorsafeError, type PaddleErrorCode as PaddleCode } from '../../errors.js';

/** PaddlePaddle's own codes (src/errors.ts), and a dtype safetensors cannot hold. */
export type PaddleErrorCode = PaddleCode | 'UnsupportedTensor';

export class PaddleError extends TensorsafeError {
  constructor(code: PaddleErrorCode, message: string, options?: { cause?: unknown; location?: string }) {
    super(code, message, options);
    this.name = 'PaddleError';
  }
}
