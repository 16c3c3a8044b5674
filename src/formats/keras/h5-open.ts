import { TensorsafeError } from '../../errors.js';
import type { ByteSource } from '../../io/byte-source.js';
import type { H5File } from './h5-access.js';

/** Opens an HDF5 file for the Keras layouts, through formats/hdf5's reader. */
export async function openH5(source: ByteSource): Promise<H5File> {
  // formats/hdf5's reader (issue 12, branch hdf5-struct) is not merged yet.
  throw new TensorsafeError('UnsupportedFormat', `${source.name}: reading HDF5 weights needs formats/hdf5's reader, which is not merged yet`, { location: source.name });
}
