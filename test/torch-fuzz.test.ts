import { describe, expect, it } from 'vitest';
import { BoundedSource } from './helpers/assertions.js';
import { applyEdits, EDITS } from './helpers/fuzz.js';
import fc from 'fast-check';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MemorySource } from '../src/io/byte-source.js';
import { openTorchTensorSet } from '../src/formats/torch/weights.js';
import { readEntry } from '../src/tensor/tensor-set.js';
import { openZip } from '../src/formats/zip/index.js';
import { unpickle } from '../src/formats/pickle/machine.js';
import { TORCH_HANDLERS } from '../src/formats/torch/globals.js';
import { MODULE_CLASSES } from '../src/formats/torch/modules.js';
import { TensorsafeError } from '../src/errors.js';
import { TORCH_FIXTURES } from './helpers/torch-fixtures.js';
import { buildZip } from './helpers/zip-writer.js';

/**
 * Fuzzing the checkpoint readers: mutated real checkpoints (zip, legacy, tar, TorchScript) and
 * random opcode soup either read or fail with a coded TensorsafeError; never another exception, a
 * hang, or a read outside the file.
 */

async function exercise(bytes: Uint8Array): Promise<void> {
  try {
    const set = await openTorchTensorSet(new BoundedSource(bytes), { skipUnknown: bytes.length % 2 === 0 });
    for (const t of set.tensors) expect((await readEntry(t)).length).toBe(t.byteLength);
  } catch (e) {
    if (!(e instanceof TensorsafeError)) throw e;
  }
}

const seeds = [
  ...['dtypes_zip.pt', 'strides_legacy.pt', 'tar_format.pt', 'torchscript_module.pt', 'protocol4_zip.pt', 'views_base_legacy.pt'].map((f) => path.join(TORCH_FIXTURES, f)),
  // Whole-model pickles (module trees).
  ...['module_main.pt', 'module_legacy.pt'].map((f) => path.join(TORCH_FIXTURES, '..', 'torch-modules', f)),
].map((f) => new Uint8Array(fs.readFileSync(f)));

/** Byte range of data.pkl inside a zip, to aim mutations at the pickle rather than the archive. */
async function pickleRange(bytes: Uint8Array): Promise<[number, number] | undefined> {
  try {
    const zip = await openZip(new MemorySource(bytes));
    const e = zip.entries.find((x) => x.name.endsWith('data.pkl'));
    return e ? [e.dataOffset, e.dataOffset + e.size] : undefined;
  } catch {
    return undefined;
  }
}

/** TorchScript archives with constants.pkl and constants/ records (traced constants, a frozen module), and module trees. */
const scriptSeeds = ['constants_trace', 'frozen', 'nested_script', 'shared_trace', 'quantized_dynamic'].map(
  (f) => new Uint8Array(fs.readFileSync(path.join(import.meta.dirname, 'fixtures', 'formats', 'pytorch', `torchscript_${f}.pt`))),
);

/** Byte range of a record inside a zip (constants.pkl, a stored code/ declaration), to aim mutations at it. */
async function recordRange(bytes: Uint8Array, pattern: RegExp): Promise<[number, number] | undefined> {
  try {
    const zip = await openZip(new MemorySource(bytes));
    const e = zip.entries.find((x) => pattern.test(x.name) && x.method === 0);
    return e ? [e.dataOffset, e.dataOffset + e.size] : undefined;
  } catch {
    return undefined;
  }
}

describe('TorchScript archive fuzz', () => {
  it('mutated constants.pkl, data.pkl and archives', async () => {
    const constants = await Promise.all(scriptSeeds.map((s) => recordRange(s, /\/constants\.pkl$/)));
    const data = await Promise.all(scriptSeeds.map((s) => recordRange(s, /\/data\.pkl$/)));
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: scriptSeeds.length - 1 }), fc.constantFrom('constants', 'data', 'anywhere'), EDITS, async (which, aim, edits) => {
        const range = aim === 'constants' ? constants[which] : aim === 'data' ? data[which] : undefined;
        await exercise(applyEdits(scriptSeeds[which]!.slice(), edits, range));
      }),
      { numRuns: 1000 },
    );
  });

  it('mutated records in sound archives (CRCs recomputed): constants.pkl, data.pkl, code/ declarations', async () => {
    // Each seed's records, decompressed, so that a mutation reaches the parsers rather than the CRC check.
    const records = await Promise.all(
      scriptSeeds.map(async (s) => {
        const zip = await openZip(new MemorySource(s));
        return Promise.all(zip.entries.map(async (e) => ({ name: e.name, data: await e.read() })));
      }),
    );
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: scriptSeeds.length - 1 }), fc.nat(), EDITS, async (which, pick, edits) => {
        const entries = records[which]!;
        const targets = entries.filter((e) => /(constants|data)\.pkl$|code\/.*\.py$/.test(e.name));
        const target = targets[pick % targets.length]!;
        const edited = entries.map((e) => (e === target ? { name: e.name, data: applyEdits(e.data.slice(), edits) } : e));
        await exercise(buildZip(edited));
      }),
      { numRuns: 1000 },
    );
  });

  it('truncated archives', async () => {
    for (const seed of scriptSeeds) for (let n = 0; n < seed.length; n += Math.max(1, seed.length >> 5)) await exercise(seed.subarray(0, n));
  });
});

describe('checkpoint reader fuzz', () => {
  it('mutated checkpoints', async () => {
    const ranges = await Promise.all(seeds.map(pickleRange));
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: seeds.length - 1 }),
        EDITS,
        async (which, edits) => {
          await exercise(applyEdits(seeds[which]!.slice(), edits, ranges[which]));
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('truncated checkpoints', async () => {
    for (const seed of seeds) for (let n = 0; n < seed.length; n += Math.max(1, seed.length >> 6)) await exercise(seed.subarray(0, n));
  });

  it('random opcode soup through the machine', () => {
    const ops = fc.constantFrom(
      ...'(.0123FIJKLMNPQRSTUVXabcdeghijlopqrstu}])G'.split('').map((c) => c.charCodeAt(0)),
      ...[0x80, 0x81, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x8f, 0x90, 0x91, 0x93, 0x94, 0x95],
    );
    const soup = fc.array(fc.oneof(ops, fc.integer({ min: 0, max: 255 })), { maxLength: 80 });
    fc.assert(
      fc.property(soup, fc.boolean(), fc.boolean(), (program, skipUnknown, adopt) => {
        try {
          const adoptClasses = adopt ? MODULE_CLASSES : undefined;
          unpickle(Uint8Array.from(program), { where: 'soup', handlers: TORCH_HANDLERS, skipUnknown, adoptClasses, persistentLoad: () => null });
        } catch (e) {
          expect(e).toBeInstanceOf(TensorsafeError);
        }
      }),
      { numRuns: 20000 },
    );
  });
});
