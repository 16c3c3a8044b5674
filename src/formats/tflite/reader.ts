import type { FormatReader } from '../format.js';
import { scanTflite } from './scan-rules.js';

/** TFLite: scan rules only so far (a TensorSet reader comes with issue 12). */
export const tfliteReader: FormatReader = {
  scan: (source, ctx) => scanTflite(source, ctx),
};
