import type { PagedReader } from '../../io/cursor.js';
import { limitExceeded, malformed } from '../../io/format-problem.js';
import { utf8OrUndefined } from '../scan-rules.js';

/**
 * Reading FlatBuffers (flatbuffers.dev, the binary encoding of TFLite models): a root offset, tables
 * found through vtables, vectors and strings behind offsets. Shared machinery: each format passes its
 * own limits (a named constant each), which messages name.
 */

/** A limit and the name of its constant, for messages. */
export interface NamedLimit {
  readonly value: number;
  readonly name: string;
}

export interface FlatBufferLimits {
  /** Tables visited in all. */
  readonly tables: NamedLimit;
  /** Elements of one vector of tables or scalars wider than a byte (byte vectors are bounded by the file). */
  readonly vectorLength: NamedLimit;
  /** Bytes of one string. */
  readonly stringBytes: NamedLimit;
}

export interface Table {
  pos: number;
  vtable: number;
  vtableSize: number;
  tableSize: number;
}

/**
 * FlatBuffer tables over the one byte cursor (io/cursor.ts): every offset, vtable and vector checked
 * against the file, the tables visited, vector lengths and strings bounded by the format's limits.
 */
export class FlatBuffer {
  tables = 0;
  constructor(
    readonly r: PagedReader,
    readonly limits: FlatBufferLimits,
  ) {}

  async table(pos: number, what: string): Promise<Table> {
    const { tables } = this.limits;
    if (++this.tables > tables.value) throw limitExceeded(`more than ${tables.name} (${tables.value}) tables`, pos);
    const soffset = await this.r.i32(pos, what);
    const vtable = pos - soffset;
    this.r.check(vtable, 4, `the vtable of ${what}`);
    const vtableSize = await this.r.u16(vtable, `the vtable of ${what}`);
    const tableSize = await this.r.u16(vtable + 2, `the vtable of ${what}`);
    if (vtableSize < 4 || vtableSize % 2 !== 0) throw malformed(`${what}: vtable size ${vtableSize} is impossible`, vtable);
    this.r.check(vtable, vtableSize, `the vtable of ${what}`);
    this.r.check(pos, Math.max(4, tableSize), what);
    return { pos, vtable, vtableSize, tableSize };
  }

  /** Absolute position of field `index`, or undefined when absent. */
  async field(t: Table, index: number, what: string): Promise<number | undefined> {
    const slot = 4 + 2 * index;
    if (slot >= t.vtableSize) return undefined;
    const off = await this.r.u16(t.vtable + slot, what);
    if (off === 0) return undefined;
    if (off >= t.tableSize) throw malformed(`${what}: field ${index} lies outside its table`, t.pos);
    return t.pos + off;
  }

  /** Follows the offset stored at `pos` (tables, vectors, strings). */
  async ref(pos: number, what: string): Promise<number> {
    const target = pos + (await this.r.u32(pos, what));
    this.r.check(target, 4, what);
    return target;
  }

  /** A vector: [first element, length]; checks that `length * elementSize` bytes are in the file. */
  async vector(t: Table, index: number, elementSize: number, what: string): Promise<[number, number] | undefined> {
    const f = await this.field(t, index, what);
    if (f === undefined) return undefined;
    const v = await this.ref(f, what);
    const length = await this.r.u32(v, what);
    const max = this.limits.vectorLength;
    if (elementSize > 1 && length > max.value) throw limitExceeded(`${what} has ${length} elements, more than ${max.name} (${max.value})`, v);
    this.r.check(v + 4, length * elementSize, what);
    return [v + 4, length];
  }

  async string(t: Table, index: number, what: string): Promise<string | undefined> {
    const v = await this.vector(t, index, 1, what);
    if (v === undefined) return undefined;
    const max = this.limits.stringBytes;
    if (v[1] > max.value) throw limitExceeded(`${what} is ${v[1]} bytes long, more than ${max.name}`, v[0]);
    const text = utf8OrUndefined(await this.r.bytes(v[0], v[1], what));
    if (text === undefined) throw malformed(`${what} is not valid UTF-8`, v[0]);
    return text;
  }

  async scalarU32(t: Table, index: number, what: string, dflt = 0): Promise<number> {
    const f = await this.field(t, index, what);
    return f === undefined ? dflt : this.r.u32(f, what);
  }
  async scalarI32(t: Table, index: number, what: string, dflt = 0): Promise<number> {
    const f = await this.field(t, index, what);
    return f === undefined ? dflt : this.r.i32(f, what);
  }
  async scalarI8(t: Table, index: number, what: string): Promise<number> {
    const f = await this.field(t, index, what);
    return f === undefined ? 0 : ((await this.r.u8(f, what)) << 24) >> 24;
  }
  async scalarU64(t: Table, index: number, what: string): Promise<bigint> {
    const f = await this.field(t, index, what);
    return f === undefined ? 0n : this.r.u64(f, what);
  }

  /** The tables of a vector of tables. */
  async *tablesOf(t: Table, index: number, what: string): AsyncGenerator<[Table, number]> {
    const v = await this.vector(t, index, 4, what);
    if (v === undefined) return;
    for (let i = 0; i < v[1]; i++) yield [await this.table(await this.ref(v[0] + 4 * i, `${what}[${i}]`), `${what}[${i}]`), i];
  }
}
