import * as fs from 'node:fs';
import * as path from 'node:path';
import { IoError, TensorsafeError } from '../errors.js';
import type { OutputFormat } from '../convert/output-format.js';
import { outputsMatch, summarizeConversion, writeOutputs, type ConversionPlan, type ConversionSummary } from '../convert/pipeline.js';
import { safetensorsOutput } from '../convert/safetensors-output.js';
import type { Progress } from '../convert/write.js';
import { alreadyConverted, checkConvertChoices, checkSidecar, sidecarPathFor, checkSources, outputNameFor, outputStem, planModelConversion, PROVENANCE_KEY, provenanceValue, scanNotes, withDequantizeHint, type SourceRecord } from '../model/convert-setup.js';
import { openModelFiles, type OpenedFile } from './open-files.js';
import { writeFileAtomicSync } from './atomic-file.js';
import { isHttpUrl } from '../io/url-inside.js';
import { compareOrigin, originOf, patchDigests, pendingRecords, sourceName, startHashing } from './provenance.js';
import { DecodeWorkerPool, MIN_DECODE_WORKER_BYTES } from './decode-workers.js';
import { FileSink } from './file-sink.js';
import { FileSource, fileError, makeFolder, namesFolder, sameFile } from './file-source.js';
import { bundleEntry, findModel } from './model-files.js';
import { isHubTarget } from './hub.js';

export { VerificationError } from '../convert/pipeline.js';
export { outputNameFor } from '../model/convert-setup.js';

export interface ConvertOptions {
  /** The output format's id: `safetensors` (the default), `npz`, `npy` or `gguf` (convert/outputs.ts). */
  to?: string;
  /** For a file: the output file (or a folder to put it in). For a folder: the output folder. */
  output?: string;
  /** Shard the output: largest shard in bytes of tensor data, or a size like "5GB". */
  maxShardSize?: number | string;
  /** Path of the weights inside the checkpoint (`state_dict`, `model.ema`, …). */
  key?: string;
  /** Replace existing outputs. */
  force?: boolean;
  /** Keep unknown (not dangerous) objects as inert placeholders instead of refusing the file. */
  skipUnknown?: boolean;
  /** Quantized tensors written as float32 values (TFLite: `(q - zero_point) * scale`); a UsageError for other formats. */
  dequantize?: boolean;
  /**
   * NumPy outputs (`to: 'npz' | 'npy'`): store BF16 and F8_* tensors, which NumPy has no dtype for, as
   * unsigned integers of their width (`<u2`, `|u1`), bits unchanged, named in the notes; without it they are refused.
   */
  allowRaw?: boolean;
  /**
   * Also record each source's SHA-256 in the metadata (an audit trail: "converted from this exact file").
   * It is computed in a worker thread while the conversion runs, but hashing costs more CPU than the whole
   * rest of a conversion, so it is off by default. Whether an existing output is current does not depend
   * on it: that is proved by comparing the output with the source (see convertModel).
   */
  sourceSha256?: boolean;
  /**
   * GGUF output: the type tensors are written as: f32, f16, bf16 (every float tensor), q8_0, q4_0,
   * q4_k (ggml's reference quantizers, for float tensors of 2+ dimensions whose rows are whole blocks).
   * TF.js output: uint8, uint16 or float16, of the float32 weights, as tfjs-converter quantizes them.
   */
  quantize?: string;
  /** GGUF output: the model architecture (general.architecture), when the source's metadata does not name it. */
  arch?: string;
  /**
   * The dtype of dequantized tensors (GGUF's quantized blocks, decoded to F32): `f32` (the default),
   * `f16` or `bf16` (rounded to nearest even, as torch's `.to()` does). Every other tensor keeps its
   * dtype. Safetensors output only.
   */
  dtype?: string;
  /**
   * Worker threads that dequantize quantized tensors (GGUF) while this thread writes and checks (at
   * most MAX_DECODE_WORKERS), started only for at least MIN_DECODE_WORKER_BYTES of decoded output. By
   * default none (0): on a 2-core machine they did not make conversions measurably faster (BENCHMARKS.md).
   */
  decodeWorkers?: number;
  onProgress?: (p: Progress & { phase: 'write' | 'verify' }) => void;
}

