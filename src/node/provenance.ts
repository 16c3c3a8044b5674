import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { IoError, isTensorsafeError, TensorsafeError, type IoErrorCode } from '../errors.js';
import type { OutputFormat } from '../convert/output-format.js';
import { isHttpUrl } from '../io/url-inside.js';
import { hasHubScheme } from '../hub/reference.js';
import { readHeader } from '../safetensors/reader.js';
import { FileSource, fileError } from './file-source.js';
import { startWorker } from './worker-argv.js';
import { PROVENANCE_KEY, sourceRecord, urlRecordName, type SourceRecord } from '../model/convert-setup.js';

// The record's key and value are the model layer's (model/convert-setup.ts): the web page writes the same.
export { PROVENANCE_KEY, provenanceValue, type SourceRecord } from '../model/convert-setup.js';

/**
 * Where a converted file came from, recorded in its own metadata, so that a later run can tell an
 * output of this source (name, size) from anyone else's file, which it never replaces. Whether an output
 * of this source is still current is proved by comparing it with the source, tensor by tensor (convert.ts);
 * the modification time is for people, and the SHA-256, when asked for, is an audit trail.
 */

/**
 * Bytes read per hashing step: small enough that the bytes read are still in the CPU's cache when
 * they are hashed (reading and hashing 500 MB took ~470 ms of CPU in 1 MiB steps, ~620 ms in 8 MiB
 * ones, on the 2-core test machine: BENCHMARKS.md).
 */
const HASH_CHUNK_BYTES = 1 << 20;
/** Stand-in for a digest not yet known when the header is written: same length, never a hex digit. */
const PENDING_DIGEST = '?'.repeat(64);

/**
 * How a record names a source: its path relative to the output's folder, with `/` (the plain file name
 * when the output is beside it). Two sources of one name in different folders are two sources.
 */
export function sourceName(file: string, outDir: string): string {
  // A URL is named by itself, without credentials, query or fragment (a signed URL's token is no name).
  if (isHttpUrl(file)) return urlRecordName(file);
  // A Hub file is named by its pinned reference, hf://owner/repo@<commit>/<path>: which bytes, exactly.
  if (hasHubScheme(file)) return file;
  return path.relative(path.resolve(outDir), path.resolve(file)).split(path.sep).join('/');
}

/** Each source's record, its digest pending when asked for: written first, patched by `patchDigests`. */
export function pendingRecords(files: readonly string[], withDigests: boolean, outDir: string): SourceRecord[] {
  return files.map((f) => {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(f);
    } catch (cause) {
      throw fileError(f, cause);
    }
    return { ...sourceRecord(sourceName(f, outDir), stat.size, stat.mtimeMs), ...(withDigests ? { sha256: PENDING_DIGEST } : {}) };
  });
}

