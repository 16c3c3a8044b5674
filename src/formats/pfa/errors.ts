import { TensorsafeError, type PfaErrorCode as PfaCode } from '../../errors.js';

/** PFA's own codes (src/errors.ts), and a document with no numeric cell or pool. */
export type PfaErrorCode = PfaCode | 'NoTensors';

export class PfaError extends TensorsafeError {
  constructor(code: PfaErrorCode, message: string, options?: { cause?: unknown; location?: string }) {
    super(code, message, options);
    this.name = 'PfaError';
  }
}
