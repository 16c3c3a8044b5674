import { compareTensors, type TensorComparison, type VerifyRule } from './compare-tensors.js';
import type { TensorEntry } from './tensor-set.js';

/**
 * The one comparison of two tensor sets, used by `verify` (two models, under a tolerance) and by
 * `convert` (its output against its source, bit for bit, while the output is being written).
 */
export interface CompareSetsOptions {
  /**
   * Names of A that B holds under another name: `removed → kept` (tied weights B wrote once). A's
   * tensor is looked for in B under the kept name only; a B tensor that no A name leads to is extra.
   */
  renamedInB?: ReadonlyMap<string, string>;
  /** The same for A: a B tensor no A name leads to is compared with A's kept tensor when A recorded it as removed. */
  renamedInA?: ReadonlyMap<string, string>;
  /** Names of A and B in the reasons of `missing` and `extra` (default `A` and `B`). */
  labels?: readonly [string, string];
  /** Pairs compared at once: with 2, one pair's reads overlap the other's comparison. Default 1. */
  concurrency?: number;
  chunkBytes?: number;
  /** See CompareTensorsOptions.valueStats. */
  valueStats?: boolean;
  /**
   * Resolves when B's tensor `name` can be read (its bytes are written): to compare while B is being
   * written. Pairs are then compared in the order of B's tensors.
   */
  ready?: (name: string) => Promise<void>;
  /** Before each pair (in A's order, with concurrency 1), and once at the end with `tensor: ''`. */
  onProgress?: (p: { done: number; total: number; tensor: string }) => void;
}

/**
 * Compares every tensor of A with the tensor of B of the same name (or the name B kept for it), under
 * `rule`, streaming both in bounded chunks. Returns A's tensors in A's order (`missing` when B lacks
 * one), then B's tensors that no A name leads to (`extra`, or matched through `renamedInA`).
 */
export async function compareSets(a: readonly TensorEntry[], b: readonly TensorEntry[], rule: VerifyRule, options: CompareSetsOptions = {}): Promise<TensorComparison[]> {
  const [labelA, labelB] = options.labels ?? ['A', 'B'];
  const byA = new Map(a.map((t) => [t.name, t]));
  const byB = new Map(b.map((t) => [t.name, t]));
  const nameInB = (name: string): string => options.renamedInB?.get(name) ?? name;
  const matchedB = new Set(a.map((t) => nameInB(t.name)));
  const compareOptions = { chunkBytes: options.chunkBytes, valueStats: options.valueStats };
  const compare = async (t: TensorEntry): Promise<TensorComparison> => {
    const otherName = nameInB(t.name);
    const other = byB.get(otherName);
    if (!other) return { name: t.name, status: 'missing', dtype: [t.dtype, null], shape: [t.shape, null], reason: `in ${labelA} but not in ${labelB}` };
    if (options.ready) await options.ready(otherName);
    const c = await compareTensors(t.name, t, other, rule, compareOptions);
    return otherName === t.name ? c : { ...c, matchedAs: otherName };
  };

  const order = a.map((_, i) => i);
  if (options.ready) {
    // While B is being written, follow the writer: pairs in the order B's tensors sit in it.
    const position = new Map(b.map((t, i) => [t.name, i]));
    const at = (i: number): number => position.get(nameInB(a[i]!.name)) ?? -1;
    order.sort((x, y) => at(x) - at(y));
  }
  const results: TensorComparison[] = new Array(a.length);
  let next = 0;
  let done = 0;
  const lane = async (): Promise<void> => {
    while (next < order.length) {
      const i = order[next++]!;
      options.onProgress?.({ done, total: a.length, tensor: a[i]!.name });
      results[i] = await compare(a[i]!);
      done++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, options.concurrency ?? 1), a.length) }, lane));
  options.onProgress?.({ done: a.length, total: a.length, tensor: '' });

  for (const t of b) {
    if (matchedB.has(t.name)) continue;
    // A tied name B kept whose partner A holds under the other name: A recorded the removal.
    const keptInA = options.renamedInA?.get(t.name);
    const partner = keptInA === undefined ? undefined : byA.get(keptInA);
    if (partner) {
      const c = await compareTensors(keptInA!, partner, t, rule, compareOptions);
      results.push({ ...c, name: keptInA!, matchedAs: t.name });
      continue;
    }
    results.push({ name: t.name, status: 'extra', dtype: [null, t.dtype], shape: [null, t.shape], reason: `in ${labelB} but not in ${labelA}` });
  }
  return results;
}
