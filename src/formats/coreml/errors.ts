import { TensorsafeError, type CoremlErrorCode as CoremlCode } from '../../errors.js';

/** Core ML's own codes (src/errors.ts), and the shared code of a weight file outside the package. */
export type CoremlErrorCode = CoremlCode | 'ExternalDataRefused' | 'NoTensors';

export class CoremlError extends TensorsafeError {
  constructor(code: CoremlErrorCode, message: string, options?: { cause?: unknown; location?: string }) {
    super(code, message, options);
    this.name = 'CoremlError';
  }
}
