// Writes the full-size hostile pickles of test/helpers/adversarial-pickles.ts into a folder, for
// measuring `tensorsafe convert` by hand (BENCHMARKS.md): npx tsx scripts/make-adversarial-pickles.ts DIR
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as a from '../test/helpers/adversarial-pickles.js';

const dir = process.argv[2];
if (!dir) throw new Error('usage: make-adversarial-pickles.ts DIR');
fs.mkdirSync(dir, { recursive: true });
const files: [string, Uint8Array][] = [
  ['dag-list-40.pkl', a.sharedDag(40)],
  ['dag-dict-40.pkl', a.sharedDag(40, 'dict')],
  ['dag-tuple-key-40.pkl', a.sharedTupleKey(40)],
  ['memoize-9.9M.pkl', a.memoizeFlood(9_900_000)],
  ['distinct-bytes-9.9M.pkl', a.distinctBytesFlood(9_900_000)],
  ['distinct-strings-list-9.9M.pkl', a.distinctStringsList(9_900_000)],
  ['empty-dicts-list-5M.pkl', a.emptyDictsList(5_000_000)],
  ['deep-tuple1-100k.pkl', a.deepTuples(100_000)],
  ['deep-lists-100k.pkl', a.deepLists(100_000)],
  ['appends-300k.pkl', a.bigAppends(300_000)],
  ['self-containing.pkl', a.selfContaining()],
];
for (const [name, b] of files) fs.writeFileSync(path.join(dir, name), b);
console.log(files.map(([n, b]) => `${n} ${b.length}`).join('\n'));