/** What a conversion did: the pipeline's summary (convert/pipeline.ts), with the files and the sources' records. */
export interface ConvertSummary extends ConversionSummary {
  inputs: string[];
  outputs: string[];
  /** The output index, for sharded output. */
  index: string | undefined;
  /** Every tensor of the output was re-read and compared with the source (false when up to date: nothing was written). */
  verified: boolean;
  /** The outputs already existed, written by tensorsafe from the sources as they are now: nothing was done. */
  upToDate: boolean;
  /** The sources as recorded in the outputs: name, size, modification time, SHA-256. */
  sources: SourceRecord[];
  seconds: number;
}

interface Input {
  files: string[];
  /** Names per input file from its index, for a sharded input. */
  index: ReadonlyMap<string, string> | undefined;
  /** Where outputs go and their stem (`model`). */
  outDir: string;
  stem: string;
  /** A single-file output name (when not sharded). */
  single: string;
}

/**
 * Converts a model of any registered format with a reader (a file, a sharded set's index, or a model
 * folder) to an output format (safetensors by default) without running anything in it. Each file is
 * opened through the format registry and parsed once, and that parse is what the scan checks: a
 * dangerous file is refused before any tensor byte is read (open-files.ts). Then the conversion pipeline (convert/pipeline.ts)
 * removes tied duplicates, plans the files, streams every tensor into temporary files while comparing
 * them with the source bit for bit, and only then renames them into place. A refused or failed
 * conversion leaves nothing.
 *
 * Each safetensors output records its sources in its metadata (name, size, modification time, SHA-256:
 * see provenance.ts; a NumPy file has no metadata to hold them). An existing output that provably
 * comes from the sources as they are now is left alone (`upToDate`); one that tensorsafe wrote from
 * an earlier version of them is replaced; any other file (written by something else, or converted
 * from another source) is never replaced without `force`.
 */
