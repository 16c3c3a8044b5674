import { SafetensorError } from '../errors.js';
import type { Dtype } from '../dtype/dtypes.js';
import { tensorFromBytes, type Tensor } from '../dtype/tensor.js';
import type { ByteSource } from '../io/byte-source.js';
import { compareCodePoints } from '../util/strings.js';
import { asyncDisposeSymbol } from '../util/dispose.js';
import { checkHeaderLength, parseHeader, type SafetensorsHeader, type TensorInfo } from './header.js';
import { HEADER_LENGTH_BYTES } from './limits.js';
import { coalesceRuns, planSlice, type SliceIndex } from './slice.js';

/**
 * What an open safetensors file, or a sharded set of them, lets you do. A handle is AsyncDisposable:
 * `await using f = await safeOpen(...)` closes it at the end of the block.
 */
export interface SafetensorsHandle extends AsyncDisposable {
  /** Tensor names sorted by UTF-8 bytes (as Python's `keys()`). */
  keys(): string[];
  /** Tensor names in the order their bytes sit in the file(s). */
  offsetKeys(): string[];
  /** `__metadata__`, or null. */
  metadata(): Record<string, string> | null;
  /** dtype, shape and byte range of a tensor; TensorNotFound if absent. */
  info(name: string): TensorInfo;
  has(name: string): boolean;
  /** Reads one tensor. */
  getTensor(name: string): Promise<Tensor>;
  /** A lazy handle on one tensor that reads only the part an index selects. */
  getSlice(name: string): TensorSlice;
  close(): Promise<void>;
  /** The same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** One tensor, not yet read; `get` reads just the bytes an index selects. */
export interface TensorSlice {
  readonly name: string;
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  /** numpy-style: `get(0)`, `get('1:3', '::2')`, `get('..., -1')`, `get({ start: 2, step: 2 })`. */
  get(...indices: SliceIndex[]): Promise<Tensor>;
}

/** Reads and validates the header of a source: at most two reads (the length, then the JSON). */
export async function readHeader(source: ByteSource): Promise<SafetensorsHeader> {
  const prefix = await source.read(0, Math.min(HEADER_LENGTH_BYTES, source.size));
  const n = checkHeaderLength(prefix, source.size);
  const json = await source.read(HEADER_LENGTH_BYTES, n);
  return parseHeader(json, source.size);
}

/** The same, for sources that read synchronously. */
export function readHeaderSync(source: ByteSource & { readSync: NonNullable<ByteSource['readSync']> }): SafetensorsHeader {
  const prefix = source.readSync(0, Math.min(HEADER_LENGTH_BYTES, source.size));
  const n = checkHeaderLength(prefix, source.size);
  return parseHeader(source.readSync(HEADER_LENGTH_BYTES, n), source.size);
}

/** An open safetensors file over any ByteSource: the header is read and validated, tensors on demand. */
export class SafetensorsFile implements SafetensorsHandle {
  private closed = false;
  private sortedKeys: string[] | undefined;

  constructor(
    readonly source: ByteSource,
    readonly header: SafetensorsHeader,
  ) {}

  static async open(source: ByteSource): Promise<SafetensorsFile> {
    return new SafetensorsFile(source, await readHeader(source));
  }

  get name(): string {
    return this.source.name;
  }

  keys(): string[] {
    this.checkOpen();
    this.sortedKeys ??= [...this.header.tensors.keys()].sort(compareCodePoints);
    return [...this.sortedKeys];
  }

  offsetKeys(): string[] {
    this.checkOpen();
    return [...this.header.tensors.keys()];
  }

  metadata(): Record<string, string> | null {
    this.checkOpen();
    return this.header.metadata === null ? null : { ...this.header.metadata };
  }

  has(name: string): boolean {
    return this.header.tensors.has(name);
  }

  info(name: string): TensorInfo {
    this.checkOpen();
    const info = this.header.tensors.get(name);
    if (!info) {
      throw new SafetensorError('TensorNotFound', `tensor \`${name}\` not found in ${this.source.name}${suggest(name, this.header.tensors.keys())}`, {
        location: this.source.name,
      });
    }
    return info;
  }

  async getTensor(name: string): Promise<Tensor> {
    const info = this.info(name);
    const bytes = await this.source.read(info.byteOffset, info.byteLength);
    return tensorFromBytes(info.dtype, [...info.shape], bytes);
  }

  /** Reads a tensor without waiting; only for sources that read synchronously (memory, local files). */
  getTensorSync(name: string): Tensor {
    const info = this.info(name);
    if (!this.source.readSync) throw new SafetensorError('NotSynchronous', `${this.source.name} cannot be read synchronously; use getTensor()`);
    const bytes = this.source.readSync(info.byteOffset, info.byteLength);
    return tensorFromBytes(info.dtype, [...info.shape], bytes);
  }

  /** Reads every tensor, in file order. */
  async *tensors(): AsyncGenerator<[string, Tensor]> {
    for (const name of this.header.tensors.keys()) yield [name, await this.getTensor(name)];
  }

  getSlice(name: string): TensorSlice {
    const info = this.info(name);
    const source = this.source;
    return {
      name,
      dtype: info.dtype,
      shape: info.shape,
      get: (...indices: SliceIndex[]) => readSlice(source, info, indices),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.source.close?.();
  }

  /** `await using f = await safeOpen(...)`: closed at the end of the block. */
  [asyncDisposeSymbol](): Promise<void> {
    return this.close();
  }

  private checkOpen(): void {
    if (this.closed) throw new SafetensorError('Closed', `${this.source.name} is closed`);
  }
}

/** Reads the bytes a slice needs (nearby runs coalesced into one read) and assembles the result. */
export async function readSlice(source: ByteSource, info: TensorInfo, indices: readonly SliceIndex[]): Promise<Tensor> {
  const plan = planSlice(info.name, info.dtype, info.shape, indices);
  const out = new Uint8Array(plan.byteLength);
  const { spans, spanOf } = coalesceRuns(plan.runs, source.coalesceGap ?? 0);
  const blocks = await Promise.all(spans.map((s) => source.read(info.byteOffset + s.offset, s.length)));
  let at = 0;
  plan.runs.forEach((run, i) => {
    const span = spans[spanOf[i]!]!;
    const block = blocks[spanOf[i]!]!;
    const from = run.offset - span.offset;
    if (run.length <= 8) {
      for (let k = 0; k < run.length; k++) out[at + k] = block[from + k]!;
    } else {
      out.set(block.subarray(from, from + run.length), at);
    }
    at += run.length;
  });
  return tensorFromBytes(info.dtype, plan.shape, out);
}

/** ", did you mean `x`?" when a close name exists. */
function suggest(name: string, names: Iterable<string>): string {
  const lower = name.toLowerCase();
  for (const candidate of names) {
    if (candidate.toLowerCase() === lower || candidate.endsWith('.' + name) || name.endsWith('.' + candidate)) return `; did you mean \`${candidate}\`?`;
  }
  return '';
}
