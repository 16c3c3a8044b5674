import type { ByteSource } from '../../io/byte-source.js';
import type { Placeholder } from '../pickle/machine.js';
import type { PyValue } from '../pickle/values.js';
import { PickleError } from '../pickle/errors.js';
import { isZip } from '../zip/index.js';
import { describeFormat, detectFormat } from '../detect.js';
import { CheckpointError } from './errors.js';
import type { ScriptClass } from './script-classes.js';
import { readLegacyOrPickle } from './legacy-checkpoint.js';
import { isTar, readTarCheckpoint } from './tar-checkpoint.js';
import { readZipCheckpoint } from './zip-checkpoint.js';

export type TorchFormat = 'pytorch-zip' | 'torchscript' | 'pytorch-legacy' | 'pytorch-tar' | 'pickle';

/** A checkpoint's object, rebuilt as data, with the storages its tensors point into located in the source. */
export interface TorchCheckpoint {
  readonly format: TorchFormat;
  /** What torch.load would return: a dict of tensors, a training checkpoint, a module object, … */
  readonly root: PyValue;
  readonly placeholders: readonly Placeholder[];
  /** Every global the pickle(s) named. */
  readonly globals: ReadonlySet<string>;
  readonly notes: readonly string[];
  /** TorchScript archives: what besides data.pkl says which tensors are weights. */
  readonly script?: TorchScriptParts;
}

/** A TorchScript archive's constants and class declarations (never its code as code). */
export interface TorchScriptParts {
  /** constants.pkl's object (a tuple: tensors and other values the code uses), when the archive has one. */
  readonly constants: PyValue | undefined;
  /** The `__torch__.*` classes the pickles name, as code/ declares them (script-classes.ts). */
  readonly classes: ReadonlyMap<string, ScriptClass>;
}

const TORCH_FORMATS: ReadonlySet<string> = new Set<TorchFormat>(['pytorch-zip', 'torchscript', 'pytorch-legacy', 'pytorch-tar', 'pickle']);

/** Whether a format reader's structure (format.ts ParsedModel) is a checkpoint read by readTorchCheckpoint. */
export function isTorchCheckpoint(structure: unknown): structure is TorchCheckpoint {
  return typeof structure === 'object' && structure !== null && 'root' in structure && TORCH_FORMATS.has((structure as { format?: unknown }).format as string);
}

export interface ReadCheckpointOptions {
  /** Keep unknown (not dangerous) objects as inert placeholders instead of refusing the file. */
  skipUnknown?: boolean;
}

/**
 * Reads a PyTorch checkpoint without running anything: the container is recognised from its
 * bytes (zip, TorchScript zip, legacy stacked pickles, old tar, or a bare pickle), the pickle is
 * run by the data-only machine, and every storage is located (and size-checked) in the source.
 */
export async function readTorchCheckpoint(source: ByteSource, options: ReadCheckpointOptions = {}): Promise<TorchCheckpoint> {
  const head = await source.read(0, Math.min(source.size, 512));
  if (isZip(head)) return readZipCheckpoint(source, options);
  if (isTar(head)) return readTarCheckpoint(source, options);
  const format = detectFormat(head, source.size);
  if (format === 'empty') throw new CheckpointError('NotACheckpoint', `${source.name} is not a PyTorch checkpoint: it is an empty file`, { location: source.name });
  // Text may be a protocol 0 pickle.
  if (format !== 'pickle' && format !== 'unknown' && format !== 'text') {
    throw new CheckpointError('NotACheckpoint', `${source.name} is not a PyTorch checkpoint: it is ${describeFormat(format)}`, { location: source.name });
  }
  try {
    return await readLegacyOrPickle(source, options);
  } catch (e) {
    // Bytes that fail at the very first opcode are not a pickle at all.
    if (e instanceof PickleError && e.offset === 0 && e.code !== 'UnsafeGlobal' && e.code !== 'UnsupportedGlobal') {
      const what = format === 'text' ? 'a text file, not a pickle' : 'neither a zip archive, a tar archive nor a pickle';
      throw new CheckpointError('NotACheckpoint', `${source.name} is not a PyTorch checkpoint: it is ${what} (${e.detail})`, {
        cause: e,
        location: source.name,
      });
    }
    throw e;
  }
}
