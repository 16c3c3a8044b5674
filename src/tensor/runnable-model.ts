import { TensorsafeError } from '../errors.js';
import type { Dtype } from '../dtype/dtypes.js';
import type { TensorEntry, TensorSet } from './tensor-set.js';

/**
 * A model loaded in a runtime (onnxruntime, tfjs), as the behaviour check (verify --run) drives it:
 * what it takes, and a run from values to values. The values are plain bytes (row-major,
 * little-endian), so the check compares outputs without knowing the runtime.
 */

/** A tensor given to or returned by a runtime. */
export interface RunValue {
  readonly name: string;
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  /** Its elements, row-major, little-endian (BOOL: one byte each). */
  readonly data: Uint8Array;
}

/** An input of the model: its dtype and shape; a dimension the model leaves open is a name (`batch`) or null. */
export interface RunInputSpec {
  readonly name: string;
  readonly dtype: Dtype;
  readonly shape: readonly (number | string | null)[];
}

export interface RunnableModel {
  /** The runtime and its version, for the report: `onnxruntime-node 1.30.0`. */
  readonly runtime: string;
  readonly inputs: readonly RunInputSpec[];
  readonly outputs: readonly string[];
  run(inputs: readonly RunValue[]): Promise<RunValue[]>;
  dispose(): Promise<void>;
}

/** The runtimes a format may run its models in: the package each one needs is the caller's to load. */
export type RuntimeId = 'onnxruntime' | 'tfjs';

/** Bytes of one model handed to a runtime (held in memory, the original's and the rebuilt one's): bounds memory; protobuf's own ceiling is 2 GiB. */
export const MAX_RUN_MODEL_BYTES = 1024 * 1024 * 1024;
/** Elements of one input, generated or read from --inputs: a graph whose declared shape is huge would fill memory. */
export const MAX_RUN_INPUT_ELEMENTS = 16 * 1024 * 1024;
/** Elements of one output compared (element by element, in memory): bounds the comparison's time and memory. */
export const MAX_RUN_OUTPUT_ELEMENTS = 64 * 1024 * 1024;

/**
 * The converted weights' tensor for each weight of the original graph: by its name, or by the name a
 * converter kept for a tied one (weights.metadata); RunWeightMismatch when it is missing or of another
 * dtype or shape. `where` says where the weight sits in the graph, for the message.
 */
export function convertedWeightOf(weights: TensorSet, label: string): (was: TensorEntry, where?: string) => TensorEntry {
  const given = new Map(weights.tensors.map((e) => [e.name, e]));
  return (was, where) => {
    const name = JSON.stringify(was.name);
    const at = where === undefined ? '' : ` (${where})`;
    const kept = weights.metadata?.[was.name];
    const entry = given.get(was.name) ?? (kept !== undefined ? given.get(kept) : undefined);
    if (!entry) throw new TensorsafeError('RunWeightMismatch', `${label}: the converted weights have no tensor ${name}${at}`, { location: was.name });
    if (entry.dtype !== was.dtype || entry.shape.join(',') !== was.shape.join(',')) {
      throw new TensorsafeError('RunWeightMismatch', `${label}: tensor ${name}${at} is ${was.dtype} [${was.shape.join(', ')}] in the graph but ${entry.dtype} [${entry.shape.join(', ')}] in the converted weights`, { location: was.name });
    }
    return entry;
  };
}

/** Characters of a runtime's own error quoted in a RuntimeFailed message: a runtime may put a whole graph dump in one line. */
export const MAX_RUNTIME_MESSAGE_CHARS = 500;

/** A runtime's error, for a RuntimeFailed message: its first line, bounded. */
export function runtimeMessage(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, MAX_RUNTIME_MESSAGE_CHARS);
}
