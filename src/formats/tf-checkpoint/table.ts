import { limitExceeded, malformed } from '../../io/format-problem.js';
import { crc32c, unmaskCrc } from './crc32c.js';
import { MAX_TF_BLOCK_BYTES, MAX_TF_ENTRIES, MAX_TF_KEY_BYTES, MAX_TF_TABLE_BYTES } from './limits.js';
import { varintAt } from '../protobuf/small-message.js';
import { unsnappy } from './snappy.js';

/**
 * A LevelDB-format table (leveldb doc/table_format.md; TensorFlow's tensorflow/core/lib/io/table is the
 * same format), as TensorFlow writes a tensor bundle's .index: data blocks of sorted key-value entries,
 * a metaindex block, an index block of one handle per data block, and a 48-byte footer. Each block is
 * followed by a 5-byte trailer: its compression type (0 none, 1 Snappy) and the masked CRC-32C of the
 * block and that byte, checked before the block is read. Entries are prefix-compressed against the
 * entry before (`shared`, `non_shared`, value length), with restart points where `shared` is 0. Keys
 * must ascend strictly (bytewise), as a reader's lookups assume; a table that breaks that is refused.
 */

/** The footer: two block handles (varints, padded to 40 bytes), then the magic. */
export const TABLE_FOOTER_BYTES = 48;
/** The footer's magic, 0xdb4775248b80fb57 little-endian, as bytes. */
export const TABLE_MAGIC = Uint8Array.of(0x57, 0xfb, 0x80, 0x8b, 0x24, 0x75, 0x47, 0xdb);
/** A block's trailer: its compression type and masked CRC-32C. */
const TRAILER_BYTES = 5;

export interface TableEntry {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  /** Offset of the entry's block in the file (for messages). */
  readonly block: number;
}

export interface TableRead {
  readonly entries: TableEntry[];
  readonly dataBlocks: number;
  /** Data blocks that were Snappy-compressed. */
  readonly snappyBlocks: number;
}

/** Whether `bytes` end with a table footer's magic. */
export function hasTableMagic(tail: Uint8Array): boolean {
  if (tail.length < TABLE_MAGIC.length) return false;
  const t = tail.subarray(tail.length - TABLE_MAGIC.length);
  return TABLE_MAGIC.every((b, i) => t[i] === b);
}

interface Handle {
  readonly offset: number;
  readonly size: number;
}

/** Every entry of the table `file` (its bytes, whole), in order. Throws FormatProblem. */
export function readTable(file: Uint8Array): TableRead {
  if (file.length < TABLE_FOOTER_BYTES) throw malformed(`${file.length} bytes is shorter than a table's ${TABLE_FOOTER_BYTES}-byte footer`, 0);
  const footerAt = file.length - TABLE_FOOTER_BYTES;
  const footer = file.subarray(footerAt);
  if (!hasTableMagic(footer)) throw malformed('the last 8 bytes are not the LevelDB table magic 0xdb4775248b80fb57: not a tensor bundle index, or cut short', footerAt + 40);
  let pos = 0;
  const handle = (what: string): Handle => {
    const [offset, a] = varintAt(footer.subarray(0, 40), pos, footerAt, what);
    pos += a;
    const [size, b] = varintAt(footer.subarray(0, 40), pos, footerAt, what);
    pos += b;
    return { offset, size };
  };
  handle('the footer’s metaindex handle'); // the metaindex is empty or filters: nothing TF reads from it
  const indexHandle = handle('the footer’s index handle');
  const counts = { snappy: 0, bytes: 0 };
  const index = readBlock(file, indexHandle, footerAt, 'the index block', counts);
  const entries: TableEntry[] = [];
  let dataBlocks = 0;
  counts.snappy = 0;
  let lastKey: Uint8Array | undefined;
  for (const ie of blockEntries(index, indexHandle.offset, 'the index block')) {
    const [offset, a] = varintAt(ie.value, 0, indexHandle.offset, 'an index entry');
    const [size, b] = varintAt(ie.value, a, indexHandle.offset, 'an index entry');
    if (a + b !== ie.value.length) throw malformed('an index entry is not one block handle', indexHandle.offset);
    dataBlocks++;
    const data = readBlock(file, { offset, size }, footerAt, `the data block at ${offset}`, counts);
    for (const e of blockEntries(data, offset, `the data block at ${offset}`)) {
      if (lastKey !== undefined && compareBytes(lastKey, e.key) >= 0) throw malformed(`the data block at ${offset}: keys do not ascend (${show(e.key)} after ${show(lastKey)})`, offset);
      if (compareBytes(e.key, ie.key) > 0) throw malformed(`the data block at ${offset} holds ${show(e.key)}, past its index key ${show(ie.key)}`, offset);
      if (entries.length >= MAX_TF_ENTRIES) throw limitExceeded(`more than MAX_TF_ENTRIES (${MAX_TF_ENTRIES}) entries`, offset);
      entries.push({ key: e.key, value: e.value, block: offset });
      lastKey = e.key;
    }
  }
  return { entries, dataBlocks, snappyBlocks: counts.snappy };
}

