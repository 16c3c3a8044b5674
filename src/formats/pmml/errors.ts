import { TensorsafeError, type PmmlErrorCode as PmmlCode } from '../../errors.js';

/** PMML's own codes (src/errors.ts); the XML beneath it has the XML parser's (XmlError). */
export type PmmlErrorCode = PmmlCode | 'NoTensors';

export class PmmlError extends TensorsafeError {
  constructor(code: PmmlErrorCode, message: string, options?: { cause?: unknown; location?: string }) {
    super(code, message, options);
    this.name = 'PmmlError';
  }
}
