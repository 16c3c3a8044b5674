import { IoError, isTensorsafeError } from '../../errors.js';
import { listed } from '../../util/strings.js';
import { checkRange, type ByteSource } from '../../io/byte-source.js';
import type { LeftOut, TensorEntry, TensorSet } from '../../tensor/tensor-set.js';
import { FormatProblem } from '../../io/format-problem.js';
import { PagedReader } from '../../io/cursor.js';
import { describeFormat, detectFormat, isNpyMagic } from '../detect.js';
import { DETECT_HEAD_BYTES, type FormatReader, type ParsedModel } from '../format.js';
import type { ScanContext } from '../findings.js';
import type { ZipEntry } from '../zip/index.js';
import { arrayEntry } from './arrays.js';
import { NumpyError } from './errors.js';
import { DtypeProblem, readNpyHeader, type NpyHeader } from './header.js';
import { scanNpy } from './scan-rules.js';
import { describeNumpy } from './view.js';

/**
 * NumPy files as TensorSets. A `.npy` file is one tensor named after the file: its name's last path
 * segment without its last extension (`weights/embed.npy` → `embed`, `x.bin` → `x`; a URL's query is
 * not part of it). An `.npz`
 * (np.savez, stored; np.savez_compressed, deflated) is one tensor per `.npy` member, named by the
 * member's name without `.npy` (`arr_0`, `layer/w`), as `np.load(...)[name]` names them; other
 * members are left out. Opening reads the headers only; tensor bytes are read when streamed, a stored
 * member's as a window of the archive, a deflated member's inflated on the fly (a Fortran-order
 * deflated member is inflated whole, within the zip reader's MAX_INFLATED_ENTRY_BYTES).
 *
 * Refused, with the file and member named: object arrays (their data is a pickle: never read),
 * structured dtypes, strings, raw void, datetimes, complex128 and long double (no safetensors dtype).
 * The structure is the parsed header of every array.
 */

/** Members of one .npz: each header is parsed on open (a read, and an inflate for deflated members). */
export const MAX_NPZ_MEMBERS = 100_000;
/** Page of the header reader: the header is read in pages this small, so opening reads (almost) no tensor bytes. */
export const NPY_HEADER_PAGE_BYTES = 4096;

/** One array of a file: its tensor name, its member in an .npz, and its parsed header. */
export interface NpyArrayRecord {
  readonly name: string;
  readonly member?: string;
  readonly header: NpyHeader;
}

export interface NumpyStructure {
  readonly container: 'npy' | 'npz';
  readonly arrays: readonly NpyArrayRecord[];
}

export const numpyReader: FormatReader<NumpyStructure> = {
  async open(source: ByteSource): Promise<ParsedModel<NumpyStructure>> {
    const head = await source.read(0, Math.min(source.size, DETECT_HEAD_BYTES));
    if (isNpyMagic(head)) return openNpy(source);
    const format = detectFormat(head, source.size);
    if (format === 'zip') return openNpz(source);
    throw new NumpyError('NotNumpy', `${source.name} is not a NumPy file: it is ${describeFormat(format)}`, { location: source.name });
  },

  /**
   * The .npy rules over a .npy file, or over each `.npy` member of an .npz (the archive itself, its
   * anomalies and its other members, is the zip scanner's). Headers an earlier open parsed are reused.
   */
  async scan(source: ByteSource, ctx: ScanContext, parsed?: ParsedModel<NumpyStructure>): Promise<string> {
    const known = new Map((parsed?.structure.arrays ?? []).map((a) => [a.member ?? '', a.header]));
    const head = await source.read(0, Math.min(source.size, 8));
    if (isNpyMagic(head) || detectFormat(head, source.size) !== 'zip') {
      await scanNpy(source, ctx, known.get(''));
      return 'npy';
    }
    const { openZip } = await import('../zip/index.js');
    const zip = await openZip(source, { strict: false });
    for (const entry of zip.entries) {
      if (entry.isDirectory || !entry.name.endsWith('.npy') || entry.problem) continue;
      const where = `${ctx.file}:${entry.name}`;
      try {
        await scanNpy(await entry.source(), { ...ctx, file: where }, known.get(entry.name));
      } catch (e) {
        if (!isTensorsafeError(e)) throw e;
        ctx.report({ severity: 'suspicious', rule: 'zip/unreadable-entry', message: `${entry.name} cannot be read (${e.code}): ${e.message}`, location: where });
      }
    }
    return 'npz';
  },

  /** An npz is walked by the scanner as any zip (its `.npy` members reach `scan` one by one); it is named `npz`. */
  containerRules: (container) => (container.kind === 'zip' ? { label: 'npz' } : undefined),

  describe: (parsed) => describeNumpy(parsed.structure),
};

