import type { ByteSource } from '../../io/byte-source.js';
import type { PagedReader } from '../../io/cursor.js';
import { limitExceeded, malformed } from '../../io/format-problem.js';
import type { Hdf5Geometry } from './geometry.js';
import type { Layout } from './layout-message.js';
import { lookup3 } from './lookup3.js';
import { Fields } from './fields.js';
import { MAX_HDF5_CHUNKS } from './storage-limits.js';

/** One chunk a chunk index lists: where it is stored, how many bytes, which filters were skipped. */
export interface ChunkRecord {
  /** The chunk's position in chunks (its first element's coordinates divided by the chunk's extent). */
  readonly scaled: readonly number[];
  /** File address (relative to the base address). */
  readonly address: number;
  /** Stored bytes. */
  readonly size: number;
  /** Bit i set: filter i of the pipeline was not applied to this chunk. */
  readonly filterMask: number;
}

/** What every chunk index walker gets: where to read and what the dataset's chunks look like. */
export interface ChunkIndexContext {
  readonly source: ByteSource;
  readonly r: PagedReader;
  readonly g: Hdf5Geometry;
  readonly layout: Extract<Layout, { kind: 'chunked' }>;
  /** `dataset /path`, for messages. */
  readonly what: string;
  readonly dims: readonly number[];
  /** Maximum dimensions (unlimited: Infinity). */
  readonly maxDims: readonly number[];
  readonly chunkDims: readonly number[];
  /** Bytes of one whole chunk, decoded. */
  readonly chunkBytes: number;
  /** True when the dataset has a filter pipeline (the index then stores sizes and filter masks). */
  readonly filtered: boolean;
  /** Receives each chunk found (chunks past the current extent are dropped by the receiver). */
  add(record: ChunkRecord): void;
}

/** Collects chunk records, refusing more than MAX_HDF5_CHUNKS and a chunk listed twice. */
export class ChunkCollector {
  readonly records = new Map<number, ChunkRecord>();
  private seen = 0;

  constructor(
    /** Chunks along each dimension in the current extent. */
    readonly grid: readonly number[],
    readonly what: string,
  ) {}

  add(record: ChunkRecord): void {
    if (++this.seen > MAX_HDF5_CHUNKS) throw limitExceeded(`${this.what}: its chunk index lists more than ${MAX_HDF5_CHUNKS} chunks (MAX_HDF5_CHUNKS)`);
    let linear = 0;
    for (let k = 0; k < this.grid.length; k++) {
      const s = record.scaled[k]!;
      // A chunk past the current extent (the dataset was shrunk) holds no data that is read.
      if (s >= this.grid[k]!) return;
      linear = linear * this.grid[k]! + s;
    }
    if (this.records.has(linear)) throw malformed(`${this.what}: its chunk index lists the chunk at [${record.scaled.join(', ')}] twice`);
    this.records.set(linear, record);
  }
}

/** Chunks along each dimension to cover `extent` (ceil(extent / chunk)); an unlimited extent stays Infinity. */
export function chunksAlong(extent: readonly number[], chunkDims: readonly number[]): number[] {
  return extent.map((d, k) => (d === Infinity ? Infinity : Math.ceil(d / chunkDims[k]!)));
}

/** Reads `length` bytes of a metadata block at `address`, checks its 4-byte signature and (when it has one) its trailing lookup3 checksum. */
export async function readBlock(ctx: ChunkIndexContext, address: number, length: number, signature: string, name: string, checksummed = true): Promise<Fields> {
  const at = ctx.g.base + address;
  const what = `${ctx.what}: ${name} at offset ${at}`;
  if (!Number.isSafeInteger(length) || length < 8) throw malformed(`${what}: a block of ${length} bytes`, at);
  const bytes = await ctx.r.bytes(at, length, what);
  const sig = String.fromCharCode(bytes[0]!, bytes[1]!, bytes[2]!, bytes[3]!);
  if (sig !== signature) throw malformed(`${what}: signature ${JSON.stringify(sig)}, not ${JSON.stringify(signature)}`, at);
  if (checksummed) checkChecksum(bytes, what, at);
  const f = new Fields(bytes, at, what);
  f.pos = 4;
  return f;
}

