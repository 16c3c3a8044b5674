import type { Dtype } from '../../dtype/dtypes.js';
import type { ByteSource } from '../../io/byte-source.js';
import { PagedReader } from '../../io/cursor.js';
import { limitExceeded, malformed } from '../../io/format-problem.js';
import { swapChunks } from '../../tensor/byte-swap.js';
import { DEFAULT_CHUNK_BYTES, STORED, type TensorEncoding, type TensorEntry } from '../../tensor/tensor-set.js';
import { readAttributes, type AttributeContext, type Hdf5Attribute, type Hdf5Value } from './attributes.js';
import { decodeDatatype, type Hdf5Datatype } from './datatype.js';
import { coded, Hdf5Error } from './errors.js';
import type { Hdf5Geometry } from './geometry.js';
import { groupLinks } from './group.js';
import { GlobalHeap } from './heaps.js';
import { MAX_HDF5_OBJECTS, MAX_HDF5_PATH_DEPTH, MAX_HDF5_SOFT_LINKS, MAX_HDF5_UNWRITTEN_BYTES } from './limits.js';
import { decodeDataspace, decodeFillValue, type Hdf5Dataspace, type Hdf5Link } from './messages.js';
import { isShared, messageName, MSG, readObjectHeader, sharedAddress, type HeaderMessage, type ObjectHeader } from './object-header.js';
import { openDatasetStorage } from './storage.js';
import type { DatasetStorage, StorageMessages } from './storage-contract.js';
import { readSuperblock, type Hdf5Superblock } from './superblock.js';

/**
 * A read-only HDF5 file: open it once (`openHdf5`), then walk groups, read attributes (decoded) and
 * open datasets' storage. Every structure is read on demand through one PagedReader, bounds-checked;
 * object headers are read once each (by address), which also makes aliases (hard links to one object)
 * the same object and cycles detectable. Errors are Hdf5Errors (InvalidHdf5, Hdf5Limit,
 * Hdf5Unsupported) naming the file, the object's path and the byte offset.
 */

export type Hdf5Node = Hdf5Group | Hdf5Dataset | Hdf5Other;

/** A link of a group and what it leads to. */
export interface Hdf5Child {
  readonly name: string;
  /** Path of the link (`/model_weights/dense`). */
  readonly path: string;
  readonly link: Hdf5Link;
  /** The object (hard links; soft links that resolve inside the file). */
  readonly node?: Hdf5Node;
  /** Why there is no object: an external link (never followed), a dangling soft link, a user-defined link. */
  readonly why?: string;
}

export async function openHdf5(source: ByteSource): Promise<Hdf5File> {
  const file = source.name;
  const r = new PagedReader(source);
  try {
    const superblock = await readSuperblock(r);
    const f = new Hdf5File(source, r, superblock);
    const root = await f.object(superblock.root, '/');
    if (!(root instanceof Hdf5Group)) throw malformed(`the root object (header at ${superblock.root}) is a ${root.kind}, not a group`, superblock.root);
    return f;
  } catch (e) {
    throw coded(e, file, 'the superblock and root group');
  }
}

export class Hdf5File {
  readonly geometry: Hdf5Geometry;
  readonly globalHeap: GlobalHeap;
  private readonly nodes = new Map<number, Hdf5Node>();
  private softLinks = 0;
  private readonly unwritten = new Map<number, number>();
  private unwrittenTotal = 0;
  private readonly attributeContext: AttributeContext;

  constructor(
    readonly source: ByteSource,
    readonly reader: PagedReader,
    readonly superblock: Hdf5Superblock,
  ) {
    this.geometry = superblock.geometry;
    this.globalHeap = new GlobalHeap(reader, this.geometry);
    this.attributeContext = { r: reader, g: this.geometry, globalHeap: this.globalHeap, shared: (type, body, at) => this.sharedMessage(type, body, at) };
  }

  get name(): string {
    return this.source.name;
  }

