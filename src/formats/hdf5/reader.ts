import type { FormatReader } from '../format.js';
import { scanHdf5 } from './scan-rules.js';

/** HDF5 (legacy Keras): scan rules only so far (a TensorSet reader comes with issue 12). */
export const hdf5Reader: FormatReader = {
  scan: (source, ctx) => scanHdf5(source, ctx),
};
