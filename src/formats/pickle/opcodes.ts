/**
 * The pickle opcodes of protocols 0–5 (CPython's Lib/pickletools.py), with how each one's
 * argument is encoded in the stream.
 */

/** How an opcode's argument is laid out after the opcode byte. */
export type ArgKind =
  | 'none'
  | 'uint1'
  | 'uint2'
  | 'int4'
  | 'uint4'
  | 'uint8'
  | 'float8' // big-endian IEEE double
  | 'long1' // 1-byte length, then a little-endian two's complement integer
  | 'long4'
  | 'bytes1' // 1-byte length, then bytes
  | 'bytes4'
  | 'bytes8'
  | 'decimalnl' // ASCII integer up to a newline (INT, LONG, GET, PUT)
  | 'floatnl'
  | 'stringnl' // a Python string literal (repr) up to a newline
  | 'unicodenl' // raw-unicode-escape text up to a newline
  | 'stringnl_pair'; // "module\nname\n"

export interface OpcodeInfo {
  readonly code: number;
  readonly name: string;
  readonly arg: ArgKind;
  /** Protocol that introduced it. */
  readonly proto: number;
}

const TABLE: [string, string, ArgKind, number][] = [
  ['(', 'MARK', 'none', 0],
  ['.', 'STOP', 'none', 0],
  ['0', 'POP', 'none', 0],
  ['1', 'POP_MARK', 'none', 1],
  ['2', 'DUP', 'none', 0],
  ['F', 'FLOAT', 'floatnl', 0],
  ['I', 'INT', 'decimalnl', 0],
  ['J', 'BININT', 'int4', 1],
  ['K', 'BININT1', 'uint1', 1],
  ['L', 'LONG', 'decimalnl', 0],
  ['M', 'BININT2', 'uint2', 1],
  ['N', 'NONE', 'none', 0],
  ['P', 'PERSID', 'stringnl', 0],
  ['Q', 'BINPERSID', 'none', 1],
  ['R', 'REDUCE', 'none', 0],
  ['S', 'STRING', 'stringnl', 0],
  ['T', 'BINSTRING', 'bytes4', 1],
  ['U', 'SHORT_BINSTRING', 'bytes1', 1],
  ['V', 'UNICODE', 'unicodenl', 0],
  ['X', 'BINUNICODE', 'bytes4', 1],
  ['a', 'APPEND', 'none', 0],
  ['b', 'BUILD', 'none', 0],
  ['c', 'GLOBAL', 'stringnl_pair', 0],
  ['d', 'DICT', 'none', 0],
  ['}', 'EMPTY_DICT', 'none', 1],
  ['e', 'APPENDS', 'none', 1],
  ['g', 'GET', 'decimalnl', 0],
  ['h', 'BINGET', 'uint1', 1],
  ['i', 'INST', 'stringnl_pair', 0],
  ['j', 'LONG_BINGET', 'uint4', 1],
  ['l', 'LIST', 'none', 0],
  [']', 'EMPTY_LIST', 'none', 1],
  ['o', 'OBJ', 'none', 1],
  ['p', 'PUT', 'decimalnl', 0],
  ['q', 'BINPUT', 'uint1', 1],
  ['r', 'LONG_BINPUT', 'uint4', 1],
  ['s', 'SETITEM', 'none', 0],
  ['t', 'TUPLE', 'none', 0],
  [')', 'EMPTY_TUPLE', 'none', 1],
  ['u', 'SETITEMS', 'none', 1],
  ['G', 'BINFLOAT', 'float8', 1],
  ['\x80', 'PROTO', 'uint1', 2],
  ['\x81', 'NEWOBJ', 'none', 2],
  ['\x82', 'EXT1', 'uint1', 2],
  ['\x83', 'EXT2', 'uint2', 2],
  ['\x84', 'EXT4', 'int4', 2],
  ['\x85', 'TUPLE1', 'none', 2],
  ['\x86', 'TUPLE2', 'none', 2],
  ['\x87', 'TUPLE3', 'none', 2],
  ['\x88', 'NEWTRUE', 'none', 2],
  ['\x89', 'NEWFALSE', 'none', 2],
  ['\x8a', 'LONG1', 'long1', 2],
  ['\x8b', 'LONG4', 'long4', 2],
  ['B', 'BINBYTES', 'bytes4', 3],
  ['C', 'SHORT_BINBYTES', 'bytes1', 3],
  ['\x8c', 'SHORT_BINUNICODE', 'bytes1', 4],
  ['\x8d', 'BINUNICODE8', 'bytes8', 4],
  ['\x8e', 'BINBYTES8', 'bytes8', 4],
  ['\x8f', 'EMPTY_SET', 'none', 4],
  ['\x90', 'ADDITEMS', 'none', 4],
  ['\x91', 'FROZENSET', 'none', 4],
  ['\x92', 'NEWOBJ_EX', 'none', 4],
  ['\x93', 'STACK_GLOBAL', 'none', 4],
  ['\x94', 'MEMOIZE', 'none', 4],
  ['\x95', 'FRAME', 'uint8', 4],
  ['\x96', 'BYTEARRAY8', 'bytes8', 5],
  ['\x97', 'NEXT_BUFFER', 'none', 5],
  ['\x98', 'READONLY_BUFFER', 'none', 5],
];

/** Opcode info by byte value; undefined for bytes that are not opcodes. */
export const OPCODES: readonly (OpcodeInfo | undefined)[] = (() => {
  const table: (OpcodeInfo | undefined)[] = new Array(256).fill(undefined);
  for (const [ch, name, arg, proto] of TABLE) table[ch.charCodeAt(0)] = { code: ch.charCodeAt(0), name, arg, proto };
  return table;
})();

/** Highest protocol this reader knows. */
export const HIGHEST_PROTOCOL = 5;
