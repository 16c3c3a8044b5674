import { describe, expect, it } from 'vitest';
import { writeChecked, type CheckedSink, type WrittenFile } from '../src/convert/write-checked.js';
import { writeTensors } from '../src/convert/write.js';
import { checkRange, MemorySource, originOf, WindowSource, type ByteSource, type SourceRange } from '../src/io/byte-source.js';
import { MemorySink } from '../src/io/byte-sink.js';
import { ReusedReadsSource } from '../src/io/reused-reads.js';
import { SafetensorsFile } from '../src/safetensors/reader.js';
import { SafetensorsStreamWriter } from '../src/safetensors/stream-writer.js';
import { BIT_EXACT, compareTensors } from '../src/tensor/compare-tensors.js';
import { safetensorsTensorSet } from '../src/tensor/safetensors-set.js';
import type { TensorEntry } from '../src/tensor/tensor-set.js';

/**
 * Tensors taken by reference (ByteSink.appendStored, TensorEntry.stored): the web page's output is
 * assembled from the dropped file's own bytes. These tests use an in-memory sink that takes
 * references as the page's OPFS sink does, and prove that the output is the plain writer's bytes, that
 * the check reads no tensor byte when the references are right, and that it catches a wrong one.
 */

/** A source that counts the bytes read from it (MemorySource.read reads through readSync). */
class CountingSource extends MemorySource {
  bytesRead = 0;
  override readSync(offset: number, length: number): Uint8Array {
    this.bytesRead += length;
    return super.readSync(offset, length);
  }
}

/** A "file" holding tensors back to back at 100, as a checkpoint's storages lie in its archive. */
function sourceFile(sizes: number[]): { file: CountingSource; entries: TensorEntry[] } {
  const total = 100 + sizes.reduce((a, b) => a + b, 0);
  const bytes = new Uint8Array(total);
  for (let i = 0; i < total; i++) bytes[i] = (i * 131 + (i >> 8)) & 255;
  const file = new CountingSource(bytes, 'checkpoint');
  let at = 100;
  const entries = sizes.map((n, i): TensorEntry => {
    const offset = at;
    at += n;
    // Seen through a window and a wrapper, as a zip member of a checkpoint opened by the page.
    const member = new WindowSource(new ReusedReadsSource(file), offset - 10, n + 10);
    return {
      name: `t${i}`,
      dtype: 'U8',
      shape: [n],
      byteLength: n,
      encoding: { layout: 'stored' },
      fidelity: 'exact',
      stored: { source: member, offset: 10 },
      async *chunks(chunkBytes = 1 << 20) {
        for (let p = 0; p < n; p += chunkBytes) yield await member.read(10 + p, Math.min(chunkBytes, n - p));
      },
    };
  });
  return { file, entries };
}

type Part = { start: number; length: number; own: Uint8Array } | { start: number; length: number; from: SourceRange };