async function openNpy(source: ByteSource): Promise<ParsedModel<NumpyStructure>> {
  const header = await parseHeader(source, source.name);
  const name = npyTensorName(source.name);
  const entry = arrayEntry(name, header, { kind: 'random', source }, source.size - header.dataOffset, source.name);
  const notes = notesFor([{ name, header, dataBytes: source.size - header.dataOffset, entry }]);
  return { tensors: tensorSet('npy', [entry], [], notes, source), structure: { container: 'npy', arrays: [{ name, header }] } };
}

async function openNpz(source: ByteSource): Promise<ParsedModel<NumpyStructure>> {
  const { openZip } = await import('../zip/index.js');
  const zip = await openZip(source, { strict: true });
  const files = zip.entries.filter((e) => !e.isDirectory);
  if (files.length > MAX_NPZ_MEMBERS) {
    throw new NumpyError('NumpyLimit', `${source.name}: ${files.length} members, more than MAX_NPZ_MEMBERS (${MAX_NPZ_MEMBERS})`, { location: source.name });
  }
  // An npz holds arrays: a zip with none is something else (or an empty np.savez()), never an empty model.
  if (!files.some((m) => m.name.endsWith('.npy'))) {
    if (files.length === 0) throw new NumpyError('NoTensors', `${source.name}: an empty zip archive: no .npy arrays in it`, { location: source.name });
    const shown = files.slice(0, MAX_NAMES_IN_NOTE).map((m) => m.name).join(', ');
    throw new NumpyError('NotNumpy', `${source.name} is not a NumPy .npz: it is a zip archive with no .npy array in it (entries: ${shown}${files.length > MAX_NAMES_IN_NOTE ? ', …' : ''})`, { location: source.name });
  }
  const arrays: NpyArrayRecord[] = [];
  const tensors: TensorEntry[] = [];
  const leftOut: LeftOut[] = [];
  const seen: { name: string; header: NpyHeader; dataBytes: number; entry: TensorEntry }[] = [];
  for (const member of files) {
    if (!member.name.endsWith('.npy')) {
      leftOut.push({ path: member.name, what: `a ${member.size}-byte member that is not an .npy array` });
      continue;
    }
    const name = member.name.slice(0, -'.npy'.length);
    const where = `${source.name}:${member.name}`;
    const { header, entry } = member.method === 0 ? await storedArray(member, name, where) : await deflatedArray(member, name, where, source.name);
    arrays.push({ name, member: member.name, header });
    tensors.push(entry);
    seen.push({ name, header, dataBytes: member.size - header.dataOffset, entry });
  }
  return { tensors: tensorSet('npz', tensors, leftOut, notesFor(seen), source), structure: { container: 'npz', arrays } };
}

async function storedArray(member: ZipEntry, name: string, where: string): Promise<{ header: NpyHeader; entry: TensorEntry }> {
  const source = await member.source();
  const header = await parseHeader(source, where);
  return { header, entry: arrayEntry(name, header, { kind: 'random', source }, member.size - header.dataOffset, where) };
}

async function deflatedArray(member: ZipEntry, name: string, where: string, archive: string): Promise<{ header: NpyHeader; entry: TensorEntry }> {
  const { inflateEntryChunks } = await import('../zip/inflate-stream.js');
  const stream = (): AsyncGenerator<Uint8Array> => inflateEntryChunks(member, archive);
  const prefix = new InflatedPrefix(stream(), member.size, where);
  let header: NpyHeader;
  try {
    header = await parseHeader(prefix, where);
  } finally {
    await prefix.close();
  }
  const bytes = { kind: 'stream' as const, stream, whole: () => member.source() };
  return { header, entry: arrayEntry(name, header, bytes, member.size - header.dataOffset, where) };
}

