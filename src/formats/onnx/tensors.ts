import type { ByteSource } from '../../io/byte-source.js';
import { readChunks } from '../../io/read-chunks.js';
import { DEFAULT_CHUNK_BYTES, readEntry, STORED, type TensorEntry } from '../../tensor/tensor-set.js';
import { DOUBLE_DATA, FLOAT_DATA, INT32_DATA, INT64_DATA, ONNX_DTYPES, onnxDtypeName, REFUSED_ONNX_DTYPES, UINT64_DATA, type OnnxDtype } from './dtype.js';
import { OnnxError } from './errors.js';
import { countVarints, eachVarint } from '../protobuf/wire.js';
import { MAX_ONNX_SPARSE_DENSE_BYTES, MAX_ONNX_TYPED_BYTES, type TensorRecord } from './model.js';
import { Sha1 } from './sha1.js';
import { unpackNibbleChunks } from '../../tensor/nibbles.js';

/**
 * A located ONNX tensor as a TensorEntry. raw_data (and external data) is read as it lies, in bounded
 * chunks; the typed fields are decoded as `onnx.numpy_helper.to_array` does: float_data and
 * double_data as they lie; int64_data and uint64_data as 64-bit values (uint64_data cast to UINT32
 * keeps the low 32 bits); int32_data cast to the tensor's type (INT8/INT16/UINT8/UINT16: the low bits,
 * BOOL: non-zero is 1, FLOAT16/BFLOAT16/FLOAT8: the value's low 16 or 8 bits are the element's bits).
 */

/** Opens an external data file: `location` resolved inside the model's folder, or a refusal. */
export type ExternalOpener = (location: string, tensor: string) => Promise<ByteSource>;

export function onnxDtypeOf(t: TensorRecord, file: string): OnnxDtype {
  const d = ONNX_DTYPES.get(t.dataType);
  if (d) return d;
  const why = REFUSED_ONNX_DTYPES.get(t.dataType) ?? `data type ${t.dataType} is not an ONNX type this reader knows`;
  throw new OnnxError('UnsupportedTensor', `${file}: tensor ${JSON.stringify(t.name)} (${t.where}) is ${why}; safetensors cannot hold it`, { location: `${file}@${t.at}` });
}

export function elementCount(t: TensorRecord): number {
  return t.dims.reduce((a, b) => a * b, 1);
}

