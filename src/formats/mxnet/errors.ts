import { TensorsafeError, type MxnetErrorCode as MxnetCode } from '../../errors.js';

/** MXNet's own codes (src/errors.ts), and a type flag safetensors cannot hold. */
export type MxnetErrorCode = MxnetCode | 'UnsupportedTensor';

export class MxnetError extends TensorsafeError {
  constructor(code: MxnetErrorCode, message: string, options?: { cause?: unknown; location?: string }) {
    super(code, message, options);
    this.name = 'MxnetError';
  }
}
