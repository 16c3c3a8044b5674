import { TensorsafeError, type IntegrityErrorCode } from '../errors.js';

/** These codes are part of the one union of src/errors.ts, where each is documented. */
export type { IntegrityErrorCode };

/**
 * Errors of manifests, keys and signature files. A signature that does not verify is not an
 * error: it is a result (`verifyManifestSignature` returns false).
 */
export class IntegrityError extends TensorsafeError {
  declare readonly code: IntegrityErrorCode;
  constructor(code: IntegrityErrorCode, message: string, options?: { cause?: unknown; location?: string }) {
    super(code, message, options);
    this.name = 'IntegrityError';
  }
}

