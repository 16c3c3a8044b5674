// Benchmarks of the PyTorch converter (issue 3): converting a large zip checkpoint against copying
// the same file, its peak memory, and torch.load of the same file where python3-torch is installed.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { pipeline } from 'node:stream/promises';
import { commandPeakRss, compare, ensureTmp, fmtMB, fmtMs, median, peakRss, ratio, spread, timings, verdict, ROOT } from './lib.js';
import { writeTorchCheckpoint } from './torch-checkpoint.js';

const { convertCheckpoint } = await import(path.join(ROOT, 'dist/node/convert.js'));
const TORCH_PYTHON = '/usr/bin/python3';

function torchAvailable() {
  try {
    execFileSync(TORCH_PYTHON, ['-c', 'import torch'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export async function run({ sizeMiB = 640, runs = 5 } = {}) {
  const tmp = ensureTmp();
  const rows = [];
  let src = '';
  let out = '';
  let tCopy = 0;
  // On the disk (what users see) and on tmpfs (no device: the converter's own cost against the kernel's copy).
  for (const [where, dir] of [['disk', tmp], ['tmpfs', fs.existsSync('/dev/shm') ? fs.mkdtempSync('/dev/shm/tensorsafe-bench-') : null]]) {
    if (!dir) continue;
    src = path.join(dir, 'pytorch_model.bin');
    const count = writeTorchCheckpoint(src, sizeMiB * 2 ** 20);
    const size = fs.statSync(src).size;
    const copyTo = path.join(dir, 'copy.bin');
    out = path.join(dir, 'model.safetensors');
    // Before every run: remove the outputs and flush dirty pages, so that neither side pays for the
    // other's writeback.
    const clean = () => {
      [copyTo, out].forEach((f) => fs.rmSync(f, { force: true }));
      execFileSync('sync');
    };
    fs.readFileSync(src); // warm the page cache
    const streamCopy = () => pipeline(fs.createReadStream(src, { highWaterMark: 8 << 20 }), fs.createWriteStream(copyTo));
    const [copy, streamed, convert] = await compare(runs, [() => fs.copyFileSync(src, copyTo), streamCopy, () => convertCheckpoint(src, { output: out, force: true })], clean);
    clean();
    if (where === 'disk') tCopy = copy;

    rows.push([
      `convert vs \`fs.copyFileSync\` of the same file (${where})`,
      `${fmtMB(size)} zip checkpoint, ${count} tensors`,
      `${fmtMs(convert)} vs ${fmtMs(copy)}`,
      ratio(convert / copy),
      // On tmpfs nothing waits for a device: this shows the cost of convert's four passes over the data
      // (read, write, and reading both back to verify) against the kernel's single in-memory copy.
      where === 'disk' ? verdict(convert / copy, 1.5) : 'for reference',
    ]);
    rows.push([
      `convert vs a streamed copy (${where})`,
      'the same bytes through user memory (read stream piped to a write stream), as any converter moves them',
      `${fmtMs(convert)} vs ${fmtMs(streamed)}`,
      ratio(convert / streamed),
      'for reference',
    ]);
    if (where === 'tmpfs') fs.rmSync(dir, { recursive: true, force: true });
  }
  src = path.join(tmp, 'pytorch_model.bin');
  out = path.join(tmp, 'model.safetensors');
  const clean = () => fs.rmSync(out, { force: true });
  // Peak RSS in a fresh process, for this checkpoint and one a quarter of its size: it must not grow with the model.
  const small = path.join(tmp, 'small.bin');
  writeTorchCheckpoint(small, (sizeMiB / 4) * 2 ** 20);
  const rssOf = (file) =>
    peakRss(
      `const { convertCheckpoint } = await import(${JSON.stringify(path.join(ROOT, 'dist/node/convert.js'))});
       await convertCheckpoint(${JSON.stringify(file)}, { output: ${JSON.stringify(out)}, force: true });`,
    ).rss;
  const rss = rssOf(src);
  clean();
  const rssSmall = rssOf(small);
  clean();
  fs.rmSync(small, { force: true });
  rows.push([
    'peak RSS of convert',
    `fresh process: ${fmtMB(fs.statSync(src).size)} checkpoint vs one ¼ its size (${fmtMB(rssSmall)})`,
    fmtMB(rss),
    `${(rss / rssSmall).toFixed(2)}× the small one's`,
    rss <= 256 * 2 ** 20 ? '✅ ≤ 256 MiB' : '❌ > 256 MiB',
  ]);
  rows.push(...(await cliRows(tmp, Math.round((sizeMiB * 500) / 640))));
  if (torchAvailable()) {
    const script = `import sys, time, torch
t = time.perf_counter(); sd = torch.load(sys.argv[1], map_location='cpu', weights_only=True); t = time.perf_counter() - t
print(t * 1000)`;
    const times = [];
    for (let i = 0; i < runs; i++) times.push(Number(execFileSync(TORCH_PYTHON, ['-c', script, src], { encoding: 'utf8' }).trim()));
    const tTorch = times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
    rows.push(['`torch.load` (python3-torch, weights_only) of the same file, for comparison', `torch ${execFileSync(TORCH_PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' }).trim()}; runs the pickle, loads into memory, writes nothing`, `${fmtMs(tTorch)} vs copy ${fmtMs(tCopy)}`, ratio(tTorch / tCopy), '–']);
  } else {
    rows.push(['`torch.load` of the same file', 'python3-torch not installed', '–', '–', '–']);
  }
  fs.rmSync(src, { force: true });
  return ['## PyTorch conversion', '', '| benchmark | input | time / size | ratio | target |', '|---|---|---|---|---|', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/**
 * What a user sees: `tensorsafe convert` as a command (node start-up, module loading, scan, parse,
 * write, check, commit) against `dd` copying the same file, each into a fresh output, after `sync`.
 */
async function cliRows(tmp, sizeMiB) {
  const src = path.join(tmp, 'cli.pt');
  const small = path.join(tmp, 'cli-small.pt');
  const out = path.join(tmp, 'cli.safetensors');
  const ddOut = path.join(tmp, 'cli-dd.bin');
  const count = writeTorchCheckpoint(src, sizeMiB * 2 ** 20);
  writeTorchCheckpoint(small, (sizeMiB / 4) * 2 ** 20);
  const size = fs.statSync(src).size;
  const bin = path.join(ROOT, 'bin/tensorsafe.js');
  const convertArgs = (file) => [bin, 'convert', file, '-o', out, '--force'];
  const clean = () => {
    [out, ddOut].forEach((f) => fs.rmSync(f, { force: true }));
    execFileSync('sync');
  };
  execFileSync('dd', [`if=${src}`, 'of=/dev/null', 'bs=16M', 'status=none']); // warm the page cache
  const [tDd, tCli] = await timings(
    3,
    [() => execFileSync('dd', [`if=${src}`, `of=${ddOut}`, 'bs=16M', 'status=none']), () => execFileSync(process.execPath, convertArgs(src), { stdio: 'ignore' })],
    clean,
  );
  clean();
  const r = median(tCli) / median(tDd);
  const rss = commandPeakRss(process.execPath, convertArgs(src)).rss;
  clean();
  const rssSmall = commandPeakRss(process.execPath, convertArgs(small)).rss;
  clean();
  fs.rmSync(src, { force: true });
  fs.rmSync(small, { force: true });
  return [
    [
      '`tensorsafe convert` (CLI, start-up included) vs `dd if=SRC of=DST bs=16M` (disk)',
      `${fmtMB(size)} zip checkpoint, ${count} tensors; median (min–max) of 3, alternated, fresh outputs, \`sync\` before each run`,
      `${spread(tCli)} vs ${spread(tDd)}`,
      ratio(r),
      verdict(r, 2),
    ],
    [
      'peak RSS of `tensorsafe convert` (CLI)',
      `${fmtMB(size)} checkpoint vs one ¼ its size (${fmtMB(rssSmall)})`,
      fmtMB(rss),
      `${(rss / rssSmall).toFixed(2)}× the small one's`,
      rss <= 256 * 2 ** 20 ? '✅ ≤ 256 MiB' : '❌ > 256 MiB',
    ],
  ];
}
