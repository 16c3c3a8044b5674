import type { FormatReader } from '../format.js';
import { scanOnnx } from './scan-rules.js';

/** ONNX: scan rules only so far (a TensorSet reader comes with issue 11). */
export const onnxReader: FormatReader = {
  scan: (source, ctx) => scanOnnx(source, ctx),
};
