import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { runCli } from './helpers/cli.js';
import { saveFileSync } from '../src/node/files.js';
import { safeOpen } from '../src/node/open-path.js';
import { save } from '../src/safetensors/save.js';
import { MemorySource, type ByteSource } from '../src/io/byte-source.js';
import { IntegrityError } from '../src/integrity/errors.js';
import { canonicalJson, checkManifest, compareManifests, hashSafetensors, type Manifest } from '../src/integrity/manifest.js';
import { parsePrivateKeyPem, parsePublicKeyPem, privateKeyToPem, publicKeyToPem } from '../src/integrity/pem.js';
import { formatSignatureFile, parseSignatureFile, signedBytes, signManifest, verifyManifestSignature, webCryptoEd25519, type SignatureFile } from '../src/integrity/signature.js';
import { hashFile, nodeEd25519, readSignatureFile, signFile, verifyFileSignature } from '../src/node/integrity.js';
import type { TensorsInput } from '../src/safetensors/tensor-input.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tensorsafe-integrity-'));
const at = (name: string): string => path.join(tmp, name);
const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

/** Keys as a person makes them: openssl when present, else node:crypto's PEM export. */
function makeKeyPair(name: string): { key: string; pub: string } {
  const key = at(`${name}.pem`);
  const pub = at(`${name}.pub.pem`);
  if (hasOpenssl) {
    execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', key]);
    execFileSync('openssl', ['pkey', '-in', key, '-pubout', '-out', pub]);
  } else {
    const pair = generateKeyPairSync('ed25519');
    fs.writeFileSync(key, pair.privateKey.export({ format: 'pem', type: 'pkcs8' }));
    fs.writeFileSync(pub, pair.publicKey.export({ format: 'pem', type: 'spki' }));
  }
  return { key, pub };
}

function tensors(metadataValue = 'pt'): { input: TensorsInput; metadata: Record<string, string> } {
  // A Map: in an object literal, `__proto__: …` would set the prototype rather than name a tensor.
  const input = new Map<string, { dtype: 'F32' | 'BF16' | 'I64' | 'F16' | 'U8' | 'I8'; shape: number[]; data: ArrayBufferView }>([
    ['embed.weight', { dtype: 'F32', shape: [64, 32], data: new Float32Array(64 * 32).map((_, i) => Math.sin(i)) }],
    ['layer.0.bias', { dtype: 'BF16', shape: [32], data: new Uint16Array(32).map((_, i) => 0x3f80 + i) }],
    ['position_ids', { dtype: 'I64', shape: [8], data: new BigInt64Array(8).map((_, i) => BigInt(i)) }],
    ['empty', { dtype: 'F16', shape: [0, 4], data: new Uint16Array(0) }],
    ['constructor', { dtype: 'U8', shape: [3], data: new Uint8Array([1, 2, 3]) }],
    ['__proto__', { dtype: 'I8', shape: [2], data: new Int8Array([-1, 1]) }],
  ]);
  return { input: input as unknown as TensorsInput, metadata: { format: metadataValue, producer: 'tensorsafe tests' } };
}

function writeModel(file: string, metadataValue = 'pt'): void {
  const t = tensors(metadataValue);
  saveFileSync(t.input, file, { metadata: t.metadata });
}

/** Flips one byte inside a tensor's bytes. */
async function flipByteOf(file: string, tensor: string, delta = 0): Promise<void> {
  const handle = await safeOpen(file);
  const info = handle.info(tensor);
  await handle.close();
  const bytes = fs.readFileSync(file);
  bytes[info.byteOffset + delta]! ^= 0x01;
  fs.writeFileSync(file, bytes);
}

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let keys: { key: string; pub: string };
let other: { key: string; pub: string };
beforeAll(() => {
  keys = makeKeyPair('signer');
  other = makeKeyPair('other');
});

