/**
 * Manifests: what a safetensors file holds, as SHA-256 digests of its header and of every tensor.
 * safetensors itself has no checksum; a manifest is what gets signed, and what a file is checked
 * against later, tensor by tensor, so that a change is named rather than just detected.
 */
import { IoError } from '../errors.js';
import { DTYPE_INFO, type Dtype } from '../dtype/dtypes.js';
import type { ByteSource } from '../io/byte-source.js';
import { readChunks } from '../io/read-chunks.js';
import { checkHeaderLength, parseHeader } from '../safetensors/header.js';
import { HEADER_LENGTH_BYTES } from '../safetensors/limits.js';
import { compareCodePoints } from '../util/strings.js';
import { IntegrityError } from './errors.js';
import { HASH_CHUNK_BYTES } from './limits.js';
import { createSha256, toHex, type Hasher } from './sha256.js';

export const MANIFEST_FORMAT = 'tensorsafe-manifest/1';

/** One tensor of a manifest. */
export interface TensorDigest {
  dtype: Dtype;
  shape: number[];
  byteLength: number;
  /** SHA-256 of the tensor's bytes, lower-case hex. */
  sha256: string;
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  algorithm: 'sha256';
  /** The file's base name (informational: a renamed file still matches). */
  file: string;
  /** The file's size in bytes. */
  size: number;
  /** SHA-256 of the first 8 + N bytes: the length prefix and the header JSON, padding included. */
  header: string;
  /** `__metadata__`, or null. */
  metadata: Record<string, string> | null;
  /** Every tensor, by name. */
  tensors: Record<string, TensorDigest>;
}

export interface HashProgress {
  /** Bytes hashed so far (header included) and in all (the file's size). */
  bytesDone: number;
  bytesTotal: number;
  /** The tensor being hashed ('' for the header). */
  tensor: string;
}

export interface HashOptions {
  /** A fresh hasher per digest (default: the TypeScript SHA-256; Node passes node:crypto's). */
  hasher?: () => Hasher;
  onProgress?: (p: HashProgress) => void;
  /** Chunk size of the reads (default 8 MiB): memory stays at two chunks whatever the file's size. */
  chunkBytes?: number;
  /** The name written to the manifest (default: the base name of the source's name). */
  file?: string;
  signal?: AbortSignal;
}

/**
 * Hashes a safetensors file: validates its header as the reference reader does (an invalid file
 * is a SafetensorError with the reference's code), then reads the data buffer once, in file order,
 * tensor by tensor, in bounded chunks.
 */
export async function hashSafetensors(source: ByteSource, options: HashOptions = {}): Promise<Manifest> {
  const newHasher = options.hasher ?? createSha256;
  const chunkBytes = options.chunkBytes ?? HASH_CHUNK_BYTES;
  // readHeader's two reads, keeping the bytes so that exactly what was validated is hashed.
  const prefix = await source.read(0, Math.min(HEADER_LENGTH_BYTES, source.size));
  const n = checkHeaderLength(prefix, source.size);
  const json = await source.read(HEADER_LENGTH_BYTES, n);
  const header = parseHeader(json, source.size);
  const headerHasher = newHasher();
  headerHasher.update(prefix);
  headerHasher.update(json);

  const total = source.size;
  let done = header.dataStart;
  options.onProgress?.({ bytesDone: done, bytesTotal: total, tensor: '' });
  const digests = new Map<string, TensorDigest>();
  // The data region is read once, as one stream (so the next chunk is read while this one is hashed,
  // across tensor boundaries too); each chunk is split between the tensors it holds, in file order.
  const order = [...header.tensors.values()];
  let t = 0;
  let hasher = newHasher();
  let remaining = order[0]?.byteLength ?? 0;
  const finishTensors = (): void => {
    while (t < order.length && remaining === 0) {
      const info = order[t]!;
      digests.set(info.name, { dtype: info.dtype, shape: [...info.shape], byteLength: info.byteLength, sha256: toHex(hasher.digest()) });
      t++;
      hasher = newHasher();
      remaining = order[t]?.byteLength ?? 0;
    }
  };
  finishTensors();
  for await (const chunk of readChunks(source, header.dataStart, header.dataLength, chunkBytes)) {
    if (options.signal?.aborted) throw new IoError('Aborted', `hashing ${source.name} was aborted`, { location: source.name });
    let at = 0;
    while (at < chunk.byteLength) {
      const take = Math.min(remaining, chunk.byteLength - at);
      hasher.update(chunk.subarray(at, at + take));
      at += take;
      remaining -= take;
      finishTensors();
    }
    done += chunk.byteLength;
    options.onProgress?.({ bytesDone: done, bytesTotal: total, tensor: order[Math.min(t, order.length - 1)]?.name ?? '' });
  }
  const tensors: Record<string, TensorDigest> = {};
  for (const name of [...digests.keys()].sort(compareCodePoints)) define(tensors, name, digests.get(name)!);
  let metadata: Record<string, string> | null = null;
  if (header.metadata !== null) {
    metadata = {};
    for (const key of Object.keys(header.metadata).sort(compareCodePoints)) define(metadata, key, header.metadata[key]!);
  }
  return {
    format: MANIFEST_FORMAT,
    algorithm: 'sha256',
    file: options.file ?? baseName(source.name),
    size: source.size,
    header: toHex(headerHasher.digest()),
    metadata,
    tensors,
  };
}

