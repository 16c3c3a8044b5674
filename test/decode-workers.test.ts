import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { MemorySource } from '../src/io/byte-source.js';
import { TensorsafeError } from '../src/errors.js';
import { ggufReader } from '../src/formats/gguf/reader.js';
import type { BlockDecoder } from '../src/tensor/block-decoder.js';
import { GGML_BLOCK_FORMATS } from '../src/tensor/ggml-blocks.js';
import { ROOT } from './helpers/paths.js';
import { tempDir } from './helpers/temp.js';

/**
 * Decoding GGUF blocks with a BlockDecoder (read ahead, decoded elsewhere, yielded in order) and the
 * worker-thread pool that implements it in Node (src/node/decode-workers.ts, tested built: its worker
 * is a file of dist/).
 */

const TYPE_IDS: Record<string, number> = { F32: 0, Q8_0: 8, Q4_K: 12 };

/** A GGUF v3 file of one tensor per entry: `type`, `ne` (innermost first) and its data bytes. */
function gguf(tensors: { name: string; type: string; ne: number[]; data: Uint8Array }[]): Uint8Array {
  const parts: Buffer[] = [];
  const u32 = (v: number): void => void parts.push(Buffer.from(new Uint32Array([v]).buffer));
  const u64 = (v: number): void => void parts.push(Buffer.from(new BigUint64Array([BigInt(v)]).buffer));
  const str = (s: string): void => {
    u64(Buffer.byteLength(s));
    parts.push(Buffer.from(s));
  };
  parts.push(Buffer.from('GGUF'));
  u32(3);
  u64(tensors.length);
  u64(0);
  let offset = 0;
  const offsets: number[] = [];
  for (const t of tensors) {
    str(t.name);
    u32(t.ne.length);
    t.ne.forEach(u64);
    u32(TYPE_IDS[t.type]!);
    u64(offset);
    offsets.push(offset);
    offset += Math.ceil(t.data.byteLength / 32) * 32;
  }
  const head = Buffer.concat(parts);
  const start = Math.ceil(head.byteLength / 32) * 32;
  const out = new Uint8Array(start + offset);
  out.set(head);
  tensors.forEach((t, i) => out.set(t.data, start + offsets[i]!));
  return out;
}

