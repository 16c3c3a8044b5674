/**
 * Compares two byte streams chunk by chunk, whatever their chunk sizes: the first differing byte,
 * or -1 when they are equal (a length difference is a difference at the shorter one's end).
 */
export async function firstDifference(a: AsyncIterable<Uint8Array>, b: AsyncIterable<Uint8Array>): Promise<number> {
  const ia = a[Symbol.asyncIterator]();
  const ib = b[Symbol.asyncIterator]();
  let ca: Uint8Array = new Uint8Array(0);
  let cb: Uint8Array = new Uint8Array(0);
  let offset = 0;
  let doneA = false;
  let doneB = false;
  try {
    for (;;) {
      // Ask both streams at once when both are exhausted: their reads overlap.
      const needA = ca.length === 0 && !doneA;
      const needB = cb.length === 0 && !doneB;
      if (needA || needB) {
        const [ra, rb] = await Promise.all([needA ? ia.next() : undefined, needB ? ib.next() : undefined]);
        if (ra) {
          if (ra.done) doneA = true;
          else ca = ra.value;
        }
        if (rb) {
          if (rb.done) doneB = true;
          else cb = rb.value;
        }
        continue;
      }
      if (ca.length === 0 || cb.length === 0) return ca.length === 0 && cb.length === 0 ? -1 : offset;
      const n = Math.min(ca.length, cb.length);
      const at = mismatch(ca.subarray(0, n), cb.subarray(0, n));
      if (at >= 0) return offset + at;
      offset += n;
      ca = ca.subarray(n);
      cb = cb.subarray(n);
    }
  } finally {
    await ia.return?.();
    await ib.return?.();
  }
}

type NativeCompare = (a: Uint8Array, b: Uint8Array) => number;
/** Node's Buffer.compare (memcmp) when present; browsers compare word by word. */
const nativeCompare: NativeCompare | undefined = (globalThis as { Buffer?: { compare: NativeCompare } }).Buffer?.compare;

/** Index of the first differing byte of two equal-length arrays, or -1. */
function mismatch(x: Uint8Array, y: Uint8Array): number {
  if (nativeCompare && nativeCompare(x, y) === 0) return -1;
  let i = 0;
  if (!nativeCompare && x.byteOffset % 4 === 0 && y.byteOffset % 4 === 0) {
    const words = x.length >>> 2;
    const wx = new Uint32Array(x.buffer, x.byteOffset, words);
    const wy = new Uint32Array(y.buffer, y.byteOffset, words);
    while (i < words && wx[i] === wy[i]) i++;
    i *= 4;
  }
  for (; i < x.length; i++) if (x[i] !== y[i]) return i;
  return -1;
}
