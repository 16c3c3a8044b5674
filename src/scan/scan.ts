import { isTensorsafeError } from '../errors.js';
import { MemorySource, WindowSource, type ByteSource } from '../io/byte-source.js';
import { describeFormat, detectFormat, type DetectedFormat } from '../formats/detect.js';
import { isTorchCheckpoint, readTorchCheckpoint } from '../formats/torch/checkpoint.js';
import type { ParsedModel } from '../formats/format.js';
import { tarMembers } from '../formats/torch/tar-checkpoint.js';
import { openZip, type ZipArchive, type ZipEntry } from '../formats/zip/index.js';
import { MAX_FINDINGS_PER_FILE, verdictOf, type Finding, type ScanContext, type ScanReport } from '../formats/findings.js';
import { analyzePickles } from './pickle-analysis.js';
import { readOp } from '../formats/pickle/disassemble.js';
import { OPCODES } from '../formats/pickle/opcodes.js';

/** Each format's rules are loaded when a file of that format is met: scanning a checkpoint does not load the GGUF, HDF5, … readers. */
const formatRules = {
  gguf: () => import('./formats/gguf.js'),
  hdf5: () => import('./formats/hdf5.js'),
  keras: () => import('./formats/keras.js'),
  npy: () => import('./formats/npy.js'),
  onnx: () => import('./formats/onnx.js'),
  safetensors: () => import('./formats/safetensors.js'),
  tfjs: () => import('./formats/tfjs.js'),
  tflite: () => import('./formats/tflite.js'),
};


/** Largest pickle read into memory for analysis: a data pickle is structure, not tensor bytes. */
export const MAX_SCANNED_PICKLE_BYTES = 256 << 20;
/** Largest JSON (TF.js model.json, Keras config.json) read for analysis. */
export const MAX_SCANNED_JSON_BYTES = 64 << 20;
/** Zip archives nested in zip archives that are opened. */
export const MAX_NESTED_ARCHIVES = 2;
/** First window read of a stream of stacked pickles; it grows while a pickle runs past it. */
const FIRST_PICKLE_WINDOW = 1 << 20;
/** First window read when any file is checked as a pickle from byte 0 (most stop at their first bytes). */
const FIRST_POLYGLOT_WINDOW = 1 << 12;
/** The legacy torch format's first pickle: a literal MAGIC_NUMBER. */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
/** Zip members that hold pickles by their name (content is checked too). */
const PICKLE_NAMES = /\.(pkl|pickle|joblib|dill|dat|data)$/i;

export interface ScanOptions {
  /** The folder of the file (local files), for references to other files (ONNX external data). */
  dir?: string;
  /**
   * An earlier `open` of this very source by its format's reader (format.ts ParsedModel): its
   * structure is checked instead of parsing the file again (a file is parsed once per command).
   */
  parsed?: ParsedModel;
}

/** The parse given for a source being scanned (ScanOptions.parsed), for the structure cross-checks. */
const parsedSources = new WeakMap<ByteSource, ParsedModel>();

/**
 * Scans one file for code that would run when it is loaded. The format is detected from the bytes,
 * never the name; only the structures a loader reads (pickles, directories, configs, headers) are
 * read, never tensor data, so the time does not grow with the model's size.
 */
export async function scanSource(source: ByteSource, options: ScanOptions = {}): Promise<ScanReport> {
  const findings: Finding[] = [];
  let dropped = 0;
  let dangerous = false;
  const ctx: ScanContext = {
    file: source.name,
    dir: options.dir,
    report: (f) => {
      dangerous ||= f.severity === 'dangerous';
      if (findings.length < MAX_FINDINGS_PER_FILE) findings.push(f);
      else dropped++;
    },
    hasDangerous: () => dangerous,
    scanPickle: async (bytes, location) => {
      await analyzeStream(new MemorySource(bytes, location), 0, ctx.report, { maxPickles: 1, where: location });
    },
  };
  let format: string;
  if (options.parsed) parsedSources.set(source, options.parsed);
  try {
    format = await scanAny(source, ctx, 0);
  } catch (e) {
    // Only I/O fails a scan: a damaged file is a finding.
    const message = isTensorsafeError(e) || e instanceof Error ? e.message : String(e);
    ctx.report({ severity: 'error', rule: 'scan/io-error', message: `the file could not be read: ${message}`, location: source.name });
    format = 'unknown';
  } finally {
    parsedSources.delete(source);
  }
  if (dropped > 0) {
    findings.push({ severity: 'suspicious', rule: 'scan/too-many-findings', message: `${dropped} more findings were not listed`, location: source.name });
  }
  return { file: source.name, format, verdict: verdictOf(findings), findings };
}

