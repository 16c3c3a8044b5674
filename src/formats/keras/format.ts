import type { DetectProbe, FormatDescriptor } from '../format.js';

/** The root attribute a Keras HDF5 file is rebuilt from, as its attribute message names it. */
const MODEL_CONFIG = new TextEncoder().encode('model_config\0');
/** The attribute legacy weights-only files (save_weights, Hugging Face's tf_model.h5) list their layers in (or its first part, `layer_names0`). */
const LAYER_NAMES = new TextEncoder().encode('layer_names');
/** Link names of a Keras 3 weights file's root (`layers`, `vars`): in a symbol table's heap or a link message, near the start. */
const KERAS3_LINKS = [new TextEncoder().encode('layers'), new TextEncoder().encode('vars')];

/**
 * Keras: a `.keras` zip archive with `config.json` (what is built) beside `model.weights.h5` or
 * `metadata.json`; and an HDF5 file that shows a Keras layout within the bytes detectors see: a
 * `model_config` attribute (`model.save`), a `layer_names` attribute (`save_weights`, `tf_model.h5`),
 * or `layers` and `vars` links (a Keras 3 `.weights.h5`). Other HDF5 files are formats/hdf5's (whose
 * rules find a config lying further and check it with the same Keras rules).
 */
export const kerasFormat: FormatDescriptor = {
  id: 'keras',
  name: 'Keras (.keras, .h5)',
  extensions: ['.keras', '.h5'],
  ruleDescriptions: {
    'keras/lambda-layer': 'A Keras Lambda layer holds Python code that runs when the model is loaded',
    'keras/custom-object': 'A Keras configuration names a class that needs user code',
  },
  detect: (probe) => kerasArchive(probe) || (probe.container === 'hdf5' && kerasHdf5(probe.head)),
  load: () => import('./reader.js').then((m) => m.kerasReader),
};

function kerasArchive(probe: DetectProbe): boolean {
  const entries = probe.entries;
  return probe.container === 'zip' && entries !== undefined && entries.includes('config.json') && (entries.includes('model.weights.h5') || entries.includes('metadata.json'));
}

function kerasHdf5(head: Uint8Array): boolean {
  return includes(head, MODEL_CONFIG) || includes(head, LAYER_NAMES) || KERAS3_LINKS.every((name) => includes(head, name));
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
