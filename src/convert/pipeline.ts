import { TensorsafeError } from '../errors.js';
import type { ByteSource } from '../io/byte-source.js';
import { planShards } from '../safetensors/sharded.js';
import type { ByteSink } from '../io/byte-sink.js';
import { castable, castEntry, type CastDtype } from '../tensor/cast.js';
import type { Companion, LeftOut, TensorEntry, TensorSet } from '../tensor/tensor-set.js';
import { checkOutput, type Mismatch } from './check-output.js';
import { dedupeTensors } from './dedupe.js';
import type { OutputFormat } from './output-format.js';
import type { Progress } from './write.js';
import { placementOf, type CheckedSink, type WrittenFile } from './write-checked.js';

/**
 * The conversion of any TensorSet, whatever format it was read from, into an output format:
 * plan (merge the inputs, check names, remove tied duplicates, plan the files), write each file while
 * comparing it with the source, check the files once more, commit them, and summarize. Where the
 * files live (paths, temporary files, renames) is the caller's: node/convert.ts for local files.
 */

/** One input file, opened by its format's reader. */
export interface ConvertInput {
  /** The file, for messages; its base name is what a sharded input's index names. */
  readonly name: string;
  readonly tensors: TensorSet;
}

export interface PlanOptions {
  readonly output: OutputFormat;
  /** Stem of the output family: `model` → model.safetensors, model-00001-of-00002.safetensors, model.safetensors.index.json. */
  readonly stem: string;
  /** Name of the output when it is one file (default: `output.fileName(stem)`). */
  readonly single?: string;
  /** Largest output file, in bytes of tensor data; without it, output k holds what input k held. */
  readonly maxShardSize?: number;
  /** A sharded input's index: tensor → the name of the file the index puts it in. */
  readonly index?: ReadonlyMap<string, string>;
  /** Metadata keys the conversion writes, with what each holds: no tensor name may be recorded under one. */
  readonly reservedKeys?: Readonly<Record<string, string>>;
  /**
   * The dtype of the tensors whose values were computed as F32 (dequantized: tensor/cast.ts `castable`);
   * every other tensor keeps its dtype. F32 (the default) writes them as computed.
   */
  readonly dtype?: CastDtype | 'F32';
}

/** A companion file (TensorSet.companions) the conversion writes beside its outputs. */
export interface PlannedCompanion {
  /** Its name beside the outputs: the stem and the companion's suffix. */
  readonly file: string;
  /** The input's file name, which it records. */
  readonly source: string;
  readonly companion: Companion;
}

export interface ConversionPlan {
  readonly output: OutputFormat;
  readonly inputs: readonly ConvertInput[];
  /** Every source tensor, in input order (alias keys per input: tied weights never span files). */
  readonly entries: readonly TensorEntry[];
  /** The tensors written. */
  readonly kept: readonly TensorEntry[];
  /** Tied names written once: removed → kept. */
  readonly removed: ReadonlyMap<string, string>;
  /** The tensors of each output file. */
  readonly groups: readonly (readonly TensorEntry[])[];
  /** The name of each output file. */
  readonly files: readonly string[];
  /** The index's name, for a sharded output. */
  readonly indexFile: string | undefined;
  /** Bytes of tensor data written. */
  readonly totalBytes: number;
  /** The inputs' metadata, written into every output file (before the caller's records). */
  readonly sourceMetadata: Readonly<Record<string, string>>;
  /** Files written beside the outputs. */
  readonly companions: readonly PlannedCompanion[];
  /** What the plan changed, for the summary: what `dtype` did, the sources' records it replaced. */
  readonly planNotes: readonly string[];
}