/** Scans bytes already in memory (browsers: a File's bytes). */
export function scanBytes(bytes: Uint8Array, name = 'memory', options: ScanOptions = {}): Promise<ScanReport> {
  return scanSource(new MemorySource(bytes, name), options);
}

/** What each detected format is called in a polyglot finding ("a safetensors file that is also a pickle"). */
const POLYGLOT_NAMES: Partial<Record<DetectedFormat, string>> = {
  zip: 'a zip archive',
  tar: 'a tar archive',
  safetensors: 'a safetensors file',
  npy: 'a NumPy .npy file',
  gguf: 'a GGUF file',
  hdf5: 'an HDF5 file',
  tflite: 'a TFLite model',
  'onnx-or-protobuf': 'a protobuf (ONNX) file',
  '7z': 'a 7z archive',
  gzip: 'a gzip file',
  png: 'a PNG image',
  jpeg: 'a JPEG image',
  html: 'an HTML page',
  'git-lfs-pointer': 'a Git LFS pointer',
};

async function scanAny(source: ByteSource, ctx: ScanContext, depth: number): Promise<string> {
  const head = await source.read(0, Math.min(source.size, 512));
  let format = detectFormat(head, source.size);
  // tarfile.open (which torch.load tries first) reads any tar whose first header's checksum is right, ustar or not.
  if (format !== 'zip' && format !== 'tar' && tarChecksumValid(head)) format = 'tar';
  // Whatever else the bytes are, pickle.load (or torch.load of a file that is not a zip) unpickles them from byte 0.
  const polyglot = POLYGLOT_NAMES[format];
  if (polyglot !== undefined) await checkAsPickle(source, ctx, polyglot);
  switch (format) {
    case 'zip':
      return scanZip(source, ctx, depth);
    case 'tar':
      return scanTar(source, ctx);
    case 'safetensors':
      await (await formatRules.safetensors()).scanSafetensors(source, ctx);
      return 'safetensors';
    case 'npy':
      await (await formatRules.npy()).scanNpy(source, ctx);
      return 'npy';
    case 'gguf':
      await (await formatRules.gguf()).scanGguf(source, ctx);
      return 'gguf';
    case 'hdf5':
      await (await formatRules.hdf5()).scanHdf5(source, ctx);
      return 'hdf5';
    case 'tflite':
      await (await formatRules.tflite()).scanTflite(source, ctx);
      return 'tflite';
    case 'onnx-or-protobuf':
      await (await formatRules.onnx()).scanOnnx(source, ctx);
      return 'onnx';
    case 'empty':
      ctx.report({ severity: 'info', rule: 'format/empty', message: 'an empty file', location: source.name });
      return 'empty';
    case 'gzip':
      return scanGzip(source, ctx, depth);
    case '7z':
      ctx.report({ severity: 'suspicious', rule: 'format/unscannable-archive', message: `${describeFormat(format)}: what it holds cannot be checked`, location: source.name });
      return format;
    case 'png':
    case 'jpeg':
    case 'html':
    case 'git-lfs-pointer':
      ctx.report({ severity: 'info', rule: 'format/not-a-model', message: `${describeFormat(format)}, not a model file`, location: source.name });
      return format;
    default:
      break;
  }
  if (head[0] === 0x7b /* { */) {
    const text = new TextDecoder().decode(await source.read(0, Math.min(source.size, MAX_SCANNED_JSON_BYTES)));
    if (/"modelTopology"|"weightsManifest"/.test(text)) {
      (await formatRules.tfjs()).scanTfjsModelJson(text, ctx, source.name);
      return 'tfjs';
    }
    ctx.report({ severity: 'info', rule: 'format/json', message: 'a JSON file, which cannot carry code', location: source.name });
    return 'json';
  }
  // Everything else is read as a pickle, as loaders do (a pickle named .bin must not escape: CVE-2025-10155).
  const result = await scanPickleFile(source, ctx, format);
  if (typeof result === 'string') return result;
  // What CPython's unpickler stops on before importing anything does nothing when loaded: not a model.
  if (format === 'text') {
    // A protobuf may start with a line feed (field 1, length-delimited): text that ONNX would load is ONNX.
    if (head[0] === 0x0a) {
      const onnx: Finding[] = [];
      await (await formatRules.onnx()).scanOnnx(source, { ...ctx, report: (f) => onnx.push(f) });
      if (onnx.some((f) => f.severity === 'dangerous' || f.rule === 'onnx/valid')) {
        for (const f of onnx) ctx.report(f);
        return 'onnx';
      }
    }
    ctx.report({ severity: 'info', rule: 'format/text', message: 'a text file, not a model file', location: source.name });
    return 'text';
  }
  if (format === 'pickle') {
    ctx.report({ severity: 'info', rule: 'pickle/inert', message: `starts like a pickle, but CPython's unpickler fails before importing anything (${result.reason ?? 'invalid'}): loading it runs nothing`, location: source.name });
    return 'pickle';
  }
  ctx.report({ severity: 'info', rule: 'format/unknown', message: 'not a format any model loader recognises (not a pickle, zip or known model format)', location: source.name });
  return 'unknown';
}

