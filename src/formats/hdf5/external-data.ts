import { Hdf5Error } from './errors.js';
import { Hdf5Dataset, Hdf5Group, type Hdf5File } from './file.js';
import { MAX_HDF5_LINKS_WALKED, MAX_HDF5_PATH_DEPTH } from './limits.js';

/** Layout class of a virtual dataset (layout message versions 3 and 4, byte 1). */
const VIRTUAL_LAYOUT_CLASS = 3;

/** Where an HDF5 file makes its reader read another file. */
export interface ExternalData {
  readonly path: string;
  readonly what: string;
}

/**
 * The links and datasets of an HDF5 file that read another file's bytes when h5py (or Keras loading
 * weights) follows them: external links, datasets stored in external raw files, virtual datasets
 * (their sources may be other files). Object headers and links only, never tensor data; each group
 * walked once (aliases and cycles), within MAX_HDF5_PATH_DEPTH and MAX_HDF5_LINKS_WALKED.
 */
export async function findExternalData(file: Hdf5File): Promise<ExternalData[]> {
  const found: ExternalData[] = [];
  const walked = new Set<number>();
  let links = 0;
  const walk = async (group: Hdf5Group, depth: number): Promise<void> => {
    if (depth > MAX_HDF5_PATH_DEPTH) throw new Hdf5Error('Hdf5Limit', `${file.name}: groups nested more than MAX_HDF5_PATH_DEPTH (${MAX_HDF5_PATH_DEPTH}) deep at ${group.path}`, { location: file.name });
    walked.add(group.address);
    for (const child of await group.children()) {
      if (++links > MAX_HDF5_LINKS_WALKED) throw new Hdf5Error('Hdf5Limit', `${file.name}: more than MAX_HDF5_LINKS_WALKED (${MAX_HDF5_LINKS_WALKED}) links walked (at ${child.path})`, { location: file.name });
      const t = child.link.target;
      if (t.kind === 'external') found.push({ path: child.path, what: `an external link to ${JSON.stringify(t.path)} in the file ${JSON.stringify(t.file)}` });
      const node = child.node;
      if (node instanceof Hdf5Group) {
        if (!walked.has(node.address)) await walk(node, depth + 1);
      } else if (node instanceof Hdf5Dataset) {
        if (node.externalStorage) found.push({ path: child.path, what: 'a dataset whose data is in external raw files (the External Data Files message)' });
        const layout = node.storageMessages.layout;
        if (layout.length >= 2 && layout[0]! >= 3 && layout[1] === VIRTUAL_LAYOUT_CLASS) found.push({ path: child.path, what: 'a virtual dataset (its data is read from source datasets, possibly in other files)' });
      }
    }
  };
  await walk(file.root, 0);
  return found;
}
