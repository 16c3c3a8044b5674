// Benchmarks of the scanner (issue 4): scanning reads only pickles and directories, so its time does
// not grow with the bytes of tensor data.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { compare, ensureTmp, fmtMB, fmtMs, ratio, ROOT } from './lib.js';
import { writeTorchCheckpoint } from './torch-checkpoint.js';

const { scanSource } = await import(path.join(ROOT, 'dist/scan/scan.js'));
const { FileSource } = await import(path.join(ROOT, 'dist/node/file-source.js'));

/** Scans a file through a source that counts the bytes read. */
async function scanCounting(file) {
  const source = await FileSource.open(file);
  let bytes = 0;
  const counting = {
    name: source.name,
    size: source.size,
    coalesceGap: source.coalesceGap,
    read: (o, l) => ((bytes += l), source.read(o, l)),
  };
  try {
    const report = await scanSource(counting);
    return { report, bytes };
  } finally {
    await source.close();
  }
}

export async function run({ sizeMiB = 640, runs = 5 } = {}) {
  const tmp = ensureTmp();
  // The same 160 tensors at two sizes: the large file's tensors are 10× larger, its pickle the same.
  const small = path.join(tmp, 'scan-small.bin');
  const large = path.join(tmp, 'scan-large.bin');
  writeTorchCheckpoint(small, (sizeMiB / 10) * 2 ** 20, 160);
  writeTorchCheckpoint(large, sizeMiB * 2 ** 20, 160);
  const sizes = [fs.statSync(small).size, fs.statSync(large).size];
  const [a, b] = await Promise.all([scanCounting(small), scanCounting(large)]);
  const read = fs.readFileSync; // baseline: reading the large file once
  read(large);
  const [tSmall, tLarge, tRead] = await compare(runs, [() => scanCounting(small), () => scanCounting(large), () => read(large)]);
  fs.rmSync(small, { force: true });
  fs.rmSync(large, { force: true });
  const rows = [
    [`scan of a ${fmtMB(sizes[1])} checkpoint vs one of ${fmtMB(sizes[0])}`, `verdicts ${a.report.verdict} / ${b.report.verdict}`, `${fmtMs(tLarge)} vs ${fmtMs(tSmall)}`, ratio(tLarge / tSmall), tLarge / tSmall <= 2 ? '✅ does not grow with tensor bytes' : '❌ grows'],
    ['bytes read by the scan', `${fmtMB(sizes[1])} vs ${fmtMB(sizes[0])} file`, `${(b.bytes / 1024).toFixed(0)} KiB vs ${(a.bytes / 1024).toFixed(0)} KiB`, `${((b.bytes / sizes[1]) * 100).toFixed(3)}% of the large file`, '–'],
    [`scan vs \`fs.readFileSync\` of the ${fmtMB(sizes[1])} file`, 'reading it once, for scale', `${fmtMs(tLarge)} vs ${fmtMs(tRead)}`, ratio(tLarge / tRead), '–'],
  ];
  return ['## Scanning', '', '| benchmark | input | time / size | ratio | target |', '|---|---|---|---|---|', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}
