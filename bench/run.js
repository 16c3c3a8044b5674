// npm run bench: runs every benchmark group and records the results in BENCHMARKS.md.
import * as fs from 'node:fs';
import { machine, writeSection, TMP } from './lib.js';

const groups = {
  safetensors: () => import('./safetensors.js'),
  convert: () => import('./convert.js'),
  gguf: () => import('./gguf.js'),
  scan: () => import('./scan.js'),
  verify: () => import('./verify.js'),
  integrity: () => import('./integrity.js'),
  startup: () => import('./startup.js'),
  formats: () => import('./formats.js'),
  web: () => import('./web.js'),
  'web-open': () => import('./web-open.js'),
  runtime: () => import('./runtime.js'),
  behaviour: () => import('./behaviour.js'),
  hub: () => import('./hub.js'),
};
const only = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const quick = process.argv.includes('--quick');

writeSection('machine', `Machine: ${machine()}. Run on ${new Date().toISOString().slice(0, 10)}.`);
for (const [name, load] of Object.entries(groups)) {
  if (only.length > 0 && !only.includes(name)) continue;
  console.error(`bench: ${name}…`);
  const mod = await load();
  const markdown = await mod.run(quick ? { sizeMiB: 64, runs: 2 } : {});
  console.log(markdown + '\n');
  writeSection(name, markdown);
}
fs.rmSync(TMP, { recursive: true, force: true });
