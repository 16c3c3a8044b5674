import { TensorsafeError } from '../errors.js';

/**
 * Errors of manifests, keys and signature files. A signature that does not verify is not an
 * error: it is a result (`verifyManifestSignature` returns false).
 */
export class IntegrityError extends TensorsafeError {
  constructor(code: IntegrityErrorCode, message: string, options?: { cause?: unknown; location?: string }) {
    super(code, message, options);
    this.name = 'IntegrityError';
  }
}

export type IntegrityErrorCode =
  /** Not a PEM block, bad base64, or DER that does not parse. */
  | 'InvalidPem'
  /** A well-formed key of the wrong kind: RSA, EC, Ed448, X25519, encrypted, or public where private is needed (and back). */
  | 'InvalidKey'
  /** A .sig that is not a tensorsafe signature file (bad JSON, wrong format or algorithm, missing fields). */
  | 'InvalidSignatureFile'
  /** A manifest that is not a tensorsafe manifest (in a .sig, or given to compareManifests). */
  | 'InvalidManifest'
  /** A value canonicalJson cannot write deterministically (NaN, undefined, a function, a BigInt, a cycle). */
  | 'NotCanonical'
  /** This JavaScript engine's WebCrypto has no Ed25519 (older browsers): pass a backend. */
  | 'Ed25519Unavailable';
