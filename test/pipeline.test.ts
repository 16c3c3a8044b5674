import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { outputsMatch, planConversion, summarizeConversion, VerificationError, writeOutputs, type ConvertInput } from '../src/convert/pipeline.js';
import { safetensorsOutput } from '../src/convert/safetensors-output.js';
import { FileSink } from '../src/node/file-sink.js';
import { FileSource } from '../src/node/file-source.js';
import { loadFileSync } from '../src/node/files.js';
import { safeOpen } from '../src/node/open-path.js';
import { STORED, type TensorEntry, type TensorSet } from '../src/tensor/tensor-set.js';
import { tempDir } from './helpers/temp.js';

/**
 * The conversion pipeline takes any TensorSet: here one made in memory, of no format at all, shows
 * that nothing in convert/ depends on where the tensors come from.
 */
const tmp = tempDir('pipeline');

function u8(name: string, bytes: number[], aliasKey?: string, change?: () => boolean): TensorEntry {
  const data = Uint8Array.from(bytes);
  return {
    name,
    dtype: 'U8',
    shape: [data.length],
    byteLength: data.length,
    aliasKey,
    encoding: STORED,
    fidelity: 'exact',
    async *chunks() {
      // `change` flips a byte on reads after the first: a source that does not read back the same.
      const copy = data.slice();
      if (change?.()) copy[0] = copy[0]! ^ 0xff;
      yield copy;
    },
  };
}

function memorySet(tensors: TensorEntry[]): TensorSet {
  return { format: 'memory', tensors, leftOut: [{ path: 'step', what: 'int 7' }], notes: ['made in memory'], close: async () => undefined };
}

function writeTo(dir: string, plan: ReturnType<typeof planConversion>) {
  return writeOutputs(plan, {
    framework: 'pt',
    records: { 'test.record': 'kept in every file and the index' },
    createSink: (i) => FileSink.create(path.join(dir, plan.files[i]!), { deferCommit: true, overwrite: true }),
    openWritten: (sink) => FileSource.open(sink.tempPath),
    writeIndex: (name, bytes) => fs.writeFileSync(path.join(dir, name), bytes),
  });
}

describe('the conversion pipeline, for a TensorSet of no format', () => {
  it('a model with no tensors is refused (NoTensors, naming it and what it holds): no empty output is planned or "verified"', () => {
    const empty: ConvertInput[] = [{ name: 'memory://empty', tensors: memorySet([]) }];
    let refused: unknown;
    try {
      planConversion(empty, { output: safetensorsOutput, stem: 'out' });
    } catch (e) {
      refused = e;
    }
    expect(refused).toMatchObject({ code: 'NoTensors', message: expect.stringMatching(/^memory:\/\/empty: no tensors to convert \(it holds only step\); nothing was written$/) });
  });

  it('dedupes tied entries, shards, writes, checks, commits and summarizes', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'ok-'));
    const inputs: ConvertInput[] = [
      { name: 'memory://a', tensors: memorySet([u8('b.weight', [1, 2, 3, 4], 'x'), u8('a.weight', [1, 2, 3, 4], 'x'), u8('c', [9, 9, 9])]) },
    ];
    const plan = planConversion(inputs, { output: safetensorsOutput, stem: 'out', maxShardSize: 4 });
    expect(plan.removed).toEqual(new Map([['b.weight', 'a.weight']]));
    expect(plan.files).toEqual(['out-00001-of-00002.safetensors', 'out-00002-of-00002.safetensors']);
    expect(plan.indexFile).toBe('out.safetensors.index.json');
    await writeTo(dir, plan);
    expect(fs.readdirSync(dir).sort()).toEqual([...plan.files, plan.indexFile!].sort());
    const set = await safeOpen(path.join(dir, plan.indexFile!));
    expect(set.metadata()).toEqual({ format: 'pt', 'b.weight': 'a.weight', 'test.record': 'kept in every file and the index' });
    await set.close();
    expect([...loadFileSync(path.join(dir, plan.files[0]!)).get('a.weight')!.data]).toEqual([1, 2, 3, 4]);
    const index = JSON.parse(fs.readFileSync(path.join(dir, plan.indexFile!), 'utf8'));
    expect(index.metadata).toEqual({ 'test.record': 'kept in every file and the index', total_size: 7 });
    expect(await outputsMatch(plan, (i) => FileSource.open(path.join(dir, plan.files[i]!)))).toBe(true);
    expect(summarizeConversion(plan)).toEqual({
      format: 'memory',
      weightsPath: '',
      tensors: 2,
      bytes: 7,
      sharedRemoved: { 'b.weight': 'a.weight' },
      leftOut: [{ path: 'step', what: 'int 7' }],
      moduleClasses: [],
      companions: [],
      notes: ['made in memory'],
      derived: 0,
    });
  });

  it('an output that does not match its source fails with VerificationError and leaves nothing', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'bad-'));
    let reads = 0;
    const plan = planConversion([{ name: 'memory://b', tensors: memorySet([u8('w', [5, 6, 7], undefined, () => reads++ > 0)]) }], { output: safetensorsOutput, stem: 'bad' });
    await expect(writeTo(dir, plan)).rejects.toBeInstanceOf(VerificationError);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('a tied name that is a key the conversion records is refused before anything is written', () => {
    const tensors = memorySet([u8('test.record', [1], 'k'), u8('a', [1], 'k')]);
    expect(() => planConversion([{ name: 'm', tensors }], { output: safetensorsOutput, stem: 'x', reservedKeys: { 'test.record': 'the test records under' } })).toThrow(
      /a tensor is named `test.record`, the metadata key the test records under/,
    );
  });

  it('files of a sharded input keep their sharding, and the index must agree with them', () => {
    const inputs = [
      { name: 'dir/one.bin', tensors: memorySet([u8('a', [1])]) },
      { name: 'dir/two.bin', tensors: memorySet([u8('b', [2])]) },
    ];
    const plan = planConversion(inputs, { output: safetensorsOutput, stem: 'model', index: new Map([['a', 'one.bin'], ['b', 'two.bin']]) });
    expect(plan.groups.map((g) => g.map((e) => e.name))).toEqual([['a'], ['b']]);
    expect(() => planConversion(inputs, { output: safetensorsOutput, stem: 'model', index: new Map([['a', 'two.bin']]) })).toThrow(/one\.bin holds `a`, which the index puts in two\.bin/);
  });
});