/** A block's contents, its trailer's CRC checked and Snappy undone. */
function readBlock(file: Uint8Array, h: Handle, end: number, what: string, counts: { snappy: number; bytes: number }): Uint8Array {
  if (h.offset + h.size + TRAILER_BYTES > end) throw malformed(`${what} [${h.offset}, +${h.size}) and its trailer run past the table's data (${end} bytes)`, h.offset);
  const raw = file.subarray(h.offset, h.offset + h.size);
  const type = file[h.offset + h.size]!;
  const stored = new DataView(file.buffer, file.byteOffset + h.offset + h.size + 1, 4).getUint32(0, true);
  const actual = crc32c(Uint8Array.of(type), crc32c(raw));
  if (unmaskCrc(stored) !== actual) {
    throw malformed(`${what}: its CRC-32C is 0x${actual.toString(16).padStart(8, '0')}, the trailer says 0x${unmaskCrc(stored).toString(16).padStart(8, '0')} (the index was changed or damaged)`, h.offset);
  }
  if (type === 0) return raw;
  if (type === 1) {
    counts.snappy++;
    const block = unsnappy(raw, MAX_TF_BLOCK_BYTES, 'MAX_TF_BLOCK_BYTES', h.offset);
    counts.bytes += block.length;
    if (counts.bytes > MAX_TF_TABLE_BYTES) throw limitExceeded(`the index's blocks decompress to more than MAX_TF_TABLE_BYTES (${MAX_TF_TABLE_BYTES})`, h.offset);
    return block;
  }
  throw malformed(`${what}: compression type ${type} is not known (0 none, 1 Snappy)`, h.offset + h.size);
}

/** The entries of one block, keys rebuilt from their shared prefixes. */
function* blockEntries(block: Uint8Array, at: number, what: string): Generator<{ key: Uint8Array; value: Uint8Array }> {
  if (block.length < 4) throw malformed(`${what} is shorter than its restart count`, at);
  const restarts = new DataView(block.buffer, block.byteOffset + block.length - 4, 4).getUint32(0, true);
  const limit = block.length - 4 - 4 * restarts;
  if (restarts === 0 || limit < 0) throw malformed(`${what}: ${restarts} restart points do not fit its ${block.length} bytes`, at);
  let pos = 0;
  let key = new Uint8Array(0);
  while (pos < limit) {
    const [shared, a] = varintAt(block, pos, at, what);
    const [unshared, b] = varintAt(block, pos + a, at, what);
    const [valueLength, c] = varintAt(block, pos + a + b, at, what);
    pos += a + b + c;
    if (shared > key.length) throw malformed(`${what}: an entry shares ${shared} bytes with a key of ${key.length}`, at + pos);
    if (unshared > limit - pos || valueLength > limit - pos - unshared) throw malformed(`${what}: an entry runs past the block's entries`, at + pos);
    if (shared + unshared > MAX_TF_KEY_BYTES) throw limitExceeded(`a key of ${shared + unshared} bytes, more than MAX_TF_KEY_BYTES (${MAX_TF_KEY_BYTES})`, at + pos);
    const next = new Uint8Array(shared + unshared);
    next.set(key.subarray(0, shared));
    next.set(block.subarray(pos, pos + unshared), shared);
    key = next;
    pos += unshared;
    yield { key, value: block.subarray(pos, pos + valueLength) };
    pos += valueLength;
  }
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function show(key: Uint8Array): string {
  return JSON.stringify(new TextDecoder().decode(key.subarray(0, 100)));
}
