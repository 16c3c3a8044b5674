import type { FormatDescriptor } from '../format.js';

/**
 * HDF5 files (h5py, the HDF5 library): every numeric dataset is a tensor named by its path (reader.ts,
 * over the read-only reader of file.ts). A legacy Keras model whose `model_config` is in the head is
 * claimed by formats/keras first; the scan rules here find that attribute wherever the root group keeps
 * it (often past the first KiB, beyond a detector's head) and check it with the Keras rules.
 */
export const hdf5Format: FormatDescriptor = {
  id: 'hdf5',
  name: 'HDF5 (.h5, .hdf5)',
  extensions: ['.h5', '.hdf5'],
  detect: (probe) => probe.container === 'hdf5',
  load: () => import('./reader.js').then((m) => m.hdf5Reader),
};