/** Reads the records out of metadata; undefined when there are none or they are not ours. */
export function readProvenance(metadata: Readonly<Record<string, unknown>> | null | undefined): SourceRecord[] | undefined {
  const value = metadata?.[PROVENANCE_KEY];
  if (typeof value !== 'string') return undefined;
  try {
    const list = JSON.parse(value) as unknown;
    if (!Array.isArray(list) || list.length === 0) return undefined;
    const ok = list.every(
      (r) => r && typeof r.file === 'string' && Number.isSafeInteger(r.size) && typeof r.mtime === 'string' && (r.sha256 === undefined || (typeof r.sha256 === 'string' && /^[0-9a-f]{64}$/.test(r.sha256))),
    );
    return ok ? (list as SourceRecord[]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Writes the digests into a finished (not yet committed) file in place of the pending ones. The
 * header was laid out with PENDING_DIGEST placeholders of the same length, so nothing moves; the
 * placeholders are looked for only inside the provenance value (a tensor name cannot hold them there).
 */
export function patchDigests(file: string, header: Uint8Array, records: readonly SourceRecord[]): void {
  const text = new TextDecoder('latin1').decode(header);
  const key = `"${PROVENANCE_KEY}":"`;
  let at = text.indexOf(key);
  if (at < 0) throw new TensorsafeError('InternalError', `${file} has no ${PROVENANCE_KEY} to patch`, { location: file });
  const fd = fs.openSync(file, 'r+');
  try {
    for (const r of records) {
      at = text.indexOf(PENDING_DIGEST, at);
      if (at < 0) throw new TensorsafeError('InternalError', `${file} has fewer pending digests than sources`, { location: file });
      fs.writeSync(fd, new TextEncoder().encode(r.sha256 ?? ''), 0, 64, at);
      at += 64;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Digests being computed; `cancel` stops the work when the conversion ends early. */
export interface Hashing {
  readonly digests: Promise<string[]>;
  cancel(): void;
}

/** What hash-worker.ts posts back: the digests, or the error that stopped it. */
export interface HashWorkerMessage {
  digests?: string[];
  error?: { path: string; message: string; code: IoErrorCode };
}

/**
 * Starts the SHA-256 of each file, read sequentially in bounded chunks. Runs in a worker thread when
 * the built worker is there (the CLI, the package), so that hashing overlaps the conversion on another
 * core; otherwise on this thread, interleaved with the conversion's own I/O.
 */
export function startHashing(files: readonly string[]): Hashing {
  const script = fileURLToPath(new URL('./hash-worker.js', import.meta.url));
  let cancelled = false;
  if (!fs.existsSync(script)) {
    const digests = hashFilesHere(files, () => cancelled);
    digests.catch(() => undefined); // awaited (and its error seen) only if the conversion gets that far
    return { digests, cancel: () => (cancelled = true) };
  }
  const worker = startWorker(script, { workerData: { files: [...files] } });
  const digests = new Promise<string[]>((resolve, reject) => {
    worker.once('message', (m: HashWorkerMessage) => {
      if (m.digests) resolve(m.digests);
      else reject(new IoError(m.error!.code, m.error!.message, { location: m.error!.path }));
      void worker.terminate();
    });
    worker.once('error', reject);
    worker.once('exit', () => reject(new IoError('Aborted', 'hashing stopped before it finished')));
  });
  digests.catch(() => undefined);
  return { digests, cancel: () => void worker.terminate() };
}

/** The same, on the calling thread. */
export async function hashFilesHere(files: readonly string[], cancelled: () => boolean = () => false): Promise<string[]> {
  const out: string[] = [];
  for (const f of files) out.push(await hashOne(f, cancelled));
  return out;
}

async function hashOne(file: string, cancelled: () => boolean): Promise<string> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, 'r');
  } catch (cause) {
    throw fileError(file, cause);
  }
  try {
    const hash = createHash('sha256');
    const buffer = Buffer.allocUnsafe(HASH_CHUNK_BYTES);
    for (let position = 0; ; ) {
      if (cancelled()) throw new IoError('Aborted', `hashing ${file} was stopped`, { location: file });
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      position += bytesRead;
    }
    return hash.digest('hex');
  } catch (cause) {
    throw isTensorsafeError(cause) ? cause : fileError(file, cause);
  } finally {
    await handle.close();
  }
}

/** What an existing output of tensorsafe's is, relative to the sources about to be converted into it (one without a record is `originOf`'s `foreign`). */
export type OutputOrigin =
  /** Written by tensorsafe from sources of these names and sizes: current if its content still matches. */
  | { kind: 'current'; records: SourceRecord[] }
  /** Written by tensorsafe from these sources (by name), of another size then: convert again. */
  | { kind: 'stale'; records: SourceRecord[]; changed: string[] }
  /** Written by tensorsafe from other sources (`m.bin` for `m.pt`): not ours to replace. */
  | { kind: 'other-source'; records: SourceRecord[] };

/**
 * Reads the provenance of an existing output (a safetensors file, or a sharded index), or of a file
 * of another output `format` (a GGUF, read by its own reader; a NumPy file holds none).
 */
export async function originOf(output: string, format?: OutputFormat): Promise<SourceRecord[] | { foreign: string }> {
  if (format !== undefined && format.id !== 'safetensors' && !output.endsWith('.index.json')) return originOfOther(output, format);
  if (output.endsWith('.index.json')) {
    try {
      const index = JSON.parse(fs.readFileSync(output, 'utf8')) as { metadata?: Record<string, unknown> };
      return readProvenance(index.metadata) ?? { foreign: 'it has no tensorsafe record of its source' };
    } catch {
      return { foreign: 'it is not a readable index' };
    }
  }
  let source: FileSource | undefined;
  try {
    source = await FileSource.open(output);
    const header = await readHeader(source);
    return readProvenance(header.metadata) ?? { foreign: 'it has no tensorsafe record of its source' };
  } catch (e) {
    if (!isTensorsafeError(e)) throw e;
    return { foreign: `it is not a valid safetensors file (${e.code})` };
  } finally {
    await source?.close();
  }
}

/** The provenance of an output of a format other than safetensors, read back as the pipeline reads what it wrote. */
async function originOfOther(output: string, format: OutputFormat): Promise<SourceRecord[] | { foreign: string }> {
  if (format.noMetadata !== undefined) return { foreign: `${format.noMetadata} files hold no metadata, so no record of their source` };
  let source: FileSource;
  try {
    source = await FileSource.open(output);
  } catch (e) {
    if (!isTensorsafeError(e)) throw e;
    return { foreign: `it cannot be read (${e.code})` };
  }
  try {
    const file = await format.reopen(source);
    try {
      return readProvenance(file.tensors.metadata) ?? { foreign: 'it has no tensorsafe record of its source' };
    } finally {
      await file.close();
    }
  } catch (e) {
    if (!isTensorsafeError(e)) throw e;
    return { foreign: `it is not a ${format.id.toUpperCase()} file tensorsafe reads (${e.code})` };
  } finally {
    await source.close();
  }
}

/** Compares recorded sources with the current ones by name, then size (the content is compared by the caller). */
export function compareOrigin(recorded: readonly SourceRecord[], current: readonly { file: string; size: number }[]): OutputOrigin {
  const names = (l: readonly { file: string }[]): string => l.map((r) => r.file).sort().join('\n');
  if (names(recorded) !== names(current)) return { kind: 'other-source', records: [...recorded] };
  const byName = new Map(recorded.map((r) => [r.file, r]));
  const changed = current.filter((c) => {
    const r = byName.get(c.file)!;
    return r.size !== c.size;
  });
  return changed.length === 0 ? { kind: 'current', records: [...recorded] } : { kind: 'stale', records: [...recorded], changed: changed.map((c) => c.file) };
}
