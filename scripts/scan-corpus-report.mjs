#!/usr/bin/env node
// Scans every file of ../shared/corpus/pickle (and the files of ../shared/corpus/formats marked
// MALICIOUS) and writes the detection table of docs/SCANNER.md, beside the figures the study in
// ../shared/specs/pickle-security.md §2.3 measured for picklescan, modelscan and fickling.
// Run: npm run build && node scripts/scan-corpus-report.mjs
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CORPUS = path.resolve(ROOT, '..', 'shared', 'corpus');
const { scanFile } = await import(path.join(ROOT, 'dist/node.js'));

function rows(manifest) {
  return fs.readFileSync(manifest, 'utf8').split('\n').slice(1).filter(Boolean).map((l) => l.split('\t'));
}
const pickle = rows(path.join(CORPUS, 'pickle/MANIFEST.tsv')).map((c) => ({ file: `pickle/${c[0]}`, label: c[5], technique: c[6] }));
const formats = rows(path.join(CORPUS, 'formats/MANIFEST.tsv'))
  .filter((c) => /\bMALICIOUS\b/.test(c[6]))
  .map((c) => ({ file: `formats/${c[0]}`, label: 'malicious', technique: c[6] }));

const results = [];
for (const r of [...pickle, ...formats]) {
  const report = await scanFile(path.join(CORPUS, r.file));
  results.push({ ...r, verdict: report.verdict, rules: [...new Set(report.findings.filter((f) => f.severity !== 'info').map((f) => f.rule))] });
}
const count = (label, verdict) => results.filter((r) => r.label === label && r.verdict === verdict).length;
const total = (label) => results.filter((r) => r.label === label).length;
const mal = total('malicious');
const ben = total('benign');
const unk = total('unknown');

const table = [
  `| scanner | malicious: dangerous / suspicious / missed / error | benign: dangerous / suspicious | unknown (inert or ambiguous) |`,
  `|---|---|---|---|`,
  `| **tensorsafe** (this run, ${mal} malicious, ${ben} benign, ${unk} unknown files present in the test corpus) | **${count('malicious', 'dangerous')} / ${count('malicious', 'suspicious')} / ${count('malicious', 'safe')} / ${count('malicious', 'error')}** | **${count('benign', 'dangerous')} / ${count('benign', 'suspicious')}** | ${results.filter((r) => r.label === 'unknown').map((r) => r.verdict).join(', ')} |`,
  `| picklescan 1.0.5 (study, 118 malicious / 30 benign) | 115 flagged / 1 weak / 1 missed / 1 error | 0 dangerous / 2 suspicious | – |`,
  `| modelscan 0.8.6+ (study) | 49 flagged / 0 weak / 64 missed / 5 errors | 0 | – |`,
  `| fickling (study) | 101 flagged / 10 weak / 4 missed / 3 errors | 6 at LIKELY_UNSAFE/SUSPICIOUS, both genuine PyTorch checkpoints among them | – |`,
].join('\n');
const notBlack = results.filter((r) => r.label !== 'malicious' && r.verdict !== 'safe');
const perFile = [
  '| file | label | verdict | rules |',
  '|---|---|---|---|',
  ...results.map((r) => `| \`${r.file}\` | ${r.label} | ${r.verdict} | ${r.rules.map((x) => `\`${x}\``).join(' ')} |`),
].join('\n');

const doc = path.join(ROOT, 'docs/SCANNER.md');
let text = fs.readFileSync(doc, 'utf8');
const put = (name, body) => {
  const start = `<!-- corpus:${name} -->`;
  const end = `<!-- /corpus:${name} -->`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  text = text.slice(0, i + start.length) + '\n' + body + '\n' + text.slice(j);
};
put('summary', table);
put('files', perFile);
fs.writeFileSync(doc, text);
console.log(table);
console.log(`\nbenign or unknown files not judged safe: ${notBlack.map((r) => `${r.file} (${r.verdict}: ${r.rules.join(', ')})`).join('; ') || 'none'}`);
