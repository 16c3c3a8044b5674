import { DTYPE_INFO, type Dtype } from '../dtype/dtypes.js';
import { originOf } from '../io/byte-source.js';
import { firstDifference } from './compare-bytes.js';
import type { TensorEntry } from './tensor-set.js';
import { valuesOf } from './values.js';

/** How two tensors must agree: bit for bit (the default), or elementwise |a − b| ≤ atol + rtol·|b|. */
export interface VerifyRule {
  atol: number;
  rtol: number;
  /** Compare values across dtypes (F32 against BF16, say) instead of calling a dtype change a mismatch. */
  allowDtypeChange: boolean;
}

export const BIT_EXACT: VerifyRule = { atol: 0, rtol: 0, allowDtypeChange: false };

export type TensorStatus = 'identical' | 'close' | 'different' | 'shape-mismatch' | 'dtype-mismatch' | 'missing' | 'extra';

/** Elementwise statistics of two tensors' values. */
export interface ValueStats {
  /** Values compared (C64: two per element). */
  values: number;
  /** Values outside the tolerance (or disagreeing on NaN or infinity). */
  mismatched: number;
  maxAbsError: number;
  maxRelError: number;
  /** Cosine similarity of the two as vectors (1 when equal; NaN when either is all zero or holds NaN). */
  cosine: number;
  /** NaN in A, NaN in B, and positions where only one is NaN. */
  nanA: number;
  nanB: number;
  nanMismatch: number;
  /** Positions where the infinities differ (one infinite and the other not, or opposite signs). */
  infMismatch: number;
}

export interface TensorComparison {
  /** The name in A (or in B for `extra`). */
  name: string;
  /** The name matched in B when it differs (a tied name removed in B). */
  matchedAs?: string;
  status: TensorStatus;
  dtype: [Dtype | null, Dtype | null];
  shape: [readonly number[] | null, readonly number[] | null];
  stats?: ValueStats;
  /** Why it does not match, for people. */
  reason?: string;
}

export interface CompareTensorsOptions {
  /** Chunk size of the byte comparison (default DEFAULT_CHUNK_BYTES). */
  chunkBytes?: number;
  /**
   * Read both again for value statistics when their bytes differ (default true). A bit-for-bit check
   * that only needs to know where they differ (convert's check of its output) skips that second read.
   */
  valueStats?: boolean;
}

/** Elements per step when two tensors are read side by side: a multiple of 4 so that F4 and F6 chunks are whole bytes. */
export const VERIFY_CHUNK_ELEMENTS = 1 << 20;

/**
 * Compares two tensors under a rule, streaming both in bounded chunks: bytes first (identical is the
 * common case and memcmp-fast), values only when they differ or when dtypes differ.
 */
export async function compareTensors(name: string, a: TensorEntry, b: TensorEntry, rule: VerifyRule, options: CompareTensorsOptions = {}): Promise<TensorComparison> {
  const base = { name, dtype: [a.dtype, b.dtype] as [Dtype, Dtype], shape: [a.shape, b.shape] as [readonly number[], readonly number[]] };
  if (a.shape.join(',') !== b.shape.join(',')) {
    return { ...base, status: 'shape-mismatch', reason: `shape [${a.shape.join(', ')}] against [${b.shape.join(', ')}]` };
  }
  const sameDtype = a.dtype === b.dtype;
  if (!sameDtype && !rule.allowDtypeChange) {
    return { ...base, status: 'dtype-mismatch', reason: `${a.dtype} against ${b.dtype} (compare values with --allow-dtype-change)` };
  }
  if (sameDtype && sameStoredBytes(a, b)) return { ...base, status: 'identical' };
  const at = sameDtype ? await firstDifference(a.chunks(options.chunkBytes), b.chunks(options.chunkBytes)) : -1;
  if (sameDtype && at < 0) return { ...base, status: 'identical' };
  if (sameDtype && options.valueStats === false) return { ...base, status: 'different', reason: `bytes differ from byte ${at} on` };
  const stats = await valueStats(a, b, rule);
  const exact = rule.atol === 0 && rule.rtol === 0;
  if (stats.mismatched === 0 && !(exact && sameDtype)) return { ...base, status: 'close', stats };
  const reason =
    stats.mismatched === 0
      ? 'the bytes differ (values equal as numbers: -0 against 0, or NaN payloads)'
      : `${stats.mismatched} of ${stats.values} values differ${exact ? '' : ` beyond atol ${rule.atol} + rtol ${rule.rtol}·|b|`}; max abs error ${fmt(stats.maxAbsError)}, max rel error ${fmt(stats.maxRelError)}, cosine ${fmt(stats.cosine)}`;
  return { ...base, status: 'different', stats, reason };
}

