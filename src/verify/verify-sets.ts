import { compareSets } from '../tensor/compare-sets.js';
import type { TensorComparison, TensorStatus, VerifyRule } from '../tensor/compare-tensors.js';
import type { TensorSet } from '../tensor/tensor-set.js';
import { compareCodePoints } from '../util/strings.js';

export interface VerifyReport {
  a: string;
  b: string;
  rule: VerifyRule;
  /** Every tensor matches under the rule, and neither side has one the other lacks. */
  ok: boolean;
  summary: Record<TensorStatus, number>;
  /** Every tensor, in name order. */
  tensors: TensorComparison[];
}

export interface VerifyProgress {
  done: number;
  total: number;
  tensor: string;
}

/**
 * Tied names a set wrote once: `removed → kept` entries of its metadata (as converters record them),
 * and names that are the same view of one storage in a checkpoint.
 */
function aliases(set: TensorSet): Map<string, string> {
  const names = new Set(set.tensors.map((t) => t.name));
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(set.metadata ?? {})) if (!names.has(k) && names.has(v)) out.set(k, v);
  return out;
}

/**
 * Compares two tensor sets tensor by tensor, matching names directly or through the tied-weight
 * records of either side: A's `lm_head.weight` is B's `transformer.wte.weight` when B recorded the
 * removal. Streams every pair in bounded chunks.
 */
export async function verifySets(aName: string, a: TensorSet, bName: string, b: TensorSet, rule: VerifyRule, onProgress?: (p: VerifyProgress) => void): Promise<VerifyReport> {
  const tensors = await compareSets(a.tensors, b.tensors, rule, { renamedInB: aliases(b), renamedInA: aliases(a), labels: [aName, bName], onProgress });
  tensors.sort((x, y) => compareCodePoints(x.name, y.name));
  const summary: Record<TensorStatus, number> = { identical: 0, close: 0, different: 0, 'shape-mismatch': 0, 'dtype-mismatch': 0, missing: 0, extra: 0 };
  for (const t of tensors) summary[t.status]++;
  const ok = tensors.every((t) => t.status === 'identical' || t.status === 'close');
  return { a: aName, b: bName, rule, ok, summary, tensors };
}