describe('manifests', () => {
  it('hash the header and every tensor; a file and the same bytes in memory give the same manifest', async () => {
    const file = at('m.safetensors');
    writeModel(file);
    const bytes = new Uint8Array(fs.readFileSync(file));
    const fromFile = await hashFile(file);
    const fromMemory = await hashSafetensors(new MemorySource(bytes, '/elsewhere/m.safetensors'));
    expect(fromMemory).toEqual(fromFile);
    expect(canonicalJson(fromMemory)).toBe(canonicalJson(fromFile));

    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
    expect(fromFile).toMatchObject({ format: 'tensorsafe-manifest/1', algorithm: 'sha256', file: 'm.safetensors', size: bytes.length });
    expect(fromFile.header).toBe(sha(bytes.subarray(0, 8 + n)));
    expect(fromFile.metadata).toEqual({ format: 'pt', producer: 'tensorsafe tests' });
    expect(Object.keys(fromFile.tensors)).toEqual(['__proto__', 'constructor', 'embed.weight', 'empty', 'layer.0.bias', 'position_ids']);
    expect(Object.getPrototypeOf(fromFile.tensors)).toBe(Object.prototype); // "__proto__" is an own key, not a prototype
    const embed = fromFile.tensors['embed.weight']!;
    expect(embed).toMatchObject({ dtype: 'F32', shape: [64, 32], byteLength: 64 * 32 * 4 });
    const t = tensors().input as unknown as Map<string, { data: ArrayBufferView }>;
    expect(embed.sha256).toBe(sha(new Uint8Array(t.get('embed.weight')!.data.buffer)));
    expect(fromFile.tensors['empty']!.sha256).toBe(sha(new Uint8Array(0)));
    expect(fromFile.tensors['__proto__']).toMatchObject({ dtype: 'I8', shape: [2], sha256: sha(new Uint8Array([0xff, 1])) });
    expect(fromFile.tensors['constructor']!.sha256).toBe(sha(new Uint8Array([1, 2, 3])));
  });

  it('the TypeScript SHA-256 (browsers) and node:crypto give the same manifest', async () => {
    const bytes = save(tensors().input, { metadata: tensors().metadata });
    const ts = await hashSafetensors(new MemorySource(bytes, 'x.safetensors'));
    const node = await hashSafetensors(new MemorySource(bytes, 'x.safetensors'), {
      hasher: () => {
        const h = createHash('sha256');
        return { update: (b: Uint8Array) => void h.update(b), digest: () => new Uint8Array(h.digest()) };
      },
    });
    expect(ts).toEqual(node);
  });

  it('reads the data buffer once, in file order, in chunks no larger than asked (memory does not grow with the file)', async () => {
    const bytes = save(
      { a: { dtype: 'F32', shape: [10_000], data: new Float32Array(10_000) }, b: { dtype: 'U8', shape: [12_345], data: new Uint8Array(12_345) } },
      {},
    );
    const inner = new MemorySource(bytes, 'counted');
    const reads: Array<[number, number]> = [];
    const counted: ByteSource = { name: inner.name, size: inner.size, read: (o, l) => (reads.push([o, l]), inner.read(o, l)) };
    const progress: number[] = [];
    await hashSafetensors(counted, { chunkBytes: 4096, onProgress: (p) => progress.push(p.bytesDone) });
    const dataReads = reads.slice(2); // the length prefix and the header JSON
    expect(Math.max(...dataReads.map(([, l]) => l))).toBeLessThanOrEqual(4096);
    let next = reads[1]![0] + reads[1]![1];
    for (const [o, l] of dataReads) {
      expect(o).toBe(next);
      next = o + l;
    }
    expect(next).toBe(bytes.length);
    expect(progress.at(-1)).toBe(bytes.length);
  });

  it('an invalid safetensors file is a coded error (validated before any tensor is read)', async () => {
    const notSafetensors = at('not.safetensors');
    fs.writeFileSync(notSafetensors, Buffer.from('PK\u0003\u0004 this is a zip, not safetensors, and long enough'));
    await expect(hashFile(notSafetensors)).rejects.toMatchObject({ name: 'SafetensorError', code: 'HeaderTooLarge' });
    const truncated = at('truncated.safetensors');
    writeModel(truncated);
    fs.truncateSync(truncated, fs.statSync(truncated).size - 3);
    await expect(hashFile(truncated)).rejects.toMatchObject({ code: 'MetadataIncompleteBuffer' });
    await expect(hashFile(at('missing.safetensors'))).rejects.toMatchObject({ name: 'IoError', code: 'NotFound' });
  });

  it('canonicalJson sorts keys by code point, has no spaces, and refuses what JSON cannot hold', () => {
    expect(canonicalJson({ b: 1, a: [true, null, 'x'], '\u{1F600}': 0, '\uE000': 0, A: { z: 1, y: 2 } })).toBe(
      '{"A":{"y":2,"z":1},"a":[true,null,"x"],"b":1,"\uE000":0,"\u{1F600}":0}',
    );
    expect(canonicalJson({ s: 'quote " backslash \\ newline \n', u: undefined })).toBe('{"s":"quote \\" backslash \\\\ newline \\n"}');
    const proto = JSON.parse('{"__proto__":{"x":1}}');
    expect(canonicalJson(proto)).toBe('{"__proto__":{"x":1}}');
    expect(() => canonicalJson({ x: NaN })).toThrow(expect.objectContaining({ code: 'NotCanonical' }));
    expect(() => canonicalJson({ x: 1n })).toThrow(expect.objectContaining({ code: 'NotCanonical' }));
    expect(() => canonicalJson(new Date())).toThrow(expect.objectContaining({ code: 'NotCanonical' }));
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(() => canonicalJson(cyclic)).toThrow(expect.objectContaining({ code: 'NotCanonical' }));
  });

  it('compareManifests names each tensor changed, added or removed, the header, metadata keys and the size', async () => {
    const a = await hashSafetensors(
      new MemorySource(save({ x: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) }, y: { dtype: 'U8', shape: [1], data: new Uint8Array([1]) } }, { metadata: { k: 'v', gone: '1' } })),
    );
    const b = await hashSafetensors(
      new MemorySource(save({ x: { dtype: 'F32', shape: [2], data: new Float32Array([1, 3]) }, z: { dtype: 'U8', shape: [1], data: new Uint8Array([1]) } }, { metadata: { k: 'w' } })),
    );
    expect(compareManifests(a, a)).toEqual({ ok: true, changes: [] });
    const { ok, changes } = compareManifests(a, b);
    expect(ok).toBe(false);
    expect(changes.map((c) => [c.what, c.name ?? null])).toEqual([
      ['size', null],
      ['header', null],
      ['metadata', 'gone'],
      ['metadata', 'k'],
      ['tensor', 'x'],
      ['tensor', 'y'],
      ['tensor', 'z'],
    ]);
    expect(changes[1]!.reason).toMatch(/metadata, 1 tensor added, 1 tensor removed/);
    expect(changes[4]!.reason).toMatch(/content changed/);
    expect(changes[5]!.reason).toMatch(/^removed/);
    expect(changes[6]!.reason).toMatch(/^added/);
    // A renamed file is the same file.
    expect(compareManifests(a, { ...a, file: 'renamed.safetensors' }).ok).toBe(true);
    expect(compareManifests(a, { ...a, size: a.size + 1 }).changes).toMatchObject([{ what: 'size', expected: a.size, actual: a.size + 1 }]);
  });

  it('checkManifest rejects what is not a manifest', async () => {
    const m = await hashSafetensors(new MemorySource(save({ x: { dtype: 'U8', shape: [1], data: new Uint8Array([1]) } })));
    expect(checkManifest(JSON.parse(JSON.stringify(m)))).toEqual(m);
    for (const bad of [null, [], { ...m, format: 'x' }, { ...m, header: 'abc' }, { ...m, tensors: { x: { ...m.tensors['x'], dtype: 'F128' } } }, { ...m, size: -1 }]) {
      expect(() => checkManifest(bad)).toThrow(expect.objectContaining({ code: 'InvalidManifest' }));
    }
  });
});

