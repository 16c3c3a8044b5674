import type { ByteSource } from '../../io/byte-source.js';
import { CoremlError } from './errors.js';

/**
 * A weight file of an ML program (`weights/weight.bin`), as coremltools' MILBlob StorageWriter lays it
 * out (mlmodel/src/MILBlob/Blob/StorageFormat.hpp): a 64-byte storage_header (u32 count, u32 version =
 * 2, reserved), then per blob a 64-byte blob_metadata at a 64-aligned offset (u32 sentinel 0xDEADBEEF,
 * u32 mil_dtype (BlobDataType), u64 sizeInBytes, u64 offset of the data, u64 padding_size_in_bits,
 * reserved) followed by its data. A BlobFileValue's offset is the offset of the blob's metadata.
 */

export const BLOB_METADATA_BYTES = 64;
export const BLOB_HEADER_BYTES = 64;
export const BLOB_SENTINEL = 0xdeadbeef;
/** The storage format version coremltools writes and reads (1 is Espresso's older blob_v1). */
export const BLOB_STORAGE_VERSION = 2;

/** BlobDataType names (BlobDataType.hpp), for messages. */
export const BLOB_DTYPE_NAMES: Readonly<Record<number, string>> = {
  1: 'Float16', 2: 'Float32', 3: 'UInt8', 4: 'Int8', 5: 'BFloat16', 6: 'Int16', 7: 'UInt16', 8: 'Int4', 9: 'UInt1',
  10: 'UInt2', 11: 'UInt4', 12: 'UInt3', 13: 'UInt6', 14: 'Int32', 15: 'UInt32', 16: 'Float8E4M3FN', 17: 'Float8E5M2',
};

export interface BlobRecord {
  readonly dtype: number;
  readonly sizeInBytes: number;
  readonly dataOffset: number;
  readonly paddingBits: number;
}

/** Checks a weight file's storage header: a refusal (CoremlBlobInvalid) names the file. */
export async function checkBlobHeader(file: ByteSource, name: string): Promise<number> {
  if (file.size < BLOB_HEADER_BYTES) throw new CoremlError('CoremlBlobInvalid', `${name}: ${file.size} bytes, shorter than the 64-byte MIL blob storage header`, { location: name });
  const h = await file.read(0, 8);
  const v = new DataView(h.buffer, h.byteOffset, 8);
  const version = v.getUint32(4, true);
  if (version !== BLOB_STORAGE_VERSION) throw new CoremlError('CoremlBlobInvalid', `${name}: MIL blob storage version ${version}, not ${BLOB_STORAGE_VERSION}`, { location: `${name}@4` });
  return v.getUint32(0, true);
}

/** The blob metadata record at `offset` (its sentinel, dtype, and data range checked against the file). */
export async function readBlobRecord(file: ByteSource, name: string, offset: number, what: string): Promise<BlobRecord> {
  const where = `${name}@${offset}`;
  const bad = (why: string): CoremlError => new CoremlError('CoremlBlobInvalid', `${name}: ${what}: ${why}`, { location: where });
  if (!Number.isSafeInteger(offset) || offset < BLOB_HEADER_BYTES || offset + BLOB_METADATA_BYTES > file.size) {
    throw bad(`its blob metadata at offset ${offset} is not inside the weight file (64-byte records after the 64-byte header; the file has ${file.size} bytes)`);
  }
  const b = await file.read(offset, BLOB_METADATA_BYTES);
  const v = new DataView(b.buffer, b.byteOffset, BLOB_METADATA_BYTES);
  const sentinel = v.getUint32(0, true);
  if (sentinel !== BLOB_SENTINEL) throw bad(`the blob metadata at offset ${offset} has sentinel 0x${sentinel.toString(16).padStart(8, '0')}, not 0xdeadbeef`);
  const dtype = v.getUint32(4, true);
  if (BLOB_DTYPE_NAMES[dtype] === undefined) throw bad(`the blob at offset ${offset} has blob data type ${dtype}, which MILBlob does not define`);
  const u64 = (at: number): number => {
    const x = v.getBigUint64(at, true);
    return x > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(x);
  };
  const sizeInBytes = u64(8);
  const dataOffset = u64(16);
  const paddingBits = u64(24);
  if (!(dataOffset + sizeInBytes <= file.size) || dataOffset < offset + BLOB_METADATA_BYTES) {
    throw bad(`its data (${sizeInBytes} bytes at offset ${dataOffset}) is not inside the weight file after its metadata (the file has ${file.size} bytes)`);
  }
  return { dtype, sizeInBytes, dataOffset, paddingBits };
}
