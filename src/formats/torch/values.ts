import type { ByteSource } from '../../io/byte-source.js';
import { PyExtension, type PyValue } from '../pickle/values.js';
import type { TorchDtype } from './dtypes.js';

/** A storage a checkpoint's pickle refers to: a key into the container's data, and its element type. */
export class TorchStorage extends PyExtension {
  /** The bytes: set when the container locates them (a zip entry, a range of a legacy file). */
  source: ByteSource | undefined;
  /** The storage this one is a view of (legacy and tar storage views), and where in it, in bytes. */
  root: TorchStorage = this;
  rootOffset = 0;

  constructor(
    /** The container's key (`data/<key>` in a zip; the root key in the legacy format). */
    readonly key: string,
    readonly dtype: TorchDtype,
    /** Elements of `dtype` (bytes for untyped storages). */
    readonly numel: number,
    readonly location: string,
    /** Bytes of data are big-endian and must be swapped. */
    readonly bigEndian: boolean,
  ) {
    super();
  }

  get byteLength(): number {
    return this.numel * this.dtype.size;
  }
}

/** A tensor rebuilt as data: a strided view of a storage. */
export class TorchTensor extends PyExtension {
  /** Set for nn.Parameter. */
  isParameter = false;

  constructor(
    readonly storage: TorchStorage,
    /** Offset into the storage, in elements of `dtype`. */
    readonly offset: number,
    readonly shape: readonly number[],
    readonly stride: readonly number[],
    readonly dtype: TorchDtype,
    /** Where in the pickle it was rebuilt, for messages. */
    readonly location: string,
  ) {
    super();
  }

  /** Parameter state and tensor `__dict__` carry no data: accepted and ignored. */
  override build(_state: PyValue): void {}
}

/** A tensor safetensors cannot hold (quantized, sparse, meta, …): kept so that the error can name it. */
export class TorchUnsupported extends PyExtension {
  constructor(
    readonly reason: string,
    readonly location: string,
  ) {
    super();
  }

  override build(_state: PyValue): void {}
}
