import type { ByteSource } from '../../io/byte-source.js';
import { DTYPE_INFO } from '../../dtype/dtypes.js';
import { FormatProblem } from '../../io/format-problem.js';
import { swapped } from '../../tensor/byte-swap.js';
import { DEFAULT_CHUNK_BYTES, type LeftOut, type TensorEntry } from '../../tensor/tensor-set.js';
import type { FormatReader, OpenOptions, ParsedModel } from '../format.js';
import { Findings, guarded, pathEscape } from '../scan-rules.js';
import { dataFileName, dtypeName, DT_STRING, parseEntry, parseHeader, sliceKey, TF_DTYPES, type BundleEntry, type BundleHeader, type Extent } from './bundle.js';
import { crc32c, unmaskCrc } from './crc32c.js';
import { TfCheckpointError } from './errors.js';
import { MAX_TF_ASSEMBLED_BYTES, MAX_TF_INDEX_BYTES, MAX_TF_OBJECT_GRAPH_BYTES } from './limits.js';
import { OBJECT_GRAPH_KEY, readableNames, trainingState } from './names.js';
import { readObjectGraph, scalarString, type ObjectGraphSummary } from './object-graph.js';
import { isKerasMetadata, isTextSavedModel } from './format.js';
import { readKerasMetadata, readSavedModel, type SavedModelInfo } from './saved-model.js';
import { scanGraph, scanKerasMetadata } from './scan-rules.js';
import { hasTableMagic, readTable, TABLE_FOOTER_BYTES } from './table.js';
import { describeTfCheckpoint } from './view.js';
import { isFingerprint } from './fingerprint.js';

/**
 * TensorFlow checkpoints as TensorSets: a tensor bundle (an `.index` LevelDB table and its data shards
 * `<prefix>.data-NNNNN-of-MMMMM`), named by its .index, or a SavedModel's saved_model.pb, whose variables
 * are the bundle `variables/variables`. Shards are opened through `openSibling`, inside the model's folder
 * only. Every tensor's bytes are checked against the CRC-32C its entry holds as they stream (a mismatch
 * is `TfCheckpointChecksum`, and a conversion keeps nothing); every block of the index against its
 * trailer's. Big-endian bundles are swapped. Partitioned variables are assembled from their slices.
 * String, resource and variant tensors, the object graph, optimizer slots and the save counter are left
 * out and listed. saved_model.pb is read as data for the scan (its ops) and the view.
 */

export interface TfCheckpointStructure {
  readonly kind: 'saved-model' | 'checkpoint';
  /** The index, relative to the opened file's folder. */
  readonly index: string;
  readonly header: BundleHeader;
  readonly entries: number;
  readonly dataBlocks: number;
  readonly snappyBlocks: number;
  readonly shards: readonly { readonly path: string; readonly size: number }[];
  readonly partitioned: number;
  readonly objectGraph: ObjectGraphSummary | undefined;
  readonly savedModel: SavedModelInfo | undefined;
}

/** Where a SavedModel keeps its variables, relative to saved_model.pb. */
const SAVED_MODEL_VARIABLES = 'variables/variables';

function problemError(p: FormatProblem, file: string): TfCheckpointError {
  return new TfCheckpointError(p.kind === 'limit' ? 'TfCheckpointLimit' : 'InvalidTfCheckpoint', `${file}: ${p.message}`, { location: p.locationIn(file), cause: p });
}

async function isIndex(source: ByteSource): Promise<boolean> {
  return source.size >= TABLE_FOOTER_BYTES && hasTableMagic(await source.read(source.size - 8, 8));
}

function baseName(name: string): string {
  return name.split(/[\\/]/).pop() ?? name;
}

