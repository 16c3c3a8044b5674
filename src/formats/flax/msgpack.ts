import type { ByteSource } from '../../io/byte-source.js';
import { Cursor } from '../../io/cursor.js';
import { limitExceeded, malformed } from '../../io/format-problem.js';
import { show, utf8OrUndefined } from '../scan-rules.js';
import { MAX_FLAX_DEPTH, MAX_FLAX_DIMS, MAX_FLAX_ITEMS, MAX_FLAX_STRING_BYTES } from './limits.js';

/**
 * A bounded msgpack reader (https://github.com/msgpack/msgpack/blob/master/spec.md) with Flax's
 * extensions (flax/serialization.py): every type (nil, bool, ints, floats, str, bin, array, map, ext),
 * read from a source in order, never the whole file into memory. Binary data is not read: a `bin` is
 * its place in the file. Extension 1 (an ndarray) and 3 (a numpy scalar) hold a nested msgpack
 * `[shape, dtype name, buffer]`, read as a FlaxArray whose buffer is its place in the file; extension 2
 * is a complex number `[real, imag]`; other extensions are kept as their code and place. Throws
 * FormatProblems: the reader codes them, the scan rules report them.
 */

export type MsgValue = null | boolean | number | bigint | string | MsgBin | MsgValue[] | MsgMap | FlaxArray | MsgComplex | MsgExt;

/** Binary data, by its place in the file. */
export class MsgBin {
  constructor(
    readonly offset: number,
    readonly length: number,
  ) {}
}

/** A map: its entries in the file's order. */
export class MsgMap {
  constructor(readonly entries: readonly (readonly [MsgValue, MsgValue])[]) {}
  get(key: string): MsgValue | undefined {
    return this.entries.find(([k]) => k === key)?.[1];
  }
}

/** Extension 1 (`np.ndarray`) or 3 (a numpy scalar, a 0-d array): shape, dtype name, and where the buffer lies. */
export class FlaxArray {
  constructor(
    readonly shape: readonly number[],
    readonly dtype: string,
    readonly offset: number,
    readonly length: number,
    readonly scalar: boolean,
    /** Where the extension starts, for messages. */
    readonly at: number,
  ) {}
}

/** Extension 2: a Python complex. */
export class MsgComplex {
  constructor(
    readonly real: number,
    readonly imag: number,
  ) {}
}

/** An extension Flax does not write: its code and payload's place. */
export class MsgExt {
  constructor(
    readonly code: number,
    readonly offset: number,
    readonly length: number,
  ) {}
}

export async function readMsgpack(source: ByteSource): Promise<MsgValue> {
  const r = new Reader(new Cursor(source));
  const value = await r.value(0);
  if (r.c.pos !== source.size) throw malformed(`${source.size - r.c.pos} bytes follow the msgpack value (msgpack_restore refuses extra data)`, r.c.pos);
  return value;
}

class Reader {
  private items = 0;
  constructor(readonly c: Cursor) {}

  private async u(n: 1 | 2 | 4 | 8, what: string): Promise<number | bigint> {
    await this.c.need(n, what);
    // msgpack is big-endian.
    this.c.littleEndian = false;
    const v = n === 1 ? this.c.u8() : n === 2 ? this.c.u16() : n === 4 ? this.c.u32() : this.c.u64();
    this.c.littleEndian = true;
    return v;
  }

  private async count(n: 1 | 2 | 4, what: string): Promise<number> {
    return Number(await this.u(n, what));
  }

  private charge(n: number, at: number): void {
    this.items += n;
    if (this.items > MAX_FLAX_ITEMS) throw limitExceeded(`more than MAX_FLAX_ITEMS (${MAX_FLAX_ITEMS}) values`, at);
  }