/** The header of the .npy bytes in `source`, or a NumpyError naming `where`. */
async function parseHeader(source: ByteSource, where: string): Promise<NpyHeader> {
  try {
    return await readNpyHeader(new PagedReader(source, NPY_HEADER_PAGE_BYTES));
  } catch (e) {
    if (!(e instanceof FormatProblem)) throw e;
    const location = e.offset === undefined ? where : `${where}@${e.offset}`;
    if (e instanceof DtypeProblem) {
      throw new NumpyError('UnsupportedTensor', `${where}: the dtype is not one this reader knows (${e.message}); its data is never read, as it may be a pickle`, { location, cause: e });
    }
    if (e.kind === 'limit') throw new NumpyError('NumpyLimit', `${where}: ${e.message}`, { location, cause: e });
    throw new NumpyError('InvalidNumpy', `${where}: not a valid .npy array: ${e.message}`, { location, cause: e });
  }
}

/**
 * A .npy file's tensor name: the last segment of its path or URL without its last extension, whatever
 * it is (`weights.npy` → `weights`, `x.bin` → `x`: NumPy bytes named `pytorch_model.bin` are no tensor
 * `pytorch_model.bin`); a name that is only an extension (`.npy`) is `array`.
 */
export function npyTensorName(fileName: string): string {
  let path = fileName;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) path = path.replace(/[?#].*$/, '');
  const base = path.split(/[\\/]/).pop() ?? '';
  const dot = base.lastIndexOf('.');
  const stem = dot >= 0 ? base.slice(0, dot) : base;
  return stem === '' ? 'array' : stem;
}

/** Names listed in one note, at most. */
const MAX_NAMES_IN_NOTE = 10;

function notesFor(arrays: readonly { name: string; header: NpyHeader; dataBytes: number; entry: TensorEntry }[]): string[] {
  const list = (names: string[]): string => listed(names.map((n) => `\`${n}\``), MAX_NAMES_IN_NOTE);
  const notes: string[] = [];
  const swapped = arrays.filter((a) => a.entry.encoding.byteSwap).map((a) => a.name);
  if (swapped.length > 0) notes.push(`big-endian arrays byte-swapped to little-endian: ${list(swapped)}`);
  const fortran = arrays.filter((a) => a.entry.encoding.layout === 'strided').map((a) => a.name);
  if (fortran.length > 0) notes.push(`Fortran-order arrays gathered to row-major (C) order: ${list(fortran)}`);
  for (const a of arrays) {
    const extra = a.dataBytes - a.entry.byteLength;
    if (extra > 0) notes.push(`\`${a.name}\`: ${extra} bytes after the array's data are ignored, as numpy ignores them`);
  }
  return notes;
}

function tensorSet(format: 'npy' | 'npz', tensors: TensorEntry[], leftOut: LeftOut[], notes: string[], source: ByteSource): TensorSet {
  return { format, tensors, leftOut, notes, close: async () => source.close?.() };
}

/**
 * The first bytes of a deflated member as a source, inflated only as far as they are read (a header):
 * reads must come in increasing order of their end, as a header parse's do.
 */
class InflatedPrefix implements ByteSource {
  private buffer = new Uint8Array(0);
  private length = 0;
  private readonly it: AsyncIterator<Uint8Array>;
  private ended = false;

  constructor(
    stream: AsyncIterable<Uint8Array>,
    readonly size: number,
    readonly name: string,
  ) {
    this.it = stream[Symbol.asyncIterator]();
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this, offset, length);
    const end = offset + length;
    while (this.length < end && !this.ended) {
      const next = await this.it.next();
      if (next.done) {
        this.ended = true;
        break;
      }
      this.append(next.value);
    }
    if (this.length < end) throw new IoError('OutOfRange', `${this.name}: the inflated member ends after ${this.length} bytes, before byte ${end}`, { location: this.name });
    return this.buffer.subarray(offset, end);
  }

  private append(chunk: Uint8Array): void {
    if (this.length + chunk.byteLength > this.buffer.byteLength) {
      const grown = new Uint8Array(Math.max(this.length + chunk.byteLength, this.buffer.byteLength * 2));
      grown.set(this.buffer.subarray(0, this.length));
      this.buffer = grown;
    }
    this.buffer.set(chunk, this.length);
    this.length += chunk.byteLength;
  }

  async close(): Promise<void> {
    await this.it.return?.();
  }
}