export const tfCheckpointReader: FormatReader<TfCheckpointStructure> = {
  async open(source: ByteSource, options?: OpenOptions): Promise<ParsedModel<TfCheckpointStructure>> {
    const opened: ByteSource[] = [];
    try {
      return await openModel(source, options, opened);
    } catch (e) {
      for (const s of opened) await s.close?.();
      if (e instanceof FormatProblem) throw problemError(e, source.name);
      throw e;
    }
  },

  async scan(source, ctx, parsed) {
    const findings = new Findings(ctx);
    let summary = '';
    if (parsed === undefined && isFingerprint(await source.read(0, Math.min(source.size, 512)), source.size)) {
      findings.add('info', 'tf/fingerprint', `a SavedModel fingerprint (FingerprintDef: hashes of the model and a version), no tensors`, ctx.file);
      findings.flush();
      return;
    }
    const ok = await guarded(findings, 'tf', ctx.file, 'the TensorFlow file', async () => {
      const head = await source.read(0, Math.min(source.size, 512));
      if (parsed === undefined && isTextSavedModel(head)) {
        findings.add('suspicious', 'tf/text-saved-model', 'a SavedModel in protobuf text form (saved_model.pbtxt): TensorFlow loads it when the folder has no saved_model.pb, but its graph is not read here: its ops (ReadFile, PyFunc, …) are not checked', ctx.file);
        return;
      }
      if (parsed === undefined && isKerasMetadata(head)) {
        const metadata = await readKerasMetadata(source);
        scanKerasMetadata(metadata, findings, ctx.file);
        summary = `tf.keras metadata: ${metadata.length} layers' metadata read`;
        return;
      }
      if (parsed?.structure.savedModel !== undefined) {
        scanGraph(parsed.structure.savedModel, findings, ctx.file);
        summary = `SavedModel: ${parsed.structure.savedModel.nodes.length} nodes read`;
      } else if (parsed !== undefined || (await isIndex(source))) {
        if (parsed === undefined) {
          if (source.size > MAX_TF_INDEX_BYTES) throw new FormatProblem(`the index is ${source.size} bytes, more than MAX_TF_INDEX_BYTES (${MAX_TF_INDEX_BYTES})`, 0, 'limit');
          const table = readTable(await source.read(0, source.size));
          summary = `tensor bundle index: ${table.entries.length} entries, block checksums verified`;
        } else summary = `tensor bundle index: ${parsed.structure.entries} entries, block checksums verified`;
      } else {
        const info = await readSavedModel(source);
        scanGraph(info, findings, ctx.file);
        summary = `SavedModel: ${info.nodes.length} nodes read`;
      }
    });
    if (ok && !findings.has('suspicious', 'dangerous')) findings.add('info', 'tf/valid', summary, ctx.file);
    findings.flush();
  },

  describe: (parsed) => describeTfCheckpoint(parsed.structure),
};

