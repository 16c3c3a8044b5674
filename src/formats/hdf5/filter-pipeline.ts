import { malformed } from '../../io/format-problem.js';
import { Fields } from './fields.js';
import { MAX_HDF5_FILTERS } from './storage-limits.js';
import { UnsupportedStorage } from './storage-problem.js';

/** One filter of a dataset's pipeline, as the Filter Pipeline message lists it. */
export interface Filter {
  readonly id: number;
  /** The name HDF5 gives the filter, or the message's own for filters it does not define. */
  readonly name: string;
  /** Bit 0: optional (a chunk the filter failed on is stored without it; its filter-mask bit says so). */
  readonly flags: number;
  readonly clientData: readonly number[];
}

export const FILTER_DEFLATE = 1;
export const FILTER_SHUFFLE = 2;
export const FILTER_FLETCHER32 = 3;

/** Names of the filters HDF5 defines and of the registered ones model files meet, for messages. */
const KNOWN_FILTERS: Record<number, string> = {
  1: 'deflate',
  2: 'shuffle',
  3: 'fletcher32',
  4: 'szip',
  5: 'nbit',
  6: 'scaleoffset',
  307: 'bzip2',
  32000: 'lzf',
  32001: 'blosc',
  32004: 'lz4',
  32008: 'bitshuffle',
  32013: 'zfp',
  32015: 'zstd',
  32017: 'sz',
  32026: 'blosc2',
};

const SUPPORTED = new Set([FILTER_DEFLATE, FILTER_SHUFFLE, FILTER_FLETCHER32]);

/** Decodes a Filter Pipeline message body (versions 1 and 2); any filter but deflate, shuffle and fletcher32 is refused by name. */
export function parseFilterPipeline(body: Uint8Array, where: string): Filter[] {
  const f = new Fields(body, undefined, `dataset ${where}: filter pipeline message`);
  const version = f.u8('version');
  if (version !== 1 && version !== 2) throw malformed(`${f.what}: version ${version} is not one HDF5 defines (1 or 2)`);
  const count = f.u8('number of filters');
  if (count > MAX_HDF5_FILTERS) throw malformed(`${f.what}: ${count} filters, more than HDF5 allows (${MAX_HDF5_FILTERS})`);
  if (version === 1) f.skip(6, 'reserved bytes');
  const filters: Filter[] = [];
  for (let i = 0; i < count; i++) {
    const id = f.uint(2, `filter ${i} id`);
    // Version 2 leaves the name length out for the filters HDF5 defines (ids below 256).
    const nameLength = version === 1 || id >= 256 ? f.uint(2, `filter ${i} name length`) : 0;
    const flags = f.uint(2, `filter ${i} flags`);
    const values = f.uint(2, `filter ${i} number of client values`);
    let name = KNOWN_FILTERS[id];
    if (nameLength > 0) {
      const raw = f.take(version === 1 ? Math.ceil(nameLength / 8) * 8 : nameLength, `filter ${i} name`);
      const nul = raw.indexOf(0);
      const own = new TextDecoder('utf-8', { fatal: false }).decode(raw.subarray(0, nul < 0 ? Math.min(raw.length, nameLength) : nul));
      name ??= own.slice(0, 64);
    }
    const clientData: number[] = [];
    for (let v = 0; v < values; v++) clientData.push(f.uint(4, `filter ${i} client value ${v}`));
    if (version === 1 && values % 2 === 1) f.skip(4, `filter ${i} padding`);
    filters.push({ id, name: name ?? `unnamed`, flags, clientData });
  }
  for (const filter of filters) {
    if (!SUPPORTED.has(filter.id)) {
      const label = `${filter.name} (${filter.id})`;
      throw new UnsupportedStorage(`dataset ${where}: filter ${label} is not decoded (deflate, shuffle and fletcher32 are)`, `filter ${label}`);
    }
  }
  return filters;
}

/** `shuffle + deflate(4) + fletcher32`, for descriptions. */
export function describeFilters(filters: readonly Filter[]): string[] {
  return filters.map((f) => (f.id === FILTER_DEFLATE && f.clientData.length > 0 ? `deflate(${f.clientData[0]})` : f.name));
}
