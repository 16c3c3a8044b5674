import { TensorsafeError } from '../errors.js';
import type { OutputFormat, WriterOption } from '../convert/output-format.js';
import { planConversion, type ConversionPlan } from '../convert/pipeline.js';
import { DEFAULT_OUTPUT, OUTPUT_FORMATS, outputFormatById } from '../convert/outputs.js';
import { safetensorsOutput } from '../convert/safetensors-output.js';
import { formatById, formatsByExtension } from '../formats/registry.js';
import { ggufSidecarName, MAX_GGUF_SIDECAR_BYTES } from '../tensor/gguf-metadata.js';
import { parseSize } from '../util/sizes.js';
import { baseName, type OpenedFile } from './open-source.js';

/**
 * What a conversion decides before it writes anything, wherever its files live: the options checked
 * against the output format, the output's name, the record of the sources it carries, the sources'
 * merged metadata and the plan. node/convert.ts (the CLI) and the web page's worker both call these,
 * so that the same input and options give the same bytes in both.
 */

/** The metadata key under which a conversion records its sources (in `__metadata__`, and in a sharded index's `metadata`). */
export const PROVENANCE_KEY = 'tensorsafe.source';

/** One source file of a conversion, as its output records it. */
export interface SourceRecord {
  /** Its path relative to the output's folder (the base name when the output is beside it). */
  readonly file: string;
  readonly size: number;
  /** Modification time, ISO 8601 (informational). */
  readonly mtime: string;
  /** SHA-256 of the whole file, when asked for (`sourceSha256`): for an audit trail, not for the skip decision. */
  readonly sha256?: string;
}

/**
 * A source's record from what a file system says of it: its modification time in milliseconds, Node's
 * `stat.mtimeMs` or a File's `lastModified`. The time is kept to the whole millisecond below it, as
 * Chromium gives `lastModified` (a time of .7 ms is .0 ms there; Node's `stat.mtime` would round it up
 * instead), so that the CLI and the page record the same file alike.
 */
export function sourceRecord(file: string, size: number, modifiedMs: number): SourceRecord {
  return { file, size, mtime: new Date(Math.floor(modifiedMs)).toISOString() };
}

/** The metadata value for a conversion's sources (JSON, as metadata values are strings). */
export function provenanceValue(records: readonly SourceRecord[]): string {
  return JSON.stringify(records.map((r) => ({ file: r.file, size: r.size, mtime: r.mtime, ...(r.sha256 === undefined ? {} : { sha256: r.sha256 }) })));
}

/** The options of a conversion that decide its output (the CLI's flags of the same names). */
export interface ConvertChoices {
  /** The output format's id (convert/outputs.ts); safetensors when absent. */
  readonly to?: string;
  /** Largest output file, in bytes of tensor data, or a size like "5GB". */
  readonly maxShardSize?: number | string;
  readonly allowRaw?: boolean;
  readonly sourceSha256?: boolean;
  readonly quantize?: string;
  readonly arch?: string;
  readonly dtype?: string;
  readonly dequantize?: boolean;
}

/** The checked choices: the output format, the cast, the shard size in bytes. */
export interface CheckedChoices {
  readonly output: OutputFormat;
  readonly dtype: 'F32' | 'F16' | 'BF16' | undefined;
  readonly maxShardSize: number | undefined;
}

/** Which of the CLI's options apply to an output format (what the page offers for it). */
export function optionsOf(output: OutputFormat): { dtype: boolean; maxShardSize: boolean; quantize: boolean; arch: boolean; allowRaw: boolean } {
  const takes = (option: WriterOption): boolean => output.writerOptions?.includes(option) === true;
  return { dtype: output === safetensorsOutput, maxShardSize: output.oneFile !== true, quantize: takes('quantize'), arch: takes('arch'), allowRaw: takes('allowRaw') };
}