/**
 * A file of another format read as a pickle from byte 0, as pickle.load (or torch.load of a file that
 * is not a zip) would read it: if CPython's unpickler would import something before it stops, the file
 * is a polyglot, and what the pickle reaches is reported as for any pickle.
 */
async function checkAsPickle(source: ByteSource, ctx: ScanContext, what: string): Promise<void> {
  const found: Finding[] = [];
  const r = await analyzeStream(source, 0, (f) => found.push(f), { firstWindow: FIRST_POLYGLOT_WINDOW });
  if (!r.acted) return;
  const dangerous = found.some((f) => f.severity === 'dangerous');
  const suspicious = found.some((f) => f.severity === 'suspicious');
  const imports = dangerous ? 'what runs code' : suspicious ? 'names that are not known data types' : 'only known data types';
  ctx.report({
    severity: dangerous ? 'dangerous' : 'suspicious',
    rule: 'pickle/polyglot',
    message: `${what} that is also a pickle: pickle.load (or torch.load, for a file that is not a zip) of these bytes imports ${imports} before it stops (bytes 0–${r.end}); ${
      dangerous ? 'the file is dangerous to load with a pickle-based loader, whatever its own format’s readers say' : 'a file that is two formats at once, made so on purpose'
    }`,
    location: `${source.name}@0`,
  });
  for (const f of found) ctx.report(f);
}

/**
 * A bare pickle, stacked pickles, or the legacy torch format; then anything appended to them.
 * `{ reason }` when CPython's unpickler stops on the first bytes before importing anything (text,
 * source code, other files): nothing is reported then.
 */
async function scanPickleFile(source: ByteSource, ctx: ScanContext, format: string): Promise<string | { reason: string | undefined }> {
  const first = await analyzeStream(source, 0, ctx.report, { maxPickles: 1 });
  if (first.inert) return { reason: first.inertReason };
  const legacy = first.firstValue === LEGACY_MAGIC;
  let end = first.end;
  let acted = first.acted;
  if (legacy && !first.malformed) {
    // Protocol version, sys_info, the object, the storage keys (each analysed whatever its first
    // opcode); then raw storage data, never unpickled.
    const rest = await analyzeStream(source, end, ctx.report, { maxPickles: 4 });
    if (!rest.malformed) await checkTorchStructure(source, ctx);
    return 'pytorch-legacy';
  }
  if (first.malformed) return 'pickle';
  // More pickles may follow (loaders that call pickle.load repeatedly run them all, however many),
  // until bytes that CPython's unpickler stops on before importing anything.
  const more = await analyzeStream(source, end, ctx.report);
  acted ||= more.acted;
  if (more.malformed) return 'pickle';
  end = more.end;
  if (end < source.size) {
    // Text that starts like a pickle that does nothing ("N." of a README's "N.B."): not a model.
    if (!acted && format === 'text') return { reason: undefined };
    const tail = await source.read(end, Math.min(source.size - end, 512));
    ctx.report({
      severity: 'suspicious',
      rule: 'pickle/trailing-data',
      message: `${source.size - end} bytes follow the last pickle (${describeFormat(detectFormat(tail, source.size - end))}): a file that is two formats at once`,
      location: `${source.name}@${end}`,
    });
    // A pickle with a zip appended: both are read, by different loaders.
    try {
      const zip = await openZip(source, { strict: false });
      await scanZipEntries(zip, source, ctx, 1);
    } catch (e) {
      if (!isTensorsafeError(e)) throw e;
      // not a zip
    }
  }
  return 'pickle';
}

interface StreamResult {
  /** Offset after the last pickle analysed (absolute). */
  end: number;
  pickles: number;
  /** A pickle could not be fully decoded after it imported something, or exceeded a limit: nothing after it is read. */
  malformed: boolean;
  firstValue?: number | bigint;
  acted: boolean;
  /** The first bytes are not a pickle that does anything (nothing reported). */
  inert: boolean;
  inertReason?: string;
}

interface StreamOptions {
  /** Most pickles read one after another (default: all, until bytes CPython stops on before importing anything). */
  maxPickles?: number;
  /** The stream's name in locations (default: the source's). */
  where?: string;
  expected?: (qualifiedName: string) => boolean;
  firstWindow?: number;
}

