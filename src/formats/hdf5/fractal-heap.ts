import type { PagedReader } from '../../io/cursor.js';
import { limitExceeded, malformed } from '../../io/format-problem.js';
import { btree2Records, encodedSize } from './btree2.js';
import { unsupported } from './errors.js';
import { Fields, latin, uintAt } from './fields.js';
import type { Hdf5Geometry } from './geometry.js';
import { MAX_HDF5_ATTRIBUTE_BYTES, MAX_HDF5_BTREE_DEPTH } from './limits.js';
import { checksum } from './object-header.js';

/** A tiny object's length fits in the ID's first byte when IDs are at most this long (plus the byte). */
const TINY_SHORT = 16;

/**
 * A fractal heap (FRHP): where dense groups keep their link messages and dense attribute storage its
 * attribute messages. Objects are found by heap ID: managed (an offset and length in the heap's doubling
 * table of direct and indirect blocks), tiny (in the ID itself) or huge (their own place in the file,
 * directly in the ID or through a v2 B-tree). Filtered heaps are refused (h5py never writes them).
 */
export class FractalHeap {
  private constructor(
    private readonly r: PagedReader,
    private readonly g: Hdf5Geometry,
    private readonly idLength: number,
    private readonly checksummed: boolean,
    private readonly hugeBtree: number | undefined,
    private readonly width: number,
    private readonly startBlock: number,
    private readonly maxDirectRows: number,
    private readonly offsetSize: number,
    private readonly lengthSize: number,
    private readonly root: number | undefined,
    private readonly rootRows: number,
    private readonly what: string,
  ) {}

  static async open(r: PagedReader, g: Hdf5Geometry, address: number, what: string): Promise<FractalHeap> {
    const O = g.offsetSize;
    const L = g.lengthSize;
    const length = 4 + 1 + 2 + 2 + 1 + 4 + L + O + L + O + 8 * L + 2 + L + L + 2 + 2 + O + 2;
    const head = await r.bytes(address, length, `the fractal heap of ${what}`);
    const f = new Fields(head, address, `the fractal heap of ${what}`);
    if (latin(f.take(4)) !== 'FRHP') throw malformed(`no fractal heap (FRHP) for ${what}`, address);
    if (f.u8() !== 0) throw malformed(`fractal heap version of ${what} is unknown`, address + 4);
    const idLength = f.u16();
    const filtersLength = f.u16();
    const flags = f.u8();
    const maxManaged = f.u32();
    f.skip(L); // next huge object ID
    const hugeBtree = f.address(g);
    f.skip(L + O + 8 * L); // free space, its manager, managed space sizes and counts, huge and tiny sizes and counts
    const width = f.u16();
    const startBlock = f.length(g);
    const maxDirect = f.length(g);
    const maxHeapBits = f.u16();
    f.skip(2); // starting rows of the root indirect block
    const root = f.address(g);
    const rootRows = f.u16();
    if (filtersLength > 0) throw unsupported(`the fractal heap of ${what} is filtered (compressed), which is not read`, address);
    checksum(await r.bytes(address, f.pos + 4, `the fractal heap of ${what}`), address, `the fractal heap header of ${what}`);
    const log2 = (n: number): number => Math.log2(n);
    if (width === 0 || width > 65536 || !Number.isInteger(log2(width)) || startBlock === 0 || !Number.isInteger(log2(startBlock)) || !Number.isInteger(log2(maxDirect)) || maxDirect < startBlock || maxHeapBits === 0 || maxHeapBits > 64) {
      throw malformed(`the fractal heap of ${what} has an impossible doubling table (width ${width}, blocks ${startBlock} to ${maxDirect}, ${maxHeapBits} bits)`, address);
    }
    const maxDirectRows = log2(maxDirect) - log2(startBlock) + 2;
    const offsetSize = Math.ceil(maxHeapBits / 8);
    const lengthSize = Math.min(Math.ceil(log2(maxDirect) / 8), encodedSize(maxManaged));
    return new FractalHeap(r, g, idLength, (flags & 0x02) !== 0, hugeBtree, width, startBlock, maxDirectRows, offsetSize, lengthSize, root, rootRows, what);
  }

  /** The object a heap ID names: its bytes, and their absolute offset (a tiny object's: `at`, where its ID is). */
  async object(id: Uint8Array, at: number): Promise<{ bytes: Uint8Array; at: number }> {
    if (id.length < 1) throw malformed(`an empty heap ID in ${this.what}`, at);
    const b0 = id[0]!;
    if (b0 >> 6 !== 0) throw malformed(`heap ID version ${b0 >> 6} in ${this.what} is unknown`, at);
    const kind = (b0 >> 4) & 3;
    if (kind === 0) {
      const f = new Fields(id, at, `a heap ID in ${this.what}`);
      f.skip(1);
      const offset = f.uint(this.offsetSize);
      const length = f.uint(this.lengthSize);
      return this.managed(offset, length, at);
    }
    if (kind === 2) {
      const extended = this.idLength - 1 > TINY_SHORT + 1;
      const length = extended ? (((b0 & 0x0f) << 8) | (id[1] ?? 0)) + 1 : (b0 & 0x0f) + 1;
      const from = extended ? 2 : 1;
      if (from + length > id.length) throw malformed(`a tiny heap object in ${this.what} longer than its ID`, at);
      return { bytes: id.subarray(from, from + length), at };
    }
    if (kind === 1) return this.huge(id, at);
    throw malformed(`heap ID type ${kind} in ${this.what} is unknown`, at);
  }

