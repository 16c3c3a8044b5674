// Issue 9, conversion side: for any input, reading a checkpoint (convert, verify) ends with a result
// or a coded error, in time and memory linear in the file: no walk of shared structure per path, no
// recursion the input can deepen, no copy made per use, and named limits where work is unbounded.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { unpickle, type MachineOptions } from '../src/formats/pickle/machine.js';
import { BUILTIN_HANDLERS } from '../src/formats/pickle/builtins.js';
import { MAX_PICKLE_HEAP_BYTES } from '../src/formats/pickle/limits.js';
import { PyDict, PyTuple, type PyValue } from '../src/formats/pickle/values.js';
import { TORCH_HANDLERS, MAX_TENSOR_DIMS } from '../src/formats/torch/globals.js';
import { MAX_CHECKPOINT_NAME_CHARS, MAX_CHECKPOINT_VISITS } from '../src/formats/torch/visits.js';
import { openTorchTensorSet } from '../src/formats/torch/weights.js';
import { MemorySource } from '../src/io/byte-source.js';
import { unpickleAt } from '../src/formats/torch/pickle-window.js';
import * as adv from './helpers/adversarial-pickles.js';
import { buildZip } from './helpers/zip-writer.js';
import { ROOT } from './helpers/paths.js';
import { tempDir } from './helpers/temp.js';

const opts: MachineOptions = { where: 'crafted.pkl', handlers: BUILTIN_HANDLERS };
const run = (bytes: Uint8Array, o: Partial<MachineOptions> = {}): PyValue => unpickle(bytes, { ...opts, ...o }).value;
const latin1 = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'));
const u32 = (n: number): string => String.fromCharCode(n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff);
const open = (bytes: Uint8Array, skipUnknown = false) => openTorchTensorSet(new MemorySource(bytes, 'crafted.pt'), { skipUnknown });

/** `torch._utils._rebuild_tensor_v2(storage '0' of one float, 0, (1,), (1,), False, OrderedDict())` with its callee and arguments memoized at 250 and 251. */
const TENSOR =
  'ctorch._utils\n_rebuild_tensor_v2\nq\xfa' +
  '((U\x07storagectorch\nFloatStorage\nU\x010U\x03cpuK\x01tQK\x00K\x01\x85K\x01\x85\x89ccollections\nOrderedDict\n)Rtq\xfbR';
/** One more distinct tensor of the same storage. */
const ANOTHER_TENSOR = 'h\xfah\xfbR';

/** A zip checkpoint (torch.save's layout) around a protocol 2 pickle, with storage 0 holding one float. */
function checkpoint(pickle: string | Uint8Array): Uint8Array {
  const data = typeof pickle === 'string' ? latin1(pickle) : pickle;
  return buildZip([
    { name: 'archive/data.pkl', data },
    { name: 'archive/data/0', data: new Uint8Array([0, 0, 0x80, 0x3f]) },
  ]);
}

