/**
 * Hostile pickles for resource-exhaustion tests (issue 9): small, data-only byte strings whose cost to
 * a careless reader grows far faster than their size. Built as bytes here; never loaded by Python.
 * `npx tsx scripts/make-adversarial-pickles.ts DIR` writes the full-size ones for measuring by hand.
 */

const PROTO4 = [0x80, 0x04];
const STOP = 0x2e;

function bytes(parts: (number | number[] | Uint8Array)[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += typeof p === 'number' ? 1 : p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    if (typeof p === 'number') out[at++] = p;
    else {
      out.set(p, at);
      at += p.length;
    }
  }
  return out;
}

/** A repeated opcode sequence, filled in place (no per-repeat arrays: the full sizes are tens of MB). */
function repeated(head: number[], unit: number[], count: number, tail: number[]): Uint8Array {
  const out = new Uint8Array(head.length + unit.length * count + tail.length);
  out.set(head, 0);
  for (let i = 0, at = head.length; i < count; i++, at += unit.length) out.set(unit, at);
  out.set(tail, head.length + unit.length * count);
  return out;
}

const str = (s: string): number[] => [0x8c, s.length, ...Buffer.from(s, 'latin1')];
const binget = (i: number): number[] => [0x6a, i & 0xff, (i >> 8) & 0xff, (i >> 16) & 0xff, (i >>> 24) & 0xff];

/**
 * `L(i) = [L(i-1), L(i-1)]` through the memo, `levels` deep: a few bytes per level, 2^levels paths.
 * `{'a': L(levels)}`, so that it is a sibling of nothing and the value of a key.
 */
export function sharedDag(levels: number, kind: 'list' | 'tuple' | 'dict' = 'list'): Uint8Array {
  const parts: (number | number[])[] = [...PROTO4, 0x7d, ...str('a')];
  parts.push(kind === 'dict' ? 0x7d : kind === 'tuple' ? 0x29 : 0x5d, 0x94); // memo 0
  for (let i = 1; i <= levels; i++) {
    parts.push(0x30); // POP L(i-1): it is reached through the memo only
    if (kind === 'dict') parts.push(0x7d, 0x28, ...str('x'), ...binget(i - 1), ...str('y'), ...binget(i - 1), 0x75, 0x94);
    else parts.push(0x28, ...binget(i - 1), ...binget(i - 1), kind === 'tuple' ? 0x74 : 0x6c, 0x94);
  }
  parts.push(0x73, STOP);
  return bytes(parts);
}

/** `T(i) = (T(i-1), T(i-1))` used as a dict key: hashing it naively is 2^levels work. */
export function sharedTupleKey(levels: number): Uint8Array {
  const parts: (number | number[])[] = [...PROTO4, 0x7d, 0x29, 0x94];
  for (let i = 1; i <= levels; i++) parts.push(0x30, ...binget(i - 1), ...binget(i - 1), 0x86, 0x94);
  parts.push(0x4e, 0x73, STOP);
  return bytes(parts);
}

/** An empty list memoized `count` times (one byte each): the MEMOIZE flood. */
export function memoizeFlood(count: number): Uint8Array {
  return repeated([...PROTO4, 0x5d], [0x94], count, [STOP]);
}

/** `count` distinct empty byte strings, each memoized and dropped (4 bytes each). */
export function distinctBytesFlood(count: number): Uint8Array {
  return repeated([...PROTO4, 0x4e], [0x43, 0x00, 0x94, 0x30], count, [STOP]);
}

/** `count` distinct one-character strings appended to a list (4 bytes each): values that stay alive. */
export function distinctStringsList(count: number): Uint8Array {
  return repeated([...PROTO4, 0x5d], [0x8c, 0x01, 0x78, 0x61], count, [STOP]);
}

/** `count` empty dicts appended to a list (2 bytes each). */
export function emptyDictsList(count: number): Uint8Array {
  return repeated([...PROTO4, 0x5d], [0x7d, 0x61], count, [STOP]);
}

/** None wrapped in `depth` one-element tuples (one byte each). */
export function deepTuples(depth: number): Uint8Array {
  return repeated([...PROTO4, 0x4e], [0x85], depth, [STOP]);
}

/** `depth` nested lists: `[[[...]]]`, opened all at once then closed by APPENDs. */
export function deepLists(depth: number): Uint8Array {
  const out = new Uint8Array(2 + 2 * depth + 1);
  out.set(PROTO4, 0);
  out.fill(0x5d, 2, 2 + depth);
  out.fill(0x61, 2 + depth, 1 + 2 * depth);
  // One list stays open at the top: depth lists, depth - 1 APPENDs, then STOP.
  out[1 + 2 * depth] = STOP;
  return out.subarray(0, 2 + 2 * depth);
}

/** One APPENDS of `count` items (None each). */
export function bigAppends(count: number): Uint8Array {
  return repeated([...PROTO4, 0x5d, 0x28], [0x4e], count, [0x65, STOP]);
}

/** A list that contains itself, inside a dict that contains itself. */
export function selfContaining(): Uint8Array {
  return bytes([...PROTO4, 0x7d, 0x94, ...str('self'), ...binget(0), 0x73, ...str('list'), 0x5d, 0x94, ...binget(1), 0x61, 0x73, STOP]);
}
