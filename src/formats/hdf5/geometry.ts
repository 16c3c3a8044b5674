/**
 * How a file's superblock says addresses and lengths are written: every structure of an HDF5 file is
 * read through this (hdf5/structure readers and hdf5/storage alike).
 */
export interface Hdf5Geometry {
  /** Absolute offset that file addresses are relative to (the superblock's base address plus a user block). */
  readonly base: number;
  /** Bytes of an address (`Size of Offsets`): 2, 4 or 8. */
  readonly offsetSize: number;
  /** Bytes of a length (`Size of Lengths`): 2, 4 or 8. */
  readonly lengthSize: number;
}
