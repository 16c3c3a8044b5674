import type { ByteSource } from '../../io/byte-source.js';
import type { ScanContext } from '../findings.js';
import { PagedReader, view } from '../../io/cursor.js';
import { FormatProblem, limitExceeded, malformed } from '../../io/format-problem.js';
import { at, Findings, show, utf8Lossy } from '../scan-rules.js';
import { scanKerasConfig } from '../keras/config-rules.js';
import type { Hdf5Attribute } from './attributes.js';
import { findExternalData, type ExternalData } from './external-data.js';
import { openHdf5, type Hdf5File } from './file.js';
import { IoError, isTensorsafeError } from '../../errors.js';
import { MAX_HDF5_CONTINUATIONS, MAX_HDF5_HEADER_MESSAGES, MAX_HDF5_HEAP_OBJECTS, MAX_HDF5_USERBLOCK_BYTES } from './limits.js';

/**
 * Legacy Keras HDF5 (`model.save('x.h5')`): the model is rebuilt from the root group's `model_config`
 * attribute (JSON), so that is where Lambda layers and custom objects are; `training_config` names the
 * loss, metrics and optimizer. This is not a general HDF5 reader. It reads:
 *  1. the superblock (versions 0–3, after an optional user block), then the root group's object header
 *     (version 1 or 2, following continuation blocks), and decodes its attribute messages named
 *     `model_config`, `training_config`, `keras_version` and `backend`: fixed-length strings inline, or
 *     variable-length strings in a global heap collection (what h5py writes for `str`);
 *  2. when that cannot find `model_config` (attributes in dense storage, shared messages, an
 *     unreadable header), a bounded scan of the file for attribute messages by their name
 *     (`model_config\0` preceded by an attribute message header), decoded the same way.
 * Tensor data is never read. Each config found goes to scanKerasConfig.
 *
 * Rules: `hdf5/keras-config`, `hdf5/no-keras-config` (info); `hdf5/malformed`, `hdf5/limit-exceeded`,
 * `hdf5/unread-attributes` (dense or shared root attributes neither the name scan nor the reader could
 * read), `hdf5/external-data` (links and datasets that read other files) (suspicious); plus the keras/*
 * rules on the configs.
 * Misses: what attributes in a filtered (compressed) fractal heap hold (reported as hdf5/unread-attributes,
 * not decoded); configs past MAX_HDF5_SCAN_BYTES in files whose root header could not be read.
 */

/** Bytes of one config attribute read (real configs are KiB to a few MiB). */
export const MAX_HDF5_CONFIG_BYTES = 64 * 1024 * 1024;
/** Bytes of the file scanned for attribute messages by name when the root header could not be used. */
export const MAX_HDF5_SCAN_BYTES = 256 * 1024 * 1024;
/** Attribute messages found by the name scan that are decoded. */
export const MAX_HDF5_SCAN_HITS = 64;
/** Chunk size of the name scan. */
const SCAN_CHUNK_BYTES = 1024 * 1024;

const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
const ATTRIBUTE_NAMES = ['model_config', 'training_config', 'keras_version', 'backend'] as const;
type AttrName = (typeof ATTRIBUTE_NAMES)[number];

interface Geometry {
  /** Absolute offset that file addresses are relative to. */
  base: number;
  offsetSize: number;
  lengthSize: number;
}

interface FoundAttr {
  name: AttrName;
  text: string;
  /** Offset of the attribute message. */
  offset: number;
}

/**
 * `parsedAttributes`: the root group's attributes as the HDF5 reader decoded them (an open() of the same
 * source, compact and dense storage alike): checked instead of reading the root header again.
 */
