import type { Dtype } from '../../dtype/dtypes.js';
import type { TfliteQuantization } from './model.js';

/**
 * `--dequantize`: a quantized constant as the float32 values TFLite's kernels compute from it
 * (tensorflow/lite/kernels/dequantize.h and internal/reference/dequantize.h), bit for bit:
 *  - one scale (per tensor): `float(double(scale) * (q - zero_point))`, the product in float64, rounded
 *    once to float32;
 *  - several scales (per axis, one per index of `quantized_dimension`):
 *    `float(scale[c]) * float(q - zero_point[c])`, a float32 product.
 * TFLite's DEQUANTIZE kernel takes INT8, UINT8 and INT16 (per axis: INT8 and UINT8), and INT4, which it
 * unpacks to INT8 first (the reader gives it unpacked, as I8); INT16 per axis and INT32 (biases) follow
 * the same two formulas.
 */

/** The stored dtypes --dequantize turns into F32. */
export const DEQUANTIZABLE: ReadonlySet<Dtype> = new Set<Dtype>(['I8', 'U8', 'I16', 'I32']);

type IntArray = Int8Array | Uint8Array | Int16Array | Int32Array;
const VIEWS: Partial<Record<Dtype, (b: ArrayBuffer) => IntArray>> = {
  I8: (b) => new Int8Array(b),
  U8: (b) => new Uint8Array(b),
  I16: (b) => new Int16Array(b),
  I32: (b) => new Int32Array(b),
};

export type Dequantizer = (chunks: AsyncIterable<Uint8Array>) => AsyncIterable<Uint8Array>;

/**
 * The F32 values of a quantized tensor, or why its parameters do not give them (zero points not int32 or
 * not one per scale, per-axis scales not one per index of a dimension of the tensor: real converters
 * write such parameters for biases, which TFLite's kernels then read otherwise): the tensor is then kept
 * as stored.
 */
export function dequantizer(q: TfliteQuantization, dtype: Dtype, shape: readonly number[]): Dequantizer | string {
  const bad = q.zero_point.find((z) => !(typeof z === 'number' && Number.isInteger(z) && z >= -(2 ** 31) && z < 2 ** 31));
  if (bad !== undefined) return `the zero point ${bad} is not an int32`;
  const zeros = q.zero_point as number[];
  const channels = q.scale.length;
  if (zeros.length !== 0 && zeros.length !== channels) return `${channels} scales but ${zeros.length} zero points`;
  const zero = (c: number): number => zeros[c] ?? 0;
  const view = VIEWS[dtype]!;
  if (channels === 1) {
    const scale = q.scale[0]!;
    const z = zero(0);
    return (chunks) => mapped(chunks, view, (v, out) => {
      for (let i = 0; i < v.length; i++) out[i] = scale * (v[i]! - z); // float64 product, rounded to float32 as stored
    });
  }
  const axis = q.quantized_dimension;
  if (axis < 0 || axis >= shape.length || shape[axis] !== channels) return `${channels} scales for quantized dimension ${axis} of shape [${shape.join(', ')}]`;
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const scales = Float32Array.from(q.scale);
  const zs = Int32Array.from({ length: channels }, (_, c) => zero(c));
  return (chunks) => {
    let index = 0; // elements done, across the chunks of this reading
    return mapped(chunks, view, (v, out) => {
      // A run of `inner` elements shares a channel: its scale and zero point are looked up once.
      for (let i = 0; i < v.length; ) {
        const c = Math.floor(index / inner) % channels;
        const end = i + Math.min(v.length - i, inner - (index % inner));
        const scale = scales[c]!;
        const z = zs[c]!;
        index += end - i;
        // q - zero_point is an int32 converted to float32; the float64 product of two float32s is exact,
        // so storing it rounds as C's float32 product does.
        for (; i < end; i++) out[i] = scale * Math.fround(v[i]! - z);
      }
    });
  };
}

async function* mapped(chunks: AsyncIterable<Uint8Array>, view: (b: ArrayBuffer) => IntArray, fill: (v: IntArray, out: Float32Array) => void): AsyncIterable<Uint8Array> {
  for await (const chunk of chunks) {
    const v = view(chunk.slice().buffer); // a copy: the chunk may lie at an offset its element size does not divide
    const out = new Float32Array(v.length);
    fill(v, out);
    yield new Uint8Array(out.buffer);
  }
}