/** The entry of a tensor whose data lies in `source` (the model) or an external file. */
export async function tensorEntry(t: TensorRecord, source: ByteSource, file: string, openExternal: ExternalOpener | undefined): Promise<TensorEntry> {
  const where = `${file}@${t.at}`;
  if (t.data?.kind === 'sparse') return sparseEntry(t, t.data.values, t.data.indices, source, file, openExternal);
  const d = onnxDtypeOf(t, file);
  const count = elementCount(t);
  if (d.packed === 'f4' && count % 2 !== 0) {
    throw new OnnxError('UnsupportedTensor', `${file}: tensor ${JSON.stringify(t.name)} (${t.where}) is FLOAT4E2M1 with an odd number of elements (${count}); safetensors' F4 holds whole bytes (two elements each)`, { location: where });
  }
  // Bytes as the model holds them (4-bit types: two elements a byte) and as the output has them.
  const stored = d.packed ? Math.ceil(count / 2) : count * d.size;
  const byteLength = d.packed === 'f4' ? count / 2 : count * d.size;
  if (!Number.isSafeInteger(byteLength)) throw new OnnxError('InvalidOnnx', `${file}: tensor ${JSON.stringify(t.name)} has dims [${t.dims.join(', ')}]: too many elements`, { location: where });
  const base = { name: t.name, dtype: d.dtype, shape: [...t.dims], byteLength };
  const data = t.data;
  const mismatch = (have: string): OnnxError =>
    new OnnxError('InvalidOnnx', `${file}: tensor ${JSON.stringify(t.name)} (${t.where}) is ${onnxDtypeName(t.dataType)} [${t.dims.join(', ')}] (${count} elements, ${stored} bytes) but ${have}`, { location: where });
  if (data === undefined) throw mismatch('it has no data');
  const unit = d.packed ? 1 : d.size;
  const step = (chunkBytes: number): number => Math.max(unit, Math.floor(chunkBytes / unit) * unit);
  // INT4/UINT4 are unpacked as they stream, one output byte per element (I8 sign-extended, U8).
  const nibbles = d.packed === 'int4' || d.packed === 'uint4';
  const output = (packedChunks: (chunkBytes: number) => AsyncIterable<Uint8Array>, encoding: TensorEntry['encoding']): TensorEntry => ({
    ...base,
    encoding: nibbles ? { layout: 'decoded', decoder: 'int4-unpack' } : encoding,
    fidelity: nibbles ? 'lossless' : 'exact',
    chunks: (chunkBytes = DEFAULT_CHUNK_BYTES) => (nibbles ? unpackNibbleChunks(packedChunks(Math.max(1, chunkBytes >> 1)), d.packed === 'int4', count) : packedChunks(chunkBytes)),
  });
  if (data.kind === 'raw') {
    if (data.length !== stored) throw mismatch(`its raw_data is ${data.length} bytes`);
    return output((n) => readChunks(source, data.start, data.length, step(n)), STORED);
  }
  if (data.kind === 'external') {
    const ext = await externalRange(data.entries, data.repeated, t, file, openExternal);
    if (ext.length !== stored) throw mismatch(`its external data is ${ext.length} bytes`);
    return output((n) => checked(readChunks(ext.source, ext.offset, ext.length, step(n)), ext, t, file), STORED);
  }
  if (data.kind === 'inline') {
    if (data.bytes.byteLength !== stored) throw mismatch(`it holds ${data.bytes.byteLength} bytes`);
    return output((n) => sliced(data.bytes, n, unit), STORED);
  }
  const typedBytes = data.ranges.reduce((a, r) => a + r.end - r.start, 0);
  if (typedBytes > MAX_ONNX_TYPED_BYTES) {
    throw new OnnxError('OnnxLimit', `${file}: tensor ${JSON.stringify(t.name)} has ${typedBytes} bytes of typed values, more than MAX_ONNX_TYPED_BYTES (${MAX_ONNX_TYPED_BYTES})`, { location: where });
  }
  const fixed = data.field === FLOAT_DATA ? 4 : data.field === DOUBLE_DATA ? 8 : 0;
  // The element count of typed values, checked now: a fixed-width field's is its length, a varint field's its last bytes.
  // 4-bit types hold one packed byte (two elements) in each int32_data value.
  const want = d.packed ? stored : count;
  let have = 0;
  if (fixed > 0) {
    for (const r of data.ranges) {
      if ((r.end - r.start) % fixed !== 0 || (!r.packed && r.end - r.start !== fixed)) throw mismatch(`its typed values are ${r.end - r.start} bytes, not whole ${fixed}-byte values`);
      have += (r.end - r.start) / fixed;
    }
    if (d.dtype === 'C64') have /= 2;
  } else {
    for (const r of data.ranges) have += countVarints(await source.read(r.start, r.end - r.start), r.start);
  }
  if (have !== want) throw mismatch(`it has ${have} typed values${d.packed ? ` (packed bytes of two elements; ${want} expected)` : ''}`);
  // Decoded in memory: a varint of 1 byte becomes an element of up to 8.
  if (stored > MAX_ONNX_TYPED_BYTES) {
    throw new OnnxError('OnnxLimit', `${file}: tensor ${JSON.stringify(t.name)} has typed values that decode to ${stored} bytes, more than MAX_ONNX_TYPED_BYTES (${MAX_ONNX_TYPED_BYTES})`, { location: where });
  }
  const decode = async (): Promise<Uint8Array> => {
    const out = new Uint8Array(stored);
    let o = 0;
    for (const r of data.ranges) {
      const bytes = await source.read(r.start, r.end - r.start);
      if (fixed > 0) {
        out.set(bytes, o);
        o += bytes.byteLength;
      } else o = castVarints(bytes, r.start, d, data.field, out, o);
    }
    return out;
  };
  return output((n) => decodedChunks(decode, n, unit), fixed > 0 ? STORED : { layout: 'decoded', decoder: 'onnx-typed-field' });
}

/**
 * A sparse tensor (SparseTensorProto, COO) densified as onnx does: zeros, then each value at its
 * index. Indices are INT64, [NNZ] linear or [NNZ, rank]; every one must be in range and, as onnx.checker
 * requires, in strictly ascending (row-major) order: out of range, unsorted or repeated indices are
 * refused, never resolved by a guess. Built in memory, at most MAX_ONNX_SPARSE_DENSE_BYTES.
 */
