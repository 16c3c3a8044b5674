import { TensorsafeError, type KerasErrorCode as KerasCode } from '../../errors.js';

/** Keras's own codes (src/errors.ts), and a dtype safetensors cannot hold, and a model with no weight. */
export type KerasErrorCode = KerasCode | 'UnsupportedTensor' | 'NoTensors';

export class KerasError extends TensorsafeError {
  constructor(code: KerasErrorCode, message: string, options?: { cause?: unknown; location?: string }) {
    super(code, message, options);
    this.name = 'KerasError';
  }
}
