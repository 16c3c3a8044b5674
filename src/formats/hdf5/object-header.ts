import type { PagedReader } from '../../io/cursor.js';
import { limitExceeded, malformed } from '../../io/format-problem.js';
import { unsupported } from './errors.js';
import { Fields, latin } from './fields.js';
import type { Hdf5Geometry } from './geometry.js';
import { MAX_HDF5_CONTINUATIONS, MAX_HDF5_HEADER_BLOCK_BYTES, MAX_HDF5_HEADER_MESSAGES } from './limits.js';
import { lookup3 } from './lookup3.js';

/** Header message types this reader knows (decoded, or known to be safely ignored). */
export const MSG = {
  nil: 0x00,
  dataspace: 0x01,
  linkInfo: 0x02,
  datatype: 0x03,
  fillValueOld: 0x04,
  fillValue: 0x05,
  link: 0x06,
  externalFiles: 0x07,
  layout: 0x08,
  bogus: 0x09,
  groupInfo: 0x0a,
  filters: 0x0b,
  attribute: 0x0c,
  comment: 0x0d,
  modifiedOld: 0x0e,
  sharedTable: 0x0f,
  continuation: 0x10,
  symbolTable: 0x11,
  modified: 0x12,
  btreeK: 0x13,
  driverInfo: 0x14,
  attributeInfo: 0x15,
  refCount: 0x16,
  fileSpaceInfo: 0x17,
} as const;

const KNOWN_TYPES = new Set<number>(Object.values(MSG));

/** Message flag bits. */
const FLAG_SHARED = 0x02;
const FLAG_FAIL_IF_UNKNOWN = 0x80;

export interface HeaderMessage {
  readonly type: number;
  readonly flags: number;
  /** The body (a view of bytes read). */
  readonly body: Uint8Array;
  /** Absolute offset of the body. */
  readonly at: number;
}

export interface ObjectHeader {
  /** Absolute offset of the header. */
  readonly address: number;
  readonly version: 1 | 2;
  readonly messages: readonly HeaderMessage[];
}

/**
 * An object header (version 1, or version 2 'OHDR' with its checksum checked) and every continuation
 * block ('OCHK' in version 2), as a list of messages. An unknown message marked "fail if unknown" is
 * refused by its type; other unknown messages are skipped.
 */
