import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { saveShardedFiles, loadFileSync } from '../src/node/files.js';
import { safeOpen } from '../src/node/open-path.js';
import { ShardedSafetensors, formatShardIndex, parseShardIndex, planShards, shardFileName } from '../src/safetensors/sharded.js';
import { TensorsafeError } from '../src/errors.js';
import { MemorySource, type ByteSource } from '../src/io/byte-source.js';
import { openShardedSet } from '../src/safetensors/open.js';
import { save } from '../src/safetensors/save.js';
import { tempDir } from './helpers/temp.js';

const tmp = tempDir('shard');

function model(): Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> {
  const t = (n: number, v: number) => ({ dtype: 'F32' as const, shape: [n], data: new Float32Array(n).fill(v) });
  return { 'layer.0.w': t(100, 0), 'layer.1.w': t(100, 1), 'layer.2.w': t(300, 2), 'layer.3.w': t(50, 3), embed: t(10, 4) };
}

describe('sharded writing (transformers layout)', () => {
  it('splits by max shard size, names shards 00001-of-0000N, writes the index', async () => {
    const dir = path.join(tmp, 'out1');
    const r = await saveShardedFiles(model(), dir, { maxShardSize: 1000, metadata: { format: 'pt' } });
    expect(r.files.map((f) => path.basename(f))).toEqual([
      'model-00001-of-00003.safetensors',
      'model-00002-of-00003.safetensors',
      'model-00003-of-00003.safetensors',
    ]);
    expect(r.totalSize).toBe(560 * 4);
    const index = fs.readFileSync(r.index!, 'utf8');
    // layer.2 (1200 bytes) is larger than the limit and gets a shard of its own at once, as in
    // huggingface_hub; 400 + 400 + 200 fill the next, and embed starts the third.
    expect(index).toBe(
      '{\n  "metadata": {\n    "total_size": 2240\n  },\n  "weight_map": {\n' +
        '    "embed": "model-00003-of-00003.safetensors",\n' +
        '    "layer.0.w": "model-00002-of-00003.safetensors",\n' +
        '    "layer.1.w": "model-00002-of-00003.safetensors",\n' +
        '    "layer.2.w": "model-00001-of-00003.safetensors",\n' +
        '    "layer.3.w": "model-00002-of-00003.safetensors"\n  }\n}\n',
    );
    expect([...loadFileSync(r.files[1]!).keys()]).toEqual(['layer.0.w', 'layer.1.w', 'layer.3.w']);
  });

  it('a set that fits in one shard is a single model.safetensors', async () => {
    const dir = path.join(tmp, 'out2');
    const r = await saveShardedFiles(model(), dir, { maxShardSize: '5GB' });
    expect(r.files.map((f) => path.basename(f))).toEqual(['model.safetensors']);
    expect(r.index).toBeUndefined();
  });

  it('plans like huggingface_hub and formats like json.dumps(indent=2, sort_keys=True)', () => {
    const specs = [10, 10, 10].map((n, i) => ({ name: `t${i}`, dtype: 'U8' as const, shape: [n] }));
    expect(planShards(specs, 20).map((s) => s.map((t) => t.name))).toEqual([['t0', 't1'], ['t2']]);
    expect(shardFileName('model', 0, 12)).toBe('model-00001-of-00012.safetensors');
    const text = formatShardIndex(3, new Map([['é', 'a.safetensors'], ['10', 'b.safetensors'], ['9', 'b.safetensors']]));
    expect(text).toContain('"10": "b.safetensors",\n    "9": "b.safetensors",\n    "\\u00e9": "a.safetensors"');
  });
});

