import { SafetensorError } from '../errors.js';
import { DTYPE_INFO, type Dtype } from '../dtype/dtypes.js';
import { parseHeaderJson, type RawHeader, type Uint } from './header-json.js';
import { HEADER_LENGTH_BYTES, MAX_HEADER_SIZE, U64_MAX } from './limits.js';

/** One tensor as the header describes it, after validation. */
export interface TensorInfo {
  readonly name: string;
  readonly dtype: Dtype;
  /**
   * Dimensions. A dimension above 2^53 - 1 can only occur in a tensor with no elements
   * (every other tensor's bytes are in the file), and is then given to the nearest double.
   */
  readonly shape: readonly number[];
  /** [begin, end) relative to the start of the data buffer, as written in the header. */
  readonly dataOffsets: readonly [number, number];
  /** Absolute position of the first byte in the file. */
  readonly byteOffset: number;
  readonly byteLength: number;
}

/** A validated header: everything needed to locate every tensor without reading it. */
export interface SafetensorsHeader {
  /** N, the header length the file declares (padding included). */
  readonly headerLength: number;
  /** 8 + N: where the data buffer starts. */
  readonly dataStart: number;
  /** Bytes of tensor data (the data buffer's length). */
  readonly dataLength: number;
  /** `__metadata__`, or null when absent or `null`. */
  readonly metadata: Readonly<Record<string, string>> | null;
  /** Every tensor, in file (offset) order. */
  readonly tensors: ReadonlyMap<string, TensorInfo>;
}

/**
 * What a file whose first 8 bytes are no safetensors length prefix probably is, for the message: the
 * files most often mistaken for safetensors (formats/detect.ts knows more; this layer sits below it).
 */
function notSafetensors(prefix: Uint8Array): string {
  const head = String.fromCharCode(...prefix.subarray(0, HEADER_LENGTH_BYTES));
  if (head.startsWith('PK\x03\x04')) return 'it is a zip archive (a PyTorch checkpoint? a NumPy .npz?): tensorsafe convert turns those into safetensors';
  if (prefix[0] === 0x80 && (prefix[1] ?? 9) <= 5) return 'it is a Python pickle, as legacy PyTorch checkpoints are: tensorsafe convert turns one into safetensors';
  if (head === 'version ') return 'it is a Git LFS pointer, not the file itself: run git lfs pull';
  if (/^\s*<(!doctyp|html)/i.test(head)) return 'it is an HTML page: a download that returned an error page?';
  if (head.startsWith('{')) return 'it is a JSON file: a sharded set\'s index (name one of its .safetensors files) or a TF.js model.json (tensorsafe inspect reads it)?';
  if (head.startsWith('GGUF')) return 'it is a GGUF file';
  if (head.startsWith('\x89HDF')) return 'it is an HDF5 file';
  if (head.startsWith('\x93NUMPY')) return 'it is a NumPy .npy file';
  return 'is this a safetensors file?';
}

/**
 * Checks 1–3 of the reference reader: the 8-byte length prefix against the file size.
 * `prefix` holds the first min(8, fileSize) bytes. Returns N.
 */
