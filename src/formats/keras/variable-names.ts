/**
 * The names of a Keras 3 layer's variables. A Keras 3 weights file (`model.weights.h5`, `.weights.h5`)
 * stores each object's variables as datasets `0`, `1`, … in the order the layer creates them in
 * `build()`, without their names; this table gives that order for the standard layers (keras/src/layers/…,
 * `add_weight(name=…)` calls in build order). A class not in it, or a count that does not fit it, is
 * named by index (`<path>/<i>`, see v3-layout.ts).
 */

/** The layer's config (its `config` object in config.json), for variables that depend on options. */
type LayerOptions = Readonly<Record<string, unknown>> | undefined;

interface VariableOrder {
  /** Every variable the layer can have, in build order. */
  readonly all: readonly string[];
  /**
   * The variables of a layer that has `count` of them, when options leave some out; undefined: not
   * known. Default: the first `count` (an optional bias comes last).
   */
  pick?(count: number, options: LayerOptions): readonly string[] | undefined;
}

const KERNEL_BIAS: VariableOrder = { all: ['kernel', 'bias'] };
const RECURRENT: VariableOrder = { all: ['kernel', 'recurrent_kernel', 'bias'] };

/** BatchNormalization: gamma only with `scale`, beta only with `center` (both default true). */
const BATCH_NORM: VariableOrder = {
  all: ['gamma', 'beta', 'moving_mean', 'moving_variance'],
  pick(count, options) {
    const names = [options?.['scale'] === false ? '' : 'gamma', options?.['center'] === false ? '' : 'beta', 'moving_mean', 'moving_variance'].filter(Boolean);
    return names.length === count ? names : undefined;
  },
};

/** LayerNormalization, GroupNormalization: gamma with `scale`, beta with `center` (and not with rms_scaling). */
const NORM: VariableOrder = {
  all: ['gamma', 'beta'],
  pick(count, options) {
    const names = [options?.['scale'] === false ? '' : 'gamma', options?.['center'] === false || options?.['rms_scaling'] === true ? '' : 'beta'].filter(Boolean);
    return names.length === count ? names : undefined;
  },
};

/** Standard layers by class name. Layers without variables of their own (LSTM: its cell has them) are not listed. */
export const KERAS_VARIABLE_ORDER: Readonly<Record<string, VariableOrder>> = {
  Dense: KERNEL_BIAS,
  EinsumDense: KERNEL_BIAS,
  Conv1D: KERNEL_BIAS,
  Conv2D: KERNEL_BIAS,
  Conv3D: KERNEL_BIAS,
  Conv1DTranspose: KERNEL_BIAS,
  Conv2DTranspose: KERNEL_BIAS,
  Conv3DTranspose: KERNEL_BIAS,
  DepthwiseConv1D: KERNEL_BIAS,
  DepthwiseConv2D: KERNEL_BIAS,
  SeparableConv1D: { all: ['depthwise_kernel', 'pointwise_kernel', 'bias'] },
  SeparableConv2D: { all: ['depthwise_kernel', 'pointwise_kernel', 'bias'] },
  BatchNormalization: BATCH_NORM,
  LayerNormalization: NORM,
  GroupNormalization: NORM,
  RMSNormalization: { all: ['scale'] },
  Embedding: { all: ['embeddings'] },
  LSTMCell: RECURRENT,
  GRUCell: RECURRENT,
  SimpleRNNCell: RECURRENT,
  ConvLSTMCell: RECURRENT,
  PReLU: { all: ['alpha'] },
  Normalization: { all: ['mean', 'variance', 'count'] },
};

/** `Conv2D` → `conv2d`, `MultiHeadAttention` → `multi_head_attention`: keras.src.utils.naming.to_snake_case, the object paths of a weights file. */
export function toSnakeCase(name: string): string {
  return name
    .replace(/\W+/g, '')
    .replace(/(.)([A-Z][a-z]+)/g, '$1_$2')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

/** Class names by their snake_case (the classes of the table, and those whose sublayers hold the variables). */
const BY_SNAKE: ReadonlyMap<string, string> = new Map(Object.keys(KERAS_VARIABLE_ORDER).map((c) => [toSnakeCase(c), c]));

/**
 * The class of an object from a name Keras derived from it: an object path's segment (`dense_1`,
 * `_query_dense`) or an automatic layer name (`lstm_cell`, `forward_lstm_cell`): the snake_case of a class
 * in the table, without the `_<n>` Keras adds to make names unique and a leading `_`; else one it ends
 * with (`_query_dense` → Dense, which has EinsumDense's variables).
 */
export function classFromName(name: string): string | undefined {
  const base = name.replace(/^_+/, '').replace(/_\d+$/, '');
  const exact = BY_SNAKE.get(base);
  if (exact !== undefined) return exact;
  let best: string | undefined;
  for (const [snake, cls] of BY_SNAKE) if (base.endsWith(`_${snake}`) && (best === undefined || snake.length > toSnakeCase(best).length)) best = cls;
  return best;
}

/** The names of a layer's `count` variables, or undefined when its class or that count is not known. */
export function variableNames(className: string | undefined, count: number, options: LayerOptions): readonly string[] | undefined {
  const order = className === undefined ? undefined : KERAS_VARIABLE_ORDER[className];
  if (order === undefined || count > order.all.length) return undefined;
  if (order.pick) return order.pick(count, options);
  return order.all.slice(0, count);
}