/**
 * Analyses the pickles stacked from `start`, one by one, each over a window of the source that grows
 * while a pickle runs past it (up to MAX_SCANNED_PICKLE_BYTES), so that the time and memory stay
 * linear in the bytes read whatever the number of pickles. A pickle whose FRAME runs past the end of
 * the stream is read twice: CPython's C unpickler stops at the FRAME, the pure-Python unpickler
 * (`pickle._Unpickler`, joblib) runs the opcodes that remain.
 */
async function analyzeStream(source: ByteSource, start: number, report: (f: Finding) => void, options: StreamOptions = {}): Promise<StreamResult> {
  const maxPickles = options.maxPickles ?? Infinity;
  const firstWindow = options.firstWindow ?? FIRST_PICKLE_WINDOW;
  const where = options.where ?? source.name;
  const out: StreamResult = { end: start, pickles: 0, malformed: false, acted: false, inert: false };
  let buffer: Uint8Array = new Uint8Array(0);
  let bufferAt = start;
  let pos = start;
  while (pos < source.size && out.pickles < maxPickles) {
    let want = firstWindow;
    let r: ReturnType<typeof analyzePickles>;
    let found: Finding[];
    for (;;) {
      const need = Math.min(want, source.size - pos);
      if (pos < bufferAt || bufferAt + buffer.length - pos < need) {
        buffer = await source.read(pos, Math.min(Math.max(need, firstWindow), source.size - pos));
        bufferAt = pos;
      }
      const view = buffer.subarray(pos - bufferAt);
      found = [];
      const collect = (f: Finding): void => void found.push(f);
      r = analyzePickles(view, { where, report: collect, base: pos, expected: options.expected }, 1);
      if (r.truncated && pos + view.length < source.size && view.length < MAX_SCANNED_PICKLE_BYTES) {
        want = Math.min(view.length * 4, MAX_SCANNED_PICKLE_BYTES);
        continue;
      }
      if (r.truncated && pos + view.length < source.size) {
        // Cut by MAX_SCANNED_PICKLE_BYTES, not by the file: CPython reads on, so what follows is unknown.
        const op = opPastWindow(view, where, source.size - pos);
        if (op !== undefined) {
          report({
            severity: 'suspicious',
            rule: 'pickle/too-large',
            message: `the pickle at byte ${pos} has an opcode at byte ${pos + op} whose argument runs past the ${MAX_SCANNED_PICKLE_BYTES} bytes analysed (MAX_SCANNED_PICKLE_BYTES): what a loader runs after it was not checked`,
            location: `${where}@${pos + op}`,
          });
          for (const f of found) report(f);
          out.acted ||= r.acted;
          out.malformed = true;
          out.pickles++;
          out.end = pos + view.length;
          return out;
        }
      }
      if (r.truncated && pos + view.length >= source.size) {
        const python = pythonFrameReading(view, where, pos);
        if (python) {
          const extra: Finding[] = [];
          const r2 = analyzePickles(python.bytes, { where, report: (f) => extra.push(f), base: pos, expected: options.expected }, 1);
          if (r2.acted) {
            const seen = new Set(found.map((f) => `${f.rule}|${f.location}|${f.message}`));
            found.push({
              severity: 'suspicious',
              rule: 'pickle/frame-past-end',
              message: `a FRAME at byte ${python.at} declares more bytes than the stream has: CPython's C unpickler stops there, the pure-Python unpickler (pickle._Unpickler, joblib) runs the opcodes that follow; both readings are analysed`,
              location: `${where}@${python.at}`,
            });
            for (const f of extra) if (!seen.has(`${f.rule}|${f.location}|${f.message}`)) found.push(f);
            r = { ...r, acted: true, inert: false, malformed: true, end: Math.max(r.end, r2.end) };
          }
        }
      }
      break;
    }
    if (r.inert) {
      if (out.pickles === 0) {
        out.inert = true;
        out.inertReason = r.inertReason;
      }
      break;
    }
    for (const f of found) report(f);
    out.acted ||= r.acted;
    if (out.pickles === 0) out.firstValue = r.firstValue;
    out.pickles++;
    pos += r.end;
    out.end = pos;
    if (r.malformed || r.end === 0) {
      out.malformed = r.malformed;
      break;
    }
  }
  return out;
}

/**
 * The stream as the pure-Python unpickler reads it when a FRAME declares more bytes than remain: it
 * reads what is there and runs it (CPython's C unpickler fails at the FRAME). A copy whose FRAME
 * lengths are cut to what remains, or undefined when no FRAME runs past the end.
 */