  /** Counts a dataset's never-written bytes (once per object) against MAX_HDF5_UNWRITTEN_BYTES. */
  countUnwritten(address: number, bytes: number, path: string): void {
    if (bytes === 0 || this.unwritten.has(address)) return;
    this.unwritten.set(address, bytes);
    this.unwrittenTotal += bytes;
    if (this.unwrittenTotal > MAX_HDF5_UNWRITTEN_BYTES) {
      throw new Hdf5Error('Hdf5Limit', `${this.name}: dataset ${path} brings the bytes never written (read as fill values) to ${this.unwrittenTotal}, more than MAX_HDF5_UNWRITTEN_BYTES (${MAX_HDF5_UNWRITTEN_BYTES}): data the file does not hold`, { location: this.name });
    }
  }

  get root(): Hdf5Group {
    return this.nodes.get(this.superblock.root) as Hdf5Group;
  }

  /** Distinct objects read so far. */
  get objectCount(): number {
    return this.nodes.size;
  }

  /** The object whose header is at `address` (absolute), read once; `path`: where it was first met. */
  async object(address: number, path: string): Promise<Hdf5Node> {
    const hit = this.nodes.get(address);
    if (hit) return hit;
    if (this.nodes.size >= MAX_HDF5_OBJECTS) throw limitExceeded(`more than MAX_HDF5_OBJECTS (${MAX_HDF5_OBJECTS}) objects`, address);
    let node: Hdf5Node;
    try {
      const header = await readObjectHeader(this.reader, this.geometry, address);
      node = await this.classify(header, path);
    } catch (e) {
      throw coded(e, this.name, `object ${path}`);
    }
    this.nodes.set(address, node);
    return node;
  }

  private async classify(header: ObjectHeader, path: string): Promise<Hdf5Node> {
    const has = (type: number): boolean => header.messages.some((m) => m.type === type);
    if (has(MSG.layout)) return this.dataset(header, path);
    if (has(MSG.symbolTable) || has(MSG.link) || has(MSG.linkInfo) || has(MSG.groupInfo) || header.address === this.superblock.root) return new Hdf5Group(this, header, path);
    return new Hdf5Other(this, header, path, has(MSG.datatype) ? 'datatype' : 'object');
  }

  private async dataset(header: ObjectHeader, path: string): Promise<Hdf5Dataset> {
    const one = async (type: number): Promise<{ body: Uint8Array; at: number } | undefined> => {
      const m = header.messages.find((x) => x.type === type);
      if (!m) return undefined;
      return isShared(m) ? this.sharedMessage(type, m.body, m.at) : { body: m.body, at: m.at };
    };
    const ds = await one(MSG.dataspace);
    const dt = await one(MSG.datatype);
    const layout = header.messages.find((m) => m.type === MSG.layout)!;
    if (!ds || !dt) throw malformed(`dataset ${path} has no ${ds ? 'datatype' : 'dataspace'} message`, header.address);
    const dataspace = decodeDataspace(ds.body, ds.at, this.geometry);
    const datatype = decodeDatatype(dt.body, dt.at);
    const fillNew = await one(MSG.fillValue);
    const fillOld = await one(MSG.fillValueOld);
    const fillValue = fillNew ? decodeFillValue(fillNew.body, fillNew.at, false) : fillOld ? decodeFillValue(fillOld.body, fillOld.at, true) : undefined;
    const filters = header.messages.find((m) => m.type === MSG.filters);
    const external = header.messages.some((m) => m.type === MSG.externalFiles);
    return new Hdf5Dataset(this, header, path, dataspace, datatype, layout, filters, fillValue?.length === datatype.size ? fillValue : undefined, external);
  }

  /** The body of a shared message (a committed datatype, a message in another object's header). */
  async sharedMessage(type: number, body: Uint8Array, at: number): Promise<{ body: Uint8Array; at: number }> {
    const address = sharedAddress(body, at, this.geometry, messageName(type));
    const header = await readObjectHeader(this.reader, this.geometry, address);
    const m = header.messages.find((x) => x.type === type);
    if (!m) throw malformed(`a shared message points to an object without a message of type ${type}`, at);
    if (isShared(m)) throw malformed('a shared message points to another shared message', m.at);
    return { body: m.body, at: m.at };
  }

