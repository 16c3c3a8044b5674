import { TensorsafeError } from '../errors.js';
import type { Dtype } from '../dtype/dtypes.js';
import { bf16ToF32, f16ToF32 } from '../dtype/float-codecs.js';
import { fmt } from '../tensor/compare-tensors.js';
import { MAX_RUN_OUTPUT_ELEMENTS, type RunnableModel, type RunValue } from '../tensor/runnable-model.js';
import { runInputs, type RunInputOptions } from './run-inputs.js';

/**
 * The behaviour check: the original model and the model with the converted weights, run in one runtime
 * on the same inputs; every output compared. Identical means bit for bit; with a tolerance, an output
 * whose largest absolute difference is within it is `close`. Floats also get the largest difference
 * in units in the last place (ulps: how many representable values apart), so one rounding step reads
 * as 1 whatever the magnitude.
 */

export type OutputStatus = 'identical' | 'close' | 'different' | 'shape-mismatch' | 'dtype-mismatch' | 'missing';

/** Whether an output is the same as the original's: identical, or within the tolerance. */
function outputHolds(o: OutputComparison): boolean {
  return o.status === 'identical' || o.status === 'close';
}

/** The outputs that are not (BehaviourChanged), by name. */
export function changedOutputs(r: { readonly outputs: readonly OutputComparison[] }): string[] {
  return r.outputs.filter((o) => !outputHolds(o)).map((o) => o.name);
}

export interface OutputComparison {
  readonly name: string;
  readonly status: OutputStatus;
  /** The original's and the rebuilt model's. */
  readonly dtype: readonly [Dtype | null, Dtype | null];
  readonly shape: readonly [readonly number[] | null, readonly number[] | null];
  /** Largest |a − b| (Infinity where one side is NaN or they are infinities of another sign); null when not compared. */
  readonly maxAbsDiff: number | null;
  /** Floats: largest distance in ulps; null for other dtypes or when not compared. */
  readonly maxUlps: number | null;
  /** Elements whose bits differ. */
  readonly differing: number;
  readonly elements: number;
}

export interface BehaviourReport {
  readonly original: string;
  readonly converted: string;
  readonly runtime: string;
  /** The seed of generated inputs; null when they were given. */
  readonly seed: number | null;
  readonly inputs: readonly { name: string; dtype: Dtype; shape: readonly number[] }[];
  readonly tolerance: number;
  readonly outputs: readonly OutputComparison[];
  /** Every output identical, or within the tolerance. */
  readonly ok: boolean;
  /** `BehaviourChanged` when not ok: the code of the failed check, for scripts reading --json. */
  readonly code?: 'BehaviourChanged';
}

export interface BehaviourOptions extends RunInputOptions {
  /** Largest absolute difference an output may have and still count as the same (default 0: bit for bit). */
  readonly tolerance?: number;
}

/** Runs both models on the same inputs and compares every output of the original with the rebuilt one's. */
export async function checkBehaviour(names: { original: string; converted: string }, original: RunnableModel, rebuilt: RunnableModel, options: BehaviourOptions = {}): Promise<BehaviourReport> {
  const inputs = await runInputs(original.inputs, options);
  const a = await original.run(inputs);
  const b = await rebuilt.run(inputs);
  const tolerance = options.tolerance ?? 0;
  const outputs = a.map((x) => compareOutput(x, b.find((y) => y.name === x.name), tolerance));
  const ok = outputs.every(outputHolds);
  return {
    original: names.original,
    converted: names.converted,
    runtime: original.runtime,
    seed: options.given ? null : (options.seed ?? 0),
    inputs: inputs.map((i) => ({ name: i.name, dtype: i.dtype, shape: i.shape })),
    tolerance,
    outputs,
    ok,
    ...(ok ? {} : { code: 'BehaviourChanged' as const }),
  };
}