function pythonFrameReading(bytes: Uint8Array, where: string, base: number): { bytes: Uint8Array; at: number } | undefined {
  let copy: Uint8Array | undefined;
  let at = -1;
  let pos = 0;
  for (let n = 0; pos < bytes.length && n < MAX_FRAME_WALK_OPS; n++) {
    if (bytes[pos] === 0x95 /* FRAME */ && pos + 9 <= bytes.length) {
      const declared = new DataView(bytes.buffer, bytes.byteOffset + pos + 1, 8).getBigUint64(0, true);
      const remaining = bytes.length - pos - 9;
      if (declared > BigInt(remaining)) {
        copy ??= bytes.slice();
        new DataView(copy.buffer, pos + 1, 8).setBigUint64(0, BigInt(remaining), true);
        if (at < 0) at = base + pos;
      }
      pos += 9;
      continue;
    }
    try {
      const op = readOp(copy ?? bytes, pos, where);
      if (op.info.name === 'STOP') break;
      pos = op.end;
    } catch {
      break;
    }
  }
  return copy ? { bytes: copy, at } : undefined;
}

/**
 * The offset of the opcode that runs past the end of `bytes` (a window of the stream) while the stream
 * itself holds all its argument (`available` bytes from the window's start), or undefined.
 */
function opPastWindow(bytes: Uint8Array, where: string, available: number): number | undefined {
  let pos = 0;
  for (let n = 0; pos < bytes.length && n < MAX_FRAME_WALK_OPS; n++) {
    try {
      const op = readOp(bytes, pos, where);
      if (op.info.name === 'STOP') return undefined;
      pos = op.end;
    } catch {
      const width = { bytes1: 1, bytes4: 4, bytes8: 8, long1: 1, long4: 4 }[OPCODES[bytes[pos]!]?.arg as string];
      if (width === undefined || pos + 1 + width > bytes.length) return undefined;
      let length = 0;
      for (let i = width - 1; i >= 0; i--) length = length * 256 + bytes[pos + 1 + i]!;
      return pos + 1 + width + length > bytes.length && pos + 1 + width + length <= available ? pos : undefined;
    }
  }
  return undefined;
}

/** Opcodes walked looking for a FRAME, or an argument, that runs past the end of the bytes read (the analysis itself stops at MAX_OPS). */
const MAX_FRAME_WALK_OPS = 50_000_000;

/**
 * A tar header as Python's tarfile checks it (TarInfo.frombuf): the checksum field read by `nti` (base-256
 * when its first byte is 0x80 or 0xff, otherwise ASCII up to a NUL read by `int(text.strip() or "0", 8)`,
 * which takes a sign, a `0o` prefix and underscores) equals the unsigned or the signed sum of the header's
 * bytes with the field read as spaces. Any of them makes `tarfile.open`, so torch.load, read the file as a tar.
 */
