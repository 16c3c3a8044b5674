import type { FormatDescriptor } from '../format.js';

/**
 * HDF5 files: in practice legacy Keras models (`model.save('x.h5')`), whose root group's `model_config`
 * attribute says what is built. Their scan rules find that attribute wherever the root group keeps it
 * (often past the first KiB, beyond a detector's head) and check it with the Keras rules.
 */
export const hdf5Format: FormatDescriptor = {
  id: 'hdf5',
  name: 'HDF5 (.h5, .hdf5)',
  extensions: ['.h5', '.hdf5'],
  detect: (probe) => probe.container === 'hdf5',
  load: () => import('./reader.js').then((m) => m.hdf5Reader),
};