export async function convertModel(src: string, options: ConvertOptions = {}): Promise<ConvertSummary> {
  const started = Date.now();
  const checked = checkConvertChoices(options);
  const { output } = checked;
  // A model opened from a URL (a TF.js model.json: its shards fetched relative to it) or the Hub is written to a local -o.
  const remote = isHttpUrl(src) || isHubTarget(src);
  if (remote && options.sourceSha256) throw new TensorsafeError('InvalidArgument', '--sha256 hashes local sources; a model opened from a URL has none', { location: src });
  const input = await resolveInput(src, options.output, output, options.quantize);
  // A URL's record (its size as the server gives it) is made once it is open.
  let records = remote ? [] : pendingRecords(input.files, Boolean(options.sourceSha256), input.outDir);
  // Digests, when asked for, are computed while the conversion runs; they are needed only at the end.
  const hashing = options.sourceSha256 ? startHashing(input.files) : undefined;
  let opened: OpenedFile[] = [];
  let createdFolder: string | undefined;
  const pool = options.decodeWorkers ? new DecodeWorkerPool(options.decodeWorkers) : undefined;
  try {
    opened = await openModelFiles(input.files, { key: options.key, skipUnknown: options.skipUnknown, dequantize: options.dequantize, blockDecoder: pool?.available ? pool : undefined });
    if (remote) records = opened.map((o) => ({ file: sourceName(o.file, input.outDir), size: o.size, mtime: '' }));
    checkSources(src, opened, options, output);
    // Workers only for enough quantized data to pay for their start; they start while the plan is made.
    const decodedBytes = opened.reduce((n, o) => n + o.tensors.tensors.reduce((m, t) => m + (t.encoding.layout === 'decoded' ? t.byteLength : 0), 0), 0);
    if (pool?.available && decodedBytes >= MIN_DECODE_WORKER_BYTES) pool.start().catch(() => undefined);
    const plan = planModelConversion(opened, options, checked, { stem: input.stem, single: input.single, index: input.index }, () => (remote ? undefined : readSidecar(input.files[0]!)));
    const companions = plan.companions.map((c) => path.join(input.outDir, c.file));
    const outputs = plan.files.map((f) => path.join(input.outDir, f));
    const indexPath = plan.indexFile === undefined ? undefined : path.join(input.outDir, plan.indexFile);
    const summaryOf = (upToDate: boolean, sources: SourceRecord[]): ConvertSummary => {
      const summary = summarizeConversion(plan);
      return {
        inputs: input.files,
        outputs,
        index: indexPath,
        ...summary,
        companions: summary.companions.map((c, i) => ({ ...c, file: companions[i]! })),
        notes: [...summary.notes, ...scanNotes(opened)],
        verified: !upToDate,
        upToDate,
        sources,
        seconds: (Date.now() - started) / 1000,
      };
    };

    const targets = [...outputs, ...(indexPath ? [indexPath] : [])];
    // Whatever --force says, an output never replaces the model it is converted from.
    for (const t of [...targets, ...companions]) {
      const source = input.files.find((f) => sameFile(t, f));
      if (source !== undefined) {
        throw new TensorsafeError('InvalidArgument', `${t} is the source ${source} itself: the output would replace the checkpoint it is converted from; name another output with -o`, { location: t });
      }
    }
    // Files of the same name family that this conversion does not write (model.safetensors beside a new
    // sharded set, shards of an earlier shard count) would be loaded in its place: stale ones of this
    // source are removed once the new output is in place; anything else stops the conversion.
    const shadows = shadowingFiles(input.outDir, input.stem, targets, output);
    if (!options.force && remote) {
      // Nothing local tells whether an output is of this URL's current bytes: one that exists is kept.
      const present = [...targets, ...companions].find((f) => fs.existsSync(f));
      if (present !== undefined) throw new IoError('OutputExists', `${present} already exists; a model opened from a URL replaces nothing without --force`, { location: present });
    } else if (!options.force) {
      await checkShadows(shadows, input.files, input.outDir, output);
      // A companion (the GGUF metadata sidecar) is replaced only with outputs tensorsafe wrote from these
      // sources (existingOutputs refuses any other); alone, it is someone else's file.
      const companionPresent = companions.find((f) => fs.existsSync(f));
      if (companionPresent !== undefined && !targets.some((t) => fs.existsSync(t))) {
        throw new IoError('OutputExists', `${companionPresent} already exists, beside no output tensorsafe wrote from ${input.files.map((f) => sourceName(f, input.outDir)).join(', ')}; it was left as it is`, { location: companionPresent });
      }
      // Same sources by name and size: the outputs are current only if they hold exactly what this
      // conversion would write, tensor by tensor, bit for bit.
      const current = await existingOutputs(targets, input.files, input.outDir, output, async () => (await outputsMatch(plan, (i) => FileSource.open(outputs[i]!))) && (await companionsMatch(plan, companions)));
      if (current) {
        hashing?.cancel();
        return summaryOf(true, current);
      }
    }
    // A folder this conversion creates is removed again when nothing could be written into it.
    if (!fs.existsSync(input.outDir)) createdFolder = input.outDir;
    makeFolder(input.outDir);

    let sources = records;
    await withDequantizeHint(opened, options.dequantize, () => writeOutputs(plan, {
      framework: opened[0]?.format.framework,
      records: { [PROVENANCE_KEY]: provenanceValue(records) },
      createSink: (i) => FileSink.create(outputs[i]!, { deferCommit: true, overwrite: true }),
      openWritten: (sink) => FileSource.open(sink.tempPath),
      // The digests go into the headers (same length as the placeholders: nothing moves). patchDigests
      // writes only inside the header, at places it finds in the header's own text: the data checked
      // is untouched, and the pipeline parses every file again to see that it is so.
      finishHeaders: async (written) => {
        const digests = hashing ? await hashing.digests : undefined;
        if (digests) {
          sources = records.map((r, i) => ({ ...r, sha256: digests[i]! }));
          for (const { sink, header } of written) patchDigests(sink.tempPath, header, sources);
        }
        return { [PROVENANCE_KEY]: provenanceValue(sources) };
      },
      writeIndex: (name, bytes) => writeFileAtomicSync(path.join(input.outDir, name), [bytes], { overwrite: true }),
      createCompanionSink: (name) => FileSink.create(path.join(input.outDir, name), { deferCommit: true, overwrite: true }),
      onProgress: options.onProgress,
    }));
    const summary = summaryOf(false, sources);
    for (const f of shadows) {
      fs.rmSync(f, { force: true });
      summary.notes.push(`removed ${path.basename(f)}, an earlier output that would have been loaded instead of this one`);
    }
    return summary;
  } catch (e) {
    hashing?.cancel();
    if (createdFolder !== undefined) removeEmptyFolder(createdFolder);
    throw e;
  } finally {
    await Promise.all(opened.map((o) => o.tensors.close()));
    await pool?.close();
  }
}

/**
 * The GGUF metadata sidecar beside a source (`model.safetensors` → `model.gguf-metadata.json`), bounded by
 * MAX_GGUF_SIDECAR_BYTES. The user never named it, so it is read only when it is a regular file: opened
 * without blocking (a FIFO would wait for a writer for ever) and checked on the open descriptor (a link to
 * /dev/zero has size 0 and no end), then read for the size it had, no more.
 */