export function checkHeaderLength(prefix: Uint8Array, fileSize: number): number {
  if (fileSize < HEADER_LENGTH_BYTES || prefix.byteLength < HEADER_LENGTH_BYTES) {
    throw new SafetensorError(
      'HeaderTooSmall',
      `header too small: a safetensors file starts with an 8-byte header length, but there are only ${fileSize} bytes`,
      { location: 'byte 0' },
    );
  }
  const view = new DataView(prefix.buffer, prefix.byteOffset, HEADER_LENGTH_BYTES);
  const high = view.getUint32(4, true);
  const low = view.getUint32(0, true);
  const n = high * 2 ** 32 + low;
  if (high !== 0 || n > MAX_HEADER_SIZE) {
    const exact = (BigInt(high) << 32n) | BigInt(low);
    throw new SafetensorError(
      'HeaderTooLarge',
      `header too large: the file declares a ${exact}-byte header, over the ${MAX_HEADER_SIZE}-byte limit (${notSafetensors(prefix)})`,
      { location: 'bytes 0..8' },
    );
  }
  if (HEADER_LENGTH_BYTES + n > fileSize) {
    throw new SafetensorError(
      'InvalidHeaderLength',
      `invalid header length: the file declares a ${n}-byte header, which would end at byte ${HEADER_LENGTH_BYTES + n}, past the end of the ${fileSize}-byte file`,
      { location: 'bytes 0..8' },
    );
  }
  return n;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Checks 4–8: UTF-8, JSON, then the offsets and sizes against each other and the file size. */
export function parseHeader(headerBytes: Uint8Array, fileSize: number): SafetensorsHeader {
  let text: string;
  try {
    text = utf8.decode(headerBytes);
  } catch (cause) {
    const at = firstInvalidUtf8(headerBytes);
    throw new SafetensorError('InvalidHeader', `invalid UTF-8 in header: invalid byte sequence at header byte ${at} (file byte ${at + HEADER_LENGTH_BYTES})`, {
      cause,
      location: `byte ${at + HEADER_LENGTH_BYTES}`,
    });
  }
  const raw = parseHeaderJson(text);
  return validateHeader(raw, headerBytes.byteLength, fileSize);
}

/**
 * The reference's `Metadata::validate`, in its order: tensors sorted by offsets must tile
 * the data buffer from 0 without holes or overlaps, each exactly as large as its dtype and
 * shape say, computed with checked u64 arithmetic; then the buffer must end the file.
 */
export function validateHeader(raw: RawHeader, headerLength: number, fileSize: number): SafetensorsHeader {
  const count = raw.names.length;
  const order = offsetOrder(raw);
  const tensors = new Map<string, TensorInfo>();
  const dataStart = HEADER_LENGTH_BYTES + headerLength;
  let start: Uint = 0;
  for (let k = 0; k < count; k++) {
    const i = order[k]!;
    const name = raw.names[i]!;
    const s = raw.begins[i]!;
    const e = raw.ends[i]!;
    if (s !== start || e < s) {
      const why = e < s ? `it ends (${e}) before it begins (${s})` : s > start ? `it leaves a hole: bytes ${start}..${s} belong to no tensor` : `it overlaps bytes up to ${start} already used by another tensor`;
      throw new SafetensorError('InvalidOffset', `invalid offset for tensor \`${name}\`: data_offsets [${s}, ${e}] are wrong because ${why}`, {
        location: `tensor ${name}`,
      });
    }
    start = e;
    const dtype = raw.dtypes[i]!;
    const shape = raw.shapes[i]!;
    const bytes = tensorByteSize(name, dtype, shape);
    const span = typeof e === 'number' && typeof s === 'number' ? e - s : BigInt(e) - BigInt(s);
    if (span !== bytes) {
      throw new SafetensorError(
        'TensorInvalidInfo',
        `invalid shape, data type, or offset for tensor \`${name}\`: ${dtype} [${shape.join(', ')}] takes ${bytes} bytes, but data_offsets [${s}, ${e}] span ${span}`,
        { location: `tensor ${name}` },
      );
    }
    tensors.set(name, {
      name,
      dtype,
      shape: shape.every((d) => typeof d === 'number') ? (shape as number[]) : shape.map(Number),
      dataOffsets: [Number(s), Number(e)],
      byteOffset: dataStart + Number(s),
      byteLength: Number(bytes),
    });
  }
  // The reference adds without a check; a sum past u64 can never equal the file size either.
  const expected = typeof start === 'number' ? start + dataStart : BigInt(start) + BigInt(dataStart);
  if (expected !== fileSize) {
    const diff = typeof expected === 'number' ? fileSize - expected : BigInt(fileSize) - expected;
    const what = diff > 0 ? `${diff} trailing byte(s) after the last tensor (data appended to the file?)` : `${-diff} byte(s) missing (truncated download?)`;
    throw new SafetensorError(
      'MetadataIncompleteBuffer',
      `incomplete metadata, file not fully covered: the header accounts for ${expected} bytes but the file has ${fileSize}: ${what}`,
      { location: `byte ${Math.min(fileSize, Number(expected))}` },
    );
  }
  return {
    headerLength,
    dataStart,
    dataLength: Number(start),
    metadata: raw.metadata === null ? null : Object.fromEntries(raw.metadata),
    tensors,
  };
}

/** Indices sorted by (begin, end) as the reference does; a header already in order is not re-sorted. */
function offsetOrder(raw: RawHeader): number[] {
  const { begins, ends } = raw;
  const order = new Array<number>(begins.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  let sorted = true;
  for (let i = 1; i < begins.length && sorted; i++) {
    const b0 = begins[i - 1]!;
    const b1 = begins[i]!;
    if (b1 < b0 || (b1 === b0 && ends[i]! < ends[i - 1]!)) sorted = false;
  }
  if (!sorted) {
    order.sort((a, b) => {
      const ba = begins[a]!;
      const bb = begins[b]!;
      if (ba !== bb) return ba < bb ? -1 : 1;
      const ea = ends[a]!;
      const eb = ends[b]!;
      return ea === eb ? 0 : ea < eb ? -1 : 1;
    });
  }
  return order;
}

/**
 * Bytes of a tensor: the product of its dimensions in declaration order, then times the
 * dtype's bits, each step checked against u64 overflow exactly as the reference does
 * (so [0, 2^32, 2^32] is fine and [2^32, 2^32, 0] overflows); then the bits must be whole bytes.
 */
function tensorByteSize(name: string, dtype: Dtype, shape: readonly Uint[]): Uint {
  let elements: Uint = 1;
  for (const dim of shape) {
    if (typeof elements === 'number' && typeof dim === 'number') {
      const product: number = elements * dim;
      if (product <= Number.MAX_SAFE_INTEGER) {
        elements = product;
        continue;
      }
    }
    const big: bigint = BigInt(elements) * BigInt(dim);
    if (big > U64_MAX) throw overflow(name, dtype, shape);
    elements = big;
  }
  const bits = DTYPE_INFO[dtype].bits;
  let nbits: Uint;
  if (typeof elements === 'number' && elements * bits <= Number.MAX_SAFE_INTEGER) {
    nbits = elements * bits;
  } else {
    nbits = BigInt(elements) * BigInt(bits);
    if (nbits > U64_MAX) throw overflow(name, dtype, shape);
  }
  if (typeof nbits === 'number' ? nbits % 8 !== 0 : nbits % 8n !== 0n) {
    throw new SafetensorError(
      'MisalignedSlice',
      `tensor \`${name}\`: ${dtype} [${shape.join(', ')}] is ${nbits} bits, not a whole number of bytes (the slice is slicing for sub-byte dtypes and does not end at a byte boundary)`,
      { location: `tensor ${name}` },
    );
  }
  if (typeof nbits === 'number') return nbits / 8;
  const bytes = nbits / 8n;
  return bytes <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(bytes) : bytes;
}

function overflow(name: string, dtype: Dtype, shape: readonly Uint[]): SafetensorError {
  return new SafetensorError(
    'ValidationOverflow',
    `overflow computing buffer size from shape and/or element type: tensor \`${name}\` is ${dtype} [${shape.join(', ')}], more than 2^64 - 1 bits`,
    { location: `tensor ${name}` },
  );
}

/** Position of the first byte that does not begin or continue a valid UTF-8 sequence. */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    let need: number;
    let min: number;
    if (b < 0x80) {
      i++;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      min = 0x10000;
    } else {
      return i;
    }
    let cp = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return i;
}
