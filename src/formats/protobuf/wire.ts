import { PagedReader } from '../../io/cursor.js';
import { limitExceeded, malformed } from '../../io/format-problem.js';
import { utf8OrUndefined } from '../scan-rules.js';

/**
 * A minimal protobuf wire-format walker over a PagedReader: it visits the fields of one message,
 * checking every key, varint and length against the message's end and the file, and reads only the
 * fields its caller asks for (so megabytes of raw tensor bytes are skipped, not read).
 */

/** Protobuf's own limit on a varint. */
const MAX_VARINT_BYTES = 10;

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

export interface PbField {
  readonly no: number;
  readonly wire: number;
  /** Offset of the field's key. */
  readonly at: number;
  /** Length-delimited: the payload's range. Others: the value's range. */
  readonly start: number;
  readonly end: number;
  /** Varint fields: the value (exact up to 2^53; larger values are saturated). */
  readonly value: number;
}

export interface PbBudget {
  /** Fields left to visit before the walk stops with a limit finding. */
  fields: number;
  readonly limitName: string;
}

/** What a walk over one file shares: its reader and its field budget. */
export interface PbWalk {
  readonly r: PagedReader;
  readonly budget: PbBudget;
}

/** Decodes a varint at `offset` (before `end`); [value, bytes]. Values above 2^53 saturate to MAX_SAFE_INTEGER + 1. */
export async function readVarint(r: PagedReader, offset: number, end: number, what: string): Promise<[number, number]> {
  return decodeVarint(await r.bytes(offset, Math.min(MAX_VARINT_BYTES, end - offset), what), offset, what);
}

/** The same without waiting when the bytes are in the reader's current page; undefined otherwise. */
function peekVarint(r: PagedReader, offset: number, end: number, what: string): [number, number] | undefined {
  const b = r.peek(offset, Math.min(MAX_VARINT_BYTES, end - offset));
  return b === undefined ? undefined : decodeVarint(b, offset, what);
}

function decodeVarint(b: Uint8Array, offset: number, what: string): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < b.length; i++) {
    const byte = b[i]!;
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if ((byte & 0x80) === 0) return [Math.min(value, Number.MAX_SAFE_INTEGER + 1), i + 1];
  }
  throw malformed(b.length === MAX_VARINT_BYTES ? `${what}: a varint longer than ${MAX_VARINT_BYTES} bytes` : `${what}: a varint runs past the end of its message`, offset);
}

/**
 * Calls `each(lo, hi)` with the low and high 32 bits (unsigned) of every varint in `b` (each up to 10
 * bytes, a 64-bit value, two's complement of negatives); returns how many there were. Nothing is kept:
 * a field of millions of varints is counted or decoded into place without an array of BigInts.
 */
export function eachVarint(b: Uint8Array, offset: number, each?: (lo: number, hi: number) => void): number {
  let count = 0;
  let i = 0;
  while (i < b.length) {
    let lo = 0;
    let hi = 0;
    let n = 0;
    for (;;) {
      if (i >= b.length || n >= 10) throw malformed('a varint runs past the end of its field or is longer than 10 bytes', offset + i);
      const byte = b[i++]!;
      if (n < 4) lo += (byte & 0x7f) * 2 ** (7 * n);
      else if (n === 4) {
        lo += (byte & 0x0f) * 2 ** 28;
        hi += (byte & 0x70) >> 4;
      } else hi += (byte & 0x7f) * 2 ** (7 * (n - 5) + 3);
      n++;
      if ((byte & 0x80) === 0) break;
    }
    // The 10th byte reaches past bit 63: kept modulo 2^64, as protobuf does.
    each?.(lo, hi >>> 0);
    count++;
  }
  return count;
}

/** How many varints `b` holds (each checked as eachVarint checks it). */
export function countVarints(b: Uint8Array, offset: number): number {
  return eachVarint(b, offset);
}

/** Varints as unsigned 64-bit values (for a field of one or a few; many are decoded with eachVarint). */
export function varints(b: Uint8Array, offset: number): bigint[] {
  const out: bigint[] = [];
  eachVarint(b, offset, (lo, hi) => out.push((BigInt(hi) << 32n) | BigInt(lo)));
  return out;
}

