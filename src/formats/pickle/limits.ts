/** Named limits of the pickle reader and machine, each with the threat it guards against. */

/** Opcodes executed per stream: bounds CPU time on hostile input (a data pickle has a few per tensor). */
export const MAX_OPS = 50_000_000;
/** Values on the stack: bounds memory of pushes without pops. */
export const MAX_STACK = 1_000_000;
/** Nested MARKs: bounds the metastack (deeply nested containers). */
export const MAX_MARK_DEPTH = 10_000;
/** Memo entries: bounds memory of PUT/MEMOIZE floods (8 bytes an entry, 80 MB at most; see MAX_PICKLE_HEAP_BYTES). */
export const MAX_MEMO = 10_000_000;
/** Bytes of one string or bytes object: bounds a single allocation a length field asks for. */
export const MAX_STRING_BYTES = 1 << 30;
/** Bytes of a newline-terminated argument (GLOBAL names, INT text): guards against scanning a whole file for a newline. */
export const MAX_LINE_BYTES = 1 << 16;
/** Bytes of a LONG1/LONG4 integer: Python ints can be huge; ours need not be. */
export const MAX_LONG_BYTES = 1 << 12;
/** Elements of one container built by the machine (list, dict, set, tuple). */
export const MAX_CONTAINER_ITEMS = 100_000_000;
/**
 * Estimated bytes of memory the values of one pickle may take (each value is charged as it is made:
 * its object, its slots, its characters; see machine.ts COST): bounds peak memory on floods of small
 * values (9.9 million distinct byte strings, empty dicts, one-item tuples), which cost 10–100 times
 * their size in a JS heap, and on handlers that copy a value passed to them many times over. Every
 * opcode is charged at least a slot, so the estimate is also linear in the pickle's size; a real
 * checkpoint's pickle takes about 1.5 KB a tensor (350,000 tensors fit).
 */
export const MAX_PICKLE_HEAP_BYTES = 1 << 29;
/** Characters of one str: JS strings hold at most 2^29 - 24; refused with a limit error below that, never a RangeError. */
export const MAX_TEXT_CHARS = 1 << 28;