export async function readObjectHeader(r: PagedReader, g: Hdf5Geometry, address: number): Promise<ObjectHeader> {
  const first = await r.upTo(address, 16, 'an object header');
  const messages: HeaderMessage[] = [];
  const blocks: { from: number; to: number }[] = [];
  let version: 1 | 2;
  let trackOrder = false;
  if (first.length >= 4 && latin(first.subarray(0, 4)) === 'OHDR') {
    version = 2;
    const f = new Fields(await r.upTo(address, 4 + 2 + 16 + 4 + 8, 'an object header prefix'), address, 'an object header prefix');
    f.skip(4);
    const v = f.u8();
    if (v !== 2) throw malformed(`object header version ${v} after OHDR (2 expected)`, address + 4);
    const flags = f.u8();
    trackOrder = (flags & 0x04) !== 0;
    if (flags & 0x20) f.skip(16); // access, modification, change and birth times
    if (flags & 0x10) f.skip(4); // attribute storage phase change values
    const size = f.uint(1 << (flags & 3));
    const from = address + f.pos;
    blockSize(size, from);
    // The checksum follows the block and covers everything from the signature.
    const all = await r.bytes(address, f.pos + size + 4, 'an object header');
    checksum(all, address, 'an object header');
    blocks.push({ from, to: from + size });
  } else {
    version = 1;
    if (first.length < 16) throw malformed('an object header is cut short', address);
    if (first[0] !== 1) throw malformed(`object header version ${first[0]} (1, or OHDR, expected)`, address);
    const size = first[8]! | (first[9]! << 8) | (first[10]! << 16) | (first[11]! * 0x1000000);
    blockSize(size, address + 16);
    blocks.push({ from: address + 16, to: address + 16 + size });
  }
  const seen = new Set<number>();
  const headerBytes = version === 2 ? 4 + (trackOrder ? 2 : 0) : 8;
  for (let k = 0; k < blocks.length; k++) {
    const { from, to } = blocks[k]!;
    const bytes = await r.bytes(from, to - from, 'an object header block');
    let p = 0;
    while (p + headerBytes <= bytes.length) {
      if (messages.length >= MAX_HDF5_HEADER_MESSAGES) throw limitExceeded(`more than MAX_HDF5_HEADER_MESSAGES (${MAX_HDF5_HEADER_MESSAGES}) header messages in one object header`, from + p);
      let type: number;
      let size: number;
      let flags: number;
      if (version === 2) {
        type = bytes[p]!;
        size = bytes[p + 1]! | (bytes[p + 2]! << 8);
        flags = bytes[p + 3]!;
      } else {
        type = bytes[p]! | (bytes[p + 1]! << 8);
        size = bytes[p + 2]! | (bytes[p + 3]! << 8);
        flags = bytes[p + 4]!;
      }
      const start = p + headerBytes;
      if (start + size > bytes.length) throw malformed(`header message type ${type} (${size} bytes) runs past the end of its object header block`, from + p);
      const body = bytes.subarray(start, start + size);
      const at = from + start;
      if (!KNOWN_TYPES.has(type) && flags & FLAG_FAIL_IF_UNKNOWN) {
        throw unsupported(`object header message type ${type} is marked "must understand" and is not known to this reader`, at);
      }
      if (type === MSG.continuation) {
        const c = new Fields(body, at, 'a continuation message');
        const block = c.address(g);
        const length = c.length(g);
        if (block === undefined) throw malformed('a continuation message with an undefined address', at);
        if (seen.has(block) || block === address) throw malformed('object header continuation blocks form a loop', at);
        seen.add(block);
        if (seen.size > MAX_HDF5_CONTINUATIONS) throw limitExceeded(`more than MAX_HDF5_CONTINUATIONS (${MAX_HDF5_CONTINUATIONS}) continuation blocks in one object header`, at);
        blockSize(length, block);
        if (version === 2) {
          if (length < 8) throw malformed('a continuation block too short for its signature and checksum', block);
          const all = await r.bytes(block, length, 'an object header continuation block');
          if (latin(all.subarray(0, 4)) !== 'OCHK') throw malformed('a continuation block without its OCHK signature', block);
          checksum(all, block, 'an object header continuation block');
          blocks.push({ from: block + 4, to: block + length - 4 });
        } else {
          r.check(block, length, 'an object header continuation block');
          blocks.push({ from: block, to: block + length });
        }
      } else if (type !== MSG.nil) {
        messages.push({ type, flags, body, at });
      }
      p = start + size;
    }
  }
  return { address, version, messages };
}

function blockSize(size: number, at: number): void {
  if (size > MAX_HDF5_HEADER_BLOCK_BYTES) throw limitExceeded(`an object header block of ${size} bytes, more than MAX_HDF5_HEADER_BLOCK_BYTES (${MAX_HDF5_HEADER_BLOCK_BYTES})`, at);
}

/** Version-2 metadata: the last 4 bytes are the lookup3 checksum of the bytes before them. */
export function checksum(bytes: Uint8Array, at: number, what: string): void {
  const end = bytes.length - 4;
  if (end < 0) throw malformed(`${what} is too short for its checksum`, at);
  const stored = (bytes[end]! | (bytes[end + 1]! << 8) | (bytes[end + 2]! << 16)) + bytes[end + 3]! * 0x1000000;
  if (lookup3(bytes.subarray(0, end)) !== stored) throw malformed(`the checksum of ${what} does not match its bytes`, at + end);
}

/** Whether a message's body is a reference to a shared message, not the message itself. */
export function isShared(m: HeaderMessage): boolean {
  return (m.flags & FLAG_SHARED) !== 0;
}

/**
 * The object header a shared message lives in (a committed datatype, a message in another object's
 * header). Shared messages kept in the file's shared message heap (SOHM) are not read: Hdf5Unsupported.
 */
export function sharedAddress(body: Uint8Array, at: number, g: Hdf5Geometry, what: string): number {
  const f = new Fields(body, at, `a shared ${what} message`);
  const version = f.u8();
  const type = f.u8();
  if (version === 1) f.skip(6);
  else if (version === 3 && type === 1) throw unsupported(`the ${what} is a shared message in the file's shared message heap (SOHM), which is not read`, at);
  else if (version !== 2 && version !== 3) throw malformed(`shared message version ${version} is unknown`, at);
  const address = f.address(g);
  if (address === undefined) throw malformed(`a shared ${what} message with an undefined address`, at);
  return address;
}
