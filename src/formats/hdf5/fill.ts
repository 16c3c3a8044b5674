/**
 * Fills `target` with copies of one element's fill value (zeros when there is none): the bytes of data
 * never written. Doubling copies, not a loop per element.
 */
export function fillWith(target: Uint8Array, fillValue: Uint8Array | undefined): void {
  if (!fillValue || fillValue.length === 0 || fillValue.every((b) => b === 0)) {
    target.fill(0);
    return;
  }
  const n = Math.min(fillValue.length, target.length);
  target.set(fillValue.subarray(0, n), 0);
  let filled = n;
  while (filled < target.length) {
    const step = Math.min(filled, target.length - filled);
    target.copyWithin(filled, 0, step);
    filled += step;
  }
}
