import type { FormatReader } from '../format.js';
import { MAX_TFJS_JSON_BYTES, scanTfjsModelJson } from './scan-rules.js';

/** TF.js: scan rules only so far (a TensorSet reader comes with issue 11). */
export const tfjsReader: FormatReader = {
  async scan(source, ctx) {
    const text = new TextDecoder().decode(await source.read(0, Math.min(source.size, MAX_TFJS_JSON_BYTES)));
    scanTfjsModelJson(text, ctx, source.name);
  },
};
