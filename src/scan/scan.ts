import { isTensorsafeError } from '../errors.js';
import { MemorySource, WindowSource, type ByteSource } from '../io/byte-source.js';
import { describeFormat, detectFormat } from '../formats/detect.js';
import { readTorchCheckpoint } from '../formats/torch/checkpoint.js';
import { tarMembers } from '../formats/torch/tar-checkpoint.js';
import { openZip, type ZipArchive, type ZipEntry } from '../formats/zip/index.js';
import { MAX_FINDINGS_PER_FILE, verdictOf, type Finding, type ScanContext, type ScanReport } from './findings.js';
import { analyzePickles, MAX_STACKED_PICKLES } from './pickle-analysis.js';
import { scanGguf } from './formats/gguf.js';
import { scanHdf5 } from './formats/hdf5.js';
import { scanKerasConfig } from './formats/keras.js';
import { scanNpy } from './formats/npy.js';
import { scanOnnx } from './formats/onnx.js';
import { scanSafetensors } from './formats/safetensors.js';
import { scanTfjsModelJson } from './formats/tfjs.js';
import { scanTflite } from './formats/tflite.js';

/** Largest pickle read into memory for analysis: a data pickle is structure, not tensor bytes. */
export const MAX_SCANNED_PICKLE_BYTES = 256 << 20;
/** Largest JSON (TF.js model.json, Keras config.json) read for analysis. */
export const MAX_SCANNED_JSON_BYTES = 64 << 20;
/** Zip archives nested in zip archives that are opened. */
export const MAX_NESTED_ARCHIVES = 2;
/** First window read of a stream of stacked pickles; it grows while a pickle runs past it. */
const FIRST_PICKLE_WINDOW = 1 << 20;
/** The legacy torch format's first pickle: a literal MAGIC_NUMBER. */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
/** Zip members that hold pickles by their name (content is checked too). */
const PICKLE_NAMES = /\.(pkl|pickle|joblib|dill|dat|data)$/i;

export interface ScanOptions {
  /** The folder of the file (local files), for references to other files (ONNX external data). */
  dir?: string;
}

/**
 * Scans one file for code that would run when it is loaded. The format is detected from the bytes,
 * never the name; only the structures a loader reads (pickles, directories, configs, headers) are
 * read, never tensor data, so the time does not grow with the model's size.
 */
