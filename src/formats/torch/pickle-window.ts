import type { ByteSource } from '../../io/byte-source.js';
import { PickleError } from '../pickle/errors.js';
import { unpickle, type MachineOptions, type UnpickleResult } from '../pickle/machine.js';

/** First window read for a pickle inside a larger file; it doubles until the pickle fits. */
const FIRST_WINDOW = 1 << 20;
/** Largest pickle read from a stacked file (legacy format): guards against reading a huge file into memory. */
export const MAX_PICKLE_BYTES = 1 << 30;

/**
 * Unpickles the pickle that starts at `start` of a source whose length is not known in advance
 * (the stacked pickles of the legacy format): reads a window, and a larger one while the pickle
 * runs past its end. Returned offsets are relative to the source.
 */
export async function unpickleAt(source: ByteSource, start: number, options: MachineOptions): Promise<UnpickleResult> {
  // Many small pickles in a row (the tar format's storage and tensor records) are read from one
  // window, not a window each: reading is linear in the member's size, not in records × window.
  const cached = lastWindow.get(source);
  if (cached && start >= cached.start && start < cached.start + cached.bytes.length) {
    try {
      const result = unpickle(cached.bytes.subarray(start - cached.start), options);
      return { ...result, end: start + result.end };
    } catch (e) {
      const more = e instanceof PickleError && e.code === 'PickleTruncated' && cached.start + cached.bytes.length < source.size;
      if (!more) throw shift(e, start);
    }
  }
  let window = Math.min(FIRST_WINDOW, source.size - start);
  for (;;) {
    const bytes = await source.read(start, window);
    if (window <= FIRST_WINDOW) lastWindow.set(source, { start, bytes });
    try {
      const result = unpickle(bytes, options);
      return { ...result, end: start + result.end };
    } catch (e) {
      const more = e instanceof PickleError && e.code === 'PickleTruncated' && start + window < source.size && window < MAX_PICKLE_BYTES;
      if (!more) throw shift(e, start);
      window = Math.min(window * 4, source.size - start, MAX_PICKLE_BYTES);
    }
  }
}

/** The last first-size window read from each source (kept no longer than the source). */
const lastWindow = new WeakMap<ByteSource, { start: number; bytes: Uint8Array }>();

/** Errors from a window carry window offsets; make them file offsets. */
function shift(e: unknown, start: number): unknown {
  return e instanceof PickleError && start !== 0 ? e.shifted(start) : e;
}
