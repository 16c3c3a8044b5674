/**
 * The worker's side of the page's tools and of a tensor's values: each is the library function the
 * CLI's command calls (verifySets, hashSafetensors, signManifest, checkSignature, summarizeTensor),
 * over the page's open models or picked files, with progress and cancellation.
 */
import { TensorsafeError } from '../../errors.js';
import { checkSignature, type SignatureCheck } from '../../integrity/check-signature.js';
import { generateEd25519KeyPair, type Ed25519KeyPairPem } from '../../integrity/keygen.js';
import { MAX_PEM_BYTES, MAX_SIGNATURE_FILE_BYTES } from '../../integrity/limits.js';
import { canonicalJson, hashSafetensors, type Manifest } from '../../integrity/manifest.js';
import { IntegrityError } from '../../integrity/errors.js';
import { parsePrivateKeyPem, parsePublicKeyPem } from '../../integrity/pem.js';
import { formatSignatureFile, parseSignatureFile, signManifest, webCryptoEd25519 } from '../../integrity/signature.js';
import { BlobSource } from '../../io/byte-source.js';
import { modelTensorSet } from '../../model/model-set.js';
import { BIT_EXACT, type VerifyRule } from '../../tensor/compare-tensors.js';
import type { TensorEntry, TensorSet } from '../../tensor/tensor-set.js';
import { summarizeTensor, type TensorValueSummary } from '../../tensor/value-summary.js';
import { verifySets, type VerifyReport } from '../../verify/verify-sets.js';
import type { ToolRequest } from '../protocol.js';
import type { JobContext } from './jobs.js';
import type { OpenModel } from './models.js';

type Of<J extends ToolRequest['job']> = Extract<ToolRequest, { job: J }>;

export interface HashResult {
  readonly manifest: Manifest;
  /** Exactly what `tensorsafe hash --json` prints (without its newline). */
  readonly json: string;
}

export interface SignResult {
  /** The .sig file's name (FILE.sig) and text, as `tensorsafe sign` writes them. */
  readonly name: string;
  readonly text: string;
  readonly publicKey: string;
  readonly signedAt: string | undefined;
  readonly tensors: number;
}

export interface SignatureCheckResult extends SignatureCheck {
  readonly file: string;
  readonly sig: string;
  readonly key: string;
}

export async function tensorStats(request: Of<'tensor-stats'>, model: OpenModel, context: JobContext): Promise<TensorValueSummary> {
  const entry = model.entries[request.tensor];
  if (entry === undefined) throw new TensorsafeError('InvalidArgument', `${model.summary.name} has no tensor ${request.tensor}`, { location: model.summary.name });
  return summarizeTensor(entry, {
    ...(request.bins !== undefined ? { bins: request.bins } : {}),
    signal: context.signal,
    onProgress: (done, total) => context.progress({ phase: 'values', done, total, detail: entry.name }),
  });
}

export async function verifyModels(request: Of<'verify-models'>, a: OpenModel, b: OpenModel, context: JobContext): Promise<VerifyReport> {
  const rule: VerifyRule = { ...BIT_EXACT, atol: request.atol, rtol: request.rtol, allowDtypeChange: request.allowDtypeChange };
  for (const [what, v] of [['atol', rule.atol], ['rtol', rule.rtol]] as const) {
    if (!Number.isFinite(v) || v < 0) throw new TensorsafeError('InvalidArgument', `${what} must be a non-negative number, got ${v}`);
  }
  const setOf = (m: OpenModel): TensorSet => {
    if (m.opened.length === 0) throw new TensorsafeError('InvalidArgument', `${m.summary.name} could not be read${m.summary.error ? ` (${m.summary.error.code}: ${m.summary.error.message})` : ''}: it cannot be compared`, { location: m.summary.name });
    const set = modelTensorSet(m.opened, m.summary.format);
    // The models stay open for the page: the comparison reads through them, and closes nothing.
    return { ...set, tensors: set.tensors.map((t) => cancellable(t, context.signal)), close: async () => undefined };
  };
  return verifySets(a.summary.name, setOf(a), b.summary.name, setOf(b), rule, (p) => {
    context.progress({ phase: 'verify', done: p.done, total: p.total, detail: p.tensor });
  });
}

/** A tensor whose reads stop at the next chunk once the job is cancelled. */
function cancellable(entry: TensorEntry, signal: AbortSignal): TensorEntry {
  return {
    ...entry,
    async *chunks(chunkBytes?: number) {
      for await (const chunk of entry.chunks(chunkBytes)) {
        if (signal.aborted) throw new TensorsafeError('Aborted', `cancelled while reading ${entry.name}`, { location: entry.name });
        yield chunk;
      }
    },
  };
}

export async function hashFile(file: File, context: JobContext): Promise<HashResult> {
  const manifest = await hashOf(file, context);
  return { manifest, json: canonicalJson(manifest) };
}

/** The file of an open model, when it is one safetensors file picked from disk. */
export function safetensorsFileOf(model: OpenModel): File {
  const file = model.sources[0];
  if (model.summary.format !== 'safetensors' || model.opened.length !== 1 || file === undefined) {
    throw new TensorsafeError('InvalidArgument', `${model.summary.name} is not one safetensors file picked from this machine: hashes and signatures cover one safetensors file (convert it first)`, { location: model.summary.name });
  }
  return file;
}

export async function signFile(request: Of<'sign'>, context: JobContext): Promise<SignResult> {
  // The key before hashing, as the CLI: a wrong key fails at once.
  const key = parsePrivateKeyPem(await smallText(request.key, MAX_PEM_BYTES, 'key'), request.key.name);
  const manifest = await hashOf(request.file, context);
  const sig = await signManifest(manifest, key, { backend: webCryptoEd25519 });
  return { name: `${request.file.name}.sig`, text: formatSignatureFile(sig), publicKey: sig.publicKey, signedAt: sig.signedAt, tensors: Object.keys(manifest.tensors).length };
}

export async function verifySignature(request: Of<'verify-signature'>, context: JobContext): Promise<SignatureCheckResult> {
  const key = parsePublicKeyPem(await smallText(request.key, MAX_PEM_BYTES, 'key'), request.key.name);
  const sig = parseSignatureFile(await smallText(request.sig, MAX_SIGNATURE_FILE_BYTES, 'signature'), request.sig.name);
  const check = await checkSignature({ size: request.file.size, hash: () => hashOf(request.file, context) }, sig, key, webCryptoEd25519);
  return { ...check, file: request.file.name, sig: request.sig.name, key: request.key.name };
}

export function generateKeys(): Promise<Ed25519KeyPairPem> {
  return generateEd25519KeyPair();
}

/** The manifest of a picked file, hashed in bounded chunks by the library's SHA-256. */
function hashOf(file: File, context: JobContext): Promise<Manifest> {
  return hashSafetensors(new BlobSource(file, file.name), {
    signal: context.signal,
    onProgress: (p) => context.progress({ phase: 'hash', done: p.bytesDone, total: p.bytesTotal, detail: p.tensor }),
  });
}

/** A key or signature file's text, within its limit (as the CLI reads them). */
async function smallText(file: File, limit: number, what: 'key' | 'signature'): Promise<string> {
  if (file.size > limit) {
    throw new IntegrityError(what === 'key' ? 'InvalidPem' : 'InvalidSignatureFile', `${file.name} is ${file.size} bytes: too large for a ${what} file (at most ${limit})`, { location: file.name });
  }
  return file.text();
}
