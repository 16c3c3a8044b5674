/**
 * Ed25519 keys in PEM, as OpenSSL writes them:
 *   openssl genpkey -algorithm ed25519 -out key.pem        (PKCS#8, "-----BEGIN PRIVATE KEY-----")
 *   openssl pkey -in key.pem -pubout -out key.pub.pem      (SPKI, "-----BEGIN PUBLIC KEY-----")
 * Only as much DER as these two structures need is read (RFC 5958, RFC 5280, RFC 8410); every other
 * kind of key is named in the error, so that a person knows what they passed.
 */
import { IntegrityError } from './errors.js';
import { fromBase64, toBase64 } from './encoding.js';

/** An Ed25519 private key: the 32-byte seed of RFC 8032. */
export interface Ed25519PrivateKey {
  readonly type: 'ed25519-private';
  readonly seed: Uint8Array;
}

/** An Ed25519 public key: the 32-byte encoded point of RFC 8032. */
export interface Ed25519PublicKey {
  readonly type: 'ed25519-public';
  readonly raw: Uint8Array;
}

/** The commands that make a usable key pair, for error messages and --help. */
export const KEYGEN_HINT = 'make a key pair with: openssl genpkey -algorithm ed25519 -out key.pem && openssl pkey -in key.pem -pubout -out key.pub.pem';

/** 1.3.101.112 (RFC 8410). */
const OID_ED25519 = '2b6570';
const OID_NAMES: Record<string, string> = {
  '2b6570': 'an Ed25519',
  '2b6571': 'an Ed448',
  '2b656e': 'an X25519 (key agreement, not signing)',
  '2b656f': 'an X448 (key agreement, not signing)',
  '2a864886f70d010101': 'an RSA',
  '2a864886f70d01010a': 'an RSA-PSS',
  '2a8648ce3d0201': 'an EC (ECDSA)',
  '2a8648ce380401': 'a DSA',
  '2a864886f70d010301': 'a DH',
};

/** PEM labels that are keys or key containers, other than the two this module reads. */
const OTHER_LABELS: Record<string, string> = {
  'RSA PRIVATE KEY': 'an RSA private key (PKCS#1)',
  'RSA PUBLIC KEY': 'an RSA public key (PKCS#1)',
  'EC PRIVATE KEY': 'an EC (ECDSA) private key',
  'DSA PRIVATE KEY': 'a DSA private key',
  'ENCRYPTED PRIVATE KEY': 'an encrypted private key (decrypt it first: openssl pkey -in key.pem -out plain.pem)',
  'OPENSSH PRIVATE KEY': 'an OpenSSH private key (tensorsafe reads PKCS#8 PEM as OpenSSL writes it)',
  CERTIFICATE: 'a certificate (take its public key with: openssl x509 -in cert.pem -pubkey -noout)',
};

interface PemBlock {
  label: string;
  der: Uint8Array;
}

/** Reads a PKCS#8 Ed25519 private key from PEM text; `where` names the file in errors. */
export function parsePrivateKeyPem(pem: string, where = 'the private key'): Ed25519PrivateKey {
  const block = keyBlock(pem, where);
  if (block.label === 'PUBLIC KEY') {
    throw new IntegrityError('InvalidKey', `${where} is a public key; signing needs the private key (the file that starts with -----BEGIN PRIVATE KEY-----)`, { location: where });
  }
  if (block.label !== 'PRIVATE KEY') throw otherLabel(block.label, where, 'PRIVATE KEY');
  // PrivateKeyInfo ::= SEQUENCE { version INTEGER, algorithm AlgorithmIdentifier, privateKey OCTET STRING, … }
  const der = new Der(block.der, where);
  const info = der.sequence(0, true);
  const version = der.expect(info.start, 0x02, 'version');
  const algorithm = der.sequence(version.next);
  checkAlgorithm(der, algorithm, where, 'private');
  const outer = der.expect(algorithm.next, 0x04, 'privateKey');
  // CurvePrivateKey ::= OCTET STRING (32 bytes) inside the privateKey OCTET STRING.
  const inner = new Der(block.der.subarray(outer.start, outer.end), where);
  const seed = inner.expect(0, 0x04, 'CurvePrivateKey', true);
  if (seed.end - seed.start !== 32) throw malformed(where, `an Ed25519 private key is 32 bytes, this one ${seed.end - seed.start}`);
  return { type: 'ed25519-private', seed: block.der.slice(outer.start + seed.start, outer.start + seed.end) };
}

/** Reads an SPKI Ed25519 public key from PEM text; `where` names the file in errors. */
export function parsePublicKeyPem(pem: string, where = 'the public key'): Ed25519PublicKey {
  const block = keyBlock(pem, where);
  if (block.label === 'PRIVATE KEY') {
    throw new IntegrityError(
      'InvalidKey',
      `${where} is a private key; verifying takes the public key (make it with: openssl pkey -in ${where} -pubout -out key.pub.pem), and the private key should not be shared`,
      { location: where },
    );
  }
  if (block.label !== 'PUBLIC KEY') throw otherLabel(block.label, where, 'PUBLIC KEY');
  // SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING }
  const der = new Der(block.der, where);
  const info = der.sequence(0, true);
  const algorithm = der.sequence(info.start);
  checkAlgorithm(der, algorithm, where, 'public');
  const bits = der.expect(algorithm.next, 0x03, 'subjectPublicKey');
  if (bits.next !== info.end) throw malformed(where, 'unexpected data after the public key');
  if (bits.end - bits.start !== 33 || block.der[bits.start] !== 0) {
    throw malformed(where, `an Ed25519 public key is 32 bytes, this one ${Math.max(0, bits.end - bits.start - 1)}`);
  }
  return { type: 'ed25519-public', raw: block.der.slice(bits.start + 1, bits.end) };
}

