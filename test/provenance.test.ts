import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { convertCheckpoint } from '../src/node/convert.js';
import { convertFolder } from '../src/node/batch.js';
import { loadFileSync, saveFileSync } from '../src/node/files.js';
import { safeOpen } from '../src/node/open-path.js';
import { readProvenance } from '../src/node/provenance.js';
import { TORCH_FIXTURES } from './helpers/torch-fixtures.js';
import { runCli } from './helpers/cli.js';

/** Never the wrong model under a .safetensors name: outputs record their sources and are checked against them. */
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tensorsafe-provenance-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const sha = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const dir = (): string => fs.mkdtempSync(path.join(tmp, 'case-'));
const put = (d: string, name: string, fixture: string): string => {
  const p = path.join(d, name);
  fs.copyFileSync(path.join(TORCH_FIXTURES, fixture), p);
  return p;
};
const names = (file: string): string[] => [...loadFileSync(file).keys()].sort();
async function recorded(file: string): Promise<ReturnType<typeof readProvenance>> {
  const h = await safeOpen(file);
  try {
    return readProvenance(h.metadata());
  } finally {
    await h.close();
  }
}

describe('provenance: what an output was converted from', () => {
  it('records each source: name, size, modification time, and with sourceSha256 the SHA-256 of the whole file', async () => {
    const d = dir();
    const src = put(d, 'cnn.pt', 'tied_zip.pt');
    const plain = await convertCheckpoint(src);
    const [p] = (await recorded(plain.outputs[0]!))!;
    // The millisecond below the modification time (Node's stat.mtime rounds; a browser's File.lastModified, which the page records, truncates).
    const mtime = new Date(Math.floor(fs.statSync(src).mtimeMs)).toISOString();
    expect(p).toEqual({ file: 'cnn.pt', size: fs.statSync(src).size, mtime });
    const s = await convertCheckpoint(src, { sourceSha256: true, force: true });
    const [r] = (await recorded(s.outputs[0]!))!;
    expect(r).toEqual({ file: 'cnn.pt', size: fs.statSync(src).size, mtime, sha256: sha(src) });
    expect(s.sources).toEqual([r]);
    const cli = await runCli('convert', src, '--sha256', '--force', '--json');
    expect(JSON.parse(cli.stdout).sources[0].sha256).toBe(sha(src));
  });

  it('a sharded set records every shard, in each output shard and in the index', async () => {
    const d = dir();
    for (const f of fs.readdirSync(path.join(TORCH_FIXTURES, 'sharded'))) put(d, f, `sharded/${f}`);
    const s = await convertCheckpoint(path.join(d, 'pytorch_model.bin.index.json'), { sourceSha256: true });
    const shards = s.inputs.map((f) => ({ file: path.basename(f), sha256: sha(f) }));
    for (const out of s.outputs) expect((await recorded(out))!.map((r) => ({ file: r.file, sha256: r.sha256 }))).toEqual(shards);
    const index = JSON.parse(fs.readFileSync(s.index!, 'utf8'));
    expect(readProvenance(index.metadata)!.map((r) => r.sha256)).toEqual(shards.map((x) => x.sha256));
    // A second run: every output is current, nothing is written.
    const again = await convertCheckpoint(path.join(d, 'pytorch_model.bin.index.json'));
    expect(again.upToDate).toBe(true);
  });

  it('an output converted from the source as it is now is left alone (not rewritten)', async () => {
    const d = dir();
    const src = put(d, 'cnn.pt', 'tied_zip.pt');
    const first = await convertCheckpoint(src);
    const before = fs.statSync(first.outputs[0]!);
    const again = await convertCheckpoint(src);
    expect(again).toMatchObject({ upToDate: true, verified: false });
    const after = fs.statSync(first.outputs[0]!);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
  });

  it('a replaced source is converted again (single file): the stale output is not kept', async () => {
    const d = dir();
    const src = put(d, 'cnn.pt', 'tied_zip.pt');
    const out = (await convertCheckpoint(src)).outputs[0]!;
    const oldNames = names(out);
    fs.copyFileSync(path.join(TORCH_FIXTURES, 'dtypes_zip.pt'), src); // another model under the same name
    const again = await convertCheckpoint(src);
    expect(again.upToDate).toBe(false);
    expect(again.verified).toBe(true);
    expect(names(out)).not.toEqual(oldNames);
    expect((await recorded(out))![0]!.size).toBe(fs.statSync(src).size);
  });

  it('a source changed without changing its size, name or time is converted again: the content decides', async () => {
    const d = dir();
    const src = put(d, 'cnn.pt', 'tied_legacy.pt');
    const out = (await convertCheckpoint(src)).outputs[0]!;
    const stat = fs.statSync(src);
    const bytes = fs.readFileSync(src);
    bytes[bytes.length - 1]! ^= 0xff; // the last byte is tensor data of the legacy format
    fs.writeFileSync(src, bytes);
    fs.utimesSync(src, stat.atime, stat.mtime); // same size, same modification time
    const before = fs.readFileSync(out);
    const again = await convertCheckpoint(src);
    expect(again.upToDate).toBe(false);
    expect(again.verified).toBe(true);
    expect(fs.readFileSync(out).equals(before)).toBe(false); // the new bytes, not the old output
  });

  it('never replaces an output converted from another source: m.bin after m.pt', async () => {
    const d = dir();
    const pt = put(d, 'm.pt', 'tied_zip.pt');
    const bin = put(d, 'm.bin', 'dtypes_zip.pt');
    const out = (await convertCheckpoint(pt)).outputs[0]!;
    const kept = fs.readFileSync(out);
    await expect(convertCheckpoint(bin)).rejects.toMatchObject({ code: 'OutputExists', message: expect.stringMatching(/converted from m\.pt, not from m\.bin/) });
    expect(fs.readFileSync(out).equals(kept)).toBe(true);
    const cli = await runCli('convert', bin);
    expect(cli.code).toBe(3);
    expect(cli.stderr).toMatch(/OutputExists: .*m\.safetensors already exists: it was converted from m\.pt, not from m\.bin.*--force replaces it/);
    // With --force the user says so: replaced, and recorded as m.bin's.
    expect((await runCli('convert', bin, '--force')).code).toBe(0);
    expect((await recorded(out))![0]!.file).toBe('m.bin');
  });

  it('never replaces a file tensorsafe did not write (no record) without --force', async () => {
    const d = dir();
    const src = put(d, 'cnn.pt', 'tied_zip.pt');
    const mine = path.join(d, 'cnn.safetensors');
    saveFileSync({ x: { dtype: 'F32', shape: [1], data: new Float32Array([1]) } }, mine);
    const kept = fs.readFileSync(mine);
    await expect(convertCheckpoint(src)).rejects.toMatchObject({ code: 'OutputExists', message: expect.stringMatching(/tensorsafe did not write it from cnn\.pt \(it has no tensorsafe record/) });
    expect(fs.readFileSync(mine).equals(kept)).toBe(true);
    fs.writeFileSync(mine, 'not safetensors');
    await expect(convertCheckpoint(src)).rejects.toMatchObject({ code: 'OutputExists', message: expect.stringMatching(/not a valid safetensors file/) });
    expect((await convertCheckpoint(src, { force: true })).verified).toBe(true);
  });

  it('batch: a replaced model is converted again, an unchanged one skipped', async () => {
    const d = dir();
    const src = put(d, 'cnn.pt', 'tied_zip.pt');
    put(d, 'other.pt', 'tied_legacy.pt');
    expect((await convertFolder(d, { jobs: 1 })).summary).toMatchObject({ converted: 2, skipped: 0 });
    fs.copyFileSync(path.join(TORCH_FIXTURES, 'dtypes_zip.pt'), src);
    const again = await convertFolder(d, { jobs: 1 });
    const by = Object.fromEntries(again.models.map((m) => [path.basename(m.path), m]));
    expect(by['cnn.pt']).toMatchObject({ status: 'converted', verified: true });
    expect(by['other.pt']).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/already converted: the outputs hold exactly what other\.pt converts to \(checked bit for bit\)/) });
    const expected = JSON.parse(fs.readFileSync(path.join(TORCH_FIXTURES, 'dtypes_zip.expected.json'), 'utf8'));
    expect(names(path.join(d, 'cnn.safetensors'))).toEqual(Object.keys(expected.tensors).sort());
    expect((await recorded(path.join(d, 'cnn.safetensors')))![0]!.size).toBe(fs.statSync(src).size);
  });

  it('batch: two sources for one output (m.pt and m.bin; model.pt and pytorch_model.bin) both fail, nothing written', async () => {
    const d = dir();
    put(d, 'm.pt', 'tied_zip.pt');
    put(d, 'm.bin', 'dtypes_zip.pt');
    fs.mkdirSync(path.join(d, 'hf'));
    put(path.join(d, 'hf'), 'model.pt', 'tied_zip.pt');
    put(path.join(d, 'hf'), 'pytorch_model.bin', 'tied_legacy.pt');
    put(d, 'fine.pt', 'tied_legacy.pt');
    for (const jobs of [1, 3]) {
      const report = await convertFolder(d, { jobs });
      const by = Object.fromEntries(report.models.map((m) => [path.relative(d, m.path), m]));
      expect(by['m.pt']).toMatchObject({ status: 'failed', code: 'OutputConflict', reason: expect.stringMatching(/m\.pt and .*m\.bin would both be converted to .*m\.safetensors/) });
      expect(by['m.bin']).toMatchObject({ status: 'failed', code: 'OutputConflict', reason: expect.stringMatching(/m\.bin and .*m\.pt/) });
      expect(by['hf/model.pt']).toMatchObject({ status: 'failed', code: 'OutputConflict' });
      expect(by['hf/pytorch_model.bin']).toMatchObject({ status: 'failed', code: 'OutputConflict' });
      expect(by['fine.pt']!.status).toMatch(/converted|skipped/);
      expect(fs.existsSync(path.join(d, 'm.safetensors'))).toBe(false);
      expect(fs.existsSync(path.join(d, 'hf', 'model.safetensors'))).toBe(false);
    }
    const cli = await runCli('convert', d, '--recursive', '--jobs', '2');
    expect(cli.code).toBe(3);
    expect(cli.stdout).toMatch(/OutputConflict/);
  });

  it('an earlier output that would be loaded instead of the new one is removed; a foreign one stops the conversion', async () => {
    const d = dir();
    const src = put(d, 'pytorch_model.bin', 'sample/pytorch_model.bin');
    await convertCheckpoint(src); // model.safetensors
    const sharded = await convertCheckpoint(src, { maxShardSize: '100KB' }); // model-0000k-of-0000N + index
    expect(sharded.outputs.length).toBeGreaterThan(1);
    expect(fs.existsSync(path.join(d, 'model.safetensors'))).toBe(false); // transformers would load it first
    expect(sharded.notes).toContain('removed model.safetensors, an earlier output that would have been loaded instead of this one');
    const single = await convertCheckpoint(src);
    expect(fs.readdirSync(d).sort()).toEqual(['model.safetensors', 'pytorch_model.bin']); // shards and index of the earlier run gone
    expect(single.verified).toBe(true);
    // Someone else's shard in the way: refused, nothing touched.
    const foreign = path.join(d, 'model-00001-of-00002.safetensors');
    saveFileSync({ x: { dtype: 'F32', shape: [1], data: new Float32Array([1]) } }, foreign);
    fs.rmSync(path.join(d, 'model.safetensors'));
    await expect(convertCheckpoint(src)).rejects.toMatchObject({ code: 'OutputExists', message: expect.stringMatching(/model-00001-of-00002\.safetensors is in the way/) });
    expect(fs.readdirSync(d).sort()).toEqual(['model-00001-of-00002.safetensors', 'pytorch_model.bin']);
  });
});

describe('a folder with two models under one name is not guessed at', () => {
  it('model.safetensors beside model.safetensors.index.json: verify, inspect and safeOpen name both', async () => {
    const d = dir();
    for (const f of fs.readdirSync(path.join(TORCH_FIXTURES, 'sharded'))) put(d, f, `sharded/${f}`);
    await convertCheckpoint(path.join(d, 'pytorch_model.bin.index.json'));
    saveFileSync({ x: { dtype: 'F32', shape: [1], data: new Float32Array([1]) } }, path.join(d, 'model.safetensors'));
    await expect(safeOpen(d)).rejects.toMatchObject({ code: 'AmbiguousModel', message: expect.stringMatching(/both model\.safetensors and model\.safetensors\.index\.json/) });
    const r = await runCli('verify', d, d);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/AmbiguousModel/);
    expect((await runCli('inspect', path.join(d, 'model.safetensors'))).code).toBe(0); // named: fine
  });
});
