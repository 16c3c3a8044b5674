#!/usr/bin/env node
// Scans every file under the folders given (real source trees: a Python standard library, numpy) and
// counts the verdicts: none of these files is a model, so any suspicious or dangerous one is a false alarm.
// Run: npm run build && node scripts/scan-false-alarms.mjs /usr/lib/python3.11 .../site-packages/numpy
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { scanFile } = await import(path.join(ROOT, 'dist/node.js'));

function* walk(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (e.isFile()) yield p;
  }
}
const verbose = process.argv.includes('-v');
for (const dir of process.argv.slice(2).filter((a) => a !== '-v')) {
  const counts = { safe: 0, suspicious: 0, dangerous: 0, error: 0 };
  const formats = {};
  const alarms = [];
  for (const file of walk(dir)) {
    const r = await scanFile(file);
    counts[r.verdict]++;
    formats[r.format] = (formats[r.format] ?? 0) + 1;
    if (r.verdict !== 'safe') alarms.push(`${r.verdict} ${path.relative(dir, file)} (${r.format}): ${[...new Set(r.findings.filter((f) => f.severity !== 'info').map((f) => f.rule))].join(', ')}`);
  }
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  console.log(`${dir}: ${total} files: ${counts.safe} safe, ${counts.suspicious} suspicious, ${counts.dangerous} dangerous, ${counts.error} unreadable; formats ${JSON.stringify(formats)}`);
  for (const a of verbose ? alarms : alarms.filter((a) => a.startsWith('dangerous')).slice(0, 20)) console.log('  ' + a);
}
