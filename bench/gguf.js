// Benchmarks of GGUF dequantization (issue 11): for Q8_0, Q4_K and IQ4_XS (when tensor/ggml-blocks.ts
// decodes it), MB/s of F32 output against a plain read of the same file and against writing the same
// output bytes; `convert` of the quantized file against `convert` of an F32 GGUF of the same output
// size (the writing cost alone); decoding in worker threads against the main thread; and the peak
// RSS of converting a 2 GiB GGUF. The files are generated here (bench/gguf-file.js), never committed.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { commandPeakRss, compare, ensureTmp, fmtMB, fmtMs, ratio, verdict, ROOT } from './lib.js';
import { writeBenchGguf } from './gguf-file.js';

const { convertModel } = await import(path.join(ROOT, 'dist/node/convert.js'));
const { FileSource } = await import(path.join(ROOT, 'dist/node/file-source.js'));
const { ggufReader } = await import(path.join(ROOT, 'dist/formats/gguf/reader.js'));
const { GGML_BLOCK_FORMATS } = await import(path.join(ROOT, 'dist/tensor/ggml-blocks.js'));

/** Chunk size of the plain read and of the plain write: the reader's and writer's default. */
const CHUNK = 8 << 20;
/** Decoding workers measured: one per core but the main thread's. */
const workers = Math.max(1, os.availableParallelism() - 1);
const MBps = (bytes, ms) => `${((bytes / 2 ** 20) * 1000 / ms).toFixed(0)} MiB/s`;