async function openModel(source: ByteSource, options: OpenOptions | undefined, opened: ByteSource[]): Promise<ParsedModel<TfCheckpointStructure>> {
  const file = source.name;
  if (isFingerprint(await source.read(0, Math.min(source.size, 512)), source.size)) {
    throw new TfCheckpointError('NoTensors', `${file}: a SavedModel's fingerprint.pb (hashes of the model), not its weights: convert the SavedModel (its folder or saved_model.pb)`, { location: file });
  }
  const open = options?.openSibling;
  const sibling = async (path: string, what: string): Promise<ByteSource> => {
    const escape = pathEscape(path);
    if (escape !== undefined) throw new TfCheckpointError('ExternalDataRefused', `${file}: ${what} ${JSON.stringify(path)} is refused: ${escape}`, { location: file });
    if (!open) throw new TfCheckpointError('ExternalDataRefused', `${file}: ${what} ${JSON.stringify(path)} cannot be read: the model has no folder to read it from (open it with openModel from tensorsafe/node, or pass the open option openSibling)`, { location: file });
    let s: ByteSource;
    try {
      s = await open(path);
    } catch (e) {
      // Not found: in a local folder (the folder's check could not resolve it), or over HTTP.
      const { code, cause } = e as { code?: string; cause?: { code?: string } };
      if ((code === 'ExternalDataRefused' && cause?.code === 'ENOENT') || code === 'NotFound') {
        throw new TfCheckpointError('TfCheckpointFileMissing', `${file}: ${what} ${JSON.stringify(path)} is missing from the model's folder`, { location: file, cause: e });
      }
      throw e;
    }
    opened.push(s);
    return s;
  };

  let savedModel: SavedModelInfo | undefined;
  let index: ByteSource;
  let indexPath: string;
  let prefix: string;
  if (await isIndex(source)) {
    index = source;
    indexPath = baseName(file);
    prefix = indexPath.endsWith('.index') ? indexPath.slice(0, -'.index'.length) : indexPath;
  } else if (/\.index$/i.test(file)) {
    // Named as an index but without the table's footer: cut short, or not a table.
    throw new TfCheckpointError('InvalidTfCheckpoint', `${file}: its last 8 bytes are not the LevelDB table magic 0xdb4775248b80fb57: not a tensor bundle index, or cut short (${source.size} bytes)`, { location: file });
  } else if (isTextSavedModel(await source.read(0, Math.min(source.size, 512))) || isKerasMetadata(await source.read(0, Math.min(source.size, 512)))) {
    throw new TfCheckpointError('InvalidTfCheckpoint', `${file}: a SavedModel in protobuf text form, or tf.keras's keras_metadata.pb: neither holds tensors, and the text form is not read (scan reports them)`, { location: file });
  } else {
    savedModel = await readSavedModel(source);
    if (savedModel.metaGraphs.length === 0) throw new TfCheckpointError('InvalidTfCheckpoint', `${file}: not a SavedModel (no meta graph) nor a tensor bundle index (no LevelDB table footer)`, { location: file });
    prefix = SAVED_MODEL_VARIABLES;
    indexPath = `${prefix}.index`;
    try {
      index = await sibling(indexPath, "the SavedModel's variables index");
    } catch (e) {
      // TensorFlow writes no variables/ for a graph without variables: nothing is lost, there is nothing to read.
      if ((e as { code?: string }).code === 'TfCheckpointFileMissing' && !savedModel.nodes.some((n) => VARIABLE_OPS.has(n.op))) {
        throw new TfCheckpointError('NoTensors', `${file}: the SavedModel has no variables (no variable or saver op in its graph, no ${indexPath}): its values are Const nodes of the graph, which tensorsafe does not read: nothing to convert`, { location: file });
      }
      throw e;
    }
  }
  return openBundle(source, index, indexPath, prefix, savedModel, sibling, opened);
}

/** The ops that hold, save or restore variables: a SavedModel with none of them has no variables/ folder. */
const VARIABLE_OPS = new Set(['VariableV2', 'Variable', 'VarHandleOp', 'TemporaryVariable', 'SaveV2', 'Save', 'SaveSlices', 'RestoreV2', 'Restore', 'RestoreSlice', 'MergeV2Checkpoints']);

interface Kept {
  readonly key: string;
  readonly entry: BundleEntry;
}

