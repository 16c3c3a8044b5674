import { SafetensorError } from '../errors.js';
import { bytesOf } from '../dtype/tensor.js';
import type { ByteSink } from '../io/byte-sink.js';
import type { SourceRange } from '../io/byte-source.js';
import { planLayout, type Metadata, type SafetensorsLayout, type TensorPlacement, type TensorSpec } from './layout.js';

export interface StreamWriterOptions {
  metadata?: Metadata | null;
}

type Chunks = ArrayBufferView | Iterable<ArrayBufferView> | AsyncIterable<ArrayBufferView>;

/**
 * Writes a safetensors file whose tensors arrive one after another, in chunks, so that a
 * file larger than memory can be written: all specs first (the header needs every shape),
 * then the bytes. On a sequential sink tensors must come in file order (`order`); on a
 * positional sink (memory, files) in any order. Any misuse aborts the sink, so nothing
 * partial is ever committed.
 */
export class SafetensorsStreamWriter {
  private readonly written: number[];
  private readonly index: Map<string, number>;
  private cursor = 0;
  private state: 'open' | 'closed' | 'aborted' = 'open';

  private constructor(
    private readonly sink: ByteSink,
    readonly layout: SafetensorsLayout,
  ) {
    this.written = layout.tensors.map(() => 0);
    this.index = new Map(layout.tensors.map((t, i) => [t.name, i]));
    this.skipEmpty();
  }

  /** Plans the file, writes its header to the sink and returns the writer. */
  static async create(sink: ByteSink, specs: Iterable<TensorSpec>, options: StreamWriterOptions = {}): Promise<SafetensorsStreamWriter> {
    let layout: SafetensorsLayout;
    try {
      layout = planLayout(specs, options.metadata);
      await sink.write(layout.header);
    } catch (e) {
      await sink.abort();
      throw e;
    }
    return new SafetensorsStreamWriter(sink, layout);
  }

  /** Tensor names in the order they sit in the file. */
  get order(): string[] {
    return this.layout.tensors.map((t) => t.name);
  }

  /** Appends a chunk of tensor `name`'s bytes (any typed array; its raw bytes are written). */
  async write(name: string, chunk: ArrayBufferView): Promise<void> {
    this.checkOpen();
    const i = this.index.get(name);
    if (i === undefined) {
      return this.fail(new SafetensorError('TensorNotFound', `tensor \`${name}\` was not among the specs given to the writer`, { location: `tensor ${name}` }));
    }
    const t = this.layout.tensors[i]!;
    const bytes = bytesOf(chunk);
    const done = this.written[i]!;
    if (done + bytes.byteLength > t.byteLength) {
      return this.fail(
        new SafetensorError('WriteOverflow', `tensor \`${name}\` takes ${t.byteLength} bytes, but ${done + bytes.byteLength} were written to it`, {
          location: `tensor ${name}`,
        }),
      );
    }
    try {
      if (this.sink.writeAt) {
        await this.sink.writeAt(bytes, t.byteOffset + done);
      } else {
        if (i !== this.cursor) {
          const expected = this.layout.tensors[this.cursor]?.name;
          return this.fail(
            new SafetensorError(
              'WriteOrder',
              `tensor \`${name}\` was written while \`${expected}\` is incomplete; this sink is sequential, so tensors must come in file order`,
              { location: `tensor ${name}` },
            ),
          );
        }
        await this.sink.write(bytes);
      }
    } catch (e) {
      return this.fail(e);
    }
    this.written[i] = done + bytes.byteLength;
    this.skipEmpty();
  }

  /**
   * Appends the whole of tensor `name` by reference to bytes that hold it as it is (`from`), when the
   * sink takes such references (ByteSink.appendStored) and the tensor is next in the file; returns
   * false, having written nothing, otherwise: the caller then writes its bytes.
   */
  async appendStored(name: string, from: SourceRange): Promise<boolean> {
    this.checkOpen();
    const i = this.index.get(name);
    if (i === undefined || i !== this.cursor || this.written[i] !== 0 || this.sink.writeAt || !this.sink.appendStored) return false;
    const t = this.layout.tensors[i]!;
    let taken: boolean;
    try {
      taken = this.sink.appendStored(from, t.byteLength);
    } catch (e) {
      return this.fail(e);
    }
    if (!taken) return false;
    this.written[i] = t.byteLength;
    this.skipEmpty();
    return true;
  }

  /** Writes a whole tensor from one array or from an (async) iterable of chunks. */
  async writeTensor(name: string, data: Chunks): Promise<void> {
    if (ArrayBuffer.isView(data)) return this.write(name, data);
    for await (const chunk of data as AsyncIterable<ArrayBufferView>) await this.write(name, chunk);
  }

  /** Checks that every tensor is complete and commits the sink (renames a file into place). */
  async close(): Promise<void> {
    this.checkOpen();
    const missing = this.layout.tensors.filter((t, i) => this.written[i] !== t.byteLength);
    if (missing.length > 0) {
      const first = missing[0]!;
      return this.fail(
        new SafetensorError(
          'IncompleteWrite',
          `${missing.length} tensor(s) incomplete, first \`${first.name}\`: ${this.written[this.index.get(first.name)!]} of ${first.byteLength} bytes written; nothing was saved`,
          { location: `tensor ${first.name}` },
        ),
      );
    }
    try {
      await this.sink.close();
      this.state = 'closed';
    } catch (e) {
      return this.fail(e);
    }
  }

  /** Discards everything written. */
  async abort(): Promise<void> {
    if (this.state === 'open') this.state = 'aborted';
    await this.sink.abort();
  }

  /** Placement of a tensor in the file. */
  placement(name: string): TensorPlacement | undefined {
    const i = this.index.get(name);
    return i === undefined ? undefined : this.layout.tensors[i];
  }

  private skipEmpty(): void {
    const ts = this.layout.tensors;
    while (this.cursor < ts.length && this.written[this.cursor] === ts[this.cursor]!.byteLength) this.cursor++;
  }

  private checkOpen(): void {
    if (this.state !== 'open') throw new SafetensorError('Closed', `the writer is ${this.state}`);
  }

  private async fail(error: unknown): Promise<never> {
    this.state = 'aborted';
    await this.sink.abort().catch(() => undefined);
    throw error;
  }
}
