import { TensorsafeError, type TfliteErrorCode as TfliteCode } from '../../errors.js';

/** TFLite's own codes (src/errors.ts). */
export type TfliteErrorCode = TfliteCode;

export class TfliteError extends TensorsafeError {
  constructor(code: TfliteErrorCode, message: string, options?: { cause?: unknown; location?: string }) {
    super(code, message, options);
    this.name = 'TfliteError';
  }
}