/** What the inputs were and what was written, for the summary (the caller adds paths and times). */
export interface ConversionSummary {
  /** The first input's format and container (`pytorch-zip`, `pytorch-legacy`, …). */
  format: string;
  /** Where in the input the weights were found ('' for the file itself). */
  weightsPath: string;
  /** Tensors written (after removing tied duplicates). */
  tensors: number;
  /** Bytes of tensor data written. */
  bytes: number;
  /** Tied names written once: removed → kept (also in each file's metadata). */
  sharedRemoved: Record<string, string>;
  /** What the inputs held besides the weights. */
  leftOut: LeftOut[];
  /** Classes of the module objects the weights were read from (a whole-model pickle), read as data, never imported. */
  moduleClasses: string[];
  /** Files written beside the outputs (named as the plan names them; the caller may make them paths) and what they hold. */
  companions: { file: string; what: string; keys: string[] }[];
  notes: string[];
  /**
   * Tensors written as values the reader computed (dequantized, cast, unpacked, densified: fidelity
   * `derived` or `lossless`), compared with what the decoder makes of the source, not with its stored
   * bytes; 0 when every tensor was written as the source holds it (a quantizing output says so in its notes).
   */
  derived: number;
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

/** The entries of several input files as one list: alias keys are per file (tied weights never span files). */
export function mergedEntries(sets: readonly TensorSet[]): TensorEntry[] {
  return sets.flatMap((set, i) => set.tensors.map((t) => ({ ...t, aliasKey: t.aliasKey === undefined ? undefined : `${i}/${t.aliasKey}`, chunks: t.chunks })));
}

/** Checks the inputs and decides what goes where. Reads no tensor byte. */
export function planConversion(inputs: readonly ConvertInput[], options: PlanOptions): ConversionPlan {
  // A set its reader marks as not convertible (an optimizer's state) is refused before anything is planned.
  for (const i of inputs) if (i.tensors.notConvertible !== undefined) throw i.tensors.notConvertible;
  let entries = mergedEntries(inputs.map((i) => i.tensors));
  // --dtype: the dequantized tensors are cast as they stream, and the output is compared with that cast.
  const planNotes: string[] = [];
  if (options.dtype !== undefined) {
    const to = options.dtype;
    const cast = entries.filter(castable).length;
    if (to !== 'F32') entries = entries.map((e) => (castable(e) ? castEntry(e, to) : e));
    planNotes.push(cast === 0
      ? `--dtype ${to.toLowerCase()}: no tensor was dequantized; every tensor keeps its dtype`
      : `--dtype ${to.toLowerCase()}: ${cast} dequantized tensor${cast === 1 ? '' : 's'} written as ${to}${to === 'F32' ? '' : ' (rounded to nearest even from F32)'}; every other tensor keeps its dtype`);
  }
  // An output with no tensor would be "verified" against nothing: a model that holds none is refused.
  if (entries.length === 0) {
    const names = inputs.map((i) => i.name).join(', ');
    const besides = inputs.flatMap((i) => i.tensors.leftOut.map((l) => l.path));
    const held = besides.length > 0 ? ` (it holds only ${besides.slice(0, 5).join(', ')}${besides.length > 5 ? ', …' : ''})` : '';
    throw new TensorsafeError('NoTensors', `${names}: no tensors to convert${held}; nothing was written`, { location: inputs[0]?.name });
  }
  checkNamesUnique(entries, inputs);
  if (options.index) checkAgainstIndex(inputs, options.index);
  const { kept, removed } = dedupeTensors(entries);
  // The sources' metadata, as strings in the output's (a GGUF output carries it itself, typed).
  const sourceMetadata: Record<string, string> = options.output.typedMetadata ? {} : Object.assign(Object.create(null) as Record<string, string>, ...inputs.map((i) => i.tensors.metadata ?? {}));
  // A NumPy output holds no metadata: what the sources hold is named, never dropped silently.
  if (options.output.noMetadata !== undefined) {
    const keys = Object.keys(sourceMetadata).sort();
    if (keys.length > 0) planNotes.push(`metadata not written (${options.output.noMetadata} files hold none): ${keys.length} key${keys.length === 1 ? '' : 's'}: ${keys.slice(0, 8).join(', ')}${keys.length > 8 ? ', …' : ''}`);
  }
  for (const [key, what] of Object.entries(options.reservedKeys ?? {})) {
    if (removed.has(key)) throw new TensorsafeError('InvalidCheckpoint', `a tensor is named \`${key}\`, the metadata key ${what}`, { location: key });
    // A source converted by tensorsafe before (a GGUF it wrote) holds its own record: this conversion's replaces it.
    if (key in sourceMetadata && options.output.noMetadata === undefined) {
      delete sourceMetadata[key];
      planNotes.push(`the source's own \`${key}\` (the metadata key ${what}) is replaced by this conversion's`);
    }
  }
  for (const key of Object.keys(sourceMetadata)) {
    if (removed.has(key)) throw new TensorsafeError('InvalidCheckpoint', `a tied tensor is named \`${key}\`, as a key of the source's metadata is`, { location: key });
  }
  const companions = inputs.flatMap((i) => (i.tensors.companions ?? []).map((companion) => ({ file: `${options.stem}${companion.suffix}`, source: baseName(i.name), companion })));
  const companionNames = companions.map((c) => c.file);
  const twice = companionNames.find((f, i) => companionNames.indexOf(f) !== i);
  if (twice !== undefined) throw new TensorsafeError('InvalidArgument', `two inputs would write ${twice} beside the output; convert them one at a time`, { location: twice });

  // Which tensors go to which output file.
  let groups: TensorEntry[][];
  const maxShardSize = options.maxShardSize ?? options.output.defaultShardSize;
  if (maxShardSize !== undefined) groups = planShards(kept, maxShardSize, options.output.storedBytes?.bind(options.output));
  else if (inputs.length > 1 && !options.output.oneFile) {
    // Keep the input's sharding: output file k holds what input file k held.
    const fileOf = new Map(inputs.flatMap((input, i) => input.tensors.tensors.map((t) => [t.name, i] as const)));
    groups = inputs.map((_, i) => kept.filter((e) => fileOf.get(e.name) === i));
  } else groups = [kept];
  // Not empty: the model holds a tensor (refused above otherwise), and every tensor kept is in a group.
  groups = groups.filter((g) => g.length > 0);
  const sharded = groups.length > 1 || options.output.alwaysIndexed === true;
  const { output, stem } = options;
  return {
    output,
    inputs,
    entries,
    kept,
    removed,
    groups,
    files: sharded ? groups.map((_, i) => output.shardName(stem, i, groups.length)) : [options.single ?? output.fileName(stem)],
    indexFile: sharded ? output.indexName(stem) : undefined,
    totalBytes: kept.reduce((n, e) => n + e.byteLength, 0),
    sourceMetadata,
    companions,
    planNotes,
  };
}

/** The source tensors output file `i` must hold: its own, and the tied names removed in their favour. */
export function sourcesOf(plan: ConversionPlan, i: number): TensorEntry[] {
  const keptNames = new Set(plan.groups[i]!.map((e) => e.name));
  return plan.entries.filter((e) => keptNames.has(plan.removed.get(e.name) ?? e.name));
}

/**
 * Whether existing files hold exactly what this plan would write, tensor by tensor, bit for bit
 * (`open(i)`: output file `i` as it is now).
 */
export async function outputsMatch(plan: ConversionPlan, open: (i: number) => Promise<ByteSource>): Promise<boolean> {
  for (const i of plan.groups.keys()) {
    const file = await plan.output.reopen(await open(i));
    try {
      if ((await checkOutput(file.tensors, sourcesOf(plan, i), plan.removed)).length > 0) return false;
      const held = file.tensors.metadata ?? {};
      const expected = plan.output.metadata(undefined, new Map(), { ...plan.sourceMetadata });
      if (Object.entries(expected).some(([k, v]) => held[k] !== v)) return false;
    } finally {
      await file.close();
    }
  }
  return true;
}

/** Where an output file is written: a sink that can be read back while written, put in place only on commit. */
export interface OutputSink extends CheckedSink {
  /** Puts the written file in place (a temporary file renamed over its target). */
  commit(): void;
}

export interface WriteOutputsOptions<S extends OutputSink> {
  /** The framework whose conventions the tensors follow (the source format's `framework`: `pt`). */
  readonly framework?: string;
  /** What the caller records in every output file and in the index (the sources, say). */
  readonly records: Record<string, string>;
  /** A sink for output file `i` (plan.files[i]). */
  createSink(i: number): Promise<S>;
  /** What was written to a sink so far, as a source to read it back from. */
  openWritten(sink: S): Promise<ByteSource>;
  /**
   * Once every file is written and checked, before any is committed: may rewrite bytes inside each
   * file's header (values known only now, such as the sources' digests), and returns the records
   * every file must hold afterwards. Every file is then parsed again and must hold that metadata and
   * its tensors where they were checked.
   */
  finishHeaders?(written: readonly { sink: S; header: Uint8Array }[]): Promise<Record<string, string>>;
  /** Puts the index of a sharded output in place (atomically). */
  writeIndex(name: string, bytes: Uint8Array): void;
  /** A sink for a companion file (plan.companions), put in place only on `commit`; needed when the plan has companions. */
  createCompanionSink?(name: string): Promise<ByteSink & { commit(): void }>;
  onProgress?: (p: Progress & { phase: 'write' | 'verify' }) => void;
}

/**
 * Writes every output file of the plan, each compared with its source while it is written, checks
 * them once more after `finishHeaders`, and only then commits them and writes the index. On any
 * failure, or a mismatch (VerificationError), every file is aborted: nothing is left.
 */
export async function writeOutputs<S extends OutputSink>(plan: ConversionPlan, options: WriteOutputsOptions<S>): Promise<void> {
  const written: { sink: S; header: Uint8Array }[] = [];
  const metadataWith = (records: Record<string, string>): Record<string, string> => plan.output.metadata(options.framework, plan.removed, { ...plan.sourceMetadata, ...records });
  const reopen = async (sink: S): Promise<WrittenFile> => plan.output.reopen(await options.openWritten(sink));
  const companionSinks: (ByteSink & { commit(): void })[] = [];
  try {
    // Companions first: one past its limit refuses the conversion before any tensor is written.
    const companionBytes: Uint8Array[][] = [];
    for (const c of plan.companions) companionBytes.push(await c.companion.bytes(c.source));
    if (plan.companions.length > 0 && options.createCompanionSink === undefined) {
      throw new TensorsafeError('InternalError', `the conversion writes ${plan.companions.map((c) => c.file).join(', ')} beside its output, and was given nowhere to write them`);
    }
    const mismatches: Mismatch[] = [];
    const placements: string[] = [];
    let base = 0;
    for (const [i, group] of plan.groups.entries()) {
      const sink = await options.createSink(i);
      const entry: { sink: S; header: Uint8Array } = { sink, header: new Uint8Array(0) };
      written.push(entry);
      const checked = await plan.output.writeChecked(group, sink, sourcesOf(plan, i), plan.removed, () => reopen(sink), {
        metadata: metadataWith(options.records),
        progressBase: base,
        progressTotal: plan.totalBytes,
        onProgress: (p) => options.onProgress?.({ ...p, phase: p.phase ?? 'write' }),
        afterHeader: (header) => {
          entry.header = header;
        },
      });
      mismatches.push(...checked.mismatches);
      placements.push(checked.placement);
      base += group.reduce((n, e) => n + e.byteLength, 0);
      options.onProgress?.({ phase: 'verify', bytesDone: base, bytesTotal: plan.totalBytes, tensor: '' });
    }

    const records = options.finishHeaders ? await options.finishHeaders(written) : options.records;
    const metadata = metadataWith(records);
    // Parse every file again: its metadata is what it must be now, and, if its header was written again
    // after its tensors were checked, the same tensors are at the same places as checked.
    for (const [i, { sink }] of written.entries()) {
      const file = await reopen(sink);
      try {
        const held = file.tensors.metadata ?? {};
        for (const key of new Set([...Object.keys(metadata), ...Object.keys(held)])) {
          if (held[key] !== metadata[key]) mismatches.push({ name: key, reason: `the metadata entry \`${key}\` is not what was written` });
        }
        if (placementOf(file) !== placements[i]) mismatches.push({ name: plan.files[i]!, reason: 'writing the header again changed where its tensors are' });
      } finally {
        await file.close();
      }
    }
    if (mismatches.length > 0) throw new VerificationError(mismatches);

    for (const [i, c] of plan.companions.entries()) {
      const sink = await options.createCompanionSink!(c.file);
      companionSinks.push(sink);
      for (const piece of companionBytes[i]!) await sink.write(piece);
      await sink.close();
    }
    for (const { sink } of written) sink.commit();
    for (const sink of companionSinks) sink.commit();
    if (plan.indexFile) {
      const weightMap = new Map<string, string>();
      plan.groups.forEach((group, i) => group.forEach((e) => weightMap.set(e.name, plan.files[i]!)));
      options.writeIndex(plan.indexFile, plan.output.index(plan.totalBytes, weightMap, records));
    }
  } catch (e) {
    await Promise.all([...written.map((w) => w.sink.abort()), ...companionSinks.map((s) => s.abort())]);
    throw e;
  }
}

/** What the inputs were and what the plan writes. */
export function summarizeConversion(plan: ConversionPlan): ConversionSummary {
  const sets = plan.inputs.map((i) => i.tensors);
  return {
    format: sets[0]?.format ?? '',
    weightsPath: sets[0]?.weightsPath ?? '',
    tensors: plan.kept.length,
    bytes: plan.totalBytes,
    sharedRemoved: Object.fromEntries(plan.removed),
    leftOut: sets.flatMap((s) => s.leftOut),
    moduleClasses: [...new Set(sets.flatMap((s) => s.moduleClasses ?? []))],
    companions: plan.companions.map((c) => ({ file: c.file, what: c.companion.what, keys: [...c.companion.keys] })),
    notes: [...new Set([...sets.flatMap((s) => s.notes), ...plan.planNotes, ...(plan.output.notes?.(plan.kept) ?? [])])],
    derived: plan.kept.filter((e) => e.fidelity !== 'exact').length,
  };
}

function checkNamesUnique(entries: readonly TensorEntry[], inputs: readonly ConvertInput[]): void {
  const seen = new Set<string>();
  for (const e of entries) {
    if (seen.has(e.name)) {
      throw new TensorsafeError('InvalidCheckpoint', `tensor \`${e.name}\` appears in more than one of ${inputs.map((i) => baseName(i.name)).join(', ')}`, { location: e.name });
    }
    seen.add(e.name);
  }
}

/** The index must not put a tensor in another file than the one holding it. */
function checkAgainstIndex(inputs: readonly ConvertInput[], index: ReadonlyMap<string, string>): void {
  for (const input of inputs) {
    const file = baseName(input.name);
    for (const t of input.tensors.tensors) {
      const listed = index.get(t.name);
      if (listed !== undefined && baseName(listed) !== file) {
        throw new TensorsafeError('InvalidCheckpoint', `${file} holds \`${t.name}\`, which the index puts in ${listed}`, { location: file });
      }
    }
  }
}

/** The last part of a path, whichever separator it uses (this layer has no `path`). */
function baseName(p: string): string {
  return p.slice(Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\')) + 1);
}
