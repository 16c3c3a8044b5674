import type { FormatReader } from '../format.js';
import { decodeJsonBytes } from '../scan-rules.js';
import { scanKerasConfig } from './config-rules.js';

/** The entry of a `.keras` archive that says what is built. */
const CONFIG_ENTRY = 'config.json';

/**
 * Keras: scan rules only so far (a TensorSet reader comes with issue 12). In a `.keras` archive the
 * scanner walks every entry and the Keras rules read `config.json`; a legacy `.h5` is read by the HDF5
 * rules, which find its configs and check them with the Keras rules (reported as `hdf5`, as before).
 */
export const kerasReader: FormatReader = {
  async scan(source, ctx) {
    const { scanHdf5 } = await import('../hdf5/scan-rules.js');
    await scanHdf5(source, ctx);
    return 'hdf5';
  },
  containerRules: (container) =>
    container.kind !== 'zip'
      ? undefined
      : {
          label: 'keras',
          entries: {
            matches: (entry) => entry === CONFIG_ENTRY,
            scan: (bytes, ctx, location) => scanKerasConfig(decodeJsonBytes(bytes), ctx, location),
          },
        },
};