function tarChecksumValid(head: Uint8Array): boolean {
  if (head.length < 512 || head.every((b) => b === 0)) return false;
  const field = head.subarray(148, 156);
  let value: number;
  if (field[0] === 0x80 || field[0] === 0xff) {
    value = 0;
    for (let i = 1; i < 8; i++) value = value * 256 + field[i]!;
    if (field[0] === 0xff) value -= 256 ** 7;
  } else {
    const end = field.indexOf(0);
    const bytes = end < 0 ? field : field.subarray(0, end);
    if (bytes.some((b) => b > 0x7f)) return false;
    const text = new TextDecoder('latin1').decode(bytes).replace(/^[\s\x1c-\x1f]+|[\s\x1c-\x1f]+$/g, '');
    if (text !== '' && !/^[+-]?(?:0[oO]_?)?[0-7](?:_?[0-7])*$/.test(text)) return false;
    const sign = text.startsWith('-') ? -1 : 1;
    const digits = text.replace(/^[+-]/, '').replace(/^0[oO]/, '').replace(/_/g, '');
    value = digits === '' ? 0 : sign * parseInt(digits, 8);
  }
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < 512; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : head[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return value === unsigned || value === signed;
}

/** The converter's own reader as a second opinion on a torch container's structure (sizes, views, trailing data). */
async function checkTorchStructure(source: ByteSource, ctx: ScanContext): Promise<void> {
  // The converter's reader already read this source without failing: it is read as it is, nothing to add.
  if (isTorchCheckpoint(parsedSources.get(source)?.structure)) return;
  try {
    await readTorchCheckpoint(source, { skipUnknown: true });
  } catch (e) {
    if (!isTensorsafeError(e)) throw e;
    if (e.code === 'UnsafeGlobal') {
      // Reported by the analysis already, unless the converter's reader reached a pickle it did not.
      if (ctx.hasDangerous?.() ?? true) return;
      ctx.report({ severity: 'dangerous', rule: 'pytorch/unsafe-global', message: `torch.load would import a dangerous global: ${e.message}`, location: e.location ?? source.name });
      return;
    }
    ctx.report({ severity: 'suspicious', rule: 'pytorch/invalid', message: `torch.load would not read this checkpoint as it is (${e.code}): ${e.message}`, location: e.location ?? source.name });
  }
}

async function scanZip(source: ByteSource, ctx: ScanContext, depth: number): Promise<string> {
  let zip: ZipArchive;
  try {
    zip = await openZip(source, { strict: false });
  } catch (e) {
    if (!isTensorsafeError(e)) throw e;
    ctx.report({ severity: 'suspicious', rule: 'zip/malformed', message: `the archive cannot be read: ${e.message}`, location: source.name });
    return 'zip';
  }
  const format = await scanZipEntries(zip, source, ctx, depth);
  if (zip.offsetBase > 0) {
    // Python's zipfile shifted the recorded offsets by the bytes prepended; miniz (torch.load) reads them
    // as recorded. When a central directory is there too, that is a second archive in the same file.
    let recorded: ZipArchive | undefined;
    try {
      recorded = await openZip(source, { strict: false, offsets: 'recorded' });
    } catch (e) {
      if (!isTensorsafeError(e)) throw e;
    }
    if (recorded && recorded.entries.length > 0) {
      ctx.report({
        severity: 'suspicious',
        rule: 'zip/two-directories',
        message: `the end record's offsets read as recorded (torch.load's miniz) find a central directory at byte ${recorded.centralDirectoryOffset}, and shifted by the ${zip.offsetBase} bytes prepended (Python's zipfile) another at byte ${zip.centralDirectoryOffset}: two archives in one file; both are scanned`,
        location: source.name,
      });
      await scanZipEntries(recorded, source, ctx, depth);
    }
  }
  return format;
}

/**
 * Every entry of an archive (duplicates too), as the loaders that read such archives would see them.
 * Each distinct entry (by local header offset, method, sizes and role) is read once; an entry that
 * cannot be read is a finding about that entry, and the rest of the archive is still scanned.
 */
async function scanZipEntries(zip: ZipArchive, source: ByteSource, ctx: ScanContext, depth: number): Promise<string> {
  for (const f of zip.findings) {
    ctx.report({
      severity: 'suspicious',
      rule: `zip/${kebab(f.code)}`,
      message: `${f.message} (archive tampering or a polyglot: readers disagree on such archives)`,
      location: f.entry ? `${source.name}:${f.entry}` : `${source.name}${f.offset !== undefined ? '@' + f.offset : ''}`,
    });
  }
  // A pickle in front of the archive: the legacy torch loader reads it (a polyglot).
  if (zip.leadingBytes > 0) await analyzeStream(new WindowSource(source, 0, zip.leadingBytes, source.name), 0, ctx.report);
  const names = zip.entries.map((e) => e.name);
  // Where torch may find the pickle: `<first entry's folder>/data.pkl`, and any other data.pkl it could
  // pick in an archive that holds several (all are analysed; none is taken for a storage record).
  const dataPkls = names.filter((n) => /(^|\/)data\.pkl$/.test(n));
  const prefixes = [...new Set(dataPkls.map((n) => n.slice(0, n.length - 'data.pkl'.length)))];
  const prefix = prefixes[0];
  const torchscript = prefixes.some((p) => names.some((n) => n === `${p}constants.pkl` || n.startsWith(`${p}code/`)));
  const keras = names.includes('config.json') && (names.includes('model.weights.h5') || names.includes('metadata.json'));
  const npz = names.length > 0 && names.every((n) => n.endsWith('.npy') || n.endsWith('/'));
  const format = torchscript ? 'torchscript' : prefix !== undefined ? 'pytorch-zip' : keras ? 'keras' : npz ? 'npz' : 'zip';
  if (torchscript) {
    const code = names.filter((n) => prefixes.some((p) => n.startsWith(`${p}code/`)));
    ctx.report({
      severity: 'suspicious',
      rule: 'torchscript/code',
      message: `a TorchScript archive with ${code.length} code file(s) (${code.slice(0, 3).join(', ')}${code.length > 3 ? ', …' : ''}): torch.jit.load runs that code; torch.load refuses it with weights_only`,
      location: source.name,
    });
  }
  const expected = torchscript ? (q: string): boolean => q.startsWith('__torch__.') || q.startsWith('torch.jit._pickle.') : undefined;
  // Storage records of a torch archive are raw tensor bytes that no loader unpickles (a pickle's name excepted).
  const storage = (n: string): boolean => !PICKLE_NAMES.test(n) && prefixes.some((p) => n.startsWith(`${p}data/`) || n.startsWith(`${p}.data/`) || n.startsWith(`${p}code/`));
  const done = new Set<string>();
  for (const entry of zip.entries) {
    if (entry.isDirectory) continue;
    const where = `${source.name}:${entry.name}`;
    if (entry.problem) {
      ctx.report({ severity: 'suspicious', rule: 'zip/unreadable-entry', message: `${entry.name} cannot be read: ${entry.problem.message}`, location: where });
      continue;
    }
    // A storage record is raw bytes to torch, but np.load reads the same archive as an npz, and any
    // member that starts with the npy magic as an array (an object array is a pickle): those are scanned.
    if (storage(entry.name) && entry.method === 0 && !(entry.size >= 6 && isNpyMagic(await (await entry.source()).read(0, 6)))) continue;
    // The same entry listed several times in the central directory is read once; listings that read
    // its bytes differently (another method or size, a name that gives it another role) are read each.
    const role = entry.name === 'config.json' ? 'config' : PICKLE_NAMES.test(entry.name) || PICKLE_NAMES.test(entry.localName) ? 'pickle' : '';
    const key = `${entry.localHeaderOffset}|${entry.method}|${entry.compressedSize}|${entry.size}|${role}`;
    if (done.has(key)) continue;
    done.add(key);
    try {
      await scanEntry(entry, where, keras, expected, ctx, depth);
    } catch (e) {
      if (!isTensorsafeError(e)) throw e;
      ctx.report({
        severity: 'suspicious',
        rule: 'zip/unreadable-entry',
        message: `${entry.name} cannot be read (${e.code}): ${e.message}; what it holds cannot be checked`,
        location: where,
      });
    }
  }
  if (prefix !== undefined) await checkTorchStructure(zip.source, ctx);
  return format;
}

/** One zip entry, by what it holds. Throws a TensorsafeError when the entry cannot be read. */
async function scanEntry(entry: ZipEntry, where: string, keras: boolean, expected: ((q: string) => boolean) | undefined, ctx: ScanContext, depth: number): Promise<void> {
  if (keras && entry.name === 'config.json') {
    (await formatRules.keras()).scanKerasConfig(decodeJsonBytes(await entry.read()), ctx, where);
    return;
  }
  if (entry.size === 0) return;
  // Inflated once: the head decides the role, the bytes are analysed.
  const inflated = entry.method === 0 ? undefined : entry.size > MAX_SCANNED_PICKLE_BYTES ? new Uint8Array(0) : await entry.read();
  const head = inflated ? inflated.subarray(0, 8) : await (await entry.source()).read(0, Math.min(entry.size, 8));
  const role = entryRole(entry, head);
  if (role === 'skip') {
    // Neither named nor shaped like a pickle, but read as one from byte 0 (a protocol 0 or 1 pickle has
    // no signature): what CPython's unpickler would import in it is reported, as for any pickle.
    if (inflated && inflated.length !== entry.size) return;
    const found: Finding[] = [];
    const r = await analyzeStream(inflated ? new MemorySource(inflated, where) : await entry.source(), 0, (f) => found.push(f), { where, expected, firstWindow: FIRST_POLYGLOT_WINDOW });
    if (r.acted) for (const f of found) ctx.report(f);
    return;
  }
  if (role === 'pickle' && entry.size > MAX_SCANNED_PICKLE_BYTES) {
    ctx.report({ severity: 'suspicious', rule: 'pickle/too-large', message: `${entry.name} is a ${entry.size}-byte pickle, more than the ${MAX_SCANNED_PICKLE_BYTES} bytes analysed`, location: where });
    return;
  }
  const source = inflated && inflated.length === entry.size ? new MemorySource(inflated, where) : await entry.source();
  if (role === 'pickle') {
    if (entry.method === 0 && entry.crc32 !== 0 && !(await entry.checkCrc())) {
      ctx.report({ severity: 'suspicious', rule: 'zip/bad-crc', message: `${entry.name}'s bytes do not match its CRC-32: changed after it was written (torch does not check CRCs)`, location: where });
    }
    await analyzeStream(source, 0, ctx.report, { where, expected });
  } else if (role === 'npy') {
    await (await formatRules.npy()).scanNpy(source, { ...ctx, file: where });
  } else if (role === 'zip' && depth < MAX_NESTED_ARCHIVES) {
    await scanZip(source, { ...ctx, file: where }, depth + 1);
  }
}

function isNpyMagic(head: Uint8Array): boolean {
  return head[0] === 0x93 && new TextDecoder('latin1').decode(head.subarray(1, 6)) === 'NUMPY';
}

function entryRole(entry: ZipEntry, head: Uint8Array): 'pickle' | 'npy' | 'zip' | 'skip' {
  if (isNpyMagic(head)) return 'npy';
  if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 3 && head[3] === 4) return 'zip';
  // By name, or by content: a pickle under another name is still loaded (CVE-2025-1889).
  if (PICKLE_NAMES.test(entry.name) || PICKLE_NAMES.test(entry.localName) || (head[0] === 0x80 && (head[1] ?? 99) >= 2 && (head[1] ?? 99) <= 5)) return 'pickle';
  return 'skip';
}