describe('keys', () => {
  it('reads openssl\'s Ed25519 PEM keys; writes the same PEM back', () => {
    const priv = parsePrivateKeyPem(fs.readFileSync(keys.key, 'utf8'));
    const pub = parsePublicKeyPem(fs.readFileSync(keys.pub, 'utf8'));
    expect(priv.seed.byteLength).toBe(32);
    expect(pub.raw.byteLength).toBe(32);
    expect(privateKeyToPem(priv)).toBe(fs.readFileSync(keys.key, 'utf8'));
    expect(publicKeyToPem(pub)).toBe(fs.readFileSync(keys.pub, 'utf8'));
  });

  it('names the wrong kind of key: RSA, EC, public for private and back, malformed PEM', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const x25519 = generateKeyPairSync('x25519');
    const code = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(IntegrityError);
        return `${(e as IntegrityError).code}: ${(e as Error).message}`;
      }
      return undefined;
    };
    expect(code(() => parsePrivateKeyPem(rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string))).toMatch(/^InvalidKey: .*an RSA private key.*Ed25519/);
    expect(code(() => parsePrivateKeyPem(rsa.privateKey.export({ format: 'pem', type: 'pkcs1' }) as string))).toMatch(/^InvalidKey: .*RSA private key \(PKCS#1\)/);
    expect(code(() => parsePublicKeyPem(rsa.publicKey.export({ format: 'pem', type: 'spki' }) as string))).toMatch(/^InvalidKey: .*RSA public key/);
    expect(code(() => parsePrivateKeyPem(ec.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string))).toMatch(/^InvalidKey: .*EC \(ECDSA\)/);
    expect(code(() => parsePrivateKeyPem(ec.privateKey.export({ format: 'pem', type: 'sec1' }) as string))).toMatch(/^InvalidKey: .*EC \(ECDSA\) private key/);
    expect(code(() => parsePrivateKeyPem(x25519.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string))).toMatch(/^InvalidKey: .*X25519/);
    expect(code(() => parsePrivateKeyPem(fs.readFileSync(keys.pub, 'utf8')))).toMatch(/^InvalidKey: .*is a public key; signing needs the private key/);
    expect(code(() => parsePublicKeyPem(fs.readFileSync(keys.key, 'utf8')))).toMatch(/^InvalidKey: .*is a private key; verifying takes the public key/);
    expect(code(() => parsePrivateKeyPem('hello'))).toMatch(/^InvalidPem: .*not a PEM file/);
    expect(code(() => parsePrivateKeyPem('-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n'))).toMatch(/^InvalidPem: .*not base64/);
    expect(code(() => parsePrivateKeyPem('-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIEK0rrJlf5630LYouSxRcoZN\n-----END PRIVATE KEY-----\n'))).toMatch(/^InvalidPem: .*truncated DER/);
    expect(code(() => parsePrivateKeyPem('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PUBLIC KEY-----\n'))).toMatch(/^InvalidPem/);
    expect(code(() => parsePublicKeyPem('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me@host'))).toMatch(/^InvalidKey: .*OpenSSH/);
  });

  it.runIf(hasOpenssl)('names RSA and EC keys made by openssl, and an encrypted key', () => {
    execFileSync('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024', '-out', at('rsa.pem')], { stdio: 'ignore' });
    execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-out', at('ec.pem')], { stdio: 'ignore' });
    execFileSync('openssl', ['pkey', '-in', keys.key, '-aes256', '-passout', 'pass:secret', '-out', at('enc.pem')], { stdio: 'ignore' });
    expect(() => parsePrivateKeyPem(fs.readFileSync(at('rsa.pem'), 'utf8'))).toThrow(expect.objectContaining({ code: 'InvalidKey', message: expect.stringMatching(/RSA/) }));
    expect(() => parsePrivateKeyPem(fs.readFileSync(at('ec.pem'), 'utf8'))).toThrow(expect.objectContaining({ code: 'InvalidKey', message: expect.stringMatching(/EC/) }));
    expect(() => parsePrivateKeyPem(fs.readFileSync(at('enc.pem'), 'utf8'))).toThrow(expect.objectContaining({ code: 'InvalidKey', message: expect.stringMatching(/encrypted/) }));
  });
});