describe('sharded reading', () => {
  it('opens the index as one logical set, locally', async () => {
    const dir = path.join(tmp, 'out3');
    const r = await saveShardedFiles(model(), dir, { maxShardSize: 1000, metadata: { format: 'pt' } });
    for (const target of [r.index!, dir]) {
      const set = await safeOpen(target);
      expect(set).toBeInstanceOf(ShardedSafetensors);
      expect(set.keys()).toEqual(['embed', 'layer.0.w', 'layer.1.w', 'layer.2.w', 'layer.3.w']);
      expect(set.metadata()).toEqual({ format: 'pt' });
      expect([...((await set.getTensor('layer.3.w')).data as Float32Array)].every((v) => v === 3)).toBe(true);
      expect((await set.getSlice('layer.2.w').get('0:2')).shape).toEqual([2]);
      expect(set.info('embed').shape).toEqual([10]);
      await set.close();
    }
  });

  it('refuses an index that points outside its folder or disagrees with the shards', async () => {
    expect(() => parseShardIndex('{"weight_map":{"a":"../x.safetensors"}}', 'i')).toThrow(TensorsafeError);
    expect(() => parseShardIndex('{"weight_map":{"a":"/etc/passwd"}}', 'i')).toThrow(/not a file name inside/);
    expect(() => parseShardIndex('{"weight_map":{"a":"https://evil/x"}}', 'i')).toThrow(/not a file name inside/);
    expect(() => parseShardIndex('[]', 'i')).toThrow(/weight_map/);
    const dir = path.join(tmp, 'out4');
    const r = await saveShardedFiles(model(), dir, { maxShardSize: 1000 });
    const index = JSON.parse(fs.readFileSync(r.index!, 'utf8'));
    index.weight_map['embed'] = 'model-00001-of-00003.safetensors';
    fs.writeFileSync(r.index!, JSON.stringify(index));
    await expect(safeOpen(r.index!)).rejects.toMatchObject({ code: 'ShardMismatch' });
    index.weight_map['embed'] = 'model-00003-of-00003.safetensors';
    delete index.weight_map['layer.3.w'];
    fs.writeFileSync(r.index!, JSON.stringify(index));
    await expect(safeOpen(r.index!)).rejects.toMatchObject({ code: 'ShardMismatch' });
    index.weight_map['layer.3.w'] = 'model-00002-of-00003.safetensors';
    index.weight_map['embed'] = 'model-00009-of-00003.safetensors';
    fs.writeFileSync(r.index!, JSON.stringify(index));
    await expect(safeOpen(r.index!)).rejects.toMatchObject({ code: 'NotFound' });
  });

  it('openShardedSet: one way to open a set, whatever opens a shard; the index closed, and every shard on failure', async () => {
    const closed: string[] = [];
    const memory = (bytes: Uint8Array, name: string): ByteSource => {
      const m = new MemorySource(bytes, name);
      return Object.assign(m, { close: async () => void closed.push(name) });
    };
    const shards = new Map([
      ['a.safetensors', save({ x: { dtype: 'F32', shape: [1], data: new Float32Array([1]) } })],
      ['b.safetensors', save({ y: { dtype: 'F32', shape: [1], data: new Float32Array([2]) } })],
    ]);
    const index = (map: object): ByteSource => memory(new TextEncoder().encode(JSON.stringify({ weight_map: map })), 'mem/model.safetensors.index.json');
    const opener = async (file: string): Promise<ByteSource> => memory(shards.get(file)!, `mem/${file}`);

    const set = await openShardedSet(index({ x: 'a.safetensors', y: 'b.safetensors' }), opener);
    expect(closed).toEqual(['mem/model.safetensors.index.json']);
    expect(set.keys()).toEqual(['x', 'y']);
    expect([...((await set.getTensor('y')).data as Float32Array)]).toEqual([2]);
    await set.close();
    expect(closed.sort()).toEqual(['mem/a.safetensors', 'mem/b.safetensors', 'mem/model.safetensors.index.json']);

    closed.length = 0;
    await expect(openShardedSet(index({ x: 'a.safetensors', y: 'a.safetensors' }), opener)).rejects.toMatchObject({ code: 'ShardMismatch' });
    expect(closed.sort()).toEqual(['mem/a.safetensors', 'mem/model.safetensors.index.json']);
    closed.length = 0;
    await expect(openShardedSet(memory(new TextEncoder().encode('{'), 'mem/bad.index.json'), opener)).rejects.toMatchObject({ code: 'InvalidShardIndex' });
    expect(closed).toEqual(['mem/bad.index.json']);
  });
});
