import * as path from 'node:path';
import { TensorsafeError } from '../errors.js';
import type { ScanReport } from '../formats/findings.js';
import type { FormatDescriptor, FormatView, OpenOptions, ParsedModel } from '../formats/format.js';
import { scanSource } from '../scan/scan.js';
import type { TensorSet } from '../tensor/tensor-set.js';
import type { ByteSource } from '../io/byte-source.js';
import { HttpSource } from '../io/http-source.js';
import { ReusedReadsSource } from '../io/reused-reads.js';
import { isHttpUrl, resolveInsideUrl } from '../io/url-inside.js';
import { escapesFolder, openInsideFolder } from './inside-folder.js';
import { FileSource } from './file-source.js';
import { formatOfFile } from './model-files.js';

/** First bytes fetched when a model opened over HTTP opens a file it references (a TF.js shard): its size is what is needed first, its data is read when a tensor is. */
export const SIBLING_PREFETCH_BYTES = 4096;

/** A file the scanner judged dangerous: refused (not converted, inspected or compared) before any tensor byte in it was read. */
export class UnsafeFileError extends TensorsafeError {
  constructor(
    file: string,
    readonly report: ScanReport,
  ) {
    const dangerous = report.findings.filter((f) => f.severity === 'dangerous');
    super(
      'UnsafeFile',
      `${file} would run code when loaded, so it is not read: ${dangerous
        .slice(0, 3)
        .map((f) => `${f.message} [${f.location}]`)
        .join('; ')}${dangerous.length > 3 ? `; and ${dangerous.length - 3} more (tensorsafe scan ${file})` : ''}`,
      { location: dangerous[0]?.location ?? file },
    );
  }
}

/** A model file opened through the registry: its format, its tensors (no byte read yet) and the structure they came from. */
export interface OpenedFile {
  readonly file: string;
  /** Its size in bytes (of a URL, as the server gives it). */
  readonly size: number;
  readonly format: FormatDescriptor;
  readonly tensors: TensorSet;
  readonly structure: unknown;
  /** The format's own view of the file (inspect), made from this parse when asked; absent when the format has none. */
  readonly describe?: () => FormatView;
  /** What the scan found suspicious (not dangerous: the file is read), `[rule] message`, for the summary to say; empty when nothing. */
  readonly suspicious: readonly string[];
}

export interface OpenFileOptions extends OpenOptions {
  /** Scan the file before reading its tensors (default true), or decide by its format. */
  scan?: boolean | ((format: FormatDescriptor) => boolean);
}

/**
 * Opens one model file through the format registry: its format from its bytes (formatOfFile), parsed
 * once by that format's reader (which reads structure only, and runs nothing: a pickle is read by the
 * data-only machine), then scanned with that same parse, as `tensorsafe scan` scans it (scanSource
 * `parsed`: the scan checks the structure instead of parsing the file again; the bytes both read are
 * read from disk once, ReusedReadsSource). A dangerous file is refused (UnsafeFileError) before any
 * tensor byte is read; when the reader itself fails, the file is scanned all the same, so that a
 * dangerous one is still refused as dangerous, with its findings.
 */
export async function openModelFile(file: string, options: OpenFileOptions = {}): Promise<OpenedFile> {
  // The reader and the scan read the same structure (a pickle, a zip directory): from disk once.
  const remote = isHttpUrl(file);
  const source = new ReusedReadsSource(remote ? await HttpSource.open(file) : await FileSource.open(file));
  // Over HTTP, the files a model references are URLs inside its URL's folder; each opened learns its size (and first bytes) in one request.
  const dir = remote ? undefined : path.dirname(path.resolve(file));
  const openSibling = (relative: string): Promise<ByteSource> => (dir === undefined ? HttpSource.open(resolveInsideUrl(file, relative), { prefetchBytes: SIBLING_PREFETCH_BYTES }) : openInsideFolder(dir, relative));
  let parsed: ParsedModel | undefined;
  try {
    const format = await formatOfFile(source, file);
    const reader = await format.load();
    let failure: unknown;
    if (reader.open) {
      try {
        parsed = await reader.open(source, { key: options.key, skipUnknown: options.skipUnknown, blockDecoder: options.blockDecoder, dequantize: options.dequantize, openSibling });
      } catch (e) {
        failure = e;
      }
    }
    const scan = typeof options.scan === 'function' ? options.scan(format) : (options.scan ?? true);
    let suspicious: string[] = [];
    if (scan) {
      source.freeze();
      const report = await scanSource(source, { ...(dir !== undefined ? { dir, escapesFolder: (relative: string) => escapesFolder(dir, relative) } : {}), parsed });
      if (report.verdict === 'dangerous') throw new UnsafeFileError(file, report);
      suspicious = report.findings.filter((f) => f.severity === 'suspicious').map((f) => `[${f.rule}] ${f.message}`);
    }
    source.release();
    if (!reader.open) {
      throw new TensorsafeError('UnsupportedFormat', `${file} is ${format.name}: tensorsafe scans it (tensorsafe scan) but does not read its tensors yet`, { location: file });
    }
    if (failure !== undefined) throw failure;
    const done = parsed!;
    const describe = reader.describe?.bind(reader);
    return { file, size: source.size, format, tensors: done.tensors, structure: done.structure, suspicious, ...(describe ? { describe: () => describe(done) } : {}) };
  } catch (e) {
    if (parsed) await parsed.tensors.close();
    else await source.close();
    throw e;
  }
}

/** Opens the files of one model (the shards of a set, in order); on any failure every file opened so far is closed. */
export async function openModelFiles(files: readonly string[], options: OpenFileOptions = {}): Promise<OpenedFile[]> {
  const opened: OpenedFile[] = [];
  try {
    for (const file of files) opened.push(await openModelFile(file, options));
  } catch (e) {
    await Promise.all(opened.map((o) => o.tensors.close()));
    throw e;
  }
  return opened;
}