/** The page's OPFS sink in memory: own bytes kept, bytes of `file` taken by reference (shifted by `skew` bytes, to make it wrong). */
class ReferenceSink implements CheckedSink {
  readonly name = 'out.safetensors';
  parts: Part[] = [];
  position = 0;
  reserved = 0;
  readonly rewrittenEnd = 0;
  constructor(
    private readonly takes: ByteSource,
    private readonly skew = 0,
    private readonly giveOrigin = true,
  ) {}
  write(chunk: Uint8Array): Promise<void> {
    this.parts.push({ start: this.position, length: chunk.byteLength, own: chunk.slice() });
    this.position += chunk.byteLength;
    return Promise.resolve();
  }
  appendStored(from: SourceRange, length: number): boolean {
    const origin = originOf(from.source, from.offset, length);
    if (origin.source !== this.takes) return false;
    this.parts.push({ start: this.position, length, from: { source: origin.source, offset: origin.offset + this.skew } });
    this.position += length;
    return true;
  }
  writeAt(): Promise<void> {
    return Promise.reject(new Error('not used'));
  }
  reserve(size: number): Promise<void> {
    this.reserved = size;
    return Promise.resolve();
  }
  get flushedEnd(): number {
    return this.position;
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  abort(): Promise<void> {
    return Promise.resolve();
  }
  /** The output as bytes (what the page's download holds). */
  async bytes(): Promise<Uint8Array> {
    return (await this.source()).read(0, this.position);
  }
  source(): ByteSource {
    const size = Math.max(this.reserved, this.position);
    const source: ByteSource = {
      name: this.name,
      size,
      read: async (offset, length) => {
        checkRange(source, offset, length);
        const out = new Uint8Array(length);
        for (const p of this.parts) {
          const from = Math.max(offset, p.start);
          const to = Math.min(offset + length, p.start + p.length);
          if (from >= to) continue;
          const bytes = 'own' in p ? p.own.subarray(from - p.start, to - p.start) : await p.from.source.read(p.from.offset + from - p.start, to - from);
          out.set(bytes, from - offset);
        }
        return out;
      },
      ...(this.giveOrigin
        ? {
            origin: (offset: number, length: number) => {
              const p = this.parts.find((q) => q.start <= offset && offset + length <= q.start + q.length);
              return p && 'from' in p ? { source: p.from.source, offset: p.from.offset + offset - p.start } : undefined;
            },
          }
        : {}),
    };
    return source;
  }
}

async function reopenOf(sink: ReferenceSink): Promise<WrittenFile> {
  const file = await SafetensorsFile.open(sink.source());
  return {
    tensors: safetensorsTensorSet(file),
    dataStart: file.header.dataStart,
    endOf: (name) => file.info(name).byteOffset + file.info(name).byteLength,
    close: () => file.close(),
  };
}

async function plainBytes(entries: TensorEntry[]): Promise<Uint8Array> {
  const sink = new MemorySink();
  await writeTensors(entries.map((e) => ({ ...e, stored: undefined })), sink);
  return sink.bytes;
}

describe('tensors taken by reference', () => {
  const sizes = [4096, 1, 0, 70_000, 3];

  it('the output is the bytes the plain writer writes, and its check reads no tensor byte', async () => {
    const { file, entries } = sourceFile(sizes);
    const expected = await plainBytes(entries);
    file.bytesRead = 0;
    const sink = new ReferenceSink(file);
    const checked = await writeChecked(entries, sink, entries, new Map(), () => reopenOf(sink));
    expect(checked.mismatches).toEqual([]);
    expect(file.bytesRead).toBe(0);
    // Every non-empty tensor was taken by reference: the sink holds only the header of its own.
    expect(sink.parts.filter((p) => 'from' in p).length).toBe(sizes.filter((n) => n > 0).length);
    expect(Buffer.from(await sink.bytes()).equals(Buffer.from(expected))).toBe(true);
  });

  it('a reference one byte off is caught: the bytes are then compared, and differ', async () => {
    const { file, entries } = sourceFile(sizes);
    const sink = new ReferenceSink(file, -1);
    const checked = await writeChecked(entries, sink, entries, new Map(), () => reopenOf(sink));
    expect(checked.mismatches.map((m) => m.name).sort()).toEqual(['t0', 't1', 't3', 't4']);
    expect(checked.mismatches[0]!.reason).toMatch(/bytes differ/);
  });

  it('an output that does not say where its bytes come from is compared byte by byte, and passes', async () => {
    const { file, entries } = sourceFile(sizes);
    file.bytesRead = 0;
    const sink = new ReferenceSink(file, 0, false);
    const checked = await writeChecked(entries, sink, entries, new Map(), () => reopenOf(sink));
    expect(checked.mismatches).toEqual([]);
    expect(file.bytesRead).toBeGreaterThanOrEqual(2 * sizes.reduce((a, b) => a + b, 0));
  });

  it('a sink that refuses a reference gets the bytes written', async () => {
    const { entries } = sourceFile(sizes);
    const sink = new ReferenceSink(new MemorySource(new Uint8Array(1)));
    const checked = await writeChecked(entries, sink, entries, new Map(), () => reopenOf(sink));
    expect(checked.mismatches).toEqual([]);
    expect(sink.parts.every((p) => 'own' in p)).toBe(true);
    expect(Buffer.from(await sink.bytes()).equals(Buffer.from(await plainBytes(entries)))).toBe(true);
  });

  it('the stream writer takes a reference only for the next tensor of a sequential sink', async () => {
    const { file, entries } = sourceFile([8, 8]);
    const positional = new MemorySink();
    const onPositional = await SafetensorsStreamWriter.create(Object.assign(positional, { appendStored: () => true }), entries);
    expect(await onPositional.appendStored('t0', entries[0]!.stored!)).toBe(false);
    const taking = new ReferenceSink(file);
    // Sequential: as writeChecked hands it to the writer (append only, no writeAt).
    const sink = { name: taking.name, write: (c: Uint8Array) => taking.write(c), close: () => taking.close(), abort: () => taking.abort(), appendStored: (f: SourceRange, n: number) => taking.appendStored(f, n) };
    const writer = await SafetensorsStreamWriter.create(sink, entries);
    expect(await writer.appendStored('t1', entries[1]!.stored!)).toBe(false);
    expect(await writer.appendStored('t0', entries[0]!.stored!)).toBe(true);
    expect(await writer.appendStored('t0', entries[0]!.stored!)).toBe(false);
  });
});

describe('originOf and the comparison of same-origin tensors', () => {
  const base = new CountingSource(new Uint8Array(64).map((_, i) => i), 'base');

  it('follows windows and wrappers to the source that holds the bytes', () => {
    const inner = new WindowSource(new ReusedReadsSource(new WindowSource(base, 8, 40)), 4, 20);
    expect(originOf(inner, 2, 10)).toEqual({ source: base, offset: 14 });
    expect(originOf(base, 3, 1)).toEqual({ source: base, offset: 3 });
  });

  it('refuses a range outside a source on the way', () => {
    const w = new WindowSource(base, 8, 40);
    expect(() => originOf(w, 30, 20)).toThrow(/outside/);
  });

  const tensor = (source: ByteSource, offset: number, n: number): TensorEntry => ({
    name: 'x',
    dtype: 'U8',
    shape: [n],
    byteLength: n,
    encoding: { layout: 'stored' },
    fidelity: 'exact',
    stored: { source, offset },
    async *chunks() {
      yield await source.read(offset, n);
    },
  });

  it('two tensors with the same origin are identical without a read', async () => {
    base.bytesRead = 0;
    const c = await compareTensors('x', tensor(new WindowSource(base, 10, 20), 2, 8), tensor(base, 12, 8), BIT_EXACT);
    expect(c.status).toBe('identical');
    expect(base.bytesRead).toBe(0);
  });

  it('tensors of other origins are read and compared', async () => {
    base.bytesRead = 0;
    const c = await compareTensors('x', tensor(base, 12, 8), tensor(base, 13, 8), BIT_EXACT, { valueStats: false });
    expect(c.status).toBe('different');
    expect(base.bytesRead).toBe(16);
    const copy = new MemorySource(base.bytes.slice(), 'copy');
    expect((await compareTensors('x', tensor(base, 12, 8), tensor(copy, 12, 8), BIT_EXACT)).status).toBe('identical');
  });
});