/** Checks the choices against the output format they name: an option its writer does not take is refused, saying which goes with which. */
export function checkConvertChoices(choices: ConvertChoices): CheckedChoices {
  const output = choices.to === undefined ? DEFAULT_OUTPUT : outputFormatById(choices.to);
  if (!output) throw new TensorsafeError('InvalidArgument', `--to ${choices.to}: tensorsafe writes ${OUTPUT_FORMATS.map((f) => f.id).join(', ')}`, { location: choices.to });
  const takes = optionsOf(output);
  if (choices.allowRaw && !takes.allowRaw) throw new TensorsafeError('InvalidArgument', `--allow-raw applies to NumPy outputs (--to npz or npy); ${output.id} holds every dtype`, { location: output.id });
  // The digests are patched into a safetensors header as the conversion ends: a NumPy file has no
  // metadata, and a GGUF records its sources without them.
  if (choices.sourceSha256 && output !== safetensorsOutput) {
    const why = output.noMetadata !== undefined ? `${output.noMetadata} files hold no metadata` : `a ${output.id} output records its sources without digests`;
    throw new TensorsafeError('InvalidArgument', `--sha256 records the sources' digests in safetensors output only; ${why}`, { location: output.id });
  }
  if (choices.quantize !== undefined && !takes.quantize) {
    throw new TensorsafeError('InvalidArgument', `--quantize is an option of the GGUF and TF.js writers (--to gguf, --to tfjs), not of ${output.id}`, { location: output.id });
  }
  if (choices.arch !== undefined && !takes.arch) {
    throw new TensorsafeError('InvalidArgument', `--arch is an option of the GGUF writer (--to gguf), not of ${output.id}`, { location: output.id });
  }
  if (choices.maxShardSize !== undefined && !takes.maxShardSize) throw new TensorsafeError('InvalidArgument', `a ${output.id} output is one file: --max-shard-size does not apply`, { location: output.id });
  return { output, dtype: dtypeOption(choices.dtype, output), maxShardSize: choices.maxShardSize === undefined ? undefined : parseSize(choices.maxShardSize) };
}

/** The cast `dtype` asks for, checked: only safetensors output takes one. */
export function dtypeOption(dtype: string | undefined, output: OutputFormat): 'F32' | 'F16' | 'BF16' | undefined {
  if (dtype === undefined) return undefined;
  const d = dtype.toUpperCase();
  if (d !== 'F32' && d !== 'F16' && d !== 'BF16') throw new TensorsafeError('InvalidArgument', `--dtype ${dtype}: the dtypes of dequantized tensors are f32, f16 and bf16`, { location: dtype });
  if (output !== safetensorsOutput) throw new TensorsafeError('InvalidArgument', `--dtype ${dtype} chooses the dtype of dequantized tensors in a safetensors output, not in ${output.id}`, { location: dtype });
  return d;
}

/** A model file's name with its format's extension replaced by the output's (Hugging Face's `pytorch_model` becomes `model`). */
export function outputNameFor(file: string, output: OutputFormat): string {
  const base = baseName(file.replace(/[\\/]+$/, ''));
  const lower = base.toLowerCase();
  const matched = formatsByExtension(base).flatMap((f) => f.extensions.filter((x) => lower.endsWith(x))).sort((a, b) => b.length - a.length)[0];
  // A name end that is not an extension (TF.js's `model.json`) keeps the name: model.json → model.safetensors.
  const ext = matched !== undefined && matched.startsWith('.') ? matched : extensionOf(base);
  return output.fileName(base.slice(0, base.length - ext.length).replace(/^pytorch_model/, 'model'));
}

/** The stem of an output family from the name of its single file: `model.safetensors` → `model` (a name without the extension is its own stem). */
export function outputStem(single: string, output: OutputFormat): string {
  const base = baseName(single);
  return base.endsWith(output.extension) ? base.slice(0, -output.extension.length) : base;
}

/** The sources' metadata as one map (the first file's value of a key wins). */
export function mergedMetadata(opened: readonly OpenedFile[]): Record<string, string> {
  const merged: Record<string, string> = Object.create(null); // a key named `__proto__` is a key
  for (const o of opened) for (const [k, v] of Object.entries(o.tensors.metadata ?? {})) if (!Object.hasOwn(merged, k)) merged[k] = v;
  return merged;
}

/** The most a scan finding's message takes in a summary note: `tensorsafe scan` prints it whole. */
const SCAN_NOTE_CHARS = 240;

/**
 * What the scan found suspicious in the sources: nothing in them is run, so they are converted, but the
 * output may carry it (a GGUF's chat template goes into the metadata), and the summary must not read as clean.
 */
export function scanNotes(opened: readonly OpenedFile[]): string[] {
  return opened
    .filter((o) => o.suspicious.length > 0)
    .map((o) => {
      const first = o.suspicious[0]!;
      const shown = first.length > SCAN_NOTE_CHARS ? `${first.slice(0, SCAN_NOTE_CHARS)}…` : first;
      const more = o.suspicious.length > 1 ? ` (and ${o.suspicious.length - 1} more)` : '';
      return `the scan found this file suspicious: ${shown}${more}; nothing in it was run, and its tensors were converted as data: check what the output carries (tensorsafe scan ${baseName(o.file)})`;
    });
}

/** A source already in the output format: nothing to convert. */
export function alreadyConverted(src: string, output: OutputFormat, quantize: string | undefined): TensorsafeError {
  const name = formatById(output.id)?.name.replace(/ \(.*\)$/, '') ?? output.id;
  // Quantizing is a rewrite, not a copy: the writers take a model of another format, so say which way.
  const how = quantize === undefined ? '' : `; to quantize it, convert it to safetensors first, then that with --to ${output.id} --quantize ${quantize}`;
  // validate reads safetensors only; inspect reads every format.
  const check = output.id === 'safetensors' ? 'tensorsafe validate checks it' : 'tensorsafe inspect shows it';
  return new TensorsafeError('NotACheckpoint', `${src} is already ${name}: nothing to convert (${check}${how})`, { location: src });
}