export async function scanHdf5(source: ByteSource, ctx: ScanContext, parsedAttributes?: readonly Hdf5Attribute[], parsedFile?: Hdf5File): Promise<void> {
  const findings = new Findings(ctx);
  const r = new PagedReader(source);
  const found: FoundAttr[] = [];
  let geometry: Geometry | undefined;
  let why = '';
  let structureReported = false;
  if (parsedAttributes !== undefined) {
    for (const a of parsedAttributes) {
      if (!(ATTRIBUTE_NAMES as readonly string[]).includes(a.name) || a.value === undefined) continue;
      const value = Array.isArray(a.value) ? a.value[0] : a.value;
      if (value === undefined) continue;
      if (typeof value !== 'string') {
        findings.add('suspicious', 'hdf5/malformed', `attribute ${a.name} is not a string (datatype ${a.datatype.description}); Keras could not read it`, at(ctx.file, a.at));
        continue;
      }
      if (value.length > MAX_HDF5_CONFIG_BYTES) {
        findings.add('suspicious', 'hdf5/limit-exceeded', `attribute ${a.name} is ${value.length} characters, more than MAX_HDF5_CONFIG_BYTES`, at(ctx.file, a.at));
        continue;
      }
      found.push({ name: a.name as AttrName, text: value, offset: a.at });
    }
  } else try {
    geometry = await superblock(r);
    const root = await rootAddress(r, geometry);
    const result = await rootAttributes(r, geometry, root, found, findings, ctx.file);
    if (result) why = result;
  } catch (e) {
    if (!(e instanceof FormatProblem)) throw e;
    findings.problem('hdf5', e, ctx.file, 'the HDF5 structure');
    why = 'the root object header could not be read';
    structureReported = true;
  }
  if (parsedAttributes === undefined && !found.some((f) => f.name === 'model_config') && source.size > 0) {
    // The structured walk missed it (dense or shared attributes, damage): look for the messages by name.
    try {
      await scanForAttributes(r, geometry, found, findings, ctx.file);
    } catch (e) {
      if (!(e instanceof FormatProblem)) throw e;
      findings.problem('hdf5', e, ctx.file, 'the HDF5 attribute scan');
    }
  }
  if (parsedAttributes === undefined && why !== '' && !structureReported && !found.some((f) => f.name === 'model_config')) {
    // Dense or shared attributes the name scan did not find: read them as the reader does; a heap it
    // cannot read (a filtered one: the HDF5 library decompresses it) may hide a config.
    try {
      for (const a of await (await openHdf5(source)).root.attributes()) {
        const value = Array.isArray(a.value) ? a.value[0] : a.value;
        if ((ATTRIBUTE_NAMES as readonly string[]).includes(a.name) && typeof value === 'string') found.push({ name: a.name as AttrName, text: value, offset: a.at });
      }
    } catch (e) {
      if (!isTensorsafeError(e) || (e instanceof IoError && e.code !== 'OutOfRange')) throw e;
      findings.add('suspicious', 'hdf5/unread-attributes', `the root group's attributes (${why}) cannot be read (${e.code}: ${e.message}): a model_config among them, which Keras would load, is not scanned`, ctx.file);
    }
  }
  const attr = (name: AttrName): FoundAttr | undefined => found.find((f) => f.name === name);
  const configs = found.filter((f) => f.name === 'model_config' || f.name === 'training_config');
  if (configs.some((f) => f.name === 'model_config')) {
    const version = attr('keras_version');
    const backend = attr('backend');
    findings.add(
      'info',
      'hdf5/keras-config',
      `legacy Keras HDF5 model${version ? ` (keras_version ${show(version.text)}${backend ? `, backend ${show(backend.text)}` : ''})` : ''}: model_config found at byte ${attr('model_config')!.offset}`,
      ctx.file,
    );
  } else {
    findings.add(
      'info',
      'hdf5/no-keras-config',
      `no model_config attribute${why ? ` (${why}; the file was also scanned for it by name)` : ''}: not a Keras model file, or weights only; plain HDF5 datasets cannot carry code`,
      ctx.file,
    );
  }
  for (const c of configs) scanKerasConfig(c.text, ctx, `${ctx.file}:${c.name}@${c.offset}`);
  await scanExternalData(source, ctx.file, findings, parsedFile, structureReported);
  findings.flush();
}

/**
 * Links and datasets that read another file's bytes (external links, external raw storage, virtual
 * datasets): h5py follows them when Keras loads the weights, or a script reads the dataset, so the
 * "model" discloses or depends on files outside it. Walked over the reader's parse when there is one.
 */
async function scanExternalData(source: ByteSource, file: string, findings: Findings, parsedFile: Hdf5File | undefined, structureReported: boolean): Promise<void> {
  let external: ExternalData[];
  try {
    external = await findExternalData(parsedFile ?? (await openHdf5(source)));
  } catch (e) {
    if (!isTensorsafeError(e) || (e instanceof IoError && e.code !== 'OutOfRange')) throw e;
    // Already reported when the root header itself could not be read.
    if (!structureReported) findings.add('suspicious', e.code === 'Hdf5Limit' ? 'hdf5/limit-exceeded' : 'hdf5/malformed', `the groups could not be walked for links to other files (${e.code}): ${e.message}`, file);
    return;
  }
  for (const x of external) {
    findings.add('suspicious', 'hdf5/external-data', `${x.path} is ${x.what}: reading it reads another file's bytes (h5py follows it when Keras loads weights or a script reads the dataset)`, file);
  }
}

