import type { FormatReader } from '../format.js';
import { decodeJsonBytes } from '../scan-rules.js';
import { scanKerasConfig } from './config-rules.js';

/** The entry of a `.keras` archive that says what is built. */
const CONFIG_ENTRY = 'config.json';

/**
 * Keras: scan rules only so far (a TensorSet reader comes with issue 12). In a `.keras` archive the
 * scanner walks every entry; the Keras rules read `config.json`.
 */
export const kerasReader: FormatReader = {
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