  /** The object at an absolute path (`/model_weights/dense`), following hard and soft links; undefined when nothing is there. */
  async get(path: string): Promise<Hdf5Node | undefined> {
    return this.resolve(this.root, path, 0);
  }

  /** Resolves `path` (absolute, or relative to `from`); `hops`: soft links followed so far in this resolution. */
  async resolve(from: Hdf5Group, path: string, hops: number): Promise<Hdf5Node | undefined> {
    const parts = path.split('/').filter((p) => p !== '' && p !== '.');
    if (parts.length > MAX_HDF5_PATH_DEPTH) throw new Hdf5Error('Hdf5Limit', `${this.name}: path ${JSON.stringify(path)} is deeper than MAX_HDF5_PATH_DEPTH (${MAX_HDF5_PATH_DEPTH})`, { location: this.name });
    let node: Hdf5Node = path.startsWith('/') ? this.root : from;
    for (const part of parts) {
      if (!(node instanceof Hdf5Group)) return undefined;
      const link = await node.link(part);
      if (!link) return undefined;
      const next = await this.follow(node, link, hops);
      if (!next.node) return undefined;
      node = next.node;
      hops = next.hops;
    }
    return node;
  }

  /** What a link leads to; soft links resolved with a bound on hops and on resolutions in the file. */
  async follow(group: Hdf5Group, link: Hdf5Link, hops = 0): Promise<{ node?: Hdf5Node; why?: string; hops: number }> {
    const path = `${group.path === '/' ? '' : group.path}/${link.name}`;
    const t = link.target;
    if (t.kind === 'hard') return { node: await this.object(t.address, path), hops };
    if (t.kind === 'external') return { why: `an external link to ${JSON.stringify(t.path)} in ${JSON.stringify(t.file)} (another file: never followed)`, hops };
    if (t.kind === 'user-defined') return { why: `a user-defined link (type ${t.type})`, hops };
    if (++this.softLinks > MAX_HDF5_SOFT_LINKS) throw new Hdf5Error('Hdf5Limit', `${this.name}: more than MAX_HDF5_SOFT_LINKS (${MAX_HDF5_SOFT_LINKS}) soft links resolved`, { location: this.name });
    if (hops + 1 > MAX_HDF5_PATH_DEPTH) throw new Hdf5Error('Hdf5Limit', `${this.name}: soft link ${path} leads through more than MAX_HDF5_PATH_DEPTH (${MAX_HDF5_PATH_DEPTH}) soft links (a loop?)`, { location: this.name });
    const node = await this.resolve(group, t.path, hops + 1);
    return node ? { node, hops: hops + 1 } : { why: `a soft link to ${JSON.stringify(t.path)}, where nothing is`, hops: hops + 1 };
  }

  attributesOf(header: ObjectHeader, path: string): Promise<Hdf5Attribute[]> {
    return readAttributes(this.attributeContext, header, path).catch((e: unknown) => {
      throw coded(e, this.name, `the attributes of ${path}`);
    });
  }
}

/** What groups, datasets and other objects share: a path, an address, attributes. */
abstract class Hdf5ObjectBase {
  private cachedAttributes: Promise<Hdf5Attribute[]> | undefined;

  constructor(
    readonly file: Hdf5File,
    readonly header: ObjectHeader,
    /** Where the object was first met (`/model_weights/dense`). */
    readonly path: string,
  ) {}

  /** Absolute offset of its object header: equal for aliases (hard links to one object). */
  get address(): number {
    return this.header.address;
  }

  /** Its attributes, decoded, sorted by name (read once). */
  attributes(): Promise<Hdf5Attribute[]> {
    this.cachedAttributes ??= this.file.attributesOf(this.header, this.path);
    return this.cachedAttributes;
  }

