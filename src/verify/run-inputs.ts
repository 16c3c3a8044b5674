import { TensorsafeError } from '../errors.js';
import { listed } from '../util/strings.js';
import { DTYPE_INFO, type Dtype } from '../dtype/dtypes.js';
import { f32ToF16, f32ToBf16 } from '../dtype/float-codecs.js';
import { MAX_RUN_INPUT_ELEMENTS, type RunInputSpec, type RunValue } from '../tensor/runnable-model.js';
import { readEntry, type TensorSet } from '../tensor/tensor-set.js';

/**
 * The inputs of a behaviour check, the same for the original and the converted model: generated from
 * the graph's input specs with a seeded generator (the same seed, the same inputs, on every machine),
 * or given (an npz's arrays, by input name) and checked against the specs.
 *
 * Generated values: floats uniform in [-1, 1) (rounded to the input's float type), integers uniform in
 * [0, GENERATED_INT_RANGE) (small enough to be indices and counts in most graphs), booleans 0 or 1.
 * An open dimension is `dims[name]` when given (a named one, `batch`; any one as `<input>:<axis>`,
 * `x:0`), else 1.
 */

/** Integers generated for integer inputs are in [0, GENERATED_INT_RANGE). */
export const GENERATED_INT_RANGE = 4;
/** The seed when none is given. */
export const DEFAULT_RUN_SEED = 0;
/** Names an InputMismatch message lists, at most: an npz of a whole model's weights given as inputs must not make a page. */
export const MAX_NAMES_IN_INPUT_MESSAGE = 10;

export interface RunInputOptions {
  /** Seed of the generator (a 32-bit integer). */
  readonly seed?: number;
  /** Sizes of open dimensions: named ones by name (`batch` → 2), any one as `<input>:<axis>` (`x:0` → 2). */
  readonly dims?: Readonly<Record<string, number>>;
  /** Given inputs (an npz's arrays), by input name, instead of generated ones. */
  readonly given?: TensorSet;
  /** For messages: where the given inputs come from. */
  readonly givenName?: string;
}

/** The values to run the model on, one per input spec. */
export async function runInputs(specs: readonly RunInputSpec[], options: RunInputOptions = {}): Promise<RunValue[]> {
  const dims = options.dims ?? {};
  const named = new Set(specs.flatMap((s) => s.shape.filter((d): d is string => typeof d === 'string')));
  const open = new Set(specs.flatMap((s) => s.shape.flatMap((d, i) => (typeof d === 'number' ? [] : [`${s.name}:${i}`]))));
  for (const name of Object.keys(dims)) {
    if (!named.has(name) && !open.has(name)) {
      const known = [...named, ...open];
      throw new TensorsafeError('InputMismatch', `--dim ${name}: the model has no open dimension ${JSON.stringify(name)} (${known.length ? `its open dimensions: ${known.join(', ')}` : 'it has none'})`);
    }
  }
  if (options.given) return givenInputs(specs, options.given, options.givenName ?? 'the inputs', dims);
  const next = generator(options.seed ?? DEFAULT_RUN_SEED);
  return specs.map((s) => {
    const shape = s.shape.map((_, i) => sizeOf(s, i, dims) ?? 1);
    const count = elements(s.name, shape);
    return { name: s.name, dtype: s.dtype, shape, data: generated(s.dtype, count, next, s.name) };
  });
}

/** An axis's size: the spec's own, else `--dim <input>:<axis>`, else `--dim <name>` for a named one; undefined when open and not given. */
function sizeOf(s: RunInputSpec, axis: number, dims: Readonly<Record<string, number>>): number | undefined {
  const d = s.shape[axis];
  return typeof d === 'number' ? d : (dims[`${s.name}:${axis}`] ?? (typeof d === 'string' ? dims[d] : undefined));
}

function elements(name: string, shape: readonly number[]): number {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count > MAX_RUN_INPUT_ELEMENTS) throw new TensorsafeError('RunLimit', `input ${JSON.stringify(name)} of shape [${shape.join(', ')}] has ${count} elements, more than MAX_RUN_INPUT_ELEMENTS (${MAX_RUN_INPUT_ELEMENTS})`, { location: name });
  return count;
}

/** mulberry32: a small, fast 32-bit generator; enough for test inputs, and the same everywhere. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generated(dtype: Dtype, count: number, next: () => number, name: string): Uint8Array {
  const float = (): number => next() * 2 - 1;
  const int = (): number => Math.floor(next() * GENERATED_INT_RANGE);
  const bytes = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  switch (dtype) {
    case 'F32':
      return bytes(Float32Array.from({ length: count }, float));
    case 'F64':
      return bytes(Float64Array.from({ length: count }, float));
    case 'F16':
      return bytes(Uint16Array.from({ length: count }, () => f32ToF16(float())));
    case 'BF16':
      return bytes(Uint16Array.from({ length: count }, () => f32ToBf16(float())));
    case 'BOOL':
      return Uint8Array.from({ length: count }, () => (next() < 0.5 ? 0 : 1));
    case 'I64':
    case 'U64':
      return bytes(BigInt64Array.from({ length: count }, () => BigInt(int())));
    case 'I8':
    case 'U8':
    case 'I16':
    case 'U16':
    case 'I32':
    case 'U32': {
      const a = new DTYPE_INFO[dtype].array(count) as Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array;
      for (let i = 0; i < count; i++) a[i] = int();
      return bytes(a);
    }
    default:
      throw new TensorsafeError('RunUnsupported', `input ${JSON.stringify(name)} is ${dtype}, a type the behaviour check does not generate (give it with --inputs)`, { location: name });
  }
}

/** Given arrays, one per input by name, each of the input's dtype and of a shape its spec allows. */
async function givenInputs(specs: readonly RunInputSpec[], given: TensorSet, from: string, dims: Readonly<Record<string, number>>): Promise<RunValue[]> {
  const byName = new Map(given.tensors.map((t) => [t.name, t]));
  const wanted = new Set(specs.map((s) => s.name));
  const unknown = [...byName.keys()].filter((n) => !wanted.has(n));
  if (unknown.length > 0) throw new TensorsafeError('InputMismatch', `${from}: ${listed(unknown.map((n) => JSON.stringify(n)), MAX_NAMES_IN_INPUT_MESSAGE)} ${unknown.length === 1 ? 'is not an input' : 'are not inputs'} of the model (its inputs: ${listed(specs.map((s) => s.name), MAX_NAMES_IN_INPUT_MESSAGE)})`, { location: from });
  const out: RunValue[] = [];
  for (const s of specs) {
    const t = byName.get(s.name);
    const want = `${s.dtype} [${s.shape.map((d) => d ?? '?').join(', ')}]`;
    if (!t) throw new TensorsafeError('InputMismatch', `${from}: no array for input ${JSON.stringify(s.name)} (${want})`, { location: from });
    const fits = t.shape.length === s.shape.length && s.shape.every((_, i) => {
      const want = sizeOf(s, i, dims);
      return want === undefined || want === t.shape[i];
    });
    if (t.dtype !== s.dtype || !fits) throw new TensorsafeError('InputMismatch', `${from}: array ${JSON.stringify(s.name)} is ${t.dtype} [${t.shape.join(', ')}], but the model's input is ${want}`, { location: from });
    elements(s.name, t.shape);
    out.push({ name: s.name, dtype: s.dtype, shape: [...t.shape], data: await readEntry(t) });
  }
  return out;
}
