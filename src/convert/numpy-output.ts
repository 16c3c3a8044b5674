import { unsafeNameReason } from '../formats/zip/names.js';
import { TensorsafeError } from '../errors.js';
import type { ByteSource } from '../io/byte-source.js';
import { formatById, readerOf } from '../formats/registry.js';
import { crc32 } from '../formats/zip/index.js';
import type { TensorEntry } from '../tensor/tensor-set.js';
import { checkOutput } from './check-output.js';
import { npyDescr, npyHeader } from './npy-header.js';
import type { OutputFormat, OutputWriteOptions } from './output-format.js';
import { CHECKED_CHUNK_BYTES, type CheckedSink, type CheckedWrite, type WrittenFile, placementOf } from './write-checked.js';
import { centralDirectory, localHeader, type ZipMember } from './zip-layout.js';

/**
 * NumPy as the pipeline's output: `.npz` (numpy.savez's layout: a zip of stored `<name>.npy` members)
 * and `.npy` (exactly one tensor). NumPy files hold no metadata, so none is written, and a sharded
 * output has no NumPy form. A dtype without a NumPy equivalent (BF16, the F8 types) is refused
 * before any byte is written.
 *
 * The check: a zip's directory is at its end, so the written file can only be parsed once it is
 * whole. It is then read back by the NumPy reader (not the writer) and compared with the sources bit
 * for bit (checkOutput), before the pipeline commits it.
 */

const encoder = new TextEncoder();

/** What the writer puts on the sink: whole byte arrays and tensors' streamed data, in order. */
type Piece = { bytes: Uint8Array } | { entry: TensorEntry };

function refuseSharding(id: string): never {
  throw new TensorsafeError('InvalidArgument', `a ${id} output is one file: --max-shard-size does not apply`, { location: id });
}

async function streamPieces(pieces: readonly Piece[], sink: CheckedSink, options: OutputWriteOptions): Promise<void> {
  let done = options.progressBase;
  const progressTotal = options.progressTotal;
  for (const p of pieces) {
    if ('bytes' in p) {
      await sink.write(p.bytes);
      continue;
    }
    for await (const chunk of p.entry.chunks(CHECKED_CHUNK_BYTES)) {
      await sink.write(chunk);
      done += chunk.byteLength;
      options.onProgress?.({ bytesDone: done, bytesTotal: progressTotal, tensor: p.entry.name });
    }
  }
}

/** Writes the pieces, closes the sink, then reads the whole file back and compares it with the sources. */
async function writeThenCheck(
  pieces: readonly Piece[],
  total: number,
  sink: CheckedSink,
  sources: readonly TensorEntry[],
  removed: ReadonlyMap<string, string>,
  reopen: () => Promise<WrittenFile>,
  options: OutputWriteOptions,
  /** A .npy holds no name: its one tensor is compared under the source's (the reader names it after the file). */
  npyName?: string,
): Promise<CheckedWrite> {
  try {
    const first = pieces[0];
    options.afterHeader?.(first && 'bytes' in first ? first.bytes : new Uint8Array(0));
    await streamPieces(pieces, sink, options);
    await sink.close();
  } catch (e) {
    await sink.abort();
    throw e;
  }
  const file = await reopen();
  try {
    const tensors = npyName === undefined ? file.tensors : { ...file.tensors, tensors: file.tensors.tensors.map((t) => named(t, npyName)) };
    const mismatches = await checkOutput(tensors, sources, removed, { chunkBytes: CHECKED_CHUNK_BYTES });
    if (sink.flushedEnd !== total) mismatches.push({ name: sink.name, reason: `${sink.flushedEnd} bytes were written, the layout plans ${total}` });
    return { mismatches, placement: placementOf(file) };
  } finally {
    await file.close();
  }
}

/** The same tensor under another name (its reads are the original's). */
function named(t: TensorEntry, name: string): TensorEntry {
  return Object.create(t, { name: { value: name, enumerable: true } }) as TensorEntry;
}

/** The CRC-32 of a member's bytes: its .npy header, then its tensor's data streamed from the source. */
async function memberCrc(header: Uint8Array, entry: TensorEntry): Promise<number> {
  let crc = crc32(header);
  for await (const chunk of entry.chunks(CHECKED_CHUNK_BYTES)) crc = crc32(chunk, crc);
  return crc;
}

/** A written NumPy file parsed again by the NumPy reader. */
async function reopenNumpy(source: ByteSource): Promise<WrittenFile> {
  let parsed;
  try {
    const reader = await readerOf(formatById('numpy')!);
    parsed = await reader.open!(source);
  } catch (e) {
    await source.close?.();
    throw e;
  }
  const tensors = parsed.tensors;
  // The check runs on the whole file, once written: every tensor ends within it.
  return { tensors, dataStart: 0, endOf: () => source.size, close: () => tensors.close() };
}

export const npzOutput: OutputFormat = {
  id: 'npz',
  extension: '.npz',
  fileName: (stem) => `${stem}.npz`,
  shardName: () => refuseSharding('npz'),
  indexName: (stem) => `${stem}.npz.index.json`,
  stemOf: (fileName) => /^(.+)\.npz$/i.exec(fileName)?.[1],
  async writeChecked(entries, sink, sources, removed, reopen, options) {
    // A member name that maps outside the folder an npz is extracted to (zip slip) is refused before anything is written.
    for (const e of entries) {
      const unsafe = unsafeNameReason(`${e.name}.npy`);
      if (unsafe !== undefined) {
        throw new TensorsafeError('InvalidTensorName', `tensor \`${e.name}\` cannot be an npz member (${unsafe}: unzipping it would write outside its folder); convert to safetensors, which keeps any name`, { location: e.name });
      }
    }
    const headers = entries.map((e) => npyHeader(npyDescr(e.name, e.dtype), e.shape));
    const pieces: Piece[] = [];
    const members: ZipMember[] = [];
    let offset = 0;
    for (const [i, entry] of entries.entries()) {
      const name = encoder.encode(`${entry.name}.npy`);
      const header = headers[i]!;
      const size = header.length + entry.byteLength;
      const crc = await memberCrc(header, entry);
      const local = localHeader({ name, size, crc });
      members.push({ name, size, crc, offset });
      pieces.push({ bytes: local }, { bytes: header }, { entry });
      offset += local.length + size;
    }
    const directory = centralDirectory(members, offset);
    pieces.push({ bytes: directory });
    return writeThenCheck(pieces, offset + directory.length, sink, sources, removed, reopen, options);
  },
  metadata: () => ({}),
  reopen: reopenNumpy,
  index: () => refuseSharding('npz'),
};

export const npyOutput: OutputFormat = {
  id: 'npy',
  extension: '.npy',
  fileName: (stem) => `${stem}.npy`,
  shardName: () => refuseSharding('npy'),
  indexName: (stem) => `${stem}.npy.index.json`,
  stemOf: (fileName) => /^(.+)\.npy$/i.exec(fileName)?.[1],
  async writeChecked(entries, sink, sources, removed, reopen, options) {
    if (entries.length !== 1) {
      throw new TensorsafeError('InvalidArgument', `a .npy file holds exactly one tensor, and this model has ${entries.length}: write --to npz`, { location: sink.name });
    }
    const entry = entries[0]!;
    const header = npyHeader(npyDescr(entry.name, entry.dtype), entry.shape);
    return writeThenCheck([{ bytes: header }, { entry }], header.length + entry.byteLength, sink, sources, removed, reopen, options, entry.name);
  },
  metadata: () => ({}),
  reopen: reopenNumpy,
  index: () => refuseSharding('npy'),
};
