import { TensorsafeError, type TfCheckpointErrorCode as TfCode } from '../../errors.js';

/** The TensorFlow checkpoint reader's own codes (src/errors.ts), a data shard outside the folder, and a checkpoint with no tensor. */
export type TfCheckpointErrorCode = TfCode | 'ExternalDataRefused' | 'NoTensors';

export class TfCheckpointError extends TensorsafeError {
  constructor(code: TfCheckpointErrorCode, message: string, options?: { cause?: unknown; location?: string }) {
    super(code, message, options);
    this.name = 'TfCheckpointError';
  }
}
