import { malformed } from '../../io/format-problem.js';
import type { PagedReader } from '../../io/cursor.js';
import { Fields } from './fields.js';
import type { Hdf5Geometry } from './geometry.js';
import { MAX_HDF5_USERBLOCK_BYTES } from './limits.js';
import { lookup3 } from './lookup3.js';

/** The file's first structure: where it starts, how addresses are written, where the root group is. */
export interface Hdf5Superblock {
  /** 0 to 3. */
  readonly version: number;
  /** Offset of the signature: the user block's size (0, 512, 1024, …). */
  readonly signatureAt: number;
  readonly geometry: Hdf5Geometry;
  /** Absolute offset of the root group's object header. */
  readonly root: number;
  /** Versions 0 and 1: the root's symbol table (B-tree and local heap) cached in its symbol table entry. */
  readonly rootSymbolTable?: { readonly btree: number; readonly heap: number };
}

export const HDF5_SIGNATURE = Uint8Array.of(0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a);

/** Finds the signature at 0, 512, 1024, 2048, … and reads the superblock after it. */
export async function readSuperblock(r: PagedReader): Promise<Hdf5Superblock> {
  let sig = -1;
  for (let off = 0; off + 8 <= Math.min(r.size, MAX_HDF5_USERBLOCK_BYTES); off = off === 0 ? 512 : off * 2) {
    const b = await r.bytes(off, 8, 'the HDF5 signature');
    if (HDF5_SIGNATURE.every((x, i) => b[i] === x)) {
      sig = off;
      break;
    }
  }
  if (sig < 0) throw malformed('no HDF5 signature at offset 0 or after a user block (512, 1024, … bytes)', 0);
  const head = await r.upTo(sig, 8 + 16 + 8 * 8 + 24 + 16, 'the superblock');
  const f = new Fields(head, sig, 'the superblock');
  f.skip(8);
  const version = f.u8();
  if (version === 0 || version === 1) {
    f.skip(3); // free-space, root symbol table entry and shared header versions
    f.skip(1);
    const offsetSize = f.u8();
    const lengthSize = f.u8();
    f.skip(1 + 2 + 2 + 4 + (version === 1 ? 4 : 0)); // reserved, group K values, flags, indexed storage K
    sizes(offsetSize, lengthSize, sig);
    f.uint(offsetSize); // the stored base address: the library uses the signature's offset (addressBase)
    const base = addressBase(sig);
    const g: Hdf5Geometry = { base, offsetSize, lengthSize };
    f.skip(3 * offsetSize); // free-space info, end of file, driver info addresses
    f.skip(offsetSize); // the root entry's link name offset
    const root = f.address(g);
    const cacheType = f.u32();
    f.skip(4);
    if (root === undefined) throw malformed('the root group has no object header address', sig + f.pos);
    if (cacheType === 1) {
      const btree = f.address(g);
      const heap = f.address(g);
      if (btree !== undefined && heap !== undefined) return { version, signatureAt: sig, geometry: g, root, rootSymbolTable: { btree, heap } };
    }
    return { version, signatureAt: sig, geometry: g, root };
  }
  if (version === 2 || version === 3) {
    const offsetSize = f.u8();
    const lengthSize = f.u8();
    f.skip(1); // file consistency flags
    sizes(offsetSize, lengthSize, sig);
    f.uint(offsetSize); // the stored base address (addressBase)
    const base = addressBase(sig);
    const g: Hdf5Geometry = { base, offsetSize, lengthSize };
    f.skip(2 * offsetSize); // superblock extension, end of file
    const root = f.address(g);
    const end = f.pos;
    const stored = f.u32();
    if (lookup3(head.subarray(0, end)) !== stored) throw malformed('the superblock checksum does not match its bytes', sig + end);
    if (root === undefined) throw malformed('the root group has no object header address', sig + end - offsetSize);
    return { version, signatureAt: sig, geometry: g, root };
  }
  throw malformed(`unknown superblock version ${version}`, sig + 8);
}

function sizes(offsetSize: number, lengthSize: number, sig: number): void {
  if (![2, 4, 8].includes(offsetSize) || ![2, 4, 8].includes(lengthSize)) throw malformed(`sizes of offsets (${offsetSize}) and lengths (${lengthSize}) other than 2, 4 or 8`, sig + 13);
}

/**
 * Addresses count from the superblock: the HDF5 library replaces a stored base address that differs
 * from where it found the signature by that offset (H5F__super_read), so a file moved behind a user
 * block, or placed inside another file, reads as the library reads it.
 */
function addressBase(sig: number): number {
  return sig;
}