async function openBundle(
  source: ByteSource,
  index: ByteSource,
  indexPath: string,
  prefix: string,
  savedModel: SavedModelInfo | undefined,
  sibling: (path: string, what: string) => Promise<ByteSource>,
  opened: ByteSource[],
): Promise<ParsedModel<TfCheckpointStructure>> {
  const file = index.name;
  if (index.size > MAX_TF_INDEX_BYTES) throw new TfCheckpointError('TfCheckpointLimit', `${file}: the index is ${index.size} bytes, more than MAX_TF_INDEX_BYTES (${MAX_TF_INDEX_BYTES})`, { location: file });
  let table;
  try {
    table = readTable(await index.read(0, index.size));
  } catch (e) {
    throw e instanceof FormatProblem ? problemError(e, file) : e;
  }
  const first = table.entries[0];
  if (first === undefined || first.key.length !== 0) throw new TfCheckpointError('InvalidTfCheckpoint', `${file}: the index has no bundle header (the entry under the empty key)`, { location: file });
  let header: BundleHeader;
  try {
    header = parseHeader(first.value, first.block);
  } catch (e) {
    throw e instanceof FormatProblem ? problemError(e, file) : e;
  }
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const slices = new Map<string, BundleEntry>();
  const kept: Kept[] = [];
  const leftOut: LeftOut[] = [];
  let objectGraphEntry: BundleEntry | undefined;
  for (const e of table.entries.slice(1)) {
    let key: string;
    if (e.key[0] === 0) {
      // A slice of a partitioned variable, found through its variable's entry.
      try {
        slices.set(latin1(e.key), parseEntry(e.value, e.block, 'a slice'));
      } catch (err) {
        throw err instanceof FormatProblem ? problemError(err, file) : err;
      }
      continue;
    }
    try {
      key = utf8.decode(e.key);
    } catch {
      throw new TfCheckpointError('InvalidTfCheckpoint', `${file}: a key in the block at ${e.block} is not UTF-8 text`, { location: `${file}@${e.block}` });
    }
    let entry: BundleEntry;
    try {
      entry = parseEntry(e.value, e.block, JSON.stringify(key));
    } catch (err) {
      throw err instanceof FormatProblem ? problemError(err, file) : err;
    }
    if (key === OBJECT_GRAPH_KEY && entry.dtype === DT_STRING) {
      objectGraphEntry = entry;
      continue;
    }
    const state = trainingState(key);
    if (state !== undefined) {
      leftOut.push({ path: key, what: `${state}, ${dtypeName(entry.dtype)}` });
      continue;
    }
    if (TF_DTYPES[entry.dtype] === undefined) {
      const why = entry.dtype === DT_STRING ? 'strings' : entry.dtype === 20 || entry.dtype === 21 ? 'a handle, not values' : 'a type safetensors cannot hold';
      leftOut.push({ path: key, what: `a ${dtypeName(entry.dtype)} tensor${entry.shape ? ` of shape [${entry.shape.join(', ')}]` : ''}: ${why}` });
      continue;
    }
    kept.push({ key, entry });
  }

  // The data shards: each one a tensor lies in is opened (and must exist) before any byte is read.
  const shards = new Map<number, ByteSource>();
  const shardOf = async (id: number, what: string): Promise<ByteSource> => {
    if (id >= header.numShards) throw new TfCheckpointError('InvalidTfCheckpoint', `${file}: ${what} is in data shard ${id}, but the header declares ${header.numShards}`, { location: file });
    let s = shards.get(id);
    if (s === undefined) shards.set(id, (s = await sibling(dataFileName(prefix, id, header.numShards), 'data shard')));
    return s;
  };
  const objectGraph = objectGraphEntry === undefined ? undefined : readObjectGraph(await stringBytes(objectGraphEntry, OBJECT_GRAPH_KEY, await shardOf(objectGraphEntry.shardId, OBJECT_GRAPH_KEY), file, header.bigEndian), file);
  if (objectGraph !== undefined) leftOut.push({ path: OBJECT_GRAPH_KEY, what: `the object graph (TrackableObjectGraph: ${objectGraph.nodes} objects, ${objectGraph.attributes} saved attributes, ${objectGraph.slotVariables} slot variables), read for the view` });

  const { names, kept: suffixKept } = readableNames(kept.map((k) => k.key));
  const tensors: TensorEntry[] = [];
  let partitioned = 0;
  for (const [i, { key, entry }] of kept.entries()) {
    const name = names[i]!;
    const dtype = TF_DTYPES[entry.dtype]!;
    if (entry.shape === undefined) throw new TfCheckpointError('InvalidTfCheckpoint', `${file}: tensor ${JSON.stringify(key)} has an unknown rank`, { location: file });
    const item = DTYPE_INFO[dtype].bits / 8;
    const elements = entry.shape.reduce((n, d) => n * d, 1);
    const byteLength = elements * item;
    if (!Number.isSafeInteger(byteLength)) throw new TfCheckpointError('InvalidTfCheckpoint', `${file}: tensor ${JSON.stringify(key)} of shape [${entry.shape.join(', ')}] has more elements than can be addressed`, { location: file });
    const unit = header.bigEndian && item > 1 ? (dtype === 'C64' ? 4 : item) : undefined;
    if (entry.slices.length > 0) {
      partitioned++;
      const parts: { extents: { start: number; length: number }[]; entry: BundleEntry; shard: ByteSource }[] = [];
      for (const slice of entry.slices) {
        const extents = fullExtents(slice, entry.shape, key, file);
        const s = slices.get(latin1(sliceKey(new TextEncoder().encode(key), slice)));
        if (s === undefined) throw new TfCheckpointError('InvalidTfCheckpoint', `${file}: slice [${describeSlice(extents)}] of ${JSON.stringify(key)} has no entry in the index`, { location: file });
        parts.push({ extents, entry: s, shard: await shardOf(s.shardId, `slice [${describeSlice(extents)}] of ${JSON.stringify(key)}`) });
      }
      checkCoverage(parts.map((p) => p.extents), entry.shape, key, file);
      if (byteLength > MAX_TF_ASSEMBLED_BYTES) throw new TfCheckpointError('TfCheckpointLimit', `${file}: partitioned variable ${JSON.stringify(key)} is ${byteLength} bytes, more than MAX_TF_ASSEMBLED_BYTES (${MAX_TF_ASSEMBLED_BYTES}) to assemble in memory`, { location: file });
      for (const p of parts) {
        const n = p.extents.reduce((m, x) => m * x.length, 1) * item;
        checkStored(p.entry, n, p.shard, `slice [${describeSlice(p.extents)}] of ${JSON.stringify(key)}`, file);
      }
      tensors.push({
        name,
        dtype,
        shape: [...entry.shape],
        byteLength,
        encoding: { layout: 'decoded', decoder: 'tf-partitioned-slices', ...(unit ? { byteSwap: unit } : {}) },
        fidelity: 'exact',
        async *chunks(chunkBytes = DEFAULT_CHUNK_BYTES) {
          const whole = new Uint8Array(byteLength);
          for (const p of parts) {
            const n = p.extents.reduce((m, x) => m * x.length, 1) * item;
            const bytes = swapped(await storedBytes(p.entry, `slice [${describeSlice(p.extents)}] of ${JSON.stringify(key)}`, p.shard, file, n), unit);
            place(whole, bytes, p.extents, entry.shape!, item);
          }
          for (let at = 0; at < byteLength; at += chunkBytes) yield whole.subarray(at, Math.min(byteLength, at + chunkBytes));
        },
      });
      continue;
    }
    const shard = await shardOf(entry.shardId, `tensor ${JSON.stringify(key)}`);
    checkStored(entry, byteLength, shard, `tensor ${JSON.stringify(key)}`, file);
    const checked = { done: false };
    tensors.push({
      name,
      dtype,
      shape: [...entry.shape],
      byteLength,
      encoding: unit ? { layout: 'stored', byteSwap: unit } : { layout: 'stored' },
      fidelity: 'exact',
      chunks: (chunkBytes = DEFAULT_CHUNK_BYTES) => checkedChunks(entry, shard, key, file, chunkBytes, item, unit, checked),
    });
  }
  const notes: string[] = [];
  if (header.bigEndian) notes.push('the bundle is big-endian: every tensor was byte-swapped to little-endian');
  if (partitioned > 0) notes.push(`${partitioned} partitioned ${partitioned === 1 ? 'variable' : 'variables'} assembled from ${partitioned === 1 ? 'its' : 'their'} slices`);
  if (suffixKept.length > 0) notes.push(`kept the whole checkpoint key of ${suffixKept.map((k) => JSON.stringify(k)).join(', ')}: without /.ATTRIBUTES/VARIABLE_VALUE it would be another variable's name`);
  const shardList = [...shards.entries()].sort((a, b) => a[0] - b[0]).map(([id, s]) => ({ path: dataFileName(prefix, id, header.numShards), size: s.size }));
  return {
    tensors: {
      format: 'tf-checkpoint',
      tensors,
      leftOut,
      notes,
      close: async () => {
        for (const s of opened) await s.close?.();
        opened.length = 0;
        await source.close?.();
      },
    },
    structure: {
      kind: savedModel ? 'saved-model' : 'checkpoint',
      index: indexPath,
      header,
      entries: table.entries.length,
      dataBlocks: table.dataBlocks,
      snappyBlocks: table.snappyBlocks,
      shards: shardList,
      partitioned,
      objectGraph,
      savedModel,
    },
  };
}

