import type { DetectProbe, FormatDescriptor } from '../format.js';

/** The root attribute a Keras HDF5 file is rebuilt from, as its attribute message names it. */
const MODEL_CONFIG = new TextEncoder().encode('model_config\0');

/**
 * Keras: a `.keras` zip archive with `config.json` (what is built) beside `model.weights.h5` or
 * `metadata.json`; and a legacy `.h5` (HDF5) whose root group has a `model_config` attribute within the
 * bytes detectors see (an HDF5 file whose config lies further is claimed by formats/hdf5, whose rules
 * find it and check it with the same Keras rules).
 */
export const kerasFormat: FormatDescriptor = {
  id: 'keras',
  name: 'Keras (.keras, .h5)',
  extensions: ['.keras', '.h5'],
  ruleDescriptions: {
    'keras/lambda-layer': 'A Keras Lambda layer holds Python code that runs when the model is loaded',
    'keras/custom-object': 'A Keras configuration names a class that needs user code',
  },
  detect: (probe) => kerasArchive(probe) || (probe.container === 'hdf5' && includes(probe.head, MODEL_CONFIG)),
  load: () => import('./reader.js').then((m) => m.kerasReader),
};

function kerasArchive(probe: DetectProbe): boolean {
  const entries = probe.entries;
  return probe.container === 'zip' && entries !== undefined && entries.includes('config.json') && (entries.includes('model.weights.h5') || entries.includes('metadata.json'));
}

/** Whether `bytes` hold `part` (a native search for its first byte, then a compare: no decoding). */
function includes(bytes: Uint8Array, part: Uint8Array): boolean {
  for (let at = bytes.indexOf(part[0]!); at >= 0 && at + part.length <= bytes.length; at = bytes.indexOf(part[0]!, at + 1)) {
    let i = 1;
    while (i < part.length && bytes[at + i] === part[i]) i++;
    if (i === part.length) return true;
  }
  return false;
}
