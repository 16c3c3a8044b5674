import type { PagedReader } from '../../io/cursor.js';
import { limitExceeded, malformed } from '../../io/format-problem.js';
import { Fields, align8, latin } from './fields.js';
import type { Hdf5Geometry } from './geometry.js';
import { MAX_HDF5_HEADER_BLOCK_BYTES, MAX_HDF5_HEAP_OBJECTS } from './limits.js';

/** Global heap collections kept parsed (their object tables): bounds the memory of many collections. */
const MAX_CACHED_COLLECTIONS = 64;

/** A local heap's data segment (an old-style group's link names). */
export async function readLocalHeap(r: PagedReader, g: Hdf5Geometry, address: number): Promise<Uint8Array> {
  const f = new Fields(await r.bytes(address, 8 + 2 * g.lengthSize + g.offsetSize, 'a local heap'), address, 'a local heap');
  if (latin(f.take(4)) !== 'HEAP') throw malformed('no local heap (HEAP) where a symbol table says', address);
  f.skip(4); // version, reserved
  const size = f.length(g);
  f.skip(g.lengthSize); // free list
  const data = f.address(g);
  if (data === undefined) throw malformed('a local heap with an undefined data segment', address);
  if (size > MAX_HDF5_HEADER_BLOCK_BYTES) throw limitExceeded(`a local heap of ${size} bytes, more than MAX_HDF5_HEADER_BLOCK_BYTES`, address);
  return r.bytes(data, size, 'a local heap data segment');
}

/** The NUL-terminated string at `offset` in a local heap's data segment. */
export function localHeapString(heap: Uint8Array, offset: number, at: number): string {
  if (offset >= heap.length) throw malformed(`a name at offset ${offset} of a local heap of ${heap.length} bytes`, at);
  const end = heap.indexOf(0, offset);
  if (end < 0) throw malformed('a local heap name without its terminating NUL', at);
  return new TextDecoder().decode(heap.subarray(offset, end));
}

/** The file's global heap collections (variable-length strings), parsed once each. */
export class GlobalHeap {
  private readonly collections = new Map<number, Map<number, { at: number; size: number }>>();

  constructor(
    private readonly r: PagedReader,
    private readonly g: Hdf5Geometry,
  ) {}

  /** The bytes of object `index` of the collection at `address` (absolute). */
  async object(address: number, index: number): Promise<Uint8Array> {
    const objects = await this.collection(address);
    const o = objects.get(index);
    if (o === undefined) throw malformed(`object ${index} is not in the global heap collection at ${address}`, address);
    return this.r.bytes(o.at, o.size, 'a global heap object');
  }

  private async collection(address: number): Promise<Map<number, { at: number; size: number }>> {
    const hit = this.collections.get(address);
    if (hit) return hit;
    const L = this.g.lengthSize;
    const head = new Fields(await this.r.bytes(address, 8 + L, 'a global heap collection'), address, 'a global heap collection');
    if (latin(head.take(4)) !== 'GCOL') throw malformed('no global heap collection (GCOL) where a variable-length value points', address);
    head.skip(4);
    const size = head.length(this.g);
    if (size < 8 + L || size > MAX_HDF5_HEADER_BLOCK_BYTES) throw malformed(`a global heap collection of impossible size ${size}`, address);
    const bytes = await this.r.bytes(address, size, 'a global heap collection');
    const objects = new Map<number, { at: number; size: number }>();
    let p = 8 + L;
    while (p + 8 + L <= size) {
      if (objects.size >= MAX_HDF5_HEAP_OBJECTS) throw limitExceeded(`more than MAX_HDF5_HEAP_OBJECTS (${MAX_HDF5_HEAP_OBJECTS}) objects in a global heap collection`, address);
      const f = new Fields(bytes.subarray(p, p + 8 + L), address + p, 'a global heap object');
      const index = f.u16();
      f.skip(6);
      const objectSize = f.length(this.g);
      if (index === 0) break; // free space: the rest of the collection
      if (p + 8 + L + objectSize > size) throw malformed('a global heap object runs past its collection', address + p);
      objects.set(index, { at: address + p + 8 + L, size: objectSize });
      p += 8 + L + align8(objectSize);
    }
    if (this.collections.size >= MAX_CACHED_COLLECTIONS) this.collections.clear();
    this.collections.set(address, objects);
    return objects;
  }
}