function latin1(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += String.fromCharCode(x);
  return s;
}

/** An entry's bytes must be what its dtype and shape take, inside its shard. */
function checkStored(entry: BundleEntry, byteLength: number, shard: ByteSource, what: string, file: string): void {
  if (entry.size !== byteLength) throw new TfCheckpointError('InvalidTfCheckpoint', `${file}: ${what} declares ${entry.size} bytes, its dtype and shape take ${byteLength}`, { location: file });
  if (entry.offset + entry.size > shard.size) throw new TfCheckpointError('InvalidTfCheckpoint', `${file}: ${what} lies at [${entry.offset}, ${entry.offset + entry.size}), past the end of ${shard.name} (${shard.size} bytes)`, { location: shard.name });
}

function crcError(entry: BundleEntry, actual: number, what: string, file: string, shard: ByteSource): TfCheckpointError {
  return new TfCheckpointError('TfCheckpointChecksum', `${file}: ${what}: its bytes in ${shard.name} at ${entry.offset} have CRC-32C 0x${actual.toString(16).padStart(8, '0')}, the index says 0x${unmaskCrc(entry.crc32c!).toString(16).padStart(8, '0')} (the data was changed or damaged)`, { location: `${shard.name}@${entry.offset}` });
}

/** An entry's bytes, whole (small ones: a slice, the object graph), CRC checked. */
async function storedBytes(entry: BundleEntry, what: string, shard: ByteSource, file: string, max: number): Promise<Uint8Array> {
  if (entry.size > max) throw new TfCheckpointError('TfCheckpointLimit', `${file}: ${what} is ${entry.size} bytes, more than can be read whole (${max})`, { location: file });
  if (entry.offset + entry.size > shard.size) throw new TfCheckpointError('InvalidTfCheckpoint', `${file}: ${what} lies past the end of ${shard.name}`, { location: shard.name });
  const bytes = await shard.read(entry.offset, entry.size);
  const actual = crc32c(bytes);
  if (entry.crc32c !== undefined && unmaskCrc(entry.crc32c) !== actual) throw crcError(entry, actual, what, file, shard);
  return bytes;
}

