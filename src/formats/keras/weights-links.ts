import type { ByteSource } from '../../io/byte-source.js';
import { IoError, isTensorsafeError } from '../../errors.js';
import type { ScanContext } from '../findings.js';
import { findExternalData } from '../hdf5/external-data.js';
import { openHdf5 } from '../hdf5/file.js';
import { WEIGHTS_H5_ENTRY } from './archive.js';

/**
 * A `.keras` archive's `model.weights.h5` read for what makes h5py read other files (external links,
 * external raw storage, virtual datasets: hdf5/external-data), as the HDF5 scan rules report them in a
 * bare `.h5`. Object headers and links only; a stored entry is a window of the archive, a deflated one is
 * inflated within the zip reader's limit. An entry that cannot be read is left to the reader's errors.
 */
export async function scanKerasWeightsLinks(source: ByteSource, ctx: ScanContext): Promise<void> {
  try {
    const { openZip } = await import('../zip/index.js');
    const entry = (await openZip(source, { strict: false })).get(WEIGHTS_H5_ENTRY);
    if (entry === undefined) return;
    const file = await openHdf5(await entry.source());
    for (const x of await findExternalData(file)) {
      ctx.report({
        severity: 'suspicious',
        rule: 'hdf5/external-data',
        message: `${x.path} in ${WEIGHTS_H5_ENTRY} is ${x.what}: loading the weights reads another file's bytes (h5py follows it)`,
        location: `${ctx.file}:${WEIGHTS_H5_ENTRY}`,
      });
    }
  } catch (e) {
    if (!isTensorsafeError(e) || (e instanceof IoError && e.code !== 'OutOfRange')) throw e;
  }
}
