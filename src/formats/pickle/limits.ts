/** Named limits of the pickle reader and machine, each with the threat it guards against. */

/** Opcodes executed per stream: bounds CPU time on hostile input (a data pickle has a few per tensor). */
export const MAX_OPS = 50_000_000;
/** Values on the stack: bounds memory of pushes without pops. */
export const MAX_STACK = 1_000_000;
/** Nested MARKs: bounds the metastack (deeply nested containers). */
export const MAX_MARK_DEPTH = 10_000;
/** Memo entries: bounds memory of PUT/MEMOIZE floods. */
export const MAX_MEMO = 10_000_000;
/** Bytes of one string or bytes object: bounds a single allocation a length field asks for. */
export const MAX_STRING_BYTES = 1 << 30;
/**
 * Bytes of a newline-terminated argument (GLOBAL names, INT text, protocol-0 strings). CPython has no
 * line limit, so this is as large as one string may be: a longer line is a limit finding, never skipped.
 */
export const MAX_LINE_BYTES = MAX_STRING_BYTES;
/** Bytes of a LONG1/LONG4 integer: Python ints can be huge; ours need not be. */
export const MAX_LONG_BYTES = 1 << 12;
/** Elements of one container built by the machine (list, dict, set, tuple). */
export const MAX_CONTAINER_ITEMS = 100_000_000;
