import { IoError, isTensorsafeError } from '../errors.js';
import { checkRange, MemorySource, WindowSource, type ByteSource } from '../io/byte-source.js';
import { alternativeContainer, containerName, describeFormat, detectContainer, detectFormat, isNpyMagic, isZipLocalHeader, pickleProtocol, type ContainerKind } from '../formats/detect.js';
import { DETECT_HEAD_BYTES, type ContainerRules, type ContainerView, type DetectProbe, type FormatDescriptor, type FormatReader, type ParsedModel } from '../formats/format.js';
import { fileProbe, formatsByExtension, formatsClaiming, readerOf } from '../formats/registry.js';
import { openZip, type ZipArchive, type ZipEntry } from '../formats/zip/index.js';
import { METHOD_STORED, readableMethod } from '../formats/zip/entry.js';
import type { DecodedMember } from '../formats/zip/decoded-member.js';
import type { Finding, ScanContext, ScanReport } from '../formats/findings.js';
import { ListedFindings } from './listed-findings.js';
import { analyzePickles } from './pickle-analysis.js';
import { readOp } from '../formats/pickle/disassemble.js';
import { OPCODES } from '../formats/pickle/opcodes.js';

/**
 * The scanner never names a format: it walks the containers loaders read (zip, tar, gzip, stacked
 * pickles), analyses every pickle in them, and asks the format registry what the bytes are; each
 * format's scan rules (and, for a container, its container rules) are loaded when a file of that format
 * is met: scanning a checkpoint does not load the GGUF, HDF5, … rules.
 */

/** Largest pickle read into memory for analysis: a data pickle is structure, not tensor bytes. */
export const MAX_SCANNED_PICKLE_BYTES = 256 << 20;
/** Zip archives nested in zip archives that are opened. */
export const MAX_NESTED_ARCHIVES = 2;
/** First window read of a stream of stacked pickles; it grows while a pickle runs past it. */
const FIRST_PICKLE_WINDOW = 1 << 20;
/** First window read when any file is checked as a pickle from byte 0 (most stop at their first bytes). */
const FIRST_POLYGLOT_WINDOW = 1 << 12;
/** Zip members that hold pickles by their name (content is checked too). */
const PICKLE_NAMES = /\.(pkl|pickle|joblib|dill|dat|data)$/i;

export interface ScanOptions {
  /** The folder of the file (local files), for references to other files (ONNX external data). */
  dir?: string;
  /** Local files: whether a referenced path escapes the folder through a symbolic link (ScanContext.escapesFolder). */
  escapesFolder?: (relative: string) => Promise<string | undefined>;
  /**
   * An open() of this same source already made by the format's reader: its scan rules check that
   * structure instead of parsing again (a file is parsed once per command). What the scan reports is
   * the same with it and without it.
   */
  parsed?: ParsedModel;
}

/** What the walk carries: where findings go, and the structure an earlier open() made of the scanned source. */
interface Walk extends ScanContext {
  /** `options.parsed` for the scanned source itself, undefined for anything inside it. */
  parsedFor(source: ByteSource): ParsedModel | undefined;
}

/**
 * Scans one file for code that would run when it is loaded. The format is detected from the bytes,
 * never the name; only the structures a loader reads (pickles, directories, configs, headers) are
 * read, never tensor data, so the time does not grow with the model's size.
 */
export async function scanSource(source: ByteSource, options: ScanOptions = {}): Promise<ScanReport> {
  const listed = new ListedFindings();
  let dangerous = false;
  const ctx: Walk = reportingTo(
    {
      file: source.name,
      dir: options.dir,
      ...(options.escapesFolder !== undefined ? { escapesFolder: options.escapesFolder } : {}),
      report: (f: Finding) => {
        dangerous ||= f.severity === 'dangerous';
        listed.add(f);
      },
      hasDangerous: () => dangerous,
      parsedFor: (s: ByteSource) => (s === source ? options.parsed : undefined),
    },
    undefined,
  );
  let format: string;
  try {
    format = await scanAny(source, ctx, 0);
  } catch (e) {
    // Only I/O fails a scan: a damaged file is a finding.
    const message = isTensorsafeError(e) || e instanceof Error ? e.message : String(e);
    ctx.report({ severity: 'error', rule: 'scan/io-error', message: `the file could not be read: ${message}`, location: source.name });
    format = 'unknown';
  }
  return { file: source.name, format, verdict: listed.verdict, findings: listed.findings(source.name) };
}

