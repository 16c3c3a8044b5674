import { beforeEach, describe, expect, it, vi } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TORCH_FIXTURES } from './helpers/torch-fixtures.js';
import { tempDir } from './helpers/temp.js';

/**
 * `convert` parses a checkpoint's pickle once (issue 10): the file is opened by its format's reader,
 * and the scan checks that parse (scanSource `parsed`) instead of reading the checkpoint again. The
 * data-only machine (`unpickle`) is wrapped to count its runs; the scan's symbolic analysis is a
 * different machine (scan/pickle-analysis.ts) and is not counted. Before, the scan's structure check
 * ran the whole checkpoint through the machine a second time.
 */
const runs = vi.hoisted(() => ({ count: 0 }));
vi.mock('../src/formats/pickle/machine.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../src/formats/pickle/machine.js')>();
  return {
    ...real,
    unpickle: (...args: Parameters<typeof real.unpickle>) => {
      runs.count++;
      return real.unpickle(...args);
    },
  };
});
const { convertModel } = await import('../src/node/convert.js');
const { openModel } = await import('../src/node/open-model.js');

const tmp = tempDir('one-parse');
function copy(file: string): string {
  const dir = fs.mkdtempSync(path.join(tmp, 'case-'));
  const target = path.join(dir, path.basename(file));
  fs.copyFileSync(path.join(TORCH_FIXTURES, file), target);
  return target;
}

beforeEach(() => {
  runs.count = 0;
});

describe('convert runs each pickle of a checkpoint through the data-only machine once', () => {
  it.each([
    // A torch zip holds one pickle (archive/data.pkl).
    ['tied_zip.pt', 1],
    ['dtypes_zip.pt', 1],
    // The legacy format is five pickles in a row: magic, protocol version, sys_info, the object, the storage keys.
    ['tied_legacy.pt', 5],
    ['dtypes_legacy.pt', 5],
  ])('%s: %i', async (file, pickles) => {
    const summary = await convertModel(copy(file));
    expect(summary.verified).toBe(true);
    expect(runs.count).toBe(pickles);
  });

  it('a sharded set: once per pickle of each shard', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'sharded-'));
    for (const f of fs.readdirSync(path.join(TORCH_FIXTURES, 'sharded'))) fs.copyFileSync(path.join(TORCH_FIXTURES, 'sharded', f), path.join(dir, f));
    const shards = fs.readdirSync(dir).filter((f) => f.endsWith('.bin'));
    expect(shards.length).toBe(2);
    await convertModel(dir);
    expect(runs.count).toBe(shards.length);
  });

  it('the tar format: as many runs as one read of the checkpoint', async () => {
    const { readTorchCheckpoint } = await import('../src/formats/torch/checkpoint.js');
    const { FileSource } = await import('../src/node/file-source.js');
    const src = copy('tar_format.pt');
    const source = await FileSource.open(src);
    await readTorchCheckpoint(source);
    await source.close();
    const once = runs.count;
    expect(once).toBeGreaterThan(0);
    runs.count = 0;
    await convertModel(src);
    expect(runs.count).toBe(once);
  });

  it('verify and inspect open through the same door: once too', async () => {
    const set = await openModel(copy('tied_zip.pt'));
    await set.close();
    expect(runs.count).toBe(1);
  });

  it('the pickle\'s bytes are read from disk once: the scan reads what the reader read', async () => {
    const { FileSource } = await import('../src/node/file-source.js');
    const { openZip } = await import('../src/formats/zip/index.js');
    const src = copy('sample/pytorch_model.bin');
    const probe = await FileSource.open(src);
    const pkl = (await openZip(probe)).entries.find((e) => e.name.endsWith('/data.pkl'))!;
    await probe.close();
    expect(pkl.method).toBe(0);
    // Every byte of data.pkl read from the source file (not the outputs), by any reader of it, through
    // the file's positional reads. Before, the scan read it again twice (its CRC check and its analysis).
    let pickleBytesRead = 0;
    const count = (offset: number, length: number): void => {
      pickleBytesRead += Math.max(0, Math.min(offset + length, pkl.dataOffset + pkl.size) - Math.max(offset, pkl.dataOffset));
    };
    const proto = FileSource.prototype;
    const { readInto, readIntoSync } = proto;
    proto.readInto = function (target, offset) {
      if (this.name === src) count(offset, target.byteLength);
      return readInto.call(this, target, offset);
    };
    proto.readIntoSync = function (target, offset) {
      if (this.name === src) count(offset, target.byteLength);
      return readIntoSync.call(this, target, offset);
    };
    try {
      const summary = await convertModel(src);
      expect(summary.verified).toBe(true);
    } finally {
      Object.assign(proto, { readInto, readIntoSync });
    }
    expect(pickleBytesRead).toBe(pkl.size);
  });

  it('the counter counts: reading a checkpoint twice is two runs', async () => {
    const { readTorchCheckpoint } = await import('../src/formats/torch/checkpoint.js');
    const { FileSource } = await import('../src/node/file-source.js');
    const source = await FileSource.open(copy('tied_zip.pt'));
    await readTorchCheckpoint(source);
    await readTorchCheckpoint(source);
    await source.close();
    expect(runs.count).toBe(2);
  });
});
