import { TensorsafeError, type TfjsErrorCode as TfjsCode } from '../../errors.js';

/** TF.js's own codes (src/errors.ts), external shards refused, a dtype safetensors cannot hold, and a model with no weight. */
export type TfjsErrorCode = TfjsCode | 'ExternalDataRefused' | 'UnsupportedTensor' | 'NoTensors';

export class TfjsError extends TensorsafeError {
  constructor(code: TfjsErrorCode, message: string, options?: { cause?: unknown; location?: string }) {
    super(code, message, options);
    this.name = 'TfjsError';
  }
}
