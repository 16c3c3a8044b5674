import { PickleError } from './errors.js';
import { MAX_LINE_BYTES, MAX_LONG_BYTES, MAX_STRING_BYTES } from './limits.js';
import { OPCODES, type OpcodeInfo } from './opcodes.js';

/** One decoded opcode: where it is, what it is, and its argument. */
export interface Op {
  readonly info: OpcodeInfo;
  /** Offset of the opcode byte. */
  readonly pos: number;
  /** Offset just after the argument. */
  readonly end: number;
  readonly arg: OpArg;
}

export type OpArg = undefined | number | bigint | string | Uint8Array | readonly [string, string];

const latin1 = new TextDecoder('latin1');

/**
 * Decodes the opcode at `pos` (the genops of pickletools): checks every length against the
 * bytes that remain before anything is allocated. Throws PickleError; never reads out of bounds.
 */
export function readOp(bytes: Uint8Array, pos: number, where: string): Op {
  if (pos >= bytes.length) throw new PickleError('PickleTruncated', 'the pickle ends without a STOP opcode', where, pos);
  const code = bytes[pos]!;
  const info = OPCODES[code];
  if (!info) throw new PickleError('InvalidOpcode', `0x${code.toString(16).padStart(2, '0')} is not a pickle opcode`, where, pos);
  let at = pos + 1;
  const need = (n: number): void => {
    if (at + n > bytes.length) throw new PickleError('PickleTruncated', `${info.name} needs ${n} more bytes than the pickle has`, where, pos);
  };
  const view = (): DataView => new DataView(bytes.buffer, bytes.byteOffset + at);
  let arg: OpArg;
  switch (info.arg) {
    case 'none':
      break;
    case 'uint1':
      need(1);
      arg = bytes[at]!;
      at += 1;
      break;
    case 'uint2':
      need(2);
      arg = bytes[at]! | (bytes[at + 1]! << 8);
      at += 2;
      break;
    case 'int4':
      need(4);
      arg = view().getInt32(0, true);
      at += 4;
      break;
    case 'uint4':
      need(4);
      arg = view().getUint32(0, true);
      at += 4;
      break;
    case 'uint8': {
      need(8);
      const v = view().getBigUint64(0, true);
      arg = v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
      at += 8;
      break;
    }
    case 'float8':
      need(8);
      arg = view().getFloat64(0, false);
      at += 8;
      break;
    case 'long1':
    case 'long4': {
      const width = info.arg === 'long1' ? 1 : 4;
      need(width);
      const n = width === 1 ? bytes[at]! : view().getUint32(0, true);
      at += width;
      if (n > MAX_LONG_BYTES) throw new PickleError('PickleLimit', `${info.name} of ${n} bytes is larger than ${MAX_LONG_BYTES}`, where, pos);
      need(n);
      arg = decodeLong(bytes.subarray(at, at + n));
      at += n;
      break;
    }
    case 'bytes1':
    case 'bytes4':
    case 'bytes8': {
      const width = info.arg === 'bytes1' ? 1 : info.arg === 'bytes4' ? 4 : 8;
      need(width);
      let n: number;
      if (width === 1) n = bytes[at]!;
      else if (width === 4) n = view().getUint32(0, true);
      else {
        const big = view().getBigUint64(0, true);
        n = big > BigInt(MAX_STRING_BYTES) ? Infinity : Number(big);
      }
      at += width;
      if (n > MAX_STRING_BYTES) throw new PickleError('PickleLimit', `${info.name} declares ${n} bytes, more than ${MAX_STRING_BYTES}`, where, pos);
      need(n);
      arg = bytes.subarray(at, at + n);
      at += n;
      break;
    }
    case 'decimalnl':
    case 'floatnl':
    case 'stringnl':
    case 'unicodenl': {
      const line = readLine(bytes, at, where, pos, info.name);
      at = line.next;
      if (info.arg === 'unicodenl') {
        const text = decodeRawUnicodeEscapeStrict(line.bytes);
        // CPython's raw-unicode-escape codec fails on a truncated or out-of-range \u or \U escape.
        if (text === undefined) throw new PickleError('InvalidPickle', `${info.name} argument has a truncated or invalid \\u or \\U escape`, where, pos);
        arg = text;
      } else arg = latin1.decode(line.bytes);
      break;
    }
    case 'stringnl_pair': {
      const a = readLine(bytes, at, where, pos, info.name);
      const b = readLine(bytes, a.next, where, pos, info.name);
      at = b.next;
      arg = [decodeUtf8Name(a.bytes, where, pos), decodeUtf8Name(b.bytes, where, pos)] as const;
      break;
    }
  }
  return { info, pos, end: at, arg };
}

function readLine(bytes: Uint8Array, at: number, where: string, pos: number, name: string): { bytes: Uint8Array; next: number } {
  const nl = bytes.indexOf(0x0a, at);
  if (nl < 0) throw new PickleError('PickleTruncated', `${name} argument has no terminating newline`, where, pos);
  if (nl - at > MAX_LINE_BYTES) throw new PickleError('PickleLimit', `${name} argument is longer than ${MAX_LINE_BYTES} bytes`, where, pos);
  return { bytes: bytes.subarray(at, nl), next: nl + 1 };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** GLOBAL / INST names: UTF-8 (Python 3 writes them so; pickletools reads them as such). */
function decodeUtf8Name(bytes: Uint8Array, where: string, pos: number): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new PickleError('InvalidPickle', 'a global name is not valid UTF-8', where, pos);
  }
}

/** A little-endian two's complement integer of any length; a number when it is a safe integer. */
export function decodeLong(bytes: Uint8Array): number | bigint {
  if (bytes.length === 0) return 0;
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
  if (bytes[bytes.length - 1]! & 0x80) v -= 1n << BigInt(bytes.length * 8);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/**
 * Python's raw-unicode-escape decoder, leniently: as decodeRawUnicodeEscapeStrict, with an escape
 * CPython refuses kept as its bytes.
 */
export function decodeRawUnicodeEscape(bytes: Uint8Array): string {
  return rawUnicodeEscape(bytes, false)!;
}

/**
 * Python's raw-unicode-escape decoder exactly (Objects/unicodeobject.c): a backslash and the byte
 * after it are taken together; `\uXXXX` and `\UXXXXXXXX` are code points, every other byte is
 * Latin-1. Undefined where CPython raises (a truncated escape, a non-hex digit, a code point past
 * U+10FFFF).
 */
export function decodeRawUnicodeEscapeStrict(bytes: Uint8Array): string | undefined {
  return rawUnicodeEscape(bytes, true);
}

function rawUnicodeEscape(bytes: Uint8Array, strict: boolean): string | undefined {
  const parts: string[] = [];
  let run = 0;
  const flush = (to: number): void => {
    if (to > run) parts.push(latin1.decode(bytes.subarray(run, to)));
  };
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== 0x5c || i + 1 >= bytes.length) continue;
    const e = bytes[i + 1];
    if (e !== 0x75 && e !== 0x55) {
      i++; // a backslash and the byte after it stand for themselves
      continue;
    }
    const width = e === 0x75 ? 4 : 8;
    const hex = latin1.decode(bytes.subarray(i + 2, i + 2 + width));
    const cp = hex.length === width && /^[0-9a-fA-F]+$/.test(hex) ? parseInt(hex, 16) : -1;
    if (cp < 0 || cp > 0x10ffff) {
      if (strict) return undefined;
      i++;
      continue;
    }
    flush(i);
    parts.push(String.fromCodePoint(cp));
    run = i + 2 + width;
    i = run - 1;
  }
  flush(bytes.length);
  return parts.join('');
}