describe('the machine: shared, deep and flooding pickles', () => {
  it('a tuple DAG 40 levels deep used as a dict key is hashed once per tuple, not per path', () => {
    const d = run(adv.sharedTupleKey(40)) as PyDict;
    expect(d.size).toBe(1);
    expect(d.keys()[0]).toBeInstanceOf(PyTuple);
  });

  it('dict keys are equal as in Python: 1, 1.0 and True are one key (the first kept), equal tuples and bytes one key, str and bytes apart', () => {
    // {1: 'a', True: 'b', 1.0: 'c', (1, 2): 'd', (1, 2): 'e', b'ab': 'f', b'ab': 'g', 'bytes:97,98': 'h'}
    const d = run(
      latin1(
        '\x80\x04}(K\x01\x8c\x01a\x88\x8c\x01bG?\xf0\x00\x00\x00\x00\x00\x00\x8c\x01cK\x01K\x02\x86\x8c\x01dK\x01K\x02\x86\x8c\x01eC\x02ab\x8c\x01fC\x02ab\x8c\x01g\x8c\x0bbytes:97,98\x8c\x01hu.',
      ),
    ) as PyDict;
    expect(d.size).toBe(4);
    expect(d.keys()[0]).toBe(1);
    expect(d.get(1)).toBe('c');
    expect(d.get(true)).toBe('c');
    expect(d.get(new PyTuple([1, 2]))).toBe('e');
    expect(d.get(new Uint8Array([0x61, 0x62]))).toBe('g');
    expect(d.get('bytes:97,98')).toBe('h');
  });

  it('a dict with tuple keys is still found by its own keys after another pickle was read', () => {
    const d = run(latin1('\x80\x04}K\x01K\x02\x86\x8c\x01as.')) as PyDict;
    run(adv.sharedTupleKey(3));
    expect(d.get(d.keys()[0]!)).toBe('a');
  });

  it('a 100 000-deep TUPLE1 chain, 100 000 nested lists and an APPENDS of 300 000 items are read without recursion', () => {
    let v = run(adv.deepTuples(100_000));
    for (let i = 0; i < 100_000; i++) v = (v as PyTuple).items[0]!;
    expect(v).toBeNull();
    expect(Array.isArray(run(adv.deepLists(100_000)))).toBe(true);
    expect((run(adv.bigAppends(300_000)) as PyValue[]).length).toBe(300_000);
  });

  it('a list and a dict that contain themselves', () => {
    const d = run(adv.selfContaining()) as PyDict;
    expect(d.get('self')).toBe(d);
    const list = d.get('list') as PyValue[];
    expect(list[0]).toBe(list);
  });

  it('the memo: a MEMOIZE flood, and indices put ahead of the dense part, numbered as CPython numbers them (len(memo))', () => {
    expect(run(adv.memoizeFlood(200_000))).toEqual([]);
    // 'a' put at 1, 'z' at 0, then MEMOIZE 'b' at len(memo) = 2.
    expect((run(latin1('\x80\x04\x8c\x01aq\x010\x8c\x01zq\x000\x8c\x01b\x940h\x00h\x01h\x02\x87.')) as PyTuple).items).toEqual(['z', 'a', 'b']);
    // 'a' put at 1; MEMOIZE takes len(memo) = 1 for 'b' and again for 'c'.
    expect(run(latin1('\x80\x04\x8c\x01aq\x010\x8c\x01b\x940\x8c\x01c\x940h\x01.'))).toBe('c');
  });

  it('bytes(b) is b, as in CPython: no copy made each time a pickle passes the same bytes again', () => {
    const v = run(latin1('\x80\x04C\x03abc\x94\x8c\x08builtins\x8c\x05bytes\x93h\x00\x85R\x86.')) as PyTuple;
    expect(v.items[1]).toBe(v.items[0]);
  });

  it('handlers that copy a value passed to them many times over stop at MAX_PICKLE_HEAP_BYTES', () => {
    // A list of 900 000 Nones, then set(list) 200 times: 1.4 GB of copies from a 1 MB pickle.
    const parts = ['\x80\x04\x8c\x08builtins\x8c\x03set\x93\x94](', 'N'.repeat(900_000), 'e\x94'];
    for (let i = 0; i < 200; i++) parts.push('h\x00h\x01\x85R0');
    parts.push('.');
    expect(() => run(latin1(parts.join('')))).toThrow(expect.objectContaining({ code: 'PickleLimit', message: expect.stringContaining(`more than ${MAX_PICKLE_HEAP_BYTES} bytes`) }));
  });

  it('a tensor size of more dimensions than MAX_TENSOR_DIMS is refused before it is checked', () => {
    const dims = 'K\x01'.repeat(MAX_TENSOR_DIMS + 1);
    expect(() => run(latin1(`\x80\x02ctorch\nSize\n(${dims}t\x85R.`), { handlers: TORCH_HANDLERS })).toThrow(
      expect.objectContaining({ code: 'PickleLimit', message: expect.stringContaining(`more than ${MAX_TENSOR_DIMS}`) }),
    );
  });
});