async function sparseEntry(t: TensorRecord, values: TensorRecord, indices: TensorRecord, source: ByteSource, file: string, openExternal: ExternalOpener | undefined): Promise<TensorEntry> {
  const where = `${file}@${t.at}`;
  const bad = (why: string): OnnxError => new OnnxError('InvalidOnnx', `${file}: sparse tensor ${JSON.stringify(t.name)} (${t.where}) ${why}`, { location: where });
  const d = onnxDtypeOf(values, file);
  if (d.packed) throw new OnnxError('UnsupportedTensor', `${file}: sparse tensor ${JSON.stringify(t.name)} (${t.where}) has ${d.onnx} values; packed 4-bit sparse values are not densified`, { location: where });
  const count = elementCount(t);
  const byteLength = count * d.size;
  if (!Number.isSafeInteger(byteLength) || byteLength > MAX_ONNX_SPARSE_DENSE_BYTES) {
    throw new OnnxError('OnnxLimit', `${file}: sparse tensor ${JSON.stringify(t.name)} (${t.where}) is [${t.dims.join(', ')}] dense (${byteLength} bytes), more than MAX_ONNX_SPARSE_DENSE_BYTES (${MAX_ONNX_SPARSE_DENSE_BYTES})`, { location: where });
  }
  if (values.dims.length !== 1) throw bad(`has values of dims [${values.dims.join(', ')}], not [NNZ]`);
  const nnz = values.dims[0]!;
  const rank = t.dims.length;
  if (indices.dataType !== 7) throw bad(`has ${onnxDtypeName(indices.dataType)} indices, not INT64`);
  const linear = indices.dims.length === 1 && indices.dims[0] === nnz;
  if (!linear && !(indices.dims.length === 2 && indices.dims[0] === nnz && indices.dims[1] === rank)) {
    throw bad(`has indices of dims [${indices.dims.join(', ')}]; with ${nnz} values they must be [${nnz}] or [${nnz}, ${rank}]`);
  }
  const valueEntry = await tensorEntry({ ...values, name: t.name }, source, file, openExternal);
  const indexEntry = await tensorEntry({ ...indices, name: t.name }, source, file, openExternal);
  if (indexEntry.byteLength > MAX_ONNX_SPARSE_DENSE_BYTES) {
    throw new OnnxError('OnnxLimit', `${file}: sparse tensor ${JSON.stringify(t.name)} (${t.where}) has ${indexEntry.byteLength} bytes of indices, more than MAX_ONNX_SPARSE_DENSE_BYTES (${MAX_ONNX_SPARSE_DENSE_BYTES})`, { location: where });
  }
  // The indices are checked on open, so a bad one refuses the model before anything is written.
  const idx = new BigInt64Array((await readEntry(indexEntry)).buffer);
  const positions = new Float64Array(nnz);
  const strides = t.dims.map((_, i) => t.dims.slice(i + 1).reduce((a, b) => a * b, 1));
  let previous = -1;
  for (let i = 0; i < nnz; i++) {
    let at = 0;
    if (linear) at = Number(idx[i]!);
    else {
      for (let j = 0; j < rank; j++) {
        const k = Number(idx[i * rank + j]!);
        if (k < 0 || k >= t.dims[j]!) throw bad(`has value ${i} at index ${k} of dimension ${j}, outside [0, ${t.dims[j]})`);
        at += k * strides[j]!;
      }
    }
    if (!(at >= 0 && at < count)) throw bad(`has value ${i} at linear index ${idx[i]}, outside [0, ${count})`);
    if (at <= previous) throw bad(`has value ${i} at index ${at}, ${at === previous ? 'a repeated index' : 'before the previous one'}: indices must be strictly ascending, as onnx.checker requires`);
    previous = at;
    positions[i] = at;
  }
  const densify = async (): Promise<Uint8Array> => {
    const vals = await readEntry(valueEntry);
    const out = new Uint8Array(byteLength);
    for (let i = 0; i < nnz; i++) out.set(vals.subarray(i * d.size, (i + 1) * d.size), positions[i]! * d.size);
    return out;
  };
  return {
    name: t.name,
    dtype: d.dtype,
    shape: [...t.dims],
    byteLength,
    encoding: { layout: 'decoded', decoder: 'sparse-densify' },
    fidelity: 'lossless',
    chunks: (chunkBytes = DEFAULT_CHUNK_BYTES) => decodedChunks(densify, chunkBytes, d.size),
  };
}

/**
 * External bytes as they stream, hashed; at the end compared with the `checksum` the model gives,
 * if any: a mismatch throws ExternalDataChecksum before the last chunk is taken as written. ONNX's spec
 * calls it the SHA-1 of the file under `location`; for a tensor that shares its file, a digest of its
 * own range or of the whole file is accepted (the whole file is hashed only when the range's differs).
 */
