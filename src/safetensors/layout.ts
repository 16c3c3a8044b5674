import { SafetensorError } from '../errors.js';
import { DTYPE_INFO, isDtype, type Dtype } from '../dtype/dtypes.js';
import { checkShape, elementCount } from '../dtype/tensor.js';
import { compareCodePoints, isWellFormed } from '../util/strings.js';
import { HEADER_ALIGNMENT, HEADER_LENGTH_BYTES, MAX_HEADER_SIZE } from './limits.js';

/** What the writer needs to know of a tensor before its data. */
export interface TensorSpec {
  readonly name: string;
  readonly dtype: Dtype;
  readonly shape: readonly number[];
}

/** A tensor's place in the file being written. */
export interface TensorPlacement extends TensorSpec {
  /** Offset in the data buffer, as written in `data_offsets`. */
  readonly begin: number;
  readonly end: number;
  /** Absolute offset in the file. */
  readonly byteOffset: number;
  readonly byteLength: number;
}

/** The complete plan of a file: header bytes (length prefix included) and where every tensor goes. */
export interface SafetensorsLayout {
  /** 8-byte length, then the padded JSON header. */
  readonly header: Uint8Array;
  /** In file order: dtype descending (reference enum order), then name by UTF-8 bytes. */
  readonly tensors: readonly TensorPlacement[];
  readonly dataLength: number;
  readonly totalSize: number;
}

export type Metadata = Readonly<Record<string, string>> | ReadonlyMap<string, string>;

/**
 * Lays out a file exactly as the reference writer does: same order, same compact JSON,
 * spaces to a multiple of 8. Metadata keys are sorted by UTF-8 bytes so that the output is
 * deterministic (the reference's order is random per process). `metadata` undefined or null
 * writes no `__metadata__`; an empty object writes `"__metadata__":{}` as the reference does.
 */
export function planLayout(specs: Iterable<TensorSpec>, metadata?: Metadata | null): SafetensorsLayout {
  const list: TensorSpec[] = [];
  const names = new Set<string>();
  for (const spec of specs) {
    checkSpec(spec);
    if (names.has(spec.name)) {
      throw new SafetensorError('DuplicateTensor', `tensor \`${spec.name}\` is given twice`, { location: `tensor ${spec.name}` });
    }
    names.add(spec.name);
    list.push(spec);
  }
  list.sort((a, b) => DTYPE_INFO[b.dtype].order - DTYPE_INFO[a.dtype].order || compareCodePoints(a.name, b.name));

  const parts: string[] = ['{'];
  const entries = metadataEntries(metadata);
  if (entries) {
    parts.push('"__metadata__":{');
    entries.forEach(([k, v], i) => parts.push(i === 0 ? '' : ',', JSON.stringify(k), ':', JSON.stringify(v)));
    parts.push('}');
  }
  const placements: TensorPlacement[] = [];
  let offset = 0;
  for (const spec of list) {
    const byteLength = (elementCount(spec.shape) * DTYPE_INFO[spec.dtype].bits) / 8;
    const begin = offset;
    offset += byteLength;
    placements.push({ name: spec.name, dtype: spec.dtype, shape: spec.shape, begin, end: offset, byteOffset: 0, byteLength });
    if (parts.length > 1) parts.push(',');
    parts.push(JSON.stringify(spec.name), ':{"dtype":"', spec.dtype, '","shape":[', spec.shape.join(','), '],"data_offsets":[', String(begin), ',', String(offset), ']}');
  }
  parts.push('}');
  const json = new TextEncoder().encode(parts.join(''));
  const n = Math.ceil(json.byteLength / HEADER_ALIGNMENT) * HEADER_ALIGNMENT;
  if (n > MAX_HEADER_SIZE) {
    throw new SafetensorError(
      'HeaderTooLarge',
      `header too large: ${list.length} tensors need a ${n}-byte header, over the ${MAX_HEADER_SIZE}-byte limit readers enforce (split the tensors into shards)`,
    );
  }
  const header = new Uint8Array(HEADER_LENGTH_BYTES + n);
  new DataView(header.buffer).setBigUint64(0, BigInt(n), true);
  header.set(json, HEADER_LENGTH_BYTES);
  header.fill(0x20, HEADER_LENGTH_BYTES + json.byteLength);
  const dataStart = header.byteLength;
  const tensors = placements.map((p) => ({ ...p, byteOffset: dataStart + p.begin }));
  return { header, tensors, dataLength: offset, totalSize: dataStart + offset };
}

function checkSpec(spec: TensorSpec): void {
  const { name, dtype, shape } = spec;
  if (typeof name !== 'string' || !isWellFormed(name)) {
    throw new SafetensorError('InvalidTensorName', `tensor name ${JSON.stringify(name)} is not well-formed Unicode (a lone surrogate cannot be written as UTF-8)`);
  }
  if (name === '__metadata__') {
    throw new SafetensorError('InvalidTensorName', 'a tensor cannot be named `__metadata__`: that key holds the file metadata, and readers would reject the file');
  }
  if (!isDtype(dtype)) {
    throw new SafetensorError('InvalidDtype', `tensor \`${name}\`: unknown dtype ${JSON.stringify(dtype)}`, { location: `tensor ${name}` });
  }
  checkShape(name, shape);
  const bits = elementCount(shape) * DTYPE_INFO[dtype].bits;
  if (!Number.isSafeInteger(bits)) {
    throw new SafetensorError('ValidationOverflow', `tensor \`${name}\`: ${dtype} [${shape.join(', ')}] is too large to write`, { location: `tensor ${name}` });
  }
  if (bits % 8 !== 0) {
    throw new SafetensorError('MisalignedSlice', `tensor \`${name}\`: ${dtype} [${shape.join(', ')}] is ${bits} bits, not a whole number of bytes`, {
      location: `tensor ${name}`,
    });
  }
}

function metadataEntries(metadata: Metadata | null | undefined): [string, string][] | undefined {
  if (metadata === undefined || metadata === null) return undefined;
  const entries: [string, string][] =
    metadata instanceof Map ? [...(metadata as ReadonlyMap<string, string>)] : Object.entries(metadata as Record<string, string>);
  for (const [k, v] of entries) {
    if (typeof v !== 'string') {
      throw new SafetensorError('InvalidMetadata', `metadata value of \`${k}\` must be a string (safetensors metadata maps strings to strings), got ${typeof v}`);
    }
    if (!isWellFormed(k) || !isWellFormed(v)) {
      throw new SafetensorError('InvalidMetadata', `metadata entry \`${k}\` is not well-formed Unicode (a lone surrogate cannot be written as UTF-8)`);
    }
  }
  return entries.sort((a, b) => compareCodePoints(a[0], b[0]));
}
