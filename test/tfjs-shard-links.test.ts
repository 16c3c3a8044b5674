import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { scanFile } from '../src/node/scan-file.js';
import { tempDir } from './helpers/temp.js';

/** A local TF.js model whose shard name is fine but whose file is a symbolic link out of the folder. */
describe('TF.js shards that are symbolic links out of the folder', () => {
  it('scan reports them (tfjs-node reads through the link), a shard inside stays fine', async () => {
    const dir = tempDir('tfjs-shard-links');
    const outsideDir = tempDir('tfjs-shard-links-secret');
    fs.writeFileSync(path.join(outsideDir, 'secret'), 'abcd');
    fs.writeFileSync(path.join(dir, 'inside.bin'), 'abcd');
    fs.symlinkSync(path.join(outsideDir, 'secret'), path.join(dir, 'w.bin'));
    const manifest = (p: string) => JSON.stringify({ weightsManifest: [{ paths: [p], weights: [{ name: 'a', shape: [1], dtype: 'float32' }] }] });
    fs.writeFileSync(path.join(dir, 'model.json'), manifest('w.bin'));
    fs.writeFileSync(path.join(dir, 'ok.json'), manifest('inside.bin'));
    const bad = await scanFile(path.join(dir, 'model.json'));
    expect(bad.verdict).toBe('suspicious');
    expect(bad.findings.filter((f) => f.severity !== 'info')).toMatchObject([{ rule: 'tfjs/weights-path-outside', message: expect.stringContaining('symbolic link') }]);
    expect((await scanFile(path.join(dir, 'ok.json'))).verdict).toBe('safe');
  });
});