describe('signatures', () => {
  let manifest: Manifest;
  beforeAll(async () => {
    manifest = await hashSafetensors(new MemorySource(save(tensors().input, { metadata: tensors().metadata }), 'model.safetensors'));
  });

  it('node:crypto and WebCrypto agree: each verifies the other\'s signature, and the bytes are the same (Ed25519 is deterministic)', async () => {
    const key = parsePrivateKeyPem(fs.readFileSync(keys.key, 'utf8'));
    const pub = fs.readFileSync(keys.pub, 'utf8');
    const signedAt = new Date('2026-01-02T03:04:05.000Z');
    const byNode = await signManifest(manifest, key, { backend: nodeEd25519, signedAt });
    const byWeb = await signManifest(manifest, key, { backend: webCryptoEd25519, signedAt });
    expect(byWeb).toEqual(byNode);
    expect(await verifyManifestSignature(byNode, pub, { backend: webCryptoEd25519 })).toBe(true);
    expect(await verifyManifestSignature(byWeb, pub, { backend: nodeEd25519 })).toBe(true);
    expect(byNode.publicKey).toBe(Buffer.from(parsePublicKeyPem(pub).raw).toString('base64'));
    // Both reject the other key.
    const otherPub = fs.readFileSync(other.pub, 'utf8');
    expect(await verifyManifestSignature(byNode, otherPub, { backend: webCryptoEd25519 })).toBe(false);
    expect(await verifyManifestSignature(byNode, otherPub, { backend: nodeEd25519 })).toBe(false);
  });

  it.runIf(hasOpenssl)('openssl verifies the signature over the canonical JSON of the file without its signature', async () => {
    const sig = await signManifest(manifest, fs.readFileSync(keys.key, 'utf8'));
    fs.writeFileSync(at('payload.json'), signedBytes(sig));
    fs.writeFileSync(at('payload.sig'), Buffer.from(sig.signature, 'base64'));
    expect(fs.readFileSync(at('payload.json'), 'utf8')).toMatch(/^\{"algorithm":"Ed25519","format":"tensorsafe-signature\/1","manifest":\{"algorithm":"sha256",.*\},"publicKey":"[^"]+","signedAt":"[^"]+"\}$/);
    const r = spawnSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', keys.pub, '-rawin', '-in', at('payload.json'), '-sigfile', at('payload.sig')], { encoding: 'utf8' });
    expect(r.stdout).toMatch(/Signature Verified Successfully/);
  });

  it('every field is signed: a changed manifest, time or recorded key makes the signature invalid', async () => {
    const pub = fs.readFileSync(keys.pub, 'utf8');
    const sig = await signManifest(manifest, fs.readFileSync(keys.key, 'utf8'));
    expect(await verifyManifestSignature(sig, pub)).toBe(true);
    const text = JSON.stringify(sig);
    expect(await verifyManifestSignature(text, pub)).toBe(true);
    const tampered: SignatureFile = structuredClone(sig);
    tampered.manifest.tensors['embed.weight']!.sha256 = '0'.repeat(64);
    expect(await verifyManifestSignature(tampered, pub)).toBe(false);
    expect(await verifyManifestSignature({ ...sig, signedAt: '2020-01-01T00:00:00.000Z' }, pub)).toBe(false);
    expect(await verifyManifestSignature({ ...sig, publicKey: Buffer.alloc(32).toString('base64') }, pub)).toBe(false);
    expect(await verifyManifestSignature({ ...sig, manifest: { ...sig.manifest, file: 'other.safetensors' } }, pub)).toBe(false);
    const unsignedTime = await signManifest(manifest, fs.readFileSync(keys.key, 'utf8'), { signedAt: null });
    expect(unsignedTime.signedAt).toBeUndefined();
    expect(await verifyManifestSignature(unsignedTime, pub)).toBe(true);
  });

  it('the .sig text (one line per tensor) parses back to the same signature file, awkward names included', async () => {
    const sig = await signManifest(manifest, fs.readFileSync(keys.key, 'utf8'));
    const text = formatSignatureFile(sig);
    expect(text).toMatch(/\n {6}"__proto__": \{"dtype":"I8","shape":\[2\],"byteLength":2,"sha256":"[0-9a-f]{64}"\},\n/);
    const parsed = parseSignatureFile(text);
    expect(parsed).toEqual(sig);
    expect(Object.keys(parsed.manifest.tensors)).toEqual(Object.keys(sig.manifest.tensors));
    expect(await verifyManifestSignature(text, fs.readFileSync(keys.pub, 'utf8'))).toBe(true);
    const empty = await signManifest(await hashSafetensors(new MemorySource(save({}))), fs.readFileSync(keys.key, 'utf8'), { signedAt: null });
    expect(parseSignatureFile(formatSignatureFile(empty))).toEqual(empty);
  });

  it('a malformed signature file is an InvalidSignatureFile error; a public key cannot sign', async () => {
    const sig = await signManifest(manifest, fs.readFileSync(keys.key, 'utf8'));
    const bad = (text: string): Promise<unknown> => verifyManifestSignature(text, fs.readFileSync(keys.pub, 'utf8'));
    await expect(bad('{')).rejects.toMatchObject({ code: 'InvalidSignatureFile' });
    await expect(bad(JSON.stringify({ ...sig, format: 'x' }))).rejects.toMatchObject({ code: 'InvalidSignatureFile' });
    await expect(bad(JSON.stringify({ ...sig, algorithm: 'RSA' }))).rejects.toMatchObject({ code: 'InvalidSignatureFile' });
    await expect(bad(JSON.stringify({ ...sig, signature: 'AAAA' }))).rejects.toMatchObject({ code: 'InvalidSignatureFile' });
    await expect(bad(JSON.stringify({ ...sig, extra: 1 }))).rejects.toMatchObject({ code: 'InvalidSignatureFile' });
    await expect(bad(JSON.stringify({ ...sig, manifest: { ...sig.manifest, header: 'nope' } }))).rejects.toMatchObject({ code: 'InvalidSignatureFile' });
    expect(() => parseSignatureFile(JSON.stringify(sig))).not.toThrow();
    await expect(signManifest(manifest, fs.readFileSync(keys.pub, 'utf8'))).rejects.toMatchObject({ code: 'InvalidKey' });
  });
});

