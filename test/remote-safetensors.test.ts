/**
 * safetensors files and sharded sets read over HTTP from a real nginx: request counts for the header,
 * a tensor and a slice, sharded indexes resolved relative to their URL, and the CLI on URLs.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { safeOpen } from '../src/node/open-path.js';
import { saveFileSync, saveShardedFiles } from '../src/node/files.js';
import { ShardedSafetensors } from '../src/safetensors/sharded.js';
import { SafetensorsFile } from '../src/safetensors/reader.js';
import { HttpSource } from '../src/io/http-source.js';
import { findNginx, NGINX_MISSING_MESSAGE, startNginx, type NginxServer } from './helpers/nginx.js';
import { runCli } from './helpers/cli.js';

const SKIP = process.env.TENSORSAFE_SKIP_NGINX === '1';
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tensorsafe-remote-'));
let nginx: NginxServer;

function requests(): string[] {
  return nginx.accessLog().trim().split('\n').filter(Boolean);
}

describe.skipIf(SKIP)('safetensors over HTTP (nginx)', () => {
  beforeAll(async () => {
    if (!findNginx()) throw new Error(NGINX_MISSING_MESSAGE);
    const big = new Float32Array(256 * 1024).map((_, i) => i);
    saveFileSync(
      {
        big: { dtype: 'F32', shape: [256, 1024], data: big },
        small: { dtype: 'I64', shape: [3], data: new BigInt64Array([1n, 2n, 3n]) },
      },
      path.join(root, 'model.safetensors'),
      { metadata: { format: 'pt' } },
    );
    const t = (n: number, v: number) => ({ dtype: 'F32' as const, shape: [n], data: new Float32Array(n).fill(v) });
    await saveShardedFiles({ a: t(1000, 1), b: t(1000, 2), c: t(1000, 3) }, path.join(root, 'sharded'), { maxShardSize: 5000 });
    nginx = await startNginx(root);
  });
  afterAll(async () => {
    await nginx?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('header in one request, then one request per tensor and per slice', async () => {
    const before = requests().length;
    const file = (await safeOpen(`${nginx.url}/model.safetensors`)) as SafetensorsFile;
    expect(file.source).toBeInstanceOf(HttpSource);
    expect(requests().length - before).toBe(1);
    expect(file.metadata()).toEqual({ format: 'pt' });
    const big = await file.getTensor('big');
    expect((big.data as Float32Array)[123_456]).toBe(123_456);
    expect(requests().length - before).toBe(2);
    // Rows 100 and 101, first 4 columns: two runs 4 KiB apart, fetched in one request.
    const rows = await file.getSlice('big').get('100:102', '0:4');
    expect([...(rows.data as Float32Array)]).toEqual([102400, 102401, 102402, 102403, 103424, 103425, 103426, 103427]);
    expect(requests().length - before).toBe(3);
    // I64 sorts before F32, so its bytes came with the header's first 64 KiB: no request.
    expect([...((await file.getTensor('small')).data as BigInt64Array)]).toEqual([1n, 2n, 3n]);
    expect(requests().length - before).toBe(3);
    const stats = (file.source as HttpSource).stats;
    expect(stats.bytesReceived).toBeLessThanOrEqual(64 * 1024 + 1024 * 1024 + 2 * 4096 + 24);
    await file.close();
  });

  it('opens a sharded set by its index URL', async () => {
    const set = await safeOpen(`${nginx.url}/sharded/model.safetensors.index.json`);
    expect(set).toBeInstanceOf(ShardedSafetensors);
    expect(set.keys()).toEqual(['a', 'b', 'c']);
    expect([...((await set.getTensor('c')).data as Float32Array)].every((v) => v === 3)).toBe(true);
    await set.close();
  });

  it('validate and inspect take URLs', async () => {
    const v = await runCli('validate', '--json', `${nginx.url}/model.safetensors`, `${nginx.url}/missing.safetensors`);
    expect(v.lines.map((l) => JSON.parse(l))).toMatchObject([{ ok: true, tensors: 2 }, { ok: false, error: { code: 'HttpError' } }]);
    expect(v.code).toBe(3); // a URL that cannot be read is bad input, not an invalid file
    const i = await runCli('inspect', '--json', `${nginx.url}/sharded/model.safetensors.index.json`);
    expect(JSON.parse(i.stdout)).toMatchObject({ format: 'safetensors-sharded', totals: { tensors: 3, bytes: 12000 } });
  });
});
