import { TensorsafeError } from '../errors.js';
import { describeFormat, detectFormat } from '../formats/detect.js';
import type { ScanReport } from '../formats/findings.js';
import type { FormatDescriptor, FormatView, OpenOptions, ParsedModel } from '../formats/format.js';
import { formatsByExtension, formatsClaiming, probeSource } from '../formats/registry.js';
import type { ByteSource } from '../io/byte-source.js';
import { HttpSource, type HttpSourceOptions } from '../io/http-source.js';
import { resolveInsideUrl } from '../io/url-inside.js';
import { ReusedReadsSource } from '../io/reused-reads.js';
import { scanSource } from '../scan/scan.js';
import type { TensorSet } from '../tensor/tensor-set.js';

/**
 * One model file opened through the format registry, wherever its bytes come from (a local file in
 * Node, a dropped File or a URL in the page): what node/open-files.ts and the web page's worker share,
 * so that both open, scan and refuse a file the same way.
 */

/** A file the scanner judged dangerous: refused (not converted, inspected or compared) before any tensor byte in it was read. */
export class UnsafeFileError extends TensorsafeError {
  constructor(
    file: string,
    readonly report: ScanReport,
    /** The format its bytes were detected as, when detection came first. */
    readonly format?: FormatDescriptor,
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
  /** The whole scan report, when the file was scanned. */
  readonly report?: ScanReport;
}

export interface OpenFileOptions extends OpenOptions {
  /** Scan the file before reading its tensors (default true), or decide by its format. */
  scan?: boolean | ((format: FormatDescriptor) => boolean);
}

/** Where the file sits, for the files it references (its shards, its external data) and for the scan's folder checks. */
export interface SourcePlace {
  /** Opens a file the model references, by its path relative to the model's folder (only inside it). */
  openSibling?: (relative: string) => Promise<ByteSource>;
  /** The folder, for the scan's messages and its sibling checks. */
  dir?: string;
  /** Why a referenced path leaves the folder once links are resolved, or undefined (scan's `escapesFolder`). */
  escapesFolder?: (relative: string) => Promise<string | undefined>;
}

/**
 * The format that reads a named file. The bytes decide whenever a registered format claims them (each
 * format's `detect`, in the registry's order), whatever the name says: a torch zip named `.npy` is read
 * as PyTorch, an `.npy` named `.bin` as NumPy. The name is used only for bytes no format claims: a
 * protocol 0 or 1 pickle has no signature, so a `.pt` of one is read by PyTorch's reader; and a `.bin`
 * that holds a Git LFS pointer, a `.safetensors` that holds a web page, go to their name's reader, which
 * says what the file is instead. A file neither its bytes nor its name make a model is refused here,
 * saying what it is.
 */
export async function formatOfFile(source: ByteSource, name: string): Promise<FormatDescriptor> {
  const probe = await probeSource(source);
  const byBytes = formatsClaiming(probe)[0];
  if (byBytes) return byBytes;
  const byName = formatsByExtension(baseName(name))[0];
  if (byName) return byName;
  throw new TensorsafeError('NotAModel', `${name} is not a model file tensorsafe reads: it is ${describeFormat(detectFormat(probe.head, probe.size))}`, { location: name });
}

/**
 * Opens one model file through the format registry: its format from its bytes (formatOfFile), parsed
 * once by that format's reader (which reads structure only, and runs nothing: a pickle is read by the
 * data-only machine), then scanned with that same parse, as `tensorsafe scan` scans it (scanSource
 * `parsed`: the scan checks the structure instead of parsing the file again; the bytes both read are
 * read from the source once, ReusedReadsSource). A dangerous file is refused (UnsafeFileError) before
 * any tensor byte is read; when the reader itself fails, the file is scanned all the same, so that a
 * dangerous one is still refused as dangerous, with its findings. The source is closed on failure.
 */
export async function openModelSource(raw: ByteSource, file: string, place: SourcePlace = {}, options: OpenFileOptions = {}): Promise<OpenedFile> {
  const source = new ReusedReadsSource(raw);
  let parsed: ParsedModel | undefined;
  try {
    const format = await formatOfFile(source, file);
    const reader = await format.load();
    let failure: unknown;
    if (reader.open) {
      try {
        parsed = await reader.open(source, {
          key: options.key,
          skipUnknown: options.skipUnknown,
          blockDecoder: options.blockDecoder,
          dequantize: options.dequantize,
          ...(place.openSibling ? { openSibling: place.openSibling } : {}),
        });
      } catch (e) {
        failure = e;
      }
    }
    const scan = typeof options.scan === 'function' ? options.scan(format) : (options.scan ?? true);
    let suspicious: string[] = [];
    let report: ScanReport | undefined;
    if (scan) {
      source.freeze();
      report = await scanSource(source, { ...(place.dir !== undefined ? { dir: place.dir } : {}), ...(place.escapesFolder ? { escapesFolder: place.escapesFolder } : {}), parsed });
      if (report.verdict === 'dangerous') throw new UnsafeFileError(file, report, format);
      suspicious = report.findings.filter((f) => f.severity === 'suspicious').map((f) => `[${f.rule}] ${f.message}`);
    }
    source.release();
    if (!reader.open) {
      throw new TensorsafeError('UnsupportedFormat', `${file} is ${format.name}: tensorsafe scans it (tensorsafe scan) but does not read its tensors yet`, { location: file });
    }
    if (failure !== undefined) throw failure;
    const done = parsed!;
    const describe = reader.describe?.bind(reader);
    return { file, size: source.size, format, tensors: done.tensors, structure: done.structure, suspicious, ...(report ? { report } : {}), ...(describe ? { describe: () => describe(done) } : {}) };
  } catch (e) {
    if (parsed) await parsed.tensors.close();
    else await source.close();
    throw e;
  }
}

/** First bytes fetched when a model opened over HTTP opens a file it references (a TF.js shard): its size is what is needed first, its data is read when a tensor is. */
export const SIBLING_PREFETCH_BYTES = 4096;

/**
 * Opens a model file from an http(s) URL, read lazily with range requests (HttpSource). The files it
 * references are URLs inside its URL's folder; each one opened learns its size (and first bytes) in one request.
 * `http` is for every request (headers, a fetch that scopes credentials to an origin).
 */
export async function openModelUrl(url: string, options: OpenFileOptions = {}, http: HttpSourceOptions = {}): Promise<OpenedFile> {
  const source = await HttpSource.open(url, http);
  const openSibling = (relative: string): Promise<ByteSource> => HttpSource.open(resolveInsideUrl(url, relative), { ...http, prefetchBytes: SIBLING_PREFETCH_BYTES });
  return openModelSource(source, url, { openSibling }, options);
}

/** The last part of a path, whichever separator it uses (this layer has no `path`). */
export function baseName(file: string): string {
  const parts = file.split(/[\\/]/);
  return parts[parts.length - 1] ?? file;
}
