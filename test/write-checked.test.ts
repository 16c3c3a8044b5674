import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeChecked, type CheckedSink, type WrittenFile } from '../src/convert/write-checked.js';
import { FileSink } from '../src/node/file-sink.js';
import { FileSource } from '../src/node/file-source.js';
import { SafetensorsFile } from '../src/safetensors/reader.js';
import { safetensorsTensorSet } from '../src/tensor/safetensors-set.js';
import type { TensorEntry } from '../src/tensor/tensor-set.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tensorsafe-write-checked-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const MiB = 1 << 20;

/** A U8 tensor from memory, in chunks as a checkpoint reader gives them. */
function entry(name: string, bytes: Uint8Array): TensorEntry {
  return {
    name,
    dtype: 'U8',
    shape: [bytes.length],
    byteLength: bytes.length,
    encoding: { layout: 'stored' },
    fidelity: 'exact',
    async *chunks(chunkBytes = MiB) {
      for (let at = 0; at < bytes.length; at += chunkBytes) yield bytes.subarray(at, Math.min(bytes.length, at + chunkBytes));
    },
  };
}

function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7 + (i >> 9)) & 255;
  return b;
}

async function reopen(temp: string): Promise<WrittenFile> {
  const file = await SafetensorsFile.open(await FileSource.open(temp));
  return {
    tensors: safetensorsTensorSet(file),
    dataStart: file.header.dataStart,
    endOf: (name) => file.info(name).byteOffset + file.info(name).byteLength,
    close: () => file.close(),
  };
}

/** A FileSink seen through `change`, which may alter what reaches the file. */
function faulty(sink: FileSink, change: { write?: (chunk: Uint8Array, n: number) => Uint8Array | undefined; beforeClose?: () => Promise<void> }): CheckedSink {
  let n = 0;
  return {
    name: sink.name,
    write: async (chunk) => {
      const out = change.write ? change.write(chunk, n++) : chunk;
      if (out) await sink.write(out);
    },
    close: async () => {
      await change.beforeClose?.();
      await sink.close();
    },
    abort: () => sink.abort(),
    writeAt: (chunk, position) => sink.writeAt(chunk, position),
    reserve: (size) => sink.reserve(size),
    get flushedEnd() {
      return sink.flushedEnd;
    },
    get rewrittenEnd() {
      return sink.rewrittenEnd;
    },
  };
}

async function run(entries: TensorEntry[], wrap: (s: FileSink) => CheckedSink = (s) => s) {
  const sink = await FileSink.create(path.join(tmp, 'out.safetensors'), { deferCommit: true, overwrite: true });
  try {
    return (await writeChecked(entries, wrap(sink), entries, new Map(), () => reopen(sink.tempPath), { chunkBytes: MiB })).mismatches;
  } finally {
    await sink.abort();
  }
}

// Tensors of several MiB, so that checks run while later tensors are still being written.
const big = [entry('a', pattern(3 * MiB, 1)), entry('b', pattern(2 * MiB + 5, 2)), entry('c', pattern(4 * MiB, 3)), entry('d', pattern(100, 4))];

describe('writeChecked: the output is checked while it is written, with the same proof', () => {
  it('an exact output has no mismatch', async () => {
    expect(await run(big)).toEqual([]);
    expect(fs.readdirSync(tmp)).toEqual([]);
  });

  it('bytes changed on their way to the file are found (the output is read back, not trusted)', async () => {
    const mismatches = await run(big, (s) =>
      faulty(s, {
        write: (chunk, n) => {
          if (n !== 3) return chunk;
          const copy = chunk.slice();
          copy[1000] = copy[1000]! ^ 1;
          return copy;
        },
      }),
    );
    expect(mismatches).toHaveLength(1);
    expect(mismatches[0]!.reason).toMatch(/bytes differ from byte/);
  });

  it('a tensor the writer believes written but that never reached the file is found, even if it is zeros', async () => {
    const zeros = [entry('a', pattern(2 * MiB, 1)), entry('z', new Uint8Array(2 * MiB))];
    // Chunk 0 is the header; then a's two chunks; z's chunks are dropped.
    const mismatches = await run(zeros, (s) => faulty(s, { write: (chunk, n) => (n >= 3 ? undefined : chunk) }));
    expect(mismatches.map((m) => m.reason)).toEqual([expect.stringMatching(/bytes were written, the header plans/)]);
  });

  it('a write into the data after it was checked makes the whole file be checked again', async () => {
    let sink: FileSink | undefined;
    const mismatches = await run(big, (s) => {
      sink = s;
      return faulty(s, {
        beforeClose: async () => {
          const f = await reopen(s.tempPath);
          const at = f.endOf('a') - 10;
          await f.close();
          await sink!.writeAt(new Uint8Array([0xee]), at);
        },
      });
    });
    expect(mismatches.map((m) => m.name)).toEqual(['a']);
  });

  it('a header rewritten with the same layout keeps the checks', async () => {
    const mismatches = await run(big, (s) =>
      faulty(s, {
        beforeClose: async () => {
          const header = fs.readFileSync(s.tempPath).subarray(0, 8 + 64);
          await s.writeAt(header, 0);
        },
      }),
    );
    expect(mismatches).toEqual([]);
  });
});