describe('the walks over a checkpoint: each value once, no recursion, a budget', () => {
  it('deep nesting gives a coded error, not a RangeError', async () => {
    await expect(open(adv.deepTuples(100_000))).rejects.toMatchObject({ code: 'NoTensors' });
    await expect(open(adv.deepLists(100_000))).rejects.toMatchObject({ code: 'NoTensors' });
    await expect(open(adv.selfContaining())).rejects.toMatchObject({ code: 'NoTensors' });
    await expect(open(adv.sharedDag(40))).rejects.toMatchObject({ code: 'NoTensors' });
    await expect(open(adv.sharedDag(40, 'dict'))).rejects.toMatchObject({ code: 'NoTensors' });
  });

  it('a tensor at the bottom of 100 000 nested tuples is found and named by its path', async () => {
    const set = await open(checkpoint(`\x80\x02${TENSOR}${'\x85'.repeat(100_000)}.`));
    expect(set.tensors.map((t) => t.name)).toEqual([Array(100_000).fill('0').join('.')]);
  });

  it('a tensor shared 2^40 times over through the memo is named once per value entered, beside a left-out DAG', async () => {
    // {'w': L(40), 'x': L(40)} with L(0) = [tensor]: each list is entered once.
    const levels: string[] = [];
    for (let i = 1; i <= 40; i++) levels.push(`0(j${u32(i - 1)}j${u32(i - 1)}lr${u32(i)}`);
    const set = await open(checkpoint(`\x80\x02}(U\x01w]${TENSOR}ar\x00\x00\x00\x00${levels.join('')}U\x01xj${u32(40)}u.`));
    expect(set.tensors.map((t) => t.name)).toEqual([`w${'.0'.repeat(41)}`]);
  });

  it('names that nesting makes longer at every level stop at MAX_CHECKPOINT_NAME_CHARS, not at the memory', async () => {
    // (((…, t), t), t) 20 000 deep: a tensor named at every level, 400 million characters of names in all.
    const set = open(checkpoint(`\x80\x02N${TENSOR}q\x010${'h\x01\x86'.repeat(20_000)}.`));
    await expect(set).rejects.toMatchObject({ code: 'CheckpointLimit', message: expect.stringContaining(`${MAX_CHECKPOINT_NAME_CHARS} characters`) });
  });

  it('a tensor referenced 100 000 times is named 100 000 times, one entry\'s parts shared', async () => {
    const set = await open(checkpoint(`\x80\x02](${TENSOR}q\x01${'h\x01'.repeat(99_999)}e.`));
    expect(set.tensors.length).toBe(100_000);
    expect(set.tensors[99_999]!.name).toBe('99999');
    expect(set.tensors[99_999]!.aliasKey).toBe(set.tensors[0]!.aliasKey);
  });

  it('a module tree 100 000 deep is named without recursion', async () => {
    const SEQ = 'ctorch.nn.modules.container\nSequential\n)\x81';
    const parts = ['\x80\x02'];
    for (let i = 0; i < 100_000; i++) {
      const child = i === 0 ? '' : `(U\x01mj${u32(i - 1)}u`;
      parts.push(`${SEQ}}(U\x0b_parameters}U\x08_buffers}U\x08_modules}${child}ubr${u32(i)}0`);
    }
    parts.push(`j${u32(99_999)}.`);
    await expect(open(latin1(parts.join('')))).rejects.toMatchObject({ code: 'NoTensors' });
  });

  it('objects that share one state holding many tensors are summarized within MAX_CHECKPOINT_VISITS', async () => {
    // {'w': tensor, 'o': [foo.Bar() with state S] * 5000}, S = 5000 distinct tensors: 25 million visits if each summary walked S.
    const tensors = `](${ANOTHER_TENSOR.repeat(5000)}eq\x02`;
    const objects = `](${'cfoo\nBar\n)Rh\x02b'.repeat(5000)}e`;
    const bytes = checkpoint(`\x80\x02}(U\x01w${TENSOR}${tensors}0U\x01o${objects}u.`);
    await expect(open(bytes, true)).rejects.toMatchObject({ code: 'CheckpointLimit', message: expect.stringContaining(`${MAX_CHECKPOINT_VISITS}`) });
  });

  it('many small pickles in a row (the tar format\'s records) are read from one window, not a window each', async () => {
    // 20 000 pickles of 3 bytes: a 1 MiB window each would read 20 GB.
    const bytes = latin1('\x80\x02N.'.repeat(20_000) + 'x'.repeat(1 << 20));
    let read = 0;
    const source = new MemorySource(bytes, 'records');
    const counting = Object.assign(Object.create(source) as MemorySource, {
      read: (offset: number, length: number) => {
        read += length;
        return source.read(offset, length);
      },
    });
    let pos = 0;
    for (let i = 0; i < 20_000; i++) pos = (await unpickleAt(counting, pos, opts)).end;
    expect(pos).toBe(80_000);
    expect(read).toBeLessThan(4 * bytes.length);
  });
});

describe('peak memory of a flood, in a child process', () => {
  it('a million empty dicts (2 MB) and a million distinct byte strings (4 MB) stay under 300 MB resident (417 MB and 239 MB before issue 9)', () => {
    const dist = path.join(ROOT, 'dist', 'index.js');
    const io = path.join(ROOT, 'dist', 'io', 'byte-source.js');
    if (!fs.existsSync(dist)) return; // npm test builds dist first
    const dir = tempDir('flood');
    for (const [name, bytes] of [
      ['dicts.pkl', adv.emptyDictsList(1_000_000)],
      ['bytes.pkl', adv.distinctBytesFlood(1_000_000)],
    ] as const) {
      const file = path.join(dir, name);
      fs.writeFileSync(file, bytes);
      const script = `const { openTorchTensorSet } = await import(${JSON.stringify(dist)});
        const { MemorySource } = await import(${JSON.stringify(io)});
        const fs = await import('node:fs');
        try { await openTorchTensorSet(new MemorySource(fs.readFileSync(${JSON.stringify(file)}), 'f')); } catch (e) { console.log(e.code); }
        console.log(process.resourceUsage().maxRSS);`;
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
      const [code, rssKb] = r.stdout.trim().split('\n');
      expect(code).toBe('NoTensors');
      expect(Number(rssKb)).toBeLessThan(300 * 1024);
    }
  });
});
