import type { FormatDescriptor } from '../format.js';

/** The keys that make a JSON document a TF.js model.json (a layers- or graph-model, or a bare weights manifest). */
const TFJS_KEYS = /"modelTopology"|"weightsManifest"/;

/** TF.js: a `model.json` (topology and weights manifest) beside binary weight shards. */
export const tfjsFormat: FormatDescriptor = {
  id: 'tfjs',
  name: 'TF.js (model.json)',
  // Matched as the end of a file name: every model.json, never every .json (configs, tokenizers).
  extensions: ['model.json'],
  detect: (probe) => probe.container === 'json' && probe.text !== undefined && TFJS_KEYS.test(probe.text),
  load: () => import('./reader.js').then((m) => m.tfjsReader),
};
