import type { FormatDescriptor } from '../format.js';

/**
 * Keras 3 `.keras`: a zip archive with `config.json` (what is built) beside `model.weights.h5` or
 * `metadata.json`. Legacy Keras `.h5` files are HDF5 (formats/hdf5), whose rules check their config
 * with the same Keras rules.
 */
export const kerasFormat: FormatDescriptor = {
  id: 'keras',
  name: 'Keras (.keras)',
  extensions: ['.keras'],
  detect: (probe) =>
    probe.container === 'zip' &&
    probe.entries !== undefined &&
    probe.entries.includes('config.json') &&
    (probe.entries.includes('model.weights.h5') || probe.entries.includes('metadata.json')),
  load: () => import('./reader.js').then((m) => m.kerasReader),
};
