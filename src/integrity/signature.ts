/**
 * Signed manifests: Ed25519 over the canonical JSON of a signature file's content (everything but
 * the signature itself: format, algorithm, manifest, publicKey, signedAt), so that no field of the
 * file can be changed without breaking the signature.
 *
 * The default backend is WebCrypto (`crypto.subtle`, algorithm "Ed25519": Node ≥ 20, Chrome ≥ 137,
 * Firefox ≥ 129, Safari ≥ 17); Node's file functions pass node:crypto's instead. Both give the same
 * bytes: Ed25519 is deterministic.
 */
import { IntegrityError } from './errors.js';
import { bytesEqual, fromBase64, toBase64 } from './encoding.js';
import { canonicalJson, checkManifest, type Manifest } from './manifest.js';
import { parsePrivateKeyPem, parsePublicKeyPem, pkcs8FromSeed, type Ed25519PrivateKey, type Ed25519PublicKey } from './pem.js';

export const SIGNATURE_FORMAT = 'tensorsafe-signature/1';

/** A .sig file. */
export interface SignatureFile {
  format: typeof SIGNATURE_FORMAT;
  algorithm: 'Ed25519';
  /** When it was signed (ISO 8601, UTC); signed like every other field. */
  signedAt?: string;
  /** The signer's raw 32-byte public key, base64: informational, verification uses the key it is given. */
  publicKey: string;
  /** Ed25519 signature (64 bytes, base64) of signedBytes(this file). */
  signature: string;
  manifest: Manifest;
}

/** Ed25519 itself, so that Node can bring node:crypto and a browser WebCrypto. */
export interface Ed25519Backend {
  sign(key: Ed25519PrivateKey, message: Uint8Array): Promise<Uint8Array>;
  /** False for a signature that does not verify (never throws for one). */
  verify(key: Ed25519PublicKey, message: Uint8Array, signature: Uint8Array): Promise<boolean>;
  publicKeyOf(key: Ed25519PrivateKey): Promise<Ed25519PublicKey>;
}

export interface SignOptions {
  /** The signing time to record (default now); null records none. */
  signedAt?: Date | null;
  backend?: Ed25519Backend;
}

/** Signs a manifest with a private key (PEM text, as `openssl genpkey -algorithm ed25519` writes it, or parsed). */
export async function signManifest(manifest: Manifest, privateKey: Ed25519PrivateKey | string, options: SignOptions = {}): Promise<SignatureFile> {
  const key = typeof privateKey === 'string' ? parsePrivateKeyPem(privateKey) : privateKey;
  const backend = options.backend ?? webCryptoEd25519;
  const checked = checkManifest(manifest);
  const publicKey = await backend.publicKeyOf(key);
  const signedAt = options.signedAt === null ? undefined : (options.signedAt ?? new Date()).toISOString();
  const unsigned: Omit<SignatureFile, 'signature'> = {
    format: SIGNATURE_FORMAT,
    algorithm: 'Ed25519',
    ...(signedAt === undefined ? {} : { signedAt }),
    publicKey: toBase64(publicKey.raw),
    manifest: checked,
  };
  const signature = await backend.sign(key, signedBytes(unsigned));
  return { ...unsigned, signature: toBase64(signature), manifest: checked };
}

/**
 * True when the signature file was signed by the private half of `publicKey` and not changed since
 * (a .sig as JSON text, or parsed). A malformed file is an InvalidSignatureFile error; a signature
 * that does not match is `false`, never an error.
 */
export async function verifyManifestSignature(
  sig: SignatureFile | string,
  publicKey: Ed25519PublicKey | string,
  options: { backend?: Ed25519Backend } = {},
): Promise<boolean> {
  const file = typeof sig === 'string' ? parseSignatureFile(sig) : checkSignatureFile(sig);
  const key = typeof publicKey === 'string' ? parsePublicKeyPem(publicKey) : publicKey;
  const signature = fromBase64(file.signature, 'InvalidSignatureFile', 'the signature');
  return (options.backend ?? webCryptoEd25519).verify(key, signedBytes(file), signature);
}

/** The bytes the signature covers: the UTF-8 canonical JSON of the file without its `signature` (dropped if present). */
export function signedBytes(sig: Omit<SignatureFile, 'signature'> & { signature?: string }): Uint8Array {
  const { signature: _signature, ...unsigned } = sig;
  return new TextEncoder().encode(canonicalJson(unsigned));
}

/**
 * A .sig file's text: indented JSON with one line per tensor (the signature does not depend on the
 * formatting; any JSON with the same values verifies).
 */
export function formatSignatureFile(sig: SignatureFile): string {
  const j = JSON.stringify;
  const m = sig.manifest;
  const lines = ['{', `  "format": ${j(sig.format)},`, `  "algorithm": ${j(sig.algorithm)},`];
  if (sig.signedAt !== undefined) lines.push(`  "signedAt": ${j(sig.signedAt)},`);
  lines.push(`  "publicKey": ${j(sig.publicKey)},`, `  "signature": ${j(sig.signature)},`, '  "manifest": {');
  lines.push(`    "format": ${j(m.format)},`, `    "algorithm": ${j(m.algorithm)},`, `    "file": ${j(m.file)},`, `    "size": ${j(m.size)},`);
  lines.push(`    "header": ${j(m.header)},`, `    "metadata": ${j(m.metadata)},`);
  const names = Object.keys(m.tensors);
  if (names.length === 0) lines.push('    "tensors": {}');
  else {
    lines.push('    "tensors": {');
    names.forEach((name, i) => {
      const t = m.tensors[name]!;
      const entry = { dtype: t.dtype, shape: t.shape, byteLength: t.byteLength, sha256: t.sha256 };
      lines.push(`      ${j(name)}: ${j(entry)}${i + 1 < names.length ? ',' : ''}`);
    });
    lines.push('    }');
  }
  lines.push('  }', '}');
  return lines.join('\n') + '\n';
}