/** Reads the whole file through user memory in CHUNK pieces: what any reader of the file must do. */
function plainRead(file) {
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafeSlow(CHUNK);
  try {
    let at = 0;
    for (let n; (n = fs.readSync(fd, buf, 0, CHUNK, at)) > 0; ) at += n;
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes `bytes` to `file` in CHUNK pieces (into the page cache, as convert writes; no fsync). */
function plainWrite(file, bytes) {
  const fd = fs.openSync(file, 'w');
  const buf = Buffer.alloc(CHUNK, 1);
  try {
    for (let at = 0; at < bytes; at += CHUNK) fs.writeSync(fd, buf, 0, Math.min(CHUNK, bytes - at), at);
  } finally {
    fs.closeSync(fd);
  }
}

/** Every tensor of the file through the GGUF reader (read and dequantized), the bytes dropped. */
async function dequantize(file, decoder) {
  const source = await FileSource.open(file);
  const { tensors } = await ggufReader.open(source, decoder ? { blockDecoder: decoder } : {});
  try {
    for (const t of tensors.tensors) for await (const _ of t.chunks()) void _;
  } finally {
    await tensors.close();
  }
}

export async function run({ sizeMiB = 512, runs = 5 } = {}) {
  const tmp = ensureTmp();
  const outputBytes = sizeMiB * 2 ** 20;
  const types = ['Q8_0', 'Q4_K', 'IQ4_XS'].filter((t) => GGML_BLOCK_FORMATS.has(t));
  const skipped = ['Q8_0', 'Q4_K', 'IQ4_XS'].filter((t) => !types.includes(t));
  const { DecodeWorkerPool } = await import(path.join(ROOT, 'dist/node/decode-workers.js')).catch(() => ({}));
  const rows = [];
  // On the disk (what users see; its writeback makes the writes vary a lot) and on tmpfs (no device:
  // the CPU cost of decoding against the kernel's cost of taking the same bytes).
  const shm = fs.existsSync('/dev/shm') ? fs.mkdtempSync('/dev/shm/tensorsafe-bench-') : null;
  const places = [['disk', tmp], ['tmpfs', shm]].filter(([, dir]) => dir);
  for (const [, dir] of places) writeBenchGguf(path.join(dir, 'f32.gguf'), { outputBytes, typeOf: () => 'F32' });
  try {
    for (const type of types) {
      for (const [where, dir] of places) {
        const f32 = path.join(dir, 'f32.gguf');
        const file = path.join(dir, `${type}.gguf`);
        const out = path.join(dir, 'gguf.safetensors');
        const written = path.join(dir, 'written.bin');
        const clean = () => {
          [out, written].forEach((f) => fs.rmSync(f, { force: true }));
          execFileSync('sync');
        };
        const count = writeBenchGguf(file, { outputBytes, typeOf: () => type });
        const size = fs.statSync(file).size;
        plainRead(file); // warm the page cache
        plainRead(f32);
        const what = `${fmtMB(size)} of ${type} (${count} tensors) → ${fmtMB(outputBytes)} of F32`;
        const [tRead, tDecode, tWrite] = await compare(runs, [() => plainRead(file), () => dequantize(file), () => plainWrite(written, outputBytes)], clean);
        if (where === 'disk') {
          rows.push([`${type}: dequantize (read + decode, main thread) vs a plain read of the file`, what, `${fmtMs(tDecode)} (${MBps(outputBytes, tDecode)} of F32) vs ${fmtMs(tRead)} (${MBps(size, tRead)})`, ratio(tDecode / tRead), 'for reference']);
        }
        rows.push([`${type}: dequantize vs writing its F32 output (${where})`, `the same ${fmtMB(outputBytes)} written in 8 MiB pieces (no fsync, as convert)`, `${fmtMs(tDecode)} vs ${fmtMs(tWrite)} (${MBps(outputBytes, tWrite)})`, ratio(tDecode / tWrite), verdict(tDecode / tWrite, 1)]);
        if (DecodeWorkerPool && where === 'disk') {
          const pool = new DecodeWorkerPool();
          try {
            await pool.start();
            const [tMain, tPool] = await compare(runs, [() => dequantize(file), () => dequantize(file, pool)]);
            rows.push([`${type}: dequantize in ${pool.parallelism} worker thread${pool.parallelism > 1 ? "s" : ""} vs the main thread`, `${pool.parallelism} chunk${pool.parallelism > 1 ? "s" : ""} of 8 MiB read and decoded ahead, yielded in order`, `${fmtMs(tPool)} (${MBps(outputBytes, tPool)} of F32) vs ${fmtMs(tMain)}`, ratio(tPool / tMain), 'for reference']);
          } finally {
            await pool.close();
          }
        }
        const convert = (src, decodeWorkers) => () => convertModel(src, { output: out, force: true, ...(decodeWorkers === undefined ? {} : { decodeWorkers }) });
        const fns = [convert(file), convert(f32)];
        if (DecodeWorkerPool) fns.push(convert(file, workers));
        const [tConvert, tF32, tWorkers] = await compare(runs, fns, clean);
        rows.push([`${type}: \`convert\` (write + verify) vs converting an F32 GGUF of the same output (${where})`, `${what}; vs ${fmtMB(fs.statSync(f32).size)} F32 GGUF`, `${fmtMs(tConvert)} vs ${fmtMs(tF32)}`, ratio(tConvert / tF32), verdict(tConvert / tF32, 1.2)]);
        if (tWorkers !== undefined) {
          rows.push([`${type}: \`convert\` with \`decodeWorkers: ${workers}\` vs without (the default) (${where})`, 'the same file and output; the worker started by each conversion', `${fmtMs(tWorkers)} vs ${fmtMs(tConvert)}`, ratio(tWorkers / tConvert), 'for reference: ≤ 1 would make workers the default']);
        }
        clean();
        fs.rmSync(file, { force: true });
      }
    }
  } finally {
    for (const [, dir] of places) fs.rmSync(path.join(dir, 'f32.gguf'), { force: true });
    if (shm) fs.rmSync(shm, { recursive: true, force: true });
  }
  if (skipped.length > 0) rows.push([`${skipped.join(', ')}`, 'no decoder in tensor/ggml-blocks.ts in this build', '–', '–', '–']);
  rows.push(...rssRows(tmp, sizeMiB));
  return ['## GGUF dequantization', '', '| benchmark | input | time / size | ratio | target |', '|---|---|---|---|---|', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/**
 * Peak RSS of `tensorsafe convert` (the command, in a fresh process) of a 2 GiB GGUF of Q8_0 and F16
 * tensors (one of each in turn: 2 GiB of Q8_0 alone would make 7.5 GiB of output), and of one ¼ its
 * size: memory must not grow with the model.
 */
function rssRows(tmp, sizeMiB) {
  const fileMiB = sizeMiB >= 512 ? 2048 : sizeMiB;
  const big = path.join(tmp, 'big.gguf');
  const small = path.join(tmp, 'small.gguf');
  const out = path.join(tmp, 'big.safetensors');
  // Tensors of 16 Mi elements, Q8_0 and F16 in turn: a pair is 17 + 32 MiB of file (writeBenchGguf
  // counts every tensor as 64 MiB of F32 output; F16 tensors are in fact kept F16).
  const typeOf = (i) => (i % 2 === 0 ? 'Q8_0' : 'F16');
  const write = (file, mib) => writeBenchGguf(file, { outputBytes: Math.max(1, Math.round(mib / 49)) * 2 * (64 << 20), tensorElements: 16 << 20, typeOf });
  write(big, fileMiB);
  write(small, fileMiB / 4);
  const bin = path.join(ROOT, 'bin/tensorsafe.js');
  const rssOf = (file) => {
    const r = commandPeakRss(process.execPath, [bin, 'convert', file, '-o', out, '--force']);
    if (r.code !== 0) throw new Error(`tensorsafe convert ${file} exited with ${r.code}`);
    fs.rmSync(out, { force: true });
    return r.rss;
  };
  const rss = rssOf(big);
  const rssSmall = rssOf(small);
  const size = fs.statSync(big).size;
  fs.rmSync(big, { force: true });
  fs.rmSync(small, { force: true });
  return [
    [
      'peak RSS of `tensorsafe convert` (CLI) of a GGUF',
      `${fmtMB(size)} GGUF, Q8_0 and F16 tensors of 16 Mi elements in turn, vs one ¼ its size (${fmtMB(rssSmall)})`,
      fmtMB(rss),
      `${(rss / rssSmall).toFixed(2)}× the small one's`,
      rss <= 256 * 2 ** 20 ? '✅ ≤ 256 MiB' : '❌ > 256 MiB',
    ],
  ];
}