// --- superblock and root object header ------------------------------------------------------------

async function superblock(r: PagedReader): Promise<Geometry> {
  let sig = -1;
  for (let off = 0; off + 8 <= Math.min(r.size, MAX_HDF5_USERBLOCK_BYTES); off = off === 0 ? 512 : off * 2) {
    const b = await r.bytes(off, 8, 'the HDF5 signature');
    if (SIGNATURE.every((x, i) => b[i] === x)) {
      sig = off;
      break;
    }
  }
  if (sig < 0) throw malformed('no HDF5 signature at offset 0 or after a user block', 0);
  const head = await r.upTo(sig, 96, 'the superblock');
  if (head.length < 16) throw malformed('the superblock is cut short', sig);
  const version = head[8]!;
  const geometry = (offsetSize: number, lengthSize: number, baseAt: number): Geometry => {
    if (![2, 4, 8].includes(offsetSize) || ![2, 4, 8].includes(lengthSize)) throw malformed(`unsupported sizes of offsets (${offsetSize}) and lengths (${lengthSize})`, sig + 9);
    if (head.length < baseAt + offsetSize) throw malformed('the superblock is cut short', sig);
    // The HDF5 library counts addresses from the signature, whatever base address is stored (H5F__super_read).
    return { base: sig, offsetSize, lengthSize };
  };
  if (version === 0 || version === 1) return geometry(head[13]!, head[14]!, version === 0 ? 24 : 28);
  if (version === 2 || version === 3) return geometry(head[9]!, head[10]!, 12);
  throw malformed(`unsupported superblock version ${version}`, sig + 8);
}

async function rootAddress(r: PagedReader, g: Geometry): Promise<number> {
  // The superblock sits at the base address for files written by the HDF5 library.
  const sb = await r.upTo(g.base, 256, 'the superblock');
  const version = sb[8];
  const O = g.offsetSize;
  let at: number;
  if (version === 0 || version === 1) {
    // base, free-space, end-of-file and driver addresses, then the root symbol table entry (link name offset, header address).
    at = (version === 0 ? 24 : 28) + 4 * O + O;
  } else {
    // base, extension, end-of-file, root object header address.
    at = 12 + 3 * O;
  }
  if (sb.length < at + O) throw malformed('the superblock is cut short', g.base);
  const addr = readUint(sb, at, O);
  if (addr === undefined) throw malformed('the root group has no object header address', g.base + at);
  return addr;
}