export function compareOutput(a: RunValue, b: RunValue | undefined, tolerance: number): OutputComparison {
  const elements = a.shape.reduce((x, y) => x * y, 1);
  const base = { name: a.name, dtype: [a.dtype, b?.dtype ?? null] as const, shape: [a.shape, b?.shape ?? null] as const, elements };
  const none = { maxAbsDiff: null, maxUlps: null, differing: 0 };
  if (!b) return { ...base, ...none, status: 'missing' };
  if (a.dtype !== b.dtype) return { ...base, ...none, status: 'dtype-mismatch' };
  if (a.shape.join(',') !== b.shape.join(',')) return { ...base, ...none, status: 'shape-mismatch' };
  if (elements > MAX_RUN_OUTPUT_ELEMENTS) throw new TensorsafeError('RunLimit', `output ${JSON.stringify(a.name)} has ${elements} elements, more than MAX_RUN_OUTPUT_ELEMENTS (${MAX_RUN_OUTPUT_ELEMENTS}) to compare`, { location: a.name });
  const d = differences(a.dtype, a.data, b.data, elements);
  const status: OutputStatus = d.differing === 0 ? 'identical' : d.maxAbsDiff <= tolerance ? 'close' : 'different';
  return { ...base, status, maxAbsDiff: d.maxAbsDiff, maxUlps: d.maxUlps, differing: d.differing };
}

interface Differences {
  maxAbsDiff: number;
  maxUlps: number | null;
  differing: number;
}

/** Elements whose bits differ, the largest absolute difference, and for floats the largest ulp distance. */
function differences(dtype: Dtype, a: Uint8Array, b: Uint8Array, n: number): Differences {
  const va = new DataView(a.buffer, a.byteOffset, a.byteLength);
  const vb = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: Differences = { maxAbsDiff: 0, maxUlps: isFloat(dtype) ? 0 : null, differing: 0 };
  const width = a.byteLength / Math.max(1, n);
  for (let i = 0; i < n; i++) {
    const o = i * width;
    let same = true;
    for (let k = 0; k < width; k++) if (a[o + k] !== b[o + k]) same = false;
    if (same) continue;
    out.differing++;
    const [x, y, ulps] = values(dtype, va, vb, o);
    const diff = Number.isNaN(x) || Number.isNaN(y) ? (Number.isNaN(x) && Number.isNaN(y) ? 0 : Infinity) : x === y ? 0 : Math.abs(x - y);
    if (diff > out.maxAbsDiff || Number.isNaN(diff)) out.maxAbsDiff = Number.isNaN(diff) ? Infinity : diff;
    if (ulps !== null && out.maxUlps !== null && ulps > out.maxUlps) out.maxUlps = ulps;
  }
  return out;
}

function isFloat(dtype: Dtype): boolean {
  return dtype === 'F32' || dtype === 'F64' || dtype === 'F16' || dtype === 'BF16';
}

/** The two values at byte `o` as numbers, and for floats their distance in ulps. */
function values(dtype: Dtype, a: DataView, b: DataView, o: number): [number, number, number | null] {
  switch (dtype) {
    case 'F32': {
      const [x, y] = [a.getUint32(o, true), b.getUint32(o, true)];
      return [a.getFloat32(o, true), b.getFloat32(o, true), Math.abs(ordered(x, 0x80000000) - ordered(y, 0x80000000))];
    }
    case 'F16':
    case 'BF16': {
      const [x, y] = [a.getUint16(o, true), b.getUint16(o, true)];
      const decode = dtype === 'F16' ? f16ToF32 : bf16ToF32;
      return [decode(x), decode(y), Math.abs(ordered(x, 0x8000) - ordered(y, 0x8000))];
    }
    case 'F64': {
      const [x, y] = [a.getBigUint64(o, true), b.getBigUint64(o, true)];
      const ord = (v: bigint): bigint => (v >= 1n << 63n ? -(v - (1n << 63n)) : v);
      const d = ord(x) - ord(y);
      return [a.getFloat64(o, true), b.getFloat64(o, true), Number(d < 0n ? -d : d)];
    }
    case 'I64':
      return [Number(a.getBigInt64(o, true)), Number(b.getBigInt64(o, true)), null];
    case 'U64':
      return [Number(a.getBigUint64(o, true)), Number(b.getBigUint64(o, true)), null];
    case 'I32':
      return [a.getInt32(o, true), b.getInt32(o, true), null];
    case 'U32':
      return [a.getUint32(o, true), b.getUint32(o, true), null];
    case 'I16':
      return [a.getInt16(o, true), b.getInt16(o, true), null];
    case 'U16':
      return [a.getUint16(o, true), b.getUint16(o, true), null];
    case 'I8':
      return [a.getInt8(o), b.getInt8(o), null];
    default:
      return [a.getUint8(o), b.getUint8(o), null];
  }
}

