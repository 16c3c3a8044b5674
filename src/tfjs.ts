/**
 * tensorsafe/tfjs: TensorFlow.js tensors and LayersModel weights to and from safetensors, for browsers
 * and Node. It imports nothing from tfjs (an optional peer): the functions that make its tensors take
 * its namespace. Every name is listed: test/public-api.test.ts freezes the list
 * (test/fixtures/public-api/tfjs.txt).
 */
export {
  toTfjsTensor,
  fromTfjsTensor,
  toTfjsTensors,
  fromTfjsTensors,
  TFJS_DTYPE_OF,
  type TfjsDtype,
  type TfjsTensorLike,
  type TfjsRuntime,
  type ToTfjsOptions,
  type FromTfjsOptions,
} from './runtime/tfjs-tensors.js';
export {
  loadWeights,
  saveWeights,
  weightTensors,
  WeightsMismatchError,
  type LoadWeightsOptions,
  type LoadWeightsReport,
  type WeightMismatch,
  type SaveWeightsOptions,
  type TfjsModelLike,
  type TfjsVariableLike,
} from './runtime/tfjs-weights.js';
export type { TensorSource } from './runtime/tensor-source.js';