/** Decodes the root group's attributes; returns why model_config may have been missed, or ''. */
async function rootAttributes(r: PagedReader, g: Geometry, address: number, found: FoundAttr[], findings: Findings, file: string): Promise<string> {
  const start = g.base + address;
  const first = await r.bytes(start, 16, 'the root object header');
  let messages = 0;
  let why = '';
  const chunks: { from: number; to: number; v2: boolean }[] = [];
  const seen = new Set<number>();
  const L = g.lengthSize;
  const O = g.offsetSize;
  let v2: boolean;
  let trackOrder = false;
  if (first[0] === 0x4f && first[1] === 0x48 && first[2] === 0x44 && first[3] === 0x52) {
    // Version 2 "OHDR": version, flags, optional times and attribute phase change values, chunk size.
    v2 = true;
    if (first[4] !== 2) throw malformed(`object header version ${first[4]} (2 expected after OHDR)`, start + 4);
    const flags = first[5]!;
    trackOrder = (flags & 0x04) !== 0; // messages carry a creation order field
    let p = 6 + (flags & 0x20 ? 16 : 0) + (flags & 0x10 ? 4 : 0);
    const width = 1 << (flags & 3);
    const sizeBytes = await r.bytes(start + p, width, 'the object header chunk size');
    const size = readUint(sizeBytes, 0, width) ?? 0;
    p += width;
    chunks.push({ from: start + p, to: start + p + size, v2: true });
  } else if (first[0] === 1) {
    v2 = false;
    const size = view(first).getUint32(8, true);
    chunks.push({ from: start + 16, to: start + 16 + size, v2: false });
  } else {
    throw malformed(`the root object header has unknown version ${first[0]}`, start);
  }
  for (let k = 0; k < chunks.length; k++) {
    if (k > MAX_HDF5_CONTINUATIONS) throw limitExceeded(`more than MAX_HDF5_CONTINUATIONS (${MAX_HDF5_CONTINUATIONS}) header continuation blocks`, chunks[k]!.from);
    const chunk = chunks[k]!;
    r.check(chunk.from, chunk.to - chunk.from, 'an object header block');
    let p = chunk.from;
    const headerBytes = chunk.v2 ? 4 + (trackOrder ? 2 : 0) : 8;
    const end = chunk.to;
    while (p + headerBytes <= end) {
      if (++messages > MAX_HDF5_HEADER_MESSAGES) throw limitExceeded(`more than MAX_HDF5_HEADER_MESSAGES (${MAX_HDF5_HEADER_MESSAGES}) header messages`, p);
      const h = await r.bytes(p, headerBytes, 'a header message');
      let type: number;
      let size: number;
      let flags: number;
      let data: number;
      if (chunk.v2) {
        type = h[0]!;
        size = h[1]! | (h[2]! << 8);
        flags = h[3]!;
        data = p + headerBytes;
      } else {
        type = h[0]! | (h[1]! << 8);
        size = h[2]! | (h[3]! << 8);
        flags = h[4]!;
        data = p + 8;
      }
      if (data + size > end) throw malformed(`header message type ${type} (${size} bytes) runs past the end of its block`, p);
      if (type === 0x0c) {
        if (flags & 0x02) why = 'an attribute is a shared message';
        else await attributeMessage(r, g, data, size, found, findings, file);
      } else if (type === 0x15) {
        // Attribute info: dense storage when the fractal heap address is defined.
        const b = await r.bytes(data, Math.min(size, 2 + 2 + O), 'the attribute info message');
        const heapAt = 2 + (b[1]! & 0x01 ? 2 : 0);
        if (b.length >= heapAt + O && readUint(b, heapAt, O) !== undefined) why = 'attributes are in dense storage (a fractal heap), which is not walked';
      } else if (type === 0x10) {
        const b = await r.bytes(data, O + L, 'a continuation message');
        const off = readUint(b, 0, O);
        const len = readUint(b, O, L);
        if (off === undefined || len === undefined) throw malformed('a continuation message with an undefined address', data);
        const abs = g.base + off;
        if (seen.has(abs)) throw malformed('object header continuation blocks form a loop', data);
        seen.add(abs);
        r.check(abs, len, 'an object header continuation block');
        if (v2) {
          const sig = await r.bytes(abs, 4, 'a continuation block signature');
          if (String.fromCharCode(...sig) !== 'OCHK') throw malformed('a continuation block without the OCHK signature', abs);
          chunks.push({ from: abs + 4, to: abs + len - 4, v2: true }); // signature before, checksum after
        } else {
          chunks.push({ from: abs, to: abs + len, v2: false });
        }
      }
      p = data + size;
      if (!chunk.v2) p = chunk.from + align8(p - chunk.from);
    }
  }
  return why;
}

// --- attribute messages --------------------------------------------------------------------------

/**
 * Decodes an attribute message at `p` (`size` bytes, or unknown for scan hits) when its name is one
 * of ATTRIBUTE_NAMES and its value a string. Returns false when it is not such an attribute.
 */
