import { TensorsafeError, type OnnxErrorCode as OnnxCode } from '../../errors.js';

/** ONNX's own codes (src/errors.ts), a dtype safetensors cannot hold, and a model with no tensor. */
export type OnnxErrorCode = OnnxCode | 'UnsupportedTensor' | 'NoTensors';

export class OnnxError extends TensorsafeError {
  constructor(code: OnnxErrorCode, message: string, options?: { cause?: unknown; location?: string }) {
    super(code, message, options);
    this.name = 'OnnxError';
  }
}
