// Benchmarks of the scanner (issue 4): scanning reads only pickles and directories, so its time does
// not grow with the bytes of tensor data.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { compare, ensureTmp, fmtMB, fmtMs, peakRss, ratio, ROOT } from './lib.js';
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
  const table = ['## Scanning', '', '| benchmark | input | time / size | ratio | target |', '|---|---|---|---|---|', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
  return `${table}\n\n${await adversarial(tmp, runs)}`;
}

/** A scan's time bound: a fixed cost per file plus a cost per byte (linear in the file's size). */
const SCAN_FIXED_MS = 25;
const SCAN_NS_PER_BYTE_LIMIT = 1000;
/** Peak RSS any scan of the corpus may reach (Node itself is about 40 MiB). */
const SCAN_RSS_LIMIT = 512 * 2 ** 20;

/**
 * The adversarial corpus at the sizes (test/fixtures/adversarial/cases.mjs): every scan ends with a
 * verdict, its time is compared with reading the same file (time per byte, so that the fixed costs of tiny
 * files do not hide a superlinear one), and its peak RSS is measured in a fresh process.
 */
async function adversarial(tmp, runs) {
  const { adversarialCases } = await import(path.join(ROOT, 'test/fixtures/adversarial/cases.mjs'));
  const dir = path.join(tmp, 'adversarial');
  fs.mkdirSync(dir, { recursive: true });
  const rows = [];
  for (const c of adversarialCases(1)) {
    const file = path.join(dir, c.name);
    fs.writeFileSync(file, c.bytes);
    const scan = () => scanCounting(file);
    const { report } = await scan();
    const [tScan, tRead] = await compare(Math.min(runs, 3), [scan, () => fs.readFileSync(file)]);
    const { rss } = peakRss(`const { scanFile } = await import(${JSON.stringify(path.join(ROOT, 'dist/node/scan-file.js'))}); await scanFile(${JSON.stringify(file)});`);
    const nsPerByte = (tScan * 1e6) / c.bytes.length;
    const ok = report.verdict !== 'safe' || c.expect === 'bounded';
    rows.push([
      `\`${c.name}\` (${c.klass})`,
      c.bytes.length >= 2 ** 20 ? fmtMB(c.bytes.length) : `${c.bytes.length} B`,
      `${report.verdict}${ok ? '' : ' ❌'}`,
      `${fmtMs(tScan)} vs ${fmtMs(tRead)}`,
      `${nsPerByte.toFixed(0)} ns/B`,
      `${(rss / 2 ** 20).toFixed(0)} MiB`,
      tScan <= SCAN_FIXED_MS + (SCAN_NS_PER_BYTE_LIMIT * c.bytes.length) / 1e6 && rss <= SCAN_RSS_LIMIT && ok ? '✅' : '❌',
    ]);
    fs.rmSync(file, { force: true });
  }
  return [
    '### The adversarial corpus (issue sizes)',
    '',
    `Every file of \`test/fixtures/adversarial/cases.mjs\` at full size. Target: a verdict that is not \`safe\` (for the`,
    `files with a payload), a time linear in the file's size (at most ${SCAN_FIXED_MS} ms + ${SCAN_NS_PER_BYTE_LIMIT} ns per byte; reading costs`,
    `about 0.1–1 ns/B, a pickle opcode about 100–250 ns), and at most ${SCAN_RSS_LIMIT / 2 ** 20} MiB peak RSS in a fresh process, whatever the`,
    `size: the analysis limits (named constants, each reported as a finding when reached) bound its memory.`,
    '',
    '| file (class) | size | verdict | scan vs `readFileSync` | scan time per byte | peak RSS | target |',
    '|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}
