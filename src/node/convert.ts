import * as fs from 'node:fs';
import * as path from 'node:path';
import { IoError, TensorsafeError } from '../errors.js';
import { checkOutput, type Mismatch } from '../convert/check-output.js';
import { dedupeTensors } from '../convert/dedupe.js';
import type { Progress } from '../convert/write.js';
import { placementOf, writeChecked, type WrittenFile } from '../convert/write-checked.js';
import type { TorchTensorSet } from '../formats/torch/weights.js';
import { formatShardIndex, planShards, safetensorsStem, shardFileName } from '../safetensors/sharded.js';
import { SafetensorsFile } from '../safetensors/reader.js';
import { safetensorsTensorSet } from '../tensor/safetensors-set.js';
import type { LeftOut, TensorEntry } from '../tensor/tensor-set.js';
import { parseSize } from '../util/sizes.js';
import { mergedEntries, openCheckpoints } from './checkpoints.js';
import { writeFileAtomicSync } from './atomic-file.js';
import { compareOrigin, originOf, patchDigests, pendingRecords, PROVENANCE_KEY, provenanceValue, sourceName, startHashing, type SourceRecord } from './provenance.js';
import { FileSink } from './file-sink.js';
import { FileSource, makeFolder, namesFolder, sameFile } from './file-source.js';
import { CHECKPOINT_EXTENSIONS, findModel } from './model-files.js';

export interface ConvertOptions {
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
  /**
   * Also record each source's SHA-256 in the metadata (an audit trail: "converted from this exact file").
   * It is computed in a worker thread while the conversion runs, but hashing costs more CPU than the whole
   * rest of a conversion, so it is off by default. Whether an existing output is current does not depend
   * on it: that is proved by comparing the output with the source (see convertCheckpoint).
   */
  sourceSha256?: boolean;
  onProgress?: (p: Progress & { phase: 'write' | 'verify' }) => void;
}

export interface ConvertSummary {
  inputs: string[];
  outputs: string[];
  /** The output index, for sharded output. */
  index: string | undefined;
  format: string;
  /** Where in the checkpoint the weights were found ('' for the checkpoint itself). */
  weightsPath: string;
  /** Tensors written (after removing tied duplicates). */
  tensors: number;
  /** Bytes of tensor data written. */
  bytes: number;
  /** Tied names written once: removed → kept (also in each file's metadata). */
  sharedRemoved: Record<string, string>;
  /** What the checkpoint held besides the weights. */
  leftOut: LeftOut[];
  /** Classes of the module objects the weights were read from (a whole-model pickle), read as data, never imported. */
  moduleClasses: string[];
  notes: string[];
  /** Every tensor of the output was re-read and compared with the source (false when up to date: nothing was written). */
  verified: boolean;
  /** The outputs already existed, written by tensorsafe from the sources as they are now: nothing was done. */
  upToDate: boolean;
  /** The sources as recorded in the outputs: name, size, modification time, SHA-256. */
  sources: SourceRecord[];
  seconds: number;
}