async function attributeMessage(r: PagedReader, g: Geometry, p: number, size: number | undefined, found: FoundAttr[], findings: Findings, file: string): Promise<boolean> {
  const h = await r.upTo(p, 9, 'an attribute message');
  if (h.length < 8) return false;
  const version = h[0]!;
  if (version < 1 || version > 3) return false;
  const nameSize = h[2]! | (h[3]! << 8);
  const dtSize = h[4]! | (h[5]! << 8);
  const dsSize = h[6]! | (h[7]! << 8);
  const pad = version === 1 ? align8 : (n: number) => n;
  const nameAt = p + (version === 3 ? 9 : 8);
  if (nameSize < 2 || nameSize > 64) return false;
  const nameBytes = await r.upTo(nameAt, nameSize, 'an attribute name');
  if (nameBytes.length < nameSize || nameBytes[nameSize - 1] !== 0) return false;
  const name = String.fromCharCode(...nameBytes.subarray(0, nameSize - 1)) as AttrName;
  if (!ATTRIBUTE_NAMES.includes(name)) return false;
  const dtAt = nameAt + pad(nameSize);
  const dsAt = dtAt + pad(dtSize);
  const dataAt = dsAt + pad(dsSize);
  if (size !== undefined && dataAt > p + size) throw malformed(`attribute ${name}: its parts run past the end of the message`, p);
  if (dtSize < 8 || dtSize > 4096 || dsSize < 4 || dsSize > 4096) throw malformed(`attribute ${name}: datatype or dataspace of impossible size`, p);
  const dt = await r.bytes(dtAt, dtSize, `the datatype of attribute ${name}`);
  const ds = await r.bytes(dsAt, dsSize, `the dataspace of attribute ${name}`);
  const cls = dt[0]! & 0x0f;
  const elementSize = view(dt).getUint32(4, true);
  const count = elements(ds, g, name, dsAt);
  if (count === 0) return true;
  let bytes: Uint8Array;
  if (cls === 3) {
    // Fixed-length string: the value is inline.
    if (elementSize > MAX_HDF5_CONFIG_BYTES) throw limitExceeded(`attribute ${name} is ${elementSize} bytes, more than MAX_HDF5_CONFIG_BYTES`, p);
    if (size !== undefined && dataAt + elementSize > p + size) throw malformed(`attribute ${name}: the value runs past the end of the message`, p);
    bytes = await r.bytes(dataAt, elementSize, `the value of attribute ${name}`);
    let n = bytes.length;
    while (n > 0 && (bytes[n - 1] === 0 || bytes[n - 1] === 0x20)) n--;
    bytes = bytes.subarray(0, n);
  } else if (cls === 9 && (dt[1]! & 0x0f) === 1) {
    // Variable-length string: length, then a global heap ID (collection address, object index).
    const O = g.offsetSize;
    const ref = await r.bytes(dataAt, 4 + O + 4, `the heap reference of attribute ${name}`);
    const length = view(ref).getUint32(0, true);
    const collection = readUint(ref, 4, O);
    const index = view(ref).getUint32(4 + O, true);
    if (collection === undefined) throw malformed(`attribute ${name}: undefined global heap address`, dataAt);
    if (length > MAX_HDF5_CONFIG_BYTES) throw limitExceeded(`attribute ${name} is ${length} bytes, more than MAX_HDF5_CONFIG_BYTES`, p);
    bytes = await heapObject(r, g, g.base + collection, index, length, name);
  } else {
    findings.add('suspicious', 'hdf5/malformed', `attribute ${name} is not a string (datatype class ${cls}); Keras could not read it`, at(file, p));
    return true;
  }
  found.push({ name, text: utf8Lossy(bytes), offset: p });
  return true;
}

/** Number of elements of a dataspace message. */
function elements(ds: Uint8Array, g: Geometry, name: string, dsAt: number): number {
  const version = ds[0]!;
  const rank = ds[1]!;
  let dimsAt: number;
  if (version === 1) dimsAt = 8;
  else if (version === 2) {
    if (ds[3] === 2) return 0; // null dataspace
    if (ds[3] === 0) return 1; // scalar
    dimsAt = 4;
  } else throw malformed(`attribute ${name}: dataspace version ${version} is unknown`, dsAt);
  if (rank === 0) return 1;
  if (ds.length < dimsAt + rank * g.lengthSize) throw malformed(`attribute ${name}: dataspace cut short`, dsAt);
  let n = 1;
  for (let i = 0; i < rank; i++) n *= readUint(ds, dimsAt + i * g.lengthSize, g.lengthSize) ?? 0;
  return Math.min(n, 1);
}

/** Object `index` of the global heap collection at `address`: its first `length` bytes. */
async function heapObject(r: PagedReader, g: Geometry, address: number, index: number, length: number, name: string): Promise<Uint8Array> {
  const L = g.lengthSize;
  const head = await r.bytes(address, 8 + L, `the global heap of attribute ${name}`);
  if (String.fromCharCode(...head.subarray(0, 4)) !== 'GCOL') throw malformed(`attribute ${name}: no global heap collection (GCOL) at its address`, address);
  const size = readUint(head, 8, L);
  if (size === undefined || size < 8 + L) throw malformed(`attribute ${name}: global heap collection of impossible size`, address);
  r.check(address, size, `the global heap collection of attribute ${name}`);
  const end = address + size;
  let p = address + 8 + L;
  for (let k = 0; p + 8 + L <= end; k++) {
    if (k >= MAX_HDF5_HEAP_OBJECTS) throw limitExceeded(`more than MAX_HDF5_HEAP_OBJECTS objects in a global heap collection`, address);
    const oh = await r.bytes(p, 8 + L, 'a global heap object');
    const id = oh[0]! | (oh[1]! << 8);
    const objectSize = readUint(oh, 8, L);
    if (id === 0) break; // free space: the end of the objects
    if (objectSize === undefined || p + 8 + L + objectSize > end) throw malformed(`attribute ${name}: a global heap object runs past its collection`, p);
    if (id === index) {
      if (length > objectSize) throw malformed(`attribute ${name}: the string is longer (${length}) than its heap object (${objectSize})`, p);
      return r.bytes(p + 8 + L, length, `the value of attribute ${name}`);
    }
    p += 8 + L + align8(objectSize);
  }
  throw malformed(`attribute ${name}: object ${index} is not in its global heap collection`, address);
}

