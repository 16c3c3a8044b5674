import { TensorsafeError } from '../errors.js';

/**
 * Which tensor of a file sets which weight of a tfjs model. A weight is known by its `originalName`
 * (`dense/kernel`): what tfjs's own model.save and loadWeights use, what tensorsafe's TF.js reader keeps
 * and what saveWeights writes; not its `name`, to which tfjs adds `_1`, `_2` when another model of the
 * process already has that name. A tensor name matches it:
 * - as it is, or with a trailing `:0` (TensorFlow and Keras 2 variable names, `dense/kernel:0`);
 * - for layers whose name tfjs generated (`dense_Dense3`: snake_case of the class, the class, a counter
 *   shared by the whole process), by their order among the generated names of that class on each side:
 *   a model built twice in one process names its first Dense layer `dense_Dense1`, then `dense_Dense3`.
 */

/** A generated layer name: `dense_Dense3`, `batch_normalization_BatchNormalization1`, `conv2d_Conv2D2`. */
const GENERATED = /^([a-z0-9_]+)_([A-Z][A-Za-z0-9]*?)(\d+)$/;

function generated(segment: string): { cls: string; counter: number } | undefined {
  const m = GENERATED.exec(segment);
  if (!m || m[1]!.replace(/_/g, '') !== m[2]!.toLowerCase()) return undefined;
  return { cls: m[2]!, counter: Number(m[3]) };
}

/**
 * The matching key of each name: generated layer names replaced by `<Class>#<rank>`, their rank among
 * the distinct generated names of that class in `names` (by counter). Throws InvalidArgument when two
 * names of one side get one key (`dense/kernel` and `dense/kernel:0`, or a model with two weights of one name).
 */
export function matchKeys(names: readonly string[], side: string, stripSuffix: boolean): Map<string, string> {
  const stripped = names.map((n) => (stripSuffix && n.endsWith(':0') ? n.slice(0, -2) : n));
  const counters = new Map<string, Set<number>>();
  for (const name of stripped) {
    for (const segment of name.split('/')) {
      const g = generated(segment);
      if (g) counters.set(g.cls, (counters.get(g.cls) ?? new Set()).add(g.counter));
    }
  }
  const rank = new Map<string, Map<number, number>>();
  for (const [cls, set] of counters) rank.set(cls, new Map([...set].sort((a, b) => a - b).map((c, i) => [c, i])));
  const keys = new Map<string, string>();
  const byKey = new Map<string, string>();
  names.forEach((name, i) => {
    const key = stripped[i]!
      .split('/')
      .map((segment) => {
        const g = generated(segment);
        return g ? `\u0000${g.cls}#${rank.get(g.cls)!.get(g.counter)}` : segment;
      })
      .join('/');
    const other = byKey.get(key);
    if (other !== undefined) {
      throw new TensorsafeError('InvalidArgument', `${side}: ${JSON.stringify(other)} and ${JSON.stringify(name)} name the same weight: which one to use is ambiguous`, { location: `tensor ${name}` });
    }
    byKey.set(key, name);
    keys.set(name, key);
  });
  return keys;
}