/** Sign-magnitude float bits as a position on one line: adjacent floats are 1 apart, +0 and −0 both 0. */
function ordered(bits: number, sign: number): number {
  return bits >= sign ? -(bits - sign) : bits;
}

/** `identical`, `within tolerance (max abs diff 1e-7, 1 ulp)`, `different: max abs diff …`, or what does not match. */
export function describeOutput(o: OutputComparison): string {
  const diff = (): string => `max abs diff ${fmt(o.maxAbsDiff ?? 0)}${o.maxUlps !== null ? `, ${o.maxUlps} ulp${o.maxUlps === 1 ? '' : 's'}` : ''}, ${o.differing} of ${o.elements} elements differ`;
  switch (o.status) {
    case 'identical':
      return 'identical';
    case 'close':
      return `within tolerance (${diff()})`;
    case 'different':
      return `different: ${diff()}`;
    case 'missing':
      return 'missing: the model with the converted weights does not give it';
    case 'dtype-mismatch':
      return `dtype mismatch: ${o.dtype[0]} against ${o.dtype[1]}`;
    case 'shape-mismatch':
      return `shape mismatch: [${o.shape[0]?.join(', ')}] against [${o.shape[1]?.join(', ')}]`;
  }
}

/** The report's lines, as `verify --run` prints them. */
export function behaviourLines(r: BehaviourReport): string[] {
  const inputs = r.inputs.map((i) => `${i.name} ${i.dtype} [${i.shape.join(', ')}]`).join(', ');
  const lines = [`behaviour in ${r.runtime}, ${r.seed === null ? 'given inputs' : `inputs generated with seed ${r.seed}`}: ${inputs}${r.tolerance > 0 ? ` (tolerance ${r.tolerance})` : ''}`];
  for (const o of r.outputs) lines.push(`  ${outputHolds(o) ? '✓' : '✗'} ${o.name} ${o.dtype[0]} [${o.shape[0]?.join(', ')}]: ${describeOutput(o)}`);
  lines.push(r.ok ? `✓ behaves the same: ${r.outputs.length} output${r.outputs.length === 1 ? '' : 's'} ${r.tolerance > 0 ? 'within tolerance' : 'identical'}` : `✗ behaviour changed (BehaviourChanged): ${changedOutputs(r).join(', ')}`);
  return lines;
}

/** The report as a Markdown section, after verify's own. */
export function behaviourMarkdown(r: BehaviourReport): string {
  const lines = [`### ${r.ok ? '✅ behaves the same' : '❌ behaviour changed'} in ${r.runtime}`, '', `Inputs: ${r.seed === null ? 'given' : `generated with seed ${r.seed}`}${r.tolerance > 0 ? `; tolerance ${r.tolerance}` : ''}.`, '', '| output | dtype | shape | status | max abs diff | max ulps | differing |', '|---|---|---|---|---|---|---|'];
  for (const o of r.outputs) lines.push(`| \`${o.name}\` | ${o.dtype[0]} | [${o.shape[0]?.join(', ')}] | ${o.status} | ${o.maxAbsDiff === null ? '–' : fmt(o.maxAbsDiff)} | ${o.maxUlps ?? '–'} | ${o.differing} / ${o.elements} |`);
  return lines.join('\n');
}