/**
 * A walk context whose findings go to `report` (default: the context's own), the pickles its format
 * rules find (object arrays, nested pickles) included.
 */
function reportingTo<C extends Omit<ScanContext, 'scanPickle'>>(ctx: C, report: ((f: Finding) => void) | undefined): C & Pick<ScanContext, 'scanPickle'> {
  const to = report ?? ctx.report;
  return {
    ...ctx,
    report: to,
    scanPickle: async (bytes: Uint8Array, location: string) => {
      await analyzeStream(new MemorySource(bytes, location), 0, to, { maxPickles: 1, where: location });
    },
  };
}

/** Scans bytes already in memory (browsers: a File's bytes). */
export function scanBytes(bytes: Uint8Array, name = 'memory', options: ScanOptions = {}): Promise<ScanReport> {
  return scanSource(new MemorySource(bytes, name), options);
}

/**
 * Containers the scanner reads itself, whatever format claims them (archives it walks, files it names
 * without reading them further). Every other file is read by the scan rules of the format that claims
 * it or, when none does, as a pickle.
 */
const WALKED_CONTAINERS = ['zip', 'tar', 'gzip', '7z', 'png', 'jpeg', 'html', 'git-lfs-pointer'] as const;
type WalkedContainer = (typeof WALKED_CONTAINERS)[number];
const isWalked = (kind: ContainerKind): kind is WalkedContainer => (WALKED_CONTAINERS as readonly string[]).includes(kind);

async function scanAny(source: ByteSource, ctx: Walk, depth: number): Promise<string> {
  const head = await source.read(0, Math.min(source.size, DETECT_HEAD_BYTES));
  const container = detectContainer(head, source.size);
  const label = await scanAsContainer(source, head, container, ctx, depth);
  if (container !== 'hdf5' && container !== 'empty') await scanHdf5AfterUserBlock(source, container, ctx);
  return label;
}