/**
 * JSON bytes as Python's json.loads reads them (json.detect_encoding): UTF-32 and UTF-16 by their BOM
 * or by the NUL bytes of the first characters, UTF-8 (with or without a BOM) otherwise.
 */
export function decodeJsonBytes(b: Uint8Array): string {
  const starts = (...sig: number[]): boolean => sig.every((x, i) => b[i] === x);
  let encoding: 'utf-8' | 'utf-16le' | 'utf-16be' | 'utf-32le' | 'utf-32be';
  let skip = 0;
  if (starts(0xff, 0xfe, 0, 0)) [encoding, skip] = ['utf-32le', 4];
  else if (starts(0, 0, 0xfe, 0xff)) [encoding, skip] = ['utf-32be', 4];
  else if (starts(0xff, 0xfe)) [encoding, skip] = ['utf-16le', 2];
  else if (starts(0xfe, 0xff)) [encoding, skip] = ['utf-16be', 2];
  else if (starts(0xef, 0xbb, 0xbf)) [encoding, skip] = ['utf-8', 3];
  else if (b.length >= 4 && b[0] === 0) encoding = b[1] ? 'utf-16be' : 'utf-32be';
  else if (b.length >= 4 && b[1] === 0) encoding = b[2] || b[3] ? 'utf-16le' : 'utf-32le';
  else if (b.length === 2 && b[0] === 0) encoding = 'utf-16be';
  else if (b.length === 2 && b[1] === 0) encoding = 'utf-16le';
  else encoding = 'utf-8';
  const body = b.subarray(skip);
  if (encoding === 'utf-32le' || encoding === 'utf-32be') {
    const v = new DataView(body.buffer, body.byteOffset, body.length);
    let out = '';
    for (let i = 0; i + 4 <= body.length; i += 4) {
      const cp = v.getUint32(i, encoding === 'utf-32le');
      out += cp <= 0x10ffff ? String.fromCodePoint(cp) : '\ufffd';
    }
    return out;
  }
  return new TextDecoder(encoding, { ignoreBOM: true }).decode(body);
}

