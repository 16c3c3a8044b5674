import type { FormatDescriptor } from '../format.js';

/**
 * ONNX: a protobuf ModelProto, which has no magic: bytes that start with a protobuf field tag (the
 * `onnx-or-protobuf` container of detect.ts) are read as ONNX.
 */
export const onnxFormat: FormatDescriptor = {
  id: 'onnx',
  name: 'ONNX (.onnx)',
  extensions: ['.onnx'],
  ruleDescriptions: {
    'onnx/external-data-outside': 'ONNX external data points outside the model folder',
  },
  detect: (probe) => probe.container === 'onnx-or-protobuf',
  load: () => import('./reader.js').then((m) => m.onnxReader),
};
