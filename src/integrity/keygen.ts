/**
 * A new Ed25519 key pair from WebCrypto (for people who have none: the page offers it), as PEM text
 * in the two forms `openssl genpkey -algorithm ed25519` and `openssl pkey -pubout` write, which
 * `tensorsafe sign` and `verify-signature` read.
 */
import { IntegrityError } from './errors.js';
import { parsePrivateKeyPem, privateKeyToPem, publicKeyToPem, toPem } from './pem.js';

export interface Ed25519KeyPairPem {
  /** PKCS#8 ("BEGIN PRIVATE KEY"): keep it secret. */
  readonly privateKeyPem: string;
  /** SPKI ("BEGIN PUBLIC KEY"): share it beside the signatures. */
  readonly publicKeyPem: string;
}

export async function generateEd25519KeyPair(): Promise<Ed25519KeyPairPem> {
  const subtle = (globalThis as { crypto?: Crypto }).crypto?.subtle;
  if (!subtle) throw new IntegrityError('Ed25519Unavailable', 'this JavaScript engine has no WebCrypto (crypto.subtle): a key pair cannot be made here; make one with openssl genpkey -algorithm ed25519');
  let pair: CryptoKeyPair;
  try {
    pair = (await subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as CryptoKeyPair;
  } catch (e) {
    throw new IntegrityError('Ed25519Unavailable', `this browser's WebCrypto cannot make Ed25519 keys (${(e as Error).message}); make one with openssl genpkey -algorithm ed25519`, { cause: e });
  }
  // Read back through the PEM parser: the file written is exactly OpenSSL's form of the same seed.
  const pkcs8 = new Uint8Array(await subtle.exportKey('pkcs8', pair.privateKey));
  const privateKey = parsePrivateKeyPem(toPem('PRIVATE KEY', pkcs8), 'the generated key');
  const raw = new Uint8Array(await subtle.exportKey('raw', pair.publicKey));
  return { privateKeyPem: privateKeyToPem(privateKey), publicKeyPem: publicKeyToPem({ type: 'ed25519-public', raw }) };
}
