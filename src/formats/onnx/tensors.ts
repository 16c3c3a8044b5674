import type { ByteSource } from '../../io/byte-source.js';
import { readChunks } from '../../io/read-chunks.js';
import { DEFAULT_CHUNK_BYTES, STORED, type TensorEntry } from '../../tensor/tensor-set.js';
import { DOUBLE_DATA, FLOAT_DATA, INT32_DATA, INT64_DATA, ONNX_DTYPES, onnxDtypeName, REFUSED_ONNX_DTYPES, UINT64_DATA, type OnnxDtype } from './dtype.js';
import { OnnxError } from './errors.js';
import { varints } from '../protobuf/wire.js';
import { MAX_ONNX_TYPED_BYTES, type TensorRecord } from './model.js';

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
  const d = onnxDtypeOf(t, file);
  const count = elementCount(t);
  const byteLength = count * d.size;
  if (!Number.isSafeInteger(byteLength)) throw new OnnxError('InvalidOnnx', `${file}: tensor ${JSON.stringify(t.name)} has dims [${t.dims.join(', ')}]: too many elements`, { location: where });
  const base = { name: t.name, dtype: d.dtype, shape: [...t.dims], byteLength };
  const data = t.data;
  const mismatch = (have: string): OnnxError =>
    new OnnxError('InvalidOnnx', `${file}: tensor ${JSON.stringify(t.name)} (${t.where}) is ${onnxDtypeName(t.dataType)} [${t.dims.join(', ')}] (${count} elements, ${byteLength} bytes) but ${have}`, { location: where });
  if (data === undefined) throw mismatch('it has no data');
  if (data.kind === 'raw' || data.kind === 'external') {
    let from = source;
    let offset = 0;
    let length = 0;
    if (data.kind === 'raw') [offset, length] = [data.start, data.length];
    else {
      const ext = await externalRange(data.entries, t, file, openExternal);
      [from, offset, length] = [ext.source, ext.offset, ext.length];
    }
    if (length !== byteLength) throw mismatch(`its ${data.kind === 'raw' ? 'raw_data' : 'external data'} is ${length} bytes`);
    const step = (chunkBytes: number): number => Math.max(d.size, Math.floor(chunkBytes / d.size) * d.size);
    return { ...base, encoding: STORED, fidelity: 'exact', chunks: (chunkBytes = DEFAULT_CHUNK_BYTES) => readChunks(from, offset, length, step(chunkBytes)) };
  }
  if (data.kind === 'inline') {
    if (data.bytes.byteLength !== byteLength) throw mismatch(`it holds ${data.bytes.byteLength} bytes`);
    return { ...base, encoding: STORED, fidelity: 'exact', chunks: (chunkBytes = DEFAULT_CHUNK_BYTES) => sliced(data.bytes, chunkBytes, d.size) };
  }
  const stored = data.ranges.reduce((a, r) => a + r.end - r.start, 0);
  if (stored > MAX_ONNX_TYPED_BYTES) {
    throw new OnnxError('OnnxLimit', `${file}: tensor ${JSON.stringify(t.name)} has ${stored} bytes of typed values, more than MAX_ONNX_TYPED_BYTES (${MAX_ONNX_TYPED_BYTES})`, { location: where });
  }
  const fixed = data.field === FLOAT_DATA ? 4 : data.field === DOUBLE_DATA ? 8 : 0;
  // The element count of typed values, checked now: a fixed-width field's is its length, a varint field's its last bytes.
  let have = 0;
  if (fixed > 0) {
    for (const r of data.ranges) {
      if ((r.end - r.start) % fixed !== 0 || (!r.packed && r.end - r.start !== fixed)) throw mismatch(`its typed values are ${r.end - r.start} bytes, not whole ${fixed}-byte values`);
      have += (r.end - r.start) / fixed;
    }
    if (d.dtype === 'C64') have /= 2;
  } else {
    for (const r of data.ranges) have += varints(await source.read(r.start, r.end - r.start), r.start).length;
  }
  if (have !== count) throw mismatch(`it has ${have} typed values`);
  const decode = async (): Promise<Uint8Array> => {
    const out = new Uint8Array(byteLength);
    let o = 0;
    for (const r of data.ranges) {
      const bytes = await source.read(r.start, r.end - r.start);
      if (fixed > 0) {
        out.set(bytes, o);
        o += bytes.byteLength;
      } else o = castVarints(varints(bytes, r.start), d, data.field, out, o);
    }
    return out;
  };
  return {
    ...base,
    encoding: fixed > 0 ? STORED : { layout: 'decoded', decoder: 'onnx-typed-field' },
    fidelity: 'exact',
    chunks: (chunkBytes = DEFAULT_CHUNK_BYTES) => decodedChunks(decode, chunkBytes, d.size),
  };
}

/** Writes varint values as the tensor's elements, cast as numpy's astype does; returns the next offset. */
function castVarints(values: readonly bigint[], d: OnnxDtype, field: number, out: Uint8Array, o: number): number {
  const v = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (const x of values) {
    if (field === INT64_DATA || field === UINT64_DATA) {
      if (d.size === 8) v.setBigUint64(o, x, true);
      else v.setUint32(o, Number(x & 0xffffffffn), true);
    } else if (field === INT32_DATA) {
      const low = Number(x & 0xffffffffn);
      if (d.dtype === 'BOOL') out[o] = low !== 0 ? 1 : 0;
      else if (d.size === 1) out[o] = low & 0xff;
      else if (d.size === 2) v.setUint16(o, low & 0xffff, true);
      else v.setUint32(o, low, true);
    }
    o += d.size;
  }
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

async function externalRange(entries: ReadonlyMap<string, string>, t: TensorRecord, file: string, open: ExternalOpener | undefined): Promise<{ source: ByteSource; offset: number; length: number }> {
  const refuse = (why: string): OnnxError => new OnnxError('ExternalDataRefused', `${file}: tensor ${JSON.stringify(t.name)} (${t.where}): external data ${why}`, { location: `${file}@${t.at}` });
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
  if (!open) throw refuse(`is in ${JSON.stringify(location)}, and the model's folder is not known (the model was not opened from a local file)`);
  const source = await open(location, t.name);
  if (offset > source.size) throw refuse(`starts at offset ${offset}, past the end of ${JSON.stringify(location)} (${source.size} bytes)`);
  const length = declared ?? source.size - offset;
  if (offset + length > source.size) throw refuse(`runs to byte ${offset + length}, past the end of ${JSON.stringify(location)} (${source.size} bytes)`);
  return { source, offset, length };
}