// --- the fallback: attribute messages found by name -----------------------------------------------

async function scanForAttributes(r: PagedReader, geometry: Geometry | undefined, found: FoundAttr[], findings: Findings, file: string): Promise<void> {
  const g = geometry ?? { base: 0, offsetSize: 8, lengthSize: 8 };
  const patterns = ATTRIBUTE_NAMES.map((n) => Uint8Array.from(`${n}\0`, (c) => c.charCodeAt(0)));
  const overlap = Math.max(...patterns.map((p) => p.length)) - 1;
  const limit = Math.min(r.size, MAX_HDF5_SCAN_BYTES);
  const known = new Set(found.map((f) => f.offset));
  let hits = 0;
  for (let start = 0; start < limit; start += SCAN_CHUNK_BYTES) {
    const n = Math.min(SCAN_CHUNK_BYTES + overlap, limit - start);
    const chunk = await r.source.read(start, n);
    for (const pat of patterns) {
      for (let i = indexOf(chunk, pat, 0); i >= 0; i = indexOf(chunk, pat, i + 1)) {
        if (start > 0 && i + pat.length <= overlap) continue; // already seen at the end of the previous chunk
        const pos = start + i;
        // A message header sits 8 (versions 1, 2) or 9 (version 3) bytes before the name.
        for (const back of [8, 9]) {
          const p = pos - back;
          if (p < 0 || known.has(p)) continue;
          const h = await r.bytes(p, 8, 'an attribute message');
          const version = h[0]!;
          const nameSize = h[2]! | (h[3]! << 8);
          if (nameSize !== pat.length || (back === 9) !== (version === 3) || version < 1 || version > 3) continue;
          if (++hits > MAX_HDF5_SCAN_HITS) throw limitExceeded(`more than MAX_HDF5_SCAN_HITS (${MAX_HDF5_SCAN_HITS}) attribute messages named like Keras attributes`, pos);
          try {
            if (await attributeMessage(r, g, p, undefined, found, findings, file)) known.add(p);
          } catch (e) {
            if (!(e instanceof FormatProblem)) throw e;
            findings.problem('hdf5', e, file, `the attribute message found by name at byte ${p}`);
          }
        }
      }
    }
  }
  if (r.size > MAX_HDF5_SCAN_BYTES && !found.some((f) => f.name === 'model_config')) {
    findings.add('suspicious', 'hdf5/limit-exceeded', `the root attributes could not be read and only the first ${MAX_HDF5_SCAN_BYTES} bytes were scanned for a model_config attribute (MAX_HDF5_SCAN_BYTES)`, file);
  }
}

function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0]!;
  for (let i = hay.indexOf(first, from); i >= 0 && i + needle.length <= hay.length; i = hay.indexOf(first, i + 1)) {
    let k = 1;
    while (k < needle.length && hay[i + k] === needle[k]) k++;
    if (k === needle.length) return i;
  }
  return -1;
}

// --- helpers ---------------------------------------------------------------------------------------

function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}

/** An unsigned little-endian integer of `width` bytes; undefined for the "undefined address" (all ones) or values past 2^53. */
function readUint(b: Uint8Array, at: number, width: number): number | undefined {
  if (at + width > b.length) return undefined;
  let allOnes = true;
  let v = 0;
  for (let i = width - 1; i >= 0; i--) {
    const byte = b[at + i]!;
    if (byte !== 0xff) allOnes = false;
    v = v * 256 + byte;
  }
  if (allOnes || v > Number.MAX_SAFE_INTEGER) return undefined;
  return v;
}

