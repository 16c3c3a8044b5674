import type { ByteSource } from '../../io/byte-source.js';
import { datasetTensor, Hdf5Dataset, Hdf5Group, openHdf5 } from '../hdf5/file.js';
import type { H5AttributeValue, H5Dataset, H5File, H5Group } from './h5-access.js';

/**
 * formats/hdf5's reader as the Keras layouts see it (h5-access.ts): groups by path, links with the kind
 * of what they lead to, decoded attributes, datasets as tensors. Keras 3's bfloat16 variables are
 * 2-byte opaque datasets (h5py's view of ml_dtypes.bfloat16) read as BF16, bytes as they are.
 */
export async function openH5(source: ByteSource): Promise<H5File> {
  const file = await openHdf5(source);
  return { root: group(file.root), rootAttributes: () => file.root.attributes(), source, close: async () => source.close?.() };
}

function group(g: Hdf5Group): H5Group {
  return {
    path: g.path,
    async links() {
      return (await g.children()).map((c) => ({ name: c.name, kind: c.node?.kind === 'group' ? ('group' as const) : c.node?.kind === 'dataset' ? ('dataset' as const) : ('other' as const) }));
    },
    async group(path) {
      const node = await g.get(path);
      return node instanceof Hdf5Group ? group(node) : undefined;
    },
    async dataset(path) {
      const node = await g.get(path);
      return node instanceof Hdf5Dataset ? dataset(node) : undefined;
    },
    attribute: async (name) => (await g.attributeValue(name)) as H5AttributeValue | undefined,
    attributeNames: async () => (await g.attributes()).map((a) => a.name),
  };
}

function dataset(ds: Hdf5Dataset): H5Dataset {
  return {
    path: ds.path,
    shape: ds.shape ?? [],
    attribute: async (name) => (await ds.attributeValue(name)) as H5AttributeValue | undefined,
    async tensor(name, as) {
      const bf16 = as === 'BF16' && ds.datatype.size === 2 && ds.shape !== undefined && !ds.externalStorage;
      return (await datasetTensor(ds, name, bf16 ? 'BF16' : undefined)).entry;
    },
  };
}
