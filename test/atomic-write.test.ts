import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { saveFile, saveFileSync } from '../src/node/files.js';
import { FileSink } from '../src/node/file-sink.js';
import { SafetensorsStreamWriter } from '../src/safetensors/stream-writer.js';
import { ROOT } from './helpers/paths.js';
import { tempDir } from './helpers/temp.js';

const tmp = tempDir('atomic');
const tensors = { a: { dtype: 'F32' as const, shape: [4], data: new Float32Array([1, 2, 3, 4]) } };
const leftovers = (dir: string): string[] => fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'));

describe('writes never leave a partial file nor damage an existing one', () => {
  it('a failing write leaves the existing file intact and no temporary file', async () => {
    const file = path.join(tmp, 'keep.safetensors');
    fs.writeFileSync(file, 'precious');
    const bad = { a: { dtype: 'F32' as const, shape: [5], data: new Float32Array(4) } };
    expect(() => saveFileSync(bad, file)).toThrow(/can't be created from 16 bytes/);
    await expect(saveFile(bad, file)).rejects.toMatchObject({ code: 'InvalidTensorView' });
    expect(fs.readFileSync(file, 'utf8')).toBe('precious');
    expect(leftovers(tmp)).toEqual([]);
  });

  it('an incomplete streaming write is discarded', async () => {
    const file = path.join(tmp, 'stream.safetensors');
    fs.writeFileSync(file, 'precious');
    const writer = await SafetensorsStreamWriter.create(await FileSink.create(file), [{ name: 'a', dtype: 'U8', shape: [10] }]);
    await writer.write('a', new Uint8Array(5));
    await expect(writer.close()).rejects.toMatchObject({ code: 'IncompleteWrite' });
    expect(fs.readFileSync(file, 'utf8')).toBe('precious');
    expect(leftovers(tmp)).toEqual([]);
    const w2 = await SafetensorsStreamWriter.create(await FileSink.create(file), [{ name: 'a', dtype: 'U8', shape: [2] }]);
    await expect(w2.write('a', new Uint8Array(3))).rejects.toMatchObject({ code: 'WriteOverflow' });
    expect(leftovers(tmp)).toEqual([]);
  });

  it('overwrite: false refuses an existing target', async () => {
    const file = path.join(tmp, 'exists.safetensors');
    fs.writeFileSync(file, 'precious');
    expect(() => saveFileSync(tensors, file, { overwrite: false })).toThrow(/already exists/);
    await expect(saveFile(tensors, file, { overwrite: false })).rejects.toMatchObject({ code: 'OutputExists' });
    expect(fs.readFileSync(file, 'utf8')).toBe('precious');
    saveFileSync(tensors, file);
    expect(fs.statSync(file).size).toBeGreaterThan(16);
  });

  it('a process killed mid-write leaves the target untouched', async () => {
    const file = path.join(tmp, 'killed.safetensors');
    fs.writeFileSync(file, 'precious');
    // A child streams a 2 GB file slowly; it is killed (SIGKILL: no cleanup) once writing has begun.
    const script = `
      import { SafetensorsStreamWriter } from ${JSON.stringify(path.join(ROOT, 'src/safetensors/stream-writer.ts'))};
      import { FileSink } from ${JSON.stringify(path.join(ROOT, 'src/node/file-sink.ts'))};
      const w = await SafetensorsStreamWriter.create(await FileSink.create(${JSON.stringify(file)}), [{ name: 'big', dtype: 'U8', shape: [2e9] }]);
      const chunk = new Uint8Array(1 << 20);
      console.log('started');
      for (;;) { await w.write('big', chunk); await new Promise((r) => setTimeout(r, 5)); }
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('started') && resolve());
      child.on('exit', (code) => reject(new Error(`child exited early with ${code}`)));
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(leftovers(tmp).length).toBe(1);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(fs.readFileSync(file, 'utf8')).toBe('precious');
    // SIGKILL gives no chance to clean up: the temporary file is left beside the target, never under its name.
    for (const f of leftovers(tmp)) fs.unlinkSync(path.join(tmp, f));
  });
});
