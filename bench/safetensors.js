// Benchmarks of the safetensors core (issue 2), each a ratio against a baseline in the same run.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { compare, ensureTmp, fmtMB, fmtMs, peakRss, ratio, verdict, ROOT } from './lib.js';
import { startRangeServer } from './range-server.js';

const dist = (p) => path.join(ROOT, 'dist', p);
const { save } = await import(dist('index.js'));
const { loadFile, loadFileSync, saveFileSync, saveFile, safeOpen } = await import(dist('node.js'));

/** A model-like tensor set of about `bytes` bytes: many 4 MiB F32 tensors and some small ones. */
function bigModel(bytes) {
  const tensors = {};
  const big = 1 << 20; // F32 elements: 4 MiB
  let total = 0;
  for (let i = 0; total < bytes; i++) {
    const data = new Float32Array(big);
    for (let k = 0; k < big; k += 4096) data[k] = i + k;
    tensors[`layers.${i}.weight`] = { dtype: 'F32', shape: [1024, 1024], data };
    tensors[`layers.${i}.bias`] = { dtype: 'BF16', shape: [1024], data: new Uint16Array(1024).fill(i) };
    total += big * 4 + 2048;
  }
  return tensors;
}

export async function run({ sizeMiB = 1024, runs = 5 } = {}) {
  const tmp = ensureTmp();
  const rows = [];

  // 1. loadFile vs fs.readFileSync of the same file, and peak RSS.
  const file = path.join(tmp, 'big.safetensors');
  const tensors = bigModel(sizeMiB * 2 ** 20);
  saveFileSync(tensors, file);
  const size = fs.statSync(file).size;
  fs.readFileSync(file); // warm the page cache
  // Reading a GiB into fresh memory varies a lot on a shared machine: more runs, medians compared.
  const [tRead, tLoad] = await compare(runs * 2 - 1, [() => fs.readFileSync(file), () => loadFileSync(file)]);
  const [tReadAsync, tLoadAsync] = await compare(runs * 2 - 1, [() => fs.promises.readFile(file), () => loadFile(file)]);
  const rssRead = peakRss(`import * as fs from 'node:fs'; const b = fs.readFileSync(${JSON.stringify(file)}); console.log(b.length);`).rss;
  const rssLoad = peakRss(`const { loadFileSync } = await import(${JSON.stringify(dist('node.js'))}); const m = loadFileSync(${JSON.stringify(file)}); console.log(m.size);`).rss;
  rows.push(['`loadFileSync` vs `fs.readFileSync`', `${fmtMB(size)} file, ${Object.keys(tensors).length} tensors`, `${fmtMs(tLoad)} vs ${fmtMs(tRead)}`, ratio(tLoad / tRead), verdict(tLoad / tRead, 1.1)]);
  rows.push(['`loadFile` vs `fs.promises.readFile`', 'same file', `${fmtMs(tLoadAsync)} vs ${fmtMs(tReadAsync)}`, ratio(tLoadAsync / tReadAsync), verdict(tLoadAsync / tReadAsync, 1.1)]);
  rows.push(['peak RSS of `loadFileSync` / file size', `fresh process (readFileSync: ${fmtMB(rssRead)})`, `${fmtMB(rssLoad)} / ${fmtMB(size)}`, ratio(rssLoad / size), verdict(rssLoad / size, 1.1)]);

  // 3. saveFile vs fs.writeFileSync of the same bytes, on the disk and on tmpfs (no device noise).
  const bytes = save(tensors);
  for (const [where, dir] of [['disk', tmp], ['tmpfs', fs.existsSync('/dev/shm') ? '/dev/shm' : null]]) {
    if (!dir) continue;
    const out1 = path.join(dir, 'tensorsafe-bench-fs.safetensors');
    const out2 = path.join(dir, 'tensorsafe-bench-ts.safetensors');
    const clean = () => [out1, out2].forEach((f) => fs.rmSync(f, { force: true }));
    const [tWrite, tSave, tSaveAsync] = await compare(runs + 2, [() => fs.writeFileSync(out1, bytes), () => saveFileSync(tensors, out2), () => saveFile(tensors, out2)], clean);
    clean();
    rows.push([`\`saveFileSync\` vs \`fs.writeFileSync\` (${where})`, `same ${fmtMB(bytes.length)} of bytes`, `${fmtMs(tSave)} vs ${fmtMs(tWrite)}`, ratio(tSave / tWrite), verdict(tSave / tWrite, 1.2)]);
    rows.push([`\`saveFile\` vs \`fs.writeFileSync\` (${where})`, 'same bytes', `${fmtMs(tSaveAsync)} vs ${fmtMs(tWrite)}`, ratio(tSaveAsync / tWrite), verdict(tSaveAsync / tWrite, 1.2)]);
  }

  // 2. safeOpen of 100,000 tensors vs JSON.parse of the same header text.
  const many = path.join(tmp, 'many.safetensors');
  const manyTensors = {};
  for (let i = 0; i < 100_000; i++) manyTensors[`model.layers.${i >> 4}.block.${i & 15}.weight`] = { dtype: 'F32', shape: [2, 2], data: new Float32Array(4) };
  saveFileSync(manyTensors, many);
  const raw = fs.readFileSync(many);
  const n = Number(raw.readBigUInt64LE(0));
  const headerText = raw.subarray(8, 8 + n).toString('utf8');
  const [tParse, tOpen] = await compare(runs * 2, [
    () => JSON.parse(headerText),
    async () => {
      const f = await safeOpen(many);
      await f.close();
    },
  ]);
  rows.push(['`safeOpen` (100,000 tensors) vs `JSON.parse` of its header', `${fmtMB(n)} header`, `${fmtMs(tOpen)} vs ${fmtMs(tParse)}`, ratio(tOpen / tParse), verdict(tOpen / tParse, 3)]);

  // 4. One tensor from a remote file: bytes transferred against header + tensor + 64 KiB.
  const server = await startRangeServer(file);
  try {
    const remote = await safeOpen(server.url + 'big.safetensors');
    const name = 'layers.3.weight';
    const info = remote.info(name);
    await remote.getTensor(name);
    const headerBytes = 8 + remote.header.headerLength;
    const budget = headerBytes + info.byteLength + 64 * 1024;
    rows.push([
      'remote: one tensor (bytes sent by the server)',
      `header ${headerBytes} B + tensor ${info.byteLength} B, ${server.stats.requests} requests`,
      `${server.stats.bytesSent} B`,
      ratio(server.stats.bytesSent / budget) + ' of budget',
      server.stats.bytesSent <= budget ? '✅ ≤ header + tensor + 64 KiB' : '❌ over budget',
    ]);
    await remote.close();
  } finally {
    await server.close();
  }
  fs.rmSync(file, { force: true });
  fs.rmSync(many, { force: true });

  return [
    '## safetensors core',
    '',
    '| benchmark | input | time / size | ratio | target |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}
