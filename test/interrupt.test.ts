import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { saveFile, saveFileSync } from '../src/node/files.js';
import { parseTempName, removeStaleTemps, tempPathFor } from '../src/node/atomic-file.js';
import { TORCH_FIXTURES } from './helpers/torch-fixtures.js';
import { ROOT } from './helpers/paths.js';
import { tempDir } from './helpers/temp.js';

const tmp = tempDir('interrupt');
const temps = (dir: string): string[] => fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'));
const src = (rel: string): string => JSON.stringify(path.join(ROOT, 'src', rel));
const dist = (rel: string): string => JSON.stringify(path.join(ROOT, 'dist', rel));

const scripts = fs.mkdtempSync(path.join(tmp, 'scripts-'));
let scriptCount = 0;
/**
 * Runs an ES module script in a child node (with tsx for the sources), its stdin, stdout and stderr
 * piped. The script is a file, not `-e`: worker threads inherit the options, and `--input-type` fails them.
 */
function child(script: string, tsx = true, ...argv: string[]): ChildProcessWithoutNullStreams {
  const file = path.join(scripts, `child-${scriptCount++}.mjs`);
  fs.writeFileSync(file, script);
  return spawn(process.execPath, [...(tsx ? ['--import', 'tsx'] : []), file, ...argv], { cwd: ROOT, stdio: 'pipe' });
}

/** Resolves when the child prints `line` on stdout; rejects if it exits first. */
function printed(c: ChildProcessWithoutNullStreams, line: string): Promise<void> {
  let out = '';
  let err = '';
  c.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    c.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes(line)) resolve();
    });
    c.once('exit', (code, signal) => reject(new Error(`child exited early (${code ?? signal}): ${err}`)));
  });
}

function exited(c: ChildProcessWithoutNullStreams): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  let stderr = '';
  c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => c.once('exit', (code, signal) => resolve({ code, signal, stderr })));
}

/** A child that has an unfinished write (a FileSink with 1 MiB written) in `dir`, and waits. */
const writing = (file: string): string => `
  import { exitOnInterrupt } from ${src('node/interrupt.ts')};
  import { FileSink } from ${src('node/file-sink.ts')};
  exitOnInterrupt();
  const sink = await FileSink.create(${JSON.stringify(file)});
  await sink.write(new Uint8Array(1 << 20));
  console.log('started');
  process.stdin.once('data', () => {
    if (process.argv.includes('stderr')) process.stderr.write('to a closed stderr\\n');
    else process.stdout.write('to a closed stdout\\n');
  });
  setInterval(() => {}, 1 << 30);
`;

