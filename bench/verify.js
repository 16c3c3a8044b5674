// Benchmarks of model verification (issue 5): comparing two models tensor by tensor streams at the
// speed of reading them, in bounded memory.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { compare, ensureTmp, fmtMB, fmtMs, peakRss, ratio, verdict, ROOT } from './lib.js';

const { saveFileSync, openModel, verifySets, BIT_EXACT } = await import(path.join(ROOT, 'dist/node.js'));

async function verifyFiles(a, b, rule = BIT_EXACT) {
  const x = await openModel(a);
  const y = await openModel(b);
  try {
    return await verifySets(a, x, b, y, rule);
  } finally {
    await x.close();
    await y.close();
  }
}

export async function run({ sizeMiB = 512, runs = 5 } = {}) {
  const tmp = ensureTmp();
  const a = path.join(tmp, 'verify-a.safetensors');
  const b = path.join(tmp, 'verify-b.safetensors');
  const count = Math.max(1, Math.round(sizeMiB / 4));
  const tensors = {};
  for (let i = 0; i < count; i++) tensors[`layers.${i}.weight`] = { dtype: 'F32', shape: [1 << 20], data: new Float32Array(1 << 20).fill(i / 7) };
  saveFileSync(tensors, a);
  saveFileSync(tensors, b);
  const size = fs.statSync(a).size;
  fs.readFileSync(a);
  fs.readFileSync(b);
  const [tRead, tVerify] = await compare(runs, [
    () => {
      fs.readFileSync(a);
      fs.readFileSync(b);
    },
    () => verifyFiles(a, b),
  ]);
  const report = await verifyFiles(a, b);
  const rss = peakRss(
    `const { openModel, verifySets, BIT_EXACT } = await import(${JSON.stringify(path.join(ROOT, 'dist/node.js'))});
     const x = await openModel(${JSON.stringify(a)}); const y = await openModel(${JSON.stringify(b)});
     await verifySets('a', x, 'b', y, BIT_EXACT);`,
  ).rss;
  fs.rmSync(a, { force: true });
  fs.rmSync(b, { force: true });
  const perGB = (ms) => `${((ms / size) * 1e9 / 2).toFixed(0)} ms/GB`;
  const rows = [
    [`\`verify\` (bit for bit) of two ${fmtMB(size)} models vs \`fs.readFileSync\` of both`, `${count} tensors, ${report.summary.identical} identical`, `${fmtMs(tVerify)} vs ${fmtMs(tRead)} (${perGB(tVerify)} vs ${perGB(tRead)})`, ratio(tVerify / tRead), verdict(tVerify / tRead, 1.5)],
    ['peak RSS of `verify`', 'fresh process; two models read side by side', fmtMB(rss), `${(rss / (2 * size)).toFixed(2)}× the two models`, rss < 256 * 2 ** 20 ? '✅ bounded (< 256 MiB)' : '❌ grows with the models'],
  ];
  return ['## Verification', '', '| benchmark | input | time / size | ratio | target |', '|---|---|---|---|---|', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}
