import * as fs from 'node:fs';
import * as path from 'node:path';
import { MemorySource } from '../../src/io/byte-source.js';
import { PagedReader } from '../../src/io/cursor.js';
import { decodeFillValue } from '../../src/formats/hdf5/messages.js';
import { MSG, readObjectHeader } from '../../src/formats/hdf5/object-header.js';
import { readSuperblock } from '../../src/formats/hdf5/superblock.js';
import type { Hdf5Geometry } from '../../src/formats/hdf5/geometry.js';
import type { StorageMessages } from '../../src/formats/hdf5/storage-contract.js';
import { ROOT } from './paths.js';

/** One dataset of a storage fixture, as scripts/make-hdf5-storage-fixtures.py lists it. */
export interface StorageFixtureDataset {
  readonly path: string;
  readonly objectHeader: number;
  readonly shape: number[];
  readonly maxShape: (number | null)[] | null;
  readonly elementSize: number;
  readonly dtype: string;
  readonly layout: 'compact' | 'contiguous' | 'chunked';
  readonly chunks?: number[];
  readonly index?: string | null;
  readonly chunksAllocated?: number;
  readonly filters?: number[];
  readonly refused?: string;
  readonly sha256?: string;
  readonly byteLength?: number;
}

export interface StorageFixture {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly datasets: readonly StorageFixtureDataset[];
}

export const STORAGE_FIXTURES = path.join(ROOT, 'test', 'fixtures', 'hdf5', 'storage');

export function loadStorageFixture(name: string): StorageFixture {
  const listing = JSON.parse(fs.readFileSync(path.join(STORAGE_FIXTURES, `${name}.json`), 'utf8')) as { file: string; datasets: StorageFixtureDataset[] };
  return { name, bytes: new Uint8Array(fs.readFileSync(path.join(STORAGE_FIXTURES, listing.file))), datasets: listing.datasets };
}

/** Where each storage message body of a dataset lies in the file (absolute offsets), for tests that mutate them. */
export interface LocatedMessages {
  readonly messages: StorageMessages;
  readonly layoutAt: number;
  readonly filtersAt?: number;
  readonly g: Hdf5Geometry;
}

/**
 * Test-only: a dataset's storage messages, found with the structure side's superblock and object header
 * readers from the address h5py gave; dimensions from the fixture listing (h5py's shape and maxshape).
 */
export async function storageMessagesOf(bytes: Uint8Array, d: StorageFixtureDataset): Promise<LocatedMessages> {
  const r = new PagedReader(new MemorySource(bytes));
  const sb = await readSuperblock(r);
  const g = sb.geometry;
  const header = await readObjectHeader(r, g, g.base + d.objectHeader);
  const find = (type: number) => header.messages.find((m) => m.type === type);
  const layout = find(MSG.layout);
  if (!layout) throw new Error(`${d.path}: no layout message`);
  const filters = find(MSG.filters);
  const fillNew = find(MSG.fillValue);
  const fillOld = find(MSG.fillValueOld);
  const fillValue = fillNew ? decodeFillValue(fillNew.body, fillNew.at, false) : fillOld ? decodeFillValue(fillOld.body, fillOld.at, true) : undefined;
  const messages: StorageMessages = {
    layout: layout.body,
    ...(filters ? { filters: filters.body } : {}),
    ...(fillValue ? { fillValue } : {}),
    dims: d.shape,
    maxDims: (d.maxShape ?? d.shape).map((m) => (m === null ? Infinity : m)),
    elementSize: d.elementSize,
    where: `/${d.path}`,
  };
  return { messages, layoutAt: layout.at, ...(filters ? { filtersAt: filters.at } : {}), g };
}