/** A scalar string tensor's string (the object graph), the entry's CRC checked as TensorFlow computes it for strings. */
async function stringBytes(entry: BundleEntry, what: string, shard: ByteSource, file: string, bigEndian: boolean): Promise<Uint8Array> {
  if (entry.size > MAX_TF_OBJECT_GRAPH_BYTES) throw new TfCheckpointError('TfCheckpointLimit', `${file}: ${what} is ${entry.size} bytes, more than MAX_TF_OBJECT_GRAPH_BYTES (${MAX_TF_OBJECT_GRAPH_BYTES})`, { location: file });
  if (entry.offset + entry.size > shard.size) throw new TfCheckpointError('InvalidTfCheckpoint', `${file}: ${what} lies past the end of ${shard.name}`, { location: shard.name });
  let s: { crc: number; value: Uint8Array };
  try {
    s = scalarString(await shard.read(entry.offset, entry.size), bigEndian);
  } catch (e) {
    if (e instanceof FormatProblem) throw new TfCheckpointError('InvalidTfCheckpoint', `${file}: ${what}: ${e.message}`, { location: `${shard.name}@${entry.offset}`, cause: e });
    throw e;
  }
  if (entry.crc32c !== undefined && unmaskCrc(entry.crc32c) !== s.crc) throw crcError(entry, s.crc, what, file, shard);
  return s.value;
}

/**
 * A tensor's bytes in chunks of whole elements, its CRC checked when the last chunk has been read (before
 * the last chunk is given). Once a whole stream has matched, later streams of the same tensor (convert's
 * comparison of the output with the source) are not checked again: the comparison itself fails if the
 * bytes changed since.
 */