/** The last part of a path or URL (query and fragment dropped). */
export function baseName(name: string): string {
  const clean = /^[a-z][a-z0-9+.-]*:\/\//i.test(name) ? name.replace(/[?#].*$/, '') : name;
  return clean.slice(Math.max(clean.lastIndexOf('/'), clean.lastIndexOf('\\')) + 1) || clean;
}

/**
 * Deterministic JSON, the bytes that get signed: object keys sorted by code point (the order of
 * their UTF-8 bytes), no whitespace, strings and numbers as JSON.stringify writes them (which is
 * itself deterministic). Properties whose value is undefined are left out, as JSON.stringify does.
 * Only plain objects, arrays, strings, finite numbers, booleans and null are accepted.
 */
export function canonicalJson(value: unknown): string {
  const parts: string[] = [];
  write(value, parts, new Set(), '$');
  return parts.join('');
}

function write(value: unknown, out: string[], open: Set<object>, path: string): void {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') {
    out.push(JSON.stringify(value));
    return;
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new IntegrityError('NotCanonical', `canonicalJson: ${path} is ${value}, which JSON cannot hold`);
    out.push(JSON.stringify(value));
    return;
  }
  if (typeof value !== 'object') throw new IntegrityError('NotCanonical', `canonicalJson: ${path} is a ${typeof value}, which JSON cannot hold`);
  if (open.has(value)) throw new IntegrityError('NotCanonical', `canonicalJson: ${path} refers back to itself`);
  open.add(value);
  if (Array.isArray(value)) {
    out.push('[');
    value.forEach((item, i) => {
      if (i > 0) out.push(',');
      write(item === undefined ? null : item, out, open, `${path}[${i}]`);
    });
    out.push(']');
  } else {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) throw new IntegrityError('NotCanonical', `canonicalJson: ${path} is a ${proto?.constructor?.name ?? 'object'}, not a plain object`);
    out.push('{');
    let first = true;
    for (const key of Object.keys(value).sort(compareCodePoints)) {
      const item = (value as Record<string, unknown>)[key];
      if (item === undefined) continue;
      if (!first) out.push(',');
      first = false;
      out.push(JSON.stringify(key), ':');
      write(item, out, open, `${path}.${key}`);
    }
    out.push('}');
  }
  open.delete(value);
}

/** One difference between a manifest and a file. */
export interface ManifestChange {
  what: 'header' | 'tensor' | 'metadata' | 'size';
  /** The tensor's name, or the metadata key. */
  name?: string;
  /** Digests, sizes or metadata values, where they apply. */
  expected?: string | number | null;
  actual?: string | number | null;
  /** What changed, in words. */
  reason: string;
}

export interface ManifestComparison {
  ok: boolean;
  changes: ManifestChange[];
}

/**
 * What differs between the manifest a file had (`expected`, e.g. the signed one) and the one it has
 * now: the size, the header, each metadata key, and each tensor changed, added or removed. The
 * `file` name is not compared: a renamed file still matches.
 */
export function compareManifests(expected: Manifest, actual: Manifest): ManifestComparison {
  const changes: ManifestChange[] = [];
  const tensorChanges: ManifestChange[] = [];
  let added = 0;
  let removed = 0;
  let retyped = 0;
  const names = new Set([...Object.keys(expected.tensors), ...Object.keys(actual.tensors)]);
  for (const name of [...names].sort(compareCodePoints)) {
    const a = own(expected.tensors, name);
    const b = own(actual.tensors, name);
    if (a && !b) {
      removed++;
      tensorChanges.push({ what: 'tensor', name, expected: a.sha256, actual: null, reason: 'removed: the file no longer has this tensor' });
    } else if (!a && b) {
      added++;
      tensorChanges.push({ what: 'tensor', name, expected: null, actual: b.sha256, reason: `added: the file has a tensor the manifest does not (${b.dtype} ${shapeText(b.shape)})` });
    } else if (a && b) {
      const why: string[] = [];
      if (a.dtype !== b.dtype) why.push(`dtype ${a.dtype} → ${b.dtype}`);
      if (shapeText(a.shape) !== shapeText(b.shape)) why.push(`shape ${shapeText(a.shape)} → ${shapeText(b.shape)}`);
      if (why.length > 0) retyped++;
      if (a.byteLength !== b.byteLength) why.push(`${a.byteLength} → ${b.byteLength} bytes`);
      if (a.sha256 !== b.sha256) why.push(why.length === 0 ? 'content changed: same dtype and shape, different bytes' : 'content changed');
      if (why.length > 0) tensorChanges.push({ what: 'tensor', name, expected: a.sha256, actual: b.sha256, reason: why.join('; ') });
    }
  }
  const metadataChanges = compareMetadata(expected.metadata, actual.metadata);
  if (expected.size !== actual.size) {
    changes.push({ what: 'size', expected: expected.size, actual: actual.size, reason: `the file is ${actual.size} bytes; it was ${expected.size}` });
  }
  if (expected.header !== actual.header) {
    const why: string[] = [];
    if (metadataChanges.length > 0) why.push('the metadata');
    if (added > 0) why.push(`${added} tensor${added === 1 ? '' : 's'} added`);
    if (removed > 0) why.push(`${removed} tensor${removed === 1 ? '' : 's'} removed`);
    if (retyped > 0) why.push(`the dtype or shape of ${retyped} tensor${retyped === 1 ? '' : 's'}`);
    changes.push({
      what: 'header',
      expected: expected.header,
      actual: actual.header,
      reason:
        why.length > 0
          ? `the header changed: ${why.join(', ')}`
          : 'the header bytes changed, though every tensor name, dtype and shape and the metadata are the same: the layout (offsets, order) or the JSON text differs',
    });
  }
  changes.push(...metadataChanges, ...tensorChanges);
  return { ok: changes.length === 0, changes };
}

