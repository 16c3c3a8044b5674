import type { ByteSource } from '../../io/byte-source.js';
import { PickleError } from '../pickle/errors.js';
import { unpickle } from '../pickle/machine.js';
import { describe, PyDict, PyTuple } from '../pickle/values.js';
import { show } from '../scan-rules.js';
import { PaddleError } from './errors.js';
import { MAX_PADDLE_ARRAYS, MAX_PADDLE_PICKLE_BYTES } from './limits.js';
import { NumpyArrayValue, PADDLE_GLOBALS, paddleHandlers } from './numpy-values.js';

/**
 * A `.pdparams` or `.pdopt` file as paddle.save writes it (python/paddle/framework/io.py): the state
 * dict's tensors become NumPy arrays (`_build_saved_state_dict`), a `StructuredToParameterName@@` entry
 * maps each structured name to its parameter's name, and the dict is pickled (protocol 4 by default, 2
 * to 4 allowed). The pickle is read by the data-only machine with numpy's array reconstruction as its
 * only globals. Arrays are kept in the dict's order; a tensor saved on its own (`(name, array)`, paddle's
 * reduce of a Tensor) is its array. Everything else is left out, listed.
 */

export interface PaddleArray {
  readonly name: string;
  readonly shape: readonly number[];
  /** The dtype as a typestr (`<f4`, `|b1`, `>i8`). */
  readonly descr: string;
  readonly fortran: boolean;
  readonly byteLength: number;
  /** Where its bytes lie in the file, when the pickle holds them as they are (BINBYTES, protocol 4). */
  readonly fileOffset?: number;
  /** Its bytes, when the pickle holds them as text (protocol 2's `_codecs.encode(str, 'latin1')`): decoded, kept. */
  readonly copy?: Uint8Array;
}

export interface PaddleStateDict {
  readonly protocol: number;
  readonly arrays: readonly PaddleArray[];
  /** `StructuredToParameterName@@`: structured name → parameter name, when the file has it. */
  readonly parameterNames: ReadonlyMap<string, string> | undefined;
  readonly leftOut: readonly { path: string; what: string }[];
  /** Why the file is an optimizer's state, or undefined. */
  readonly optimizer: string | undefined;
}

export const NAME_TABLE_KEY = 'StructuredToParameterName@@';
/** Keys of an optimizer's state dict that are not accumulators (python/paddle/optimizer/optimizer.py). */
const OPTIMIZER_KEYS = ['LR_Scheduler', 'master_weights'];
/** Accumulator names Paddle's optimizers give (`linear_0.w_0_moment1_0`, `…_beta1_pow_acc_0`, `…_velocity_0`). */
const ACCUMULATOR = /_(moment[12]?|beta[12]_pow_acc|velocity|mean_square|mean_grad|squared|linear|inf_norm)_\d+$/;

export async function readPaddleStateDict(source: ByteSource): Promise<PaddleStateDict> {
  if (source.size > MAX_PADDLE_PICKLE_BYTES) {
    throw new PaddleError('PaddleLimit', `${source.name}: the pickle is ${source.size} bytes, more than MAX_PADDLE_PICKLE_BYTES (${MAX_PADDLE_PICKLE_BYTES})`, { location: source.name });
  }
  const bytes = await source.read(0, source.size);
  // The machine's own errors (PickleError: a dangerous or unknown global, a damaged stream) propagate as they are.
  const result = unpickle(bytes, { where: source.name, handlers: paddleHandlers() });
  const others = [...result.globals].filter((g) => !PADDLE_GLOBALS.has(g));
  if (others.length > 0) {
    throw new PaddleError('InvalidPaddle', `${source.name}: the pickle names ${others.map(show).join(', ')}; paddle.save's pickles name numpy's array reconstruction only`, { location: source.name });
  }
  const root = result.value;
  if (!(root instanceof PyDict)) throw new PaddleError('InvalidPaddle', `${source.name}: the pickle is ${describe(root)}, not a dict of arrays as paddle.save writes it`, { location: source.name });
  const arrays: PaddleArray[] = [];
  const leftOut: { path: string; what: string }[] = [];
  let parameterNames: Map<string, string> | undefined;
  for (const [key, value] of root.entries()) {
    if (typeof key !== 'string') {
      leftOut.push({ path: String(describe(key)), what: `${describe(value)} under a key that is not a string` });
      continue;
    }
    if (key === NAME_TABLE_KEY && value instanceof PyDict) {
      parameterNames = new Map([...value.entries()].filter((e): e is [string, string] => typeof e[0] === 'string' && typeof e[1] === 'string'));
      leftOut.push({ path: key, what: `paddle's structured-name table: ${parameterNames.size} parameter names (metadata)` });
      continue;
    }
    // paddle.save of a Tensor on its own pickles it as (name, array).
    const array = value instanceof PyTuple && value.items.length === 2 && typeof value.items[0] === 'string' && value.items[1] instanceof NumpyArrayValue ? value.items[1] : value;
    if (!(array instanceof NumpyArrayValue)) {
      leftOut.push({ path: key, what: describe(value) });
      continue;
    }
    if (array.problem !== undefined || array.data === undefined) {
      throw new PaddleError('InvalidPaddle', `${source.name}: array ${show(key)}: ${array.problem ?? 'it was never given its state (no BUILD)'}`, { location: `${source.name}:${key}` });
    }
    if (arrays.length >= MAX_PADDLE_ARRAYS) throw new PaddleError('PaddleLimit', `${source.name}: more than MAX_PADDLE_ARRAYS (${MAX_PADDLE_ARRAYS}) arrays`, { location: source.name });
    const data = array.data;
    // A view of the file's bytes is read again from the file when streamed: the pickle's bytes are not kept.
    const inFile = data.buffer === bytes.buffer;
    arrays.push({
      name: key, shape: array.shape!, descr: array.dtype!.descr, fortran: array.fortran, byteLength: data.byteLength,
      ...(inFile ? { fileOffset: data.byteOffset - bytes.byteOffset } : { copy: data }),
    });
  }
  const keys = [...root.keys()].filter((k): k is string => typeof k === 'string');
  const marker = keys.find((k) => OPTIMIZER_KEYS.includes(k));
  const accumulator = keys.find((k) => ACCUMULATOR.test(k));
  const optimizer = marker !== undefined ? `it has ${show(marker)}` : accumulator !== undefined ? `${show(accumulator)} is an optimizer accumulator` : undefined;
  return { protocol: result.protocol, arrays, parameterNames, leftOut, optimizer };
}

/** Whether an error is the pickle machine's (kept as it is: its code says what was refused). */
export function isPickleError(e: unknown): e is PickleError {
  return e instanceof PickleError;
}