/** A conversion whose output did not match its source: the outputs were removed. */
export class VerificationError extends TensorsafeError {
  constructor(readonly mismatches: Mismatch[]) {
    super(
      'VerificationFailed',
      `the written file does not match the source (${mismatches.length} tensor${mismatches.length === 1 ? '' : 's'}): ${mismatches
        .slice(0, 5)
        .map((m) => `${m.name}: ${m.reason}`)
        .join('; ')}; nothing was kept`,
    );
  }
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
 * Converts a PyTorch checkpoint (a file, a sharded set's index, or a model folder) to safetensors
 * without running it: reads it with the data-only pickle machine, removes tied duplicates, streams
 * every tensor into temporary files, reopens them and compares every tensor with the source bit for
 * bit, and only then renames them into place. A refused or failed conversion leaves nothing.
 *
 * Each output records its sources (name, size, modification time, SHA-256: see provenance.ts). An
 * existing output that provably comes from the sources as they are now is left alone (`upToDate`);
 * one that tensorsafe wrote from an earlier version of them is replaced; any other file (written by
 * something else, or converted from another source) is never replaced without `force`.
 */
export async function convertCheckpoint(src: string, options: ConvertOptions = {}): Promise<ConvertSummary> {
  const started = Date.now();
  const input = resolveInput(src, options.output);
  const records = pendingRecords(input.files, Boolean(options.sourceSha256), input.outDir);
  // Digests, when asked for, are computed while the conversion runs; they are needed only at the end.
  const hashing = options.sourceSha256 ? startHashing(input.files) : undefined;
  const sinks: { sink: FileSink; header: Uint8Array }[] = [];
  let sets: TorchTensorSet[] = [];
  try {
    sets = await openCheckpoints(input.files, { key: options.key, skipUnknown: options.skipUnknown });
    const entries = mergedEntries(sets);
    checkNamesUnique(entries, input.files);
    if (input.index) checkAgainstIndex(sets, input);
    const { kept, removed } = dedupeTensors(entries);
    if (removed.has(PROVENANCE_KEY)) {
      throw new TensorsafeError('InvalidCheckpoint', `a tensor is named \`${PROVENANCE_KEY}\`, the metadata key tensorsafe records its sources under`, { location: PROVENANCE_KEY });
    }

    // Which tensors go to which output file.
    let groups: TensorEntry[][];
    if (options.maxShardSize !== undefined) groups = planShards(kept, parseSize(options.maxShardSize));
    else if (input.files.length > 1) {
      // Keep the input's sharding: output shard k holds what input shard k held.
      const fileOf = new Map(sets.flatMap((set, i) => set.tensors.map((t) => [t.name, i] as const)));
      groups = sets.map((_, i) => kept.filter((e) => fileOf.get(e.name) === i));
    } else groups = [kept];
    groups = groups.filter((g) => g.length > 0);
    if (groups.length === 0) groups = [[]];
    const sharded = groups.length > 1;
    const outputs = sharded ? groups.map((_, i) => path.join(input.outDir, shardFileName(input.stem, i, groups.length))) : [input.single];
    const indexPath = sharded ? path.join(input.outDir, `${input.stem}.safetensors.index.json`) : undefined;
    const total = kept.reduce((n, e) => n + e.byteLength, 0);
    const summaryOf = (upToDate: boolean, sources: SourceRecord[]): ConvertSummary => {
      const first = sets[0]!;
      return {
        inputs: input.files,
        outputs,
        index: indexPath,
        format: first.format,
        weightsPath: first.weightsPath,
        tensors: kept.length,
        bytes: total,
        sharedRemoved: Object.fromEntries(removed),
        leftOut: sets.flatMap((s) => s.leftOut),
        moduleClasses: [...new Set(sets.flatMap((s) => s.moduleClasses))],
        notes: [...new Set(sets.flatMap((s) => s.notes))],
        verified: !upToDate,
        upToDate,
        sources,
        seconds: (Date.now() - started) / 1000,
      };
    };

    const targets = [...outputs, ...(indexPath ? [indexPath] : [])];
    // Whatever --force says, an output never replaces the checkpoint it is converted from.
    for (const t of targets) {
      const source = input.files.find((f) => sameFile(t, f));
      if (source !== undefined) {
        throw new TensorsafeError('InvalidArgument', `${t} is the source ${source} itself: the output would replace the checkpoint it is converted from; name another output with -o`, { location: t });
      }
    }
    // Files of the same name family that this conversion does not write (model.safetensors beside a new
    // sharded set, shards of an earlier shard count) would be loaded in its place: stale ones of this
    // source are removed once the new output is in place; anything else stops the conversion.
    const shadows = shadowingFiles(input.outDir, input.stem, targets);
    if (!options.force) {
      await checkShadows(shadows, input.files, input.outDir);
      const current = await existingOutputs(targets, input.files, input.outDir, async () => {
        // Same sources by name and size: the outputs are current only if they hold exactly what this
        // conversion would write, tensor by tensor, bit for bit.
        for (const [i, group] of groups.entries()) {
          const keptNames = new Set(group.map((e) => e.name));
          const file = await reopenWritten(outputs[i]!);
          try {
            const mismatches = await checkOutput(file.tensors, entries.filter((e) => keptNames.has(removed.get(e.name) ?? e.name)), removed);
            if (mismatches.length > 0) return false;
          } finally {
            await file.close();
          }
        }
        return true;
      });
      if (current) {
        hashing?.cancel();
        return summaryOf(true, current);
      }
    }
    makeFolder(input.outDir);

    const metadata: Record<string, string> = { format: 'pt', ...Object.fromEntries(removed), [PROVENANCE_KEY]: provenanceValue(records) };
    // Each output is checked against the source while it is written (convert/write-checked.ts).
    const mismatches: Mismatch[] = [];
    const placements: string[] = [];
    let base = 0;
    for (const [i, group] of groups.entries()) {
      const sink = await FileSink.create(outputs[i]!, { deferCommit: true, overwrite: true });
      const entry: { sink: FileSink; header: Uint8Array } = { sink, header: new Uint8Array(0) };
      sinks.push(entry);
      const keptNames = new Set(group.map((e) => e.name));
      const groupSources = entries.filter((e) => keptNames.has(removed.get(e.name) ?? e.name));
      const checked = await writeChecked(group, sink, groupSources, removed, () => reopenWritten(sink.tempPath), {
        metadata,
        progressBase: base,
        progressTotal: total,
        onProgress: (p) => options.onProgress?.({ ...p, phase: 'write' }),
        afterHeader: async (layout) => {
          entry.header = layout.header;
        },
      });
      mismatches.push(...checked.mismatches);
      placements.push(checked.placement);
      base += group.reduce((n, e) => n + e.byteLength, 0);
      options.onProgress?.({ phase: 'verify', bytesDone: base, bytesTotal: total, tensor: '' });
    }

    // The digests go into the headers (same length as the placeholders: nothing moves).
    const digests = hashing ? await hashing.digests : undefined;
    const sources = digests ? records.map((r, i) => ({ ...r, sha256: digests[i]! })) : records;
    if (digests) for (const { sink, header } of sinks) patchDigests(sink.tempPath, header, sources);

    // Reopen every output: its record of the sources, and, since its header was written again after its
    // tensors were checked, the same tensors at the same places as checked. (patchDigests writes only
    // inside the header, at places it finds in the header's own text: the data checked is untouched.)
    for (const [i, { sink }] of sinks.entries()) {
      const file = await reopenWritten(sink.tempPath);
      try {
        if (file.tensors.metadata?.[PROVENANCE_KEY] !== provenanceValue(sources)) mismatches.push({ name: PROVENANCE_KEY, reason: 'the record of the sources in the metadata is not what was written' });
        if (placementOf(file) !== placements[i]) mismatches.push({ name: outputs[i]!, reason: 'writing the digests into the header changed where its tensors are' });
      } finally {
        await file.close();
      }
    }
    if (mismatches.length > 0) throw new VerificationError(mismatches);

    for (const { sink } of sinks) sink.commit();
    if (indexPath) {
      const weightMap = new Map<string, string>();
      groups.forEach((group, i) => group.forEach((e) => weightMap.set(e.name, path.basename(outputs[i]!))));
      writeFileAtomicSync(indexPath, [new TextEncoder().encode(formatShardIndex(total, weightMap, { [PROVENANCE_KEY]: provenanceValue(sources) }))], { overwrite: true });
    }
    const summary = summaryOf(false, sources);
    for (const f of shadows) {
      fs.rmSync(f, { force: true });
      summary.notes.push(`removed ${path.basename(f)}, an earlier output that would have been loaded instead of this one`);
    }
    return summary;
  } catch (e) {
    hashing?.cancel();
    await Promise.all(sinks.map((s) => s.sink.abort()));
    throw e;
  } finally {
    await Promise.all(sets.map((s) => s.close()));
  }
}

/** An output file reopened by the reader, for the check while it is written. */
async function reopenWritten(temp: string): Promise<WrittenFile> {
  const source = await FileSource.open(temp);
  let file: SafetensorsFile;
  try {
    file = await SafetensorsFile.open(source);
  } catch (e) {
    await source.close();
    throw e;
  }
  return {
    tensors: safetensorsTensorSet(file),
    dataStart: file.header.dataStart,
    endOf: (name) => {
      const info = file.info(name);
      return info.byteOffset + info.byteLength;
    },
    close: () => file.close(),
  };
}

/** Existing `stem.safetensors`, `stem-NNNNN-of-MMMMM.safetensors` and `stem.safetensors.index.json` that are not among `targets`. */
function shadowingFiles(dir: string, stem: string, targets: readonly string[]): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const mine = new Set(targets.map((t) => path.resolve(t)));
  return names.filter((n) => safetensorsStem(n) === stem).map((n) => path.join(dir, n)).filter((f) => !mine.has(path.resolve(f)));
}

/** Every shadowing file must be an earlier output of these very sources (by name): anything else is not ours to remove. */
async function checkShadows(shadows: readonly string[], files: readonly string[], outDir: string): Promise<void> {
  const ours = files.map((f) => sourceName(f, outDir)).sort().join('\n');
  for (const f of shadows) {
    const origin = await originOf(f);
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
async function existingOutputs(targets: readonly string[], files: readonly string[], outDir: string, sameContent: () => Promise<boolean>): Promise<SourceRecord[] | undefined> {
  const present = targets.filter((t) => fs.existsSync(t));
  if (present.length === 0) return undefined;
  const ours = files.map((f) => sourceName(f, outDir));
  const sizes = files.map((f) => fs.statSync(f).size);
  let allCurrentByName = present.length === targets.length;
  const recorded: SourceRecord[][] = [];
  for (const target of present) {
    const origin = await originOf(target);
    if (!Array.isArray(origin)) {
      throw new IoError('OutputExists', `${target} already exists and tensorsafe did not write it from ${ours.join(', ')} (${origin.foreign}); it was left as it is`, { location: target });
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

/** The conventional safetensors name for a checkpoint file: pytorch_model.bin → model.safetensors. */
export function safetensorsNameFor(file: string): string {
  const base = path.basename(file);
  const ext = CHECKPOINT_EXTENSIONS.find((x) => base.toLowerCase().endsWith(x)) ?? path.extname(base);
  return base.slice(0, base.length - ext.length).replace(/^pytorch_model/, 'model') + '.safetensors';
}

function resolveInput(src: string, output: string | undefined): Input {
  let model: ReturnType<typeof findModel>;
  try {
    model = findModel(src, 'pytorch');
  } catch (e) {
    if (e instanceof IoError && e.code === 'AmbiguousModel') e.message += ', or convert each with --recursive';
    throw e;
  }
  if (model.kind === 'safetensors') {
    throw new TensorsafeError('NotACheckpoint', `${src} is already safetensors: nothing to convert (tensorsafe validate checks it)`, { location: src });
  }
  const isDir = fs.statSync(src).isDirectory();
  if (model.weightMap) {
    const outDir = output ?? (isDir ? src : path.dirname(src));
    return { files: model.files, index: model.weightMap, outDir, stem: 'model', single: path.join(outDir, 'model.safetensors') };
  }
  const file = model.files[0]!;
  let single = path.join(isDir ? (output ?? src) : path.dirname(file), safetensorsNameFor(file));
  if (!isDir && output !== undefined) single = namesFolder(output) ? path.join(output, safetensorsNameFor(file)) : output;
  return { files: [file], index: undefined, outDir: path.dirname(single), stem: path.basename(single, '.safetensors'), single };
}

function checkNamesUnique(entries: readonly TensorEntry[], files: readonly string[]): void {
  const seen = new Set<string>();
  for (const e of entries) {
    if (seen.has(e.name)) {
      throw new TensorsafeError('InvalidCheckpoint', `tensor \`${e.name}\` appears in more than one of ${files.map((f) => path.basename(f)).join(', ')}`, { location: e.name });
    }
    seen.add(e.name);
  }
}

/** The index must name exactly the tensors each shard holds. */
function checkAgainstIndex(sets: readonly TorchTensorSet[], input: Input): void {
  sets.forEach((set, i) => {
    const file = path.basename(input.files[i]!);
    for (const t of set.tensors) {
      const listed = input.index!.get(t.name);
      if (listed !== undefined && path.basename(listed) !== file) {
        throw new TensorsafeError('InvalidCheckpoint', `${file} holds \`${t.name}\`, which the index puts in ${listed}`, { location: file });
      }
    }
  });
}
