import type { ByteSource } from './byte-source.js';

/** Buffers kept for reuse by readChunks, per size: fresh buffers cost page faults on every chunk. */
const POOL_MAX_BUFFERS = 16;
/** Reads shorter than this use buffers of their own size rather than pooled full-size ones. */
const POOL_MIN_BYTES = 1 << 16;
const pool = new Map<number, Uint8Array[]>();

function takeBuffer(size: number): Uint8Array {
  return pool.get(size)?.pop() ?? new Uint8Array(size);
}

function giveBuffer(buffer: Uint8Array): void {
  const list = pool.get(buffer.byteLength) ?? [];
  if (list.length < POOL_MAX_BUFFERS) list.push(buffer);
  pool.set(buffer.byteLength, list);
}

/**
 * The bytes [offset, offset + length) of a source as chunks of at most `chunkBytes`. On sources
 * that read into caller memory, two (pooled) buffers take turns and the next chunk is read while
 * the caller works on this one: a chunk is valid until the next is asked for.
 */
export async function* readChunks(source: ByteSource, offset: number, length: number, chunkBytes: number): AsyncGenerator<Uint8Array> {
  if (length <= 0) return;
  const step = Math.max(1, chunkBytes);
  if (!source.readInto) {
    for (let at = 0; at < length; at += step) yield await source.read(offset + at, Math.min(step, length - at));
    return;
  }
  const chunks = Math.ceil(length / step);
  const pooled = length >= POOL_MIN_BYTES;
  const size = pooled ? step : length;
  const buffers = [pooled ? takeBuffer(size) : new Uint8Array(size), chunks > 1 ? takeBuffer(size) : undefined];
  const start = (k: number): { view: Uint8Array; done: Promise<void> } => {
    const at = k * step;
    const n = Math.min(step, length - at);
    const buffer = buffers[k % 2]!;
    const view = n === buffer.byteLength ? buffer : buffer.subarray(0, n);
    const done = source.readInto!(view, offset + at);
    done.catch(() => undefined); // awaited below; this only keeps an abandoned read from being "unhandled"
    return { view, done };
  };
  let next = start(0);
  let inFlight: Promise<void> | undefined = next.done;
  try {
    for (let k = 0; k < chunks; k++) {
      const current = next;
      await current.done;
      inFlight = undefined;
      if (k + 1 < chunks) {
        next = start(k + 1);
        inFlight = next.done;
      }
      yield current.view;
    }
  } finally {
    // A read still in flight (the caller stopped early) must finish before its buffer is reused.
    if (inFlight) await inFlight.catch(() => undefined);
    if (pooled) for (const b of buffers) if (b) giveBuffer(b);
  }
}
