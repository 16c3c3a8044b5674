import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { save } from '../src/safetensors/save.js';
import { MemorySource, type ByteSource } from '../src/io/byte-source.js';
import { safeOpen as safeOpenAnywhere } from '../src/safetensors/open.js';
import { formatShardIndex } from '../src/safetensors/sharded.js';
import type { SafetensorsHandle } from '../src/safetensors/reader.js';
import { safeOpen } from '../src/node/open-path.js';
import { tempDir } from './helpers/temp.js';

const bytes = save({ a: { dtype: 'U8', shape: [2], data: new Uint8Array([1, 2]) } });

/** A source that counts its closes. */
function counted(): ByteSource & { closes: number } {
  const inner = new MemorySource(bytes);
  const source = {
    name: 'counted.safetensors',
    size: inner.size,
    closes: 0,
    read: (offset: number, length: number) => inner.read(offset, length),
    close: async () => {
      source.closes++;
    },
  };
  return source;
}

describe('await using: a handle closes at the end of its block (like Python\'s `with safe_open(...)`)', () => {
  it('closes a file handle when the block ends', async () => {
    const source = counted();
    let outside: SafetensorsHandle | undefined;
    {
      await using f = await safeOpenAnywhere(source);
      outside = f;
      expect(Array.from((await f.getTensor('a')).data as Uint8Array)).toEqual([1, 2]);
      expect(source.closes).toBe(0);
    }
    expect(source.closes).toBe(1);
    await expect(outside.getTensor('a')).rejects.toMatchObject({ code: 'Closed' });
  });

  it('closes it when the block throws', async () => {
    const source = counted();
    const use = async (): Promise<void> => {
      await using f = await safeOpenAnywhere(source);
      f.info('missing');
    };
    await expect(use()).rejects.toMatchObject({ code: 'TensorNotFound' });
    expect(source.closes).toBe(1);
  });

  it('closes every shard of a sharded set', async () => {
    const dir = tempDir('dispose');
    fs.writeFileSync(path.join(dir, 'a.safetensors'), bytes);
    fs.writeFileSync(path.join(dir, 'b.safetensors'), save({ b: { dtype: 'U8', shape: [1], data: new Uint8Array([3]) } }));
    fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), formatShardIndex(3, new Map([['a', 'a.safetensors'], ['b', 'b.safetensors']])));
    let outside: SafetensorsHandle | undefined;
    {
      await using set = await safeOpen(path.join(dir, 'model.safetensors.index.json'));
      outside = set;
      expect(set.keys()).toEqual(['a', 'b']);
    }
    await expect(outside.getTensor('a')).rejects.toMatchObject({ code: 'Closed' });
    await expect(outside.getTensor('b')).rejects.toMatchObject({ code: 'Closed' });
  });
});