  async value(depth: number): Promise<MsgValue> {
    const at = this.c.pos;
    if (depth > MAX_FLAX_DEPTH) throw limitExceeded(`values nested more than MAX_FLAX_DEPTH (${MAX_FLAX_DEPTH}) deep`, at);
    const t = Number(await this.u(1, 'a type byte'));
    if (t <= 0x7f) return t;
    if (t >= 0xe0) return t - 0x100;
    if (t <= 0x8f) return this.map(t & 0x0f, depth, at);
    if (t <= 0x9f) return this.array(t & 0x0f, depth, at);
    if (t <= 0xbf) return this.str(t & 0x1f, at);
    switch (t) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4:
      case 0xc5:
      case 0xc6: {
        const length = await this.count((1 << (t - 0xc4)) as 1 | 2 | 4, 'a bin length');
        const offset = this.c.pos;
        this.c.skip(length, 'bin data');
        return new MsgBin(offset, length);
      }
      case 0xc7:
      case 0xc8:
      case 0xc9:
        return this.ext(await this.count((1 << (t - 0xc7)) as 1 | 2 | 4, 'an ext length'), depth, at);
      case 0xca: {
        await this.c.need(4, 'a float32');
        const v = new DataView(this.c.take(4).slice().buffer).getFloat32(0, false);
        return v;
      }
      case 0xcb: {
        await this.c.need(8, 'a float64');
        return new DataView(this.c.take(8).slice().buffer).getFloat64(0, false);
      }
      case 0xcc:
      case 0xcd:
      case 0xce:
      case 0xcf: {
        const v = await this.u((1 << (t - 0xcc)) as 1 | 2 | 4 | 8, 'an unsigned int');
        return typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
      }
      case 0xd0:
      case 0xd1:
      case 0xd2:
      case 0xd3: {
        const n = (1 << (t - 0xd0)) as 1 | 2 | 4 | 8;
        const v = await this.u(n, 'an int');
        const s = BigInt.asIntN(n * 8, BigInt(v));
        return s >= BigInt(Number.MIN_SAFE_INTEGER) && s <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(s) : s;
      }
      case 0xd4:
      case 0xd5:
      case 0xd6:
      case 0xd7:
      case 0xd8:
        return this.ext(1 << (t - 0xd4), depth, at);
      case 0xd9:
      case 0xda:
      case 0xdb:
        return this.str(await this.count((1 << (t - 0xd9)) as 1 | 2 | 4, 'a str length'), at);
      case 0xdc:
      case 0xdd:
        return this.array(await this.count(t === 0xdc ? 2 : 4, 'an array length'), depth, at);
      case 0xde:
      case 0xdf:
        return this.map(await this.count(t === 0xde ? 2 : 4, 'a map length'), depth, at);
      default:
        throw malformed(`type byte 0x${t.toString(16)} is never used by msgpack`, at);
    }
  }

  private async str(length: number, at: number): Promise<string> {
    if (length > MAX_FLAX_STRING_BYTES) throw limitExceeded(`a string of ${length} bytes, more than MAX_FLAX_STRING_BYTES (${MAX_FLAX_STRING_BYTES})`, at);
    await this.c.need(length, 'a string');
    const s = utf8OrUndefined(this.c.take(length));
    if (s === undefined) throw malformed('a string is not valid UTF-8 (msgpack_restore decodes str as UTF-8)', at);
    return s;
  }

  private async array(n: number, depth: number, at: number): Promise<MsgValue[]> {
    this.charge(n, at);
    const out: MsgValue[] = [];
    for (let i = 0; i < n; i++) out.push(await this.value(depth + 1));
    return out;
  }

  private async map(n: number, depth: number, at: number): Promise<MsgMap> {
    this.charge(2 * n, at);
    const entries: [MsgValue, MsgValue][] = [];
    const keys = new Set<string>();
    for (let i = 0; i < n; i++) {
      const keyAt = this.c.pos;
      const key = await this.value(depth + 1);
      // msgpack_restore makes a dict: an unhashable key (a list, a map) fails there.
      if (Array.isArray(key) || key instanceof MsgMap) throw malformed('a map key is an array or a map, which Python cannot hash', keyAt);
      if (typeof key === 'string') {
        if (keys.has(key)) throw malformed(`the map key ${show(key)} is given twice`, keyAt);
        keys.add(key);
      }
      entries.push([key, await this.value(depth + 1)]);
    }
    return new MsgMap(entries);
  }

  private async ext(length: number, depth: number, at: number): Promise<MsgValue> {
    await this.c.need(1, 'an ext type');
    const code = BigInt.asIntN(8, BigInt(this.c.u8()));
    const start = this.c.pos;
    const end = start + length;
    if (end > this.c.source.size) throw malformed(`an ext of ${length} bytes runs past the end of the file`, at);
    if (code === 1n || code === 3n) {
      const inner = await this.value(depth + 1);
      if (this.c.pos !== end) throw malformed(`the ndarray extension's payload is ${length} bytes, but its msgpack value ends after ${this.c.pos - start}`, at);
      return flaxArray(inner, code === 3n, at);
    }
    if (code === 2n) {
      const inner = await this.value(depth + 1);
      if (this.c.pos !== end || !Array.isArray(inner) || inner.length !== 2 || typeof inner[0] !== 'number' || typeof inner[1] !== 'number') {
        throw malformed('the complex extension (2) is not a msgpack [real, imag] filling its payload', at);
      }
      return new MsgComplex(inner[0], inner[1]);
    }
    this.c.skip(length, 'ext data');
    return new MsgExt(Number(code), start, length);
  }
}

/** `msgpack.packb((arr.shape, arr.dtype.name, arr.tobytes('C')))`, as `_ndarray_from_bytes` reads it. */
function flaxArray(inner: MsgValue, scalar: boolean, at: number): FlaxArray {
  if (!Array.isArray(inner) || inner.length !== 3) throw malformed('an ndarray extension is not a msgpack [shape, dtype, buffer]', at);
  const [shape, dtype, buffer] = inner;
  if (!Array.isArray(shape) || shape.some((d) => typeof d !== 'number' || d < 0)) throw malformed('an ndarray extension\'s shape is not non-negative integers', at);
  if (shape.length > MAX_FLAX_DIMS) throw limitExceeded(`an array of ${shape.length} dimensions, more than MAX_FLAX_DIMS (${MAX_FLAX_DIMS})`, at);
  // The dtype name is packed as str; a bin holding it would be read the same by msgpack_restore's raw=True.
  if (typeof dtype !== 'string') throw malformed(`an ndarray extension's dtype is not a name`, at);
  if (!(buffer instanceof MsgBin)) throw malformed('an ndarray extension\'s buffer is not bin data', at);
  return new FlaxArray(shape as number[], dtype, buffer.offset, buffer.length, scalar, at);
}
