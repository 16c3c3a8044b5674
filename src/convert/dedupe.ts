import { compareCodePoints } from '../util/strings.js';
import type { TensorEntry } from '../tensor/tensor-set.js';

/** The result of removing tied duplicates: what is written, and each removed name → the name kept. */
export interface Deduplicated {
  readonly kept: TensorEntry[];
  readonly removed: Map<string, string>;
}

/**
 * safetensors cannot alias: names that are the same view of the same storage (tied weights) are
 * written once. As the reference converter does, the alphabetically first name is kept and each
 * removed name is recorded as `removed → kept`. Different views of one storage are not aliases.
 */
export function dedupeTensors(entries: readonly TensorEntry[]): Deduplicated {
  const groups = new Map<string, TensorEntry[]>();
  const kept: TensorEntry[] = [];
  for (const e of entries) {
    if (e.aliasKey === undefined || e.byteLength === 0) {
      kept.push(e);
      continue;
    }
    const group = groups.get(e.aliasKey);
    if (group) group.push(e);
    else groups.set(e.aliasKey, [e]);
  }
  const removed = new Map<string, string>();
  for (const group of groups.values()) {
    const sorted = [...group].sort((a, b) => compareCodePoints(a.name, b.name));
    kept.push(sorted[0]!);
    for (const e of sorted.slice(1)) removed.set(e.name, sorted[0]!.name);
  }
  const order = new Map(entries.map((e, i) => [e, i]));
  kept.sort((a, b) => order.get(a)! - order.get(b)!);
  return { kept, removed };
}
