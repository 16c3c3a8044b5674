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

/** The last segment of a TF1 optimizer's slot variables (`dense/kernel/Adam_1`), as tf.compat.v1.train optimizers name them. */
const TF1_SLOT = /\/(Adam(_1)?|Momentum|RMSProp(_1)?|Adagrad|AdagradDA|Adadelta(_1)?|Ftrl(_1)?|ProximalAdagrad)$/;
/** TF1 optimizers' and trainers' own variables. */
const TF1_STATE = new Set(['beta1_power', 'beta2_power', 'global_step']);

/**
 * Keys that are training state, not the model: TF2 optimizer slots (`…/.OPTIMIZER_SLOT/…`), the
 * optimizer's own variables (`optimizer/…`), the save counter; TF1 optimizer slots (`…/Adam`,
 * `…/Adam_1`, `…/Momentum`, …), `beta1_power`, `beta2_power` and `global_step`.
 */
export function trainingState(key: string): string | undefined {
  if (key.includes('/.OPTIMIZER_SLOT/') || TF1_SLOT.test(key)) return 'an optimizer slot variable (training state)';
  if (key.startsWith('optimizer/') || key === 'beta1_power' || key === 'beta2_power') return "the optimizer's state (training state)";
  if (key === 'save_counter/.ATTRIBUTES/VARIABLE_VALUE' || key === 'save_counter') return "the checkpoint's save counter";
  if (TF1_STATE.has(key)) return 'the training step counter';
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
