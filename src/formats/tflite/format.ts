import type { FormatDescriptor } from '../format.js';

/** TFLite: a FlatBuffer with the file identifier `TFL3` at byte 4. */
export const tfliteFormat: FormatDescriptor = {
  id: 'tflite',
  name: 'TFLite (.tflite)',
  extensions: ['.tflite'],
  dequantizes: true,
  detect: (probe) => probe.container === 'tflite',
  load: () => import('./reader.js').then((m) => m.tfliteReader),
};
