// Benchmark of converting a model by its Hugging Face Hub reference (issue 15): `tensorsafe convert
// acme/model` against a Hub-like server on loopback (the revision API, then `resolve/<commit>/…`
// redirected to a content host with range requests), against `tensorsafe convert` of the same file by
// its plain URL (same content host) and of the local file, in the same run. What the Hub costs beyond a
// URL is the revision pinned first and each file's redirect (remembered after the first read).
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { ensureTmp, fmtMB, median, ratio, spread, timings, verdict, ROOT } from './lib.js';
import { startRangeServer } from './range-server.js';
import { writeTorchCheckpoint } from './torch-checkpoint.js';

/** The Hub's overhead over the same file by URL: its revision request and redirects, nothing per byte. */
const TARGET = 1.2;
const COMMIT = 'a'.repeat(40);

/** A Hub that knows one repository, `acme/model`, at one commit, its file redirected to `contentUrl`; counts its requests. */
async function startHub(contentUrl, size) {
  const stats = { requests: 0 };
  const server = http.createServer((req, res) => {
    stats.requests++;
    if (req.url === '/api/models/acme/model/revision/main') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ id: 'acme/model', sha: COMMIT, siblings: [{ rfilename: 'pytorch_model.bin' }, { rfilename: 'config.json' }] }));
    }
    if (req.url === `/acme/model/resolve/${COMMIT}/pytorch_model.bin`) {
      res.writeHead(302, { location: contentUrl, 'x-repo-commit': COMMIT, 'x-linked-size': String(size) });
      return res.end();
    }
    res.writeHead(404, { 'x-error-code': 'EntryNotFound' }).end();
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}`, stats, close: () => new Promise((r) => server.close(r)) };
}

/** Runs the CLI in a child process (the servers answer from this one, so never a synchronous wait). */
function cli(args, env = {}) {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [path.join(ROOT, 'bin/tensorsafe.js'), ...args], { env: { ...process.env, ...env } }, (e, _out, err) => (e ? reject(new Error(`${e.message}\n${err}`)) : resolve())),
  );
}

export async function run({ sizeMiB = 256, runs = 5 } = {}) {
  const tmp = ensureTmp();
  const dir = fs.mkdtempSync(path.join(tmp, 'hub-'));
  const src = path.join(dir, 'pytorch_model.bin');
  const count = writeTorchCheckpoint(src, sizeMiB * 2 ** 20);
  const size = fs.statSync(src).size;
  const out = path.join(dir, 'model.safetensors');
  const content = await startRangeServer(src);
  const hub = await startHub(content.url, size);
  // No token, no cache: every byte over loopback HTTP.
  const env = { HF_ENDPOINT: hub.url, HF_HOME: path.join(dir, 'hf-home'), HF_TOKEN: '' };
  try {
    // Requests each conversion made (content host and Hub), counted around the call.
    const requests = { url: [], hub: [] };
    const counted = (into, fn) => async () => {
      const before = content.stats.requests + hub.stats.requests;
      await fn();
      into.push(content.stats.requests + hub.stats.requests - before);
    };
    const times = await timings(
      runs,
      [
        () => cli(['convert', src, '-o', out, '--force']),
        counted(requests.url, () => cli(['convert', content.url, '-o', out, '--force'])),
        counted(requests.hub, () => cli(['convert', 'acme/model', '-o', out, '--force'], env)),
      ],
      () => fs.rmSync(out, { force: true }),
    );
    const [local, url, byHub] = times.map(median);
    const input = `${fmtMB(size)} zip checkpoint, ${count} tensors, over loopback HTTP; median (min–max) of ${runs}`;
    return [
      '## The Hugging Face Hub',
      '',
      '| benchmark | input | time | ratio | target |',
      '|---|---|---|---|---|',
      `| \`convert acme/model\` (Hub-like server: revision API, redirect to a content host) vs \`convert URL\` of the same file on that host | ${input}; requests: ${median(requests.hub)} vs ${median(requests.url)} | ${spread(times[2])} vs ${spread(times[1])} | ${ratio(byHub / url)} | ${verdict(byHub / url, TARGET)} |`,
      `| \`convert acme/model\` vs \`convert\` of the local file | ${input} | ${spread(times[2])} vs ${spread(times[0])} | ${ratio(byHub / local)} | for reference |`,
    ].join('\n');
  } finally {
    await hub.close();
    await content.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