  async attribute(name: string): Promise<Hdf5Attribute | undefined> {
    return (await this.attributes()).find((a) => a.name === name);
  }

  /** An attribute's decoded value, or undefined when it is absent or not decoded. */
  async attributeValue(name: string): Promise<Hdf5Value | undefined> {
    return (await this.attribute(name))?.value;
  }
}

export class Hdf5Group extends Hdf5ObjectBase {
  readonly kind = 'group';
  private cachedLinks: Promise<Hdf5Link[]> | undefined;
  private byName: Map<string, Hdf5Link> | undefined;

  /** Its links, sorted by name (byte order), read once. */
  links(): Promise<Hdf5Link[]> {
    const cached = this.address === this.file.superblock.root ? this.file.superblock.rootSymbolTable : undefined;
    this.cachedLinks ??= groupLinks(this.file.reader, this.file.geometry, this.header, this.path, cached)
      .then((links) => links.sort((a, b) => compareNames(a.name, b.name)))
      .catch((e: unknown) => {
        throw coded(e, this.file.name, `the links of group ${this.path}`);
      });
    return this.cachedLinks;
  }

  /** The link of this name, or undefined. */
  async link(name: string): Promise<Hdf5Link | undefined> {
    this.byName ??= new Map((await this.links()).map((l) => [l.name, l]));
    return this.byName.get(name);
  }

  /** Its links with what each leads to (hard and soft links resolved; external links never followed). */
  async children(): Promise<Hdf5Child[]> {
    const out: Hdf5Child[] = [];
    for (const link of await this.links()) {
      const path = `${this.path === '/' ? '' : this.path}/${link.name}`;
      const { node, why } = await this.file.follow(this, link);
      out.push(node ? { name: link.name, path, link, node } : { name: link.name, path, link, why: why ?? 'nothing' });
    }
    return out;
  }

  /** The object at `path` relative to this group (or absolute), following links. */
  get(path: string): Promise<Hdf5Node | undefined> {
    return this.file.resolve(this, path, 0);
  }
}

export class Hdf5Dataset extends Hdf5ObjectBase {
  readonly kind = 'dataset';

  constructor(
    file: Hdf5File,
    header: ObjectHeader,
    path: string,
    readonly dataspace: Hdf5Dataspace,
    readonly datatype: Hdf5Datatype,
    private readonly layout: HeaderMessage,
    private readonly filterPipeline: HeaderMessage | undefined,
    /** One element's fill value, when the file defines one. */
    readonly fillValue: Uint8Array | undefined,
    /** Its data is in external files (the External Data Files message): never read. */
    readonly externalStorage: boolean,
  ) {
    super(file, header, path);
  }

  /** Its shape ([] for a scalar); undefined for a null dataspace (h5py.Empty). */
  get shape(): readonly number[] | undefined {
    return this.dataspace.kind === 'null' ? undefined : this.dataspace.dims;
  }

  /** The tensor dtype of its elements, or undefined (then `why` says why). */
  get dtype(): Dtype | undefined {
    return this.datatype.dtype;
  }

  /** Bytes per swapped group when the elements are big-endian numbers of more than one byte. */
  get byteSwap(): number | undefined {
    return this.datatype.dtype !== undefined && this.datatype.bigEndian && this.datatype.size > 1 ? this.datatype.size : undefined;
  }

  /** Why it is not a tensor (not numbers, empty, data in another file), or undefined when it is one. */
  get why(): string | undefined {
    if (this.externalStorage) return 'its data is in external files (never read)';
    if (this.dataspace.kind === 'null') return 'an empty dataset (null dataspace, h5py.Empty): no shape and no data';
    if (this.datatype.dtype === undefined) return `${this.datatype.why ?? this.datatype.description}: not numbers`;
    return undefined;
  }

