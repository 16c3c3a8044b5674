import * as fs from 'node:fs';
import * as path from 'node:path';
import { TensorsafeError } from '../errors.js';
import type { Mismatch } from '../convert/check-output.js';
import { dedupeTensors } from '../convert/dedupe.js';
import type { Progress } from '../convert/write.js';
import { writeChecked, type WrittenFile } from '../convert/write-checked.js';
import type { TorchTensorSet } from '../formats/torch/weights.js';
import { formatShardIndex, planShards, shardFileName } from '../safetensors/sharded.js';
import { SafetensorsFile } from '../safetensors/reader.js';
import { safetensorsTensorSet } from '../tensor/safetensors-set.js';
import type { LeftOut, TensorEntry } from '../tensor/tensor-set.js';
import { parseSize } from '../util/sizes.js';
import { mergedEntries, openCheckpoints } from './checkpoints.js';
import { outputExists, writeFileAtomicSync } from './atomic-file.js';
import { FileSink } from './file-sink.js';
import { FileSource } from './file-source.js';
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
  notes: string[];
  verified: boolean;
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
 */
export async function convertCheckpoint(src: string, options: ConvertOptions = {}): Promise<ConvertSummary> {
  const started = Date.now();
  const input = resolveInput(src, options.output);
  const sets = await openCheckpoints(input.files, { key: options.key, skipUnknown: options.skipUnknown });
  const sinks: FileSink[] = [];
  try {
    const entries = mergedEntries(sets);
    checkNamesUnique(entries, input.files);
    if (input.index) checkAgainstIndex(sets, input);
    const { kept, removed } = dedupeTensors(entries);
    const metadata: Record<string, string> = { format: 'pt', ...Object.fromEntries(removed) };

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
    if (!options.force) for (const f of [...outputs, ...(indexPath ? [indexPath] : [])]) if (fs.existsSync(f)) throw outputExists(f);
    fs.mkdirSync(input.outDir, { recursive: true });

    // Each output is checked against the source while it is written (convert/write-checked.ts).
    const total = kept.reduce((n, e) => n + e.byteLength, 0);
    const mismatches: Mismatch[] = [];
    let base = 0;
    for (const [i, group] of groups.entries()) {
      const sink = await FileSink.create(outputs[i]!, { deferCommit: true, overwrite: true });
      sinks.push(sink);
      const keptNames = new Set(group.map((e) => e.name));
      const sources = entries.filter((e) => keptNames.has(removed.get(e.name) ?? e.name));
      mismatches.push(
        ...(await writeChecked(group, sink, sources, removed, () => reopenWritten(sink.tempPath), {
          metadata,
          progressBase: base,
          progressTotal: total,
          onProgress: (p) => options.onProgress?.({ ...p, phase: 'write' }),
        })),
      );
      base += group.reduce((n, e) => n + e.byteLength, 0);
      options.onProgress?.({ phase: 'verify', bytesDone: base, bytesTotal: total, tensor: '' });
    }
    if (mismatches.length > 0) throw new VerificationError(mismatches);

    for (const sink of sinks) sink.commit();
    if (indexPath) {
      const weightMap = new Map<string, string>();
      groups.forEach((group, i) => group.forEach((e) => weightMap.set(e.name, path.basename(outputs[i]!))));
      writeFileAtomicSync(indexPath, [new TextEncoder().encode(formatShardIndex(total, weightMap))], { overwrite: true });
    }
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
      notes: [...new Set(sets.flatMap((s) => s.notes))],
      verified: true,
      seconds: (Date.now() - started) / 1000,
    };
  } catch (e) {
    await Promise.all(sinks.map((s) => s.abort()));
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

/** The conventional safetensors name for a checkpoint file: pytorch_model.bin → model.safetensors. */
export function safetensorsNameFor(file: string): string {
  const base = path.basename(file);
  const ext = CHECKPOINT_EXTENSIONS.find((x) => base.toLowerCase().endsWith(x)) ?? path.extname(base);
  return base.slice(0, base.length - ext.length).replace(/^pytorch_model/, 'model') + '.safetensors';
}

function resolveInput(src: string, output: string | undefined): Input {
  const model = findModel(src, 'pytorch');
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
  if (!isDir && output !== undefined) single = fs.existsSync(output) && fs.statSync(output).isDirectory() ? path.join(output, safetensorsNameFor(file)) : output;
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