function readSidecar(file: string): { text: string; name: string } | undefined {
  const name = path.join(path.dirname(file), path.basename(sidecarPathFor(file)));
  let fd: number;
  try {
    fd = fs.openSync(name, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fileError(name, e);
  }
  try {
    const stat = fs.fstatSync(fd);
    checkSidecar(name, file, stat.size, stat.isFile());
    const bytes = Buffer.alloc(stat.size);
    let done = 0;
    while (done < bytes.length) {
      const n = fs.readSync(fd, bytes, done, bytes.length - done, done);
      if (n === 0) break;
      done += n;
    }
    return { text: bytes.subarray(0, done).toString('utf8'), name };
  } finally {
    fs.closeSync(fd);
  }
}

/** Whether every companion file exists and holds exactly what this conversion would write. */
async function companionsMatch(plan: ConversionPlan, files: readonly string[]): Promise<boolean> {
  for (const [i, c] of plan.companions.entries()) {
    if (!fs.existsSync(files[i]!)) return false;
    const expected = Buffer.concat(await c.companion.bytes(c.source));
    if (!expected.equals(fs.readFileSync(files[i]!))) return false;
  }
  return true;
}

/** The PyTorch-era name of convertModel, kept: it converts any registered format now. */
export const convertCheckpoint: (src: string, options?: ConvertOptions) => Promise<ConvertSummary> = convertModel;

/** Existing files of the output family (`stem.safetensors`, `stem-NNNNN-of-MMMMM.safetensors`, `stem.safetensors.index.json`; `stem.npz`) that are not among `targets`. */
function shadowingFiles(dir: string, stem: string, targets: readonly string[], output: OutputFormat): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const mine = new Set(targets.map((t) => path.resolve(t)));
  return names.filter((n) => output.stemOf(n) === stem).map((n) => path.join(dir, n)).filter((f) => !mine.has(path.resolve(f)));
}

/** Every shadowing file must be an earlier output of these very sources (by name): anything else is not ours to remove. */
async function checkShadows(shadows: readonly string[], files: readonly string[], outDir: string, output: OutputFormat): Promise<void> {
  const ours = files.map((f) => sourceName(f, outDir)).sort().join('\n');
  for (const f of shadows) {
    const origin = await originOf(f, output);
    if (!Array.isArray(origin) || origin.map((r) => r.file).sort().join('\n') !== ours) {
      throw new IoError(
        'OutputExists',
        `${f} is in the way: loaders would read it instead of (or mixed with) the new output, and tensorsafe did not write it from ${files.map((x) => sourceName(x, outDir)).join(', ')}; it was left as it is (move it, or write elsewhere with -o)`,
        { location: f },
      );
    }
  }
}

/**
 * Looks at the outputs that already exist. Throws OutputExists for any that tensorsafe did not write
 * from these sources (they are never replaced without --force). Returns the sources' records when
 * every output exists and was written from the sources as they are now (nothing to do); undefined
 * when the conversion should go ahead (no outputs yet, or stale ones of this source, to replace).
 */
async function existingOutputs(targets: readonly string[], files: readonly string[], outDir: string, output: OutputFormat, sameContent: () => Promise<boolean>): Promise<SourceRecord[] | undefined> {
  const present = targets.filter((t) => fs.existsSync(t));
  if (present.length === 0) return undefined;
  const ours = files.map((f) => sourceName(f, outDir));
  const sizes = files.map((f) => fs.statSync(f).size);
  let allCurrentByName = present.length === targets.length;
  const recorded: SourceRecord[][] = [];
  for (const target of present) {
    const origin = await originOf(target, output);
    if (!Array.isArray(origin)) {
      // A NumPy file may well be tensorsafe's, from this very source: nothing in it can say so.
      const why = output.noMetadata !== undefined ? `, and ${output.noMetadata} files hold no metadata: nothing in it records that tensorsafe wrote it from ${ours.join(', ')}` : ` and tensorsafe did not write it from ${ours.join(', ')} (${origin.foreign})`;
      throw new IoError('OutputExists', `${target} already exists${why}; it was left as it is`, { location: target });
    }
    const verdict = compareOrigin(origin, ours.map((file, i) => ({ file, size: sizes[i]! })));
    if (verdict.kind === 'other-source') {
      throw new IoError(
        'OutputExists',
        `${target} already exists: it was converted from ${origin.map((r) => r.file).join(', ')}, not from ${ours.join(', ')}; it was left as it is (write this one elsewhere with -o)`,
        { location: target },
      );
    }
    if (verdict.kind !== 'current') allCurrentByName = false;
    recorded.push(origin);
  }
  if (!allCurrentByName) return undefined;
  // Same names and sizes: the content decides (a source replaced by another of the same size is converted again).
  return (await sameContent()) ? recorded[0]! : undefined;
}

