import { TensorsafeError } from '../../errors.js';

export type CheckpointErrorCode =
  /** The bytes are not a PyTorch checkpoint in any known container. */
  | 'NotACheckpoint'
  /** The container is damaged or inconsistent (sizes, keys, records). */
  | 'InvalidCheckpoint'
  /** A tensor safetensors cannot hold (complex128, quantized, sparse, meta). */
  | 'UnsupportedTensor'
  /** No tensors where the weights should be. */
  | 'NoTensors'
  /** `--key` names nothing in the checkpoint. */
  | 'KeyNotFound'
  /** Reading the checkpoint's object would take more work or memory than a named limit allows (hostile sharing or nesting). */
  | 'CheckpointLimit';

export class CheckpointError extends TensorsafeError {
  constructor(code: CheckpointErrorCode, message: string, options?: { cause?: unknown; location?: string }) {
    super(code, message, options);
    this.name = 'CheckpointError';
  }
}
