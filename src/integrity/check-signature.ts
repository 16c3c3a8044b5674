/**
 * A file checked against its signature, as `tensorsafe verify-signature` checks it and the page does:
 * the signature over the manifest with the given public key first, then (only when it is valid: an
 * unsigned manifest proves nothing) the file against the signed manifest, each change named. A file
 * that is no longer valid safetensors is a change of its header, not an error.
 */
import { SafetensorError } from '../errors.js';
import { compareManifests, type Manifest, type ManifestChange } from './manifest.js';
import type { Ed25519PublicKey } from './pem.js';
import { signedWith, verifyManifestSignature, type Ed25519Backend, type SignatureFile } from './signature.js';

export interface SignatureCheck {
  /** The signature is valid for the key and the file is exactly what was signed. */
  ok: boolean;
  /** The signature file was signed by the key's private half and not altered. */
  signatureValid: boolean;
  /** What differs between the signed manifest and the file (empty when the signature is not valid). */
  changes: ManifestChange[];
  /** From the signature file. */
  signedAt: string | undefined;
  /** Whether the signature file names the given key as its signer (informational). */
  keyMatches: boolean;
}

export interface SignedFile {
  /** The file's size in bytes. */
  readonly size: number;
  /** Its manifest now (hashSafetensors over it); a SafetensorError when it is no longer valid safetensors. */
  hash(): Promise<Manifest>;
}

export async function checkSignature(file: SignedFile, sig: SignatureFile, key: Ed25519PublicKey, backend?: Ed25519Backend): Promise<SignatureCheck> {
  const signatureValid = await verifyManifestSignature(sig, key, backend ? { backend } : {});
  const base = { signedAt: sig.signedAt, keyMatches: signedWith(sig, key) };
  if (!signatureValid) return { ok: false, signatureValid, changes: [], ...base };
  let changes: ManifestChange[];
  try {
    changes = compareManifests(sig.manifest, await file.hash()).changes;
  } catch (e) {
    if (!(e instanceof SafetensorError)) throw e;
    changes = [];
    if (file.size !== sig.manifest.size) changes.push({ what: 'size', expected: sig.manifest.size, actual: file.size, reason: `the file is ${file.size} bytes; it was ${sig.manifest.size}` });
    changes.push({ what: 'header', expected: sig.manifest.header, actual: null, reason: `the file is no longer a valid safetensors file: ${e.code}: ${e.message}` });
  }
  return { ok: changes.length === 0, signatureValid, changes, ...base };
}

/** One change in words, as verify-signature prints it: ``tensor `w`: its bytes changed``. */
export function describeChange(c: ManifestChange): string {
  switch (c.what) {
    case 'tensor':
      return `tensor \`${c.name}\`: ${c.reason}`;
    case 'metadata':
      return c.name === undefined
        ? `metadata: ${c.reason}`
        : `metadata \`${c.name}\`: ${c.reason}${c.expected != null && c.actual != null ? ` (${JSON.stringify(c.expected)} → ${JSON.stringify(c.actual)})` : ''}`;
    case 'header':
      return `header: ${c.reason}`;
    case 'size':
      return `size: ${c.reason}`;
  }
}

/** A signature check in words, as verify-signature prints it: a verdict after the file's name, then detail lines. */
export interface SignatureCheckText {
  /** Follows the file's name: `: signature valid (Ed25519 key key.pub.pem, signed …); the header and every tensor match`. */
  readonly verdict: string;
  readonly details: string[];
}

/** `keyName` and `sigName` as the user named them (paths on the command line, file names in the page). */
export function signatureCheckText(c: SignatureCheck, keyName: string, sigName: string): SignatureCheckText {
  const when = c.signedAt ? `, signed ${c.signedAt}` : '';
  if (!c.signatureValid) {
    return {
      verdict: `: the signature is NOT valid for ${keyName}`,
      details: [
        c.keyMatches
          ? `${sigName} names ${keyName} as its signer, but its content was altered after it was signed`
          : `${sigName} was not signed with the private half of ${keyName} (it names another signer key), or it was altered`,
        'nothing in the signature file can be trusted, so the file was not compared with it',
      ],
    };
  }
  if (c.ok) return { verdict: `: signature valid (Ed25519 key ${keyName}${when}); the header and every tensor match`, details: [] };
  return { verdict: `: the signature is valid (Ed25519 key ${keyName}${when}), but the file changed since it was signed:`, details: c.changes.map(describeChange) };
}
