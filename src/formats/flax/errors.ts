import { TensorsafeError, type FlaxErrorCode as FlaxCode } from '../../errors.js';

/** Flax's own codes (src/errors.ts), and a dtype safetensors cannot hold. */
export type FlaxErrorCode = FlaxCode | 'UnsupportedTensor';

export class FlaxError extends TensorsafeError {
  constructor(code: FlaxErrorCode, message: string, options?: { cause?: unknown; location?: string }) {
    super(code, message, options);
    this.name = 'FlaxError';
  }
}
