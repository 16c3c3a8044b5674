import type { FormatReader } from '../format.js';
import { scanGguf } from './scan-rules.js';

/** GGUF: scan rules only so far (a TensorSet reader comes with issue 11). */
export const ggufReader: FormatReader = {
  scan: (source, ctx) => scanGguf(source, ctx),
};