  private async huge(id: Uint8Array, at: number): Promise<{ bytes: Uint8Array; at: number }> {
    const O = this.g.offsetSize;
    const L = this.g.lengthSize;
    let address: number | undefined;
    let length: number;
    if (O + L <= this.idLength - 1) {
      const f = new Fields(id, at, `a huge object ID in ${this.what}`);
      f.skip(1);
      address = f.address(this.g);
      length = f.length(this.g);
    } else {
      if (this.hugeBtree === undefined) throw malformed(`a huge object in ${this.what}, whose heap has no B-tree of huge objects`, at);
      const key = uintAt(id, 1, Math.min(8, id.length - 1));
      const records = await btree2Records(this.r, this.g, this.hugeBtree, 1, `the huge objects of ${this.what}`);
      const record = records.find((rec) => rec.length >= O + 2 * L && uintAt(rec, O + L, rec.length - O - L) === key);
      if (record === undefined) throw malformed(`huge object ${key ?? '?'} of ${this.what} is not in its B-tree`, at);
      const f = new Fields(record, at, 'a huge object record');
      address = f.address(this.g);
      length = f.length(this.g);
    }
    if (address === undefined) throw malformed(`a huge object of ${this.what} at an undefined address`, at);
    if (length > MAX_HDF5_ATTRIBUTE_BYTES) throw limitExceeded(`a heap object of ${length} bytes in ${this.what}, more than MAX_HDF5_ATTRIBUTE_BYTES (${MAX_HDF5_ATTRIBUTE_BYTES})`, at);
    return { bytes: await this.r.bytes(address, length, `a huge object of ${this.what}`), at: address };
  }

  private rowSize(row: number): number {
    return row === 0 ? this.startBlock : this.startBlock * 2 ** (row - 1);
  }

  private rowOffset(row: number): number {
    return row === 0 ? 0 : this.width * this.startBlock * 2 ** (row - 1);
  }

  private async managed(offset: number, length: number, at: number): Promise<{ bytes: Uint8Array; at: number }> {
    if (this.root === undefined) throw malformed(`a managed object in ${this.what}, whose heap is empty`, at);
    if (this.rootRows === 0) return this.direct(this.root, 0, this.startBlock, offset, length, at);
    let block = this.root;
    let base = 0;
    let rows = this.rootRows;
    for (let depth = 0; ; depth++) {
      if (depth > MAX_HDF5_BTREE_DEPTH) throw limitExceeded(`fractal heap indirect blocks nested more than MAX_HDF5_BTREE_DEPTH in ${this.what}`, block);
      const rel = offset - base;
      let row = 0;
      while (row + 1 < rows && this.rowOffset(row + 1) <= rel) row++;
      const col = Math.floor((rel - this.rowOffset(row)) / this.rowSize(row));
      if (rel < 0 || col >= this.width) throw malformed(`heap offset ${offset} is outside the fractal heap of ${this.what}`, at);
      const entry = row * this.width + col;
      const directEntries = Math.min(rows, this.maxDirectRows) * this.width;
      const O = this.g.offsetSize;
      const headerBytes = 4 + 1 + O + this.offsetSize;
      const entryAt = headerBytes + (entry < directEntries ? entry * O : directEntries * O + (entry - directEntries) * O);
      const bytes = await this.r.bytes(block, entryAt + O, `an indirect block of ${this.what}`);
      if (latin(bytes.subarray(0, 4)) !== 'FHIB') throw malformed(`no fractal heap indirect block (FHIB) in ${this.what}`, block);
      const child = new Fields(bytes, block, 'an indirect block entry');
      child.pos = entryAt;
      const address = child.address(this.g);
      if (address === undefined) throw malformed(`heap offset ${offset} of ${this.what} is in a block never allocated`, at);
      const childBase = base + this.rowOffset(row) + col * this.rowSize(row);
      if (row < this.maxDirectRows) return this.direct(address, childBase, this.rowSize(row), offset, length, at);
      block = address;
      base = childBase;
      rows = Math.log2(this.rowSize(row)) - Math.log2(this.startBlock * this.width) + 1;
      if (!Number.isInteger(rows) || rows < 1) throw malformed(`an indirect block of ${this.what} of impossible size`, block);
    }
  }

  private async direct(address: number, base: number, size: number, offset: number, length: number, at: number): Promise<{ bytes: Uint8Array; at: number }> {
    const header = 4 + 1 + this.g.offsetSize + this.offsetSize + (this.checksummed ? 4 : 0);
    const head = await this.r.bytes(address, 4, `a direct block of ${this.what}`);
    if (latin(head) !== 'FHDB') throw malformed(`no fractal heap direct block (FHDB) in ${this.what}`, address);
    const within = offset - base;
    if (within < header || within + length > size) throw malformed(`heap object at offset ${offset} (${length} bytes) is outside its direct block in ${this.what}`, at);
    return { bytes: await this.r.bytes(address + within, length, `a heap object of ${this.what}`), at: address + within };
  }
}