/** The tar format's members, each pickle of each member read by the converter's restricted machine. */
async function scanTar(source: ByteSource, ctx: ScanContext): Promise<string> {
  let members;
  try {
    members = await tarMembers(source);
  } catch (e) {
    if (!isTensorsafeError(e)) throw e;
    ctx.report({ severity: 'suspicious', rule: 'tar/malformed', message: e.message, location: source.name });
    return 'tar';
  }
  const isTorch = members.has('pickle') && members.has('storages');
  // torch.load unpickles the start of each of these members: sys_info and pickle hold one pickle,
  // storages and tensors a count and a pickle per record (raw bytes in between end the stream).
  for (const name of ['sys_info', 'pickle', 'storages', 'tensors']) {
    const m = members.get(name);
    if (m) await analyzeStream(new WindowSource(source, m.offset, m.size, `${source.name}:${name}`), 0, ctx.report);
  }
  if (isTorch) await checkTorchStructure(source, ctx);
  else ctx.report({ severity: 'info', rule: 'tar/not-a-checkpoint', message: 'a tar archive that is not a PyTorch checkpoint; its other members are not scanned', location: source.name });
  return isTorch ? 'pytorch-tar' : 'tar';
}

function kebab(code: string): string {
  return code.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

/**
 * A gzip file: what `gzip.open` gives a loader is scanned as a file of its own (a gzipped pickle is a
 * pickle; gzipped text is text). One that cannot be decompressed, or is too large to, cannot be checked.
 */
async function scanGzip(source: ByteSource, ctx: ScanContext, depth: number): Promise<string> {
  const { gunzipBounded, GunzipProblem, MAX_GUNZIPPED_BYTES } = await import('./gzip.js');
  const cannot = (why: string): string => {
    ctx.report({ severity: 'suspicious', rule: 'format/unscannable-archive', message: `a gzip file whose content cannot be checked: ${why}`, location: source.name });
    return 'gzip';
  };
  if (depth >= MAX_NESTED_ARCHIVES) return cannot(`gzip nested in ${depth} archives (MAX_NESTED_ARCHIVES)`);
  if (source.size > MAX_GUNZIPPED_BYTES) return cannot(`${source.size} compressed bytes, more than the ${MAX_GUNZIPPED_BYTES} scanned (MAX_GUNZIPPED_BYTES)`);
  let content: Uint8Array;
  try {
    content = gunzipBounded(await source.read(0, source.size));
  } catch (e) {
    if (e instanceof GunzipProblem) return cannot(e.message);
    throw e;
  }
  const inner = await scanAny(new MemorySource(content, `${source.name} (gunzipped)`), ctx, depth + 1);
  return `gzip (${inner})`;
}
