/**
 * Tensor names from checkpoint keys. TF2 checkpoints (tf.train.Checkpoint, Keras save_weights, SavedModel
 * variables) key each variable by its path in the object graph plus `/.ATTRIBUTES/VARIABLE_VALUE`
 * (`model/layer-1/kernel/.ATTRIBUTES/VARIABLE_VALUE`): the suffix is dropped (`model/layer-1/kernel`).
 * TF1 keys (`dense/kernel`) are kept as they are. When dropping the suffix would give a name another
 * variable has (a TF1-style key `a` beside `a/.ATTRIBUTES/VARIABLE_VALUE`), the suffixed one keeps its
 * whole key, so names stay unique and each names the variable TensorFlow would restore.
 */

export const VARIABLE_SUFFIX = '/.ATTRIBUTES/VARIABLE_VALUE';
/** The string tensor holding the TrackableObjectGraph. */
export const OBJECT_GRAPH_KEY = '_CHECKPOINTABLE_OBJECT_GRAPH';

/** Keys that are training state, not the model: optimizer slots (`…/.OPTIMIZER_SLOT/…`), the optimizer's own variables, the save counter. */
export function trainingState(key: string): string | undefined {
  if (key.includes('/.OPTIMIZER_SLOT/')) return 'an optimizer slot variable (training state)';
  if (key.startsWith('optimizer/')) return "the optimizer's state (training state)";
  if (key === 'save_counter/.ATTRIBUTES/VARIABLE_VALUE' || key === 'save_counter') return "the checkpoint's save counter";
  return undefined;
}

/** Readable names for `keys`, in order, unique; and the keys that kept their suffix because of a collision. */
export function readableNames(keys: readonly string[]): { names: string[]; kept: string[] } {
  const short = keys.map((k) => (k.endsWith(VARIABLE_SUFFIX) && k.length > VARIABLE_SUFFIX.length ? k.slice(0, -VARIABLE_SUFFIX.length) : k));
  const counts = new Map<string, number>();
  for (const s of short) counts.set(s, (counts.get(s) ?? 0) + 1);
  const kept: string[] = [];
  const names = short.map((s, i) => {
    if (counts.get(s)! > 1 && s !== keys[i]) {
      kept.push(keys[i]!);
      return keys[i]!;
    }
    return s;
  });
  return { names, kept };
}