function compareMetadata(a: Record<string, string> | null, b: Record<string, string> | null): ManifestChange[] {
  if (a === null && b === null) return [];
  if (a === null) return [{ what: 'metadata', expected: null, actual: null, reason: `metadata added (${Object.keys(b!).length} keys)` }];
  if (b === null) return [{ what: 'metadata', expected: null, actual: null, reason: `metadata removed (it had ${Object.keys(a).length} keys)` }];
  const changes: ManifestChange[] = [];
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of [...keys].sort(compareCodePoints)) {
    const x = own(a, key);
    const y = own(b, key);
    if (x === y) continue;
    if (x === undefined) changes.push({ what: 'metadata', name: key, expected: null, actual: y!, reason: 'key added' });
    else if (y === undefined) changes.push({ what: 'metadata', name: key, expected: x, actual: null, reason: 'key removed' });
    else changes.push({ what: 'metadata', name: key, expected: x, actual: y, reason: 'value changed' });
  }
  return changes;
}

/**
 * Checks that a parsed value is a manifest (as found in a .sig file) and returns it; anything else
 * is an InvalidManifest error naming the first problem.
 */
export function checkManifest(value: unknown, where = 'manifest'): Manifest {
  const fail = (detail: string): never => {
    throw new IntegrityError('InvalidManifest', `${where}: ${detail}`, { location: where });
  };
  if (!isRecord(value)) return fail('not a JSON object');
  if (value['format'] !== MANIFEST_FORMAT) return fail(`format is ${JSON.stringify(value['format'])}, expected "${MANIFEST_FORMAT}"`);
  if (value['algorithm'] !== 'sha256') return fail(`algorithm is ${JSON.stringify(value['algorithm'])}, expected "sha256"`);
  if (typeof value['file'] !== 'string') return fail('file is not a string');
  if (!isCount(value['size'])) return fail('size is not a byte count');
  if (!isDigest(value['header'])) return fail('header is not a SHA-256 hex digest');
  const metadata = value['metadata'];
  if (metadata !== null) {
    if (!isRecord(metadata)) return fail('metadata is neither null nor an object');
    for (const key of Object.keys(metadata)) if (typeof metadata[key] !== 'string') return fail(`metadata value of ${JSON.stringify(key)} is not a string`);
  }
  const tensors = value['tensors'];
  if (!isRecord(tensors)) return fail('tensors is not an object');
  for (const name of Object.keys(tensors)) {
    const t = tensors[name];
    const at = `tensor ${JSON.stringify(name)}`;
    if (!isRecord(t)) return fail(`${at} is not an object`);
    if (typeof t['dtype'] !== 'string' || !Object.hasOwn(DTYPE_INFO, t['dtype'])) return fail(`${at}: unknown dtype ${JSON.stringify(t['dtype'])}`);
    if (!Array.isArray(t['shape']) || !t['shape'].every(isCount)) return fail(`${at}: shape is not a list of sizes`);
    if (!isCount(t['byteLength'])) return fail(`${at}: byteLength is not a byte count`);
    if (!isDigest(t['sha256'])) return fail(`${at}: sha256 is not a SHA-256 hex digest`);
  }
  return value as unknown as Manifest;
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0;
const isDigest = (x: unknown): x is string => typeof x === 'string' && /^[0-9a-f]{64}$/.test(x);

/** An own property, never one inherited from Object.prototype (a tensor may be called "constructor"). */
function own<T>(record: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** Sets an own property even for "__proto__", which plain assignment would turn into a prototype change. */
function define<T>(record: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
