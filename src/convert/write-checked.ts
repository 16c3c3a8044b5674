import type { ByteSink } from '../io/byte-sink.js';
import type { TensorEntry, TensorSet } from '../tensor/tensor-set.js';
import { checkOutput, type Mismatch } from './check-output.js';
import { writeTensors, type WriteTensorsOptions } from './write.js';

/**
 * Chunk size of the write and of the check. Both stream at once, so their buffers (two per stream)
 * compete for the CPU caches: on this project's 2-core test machine 2 MiB chunks took ~15% less CPU
 * than 8 MiB ones (the kernel's copies stay in cache), and smaller ones more (per-chunk overhead).
 */
export const CHECKED_CHUNK_BYTES = 2 << 20;

/** A sink whose bytes can be read back while it is being written: a file (node/file-sink.ts). */
export interface CheckedSink extends ByteSink {
  /** Writes out what is staged and gives the output its final length now. */
  reserve(size: number): Promise<void>;
  /** End of the bytes appended so far that are in the output (not staged in memory). */
  readonly flushedEnd: number;
  /** End of the furthest byte written out of order (0 if none). */
  readonly rewrittenEnd: number;
  /** Writes over bytes already appended (an npz member's local header, once its CRC is known). */
  writeAt(chunk: Uint8Array, position: number): Promise<void>;
}

/** The output as the reader (not the writer) parsed it from the file. */
export interface WrittenFile {
  readonly tensors: TensorSet;
  /** Offset of the first byte of tensor data (just after the header). */
  readonly dataStart: number;
  /** Offset just past a tensor's bytes in the file. */
  endOf(name: string): number;
  close(): Promise<void>;
}

/** What a checked write found, and where the tensors it checked are in the file. */
export interface CheckedWrite {
  /** None when the output is exact. */
  readonly mismatches: Mismatch[];
  /**
   * The tensors checked and where they are (placementOf): whoever writes into the header afterwards
   * (a digest known only at the end) must find the same when parsing the file again.
   */
  readonly placement: string;
}

/**
 * Writes `entries` as safetensors (writeTensors) to `sink` and checks the output against `sources` bit for bit while it is written,
 * so that the check's reads overlap the writer's (on a machine with a spare core, the check costs
 * little more wall time than the write).
 *
 * The proof is the same as checking after the whole file is written:
 * - The output is reopened with the reader (`reopen`), which parses the header from the file itself:
 *   names, dtypes, shapes and offsets are the reader's, not the writer's. For that the file is given
 *   its final length as soon as the header is written (`reserve`).
 * - A tensor is read back from the file only once every byte up to its end has been written to it
 *   (`flushedEnd`), and the writer only appends (it is given a view of the sink without `writeAt`):
 *   bytes already in the file are never written again, so what was checked is what stays. The only
 *   out-of-order write allowed afterwards is one within the header (a header rewritten with the same
 *   layout), after which the header is parsed again and must describe exactly the tensors checked;
 *   any other one makes the whole file be checked again once it is closed.
 * - After the close, the bytes appended must be exactly the file's planned length: no tensor can be
 *   left as the zeros `reserve` put there.
 * - A tensor the sink took by reference (ByteSink.appendStored: the web page's output assembled from
 *   the dropped file's own bytes) is checked as every other: the reader parses the header from the
 *   output, and the comparison finds the output's bytes of that tensor to be the very bytes the
 *   source's reader reads it from (the same origin, tensor/compare-tensors.ts), which needs no read.
 * - The source is read again for the comparison (through the checkpoint reader, from the source
 *   file), not taken from the buffers the writer wrote from: a defect that changed those buffers
 *   between the read and the write (a reused buffer, say) would otherwise be written and "confirmed"
 *   alike. Keeping a hash of each source chunk instead would also be sound, but SHA-256 of the data
 *   costs about 6× a second read from the page cache on this machine (BENCHMARKS.md).
 */
export async function writeChecked(
  entries: readonly TensorEntry[],
  sink: CheckedSink,
  sources: readonly TensorEntry[],
  removed: ReadonlyMap<string, string>,
  reopen: () => Promise<WrittenFile>,
  /** The safetensors writer's (write.ts); chunkBytes defaults to CHECKED_CHUNK_BYTES. */
  options: WriteTensorsOptions = {},
): Promise<CheckedWrite> {
  const chunkBytes = options.chunkBytes ?? CHECKED_CHUNK_BYTES;
  let file: WrittenFile | undefined;
  let checking: Promise<Mismatch[]> | undefined;
  let planned = 0;
  let finished = false;
  let failed: unknown;
  const waiters: { end: number; resolve: () => void; reject: (e: unknown) => void }[] = [];
  const release = (): void => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i]!;
      if (failed !== undefined) w.reject(failed);
      else if (finished || w.end <= sink.flushedEnd) w.resolve();
      else continue;
      waiters.splice(i, 1);
    }
  };
  const ready = (name: string): Promise<void> => {
    const end = file!.endOf(name);
    if (failed !== undefined) return Promise.reject(failed);
    if (finished || end <= sink.flushedEnd) return Promise.resolve();
    return new Promise((resolve, reject) => waiters.push({ end, resolve, reject }));
  };
  // The writer sees a sequential sink: it can only append.
  const appendOnly: ByteSink = {
    name: sink.name,
    write: async (chunk) => {
      await sink.write(chunk);
      release();
    },
    close: () => sink.close(),
    abort: () => sink.abort(),
    // A tensor taken by reference is in the output at once: its check may start.
    ...(sink.appendStored
      ? {
          appendStored: (from, length) => {
            const taken = sink.appendStored!(from, length);
            if (taken) release();
            return taken;
          },
        }
      : {}),
  };
  try {
    await writeTensors(entries, appendOnly, {
      ...options,
      chunkBytes,
      afterHeader: async (layout) => {
        await options.afterHeader?.(layout);
        planned = layout.totalSize;
        await sink.reserve(planned);
        file = await reopen();
        checking = checkOutput(file.tensors, sources, removed, { chunkBytes, ready });
        checking.catch(() => undefined); // awaited below
      },
    });
  } catch (e) {
    failed = e;
    release();
    await checking?.catch(() => undefined);
    await file?.close();
    throw e;
  }
  finished = true;
  release();
  try {
    const mismatches = await checking!;
    if (sink.flushedEnd !== planned) {
      mismatches.push({ name: sink.name, reason: `${sink.flushedEnd} bytes were written, the header plans ${planned}` });
    }
    if (sink.rewrittenEnd === 0 || mismatches.length > 0) return { mismatches, placement: placementOf(file!) };
    // Something was written out of order after the checks began: check what the file holds now.
    const checked = file!;
    file = await reopen();
    const same = sink.rewrittenEnd <= checked.dataStart && placementOf(checked) === placementOf(file);
    await checked.close();
    if (same) return { mismatches, placement: placementOf(file) };
    return { mismatches: await checkOutput(file.tensors, sources, removed, { chunkBytes }), placement: placementOf(file) };
  } finally {
    await file!.close();
  }
}

/** The tensors of a parsed file and where they are: names, dtypes, shapes, offsets, as one string. */
export function placementOf(f: WrittenFile): string {
  return JSON.stringify([f.dataStart, f.tensors.tensors.map((t) => [t.name, t.dtype, t.shape, t.byteLength, f.endOf(t.name)])]);
}
