// Benchmarks of start-up (issue 8): the CLI's own cost before it does anything, and a scan of one
// checkpoint as a command against picklescan, the scanner the Hugging Face Hub runs, on the same file.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { commandPeakRss, ensureTmp, fmtMB, median, ratio, spread, timings, ROOT } from './lib.js';
import { writeTorchCheckpoint } from './torch-checkpoint.js';

const BIN = path.join(ROOT, 'bin/tensorsafe.js');

/** picklescan's sources (a checkout of github.com/mmaitre314/picklescan): its `src` folder goes on PYTHONPATH. */
function picklescan() {
  const dir = process.env.PICKLESCAN_SRC;
  if (!dir) return { skip: 'PICKLESCAN_SRC is not set (a checkout of github.com/mmaitre314/picklescan)' };
  const src = fs.existsSync(path.join(dir, 'src', 'picklescan')) ? path.join(dir, 'src') : dir;
  if (!fs.existsSync(path.join(src, 'picklescan'))) return { skip: `no picklescan package under ${dir}` };
  const env = { PYTHONPATH: src };
  const cfg = path.join(dir, 'setup.cfg');
  const version = (fs.existsSync(cfg) && /^version\s*=\s*(\S+)/m.exec(fs.readFileSync(cfg, 'utf8'))?.[1]) || 'unknown version';
  return { env, version, args: (file) => ['-m', 'picklescan', '--path', file] };
}

export async function run({ sizeMiB = 640, runs = 5 } = {}) {
  const tmp = ensureTmp();
  const rows = [];
  const node = process.execPath;
  const quiet = { stdio: 'ignore' };

  // Start-up: the version (nothing but the CLI's own loading) against node doing nothing.
  const [tVersion, tNode] = await timings(Math.max(runs, 10), [() => execFileSync(node, [BIN, '--version'], quiet), () => execFileSync(node, ['-e', ''], quiet)]);
  rows.push([
    '`tensorsafe --version` vs `node -e \'\'`',
    'median (min–max) of 10, alternated: what loading the CLI adds to starting node',
    `${spread(tVersion)} vs ${spread(tNode)}`,
    ratio(median(tVersion) / median(tNode)),
    '–',
  ]);

  // A scan of one checkpoint, as a command, against picklescan on the same file.
  const fileMiB = Math.round((sizeMiB * 500) / 640);
  const large = path.join(tmp, 'startup-scan.pt');
  const small = path.join(tmp, 'startup-scan-small.pt');
  const count = writeTorchCheckpoint(large, fileMiB * 2 ** 20);
  writeTorchCheckpoint(small, (fileMiB / 4) * 2 ** 20);
  const size = fs.statSync(large).size;
  const ps = picklescan();
  const scan = (file) => execFileSync(node, [BIN, 'scan', file], quiet);
  if (ps.skip) {
    rows.push([`\`tensorsafe scan\` vs picklescan`, `skipped: ${ps.skip}`, '–', '–', '–']);
  } else {
    const pscan = (file) => execFileSync('python3', ps.args(file), { ...quiet, env: { ...process.env, ...ps.env } });
    const [tOurs, tTheirs] = await timings(Math.max(runs, 5), [() => scan(large), () => pscan(large)]);
    const r = median(tOurs) / median(tTheirs);
    rows.push([
      '`tensorsafe scan` vs picklescan (CLI, start-up included)',
      `${fmtMB(size)} zip checkpoint, ${count} tensors; picklescan ${ps.version} (Python ${execFileSync('python3', ['-c', 'import platform; print(platform.python_version())'], { encoding: 'utf8' }).trim()}); median (min–max) of 5, alternated`,
      `${spread(tOurs)} vs ${spread(tTheirs)}`,
      ratio(r),
      r <= 1 ? '✅ ≤ 1' : '❌ > 1',
    ]);
    const theirs = commandPeakRss('python3', ps.args(large), ps.env).rss;
    const theirsSmall = commandPeakRss('python3', ps.args(small), ps.env).rss;
    rows.push([
      'peak RSS of picklescan',
      `${fmtMB(size)} checkpoint vs one ¼ its size (${fmtMB(theirsSmall)})`,
      fmtMB(theirs),
      `${(theirs / theirsSmall).toFixed(2)}× the small one's`,
      'for reference',
    ]);
  }
  const ours = commandPeakRss(node, [BIN, 'scan', large]).rss;
  const oursSmall = commandPeakRss(node, [BIN, 'scan', small]).rss;
  rows.push([
    'peak RSS of `tensorsafe scan`',
    `${fmtMB(size)} checkpoint vs one ¼ its size (${fmtMB(oursSmall)})`,
    fmtMB(ours),
    `${(ours / oursSmall).toFixed(2)}× the small one's`,
    ours / oursSmall <= 1.1 ? '✅ does not grow with the file' : '❌ grows with the file',
  ]);
  fs.rmSync(large, { force: true });
  fs.rmSync(small, { force: true });
  return ['## Start-up', '', '| benchmark | input | time / size | ratio | target |', '|---|---|---|---|---|', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}