/** Verifies the lookup3 checksum in the last 4 bytes of a metadata block over the bytes before it. */
export function checkChecksum(bytes: Uint8Array, what: string, at: number): void {
  const t = bytes.length - 4;
  const stored = (bytes[t]! | (bytes[t + 1]! << 8) | (bytes[t + 2]! << 16) | (bytes[t + 3]! << 24)) >>> 0;
  const computed = lookup3(bytes.subarray(0, t));
  if (stored !== computed) throw malformed(`${what}: checksum 0x${stored.toString(16)} does not match its bytes' 0x${computed.toString(16)}`, at + t);
}

/** Unravels a linear index over `counts` (row-major) into coordinates. */
export function unravel(index: number, counts: readonly number[]): number[] {
  const out = new Array<number>(counts.length);
  for (let k = counts.length - 1; k >= 0; k--) {
    const n = counts[k]!;
    out[k] = index % n;
    index = Math.floor(index / n);
  }
  return out;
}

/**
 * One element of a fixed or extensible array of chunk addresses: the address, then (filtered chunks)
 * the stored size in `entrySize - offsetSize - 4` bytes and the filter mask.
 */
export function readArrayElement(f: Fields, ctx: ChunkIndexContext, entrySize: number, field: string): { address: number | undefined; size: number; filterMask: number } {
  const os = ctx.g.offsetSize;
  const address = f.relativeAddress(os, `${field} address`);
  if (!ctx.filtered) return { address, size: ctx.chunkBytes, filterMask: 0 };
  const size = f.uint(entrySize - os - 4, `${field} size`);
  const filterMask = f.uint(4, `${field} filter mask`);
  return { address, size, filterMask };
}

/** Client ids of the fixed and extensible array indexes: chunk addresses, or filtered chunks (address, size, mask). */
const CLIENT_CHUNKS = 0;
const CLIENT_FILTERED_CHUNKS = 1;

/**
 * The fields after a fixed or extensible array header's signature: version 0, the client id the
 * dataset's filters call for, and the element size that client stores. Returns the client and element size.
 */
export function readArrayHeaderStart(ctx: ChunkIndexContext, h: Fields, name: string): { client: number; entrySize: number } {
  const version = h.u8('version');
  if (version !== 0) throw malformed(`${h.what}: version ${version}, not 0`, h.offsetOf());
  const client = h.u8('client id');
  if (client !== (ctx.filtered ? CLIENT_FILTERED_CHUNKS : CLIENT_CHUNKS)) throw malformed(`${h.what}: client ${client} for a dataset ${ctx.filtered ? 'with' : 'without'} filters`, h.offsetOf());
  const entrySize = h.u8('element size');
  const os = ctx.g.offsetSize;
  const ok = ctx.filtered ? entrySize > os + 4 && entrySize <= os + 12 : entrySize === os;
  if (!ok) throw malformed(`${ctx.what}: ${name} elements of ${entrySize} bytes do not hold ${ctx.filtered ? 'a filtered chunk' : 'a chunk address'}`, h.offsetOf());
  return { client, entrySize };
}

/** The fields after an array block's signature (index, super or data block): version 0, then the header's client id and address. */
export function checkArrayBlockOwner(b: Fields, client: number, headerAddress: number, offsetSize: number): void {
  const v = b.u8('version');
  if (v !== 0) throw malformed(`${b.what}: version ${v}, not 0`, b.offsetOf());
  const c = b.u8('client id');
  if (c !== client) throw malformed(`${b.what}: client ${c}, not the header's ${client}`, b.offsetOf());
  const owner = b.relativeAddress(offsetSize, 'header address');
  if (owner !== headerAddress) throw malformed(`${b.what}: belongs to the array at ${owner}, not ${headerAddress}`, b.offsetOf());
}

/** MSB-first bit of a bitmap (HDF5's H5VM_bit_get). */
export function bitSet(bitmap: Uint8Array, bit: number): boolean {
  return (bitmap[bit >>> 3]! & (0x80 >>> (bit & 7))) !== 0;
}
