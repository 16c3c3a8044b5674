import type { TensorEntry, TensorSet } from '../tensor/tensor-set.js';
import { compareCodePoints } from '../util/strings.js';
import { compareTensors, type TensorComparison, type TensorStatus, type VerifyRule } from './compare-tensors.js';

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
  const byA = new Map(a.tensors.map((t) => [t.name, t]));
  const byB = new Map(b.tensors.map((t) => [t.name, t]));
  const aliasB = aliases(b);
  const aliasA = aliases(a);
  const matchedB = new Set<string>();
  const tensors: TensorComparison[] = [];
  const pairs: [string, TensorEntry, string, TensorEntry | undefined][] = [];
  for (const t of a.tensors) {
    const direct = byB.get(t.name);
    const viaAlias = direct ? undefined : aliasB.get(t.name);
    const other = direct ?? (viaAlias ? byB.get(viaAlias) : undefined);
    const otherName = direct ? t.name : (viaAlias ?? t.name);
    if (other) matchedB.add(otherName);
    pairs.push([t.name, t, otherName, other]);
  }
  const total = pairs.length;
  let done = 0;
  for (const [name, t, otherName, other] of pairs) {
    onProgress?.({ done, total, tensor: name });
    if (!other) {
      tensors.push({ name, status: 'missing', dtype: [t.dtype, null], shape: [t.shape, null], reason: `in ${aName} but not in ${bName}` });
    } else {
      const c = await compareTensors(name, t, other, rule);
      tensors.push(otherName === name ? c : { ...c, matchedAs: otherName });
    }
    done++;
  }
  for (const t of b.tensors) {
    if (matchedB.has(t.name)) continue;
    // A tied name B kept whose partner A holds under the other name is matched already; one A records as removed is too.
    const keptInA = aliasA.get(t.name);
    if (keptInA !== undefined && byA.has(keptInA)) {
      const c = await compareTensors(t.name, byA.get(keptInA)!, t, rule);
      tensors.push({ ...c, name: keptInA, matchedAs: t.name });
      continue;
    }
    tensors.push({ name: t.name, status: 'extra', dtype: [null, t.dtype], shape: [null, t.shape], reason: `in ${bName} but not in ${aName}` });
  }
  onProgress?.({ done: total, total, tensor: '' });
  tensors.sort((x, y) => compareCodePoints(x.name, y.name));
  const summary: Record<TensorStatus, number> = { identical: 0, close: 0, different: 0, 'shape-mismatch': 0, 'dtype-mismatch': 0, missing: 0, extra: 0 };
  for (const t of tensors) summary[t.status]++;
  const ok = tensors.every((t) => t.status === 'identical' || t.status === 'close');
  return { a: aName, b: bName, rule, ok, summary, tensors };
}