async function* checked(chunks: AsyncIterable<Uint8Array>, ext: ExternalRange, t: TensorRecord, file: string): AsyncGenerator<Uint8Array> {
  if (ext.checksum === undefined) {
    yield* chunks;
    return;
  }
  const h = new Sha1();
  for await (const c of chunks) {
    h.update(c);
    yield c;
  }
  const got = h.hex();
  if (got === ext.checksum) return;
  const whole = ext.offset === 0 && ext.length === ext.source.size;
  if (!whole) {
    const all = new Sha1();
    for await (const c of readChunks(ext.source, 0, ext.source.size, DEFAULT_CHUNK_BYTES)) all.update(c);
    if (all.hex() === ext.checksum) return;
  }
  throw new OnnxError(
    'ExternalDataChecksum',
    `${file}: tensor ${JSON.stringify(t.name)} (${t.where}): external data in ${JSON.stringify(ext.location)} (bytes ${ext.offset}–${ext.offset + ext.length}) has SHA-1 ${got}${whole ? '' : ' (and the whole file another)'}, not the checksum ${ext.checksum} the model gives`,
    { location: `${file}@${t.at}` },
  );
}

/** Writes the varints of `bytes` as the tensor's elements, cast as numpy's astype does; returns the next offset. */
function castVarints(bytes: Uint8Array, at: number, d: OnnxDtype, field: number, out: Uint8Array, o: number): number {
  const v = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const wide = field === INT64_DATA || field === UINT64_DATA;
  eachVarint(bytes, at, (lo, hi) => {
    if (wide) {
      v.setUint32(o, lo, true);
      if (d.size === 8) v.setUint32(o + 4, hi, true);
    } else if (field === INT32_DATA) {
      if (d.dtype === 'BOOL') out[o] = lo !== 0 ? 1 : 0;
      else if (d.size === 1) out[o] = lo & 0xff;
      else if (d.size === 2) v.setUint16(o, lo & 0xffff, true);
      else v.setUint32(o, lo, true);
    }
    o += d.size;
  });
  return o;
}

async function* sliced(bytes: Uint8Array, chunkBytes: number, unit: number): AsyncGenerator<Uint8Array> {
  const step = Math.max(unit, Math.floor(chunkBytes / unit) * unit);
  for (let o = 0; o < bytes.byteLength; o += step) yield bytes.subarray(o, Math.min(bytes.byteLength, o + step));
}

async function* decodedChunks(decode: () => Promise<Uint8Array>, chunkBytes: number, unit: number): AsyncGenerator<Uint8Array> {
  yield* sliced(await decode(), chunkBytes, unit);
}

/** Keys of external_data this reader knows; others are refused (a loader might read them differently). */
const EXTERNAL_KEYS = new Set(['location', 'offset', 'length', 'checksum']);

interface ExternalRange {
  readonly source: ByteSource;
  readonly location: string;
  readonly offset: number;
  readonly length: number;
  /** The SHA-1 the model gives, lower-case hex. */
  readonly checksum?: string;
}

async function externalRange(entries: ReadonlyMap<string, string>, repeated: string | undefined, t: TensorRecord, file: string, open: ExternalOpener | undefined): Promise<ExternalRange> {
  const refuse = (why: string): OnnxError => new OnnxError('ExternalDataRefused', `${file}: tensor ${JSON.stringify(t.name)} (${t.where}): external data ${why}`, { location: `${file}@${t.at}` });
  if (repeated !== undefined) throw refuse(`has the key ${JSON.stringify(repeated)} more than once (loaders disagree on which one is used)`);
  for (const key of entries.keys()) if (!EXTERNAL_KEYS.has(key)) throw refuse(`has the key ${JSON.stringify(key)}, which this reader does not know`);
  const location = entries.get('location');
  if (location === undefined || location === '') throw refuse('has no location');
  const number = (key: string): number | undefined => {
    const s = entries.get(key);
    if (s === undefined) return undefined;
    if (!/^\d{1,15}$/.test(s)) throw refuse(`has ${key} ${JSON.stringify(s)}, not a whole number`);
    return Number(s);
  };
  const offset = number('offset') ?? 0;
  const declared = number('length');
  const checksum = entries.get('checksum');
  if (checksum !== undefined && !/^[0-9a-fA-F]{40}$/.test(checksum)) throw refuse(`has checksum ${JSON.stringify(checksum.slice(0, 80))}, not a SHA-1 hex digest (40 hex digits)`);
  if (!open) throw refuse(`is in ${JSON.stringify(location)}, and the model's folder is not known (the model was not opened from a local file)`);
  const source = await open(location, t.name);
  if (offset > source.size) throw refuse(`starts at offset ${offset}, past the end of ${JSON.stringify(location)} (${source.size} bytes)`);
  const length = declared ?? source.size - offset;
  if (offset + length > source.size) throw refuse(`runs to byte ${offset + length}, past the end of ${JSON.stringify(location)} (${source.size} bytes)`);
  return { source, location, offset, length, ...(checksum !== undefined ? { checksum: checksum.toLowerCase() } : {}) };
}