/** The checks of the opened sources against the choices: --dequantize only where the format reads quantized tensors as F32, no source already in the output format. */
export function checkSources(src: string, opened: readonly OpenedFile[], choices: ConvertChoices, output: OutputFormat): void {
  const fixed = choices.dequantize ? opened.find((o) => !o.format.dequantizes) : undefined;
  if (fixed) throw new TensorsafeError('UsageError', `--dequantize applies to TFLite models; ${fixed.file} is ${fixed.format.name}`, { location: fixed.file });
  // A file whose bytes are the output format's, whatever its name.
  if (opened.some((o) => o.format.id === output.id)) throw alreadyConverted(src, output, choices.quantize);
}

/** Where a conversion's outputs go, by name: the stem of the family and the single file's name, and a sharded input's index. */
export interface OutputNames {
  readonly stem: string;
  /** The output's name when it is one file (a base name). */
  readonly single: string;
  readonly index?: ReadonlyMap<string, string>;
}

/**
 * Plans the conversion of opened sources (convert/pipeline.ts planConversion) with the checked
 * choices, as the CLI plans it: the writer configured with its options (and, for a writer that
 * carries the sources' metadata itself, that metadata and the sidecar found beside the source), and
 * the provenance key reserved.
 */
export function planModelConversion(opened: readonly OpenedFile[], choices: ConvertChoices, checked: CheckedChoices, names: OutputNames, readSidecar: () => { text: string; name: string } | undefined): ConversionPlan {
  const { output } = checked;
  return planConversion(
    opened.map((o) => ({ name: o.file, tensors: o.tensors })),
    {
      output: output.configure?.({
        allowRaw: choices.allowRaw,
        quantize: choices.quantize,
        arch: choices.arch,
        // Only a writer that carries the sources' metadata itself is given it (and the sidecar is read only for one).
        ...(output.typedMetadata ? { sourceMetadata: mergedMetadata(opened), sidecar: readSidecar() } : {}),
      }) ?? output,
      stem: names.stem,
      single: baseName(names.single),
      maxShardSize: checked.maxShardSize,
      index: names.index,
      reservedKeys: { [PROVENANCE_KEY]: 'tensorsafe records its sources under' },
      ...(checked.dtype ? { dtype: checked.dtype } : {}),
    },
  );
}

/** A tensor the output has no type for, from a model that --dequantize reads as F32 (TFLite): say so. */
export async function withDequantizeHint<T>(opened: readonly OpenedFile[], dequantize: boolean | undefined, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (e) {
    const from = dequantize ? undefined : opened.find((o) => o.format.dequantizes);
    if (!(e instanceof TensorsafeError) || e.code !== 'UnsupportedTensor' || from === undefined) throw e;
    throw new TensorsafeError(e.code, `${e.message}: a quantized ${from.format.name.replace(/ \(.*\)$/, '')} model is written as F32 with --dequantize`, { location: e.location, file: e.file, cause: e });
  }
}

/** The GGUF metadata sidecar's path beside a source (`dir/model.safetensors` → `dir/model.gguf-metadata.json`). */
export function sidecarPathFor(file: string): string {
  const base = baseName(file);
  const dir = file.slice(0, file.length - base.length);
  return `${dir}${ggufSidecarName(base.slice(0, base.length - extensionOf(base).length))}`;
}

/** Refuses a sidecar that is not a regular file or is larger than MAX_GGUF_SIDECAR_BYTES, before it is read. */
export function checkSidecar(name: string, source: string, size: number, regularFile = true): void {
  if (!regularFile) throw new TensorsafeError('InvalidGgufMetadata', `${name} (the GGUF metadata sidecar beside ${baseName(source)}) is not a regular file; it was not read and nothing was written`, { location: name });
  if (size > MAX_GGUF_SIDECAR_BYTES) throw new TensorsafeError('GgufLimit', `${name} is ${size} bytes, more than MAX_GGUF_SIDECAR_BYTES (${MAX_GGUF_SIDECAR_BYTES}); nothing was written`, { location: name });
}

/** A source's name in its output's record when it is a URL: itself, without credentials, query or fragment (a signed URL's token is no name). */
export function urlRecordName(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}

/** `.bin` of `model.bin`, as Node's path.extname says it ('' for `model` and `.hidden`). */
function extensionOf(base: string): string {
  const i = base.lastIndexOf('.');
  return i <= 0 ? '' : base.slice(i);
}