/** Parses and checks a .sig file's text; anything malformed is an InvalidSignatureFile error. */
export function parseSignatureFile(text: string, where = 'the signature file'): SignatureFile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new IntegrityError('InvalidSignatureFile', `${where} is not JSON: ${(cause as Error).message}`, { cause, location: where });
  }
  return checkSignatureFile(value, where);
}

const FIELDS = new Set(['format', 'algorithm', 'signedAt', 'publicKey', 'signature', 'manifest']);

/** Checks that a value is a signature file, field by field. */
export function checkSignatureFile(value: unknown, where = 'the signature file'): SignatureFile {
  const fail = (detail: string, cause?: unknown): never => {
    throw new IntegrityError('InvalidSignatureFile', `${where} is not a tensorsafe signature file: ${detail}`, { cause, location: where });
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('not a JSON object');
  const v = value as Record<string, unknown>;
  if (v['format'] !== SIGNATURE_FORMAT) return fail(`format is ${JSON.stringify(v['format'])}, expected "${SIGNATURE_FORMAT}"`);
  if (v['algorithm'] !== 'Ed25519') return fail(`algorithm is ${JSON.stringify(v['algorithm'])}, expected "Ed25519"`);
  const extra = Object.keys(v).filter((k) => !FIELDS.has(k));
  if (extra.length > 0) return fail(`unknown field${extra.length === 1 ? '' : 's'} ${extra.map((k) => JSON.stringify(k)).join(', ')}`);
  if (v['signedAt'] !== undefined && (typeof v['signedAt'] !== 'string' || Number.isNaN(Date.parse(v['signedAt'])))) return fail('signedAt is not a time');
  if (typeof v['signature'] !== 'string' || fromBase64Or(v['signature'])?.byteLength !== 64) return fail('signature is not 64 bytes of base64');
  if (typeof v['publicKey'] !== 'string' || fromBase64Or(v['publicKey'])?.byteLength !== 32) return fail('publicKey is not 32 bytes of base64');
  try {
    checkManifest(v['manifest'], `${where}: manifest`);
  } catch (e) {
    return fail((e as Error).message, e);
  }
  return value as SignatureFile;
}

/** The signer's public key recorded in a signature file, and whether it is the given one. */
export function signedWith(sig: SignatureFile, key: Ed25519PublicKey): boolean {
  const recorded = fromBase64Or(sig.publicKey);
  return recorded !== undefined && bytesEqual(recorded, key.raw);
}

function fromBase64Or(text: string): Uint8Array | undefined {
  try {
    return fromBase64(text, 'InvalidSignatureFile', 'value');
  } catch {
    return undefined;
  }
}

const ED25519 = { name: 'Ed25519' } as const;

function subtle(): SubtleCrypto {
  const s = (globalThis as { crypto?: Crypto }).crypto?.subtle;
  if (!s) throw unavailable();
  return s;
}

function unavailable(cause?: unknown): IntegrityError {
  return new IntegrityError(
    'Ed25519Unavailable',
    'this JavaScript engine\'s WebCrypto has no Ed25519 (it needs Node ≥ 20, Chrome ≥ 137, Firefox ≥ 129 or Safari ≥ 17, in a secure context); pass another Ed25519Backend',
    { cause },
  );
}

/** Runs a WebCrypto call; "not supported" becomes Ed25519Unavailable. */
async function webCrypto<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if ((e as { name?: string })?.name === 'NotSupportedError') throw unavailable(e);
    throw e;
  }
}

/** A fresh copy in an ArrayBuffer of its own (what WebCrypto's BufferSource type wants). */
const own = (bytes: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(bytes);

/** Ed25519 with WebCrypto's `crypto.subtle`. */
export const webCryptoEd25519: Ed25519Backend = {
  async sign(key, message) {
    const s = subtle();
    const k = await webCrypto(() => s.importKey('pkcs8', own(pkcs8FromSeed(key.seed)), ED25519, false, ['sign']));
    return new Uint8Array(await webCrypto(() => s.sign(ED25519, k, own(message))));
  },
  async verify(key, message, signature) {
    const s = subtle();
    let k: CryptoKey;
    try {
      k = await s.importKey('raw', own(key.raw), ED25519, false, ['verify']);
    } catch (e) {
      if ((e as { name?: string })?.name === 'NotSupportedError') throw unavailable(e);
      throw new IntegrityError('InvalidKey', `the public key is not a valid Ed25519 key: ${(e as Error).message}`, { cause: e });
    }
    try {
      return await s.verify(ED25519, k, own(signature), own(message));
    } catch {
      return false; // a signature or key WebCrypto cannot even parse does not verify
    }
  },
  async publicKeyOf(key) {
    const s = subtle();
    const k = await webCrypto(() => s.importKey('pkcs8', own(pkcs8FromSeed(key.seed)), ED25519, true, ['sign']));
    const jwk = await webCrypto(() => s.exportKey('jwk', k));
    const x = jwk.x ?? '';
    const b64 = x.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (x.length % 4)) % 4);
    return { type: 'ed25519-public', raw: fromBase64(b64, 'InvalidKey', 'the public key WebCrypto derived') };
  },
};
