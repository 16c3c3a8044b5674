import { malformed } from '../../io/format-problem.js';

/**
 * The fields of a small protobuf message held in memory (a TensorFlow bundle entry or header: tens of
 * bytes), read synchronously. Large messages (saved_model.pb) are walked with protobuf/wire.ts over
 * the file instead. Every length is checked against the message; groups and field number 0 are malformed.
 */
export interface SmallField {
  readonly no: number;
  readonly wire: number;
  /** Varint and fixed fields: the value (varints exact up to 2^53, saturated above: a negative int64 reads as 2^53). */
  readonly value: number;
  /** Length-delimited fields: the payload. */
  readonly bytes: Uint8Array;
}

/** A varint at `pos` in `b`: [value (saturated past 2^53), bytes]. */
export function varintAt(b: Uint8Array, pos: number, at: number, what: string): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos + i >= b.length) throw malformed(`${what}: a varint runs past the end`, at + pos);
    const byte = b[pos + i]!;
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if ((byte & 0x80) === 0) return [Math.min(value, Number.MAX_SAFE_INTEGER + 1), i + 1];
  }
  throw malformed(`${what}: a varint longer than 10 bytes`, at + pos);
}

/** The fields of the message `b`, in order. `at`: its offset in its file (messages). */
export function smallFields(b: Uint8Array, at: number, what: string): SmallField[] {
  const out: SmallField[] = [];
  let pos = 0;
  while (pos < b.length) {
    const [key, kn] = varintAt(b, pos, at, what);
    pos += kn;
    const no = Math.floor(key / 8);
    const wire = key % 8;
    if (no === 0) throw malformed(`${what}: field number 0`, at + pos);
    if (wire === 0) {
      const [value, n] = varintAt(b, pos, at, what);
      out.push({ no, wire, value, bytes: EMPTY });
      pos += n;
    } else if (wire === 1 || wire === 5) {
      const n = wire === 1 ? 8 : 4;
      if (pos + n > b.length) throw malformed(`${what}: a fixed field runs past the end`, at + pos);
      const v = new DataView(b.buffer, b.byteOffset + pos, n);
      out.push({ no, wire, value: n === 4 ? v.getUint32(0, true) : Number(v.getBigUint64(0, true)), bytes: EMPTY });
      pos += n;
    } else if (wire === 2) {
      const [n, ln] = varintAt(b, pos, at, what);
      pos += ln;
      if (n > b.length - pos) throw malformed(`${what}: field ${no} of ${n} bytes runs past the end of its message`, at + pos);
      out.push({ no, wire, value: 0, bytes: b.subarray(pos, pos + n) });
      pos += n;
    } else {
      throw malformed(`${what}: wire type ${wire} (field ${no}) is not read`, at + pos);
    }
  }
  return out;
}

const EMPTY = new Uint8Array(0);

/**
 * A varint at `at` in `b` before `end`, for detectors looking at a head: [value, bytes], or undefined
 * where it runs past `end` or past 10 bytes (a head that stops mid-varint is not an error there).
 */
export function peekVarint(b: Uint8Array, at: number, end = b.length): [number, number] | undefined {
  let v = 0;
  for (let i = 0; i < 10 && at + i < end; i++) {
    const x = b[at + i]!;
    v += (x & 0x7f) * 2 ** (7 * i);
    if ((x & 0x80) === 0) return [v, i + 1];
  }
  return undefined;
}