/**
 * Whether a field of a repeated scalar whose elements have wire type `element` is one protobuf reads
 * as such: its elements one by one, or packed (length-delimited). A field of the right number with
 * another wire type is, to protobuf, an unknown field: not one of the values.
 */
export function isRepeatedScalar(f: PbField, element: number): boolean {
  return f.wire === element || f.wire === WIRE_LEN;
}

/**
 * Walks the fields of the message [start, end), checking every one (groups, wire types 3 and 4, and
 * field number 0 are malformed; lengths must stay inside the message), and calls `visit` for the
 * field numbers in `interesting` only. Other fields are skipped without waiting when their bytes
 * are already in memory.
 */
export async function walkMessage(
  r: PagedReader,
  start: number,
  end: number,
  what: string,
  budget: PbBudget,
  interesting: ReadonlySet<number>,
  visit: (f: PbField) => Promise<void> | void,
): Promise<void> {
  let pos = start;
  while (pos < end) {
    if (--budget.fields < 0) throw limitExceeded(`more protobuf fields than ${budget.limitName}`, pos);
    const at = pos;
    const [key, kn] = peekVarint(r, pos, end, what) ?? (await readVarint(r, pos, end, what));
    pos += kn;
    const no = Math.floor(key / 8);
    const wire = key % 8;
    if (no === 0 || no > 536_870_911) throw malformed(`${what}: field number ${no} is not valid`, at);
    let fieldEnd: number;
    let value = 0;
    let payload = pos;
    switch (wire) {
      case WIRE_VARINT: {
        const [v, n] = peekVarint(r, pos, end, what) ?? (await readVarint(r, pos, end, what));
        value = v;
        fieldEnd = pos + n;
        break;
      }
      case WIRE_FIXED64:
      case WIRE_FIXED32: {
        const n = wire === WIRE_FIXED64 ? 8 : 4;
        if (pos + n > end) throw malformed(`${what}: field ${no} runs past the end of its message`, at);
        fieldEnd = pos + n;
        break;
      }
      case WIRE_LEN: {
        const [length, n] = peekVarint(r, pos, end, what) ?? (await readVarint(r, pos, end, what));
        payload = pos + n;
        if (length > end - payload) throw malformed(`${what}: field ${no} is ${length} bytes long, past the end of its message (${end - payload} bytes left)`, at);
        value = length;
        fieldEnd = payload + length;
        break;
      }
      default:
        throw malformed(`${what}: field ${no} has wire type ${wire} (${wire === 3 || wire === 4 ? 'groups are not used by this format' : 'no such wire type'})`, at);
    }
    pos = fieldEnd;
    if (interesting.has(no)) await visit({ no, wire, at, start: payload, end: fieldEnd, value });
  }
}

/** Walks a length-delimited field as a message (`walkMessage` over its payload), its wire type checked first. */
export function walkField(w: PbWalk, f: PbField, what: string, interesting: ReadonlySet<number>, visit: (g: PbField) => Promise<void> | void): Promise<void> {
  expectWire(f, WIRE_LEN, what);
  return walkMessage(w.r, f.start, f.end, what, w.budget, interesting, visit);
}

/** Throws unless the field has the wire type its schema gives it. */
export function expectWire(f: PbField, wire: number, what: string): void {
  if (f.wire !== wire) {
    const names = ['varint', 'fixed64', 'length-delimited', 'group start', 'group end', 'fixed32'];
    throw malformed(`${what} (field ${f.no}) has wire type ${names[f.wire] ?? f.wire}, expected ${names[wire]}`, f.at);
  }
}

/** A string field's text (at most `max` bytes; longer is a limit problem). Invalid UTF-8 is malformed. */
export async function readPbString(r: PagedReader, f: PbField, max: number, what: string, limitName: string): Promise<string> {
  expectWire(f, WIRE_LEN, what);
  const n = f.end - f.start;
  if (n > max) throw limitExceeded(`${what} is ${n} bytes long, more than ${limitName} (${max})`, f.at);
  const text = utf8OrUndefined(await r.bytes(f.start, n, what));
  if (text === undefined) throw malformed(`${what} is not valid UTF-8`, f.at);
  return text;
}