async function* checkedChunks(entry: BundleEntry, shard: ByteSource, key: string, file: string, chunkBytes: number, item: number, unit: number | undefined, checked: { done: boolean }): AsyncGenerator<Uint8Array> {
  const per = Math.max(item, chunkBytes - (chunkBytes % item));
  const check = entry.crc32c !== undefined && !checked.done;
  let crc = 0;
  // The next chunk is read while this one's CRC is computed: the read runs beside the check, not after it.
  // (A read left pending when the stream fails or is abandoned must not be an unhandled rejection: it is awaited, or dropped.)
  const readAt = (at: number): Promise<Uint8Array> | undefined => {
    if (at >= entry.size) return undefined;
    const read = shard.read(entry.offset + at, Math.min(per, entry.size - at));
    read.catch(() => undefined);
    return read;
  };
  let next = readAt(0);
  for (let at = 0; at < entry.size; at += per) {
    const bytes = await next!;
    next = readAt(at + per);
    if (check) {
      crc = crc32c(bytes, crc);
      if (at + per >= entry.size && unmaskCrc(entry.crc32c!) !== crc) throw crcError(entry, crc, `tensor ${JSON.stringify(key)}`, file, shard);
    }
    yield swapped(bytes, unit);
  }
  if (check && entry.size === 0 && unmaskCrc(entry.crc32c!) !== 0) throw crcError(entry, 0, `tensor ${JSON.stringify(key)}`, file, shard);
  if (check) checked.done = true;
}

/** A slice's extents with whole dimensions made explicit, inside the variable's shape. */
function fullExtents(slice: readonly Extent[], shape: readonly number[], key: string, file: string): { start: number; length: number }[] {
  if (slice.length !== shape.length) throw new TfCheckpointError('InvalidTfCheckpoint', `${file}: a slice of ${JSON.stringify(key)} has ${slice.length} dimensions, the variable ${shape.length}`, { location: file });
  return slice.map((e, d) => {
    const x = e.length === undefined ? { start: 0, length: shape[d]! } : { start: e.start, length: e.length };
    if (x.start + x.length > shape[d]!) throw new TfCheckpointError('InvalidTfCheckpoint', `${file}: a slice of ${JSON.stringify(key)} reaches ${x.start + x.length} in dimension ${d} of ${shape[d]}`, { location: file });
    return x;
  });
}

function describeSlice(extents: readonly { start: number; length: number }[]): string {
  return extents.map((e) => `${e.start}:${e.start + e.length}`).join(', ');
}

/** The slices must cover the variable exactly once: their elements add up to its own, and no two overlap. */
function checkCoverage(parts: readonly { start: number; length: number }[][], shape: readonly number[], key: string, file: string): void {
  const total = shape.reduce((n, d) => n * d, 1);
  const sum = parts.reduce((n, p) => n + p.reduce((m, x) => m * x.length, 1), 0);
  for (let i = 0; i < parts.length; i++) {
    for (let j = i + 1; j < parts.length; j++) {
      const overlap = parts[i]!.every((a, d) => {
        const b = parts[j]![d]!;
        return a.start < b.start + b.length && b.start < a.start + a.length && a.length > 0 && b.length > 0;
      });
      if (overlap) throw new TfCheckpointError('InvalidTfCheckpoint', `${file}: slices [${describeSlice(parts[i]!)}] and [${describeSlice(parts[j]!)}] of ${JSON.stringify(key)} overlap`, { location: file });
    }
  }
  if (sum !== total) throw new TfCheckpointError('InvalidTfCheckpoint', `${file}: the slices of ${JSON.stringify(key)} hold ${sum} elements, the variable ${total}`, { location: file });
}

/** Copies a slice's row-major bytes into the whole tensor, one contiguous run of its last dimension at a time. */
function place(whole: Uint8Array, bytes: Uint8Array, extents: readonly { start: number; length: number }[], shape: readonly number[], item: number): void {
  const rank = shape.length;
  if (rank === 0) {
    whole.set(bytes);
    return;
  }
  const strides = new Array<number>(rank);
  let s = item;
  for (let d = rank - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d]!;
  }
  const run = extents[rank - 1]!.length * item;
  const rows = extents.slice(0, -1).reduce((n, x) => n * x.length, 1);
  if (run === 0 || rows === 0) return;
  const idx = new Array<number>(rank - 1).fill(0);
  for (let r = 0; r < rows; r++) {
    let at = extents[rank - 1]!.start * item;
    for (let d = 0; d < rank - 1; d++) at += (extents[d]!.start + idx[d]!) * strides[d]!;
    whole.set(bytes.subarray(r * run, (r + 1) * run), at);
    for (let d = rank - 2; d >= 0; d--) {
      if (++idx[d]! < extents[d]!.length) break;
      idx[d] = 0;
    }
  }
}