describe('signing and verifying files', () => {
  it('sign → verify is ok; the .sig is written beside the file and never replaced without overwrite', async () => {
    const file = at('ok.safetensors');
    writeModel(file);
    const sigPath = await signFile(file, keys.key);
    expect(sigPath).toBe(`${file}.sig`);
    const sig = readSignatureFile(sigPath);
    expect(sig).toMatchObject({ format: 'tensorsafe-signature/1', algorithm: 'Ed25519', manifest: await hashFile(file) });
    expect(Date.parse(sig.signedAt!)).toBeGreaterThan(Date.now() - 60_000);
    const check = await verifyFileSignature(file, keys.pub);
    expect(check).toMatchObject({ ok: true, signatureValid: true, changes: [], keyMatches: true });
    await expect(signFile(file, keys.key)).rejects.toMatchObject({ code: 'OutputExists' });
    expect(await signFile(file, keys.key, { overwrite: true })).toBe(sigPath);
    expect(fs.readdirSync(tmp).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('one changed byte of one tensor: the signature is valid and that tensor alone is named', async () => {
    const file = at('byte.safetensors');
    writeModel(file);
    await signFile(file, keys.key);
    await flipByteOf(file, 'layer.0.bias', 5);
    const check = await verifyFileSignature(file, keys.pub);
    expect(check.ok).toBe(false);
    expect(check.signatureValid).toBe(true);
    expect(check.changes).toEqual([
      expect.objectContaining({ what: 'tensor', name: 'layer.0.bias', reason: 'content changed: same dtype and shape, different bytes' }),
    ]);
  });

  it('changed metadata: the header and the metadata key are named, no tensor', async () => {
    const file = at('meta.safetensors');
    writeModel(file, 'pt');
    await signFile(file, keys.key);
    writeModel(file, 'tf');
    const check = await verifyFileSignature(file, keys.pub);
    expect(check).toMatchObject({ ok: false, signatureValid: true });
    expect(check.changes.map((c) => [c.what, c.name ?? null])).toEqual([
      ['header', null],
      ['metadata', 'format'],
    ]);
  });

  it('a file truncated or replaced by something that is not safetensors: a header change, not an error', async () => {
    const file = at('gone.safetensors');
    writeModel(file);
    await signFile(file, keys.key);
    fs.truncateSync(file, fs.statSync(file).size - 1);
    const check = await verifyFileSignature(file, keys.pub);
    expect(check).toMatchObject({ ok: false, signatureValid: true });
    expect(check.changes.map((c) => c.what)).toEqual(['size', 'header']);
    expect(check.changes[1]!.reason).toMatch(/no longer a valid safetensors file: MetadataIncompleteBuffer/);
  });

  it('the wrong key, or a tampered .sig: the signature is invalid and the file is not compared', async () => {
    const file = at('wrong.safetensors');
    writeModel(file);
    await signFile(file, keys.key);
    expect(await verifyFileSignature(file, other.pub)).toMatchObject({ ok: false, signatureValid: false, keyMatches: false, changes: [] });
    // An attacker changes a tensor and rewrites its digest in the .sig.
    await flipByteOf(file, 'embed.weight');
    const sig = readSignatureFile(`${file}.sig`);
    sig.manifest.tensors['embed.weight']!.sha256 = (await hashFile(file)).tensors['embed.weight']!.sha256;
    fs.writeFileSync(`${file}.sig`, JSON.stringify(sig));
    expect(await verifyFileSignature(file, keys.pub)).toMatchObject({ ok: false, signatureValid: false, keyMatches: true });
  });

  it('keys and signature files that cannot be used are coded errors', async () => {
    const file = at('keys.safetensors');
    writeModel(file);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    fs.writeFileSync(at('rsa.key.pem'), rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }));
    await expect(signFile(file, at('rsa.key.pem'))).rejects.toMatchObject({ code: 'InvalidKey' });
    await expect(signFile(file, keys.pub)).rejects.toMatchObject({ code: 'InvalidKey' });
    await expect(signFile(file, at('no-such-key.pem'))).rejects.toMatchObject({ code: 'NotFound' });
    expect(fs.existsSync(`${file}.sig`)).toBe(false);
    await expect(verifyFileSignature(file, keys.pub)).rejects.toMatchObject({ code: 'NotFound', message: expect.stringMatching(/tensorsafe sign/) });
    fs.writeFileSync(`${file}.sig`, 'not json');
    await expect(verifyFileSignature(file, keys.pub)).rejects.toMatchObject({ code: 'InvalidSignatureFile' });
    await signFile(file, keys.key, { overwrite: true });
    await expect(verifyFileSignature(file, keys.key)).rejects.toMatchObject({ code: 'InvalidKey' });
  });
});

describe('tensorsafe hash / sign / verify-signature', () => {
  it('hash prints the header hash and a table; --json prints the canonical manifest', async () => {
    const file = at('cli-hash.safetensors');
    writeModel(file);
    const manifest = await hashFile(file);
    const human = await runCli('hash', file);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`header  ${manifest.header}`);
    expect(human.lines.some((l) => l.startsWith('embed.weight') && l.endsWith(manifest.tensors['embed.weight']!.sha256))).toBe(true);
    const json = await runCli('hash', '--json', file);
    expect(json.code).toBe(0);
    expect(json.stdout).toBe(canonicalJson(manifest));
    expect(JSON.parse(json.stdout)).toEqual(manifest);
  });

  it('hash: 1 for a file that is not safetensors, 2 for a missing file or bad usage', async () => {
    const notSafetensors = at('cli-not.safetensors');
    fs.writeFileSync(notSafetensors, 'just some text, not a model file at all');
    expect(await runCli('hash', notSafetensors)).toMatchObject({ code: 3, stderr: expect.stringMatching(/HeaderTooLarge/) });
    expect((await runCli('hash', at('cli-missing.safetensors'))).code).toBe(3);
    expect((await runCli('hash')).code).toBe(2);
    expect((await runCli('hash', 'a', 'b')).code).toBe(2);
  });

  it('sign then verify-signature: 0; a changed tensor: 1, named; --json lists the changes', async () => {
    const file = at('cli.safetensors');
    writeModel(file);
    const signed = await runCli('sign', file, '--key', keys.key);
    expect(signed.code).toBe(0);
    expect(signed.stdout).toContain(`signed ${file} → ${file}.sig`);
    const ok = await runCli('verify-signature', file, '--key', keys.pub);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/signature valid.*every tensor match/);
    const okJson = await runCli('verify-signature', '--json', file, '--key', keys.pub);
    expect(JSON.parse(okJson.stdout)).toMatchObject({ file, sig: `${file}.sig`, ok: true, signatureValid: true, keyMatches: true, changes: [] });

    await flipByteOf(file, 'position_ids');
    const changed = await runCli('verify-signature', file, '--key', keys.pub);
    expect(changed.code).toBe(1);
    expect(changed.stdout).toMatch(/signature is valid.*but the file changed/);
    expect(changed.stdout).toContain('tensor `position_ids`: content changed');
    const changedJson = await runCli('verify-signature', '--json', file, '--key', keys.pub);
    expect(changedJson.code).toBe(1);
    expect(JSON.parse(changedJson.stdout)).toMatchObject({ ok: false, signatureValid: true, changes: [{ what: 'tensor', name: 'position_ids' }] });
  });

  it('verify-signature names the header and metadata when they change', async () => {
    const file = at('cli-meta.safetensors');
    writeModel(file, 'pt');
    await runCli('sign', file, '--key', keys.key);
    writeModel(file, 'flax');
    const r = await runCli('verify-signature', file, '--key', keys.pub);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('header: the header changed: the metadata');
    expect(r.stdout).toContain('metadata `format`: value changed ("pt" → "flax")');
  });

  it('verify-signature with the wrong key: 1, "NOT valid"; --sig names another signature file', async () => {
    const file = at('cli-wrong.safetensors');
    writeModel(file);
    const sig = at('elsewhere.sig');
    expect((await runCli('sign', file, '--key', keys.key, '--out', sig)).code).toBe(0);
    const wrong = await runCli('verify-signature', file, '--key', other.pub, '--sig', sig);
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toMatch(/signature is NOT valid/);
    expect(wrong.stdout).toMatch(/not signed with the private half/);
    expect((await runCli('verify-signature', file, '--key', keys.pub, '--sig', sig)).code).toBe(0);
  });

  it('sign never replaces a .sig without --force; usage errors exit 2, unusable keys and an existing .sig 3 (bad input)', async () => {
    const file = at('cli-force.safetensors');
    writeModel(file);
    expect((await runCli('sign', file, '--key', keys.key)).code).toBe(0);
    const again = await runCli('sign', file, '--key', keys.key);
    expect(again.code).toBe(3);
    expect(again.stderr).toMatch(/--force replaces it/);
    expect(again.stderr).toMatch(/OutputExists/);
    expect((await runCli('sign', file, '--key', keys.key, '--force')).code).toBe(0);

    expect((await runCli('sign', file)).code).toBe(2);
    expect((await runCli('verify-signature', file)).code).toBe(2);
    expect((await runCli('sign', file, '--key', keys.key, '--bogus')).code).toBe(2);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    fs.writeFileSync(at('cli-rsa.pem'), rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }));
    expect(await runCli('sign', file, '--key', at('cli-rsa.pem'), '--force')).toMatchObject({ code: 3, stderr: expect.stringMatching(/InvalidKey: .*RSA/) });
    expect(await runCli('sign', file, '--key', keys.pub, '--force')).toMatchObject({ code: 3, stderr: expect.stringMatching(/InvalidKey/) });
    expect((await runCli('verify-signature', file, '--key', at('cli-missing.pem'))).code).toBe(3);
    expect((await runCli('verify-signature', file, '--key', keys.pub, '--sig', at('cli-missing.sig'))).code).toBe(3);
    const json = await runCli('verify-signature', '--json', file, '--key', keys.key);
    expect(json.code).toBe(3);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, error: { code: 'InvalidKey' } });
  });

  it('--help explains each command, with the openssl commands that make keys', async () => {
    for (const cmd of ['hash', 'sign', 'verify-signature']) {
      const r = await runCli(cmd, '--help');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`tensorsafe ${cmd}`);
      expect(r.stdout).toMatch(/Exit status/);
    }
    expect((await runCli('sign', '--help')).stdout).toContain('openssl genpkey -algorithm ed25519 -out key.pem');
    expect((await runCli('verify-signature', '--help')).stdout).toContain('openssl pkey -in key.pem -pubout -out key.pub.pem');
    expect((await runCli('--help')).stdout).toMatch(/verify-signature/);
  });
});