export async function scanSource(source: ByteSource, options: ScanOptions = {}): Promise<ScanReport> {
  const findings: Finding[] = [];
  let dropped = 0;
  const ctx: ScanContext = {
    file: source.name,
    dir: options.dir,
    report: (f) => {
      if (findings.length < MAX_FINDINGS_PER_FILE) findings.push(f);
      else dropped++;
    },
    scanPickle: (bytes, location) => {
      analyzePickles(bytes, { where: location, report: ctx.report }, 1);
    },
  };
  let format: string;
  try {
    format = await scanAny(source, ctx, 0);
  } catch (e) {
    // Only I/O fails a scan: a damaged file is a finding.
    const message = isTensorsafeError(e) || e instanceof Error ? e.message : String(e);
    ctx.report({ severity: 'error', rule: 'scan/io-error', message: `the file could not be read: ${message}`, location: source.name });
    format = 'unknown';
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

async function scanAny(source: ByteSource, ctx: ScanContext, depth: number): Promise<string> {
  const head = await source.read(0, Math.min(source.size, 512));
  const format = detectFormat(head, source.size);
  switch (format) {
    case 'zip':
      return scanZip(source, ctx, depth);
    case 'tar':
      return scanTar(source, ctx);
    case 'safetensors':
      await scanSafetensors(source, ctx);
      return 'safetensors';
    case 'npy':
      await scanNpy(source, ctx);
      return 'npy';
    case 'gguf':
      await scanGguf(source, ctx);
      return 'gguf';
    case 'hdf5':
      await scanHdf5(source, ctx);
      return 'hdf5';
    case 'tflite':
      await scanTflite(source, ctx);
      return 'tflite';
    case 'onnx-or-protobuf':
      await scanOnnx(source, ctx);
      return 'onnx';
    case 'empty':
      ctx.report({ severity: 'info', rule: 'format/empty', message: 'an empty file', location: source.name });
      return 'empty';
    case '7z':
    case 'gzip':
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
      scanTfjsModelJson(text, ctx, source.name);
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
      await scanOnnx(source, { ...ctx, report: (f) => onnx.push(f) });
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
 * A bare pickle, stacked pickles, or the legacy torch format; then anything appended to them.
 * `{ reason }` when CPython's unpickler stops on the first bytes before importing anything (text,
 * source code, other files): nothing is reported then.
 */
async function scanPickleFile(source: ByteSource, ctx: ScanContext, format: string): Promise<string | { reason: string | undefined }> {
  const first = await analyzeAt(source, 0, ctx, 1);
  if (first.inert) return { reason: first.inertReason };
  const legacy = first.firstValue === LEGACY_MAGIC;
  let end = first.end;
  let acted = first.acted;
  if (legacy && !first.malformed) {
    // Protocol version, sys_info, the object, the storage keys; then raw storage data, never analysed.
    const rest = await analyzeAt(source, end, ctx, 4);
    end = rest.end;
    if (!rest.malformed) await checkTorchStructure(source, ctx);
    return 'pytorch-legacy';
  }
  if (first.malformed) return 'pickle';
  // More pickles may follow (loaders that call pickle.load repeatedly run them all), until bytes
  // that CPython's unpickler stops on before importing anything.
  for (let n = 1; end < source.size && n < MAX_STACKED_PICKLES; n++) {
    const more = await analyzeAt(source, end, ctx, 1);
    if (more.inert) break;
    acted ||= more.acted;
    if (more.malformed) return 'pickle';
    end = more.end;
  }
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
    } catch {
      // not a zip
    }
  }
  return 'pickle';
}

/**
 * Analyses `maxPickles` pickles from `start`, reading a larger window while a pickle runs past the
 * one read (findings of an attempt cut short by the window are dropped).
 */
async function analyzeAt(
  source: ByteSource,
  start: number,
  ctx: ScanContext,
  maxPickles?: number,
): Promise<{ end: number; malformed: boolean; firstValue?: number | bigint; acted: boolean; inert: boolean; inertReason?: string }> {
  let window = Math.min(FIRST_PICKLE_WINDOW, source.size - start);
  for (;;) {
    const bytes = await source.read(start, window);
    const found: Finding[] = [];
    const r = analyzePickles(bytes, { where: source.name, report: (f) => found.push(f), base: start }, maxPickles);
    const cut = r.truncated && start + window < source.size && window < MAX_SCANNED_PICKLE_BYTES;
    if (cut) {
      window = Math.min(window * 4, source.size - start, MAX_SCANNED_PICKLE_BYTES);
      continue;
    }
    for (const f of found) ctx.report(f);
    return { end: start + r.end, malformed: r.malformed, firstValue: r.firstValue, acted: r.acted, inert: r.inert, inertReason: r.inertReason };
  }
}

/** The converter's own reader as a second opinion on a torch container's structure (sizes, views, trailing data). */
async function checkTorchStructure(source: ByteSource, ctx: ScanContext): Promise<void> {
  try {
    await readTorchCheckpoint(source, { skipUnknown: true });
  } catch (e) {
    if (!isTensorsafeError(e)) throw e;
    if (e.code === 'UnsafeGlobal') return; // reported by the analysis already
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
  return scanZipEntries(zip, source, ctx, depth);
}

/** Every entry of an archive (duplicates too), as the loaders that read such archives would see them. */
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
  if (zip.leadingBytes > 0) await analyzeAt(new WindowSource(source, 0, zip.leadingBytes, source.name), 0, ctx);
  const names = zip.entries.map((e) => e.name);
  const dataPkl = names.find((n) => /^([^/]+\/)?data\.pkl$/.test(n));
  const prefix = dataPkl ? dataPkl.slice(0, dataPkl.length - 'data.pkl'.length) : undefined;
  const torchscript = prefix !== undefined && names.some((n) => n === `${prefix}constants.pkl` || n.startsWith(`${prefix}code/`));
  const keras = names.includes('config.json') && (names.includes('model.weights.h5') || names.includes('metadata.json'));
  const npz = names.length > 0 && names.every((n) => n.endsWith('.npy') || n.endsWith('/'));
  const format = torchscript ? 'torchscript' : prefix !== undefined ? 'pytorch-zip' : keras ? 'keras' : npz ? 'npz' : 'zip';
  if (torchscript) {
    const code = names.filter((n) => n.startsWith(`${prefix}code/`));
    ctx.report({
      severity: 'suspicious',
      rule: 'torchscript/code',
      message: `a TorchScript archive with ${code.length} code file(s) (${code.slice(0, 3).join(', ')}${code.length > 3 ? ', …' : ''}): torch.jit.load runs that code; torch.load refuses it with weights_only`,
      location: source.name,
    });
  }
  const expected = torchscript ? (q: string): boolean => q.startsWith('__torch__.') || q.startsWith('torch.jit._pickle.') : undefined;
  for (const entry of zip.entries) {
    if (entry.isDirectory) continue;
    const where = `${source.name}:${entry.name}`;
    if (entry.problem) {
      ctx.report({ severity: 'suspicious', rule: 'zip/unreadable-entry', message: `${entry.name} cannot be read: ${entry.problem.message}`, location: where });
      continue;
    }
    // Storage records of a torch archive are raw tensor bytes that no loader unpickles.
    if (prefix !== undefined && (entry.name.startsWith(`${prefix}data/`) || entry.name.startsWith(`${prefix}.data/`) || entry.name.startsWith(`${prefix}code/`))) continue;
    const role = await entryRole(entry, keras);
    if (role === 'skip') continue;
    if (role === 'pickle') {
      if (entry.size > MAX_SCANNED_PICKLE_BYTES) {
        ctx.report({ severity: 'suspicious', rule: 'pickle/too-large', message: `${entry.name} is a ${entry.size}-byte pickle, more than the ${MAX_SCANNED_PICKLE_BYTES} bytes analysed`, location: where });
        continue;
      }
      if (entry.method === 0 && entry.crc32 !== 0 && !(await entry.checkCrc())) {
        ctx.report({ severity: 'suspicious', rule: 'zip/bad-crc', message: `${entry.name}'s bytes do not match its CRC-32: changed after it was written (torch does not check CRCs)`, location: where });
      }
      analyzePickles(await entry.read(), { where, report: ctx.report, expected });
    } else if (role === 'npy') {
      await scanNpy(await entry.source(), { ...ctx, file: where });
    } else if (role === 'keras-config') {
      scanKerasConfig(new TextDecoder().decode(await entry.read()), ctx, where);
    } else if (role === 'zip' && depth < MAX_NESTED_ARCHIVES) {
      await scanZip(await entry.source(), { ...ctx, file: where }, depth + 1);
    }
  }
  if (prefix !== undefined) await checkTorchStructure(zip.source, ctx);
  return format;
}

async function entryRole(entry: ZipEntry, keras: boolean): Promise<'pickle' | 'npy' | 'keras-config' | 'zip' | 'skip'> {
  if (keras && entry.name === 'config.json') return 'keras-config';
  if (entry.size === 0) return 'skip';
  const head = entry.method === 0 ? await (await entry.source()).read(0, Math.min(entry.size, 8)) : await firstBytes(entry);
  if (head[0] === 0x93 && new TextDecoder('latin1').decode(head.subarray(1, 6)) === 'NUMPY') return 'npy';
  if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 3 && head[3] === 4) return 'zip';
  // By name, or by content: a pickle under another name is still loaded (CVE-2025-1889).
  if (PICKLE_NAMES.test(entry.name) || entry.localName.match(PICKLE_NAMES) || (head[0] === 0x80 && (head[1] ?? 99) >= 2 && (head[1] ?? 99) <= 5)) return 'pickle';
  return 'skip';
}

async function firstBytes(entry: ZipEntry): Promise<Uint8Array> {
  if (entry.size > MAX_SCANNED_PICKLE_BYTES) return new Uint8Array(0);
  return (await entry.read()).subarray(0, 8);
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
  for (const name of ['sys_info', 'pickle']) {
    const m = members.get(name);
    if (m) await analyzeAt(new WindowSource(source, m.offset, m.size, `${source.name}:${name}`), 0, ctx, 1);
  }
  if (isTorch) await checkTorchStructure(source, ctx);
  else ctx.report({ severity: 'info', rule: 'tar/not-a-checkpoint', message: 'a tar archive that is not a PyTorch checkpoint; its members are not scanned', location: source.name });
  return isTorch ? 'pytorch-tar' : 'tar';
}

function kebab(code: string): string {
  return code.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}