/** The HDF5 signature (what the HDF5 library looks for at byte 0, 512, 1024, 2048…). */
const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * A file of another format with an HDF5 file inside it at 512, 1024, 2048… bytes: the HDF5 library
 * (h5py, Keras's legacy `.h5` loader) searches every such offset up to the end of the file and reads
 * what follows the first signature as the file, the bytes before it as a user block. A safetensors
 * file or a zip archive named `model.h5` is then a Keras model with a config of its own: suspicious.
 * A user block of no format (h5py's `userblock_size` writes zeros; some tools put text there) is the
 * HDF5 feature used as meant: info. Either way the HDF5 file is scanned by the rules of the formats
 * that claim HDF5 (the bytes before it were checked as a pickle like any file of no format).
 */
async function scanHdf5AfterUserBlock(source: ByteSource, container: ContainerKind, ctx: Walk): Promise<void> {
  for (let at = 512; at + HDF5_SIGNATURE.length <= source.size; at *= 2) {
    const bytes = await source.read(at, HDF5_SIGNATURE.length);
    if (!HDF5_SIGNATURE.every((b, i) => bytes[i] === b)) continue;
    const plain = container === 'unknown' || container === 'text';
    ctx.report({
      severity: plain ? 'info' : 'suspicious',
      rule: 'format/hdf5-user-block',
      message: plain
        ? `an HDF5 file after a user block of ${at} bytes (no format of their own); the HDF5 file is scanned`
        : `an HDF5 file starts at byte ${at}: the HDF5 library (h5py, Keras's .h5 loader) reads the file from there, whatever the bytes before it are: a file that is two formats at once (${containerName(container)}); the HDF5 file is scanned`,
      location: `${source.name}@${at}`,
    });
    const tail = await source.read(at, Math.min(source.size - at, DETECT_HEAD_BYTES));
    const claim = await formatScanning({ head: tail, size: source.size - at, container: 'hdf5' });
    if (claim !== undefined) await claim.scan(source, ctx, undefined);
    return;
  }
}

async function scanAsContainer(source: ByteSource, head: Uint8Array, container: ContainerKind, ctx: Walk, depth: number): Promise<string> {
  if (container === 'empty') {
    ctx.report({ severity: 'info', rule: 'format/empty', message: 'an empty file', location: source.name });
    return 'empty';
  }
  // A format's own bytes, whatever container they are (a new format may claim text), are read by its scan rules.
  const claim = isWalked(container) ? undefined : await formatScanning(await fileProbe(source, head, container));
  // Whatever else the bytes are, pickle.load (or torch.load of a file that is not a zip) unpickles them
  // from byte 0: every file that is not read as a pickle below is checked so first.
  if (isWalked(container) || claim !== undefined || container === 'json') {
    await checkAsPickle(source, ctx, claim !== undefined ? `a file read as ${claim.format.name}` : containerName(container));
  }
  if (isWalked(container)) {
    switch (container) {
      case 'zip':
        return scanZip(source, head, ctx, depth);
      case 'tar':
        return scanTar(source, head, ctx);
      case 'gzip':
        return scanGzip(source, ctx, depth);
      case '7z':
        ctx.report({ severity: 'suspicious', rule: 'format/unscannable-archive', message: `${describeFormat(container)}: what it holds cannot be checked`, location: source.name });
        return container;
      default:
        ctx.report({ severity: 'info', rule: 'format/not-a-model', message: `${describeFormat(container)}, not a model file`, location: source.name });
        return container;
    }
  }
  if (claim !== undefined) {
    const label = await scanAsFormat(source, ctx, claim);
    await scanAppendedZip(source, head, ctx, depth, claim.format.name);
    return label;
  }
  if (container === 'json') {
    ctx.report({ severity: 'info', rule: 'format/json', message: 'a JSON file, which cannot carry code', location: source.name });
    await scanAppendedZip(source, head, ctx, depth, 'a JSON file');
    return 'json';
  }
  // Everything else is read as a pickle, as loaders do (a pickle named .bin must not escape: CVE-2025-10155).
  const result = await scanPickleFile(source, head, ctx, container);
  if (typeof result === 'string') return result;
  // What CPython's unpickler stops on before importing anything does nothing when loaded: not a model.
  if (container === 'text') {
    // Text that a format's loader would read as that format (a protobuf may start with a line feed) is
    // that format when its rules find it valid, or dangerous. (Read as a pickle already: inert.)
    const other = alternativeContainer(head, container);
    const tentative = other === undefined ? undefined : await formatScanning({ head, size: source.size, container: other });
    const label = tentative === undefined ? undefined : await scanIfJudged(source, ctx, tentative);
    if (label !== undefined) return label;
    ctx.report({ severity: 'info', rule: 'format/text', message: 'a text file, not a model file', location: source.name });
    return 'text';
  }
  if (container === 'pickle') {
    ctx.report({ severity: 'info', rule: 'pickle/inert', message: `starts like a pickle, but CPython's unpickler fails before importing anything (${result.reason ?? 'invalid'}): loading it runs nothing`, location: source.name });
    return 'pickle';
  }
  // Bytes no detector claims, in a file named as a format's loader finds it by name (TensorFlow opens
  // `saved_model.pb` whatever its first field is, and protobuf parsers skip unknown fields, however long):
  // that format's rules read it, and are heard when they find it valid or dangerous.
  const byName = await scanByName(source, ctx);
  if (byName !== undefined) return byName;
  ctx.report({ severity: 'info', rule: 'format/unknown', message: 'not a format any model loader recognises (not a pickle, zip or known model format)', location: source.name });
  return 'unknown';
}

/** The formats named by the file's name tried on unclaimed bytes; the label of the first whose rules find them valid or dangerous. */
async function scanByName(source: ByteSource, ctx: Walk): Promise<string | undefined> {
  const name = source.name.split(/[\\/]/).pop() ?? source.name;
  for (const format of formatsByExtension(name)) {
    const reader = await readerOf(format);
    if (reader.scan === undefined) continue;
    const label = await scanIfJudged(source, ctx, { format, scan: reader.scan.bind(reader) });
    if (label !== undefined) return label;
  }
  return undefined;
}

/**
 * Bytes scanned tentatively by a format's rules: what they found is reported, and their label returned,
 * only when they find the bytes valid or dangerous (otherwise the bytes are not that format, and the
 * caller says what they are).
 */
async function scanIfJudged(source: ByteSource, ctx: Walk, claim: FormatScan): Promise<string | undefined> {
  const found: Finding[] = [];
  const label = await scanAsFormat(source, reportingTo(ctx, (f) => void found.push(f)), claim);
  if (!found.some((f) => f.severity === 'dangerous' || f.rule === `${claim.format.id}/valid`)) return undefined;
  for (const f of found) ctx.report(f);
  return label;
}

/**
 * A file of another format that is also a zip archive read from its end (its end record in the last
 * bytes): Python's zipfile.is_zipfile accepts it, and Keras's load_model opens any such `.keras` file as
 * an archive, whatever its first bytes are (an HDF5 file with a `.keras` archive appended is loaded
 * from its config.json). The archive is reported and its entries scanned as any archive's.
 */
async function scanAppendedZip(source: ByteSource, head: Uint8Array, ctx: Walk, depth: number, what: string): Promise<void> {
  let zip: ZipArchive;
  try {
    zip = await openZip(source, { strict: false });
  } catch (e) {
    if (!isTensorsafeError(e)) throw e;
    return; // no end record, or none a reader accepts: not a zip
  }
  if (zip.entries.length === 0) return;
  ctx.report({
    severity: 'suspicious',
    rule: 'format/appended-zip',
    message: `${what} that is also a zip archive of ${zip.entries.length} entries (from byte ${zip.leadingBytes}): Python's zipfile reads it from its end, and Keras loads a .keras file that is a zip as that archive; its entries are scanned`,
    location: `${source.name}@${zip.leadingBytes}`,
  });
  await scanZipEntries(zip, source, head, ctx, depth + 1);
}

/** A format that scans a file with rules of its own, and those rules. */
interface FormatScan {
  readonly format: FormatDescriptor;
  readonly scan: NonNullable<FormatReader['scan']>;
}

/** The first format that claims the probe and has scan rules of its own (registry order), or undefined. */
async function formatScanning(probe: DetectProbe): Promise<FormatScan | undefined> {
  for (const format of formatsClaiming(probe)) {
    const reader = await readerOf(format);
    if (reader.scan !== undefined) return { format, scan: reader.scan.bind(reader) };
  }
  return undefined;
}

/** The bytes scanned by a format's rules; its name in the report (the format's id unless the rules say otherwise). */
async function scanAsFormat(source: ByteSource, ctx: Walk, claim: FormatScan): Promise<string> {
  return (await claim.scan(source, ctx, ctx.parsedFor(source))) ?? claim.format.id;
}

/** The container rules of every format that claims a container, in registry order (the first names it). */
async function containerRules(probe: DetectProbe, view: ContainerView): Promise<ContainerRules[]> {
  const out: ContainerRules[] = [];
  for (const format of formatsClaiming(probe)) {
    const rules = (await readerOf(format)).containerRules?.(view);
    if (rules !== undefined) out.push(rules);
  }
  return out;
}

/** Runs the after-walk checks of a container's rules. */
async function afterWalk(rules: readonly ContainerRules[], source: ByteSource, ctx: Walk): Promise<void> {
  for (const r of rules) await r.after?.(source, ctx, ctx.parsedFor(source));
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
  // An EXT1/2/4 opcode looks its global up in copyreg's extension registry, which CPython leaves empty:
  // the unpickler raises there, having imported nothing. A file whose only act is one (a msgpack map of
  // 2 to 4 keys starts with 0x82-0x84, every Flax checkpoint) is not a pickle that imports anything.
  if (found.every((f) => f.rule === 'pickle/extension-code' || f.rule === 'pickle/malformed' || f.severity === 'info')) return;
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
 * A bare pickle or stacked pickles, or a format that is a stream of pickles (the legacy torch format:
 * its container rules say how many follow and check it after); then anything appended to them.
 * `{ reason }` when CPython's unpickler stops on the first bytes before importing anything (text,
 * source code, other files): nothing is reported then.
 */
async function scanPickleFile(source: ByteSource, head: Uint8Array, ctx: Walk, container: ContainerKind): Promise<string | { reason: string | undefined }> {
  const first = await analyzeStream(source, 0, ctx.report, { maxPickles: 1 });
  if (first.inert) return { reason: first.inertReason };
  let end = first.end;
  let acted = first.acted;
  if (first.malformed) return 'pickle';
  const [format] = await containerRules({ head, size: source.size, container: 'pickle' }, { kind: 'pickle', firstValue: first.firstValue });
  if (format !== undefined) {
    // The pickles the format's loader reads next (each analysed whatever its first opcode).
    const rest = await analyzeStream(source, end, ctx.report, { maxPickles: format.followingPickles ?? Infinity });
    if (!rest.malformed) await afterWalk([format], source, ctx);
    return format.label;
  }
  // More pickles may follow (loaders that call pickle.load repeatedly run them all, however many),
  // until bytes that CPython's unpickler stops on before importing anything.
  const more = await analyzeStream(source, end, ctx.report);
  acted ||= more.acted;
  if (more.malformed) return 'pickle';
  end = more.end;
  if (end < source.size) {
    // Text that starts like a pickle that does nothing ("N." of a README's "N.B."): not a model.
    if (!acted && container === 'text') return { reason: undefined };
    const tail = await source.read(end, Math.min(source.size - end, DETECT_HEAD_BYTES));
    ctx.report({
      severity: 'suspicious',
      rule: 'pickle/trailing-data',
      message: `${source.size - end} bytes follow the last pickle (${describeFormat(detectFormat(tail, source.size - end))}): a file that is two formats at once`,
      location: `${source.name}@${end}`,
    });
    // A pickle with a zip appended: both are read, by different loaders.
    try {
      const zip = await openZip(source, { strict: false });
      await scanZipEntries(zip, source, head, ctx, 1);
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

async function scanZip(source: ByteSource, head: Uint8Array, ctx: Walk, depth: number): Promise<string> {
  let zip: ZipArchive;
  try {
    zip = await openZip(source, { strict: false });
  } catch (e) {
    if (!isTensorsafeError(e)) throw e;
    ctx.report({ severity: 'suspicious', rule: 'zip/malformed', message: `the archive cannot be read: ${e.message}`, location: source.name });
    return 'zip';
  }
  const format = await scanZipEntries(zip, source, head, ctx, depth);
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
      await scanZipEntries(recorded, source, head, ctx, depth);
    }
  }
  return format;
}

/**
 * Every entry of an archive (duplicates too), as the loaders that read such archives would see them.
 * Each distinct entry (by local header offset, method, sizes and role) is read once; an entry that
 * cannot be read is a finding about that entry, and the rest of the archive is still scanned. The
 * formats that claim the archive say what its entries mean (their container rules).
 */
async function scanZipEntries(zip: ZipArchive, source: ByteSource, head: Uint8Array, ctx: Walk, depth: number): Promise<string> {
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
  const rules = await containerRules({ head, size: source.size, container: 'zip', entries: names }, { kind: 'zip', entries: names });
  const format = rules[0]?.label ?? 'zip';
  for (const r of rules) r.before?.(ctx, source.name);
  const expecting = rules.filter((r) => r.expected !== undefined);
  const expected = expecting.length === 0 ? undefined : (q: string): boolean => expecting.some((r) => r.expected!(q));
  // Raw records of a format (torch storages) are bytes no loader unpickles (a pickle's name excepted).
  const rawRecord = (n: string): boolean => !PICKLE_NAMES.test(n) && rules.some((r) => r.rawRecord?.(n) ?? false);
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
    if (rawRecord(entry.name) && entry.method === 0 && !(entry.size >= 6 && isNpyMagic(await (await entry.source()).read(0, 6)))) continue;
    const own = rules.find((r) => r.entries?.matches(entry.name) ?? false)?.entries;
    // The same entry listed several times in the central directory is read once; listings that read
    // its bytes differently (another method or size, a name that gives it another role) are read each.
    const role = own !== undefined ? 'format' : PICKLE_NAMES.test(entry.name) || PICKLE_NAMES.test(entry.localName) ? 'pickle' : '';
    const key = `${entry.localHeaderOffset}|${entry.method}|${entry.compressedSize}|${entry.size}|${role}`;
    if (done.has(key)) continue;
    done.add(key);
    try {
      if (own !== undefined) await own.scan(await entry.read(), ctx, where);
      else await scanEntry(entry, where, expected, ctx, depth);
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
  await afterWalk(rules, zip.source, ctx);
  return format;
}

/** Bytes of a compressed member decoded for its analysis: a pickle is analysed up to MAX_SCANNED_PICKLE_BYTES, and an npy's rules read its header and an object array's pickle within them. Guards against bombs and huge members filling memory. */
const MAX_DECODED_MEMBER_BYTES = MAX_SCANNED_PICKLE_BYTES;
/**
 * Members declaring at most this many bytes are read to their end, so that their size (compressed
 * members) and CRC-32 are checked as Python's zipfile checks them when a loader reads them; larger
 * ones are read only as far as their analysis goes. Guards against a scan reading a model's tensor data.
 */
const MAX_CHECKED_MEMBER_BYTES = 16 << 20;

type EntryRole = 'pickle' | 'npy' | 'zip' | 'skip';

/**
 * One zip entry, by what it holds. Throws a TensorsafeError when the entry cannot be read. A compressed
 * member is read as it actually decodes, whatever its declared size says (see scanCompressedEntry).
 */
async function scanEntry(entry: ZipEntry, where: string, expected: ((q: string) => boolean) | undefined, ctx: Walk, depth: number): Promise<void> {
  if (entry.method !== METHOD_STORED) return scanCompressedEntry(entry, where, expected, ctx, depth);
  if (entry.size === 0) return;
  const source = await entry.source();
  const head = await source.read(0, Math.min(source.size, 8));
  const role = entryRole(entry, head);
  if ((role === 'pickle' || (role === 'npy' && entry.size <= MAX_CHECKED_MEMBER_BYTES)) && entry.crc32 !== 0 && !(await entry.checkCrc())) reportBadCrc(entry, where, ctx);
  await scanByRole(role, source, head, where, expected, ctx, depth);
}

/**
 * A deflate, bzip2 or LZMA member, analysed over what its data actually decodes to, decoded only as far
 * as the analysis reads (and to the end for members declaring at most MAX_CHECKED_MEMBER_BYTES), never
 * past MAX_DECODED_MEMBER_BYTES. A member that decodes to fewer bytes than it declares, or fails part-way,
 * is analysed again over the bytes it does decode (Python's zipfile hands a loader those, and a pickle
 * runs what came before a damaged tail); one that decodes to more is analysed over the declared bytes, as
 * Python's zipfile reads it. Either disagreement is a finding.
 */
async function scanCompressedEntry(entry: ZipEntry, where: string, expected: ((q: string) => boolean) | undefined, ctx: Walk, depth: number): Promise<void> {
  if (!readableMethod(entry.method, false)) await entry.read(); // throws UnsupportedMethod, as every reader would
  const { decodeMember } = await import('../formats/zip/decoded-member.js');
  const decoded = decodeMember(entry, MAX_DECODED_MEMBER_BYTES);
  await decoded.ensure(8);
  const head = decoded.bytes().slice(0, 8);
  const role = entryRole(entry, head);
  const analyse = async (source: ByteSource): Promise<{ found: Finding[]; failure: unknown }> => {
    const found: Finding[] = [];
    try {
      await scanByRole(role, source, head, where, expected, reportingTo(ctx, (f) => void found.push(f)), depth);
      return { found, failure: undefined };
    } catch (e) {
      return { found, failure: e };
    }
  };
  const lazy = new DecodingSource(decoded, entry.size, where, MAX_DECODED_MEMBER_BYTES);
  let { found, failure } = await analyse(lazy);
  if (entry.size <= MAX_CHECKED_MEMBER_BYTES) await decoded.ensure(entry.size + 1);
  const actual = decoded.bytes().length;
  const short = lazy.shortfall || ((decoded.ended || decoded.problem !== undefined) && actual < entry.size);
  if (decoded.problem !== undefined) {
    ctx.report({ severity: 'suspicious', rule: 'zip/unreadable-entry', message: `${entry.name} cannot be decoded past its first ${actual} bytes: ${decoded.problem}; a loader reading it runs what came before, which is analysed`, location: where });
  } else if (short || actual > entry.size) {
    const decodes = short ? `decodes to ${actual} bytes` : `decodes to more (at least ${actual} bytes)`;
    const read = short ? 'what it decodes to is analysed (Python’s zipfile hands a loader those bytes)' : 'the declared bytes are analysed, as Python’s zipfile reads them';
    ctx.report({ severity: 'suspicious', rule: 'zip/unreadable-entry', message: `${entry.name} declares ${entry.size} bytes but its data ${decodes}: readers disagree on it (torch refuses it); ${read}`, location: where });
  }
  if (short) ({ found, failure } = await analyse(new MemorySource(decoded.bytes(), where)));
  for (const f of found) ctx.report(f);
  if ((role === 'pickle' || role === 'npy') && decoded.ended && actual === entry.size && entry.crc32 !== 0 && decoded.crc !== entry.crc32) reportBadCrc(entry, where, ctx);
  if (failure !== undefined) throw failure;
}

function reportBadCrc(entry: ZipEntry, where: string, ctx: Walk): void {
  ctx.report({ severity: 'suspicious', rule: 'zip/bad-crc', message: `${entry.name}'s bytes do not match its CRC-32: changed after it was written (torch does not check CRCs; Python's zipfile fails only once a loader has read them)`, location: where });
}

/** A member's bytes, analysed by what they are. */
async function scanByRole(role: EntryRole, source: ByteSource, head: Uint8Array, where: string, expected: ((q: string) => boolean) | undefined, ctx: Walk, depth: number): Promise<void> {
  if (role === 'skip') {
    // Neither named nor shaped like a pickle, but read as one from byte 0 (a protocol 0 or 1 pickle has
    // no signature): what CPython's unpickler would import in it is reported, as for any pickle.
    const found: Finding[] = [];
    const r = await analyzeStream(source, 0, (f) => found.push(f), { where, expected, firstWindow: FIRST_POLYGLOT_WINDOW });
    if (r.acted) for (const f of found) ctx.report(f);
  } else if (role === 'pickle') {
    await analyzeStream(source, 0, ctx.report, { where, expected });
  } else if (role === 'npy') {
    // np.load reads a member with the npy magic as an array: scanned by the rules of the format that claims it.
    const claim = await formatScanning({ head, size: source.size, container: 'npy' });
    if (claim !== undefined) await scanAsFormat(source, { ...ctx, file: where }, claim);
  } else if (role === 'zip' && depth < MAX_NESTED_ARCHIVES) {
    await scanZip(source, head, { ...ctx, file: where }, depth + 1);
  }
}

/**
 * A compressed member as a source of its declared size, decoded as it is read. A read past what the
 * data decodes to marks a shortfall (the member is then analysed again over what it decodes to); a read
 * past the decoding limit is an EntryTooLarge error (the member cannot be fully checked).
 */
class DecodingSource implements ByteSource {
  shortfall = false;

  constructor(
    private readonly decoded: DecodedMember,
    readonly size: number,
    readonly name: string,
    private readonly limit: number,
  ) {}

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this, offset, length);
    await this.decoded.ensure(offset + length);
    const bytes = this.decoded.bytes();
    if (offset + length <= bytes.length) return bytes.subarray(offset, offset + length);
    if (this.decoded.over) {
      throw new IoError('OutOfRange', `${this.name}: the analysis reads past the first ${this.limit} decoded bytes (MAX_SCANNED_PICKLE_BYTES): what lies beyond is not checked`, { location: `${this.name}@${this.limit}` });
    }
    this.shortfall = true;
    throw new IoError('OutOfRange', `${this.name}: decodes to ${bytes.length} bytes, fewer than the ${this.size} it declares`, { location: `${this.name}@${bytes.length}` });
  }
}

/** What the scan makes of a zip member, from its first bytes (detect.ts's signatures) and its name. */
function entryRole(entry: ZipEntry, head: Uint8Array): EntryRole {
  if (isNpyMagic(head)) return 'npy';
  if (isZipLocalHeader(head)) return 'zip';
  // By name, or by content: a pickle under another name is still loaded (CVE-2025-1889).
  const protocol = pickleProtocol(head);
  if (PICKLE_NAMES.test(entry.name) || PICKLE_NAMES.test(entry.localName) || (protocol !== undefined && protocol >= 2 && protocol <= 5)) return 'pickle';
  return 'skip';
}

/** The tar format's members that loaders unpickle, each analysed; what the tar is, the format that claims it says. */
async function scanTar(source: ByteSource, head: Uint8Array, ctx: Walk): Promise<string> {
  const { tarMembers } = await import('../formats/torch/tar-checkpoint.js');
  let members;
  try {
    members = await tarMembers(source);
  } catch (e) {
    if (!isTensorsafeError(e)) throw e;
    ctx.report({ severity: 'suspicious', rule: 'tar/malformed', message: e.message, location: source.name });
    return 'tar';
  }
  // torch.load unpickles the start of each of these members: sys_info and pickle hold one pickle,
  // storages and tensors a count and a pickle per record (raw bytes in between end the stream).
  for (const name of ['sys_info', 'pickle', 'storages', 'tensors']) {
    const m = members.get(name);
    if (m) await analyzeStream(new WindowSource(source, m.offset, m.size, `${source.name}:${name}`), 0, ctx.report);
  }
  const entries = [...members.keys()];
  const [format] = await containerRules({ head, size: source.size, container: 'tar', entries }, { kind: 'tar', entries });
  if (format === undefined) {
    ctx.report({ severity: 'info', rule: 'tar/not-a-checkpoint', message: 'a tar archive that is not a PyTorch checkpoint; its other members are not scanned', location: source.name });
    return 'tar';
  }
  await afterWalk([format], source, ctx);
  return format.label;
}

function kebab(code: string): string {
  return code.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

/**
 * A gzip file: what `gzip.open` gives a loader is scanned as a file of its own (a gzipped pickle is a
 * pickle; gzipped text is text). One that cannot be decompressed, or is too large to, cannot be checked.
 */
async function scanGzip(source: ByteSource, ctx: Walk, depth: number): Promise<string> {
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