function removeEmptyFolder(dir: string): void {
  try {
    fs.rmdirSync(dir); // only ever removes an empty folder
  } catch {
    // not empty (something was written there meanwhile) or already gone: left as it is
  }
}

/** The conventional safetensors name for a model file: pytorch_model.bin → model.safetensors, weights.npz → weights.safetensors. */
export function safetensorsNameFor(file: string): string {
  return outputNameFor(file, safetensorsOutput);
}

/**
 * Whether `-o` names the folder to write in: an existing folder or a path ending in a separator; and for
 * an output that is always several files (TF.js: model.json and its shards, which tfjs-converter writes
 * into an output folder), any path not ending in the format's extension (`-o web_model` is a folder).
 */
function outputNamesFolder(output: string, format: OutputFormat): boolean {
  return namesFolder(output) || (format.alwaysIndexed === true && !output.toLowerCase().endsWith(format.extension));
}

async function resolveInput(src: string, output: string | undefined, format: OutputFormat, quantize?: string): Promise<Input> {
  if (isHttpUrl(src)) {
    if (output === undefined) throw new TensorsafeError('InvalidArgument', `${src} is a URL: name the output (a file, or a folder for it) with -o`, { location: src });
    const name = outputNameFor(decodeURIComponent(new URL(src).pathname.split('/').pop() || 'model'), format);
    const single = outputNamesFolder(output, format) ? path.join(output, name) : output;
    return { files: [src], index: undefined, outDir: path.dirname(single), stem: outputStem(single, format), single };
  }
  if (isHubTarget(src)) {
    if (output === undefined) {
      const why = src.toLowerCase().startsWith('hf://') ? 'is on the Hugging Face Hub' : 'is no local file or folder, so it names a Hugging Face Hub repository';
      throw new TensorsafeError('InvalidArgument', `${src} ${why}: name the output (a file, or a folder for it) with -o`, { location: src });
    }
    // The repository's model, picked as in a folder (a sharded set's index, else its one file), pinned to a commit: files are hf://owner/repo@<commit>/<path>.
    const model = await findModel(src, { avoid: format.id, detect: false });
    if (model.weightMap) return { files: model.files, index: model.weightMap, outDir: output, stem: 'model', single: path.join(output, format.fileName('model')) };
    const file = model.files[0]!;
    const name = outputNameFor(file.slice(file.lastIndexOf('/') + 1), format);
    const single = outputNamesFolder(output, format) ? path.join(output, name) : output;
    return { files: [file], index: undefined, outDir: path.dirname(single), stem: outputStem(single, format), single };
  }
  let model: Awaited<ReturnType<typeof findModel>>;
  try {
    // A folder holding both a model and its converted output converts the model.
    model = await findModel(src, { avoid: format.id, detect: false });
  } catch (e) {
    if (e instanceof IoError && e.code === 'AmbiguousModel') e.message += ', or convert each with --recursive';
    throw e;
  }
  // A Core ML package or compiled model is a folder that is one model: converted beside it, named after it.
  const bundle = fs.statSync(src).isDirectory() && bundleEntry(src) !== undefined;
  const isDir = fs.statSync(src).isDirectory() && !bundle;
  // A folder's model is found by its files' names: one that holds only outputs has nothing to convert.
  // A named file's format is its bytes' (openModelFiles, then the check in convertModel), never its name's.
  if (isDir && model.format === format.id) throw alreadyConverted(src, format, quantize);
  if (model.weightMap) {
    const outDir = output ?? (isDir ? src : path.dirname(src));
    return { files: model.files, index: model.weightMap, outDir, stem: 'model', single: path.join(outDir, format.fileName('model')) };
  }
  const file = model.files[0]!;
  const name = outputNameFor(bundle ? src.replace(/[\\/]+$/, '') : file, format);
  let single = path.join(isDir ? (output ?? src) : path.dirname(bundle ? src.replace(/[\\/]+$/, '') : file), name);
  if (!isDir && output !== undefined) single = outputNamesFolder(output, format) ? path.join(output, name) : output;
  return { files: [file], index: undefined, outDir: path.dirname(single), stem: outputStem(single, format), single };
}
