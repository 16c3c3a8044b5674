// Benchmarks of integrity (hashes and signatures): hashing a model runs at the speed of node:crypto's
// SHA-256 over the same bytes, in memory that does not grow with the file.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { compare, ensureTmp, fmtMB, fmtMs, peakRss, ratio, verdict, ROOT } from './lib.js';

const dist = (f) => path.join(ROOT, 'dist', f);
const { saveFileSync, hashFile, signFile, verifyFileSignature, hashSafetensors, FileSource } = await import(dist('node.js'));

/** A model of `count` F32 tensors of 4 MiB each, every one with its own content. */
function writeModel(file, count) {
  const tensors = {};
  for (let i = 0; i < count; i++) {
    const data = new Float32Array(1 << 20);
    for (let k = 0; k < data.length; k += 1024) data[k] = i + k;
    tensors[`model.layers.${i}.weight`] = { dtype: 'F32', shape: [1024, 1024], data };
  }
  saveFileSync(tensors, file, { metadata: { format: 'pt' } });
}

const perGB = (ms, bytes) => `${((ms / bytes) * 1e9).toFixed(0)} ms/GB`;

export async function run({ sizeMiB = 1024, runs = 5 } = {}) {
  const tmp = ensureTmp();
  const file = path.join(tmp, 'integrity.safetensors');
  const small = path.join(tmp, 'integrity-small.safetensors');
  const count = Math.max(4, Math.round(sizeMiB / 4));
  writeModel(file, count);
  writeModel(small, Math.max(1, count >> 2));
  const size = fs.statSync(file).size;
  const smallSize = fs.statSync(small).size;

  const pair = generateKeyPairSync('ed25519');
  const key = path.join(tmp, 'key.pem');
  const pub = path.join(tmp, 'key.pub.pem');
  fs.writeFileSync(key, pair.privateKey.export({ format: 'pem', type: 'pkcs8' }));
  fs.writeFileSync(pub, pair.publicKey.export({ format: 'pem', type: 'spki' }));
  await signFile(file, key, { overwrite: true });

  const bytes = fs.readFileSync(file); // warms the page cache; also the in-memory input of the hash-only baseline
  const readAndHash = () => createHash('sha256').update(fs.readFileSync(file)).digest();
  // The same work with no tensorsafe at all: 8 MiB reads into one reused buffer, each hashed.
  const chunk = Buffer.allocUnsafeSlow(8 << 20);
  const streamAndHash = () => {
    const fd = fs.openSync(file, 'r');
    const h = createHash('sha256');
    for (let n; (n = fs.readSync(fd, chunk, 0, chunk.length, null)) > 0; ) h.update(chunk.subarray(0, n));
    fs.closeSync(fd);
    return h.digest();
  };
  const check = await verifyFileSignature(file, pub);
  if (!check.ok) throw new Error('bench: the signed file does not verify');
  const [tRead, tReadHash, tStream, tHashOnly, tHashFile, tVerify] = await compare(runs, [
    () => fs.readFileSync(file),
    readAndHash,
    streamAndHash,
    () => createHash('sha256').update(bytes).digest(),
    () => hashFile(file),
    () => verifyFileSignature(file, pub),
  ]);

  // The TypeScript SHA-256 browsers use, once, on the same file (read through FileSource).
  const source = await FileSource.open(file);
  const t0 = process.hrtime.bigint();
  await hashSafetensors(source);
  const tPortable = Number(process.hrtime.bigint() - t0) / 1e6;
  await source.close();

  const script = (f) => `const { hashFile } = await import(${JSON.stringify(dist('node.js'))}); const m = await hashFile(${JSON.stringify(f)}); console.log(Object.keys(m.tensors).length);`;
  const rssLarge = peakRss(script(file)).rss;
  const rssSmall = peakRss(script(small)).rss;
  const rssRead = peakRss(`import * as fs from 'node:fs'; console.log(fs.readFileSync(${JSON.stringify(file)}).length);`).rss;
  fs.rmSync(file, { force: true });
  fs.rmSync(`${file}.sig`, { force: true });
  fs.rmSync(small, { force: true });

  const input = `${fmtMB(size)} file, ${count} tensors`;
  const vs = (a, b) => `${fmtMs(a)} (${perGB(a, size)}) vs ${fmtMs(b)} (${perGB(b, size)})`;
  const rows = [
    ['`hashFile` vs plain `fs.readSync` of 8 MiB chunks + `createHash(\'sha256\')`', `${input}: the same reads and hashing without tensorsafe`, vs(tHashFile, tStream), ratio(tHashFile / tStream), verdict(tHashFile / tStream, 1.1)],
    ['`hashFile` vs `fs.readFileSync` + `createHash(\'sha256\')`', input, vs(tHashFile, tReadHash), ratio(tHashFile / tReadHash), 'for reference (allocates the whole file)'],
    ['`verifyFileSignature` vs `hashFile`', 'same file, signed (Ed25519): key, .sig, signature, hash, compare', vs(tVerify, tHashFile), ratio(tVerify / tHashFile), verdict(tVerify / tHashFile, 1.2)],
    ['`verifyFileSignature` vs `fs.readFileSync` + `createHash(\'sha256\')`', 'same file', vs(tVerify, tReadHash), ratio(tVerify / tReadHash), 'for reference'],
    ['`hashFile` vs `fs.readFileSync` alone', 'same file', vs(tHashFile, tRead), ratio(tHashFile / tRead), 'for reference'],
    ['`hashFile` vs `createHash(\'sha256\')` of the bytes already in memory', 'same bytes: the cost of hashing alone', vs(tHashFile, tHashOnly), ratio(tHashFile / tHashOnly), 'for reference'],
    ['TypeScript SHA-256 (the browsers\' hasher) vs node:crypto\'s', 'same file, `hashSafetensors` with its default hasher', vs(tPortable, tHashFile), ratio(tPortable / tHashFile), 'for reference'],
    ['peak RSS of `hashFile`', `fresh process: ${fmtMB(size)} file vs one of ${fmtMB(smallSize)} (readFileSync of the large one: ${fmtMB(rssRead)})`, `${fmtMB(rssLarge)} vs ${fmtMB(rssSmall)}`, `${ratio(rssLarge / rssSmall)} the small one's`, rssLarge <= 128 * 2 ** 20 && rssLarge / rssSmall <= 1.2 ? '✅ ≤ 128 MiB, does not grow' : '❌ grows'],
  ];
  return ['## Integrity (hash, sign, verify-signature)', '', '| benchmark | input | time / size | ratio | target |', '|---|---|---|---|---|', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}