  /** What the storage side needs (layout and filter pipeline bodies, fill value, dims, element size). */
  get storageMessages(): StorageMessages {
    return {
      layout: this.layout.body,
      ...(this.filterPipeline ? { filters: this.filterPipeline.body } : {}),
      ...(this.fillValue ? { fillValue: this.fillValue } : {}),
      dims: this.dataspace.dims,
      ...(this.dataspace.maxDims ? { maxDims: this.dataspace.maxDims } : {}),
      elementSize: this.datatype.size,
      where: this.path,
    };
  }

  /** Its bytes, found (layout, chunk index, filters): row-major, in the file's byte order. */
  async storage(): Promise<DatasetStorage> {
    if (this.layout.flags & 0x02) throw new Hdf5Error('Hdf5Unsupported', `${this.file.name}: dataset ${this.path}: its layout is a shared message, which is not read`, { location: `${this.file.name}@${this.layout.at}` });
    const where = `dataset ${this.path}`;
    let storage: DatasetStorage;
    try {
      storage = await openDatasetStorage(this.file.source, this.file.reader, this.file.geometry, this.storageMessages);
    } catch (e) {
      throw coded(e, this.file.name, where);
    }
    this.file.countUnwritten(this.address, storage.unwrittenBytes, this.path);
    // A chunk found damaged while the bytes stream (a checksum, a filter) is a coded error like any other.
    const { name } = this.file;
    const stream = storage.chunks.bind(storage);
    return {
      ...storage,
      async *chunks(chunkBytes?: number) {
        try {
          yield* stream(chunkBytes);
        } catch (e) {
          throw coded(e, name, e instanceof Error && e.message.includes(where) ? undefined : where);
        }
      },
    };
  }
}

/** An object that is neither a group nor a dataset: a committed (named) datatype, or unknown. */
export class Hdf5Other extends Hdf5ObjectBase {
  constructor(
    file: Hdf5File,
    header: ObjectHeader,
    path: string,
    readonly kind: 'datatype' | 'object',
  ) {
    super(file, header, path);
  }
}

/** Names in byte order of their UTF-8 (HDF5's name index order, as h5py lists them). */
export function compareNames(a: string, b: string): number {
  const x = ENCODER.encode(a);
  const y = ENCODER.encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

const ENCODER = new TextEncoder();

/**
 * A dataset as a TensorEntry named `name`: its dtype and shape, big-endian elements byte-swapped as
 * they stream (encoding byteSwap), its bytes from its storage. Undefined dtype or shape: Hdf5Unsupported (check `why` first).
 * `as` reads the elements as that dtype, bytes as they are (Keras 3's bfloat16, stored as 2-byte opaque:
 * the caller checks the element size).
 */
export async function datasetTensor(ds: Hdf5Dataset, name: string, as?: Dtype): Promise<{ entry: TensorEntry; storage: DatasetStorage }> {
  const dtype = as ?? ds.dtype;
  const shape = ds.shape;
  const why = as === undefined ? ds.why : undefined;
  if (dtype === undefined || shape === undefined || why !== undefined) {
    throw new Hdf5Error('Hdf5Unsupported', `${ds.file.name}: dataset ${ds.path} is not a tensor: ${why ?? 'no dtype'}`, { location: `${ds.file.name}@${ds.address}` });
  }
  const storage = await ds.storage();
  const swap = as === undefined ? ds.byteSwap : undefined;
  const encoding: TensorEncoding = swap ? { layout: 'stored', byteSwap: swap } : STORED;
  const unit = ds.datatype.size;
  return {
    storage,
    entry: {
      name,
      dtype,
      shape: [...shape],
      byteLength: storage.byteLength,
      encoding,
      fidelity: 'exact',
      aliasKey: `hdf5@${ds.address}`,
      // Pieces of whole elements, so that a byte swap never splits one.
      chunks: (chunkBytes = DEFAULT_CHUNK_BYTES) => swapChunks(storage.chunks(Math.max(unit, Math.floor(chunkBytes / unit) * unit)), swap),
    },
  };
}
