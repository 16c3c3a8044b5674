import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { workerExecArgv } from '../src/node/worker-argv.js';
import { ROOT } from './helpers/paths.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tensorsafe-worker-argv-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('worker threads started from a process run as `node --input-type=module -e`', () => {
  it('workerExecArgv drops --input-type (both spellings) and keeps the rest', () => {
    expect(workerExecArgv(['--input-type=module', '--expose-gc'])).toEqual(['--expose-gc']);
    expect(workerExecArgv(['--max-old-space-size=64', '--input-type', 'module', '--no-warnings'])).toEqual(['--max-old-space-size=64', '--no-warnings']);
    expect(workerExecArgv([])).toEqual([]);
  });

  // The built package (dist/, built by `npm test` first) hashes the source in a worker thread (--sha256)
  // and converts folders with a pool of them: both used to die with ERR_INPUT_TYPE_NOT_ALLOWED here.
  it('the hashing worker (convertCheckpoint with sourceSha256) and convertFolder work there', () => {
    const src = path.join(tmp, 'pytorch_model.bin');
    fs.copyFileSync(path.join(ROOT, 'test/fixtures/torch/sample/pytorch_model.bin'), src);
    const dist = (f: string): string => JSON.stringify(path.join(ROOT, 'dist/node', f));
    const script = `
      const { convertCheckpoint } = await import(${dist('convert.js')});
      const { convertFolder } = await import(${dist('batch.js')});
      const { scanFile } = await import(${dist('scan-file.js')});
      const scanned = await scanFile(${JSON.stringify(src)});
      const one = await convertCheckpoint(${JSON.stringify(src)}, { force: true, sourceSha256: true });
      const all = await convertFolder(${JSON.stringify(tmp)}, { force: true, jobs: 2 });
      console.log(JSON.stringify({ verdict: scanned.verdict, verified: one.verified, sha256: one.sources[0].sha256, failed: all.summary.failed }));`;
    // With a flag a worker cannot take (--expose-gc, as `npm run bench` runs) and without.
    for (const flags of [['--input-type=module'], ['--expose-gc', '--input-type=module']]) {
      const r = spawnSync(process.execPath, [...flags, '-e', script], { cwd: ROOT, encoding: 'utf8' });
      expect([flags, r.stderr]).toEqual([flags, '']);
      expect(r.status).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({ verdict: 'safe', verified: true, sha256: expect.stringMatching(/^[0-9a-f]{64}$/), failed: 0 });
    }
  });
});
