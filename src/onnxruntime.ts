/**
 * tensorsafe/onnxruntime: tensors to and from ONNX Runtime (onnxruntime-node, onnxruntime-web), for
 * browsers and Node. It imports nothing from ONNX Runtime (an optional peer): the functions that make
 * its tensors take its namespace. Every name is listed: test/public-api.test.ts freezes the list
 * (test/fixtures/public-api/onnxruntime.txt).
 */
export {
  toOrtTensor,
  fromOrtTensor,
  toOrtTensors,
  fromOrtTensors,
  ORT_TYPE_OF,
  type OrtType,
  type OrtTensorLike,
  type OrtRuntime,
  type ToOrtOptions,
  type FromOrtOptions,
} from './runtime/onnxruntime.js';
export type { TensorSource } from './runtime/tensor-source.js';
