// Shared helpers for `npm run bench`: timing medians, child-process RSS, machine description,
// and BENCHMARKS.md section updates. Benchmarks are ratios against a baseline in the same run.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const TMP = path.join(ROOT, '.bench-tmp');

/**
 * Median of `runs` timings (ms) of each function, run alternately so that drift hits both alike.
 * `before` runs untimed before every timed call (to remove an output file, say).
 */
export async function compare(runs, fns, before = () => {}) {
  return (await timings(runs, fns, before)).map((t) => median(t));
}

/** Like `compare`, but every timing (ms) of each function, in run order: to show the spread. */
export async function timings(runs, fns, before = () => {}) {
  const times = fns.map(() => []);
  for (let r = 0; r < runs; r++) {
    for (let i = 0; i < fns.length; i++) {
      await before();
      globalThis.gc?.();
      const t0 = process.hrtime.bigint();
      await fns[i]();
      times[i].push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  }
  return times;
}

/** "median (min–max)" of timings, for a table cell. */
export function spread(times) {
  return `${fmtMs(median(times))} (${fmtMs(Math.min(...times))}–${fmtMs(Math.max(...times))})`;
}

/**
 * Runs a command to completion (its output discarded) and returns its exit code and peak RSS in
 * bytes: ru_maxrss of the waited child, read by a small python3 launcher, so that the figure is the
 * command's own (not a large parent's pages shared between fork and exec).
 */
export function commandPeakRss(cmd, args, env = {}) {
  const script = 'import resource, subprocess, sys\nr = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\nprint(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)';
  const out = execFileSync('python3', ['-c', script, cmd, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env } });
  const [code, rss] = out.trim().split(/\s+/).map(Number);
  return { code, rss };
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Runs a script in a fresh Node process and returns its peak RSS in bytes and what it printed.
 * The peak is VmHWM of the process's own memory map: getrusage's maxrss would also count the
 * parent's pages shared with the child between fork and exec.
 */
export function peakRss(script, args = []) {
  const probe = "const hwm = /VmHWM:\\s+(\\d+) kB/.exec((await import('node:fs')).readFileSync('/proc/self/status', 'utf8'));";
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', `${script}\n${probe}\nconsole.log('RSS=' + Number(hwm[1]) * 1024);`, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  const m = /RSS=(\d+)/.exec(out);
  return { rss: Number(m[1]), output: out.replace(/RSS=\d+\s*$/, '').trim() };
}

export function machine() {
  const cpus = os.cpus();
  let disk = '';
  try {
    disk = execFileSync('df', ['-h', ROOT], { encoding: 'utf8' }).trim().split('\n').pop().split(/\s+/)[0];
  } catch {
    disk = 'unknown';
  }
  return `${os.type()} ${os.release()} ${os.arch()}, ${cpus.length} × ${cpus[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}, disk ${disk}`;
}

export const fmtMs = (ms) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1)) + ' ms';
export const fmtMB = (b) => (b / 2 ** 20).toFixed(0) + ' MiB';
export const ratio = (x) => x.toFixed(2) + '×';

/**
 * Replaces the section between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->` in BENCHMARKS.md
 * (appending it when absent), so that each group of benchmarks keeps its own table.
 */
export function writeSection(name, markdown) {
  const file = path.join(ROOT, 'BENCHMARKS.md');
  let text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmarks\n\nMeasured with `npm run bench`. Every figure is a ratio against a baseline measured in the same run on the same machine.\n';
  const start = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const block = `${start}\n${markdown.trim()}\n${end}`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  text = i >= 0 && j > i ? text.slice(0, i) + block + text.slice(j + end.length) : text.trimEnd() + '\n\n' + block + '\n';
  fs.writeFileSync(file, text);
}

export function ensureTmp() {
  fs.mkdirSync(TMP, { recursive: true });
  return TMP;
}

/** A verdict cell: the measured ratio and whether it meets the target. */
export function verdict(value, limit) {
  return value <= limit ? `✅ ≤ ${limit}` : `❌ > ${limit}`;
}

/** The browser of the web page's benches (Debian's chromium; TENSORSAFE_CHROMIUM names another), and its flags: no network of its own. */
export const CHROMIUM = process.env.TENSORSAFE_CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
