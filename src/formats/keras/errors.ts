import { TensorsafeError, type KerasErrorCode } from '../../errors.js';

/** Keras's own codes (src/errors.ts): a damaged layout, a limit, a listed layer or weight missing or listed twice. */
export class KerasError extends TensorsafeError {
  constructor(code: KerasErrorCode, message: string, options?: { cause?: unknown; location?: string }) {
    super(code, message, options);
    this.name = 'KerasError';
  }
}