/** PKCS#8 DER of a seed (what WebCrypto's importKey('pkcs8') takes). */
export function pkcs8FromSeed(seed: Uint8Array): Uint8Array {
  return concat(hexBytes('302e020100300506032b657004220420'), seed);
}

/** SPKI DER of a raw public key. */
export function spkiFromRaw(raw: Uint8Array): Uint8Array {
  return concat(hexBytes('302a300506032b6570032100'), raw);
}

/** PEM text of DER bytes under a label, 64 characters a line, as OpenSSL writes it. */
export function toPem(label: string, der: Uint8Array): string {
  const lines = toBase64(der).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** PEM of an Ed25519 private key (PKCS#8) and of a public key (SPKI). */
export const privateKeyToPem = (key: Ed25519PrivateKey): string => toPem('PRIVATE KEY', pkcs8FromSeed(key.seed));
export const publicKeyToPem = (key: Ed25519PublicKey): string => toPem('PUBLIC KEY', spkiFromRaw(key.raw));

/** The first key block of the text (EC PARAMETERS blocks, which openssl ecparam writes first, are skipped). */
function keyBlock(pem: string, where: string): PemBlock {
  if (/^\s*ssh-(ed25519|rsa|dss)|^\s*ecdsa-sha2-/.test(pem)) {
    throw new IntegrityError('InvalidKey', `${where} is an OpenSSH public key; tensorsafe reads PEM keys as OpenSSL writes them (${KEYGEN_HINT})`, { location: where });
  }
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;
  let sawBlock = false;
  for (const m of pem.matchAll(re)) {
    sawBlock = true;
    const [, label, body, endLabel] = m as unknown as [string, string, string, string];
    if (label !== endLabel) throw malformed(where, `a block begins as ${label} and ends as ${endLabel}`);
    if (label === 'EC PARAMETERS') continue;
    if (/^\s*[A-Za-z-]+:/m.test(body)) {
      if (label === 'RSA PRIVATE KEY' || label === 'EC PRIVATE KEY' || label === 'DSA PRIVATE KEY') throw otherLabel(label, where, 'PRIVATE KEY');
      throw malformed(where, 'PEM headers (Proc-Type, DEK-Info) are not supported: an encrypted key? decrypt it first with openssl pkey');
    }
    const b64 = body.replace(/\s+/g, '');
    return { label, der: fromBase64(b64, 'InvalidPem', `${where}'s PEM body`) };
  }
  throw malformed(where, sawBlock ? 'no key in it' : 'no "-----BEGIN …-----" block: not a PEM file');
}

function otherLabel(label: string, where: string, wanted: 'PRIVATE KEY' | 'PUBLIC KEY'): IntegrityError {
  const what = OTHER_LABELS[label] ?? `a PEM "${label}" block`;
  const need = wanted === 'PRIVATE KEY' ? 'an Ed25519 private key (-----BEGIN PRIVATE KEY-----)' : 'an Ed25519 public key (-----BEGIN PUBLIC KEY-----)';
  return new IntegrityError('InvalidKey', `${where} is ${what}; tensorsafe signs with Ed25519 and needs ${need}; ${KEYGEN_HINT}`, { location: where });
}

function checkAlgorithm(der: Der, algorithm: Tlv, where: string, role: 'private' | 'public'): void {
  const oid = der.expect(algorithm.start, 0x06, 'algorithm OID');
  const hex = der.hex(oid.start, oid.end);
  if (hex !== OID_ED25519) {
    const name = OID_NAMES[hex] ?? `an unrecognised (OID ${hex})`;
    throw new IntegrityError('InvalidKey', `${where} is ${name} ${role} key; tensorsafe signs with Ed25519 only; ${KEYGEN_HINT}`, { location: where });
  }
  // RFC 8410: the parameters are absent.
  if (oid.next !== algorithm.end) throw malformed(where, 'Ed25519 takes no algorithm parameters');
}

interface Tlv {
  tag: number;
  /** Content start and end, and where the next element starts. */
  start: number;
  end: number;
  next: number;
}

/** Just enough DER: definite lengths, one-byte tags. */
class Der {
  constructor(
    private readonly bytes: Uint8Array,
    private readonly where: string,
  ) {}

  read(at: number): Tlv {
    const b = this.bytes;
    if (at + 2 > b.byteLength) throw malformed(this.where, 'truncated DER');
    const tag = b[at]!;
    let len = b[at + 1]!;
    let start = at + 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n === 0 || n > 3 || start + n > b.byteLength) throw malformed(this.where, 'bad DER length');
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + b[start + i]!;
      start += n;
    }
    const end = start + len;
    if (end > b.byteLength) throw malformed(this.where, 'truncated DER');
    return { tag, start, end, next: end };
  }

  expect(at: number, tag: number, what: string, whole = false): Tlv {
    const tlv = this.read(at);
    if (tlv.tag !== tag) throw malformed(this.where, `expected ${what}`);
    if (whole && tlv.end !== this.bytes.byteLength) throw malformed(this.where, `unexpected data after ${what}`);
    return tlv;
  }

  sequence(at: number, whole = false): Tlv {
    return this.expect(at, 0x30, 'a SEQUENCE', whole);
  }

  hex(start: number, end: number): string {
    let s = '';
    for (let i = start; i < end; i++) s += this.bytes[i]!.toString(16).padStart(2, '0');
    return s;
  }
}

function malformed(where: string, detail: string): IntegrityError {
  return new IntegrityError('InvalidPem', `${where} is not a valid PEM key: ${detail}`, { location: where });
}

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a);
  out.set(b, a.byteLength);
  return out;
}
