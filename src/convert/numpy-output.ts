import { unsafeNameReason } from '../formats/zip/names.js';
import { TensorsafeError } from '../errors.js';
import type { ByteSource } from '../io/byte-source.js';
import { crc32 } from '../formats/zip/index.js';
import type { Dtype } from '../dtype/dtypes.js';
import type { TensorEntry } from '../tensor/tensor-set.js';
import { NPY_RAW_DESCR, npyDescr, npyHeader } from './npy-header.js';
import type { OutputFormat } from './output-format.js';
import type { WrittenFile } from './write-checked.js';
import { dataWriter, openWritten, writeThenCheck } from './write-then-check.js';
import { centralDirectory, localHeader, type ZipMember } from './zip-layout.js';

/**
 * NumPy as the pipeline's output: `.npz` (numpy.savez's layout: a zip of stored `<name>.npy` members)
 * and `.npy` (exactly one tensor). NumPy files hold no metadata, so none is written, and a sharded
 * output has no NumPy form. A dtype without a NumPy equivalent (BF16, the F8 types) is refused
 * before any byte is written, or, with `--allow-raw` (`configure({ allowRaw: true })`), stored as unsigned integers of
 * its width (`<u2`, `|u1`), bits unchanged, and named in the summary's notes.
 *
 * The check: a zip's directory is at its end, so the written file can only be parsed once it is
 * whole. It is then read back by the NumPy reader (not the writer) and compared with the sources bit
 * for bit (checkOutput), before the pipeline commits it.
 */

const encoder = new TextEncoder();

function refuseSharding(id: string): never {
  throw new TensorsafeError('InvalidArgument', `a ${id} output is one file: --max-shard-size does not apply`, { location: id });
}

/** A written NumPy file parsed again by the NumPy reader. */
async function reopenNumpy(source: ByteSource): Promise<WrittenFile> {
  const { tensors } = await openWritten('numpy', source);
  // The check runs on the whole file, once written: every tensor ends within it.
  return { tensors, dataStart: 0, endOf: () => source.size, close: () => tensors.close() };
}

/** Tensors that a NumPy output with raw bits stores so (name → dtype). */
function rawDtypesOf(entries: readonly TensorEntry[], raw: boolean): Map<string, Dtype> {
  return new Map(raw ? entries.filter((e) => NPY_RAW_DESCR[e.dtype] !== undefined).map((e) => [e.name, e.dtype] as const) : []);
}

type NumpyWrite = (raw: boolean) => OutputFormat['writeChecked'];

/** What both NumPy outputs share: one file named `<stem>.<id>`, no metadata, no sharding. */
function numpyOutput(id: 'npz' | 'npy', writeCheckedWith: NumpyWrite, raw = false): OutputFormat {
  const ownName = new RegExp(`^(.+)\\.${id}$`, 'i');
  const writeChecked = writeCheckedWith(raw);
  return {
    id,
    extension: `.${id}`,
    fileName: (stem) => `${stem}.${id}`,
    shardName: () => refuseSharding(id),
    indexName: (stem) => `${stem}.${id}.index.json`,
    stemOf: (fileName) => ownName.exec(fileName)?.[1],
    writeChecked,
    noMetadata: 'NumPy',
    metadata: () => ({}),
    reopen: reopenNumpy,
    index: () => refuseSharding(id),
    writerOptions: ['allowRaw'],
    configure: (options) => numpyOutput(id, writeCheckedWith, options.allowRaw === true),
    notes: (entries) =>
      [...rawDtypesOf(entries, raw)].map(([name, dtype]) => `\`${name}\` is ${dtype}, which NumPy has no dtype for: stored as ${NPY_RAW_DESCR[dtype]} (its bits unchanged; --allow-raw)`),
  };
}

export const npzOutput: OutputFormat = numpyOutput('npz', (raw) => async (entries, sink, sources, removed, reopen, options) => {
  // A member name that maps outside the folder an npz is extracted to (zip slip) is refused before anything is written.
  for (const e of entries) {
    const unsafe = unsafeNameReason(`${e.name}.npy`);
    if (unsafe !== undefined) {
      throw new TensorsafeError('InvalidTensorName', `tensor \`${e.name}\` cannot be an npz member (${unsafe}: unzipping it would write outside its folder); convert to safetensors, which keeps any name`, { location: e.name });
    }
  }
  const headers = entries.map((e) => npyHeader(npyDescr(e.name, e.dtype, raw), e.shape));
  const writeData = dataWriter(sink, options);
  const write = async (): Promise<number> => {
    const members: ZipMember[] = [];
    let offset = 0;
    for (const [i, entry] of entries.entries()) {
      const name = encoder.encode(`${entry.name}.npy`);
      const header = headers[i]!;
      const size = header.length + entry.byteLength;
      // A member's CRC is known once its data is written: its local header is written again then, with the
      // CRC (same length: nothing moves), so that each source tensor is read once for the write.
      const local = localHeader({ name, size, crc: 0 });
      await sink.write(local);
      await sink.write(header);
      let crc = crc32(header);
      await writeData(entry, (chunk) => (crc = crc32(chunk, crc)));
      members.push({ name, size, crc, offset });
      offset += local.length + size;
    }
    for (const m of members) await sink.writeAt(localHeader(m), m.offset);
    const directory = centralDirectory(members, offset);
    await sink.write(directory);
    return offset + directory.length;
  };
  return writeThenCheck(write, sink, sources, removed, reopen, undefined, rawDtypesOf(entries, raw), options);
});

export const npyOutput: OutputFormat = numpyOutput('npy', (raw) => async (entries, sink, sources, removed, reopen, options) => {
  if (entries.length !== 1) {
    throw new TensorsafeError('InvalidArgument', `a .npy file holds exactly one tensor, and this model has ${entries.length}: write --to npz`, { location: sink.name });
  }
  const entry = entries[0]!;
  const header = npyHeader(npyDescr(entry.name, entry.dtype, raw), entry.shape);
  const writeData = dataWriter(sink, options);
  const write = async (): Promise<number> => {
    options.afterHeader?.(header);
    await sink.write(header);
    await writeData(entry);
    return header.length + entry.byteLength;
  };
  return writeThenCheck(write, sink, sources, removed, reopen, entry.name, rawDtypesOf(entries, raw), options);
});
