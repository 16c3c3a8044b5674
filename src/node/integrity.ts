/**
 * Hashes and signatures of local files: node:crypto for SHA-256 (several times faster than the
 * TypeScript one browsers use) and for Ed25519, FileSource for bounded reads, atomic writes for .sig.
 */
import * as fs from 'node:fs';
import { createHash, createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import { inFile, IoError, TensorsafeError } from '../errors.js';
import * as nodePath from 'node:path';
import { IntegrityError } from '../integrity/errors.js';
import { MAX_PEM_BYTES, MAX_SIGNATURE_FILE_BYTES } from '../integrity/limits.js';
import { hashSafetensors, type HashOptions, type Manifest } from '../integrity/manifest.js';
import { checkSignature, type SignatureCheck } from '../integrity/check-signature.js';
import { parsePrivateKeyPem, parsePublicKeyPem, pkcs8FromSeed, spkiFromRaw, type Ed25519PrivateKey, type Ed25519PublicKey } from '../integrity/pem.js';
import { formatSignatureFile, parseSignatureFile, signManifest, type Ed25519Backend, type SignatureFile } from '../integrity/signature.js';
import type { Hasher } from '../integrity/sha256.js';
import { outputExists, writeFileAtomicSync } from './atomic-file.js';
import { FileSource, fileError, makeFolder, sameFile } from './file-source.js';
import { hubReferenceOf, openHubSource } from './hub.js';

/** node:crypto's SHA-256 as a Hasher. */
export function nodeSha256(): Hasher {
  const hash = createHash('sha256');
  return {
    update: (bytes) => void hash.update(bytes),
    digest: () => new Uint8Array(hash.digest()),
  };
}

/** Ed25519 with node:crypto (`crypto.sign(null, …)`). */
export const nodeEd25519: Ed25519Backend = {
  async sign(key, message) {
    return new Uint8Array(nodeSign(null, message, privateKeyObject(key)));
  },
  async verify(key, message, signature) {
    let k;
    try {
      k = createPublicKey({ key: Buffer.from(spkiFromRaw(key.raw)), format: 'der', type: 'spki' });
    } catch (e) {
      throw new IntegrityError('InvalidKey', `the public key is not a valid Ed25519 key: ${(e as Error).message}`, { cause: e });
    }
    try {
      return nodeVerify(null, message, k, signature);
    } catch {
      return false;
    }
  },
  async publicKeyOf(key) {
    const spki = createPublicKey(privateKeyObject(key)).export({ format: 'der', type: 'spki' });
    return { type: 'ed25519-public', raw: new Uint8Array(spki.subarray(spki.byteLength - 32)) };
  },
};

function privateKeyObject(key: Ed25519PrivateKey): ReturnType<typeof createPrivateKey> {
  return createPrivateKey({ key: Buffer.from(pkcs8FromSeed(key.seed)), format: 'der', type: 'pkcs8' });
}

/** The manifest of a safetensors file: its header's and every tensor's SHA-256, read in bounded chunks. */
export async function hashFile(path: string, options: Omit<HashOptions, 'hasher'> = {}): Promise<Manifest> {
  // A Hub file (hf://owner/repo[@revision]/path) is read from the local cache when there, else with range requests at its pinned commit.
  const hub = hubReferenceOf(path);
  const source = hub ? await openHubSource(hub) : await FileSource.open(path);
  try {
    return await hashSafetensors(source, { ...options, hasher: nodeSha256 });
  } catch (e) {
    throw inFile(e, path);
  } finally {
    await source.close?.();
  }
}

/** Reads a PEM private key file (`openssl genpkey -algorithm ed25519`). */
export function readPrivateKeyFile(path: string): Ed25519PrivateKey {
  return parsePrivateKeyPem(readSmallFile(path, MAX_PEM_BYTES, 'key'), path);
}

/** Reads a PEM public key file (`openssl pkey -pubout`). */
export function readPublicKeyFile(path: string): Ed25519PublicKey {
  return parsePublicKeyPem(readSmallFile(path, MAX_PEM_BYTES, 'key'), path);
}

/** Reads and checks a .sig file. */
export function readSignatureFile(path: string): SignatureFile {
  return parseSignatureFile(readSmallFile(path, MAX_SIGNATURE_FILE_BYTES, 'signature'), path);
}

export interface SignFileOptions {
  /** Where to write the signature (default: FILE.sig beside the file). */
  out?: string;
  /** Replace an existing signature file (default false: an existing one is an OutputExists error). */
  overwrite?: boolean;
  /** The signing time to record (default now); null records none. */
  signedAt?: Date | null;
  onProgress?: HashOptions['onProgress'];
}

/**
 * Hashes a safetensors file and writes its signed manifest to FILE.sig (atomically; never over an
 * existing one unless `overwrite`). Returns the signature file's path.
 */
export async function signFile(path: string, privateKeyPemPath: string, options: SignFileOptions = {}): Promise<string> {
  // An --out that ends with a separator names a folder (created when missing): FILE.sig goes in it.
  const out = options.out === undefined ? `${path}.sig` : /[\\/]$/.test(options.out) ? nodePath.join(options.out, `${nodePath.basename(path)}.sig`) : options.out;
  const overwrite = options.overwrite ?? false;
  if (sameFile(out, path)) {
    throw new TensorsafeError('InvalidArgument', `${out} is the file being signed: the signature would replace it; write the signature elsewhere (default: ${path}.sig)`, { location: out });
  }
  if (!overwrite && fs.existsSync(out)) throw outputExists(out);
  fileSize(path); // the file first: a missing model is named as such
  const key = readPrivateKeyFile(privateKeyPemPath); // before hashing: a wrong key fails at once
  const manifest = await hashFile(path, { onProgress: options.onProgress });
  const sig = await signManifest(manifest, key, { backend: nodeEd25519, signedAt: options.signedAt });
  // Like convert -o, a missing folder for the output is created.
  makeFolder(nodePath.dirname(out));
  writeFileAtomicSync(out, [new TextEncoder().encode(formatSignatureFile(sig))], { overwrite });
  return out;
}

export interface FileSignatureCheck extends SignatureCheck {
  file: string;
  sig: string;
}

/** Checks a file against its signature (integrity/check-signature.ts), hashing it with node:crypto. */
export async function verifyFileSignature(
  path: string,
  publicKeyPemPath: string,
  sigPath = `${path}.sig`,
  options: Omit<HashOptions, 'hasher'> = {},
): Promise<FileSignatureCheck> {
  fileSize(path); // the file first: a missing model is named as such, not its missing .sig
  const key = readPublicKeyFile(publicKeyPemPath);
  const sig = readSignatureFile(sigPath);
  const check = await checkSignature({ size: fileSize(path), hash: () => hashFile(path, options) }, sig, key, nodeEd25519);
  return { ...check, file: path, sig: sigPath };
}

function fileSize(path: string): number {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(path);
  } catch (cause) {
    throw fileError(path, cause);
  }
  if (stat.isDirectory()) throw new IoError('IsADirectory', `${path} is a directory, not a file`, { location: path });
  return stat.size;
}

/** A key or signature file, with a size limit; I/O failures are IoErrors naming the file. */
function readSmallFile(path: string, limit: number, what: 'key' | 'signature'): string {
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (cause) {
    const e = fileError(path, cause);
    if (e.code === 'NotFound' && what === 'signature') {
      throw new IoError('NotFound', `${path}: no such signature file (make one with: tensorsafe sign FILE --key key.pem)`, { cause, location: path });
    }
    throw e;
  }
  try {
    const stat = fs.fstatSync(fd);
    if (stat.isDirectory()) throw new IoError('IsADirectory', `${path} is a directory, not a file`, { location: path });
    if (stat.size > limit) {
      throw new IntegrityError(what === 'key' ? 'InvalidPem' : 'InvalidSignatureFile', `${path} is ${stat.size} bytes: too large for a ${what} file (at most ${limit})`, { location: path });
    }
    return fs.readFileSync(fd, 'utf8');
  } catch (e) {
    if (e instanceof IoError || e instanceof IntegrityError) throw e;
    throw fileError(path, e);
  } finally {
    fs.closeSync(fd);
  }
}