/** Blocks of `type` from a seeded generator, every f16 scale finite (the scales' exponent bits kept below 0x7c00). */
function blocks(type: string, count: number, seed: number): Uint8Array {
  const f = GGML_BLOCK_FORMATS.get(type)!;
  const b = new Uint8Array(count * f.bytes);
  let x = seed;
  for (let i = 0; i < b.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  const scales = type === 'Q4_K' ? [1, 3] : [1]; // the high byte of each f16 scale
  for (let p = 0; p < b.length; p += f.bytes) for (const s of scales) b[p + s] = b[p + s]! & 0x3b;
  return b;
}

const MODEL = gguf([
  { name: 'a', type: 'Q8_0', ne: [256, 40], data: blocks('Q8_0', 320, 1) },
  { name: 'b', type: 'Q4_K', ne: [512, 9], data: blocks('Q4_K', 18, 2) },
  { name: 'c', type: 'F32', ne: [8], data: new Uint8Array(32).fill(7) },
]);

/** Each tensor's bytes, read in chunks of `chunkBytes` and concatenated. */
async function readAll(decoder: BlockDecoder | undefined, chunkBytes = 4096): Promise<Map<string, Uint8Array>> {
  const { tensors } = await ggufReader.open!(new MemorySource(MODEL, 'model.gguf'), decoder ? { blockDecoder: decoder } : {});
  const out = new Map<string, Uint8Array>();
  for (const t of tensors.tensors) {
    const parts: Uint8Array[] = [];
    for await (const c of t.chunks(chunkBytes)) parts.push(c.slice());
    out.set(t.name, Buffer.concat(parts));
  }
  return out;
}

/** A BlockDecoder on this thread that answers after random delays (out of order), counting what is in flight. */
function slowDecoder(parallelism: number, fail?: (call: number) => Error | undefined) {
  const state = { inFlight: 0, most: 0, calls: 0, settled: 0 };
  const decoder: BlockDecoder = {
    parallelism,
    async decode(typeName, src, count, out) {
      const call = state.calls++;
      state.inFlight++;
      state.most = Math.max(state.most, state.inFlight);
      try {
        await new Promise((r) => setTimeout(r, (call * 7919) % 5));
        const e = fail?.(call);
        if (e) throw e;
        GGML_BLOCK_FORMATS.get(typeName)!.decode(src, count, out);
        return { src, out };
      } finally {
        state.inFlight--;
        state.settled++;
      }
    },
  };
  return { decoder, state };
}

describe('GGUF decoding with a BlockDecoder', () => {
  it('yields the same bytes as decoding in place, in order, with at most `parallelism` chunks in flight', async () => {
    const want = await readAll(undefined);
    for (const parallelism of [1, 3]) {
      const { decoder, state } = slowDecoder(parallelism);
      const got = await readAll(decoder);
      expect([...got.keys()]).toEqual(['a', 'b', 'c']);
      for (const [name, bytes] of want) expect(Buffer.compare(got.get(name)!, bytes), name).toBe(0);
      // Tensor a is 10 chunks of 4 KiB of output, b 5 of 4 blocks: the read-ahead fills up to its bound, and never past it.
      expect(state.most).toBe(parallelism);
      expect(state.calls).toBe(10 + 5);
    }
  });

  it('reuses its buffers: a chunk stays valid until the next is asked for, and chunks larger than a read are split', async () => {
    const want = await readAll(undefined, 1 << 20);
    const got = await readAll(slowDecoder(2).decoder, 1 << 20);
    for (const [name, bytes] of want) expect(Buffer.compare(got.get(name)!, bytes), name).toBe(0);
  });

  it("a decoder's coded error fails the iteration with that code, and nothing is left running", async () => {
    const { decoder, state } = slowDecoder(3, (call) => (call === 2 ? new TensorsafeError('InternalError', 'decoder broke on chunk 2') : undefined));
    await expect(readAll(decoder)).rejects.toMatchObject({ code: 'InternalError', message: 'decoder broke on chunk 2' });
    expect(state.settled).toBe(state.calls);
  });

  it('a caller that stops early leaves no decode running', async () => {
    const { decoder, state } = slowDecoder(3);
    const { tensors } = await ggufReader.open!(new MemorySource(MODEL, 'model.gguf'), { blockDecoder: decoder });
    for await (const _ of tensors.tensors[0]!.chunks(4096)) break;
    expect(state.calls).toBeGreaterThan(1);
    expect(state.settled).toBe(state.calls);
  });
});

describe('DecodeWorkerPool (built: dist/node/decode-workers.js)', () => {
  const dist = (f: string): string => JSON.stringify(path.join(ROOT, 'dist', f));
  // Run in a child process: the workers load dist/, which vitest's module runner does not serve.
  const run = (body: string): { status: number | null; stdout: string; stderr: string } =>
    spawnSync(process.execPath, ['--input-type=module', '-e', `const { DecodeWorkerPool } = await import(${dist('node/decode-workers.js')});\nconst { GGML_BLOCK_FORMATS } = await import(${dist('tensor/ggml-blocks.js')});\n${body}`], { cwd: ROOT, encoding: 'utf8' });

  it('decodes bit for bit as on this thread, gives both buffers back, and reports errors in a worker as coded errors', () => {
    const q8 = Buffer.from(blocks('Q8_0', 64, 3)).toString('base64');
    const r = run(`
      const src = new Uint8Array(Buffer.from(${JSON.stringify(q8)}, 'base64'));
      const want = new Float32Array(64 * 32);
      GGML_BLOCK_FORMATS.get('Q8_0').decode(src, 64, want);
      const pool = new DecodeWorkerPool(2);
      const results = {};
      const given = new Uint8Array(src);
      // Before the workers have started, chunks are decoded on this thread; after, in the workers.
      results.before = Buffer.compare(Buffer.from((await pool.decode('Q8_0', new Uint8Array(src), 64, new Float32Array(64 * 32))).out.buffer), Buffer.from(want.buffer)) === 0;
      await pool.start();
      const done = await Promise.all([0, 1, 2, 3].map(() => pool.decode('Q8_0', new Uint8Array(src), 64, new Float32Array(64 * 32))));
      results.equal = done.every((d) => Buffer.compare(Buffer.from(d.out.buffer), Buffer.from(want.buffer)) === 0 && Buffer.compare(d.src, given) === 0);
      const mine = new Uint8Array(src);
      const p = pool.decode('Q8_0', mine, 64, new Float32Array(64 * 32));
      results.transferred = mine.byteLength === 0;
      await p;
      const code = (e) => ({ code: e.code, isCoded: e.constructor.name === 'TensorsafeError', message: e.message });
      results.unknown = await pool.decode('Q9_9', new Uint8Array(34), 1, new Float32Array(32)).then(() => 'resolved', code);
      results.short = await pool.decode('Q8_0', new Uint8Array(34), 2, new Float32Array(64)).then(() => 'resolved', code);
      results.after = (await pool.decode('Q8_0', new Uint8Array(src), 64, new Float32Array(64 * 32))).out[5] === want[5];
      const pending = pool.decode('Q8_0', new Uint8Array(src), 64, new Float32Array(64 * 32)).then(() => 'resolved', code);
      await pool.close();
      results.closed = await pending;
      results.afterClose = await pool.decode('Q8_0', new Uint8Array(34), 1, new Float32Array(32)).then(() => 'resolved', code);
      console.log(JSON.stringify(results));`);
    expect(r.stderr).toBe('');
    const results = JSON.parse(r.stdout);
    expect(results.before).toBe(true);
    expect(results.equal).toBe(true);
    expect(results.transferred).toBe(true);
    expect(results.unknown).toMatchObject({ code: 'InternalError', isCoded: true, message: expect.stringContaining('Q9_9') });
    expect(results.short).toMatchObject({ code: 'InternalError', isCoded: true, message: expect.stringContaining('34 bytes') });
    expect(results.after).toBe(true);
    // A decode pending at close either finished first or failed as Aborted; after close every decode fails so.
    expect(results.closed === 'resolved' || results.closed.code === 'Aborted').toBe(true);
    expect(results.afterClose).toMatchObject({ code: 'Aborted', isCoded: true });
  });

  it('a worker that dies fails its pending decodes with a coded error, and the pool starts another', () => {
    const r = run(`
      const { Worker } = await import('node:worker_threads');
      const pool = new DecodeWorkerPool(1);
      const src = new Uint8Array(34);
      await pool.start();
      const pending = pool.decode('Q8_0', new Uint8Array(34), 1, new Float32Array(32));
      // The pool's only worker, ended from outside (as a crash would end it).
      const worker = pool.lanes[0].worker;
      worker.ref();
      await worker.terminate();
      const failed = await pending.then(() => 'resolved', (e) => ({ code: e.code, message: e.message }));
      const again = (await pool.decode('Q8_0', src, 1, new Float32Array(32))).out.length;
      await pool.close();
      console.log(JSON.stringify({ failed, again }));`);
    expect(r.stderr).toBe('');
    const { failed, again } = JSON.parse(r.stdout);
    // The reply may have been sent before the worker ended: then the decode simply succeeded.
    if (failed !== 'resolved') expect(failed).toMatchObject({ code: 'InternalError', message: expect.stringContaining('exited') });
    expect(again).toBe(32);
  });

  it('the GGUF reader with started workers yields what it yields decoding in place', () => {
    const dir = tempDir('decode-workers');
    const model = path.join(dir, 'model.gguf');
    fs.writeFileSync(model, MODEL);
    const r = run(`
      const { FileSource } = await import(${dist('node/file-source.js')});
      const { ggufReader } = await import(${dist('formats/gguf/reader.js')});
      const read = async (options) => {
        const { tensors } = await ggufReader.open(await FileSource.open(${JSON.stringify(model)}), options);
        const parts = [];
        for (const t of tensors.tensors) for await (const c of t.chunks(4096)) parts.push(Buffer.from(c));
        await tensors.close();
        return Buffer.concat(parts);
      };
      const pool = new DecodeWorkerPool(2);
      await pool.start();
      let sent = 0;
      const counting = { parallelism: pool.parallelism, decode: (...a) => (sent++, pool.decode(...a)) };
      const [here, there] = [await read({}), await read({ blockDecoder: counting })];
      await pool.close();
      console.log(JSON.stringify({ equal: Buffer.compare(here, there) === 0, bytes: here.length, sent }));`);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ equal: true, bytes: 256 * 40 * 4 + 512 * 9 * 4 + 32, sent: 15 });
  });

  it('convert of a GGUF with decoding workers writes what it writes without them', () => {
    const dir = tempDir('decode-workers');
    const model = path.join(dir, 'model.gguf');
    fs.writeFileSync(model, MODEL);
    const r = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { convertModel } = await import(${dist('node/convert.js')});
         const a = await convertModel(${JSON.stringify(model)}, { output: ${JSON.stringify(path.join(dir, 'a.safetensors'))}, decodeWorkers: 2 });
         const b = await convertModel(${JSON.stringify(model)}, { output: ${JSON.stringify(path.join(dir, 'b.safetensors'))}, decodeWorkers: 0 });
         console.log(JSON.stringify([a.verified, b.verified]));`,
      ],
      { cwd: ROOT, encoding: 'utf8' },
    );
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual([true, true]);
    const data = (f: string): Buffer => {
      const b = fs.readFileSync(path.join(dir, f));
      return b.subarray(8 + Number(b.readBigUInt64LE(0)));
    };
    expect(Buffer.compare(data('a.safetensors'), data('b.safetensors'))).toBe(0);
    expect(data('a.safetensors').byteLength).toBe(256 * 40 * 4 + 512 * 9 * 4 + 32);
  });
});
