import type { PagedReader } from '../../io/cursor.js';
import { limitExceeded, malformed } from '../../io/format-problem.js';
import { btree2Records } from './btree2.js';
import { Fields, latin } from './fields.js';
import { FractalHeap } from './fractal-heap.js';
import type { Hdf5Geometry } from './geometry.js';
import { localHeapString, readLocalHeap } from './heaps.js';
import { MAX_HDF5_BTREE_DEPTH, MAX_HDF5_BTREE_RECORDS, MAX_HDF5_LINKS_PER_GROUP } from './limits.js';
import { decodeLink, decodeLinkInfo, decodeSymbolTable, type Hdf5Link } from './messages.js';
import { MSG, type ObjectHeader } from './object-header.js';

/** Bytes of a link-name record of a v2 B-tree of type 5: the name's hash, then a 7-byte heap ID. */
const LINK_NAME_RECORD = 4 + 7;

/**
 * The links of a group, whichever way it keeps them: a symbol table (v1 B-tree of SNOD nodes, names in
 * a local heap), link messages in its header (compact), or a fractal heap indexed by a v2 B-tree (dense).
 * `cached`: the root's symbol table from a version 0/1 superblock, used when the header has none.
 */
export async function groupLinks(r: PagedReader, g: Hdf5Geometry, header: ObjectHeader, where: string, cached?: { btree: number; heap: number }): Promise<Hdf5Link[]> {
  const links: Hdf5Link[] = [];
  const add = (l: Hdf5Link, at: number): void => {
    if (links.length >= MAX_HDF5_LINKS_PER_GROUP) throw limitExceeded(`group ${where} has more than MAX_HDF5_LINKS_PER_GROUP (${MAX_HDF5_LINKS_PER_GROUP}) links`, at);
    links.push(l);
  };
  const table = header.messages.find((m) => m.type === MSG.symbolTable);
  if (table || (cached && !header.messages.some((m) => m.type === MSG.link || m.type === MSG.linkInfo))) {
    const { btree, heap } = table ? decodeSymbolTable(table.body, table.at, g) : cached!;
    await symbolTableLinks(r, g, btree, heap, where, add);
  }
  for (const m of header.messages) {
    if (m.type === MSG.link) add(decodeLink(m.body, m.at, g), m.at);
    if (m.type === MSG.linkInfo) {
      const info = decodeLinkInfo(m.body, m.at, g);
      if (info.heap === undefined || info.nameIndex === undefined) continue;
      const heap = await FractalHeap.open(r, g, info.heap, `the links of ${where}`);
      for (const record of await btree2Records(r, g, info.nameIndex, 5, `the links of ${where}`)) {
        if (record.length < LINK_NAME_RECORD) throw malformed(`a link name record of ${where} is too short`, info.nameIndex);
        const object = await heap.object(record.subarray(4, LINK_NAME_RECORD), info.nameIndex);
        add(decodeLink(object.bytes, object.at, g), object.at);
      }
    }
  }
  return links;
}

async function symbolTableLinks(r: PagedReader, g: Hdf5Geometry, btree: number, heapAddress: number, where: string, add: (l: Hdf5Link, at: number) => void): Promise<void> {
  const heap = await readLocalHeap(r, g, heapAddress);
  const O = g.offsetSize;
  const L = g.lengthSize;
  let visited = 0;
  const node = async (address: number, depth: number, expectLevel: number | undefined): Promise<void> => {
    if (depth > MAX_HDF5_BTREE_DEPTH) throw limitExceeded(`the group B-tree of ${where} is deeper than MAX_HDF5_BTREE_DEPTH (${MAX_HDF5_BTREE_DEPTH})`, address);
    if (++visited > MAX_HDF5_BTREE_RECORDS) throw limitExceeded(`the group B-tree of ${where} has more than MAX_HDF5_BTREE_RECORDS (${MAX_HDF5_BTREE_RECORDS}) nodes`, address);
    const head = new Fields(await r.bytes(address, 8 + 2 * O, `a group B-tree node of ${where}`), address, `a group B-tree node of ${where}`);
    if (latin(head.take(4)) !== 'TREE') throw malformed(`no B-tree node (TREE) in the symbol table of ${where}`, address);
    if (head.u8() !== 0) throw malformed(`a B-tree node of ${where} that is not a group node`, address + 4);
    const level = head.u8();
    const entries = head.u16();
    if (expectLevel !== undefined && level !== expectLevel) throw malformed(`a group B-tree node of ${where} at level ${level} (${expectLevel} expected)`, address);
    const body = new Fields(await r.bytes(address + 8 + 2 * O, entries * (L + O) + L, `a group B-tree node of ${where}`), address + 8 + 2 * O, `a group B-tree node of ${where}`);
    for (let i = 0; i < entries; i++) {
      body.skip(L); // key: a name's heap offset
      const child = body.address(g);
      if (child === undefined) throw malformed(`a group B-tree node of ${where} with an undefined child`, address);
      if (level > 0) await node(child, depth + 1, level - 1);
      else await symbolNode(child);
    }
  };
  const symbolNode = async (address: number): Promise<void> => {
    const head = await r.bytes(address, 8, `a symbol table node of ${where}`);
    if (latin(head.subarray(0, 4)) !== 'SNOD') throw malformed(`no symbol table node (SNOD) in the symbol table of ${where}`, address);
    const count = head[6]! | (head[7]! << 8);
    const entrySize = 2 * O + 24;
    const f = new Fields(await r.bytes(address + 8, count * entrySize, `a symbol table node of ${where}`), address + 8, `a symbol table node of ${where}`);
    for (let i = 0; i < count; i++) {
      const at = address + 8 + f.pos;
      const nameOffset = f.uint(O);
      const object = f.address(g);
      const cacheType = f.u32();
      f.skip(4);
      const scratch = f.take(16);
      const name = localHeapString(heap, nameOffset, at);
      if (cacheType === 2) {
        const valueOffset = (scratch[0]! | (scratch[1]! << 8) | (scratch[2]! << 16)) + scratch[3]! * 0x1000000;
        add({ name, target: { kind: 'soft', path: localHeapString(heap, valueOffset, at) } }, at);
      } else {
        if (object === undefined) throw malformed(`symbol ${JSON.stringify(name)} of ${where} has an undefined object address`, at);
        add({ name, target: { kind: 'hard', address: object } }, at);
      }
    }
  };
  await node(btree, 0, undefined);
}
