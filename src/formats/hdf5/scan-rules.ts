import type { ByteSource } from '../../io/byte-source.js';
import type { ScanContext } from '../findings.js';
import { PagedReader, view } from '../../io/cursor.js';
import { FormatProblem, limitExceeded, malformed } from '../../io/format-problem.js';
import { at, Findings, show, utf8Lossy } from '../scan-rules.js';
import { scanKerasConfig } from '../keras/config-rules.js';
import type { Hdf5Attribute } from './attributes.js';
import { Hdf5Error } from './errors.js';
import { align8, uintAt } from './fields.js';
import { Hdf5File, Hdf5Group, openHdf5 } from './file.js';
import { findExternalData, type ExternalData } from './external-data.js';
import { IoError, isTensorsafeError } from '../../errors.js';
import type { Hdf5Geometry } from './geometry.js';
import { GlobalHeap } from './heaps.js';
import { readSuperblock } from './superblock.js';

/**
 * Legacy Keras HDF5 (`model.save('x.h5')`): the model is rebuilt from the root group's `model_config`
 * attribute (JSON), so that is where Lambda layers and custom objects are; `training_config` names the
 * loss, metrics and optimizer. They are found:
 *  1. among the root group's attributes as the HDF5 reader (file.ts) decodes them, compact and dense:
 *     strings inline or in a global heap collection (what h5py writes for `str`);
 *  2. when that cannot find `model_config` (an unreadable superblock or root header, a shared or
 *     otherwise unread attribute), by a bounded scan of the file for attribute messages by their name
 *     (`model_config\0` preceded by an attribute message header), decoded here.
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

const ATTRIBUTE_NAMES = ['model_config', 'training_config', 'keras_version', 'backend'] as const;
type AttrName = (typeof ATTRIBUTE_NAMES)[number];

interface FoundAttr {
  name: AttrName;
  text: string;
  /** Offset of the attribute message. */
  offset: number;
}

/**
 * `parsedAttributes`: the root group's attributes as the HDF5 reader decoded them (an open() of the same
 * source, compact and dense storage alike): checked instead of reading the root header again. Without
 * them, the reader's superblock and root object (file.ts) are read here, nothing more.
 */
export async function scanHdf5(source: ByteSource, ctx: ScanContext, parsedAttributes?: readonly Hdf5Attribute[], parsedFile?: Hdf5File): Promise<void> {
  const findings = new Findings(ctx);
  const r = new PagedReader(source);
  const found: FoundAttr[] = [];
  let geometry: Hdf5Geometry | undefined;
  let why = '';
  let structureReported = false;
  let file = parsedFile;
  let attributes = parsedAttributes;
  if (attributes === undefined) {
    try {
      const superblock = await readSuperblock(r);
      geometry = superblock.geometry;
      const opened = new Hdf5File(source, r, superblock);
      const root = await opened.object(superblock.root, '/');
      // Kept for the external-data walk only once its root group reads (a damaged root is reported here).
      if (root instanceof Hdf5Group) file ??= opened;
      attributes = await root.attributes();
    } catch (e) {
      const problem = e instanceof Hdf5Error ? e.cause : e;
      if (problem instanceof FormatProblem) {
        findings.problem('hdf5', problem, ctx.file, 'the HDF5 structure');
        why = 'the root object header could not be read';
        structureReported = true;
      } else if (e instanceof Hdf5Error && e.code === 'Hdf5Unsupported') {
        // Valid HDF5 this reader leaves (a shared attribute, a filtered heap): not a finding, the name scan looks.
        why = e.message;
      } else throw e;
    }
  }
  for (const a of attributes ?? []) {
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
  await scanExternalData(source, ctx.file, findings, file, structureReported);
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

// --- attribute messages --------------------------------------------------------------------------

/**
 * Decodes an attribute message at `p` (`size` bytes, or unknown for scan hits) when its name is one
 * of ATTRIBUTE_NAMES and its value a string. Returns false when it is not such an attribute.
 */
async function attributeMessage(r: PagedReader, g: Hdf5Geometry, p: number, size: number | undefined, found: FoundAttr[], findings: Findings, file: string): Promise<boolean> {
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
    const collection = uintAt(ref, 4, O);
    const index = view(ref).getUint32(4 + O, true);
    if (collection === undefined) throw malformed(`attribute ${name}: undefined global heap address`, dataAt);
    if (length > MAX_HDF5_CONFIG_BYTES) throw limitExceeded(`attribute ${name} is ${length} bytes, more than MAX_HDF5_CONFIG_BYTES`, p);
    const object = await new GlobalHeap(r, g).object(g.base + collection, index);
    if (length > object.length) throw malformed(`attribute ${name}: the string is longer (${length}) than its heap object (${object.length})`, dataAt);
    bytes = object.subarray(0, length);
  } else {
    findings.add('suspicious', 'hdf5/malformed', `attribute ${name} is not a string (datatype class ${cls}); Keras could not read it`, at(file, p));
    return true;
  }
  found.push({ name, text: utf8Lossy(bytes), offset: p });
  return true;
}

/** Number of elements of a dataspace message. */
function elements(ds: Uint8Array, g: Hdf5Geometry, name: string, dsAt: number): number {
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
  for (let i = 0; i < rank; i++) n *= uintAt(ds, dimsAt + i * g.lengthSize, g.lengthSize) ?? 0;
  return Math.min(n, 1);
}

// --- the fallback: attribute messages found by name -----------------------------------------------

async function scanForAttributes(r: PagedReader, geometry: Hdf5Geometry | undefined, found: FoundAttr[], findings: Findings, file: string): Promise<void> {
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
