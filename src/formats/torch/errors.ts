import { TensorsafeError, type CheckpointErrorCode } from '../../errors.js';

/** These codes are part of the one union of src/errors.ts, where each is documented. */
export type { CheckpointErrorCode };

export class CheckpointError extends TensorsafeError {
  declare readonly code: CheckpointErrorCode;
  constructor(code: CheckpointErrorCode, message: string, options?: { cause?: unknown; location?: string }) {
    super(code, message, options);
    this.name = 'CheckpointError';
  }
}