/**
 * Whether two tensors are the same bytes of the same source (an output the web page assembled from
 * the dropped file's own bytes, against that file): equal by construction, so nothing is read.
 */
function sameStoredBytes(a: TensorEntry, b: TensorEntry): boolean {
  if (a.stored === undefined || b.stored === undefined || a.byteLength !== b.byteLength) return false;
  const x = originOf(a.stored.source, a.stored.offset, a.byteLength);
  const y = originOf(b.stored.source, b.stored.offset, b.byteLength);
  return x.source === y.source && x.offset === y.offset;
}

/** Reads both tensors side by side, VERIFY_CHUNK_ELEMENTS at a time, and accumulates the statistics. */
async function valueStats(a: TensorEntry, b: TensorEntry, rule: VerifyRule): Promise<ValueStats> {
  const bytesPer = (e: TensorEntry): number => (VERIFY_CHUNK_ELEMENTS * DTYPE_INFO[e.dtype].bits) / 8;
  const ia = a.chunks(bytesPer(a))[Symbol.asyncIterator]();
  const ib = b.chunks(bytesPer(b))[Symbol.asyncIterator]();
  const s: ValueStats = { values: 0, mismatched: 0, maxAbsError: 0, maxRelError: 0, cosine: NaN, nanA: 0, nanB: 0, nanMismatch: 0, infMismatch: 0 };
  let dot = 0;
  let na = 0;
  let nb = 0;
  try {
    for (;;) {
      const [ra, rb] = await Promise.all([ia.next(), ib.next()]);
      if (ra.done || rb.done) break;
      const va = valuesOf(a.dtype, ra.value);
      const vb = valuesOf(b.dtype, rb.value);
      const n = Math.min(va.length, vb.length);
      for (let i = 0; i < n; i++) {
        const x = va[i]!;
        const y = vb[i]!;
        const xNaN = x !== x;
        const yNaN = y !== y;
        if (xNaN) s.nanA++;
        if (yNaN) s.nanB++;
        if (xNaN || yNaN) {
          if (xNaN !== yNaN) {
            s.nanMismatch++;
            s.mismatched++;
          }
          continue;
        }
        if (!Number.isFinite(x) || !Number.isFinite(y)) {
          if (x !== y) {
            s.infMismatch++;
            s.mismatched++;
          }
          continue;
        }
        const diff = Math.abs(x - y);
        if (diff > rule.atol + rule.rtol * Math.abs(y)) s.mismatched++;
        if (diff > s.maxAbsError) s.maxAbsError = diff;
        if (y !== 0 && diff / Math.abs(y) > s.maxRelError) s.maxRelError = diff / Math.abs(y);
        dot += x * y;
        na += x * x;
        nb += y * y;
      }
      s.values += n;
    }
  } finally {
    await ia.return?.();
    await ib.return?.();
  }
  s.cosine = na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : na === 0 && nb === 0 && s.nanA === 0 && s.nanB === 0 ? 1 : NaN;
  return s;
}

export function fmt(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === 0) return '0';
  return Math.abs(x) >= 1e-3 && Math.abs(x) < 1e4 ? x.toPrecision(6).replace(/\.?0+$/, '') : x.toExponential(3);
}