describe('interruptions remove temporary files and exit 128 + N', () => {
  for (const [signal, code] of [['SIGHUP', 129], ['SIGINT', 130], ['SIGTERM', 143]] as const) {
    it(`${signal} during a write: exit ${code}, "interrupted" on stderr, no temporary file`, async () => {
      const dir = fs.mkdtempSync(path.join(tmp, 'sig-'));
      const c = child(writing(path.join(dir, 'model.safetensors')));
      const end = exited(c);
      await printed(c, 'started');
      expect(temps(dir)).toHaveLength(1);
      c.kill(signal);
      const r = await end;
      expect({ code: r.code, signal: r.signal }).toEqual({ code, signal: null });
      expect(r.stderr).toContain(`interrupted (${signal})`);
      expect(fs.readdirSync(dir)).toEqual([]);
    });
  }

  for (const stream of ['stdout', 'stderr'] as const) {
    it(`a closed ${stream} (EPIPE) during a write: exit 141, quietly, no temporary file`, async () => {
      const dir = fs.mkdtempSync(path.join(tmp, 'pipe-'));
      const c = child(writing(path.join(dir, 'model.safetensors')), true, stream);
      const end = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => c.once('exit', (code, signal) => resolve({ code, signal })));
      let err = '';
      if (stream === 'stdout') c.stderr.on('data', (d: Buffer) => (err += d.toString()));
      await printed(c, 'started');
      expect(temps(dir)).toHaveLength(1);
      c[stream].destroy();
      c.stdin.write('go\n');
      expect(await end).toEqual({ code: 141, signal: null });
      expect(err).toBe('');
      expect(fs.readdirSync(dir)).toEqual([]);
    });
  }

  it('the CLI installs the handlers: SIGHUP while it waits on a server exits 129', async () => {
    // A server that never answers: the CLI is signalled once its request has arrived.
    let cli: ChildProcessWithoutNullStreams | undefined;
    const server = http.createServer(() => cli?.kill('SIGHUP'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/model.safetensors`;
      cli = spawn(process.execPath, [path.join(ROOT, 'bin/tensorsafe.js'), 'inspect', url], { cwd: ROOT, stdio: 'pipe' });
      const r = await exited(cli);
      expect({ code: r.code, signal: r.signal }).toEqual({ code: 129, signal: null });
      expect(r.stderr).toBe('tensorsafe: interrupted (SIGHUP)\n');
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("a worker thread's temporary file is removed when the main thread exits on a signal", async () => {
    // A worker's own exit hook does not run when the main thread calls process.exit.
    const dir = fs.mkdtempSync(path.join(tmp, 'worker-'));
    const file = path.join(dir, 'model.safetensors');
    const worker = path.join(dir, 'worker.mjs');
    fs.writeFileSync(
      worker,
      `import { parentPort } from 'node:worker_threads';
       import { FileSink } from ${dist('node/file-sink.js')};
       const sink = await FileSink.create(${JSON.stringify(file)});
       await sink.write(new Uint8Array(1 << 20));
       parentPort.postMessage('ready');
       setInterval(() => {}, 1 << 30);`,
    );
    const c = child(
      `import { Worker } from 'node:worker_threads';
       import { exitOnInterrupt } from ${dist('node/interrupt.js')};
       import { trackWorkerDir } from ${dist('node/atomic-file.js')};
       exitOnInterrupt();
       trackWorkerDir(${JSON.stringify(dir)});
       new Worker(${JSON.stringify(worker)}).once('message', () => console.log('started'));`,
      false,
    );
    const end = exited(c);
    await printed(c, 'started');
    expect(temps(dir)).toHaveLength(1);
    c.kill('SIGHUP');
    expect(await end).toMatchObject({ code: 129, signal: null });
    expect(temps(dir)).toEqual([]);
    fs.unlinkSync(worker);
  });

  it('a batch conversion in worker threads interrupted by SIGHUP exits 129 and leaves no temporary file', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'batch-'));
    for (const m of ['a', 'b', 'c', 'd']) {
      fs.mkdirSync(path.join(dir, m));
      fs.copyFileSync(path.join(TORCH_FIXTURES, 'tied_zip.pt'), path.join(dir, m, 'model.pt'));
    }
    // The child interrupts itself as soon as a worker has a temporary file beside a model.
    const c = child(
      `import * as fs from 'node:fs';
       import { exitOnInterrupt } from ${dist('node/interrupt.js')};
       import { convertFolder } from ${dist('node/batch.js')};
       exitOnInterrupt();
       const dirs = ['a', 'b', 'c', 'd'].map((m) => ${JSON.stringify(dir)} + '/' + m);
       let sent = false;
       await convertFolder(${JSON.stringify(dir)}, { jobs: 2, onProgress: () => {
         if (!sent && dirs.some((d) => fs.readdirSync(d).some((f) => f.endsWith('.tmp')))) {
           sent = true;
           process.kill(process.pid, 'SIGHUP');
         }
       } });
       console.log('finished');`,
      false,
    );
    const r = await exited(c);
    expect({ code: r.code, signal: r.signal }).toEqual({ code: 129, signal: null });
    for (const m of ['a', 'b', 'c', 'd']) expect(temps(path.join(dir, m))).toEqual([]);
  });
});

describe('temporary files left by a killed process are removed by the next write into their folder', () => {
  it('removes those of a dead pid (a real SIGKILL), never other names, live pids, or other folders', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'stale-'));
    const other = fs.mkdtempSync(path.join(tmp, 'other-'));
    const c = child(writing(path.join(dir, 'model.safetensors')));
    const end = exited(c);
    await printed(c, 'started');
    c.kill('SIGKILL');
    expect((await end).signal).toBe('SIGKILL');
    const [stale] = temps(dir);
    expect(parseTempName(stale!)).toEqual({ target: 'model.safetensors', pid: c.pid });
    fs.copyFileSync(path.join(dir, stale!), path.join(other, stale!));
    // Kept: other naming, a live pid (1 always is), a folder of the naming, this process's own.
    const keep = [
      'notes.tmp',
      '.model.safetensors.tmp',
      `.model.safetensors.${c.pid}.tmp`,
      `.model.safetensors.${c.pid}.abcdef.tmp`,
      `model.safetensors.${c.pid}.0123456789ab.tmp`,
      '.model.safetensors.1.0123456789ab.tmp',
      path.basename(tempPathFor(path.join(dir, 'model.safetensors'))),
    ];
    for (const k of keep) fs.writeFileSync(path.join(dir, k), 'keep');
    fs.mkdirSync(path.join(dir, `.sub.${c.pid}.0123456789ab.tmp`));

    await saveFile({ a: { dtype: 'U8', shape: [1], data: new Uint8Array(1) } }, path.join(dir, 'next.safetensors'));
    expect(fs.readdirSync(dir).sort()).toEqual([...keep, `.sub.${c.pid}.0123456789ab.tmp`, 'next.safetensors'].sort());
    expect(fs.readdirSync(other)).toEqual([stale]);
    // The synchronous writer sweeps too (once per folder).
    saveFileSync({ a: { dtype: 'U8', shape: [1], data: new Uint8Array(1) } }, path.join(other, 'next.safetensors'));
    expect(fs.readdirSync(other)).toEqual(['next.safetensors']);
    expect(removeStaleTemps(other)).toEqual([]);
  });
});
