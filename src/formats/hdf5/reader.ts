import type { ByteSource } from '../../io/byte-source.js';
import type { LeftOut, TensorEntry } from '../../tensor/tensor-set.js';
import type { FormatReader, ParsedModel } from '../format.js';
import type { Hdf5Attribute } from './attributes.js';
import { Hdf5Error } from './errors.js';
import { datasetTensor, Hdf5Dataset, Hdf5Group, openHdf5, type Hdf5File } from './file.js';
import { MAX_HDF5_LINKS_WALKED, MAX_HDF5_PATH_DEPTH } from './limits.js';
import { scanHdf5 } from './scan-rules.js';
import { UnsupportedStorage } from './storage-problem.js';
import { describeHdf5 } from './view.js';

/**
 * Any HDF5 file as a TensorSet: every numeric dataset (integers, IEEE floats of 16, 32 and 64 bits,
 * h5py's bool enum) is a tensor named by its path without the leading `/`
 * (`model_weights/dense/dense/kernel:0`), walked depth first with each group's links in name order, as
 * h5py's visititems lists them. A dataset reached by several paths (hard links, soft links) is a
 * tensor at each, with one aliasKey; a group reached again (an alias or a cycle) is walked once.
 * Big-endian datasets are byte-swapped as they stream; scalars have shape []. Left out, with a reason:
 * empty datasets (null dataspace, h5py.Empty), non-numeric ones (strings, compound, references, …),
 * virtual datasets and data in external files, external and dangling soft links, committed datatypes.
 * Keras files are read by formats/keras on top of the same API (file.ts).
 */

export interface Hdf5Structure {
  readonly file: Hdf5File;
  readonly groups: number;
  readonly datasets: number;
  /** Datasets per storage layout (`contiguous`, `chunked`, …). */
  readonly layouts: ReadonlyMap<string, number>;
  /** Filters seen in datasets' pipelines. */
  readonly filters: ReadonlySet<string>;
  readonly rootAttributes: readonly Hdf5Attribute[];
}

export const hdf5Reader: FormatReader<Hdf5Structure> = {
  async open(source: ByteSource): Promise<ParsedModel<Hdf5Structure>> {
    const file = await openHdf5(source);
    const tensors: TensorEntry[] = [];
    const leftOut: LeftOut[] = [];
    const swapped: string[] = [];
    const aliases: string[] = [];
    const layouts = new Map<string, number>();
    const filters = new Set<string>();
    const walked = new Set<number>();
    const named = new Map<number, string>();
    let groups = 0;
    let linksWalked = 0;
    const walk = async (group: Hdf5Group, depth: number): Promise<void> => {
      if (depth > MAX_HDF5_PATH_DEPTH) throw new Hdf5Error('Hdf5Limit', `${source.name}: groups nested more than MAX_HDF5_PATH_DEPTH (${MAX_HDF5_PATH_DEPTH}) deep at ${group.path}`, { location: source.name });
      walked.add(group.address);
      groups++;
      for (const child of await group.children()) {
        if (++linksWalked > MAX_HDF5_LINKS_WALKED) throw new Hdf5Error('Hdf5Limit', `${source.name}: more than MAX_HDF5_LINKS_WALKED (${MAX_HDF5_LINKS_WALKED}) links walked (at ${child.path})`, { location: source.name });
        const name = child.path.slice(1);
        const node = child.node;
        if (node === undefined) {
          leftOut.push({ path: name, what: child.why ?? 'nothing' });
        } else if (node instanceof Hdf5Group) {
          if (!walked.has(node.address)) await walk(node, depth + 1);
        } else if (node instanceof Hdf5Dataset) {
          const why = node.why;
          if (why !== undefined) {
            leftOut.push({ path: name, what: `${why} (${node.datatype.description}${node.shape ? ` [${node.shape.join(', ')}]` : ''})` });
            continue;
          }
          let made: Awaited<ReturnType<typeof datasetTensor>>;
          try {
            made = await datasetTensor(node, name);
          } catch (e) {
            if (e instanceof Hdf5Error && e.cause instanceof UnsupportedStorage && e.cause.feature === 'virtual layout') {
              leftOut.push({ path: name, what: 'a virtual dataset: its data lives in other datasets or files (never read)' });
              continue;
            }
            throw e;
          }
          const first = named.get(node.address);
          if (first === undefined) {
            named.set(node.address, name);
            layouts.set(made.storage.kind, (layouts.get(made.storage.kind) ?? 0) + 1);
            for (const f of made.storage.filters) filters.add(f);
          } else {
            aliases.push(`\`${name}\` is \`${first}\``);
          }
          tensors.push(made.entry);
          if (made.entry.encoding.byteSwap) swapped.push(`\`${name}\``);
        } else {
          leftOut.push({ path: name, what: node.kind === 'datatype' ? 'a committed datatype (not data)' : 'an object that is neither a group nor a dataset' });
        }
      }
    };
    await walk(file.root, 0);
    const notes: string[] = [];
    if (swapped.length > 0) notes.push(`big-endian datasets byte-swapped to little-endian: ${listed(swapped)}`);
    if (aliases.length > 0) notes.push(`datasets reached by more than one path (hard or soft links), the same bytes: ${listed(aliases)}`);
    const rootAttributes = await file.root.attributes();
    return {
      tensors: { format: 'hdf5', tensors, leftOut, notes, close: async () => source.close?.() },
      structure: { file, groups, datasets: named.size, layouts, filters, rootAttributes },
    };
  },
  // With an open() of the same source: its decoded root attributes (dense ones too), no second parse.
  scan: (source, ctx, parsed) => (isHdf5Structure(parsed?.structure) ? scanHdf5(source, ctx, parsed.structure.rootAttributes, parsed.structure.file) : scanHdf5(source, ctx)),
  describe: (parsed) => describeHdf5(parsed.structure, parsed.tensors),
};

function isHdf5Structure(s: unknown): s is Hdf5Structure {
  return typeof s === 'object' && s !== null && 'rootAttributes' in s && Array.isArray((s as Hdf5Structure).rootAttributes) && 'file' in s;
}

/** Names listed in one note, at most: a file of thousands of big-endian datasets gets a note, not a page. */
const MAX_NAMES_IN_NOTE = 10;

function listed(names: readonly string[]): string {
  const shown = names.slice(0, MAX_NAMES_IN_NOTE).join(', ');
  return names.length > MAX_NAMES_IN_NOTE ? `${shown} and ${names.length - MAX_NAMES_IN_NOTE} more` : shown;
}
