import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ByteSource } from '../src/io/byte-source.js';
import type { Finding, ScanContext } from '../src/formats/findings.js';
import { scanGguf } from '../src/formats/gguf/scan-rules.js';
import { scanHdf5 } from '../src/formats/hdf5/scan-rules.js';
import { scanKerasConfig } from '../src/formats/keras/config-rules.js';
import { scanNpy } from '../src/formats/numpy/scan-rules.js';
import { scanOnnx } from '../src/formats/onnx/scan-rules.js';
import { scanSafetensors } from '../src/formats/safetensors/scan-rules.js';
import { scanTfjsModelJson } from '../src/formats/tfjs/scan-rules.js';
import { scanTflite } from '../src/formats/tflite/scan-rules.js';
import { formatsCorpus, HAVE_CORPUS } from './helpers/corpus.js';
import { ROOT } from './helpers/paths.js';
import { gguf, npy, onnxExternalTensor, onnxModel, onnxNode, pb, tfliteModel } from './fixtures/scan/craft.js';

/**
 * Every format scanner on mutated real and crafted files and on random bytes: the only outcome is
 * findings (well-formed ones), never an exception, never a read outside the source, never a long run.
 */

type ByteScanner = (source: ByteSource, ctx: ScanContext) => Promise<void>;
const SCANNERS: [string, ByteScanner][] = [
  ['gguf', scanGguf],
  ['npy', scanNpy],
  ['onnx', scanOnnx],
  ['hdf5', scanHdf5],
  ['tflite', scanTflite],
  ['safetensors', scanSafetensors],
  ['tfjs', async (s, ctx) => scanTfjsModelJson(new TextDecoder().decode(await s.read(0, s.size)), ctx, ctx.file)],
  ['keras', async (s, ctx) => scanKerasConfig(new TextDecoder().decode(await s.read(0, s.size)), ctx, ctx.file)],
];
/** A scan of a small input that takes longer than this is a hang for our purposes. */
const MAX_MS_PER_SCAN = 3000;
const SEVERITIES = new Set(['info', 'suspicious', 'dangerous', 'error']);

/** A source that fails the test on any read outside [0, size). */
class CheckedSource implements ByteSource {
  readonly size: number;
  readonly name = 'fuzz';
  violations: string[] = [];
  bytesRead = 0;
  constructor(readonly bytes: Uint8Array) {
    this.size = bytes.length;
  }
  read(offset: number, length: number): Promise<Uint8Array> {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
      this.violations.push(`read(${offset}, ${length}) of a ${this.size}-byte source`);
      return Promise.reject(new Error('read outside the source'));
    }
    this.bytesRead += length;
    return Promise.resolve(this.bytes.slice(offset, offset + length));
  }
}

async function runAll(bytes: Uint8Array): Promise<void> {
  for (const [name, scan] of SCANNERS) {
    const source = new CheckedSource(bytes);
    const findings: Finding[] = [];
    let pickles = 0;
    const ctx: ScanContext = {
      file: 'fuzz.bin',
      dir: undefined,
      report: (f) => findings.push(f),
      scanPickle: (b, location) => {
        pickles++;
        expect(b).toBeInstanceOf(Uint8Array);
        expect(location.startsWith('fuzz.bin')).toBe(true);
      },
    };
    const t0 = performance.now();
    await scan(source, ctx).catch((e: unknown) => {
      throw new Error(`${name} threw on ${bytes.length} bytes: ${e instanceof Error ? e.stack : String(e)}`);
    });
    const ms = performance.now() - t0;
    expect([name, source.violations]).toEqual([name, []]);
    expect([name, ms < MAX_MS_PER_SCAN]).toEqual([name, true]);
    for (const f of findings) {
      expect(SEVERITIES.has(f.severity)).toBe(true);
      expect(f.rule).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*\/[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(typeof f.message === 'string' && f.message.length > 0).toBe(true);
      expect(f.location.startsWith('fuzz.bin')).toBe(true);
    }
    expect(findings.length + pickles).toBeGreaterThan(0); // every scan says something
  }
}

// --- seeds -----------------------------------------------------------------------------------------------

const fixtureDir = path.join(ROOT, 'test/fixtures/scan');
const seeds: Uint8Array[] = fs
  .readdirSync(fixtureDir)
  .filter((f) => !f.endsWith('.ts'))
  .map((f) => new Uint8Array(fs.readFileSync(path.join(fixtureDir, f))));
seeds.push(
  gguf(
    [
      ['general.architecture', { type: 'str', value: 'llama' }],
      ['general.alignment', { type: 'u32', value: 64 }],
      ['tokenizer.ggml.tokens', { type: 'strs', value: ['a', 'bb', 'ccc'] }],
      ['tokenizer.ggml.scores', { type: 'f32s', value: [1, 2, 3] }],
      ['tokenizer.chat_template', { type: 'str', value: "{{ lipsum.__globals__['os'].popen('id').read() }}" }],
      ['general.flag', { type: 'bool', value: 1 }],
    ],
    [
      { name: 'a', ne: [8, 2] },
      { name: 'b', ne: [4] },
    ],
    { alignment: 64 },
  ),
  npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", new Uint8Array(24)),
  npy("{'descr': [('a', '<i4'), ('b', [('c', '|O')], (2,))], 'fortran_order': True, 'shape': (1,), }", Uint8Array.of(0x80, 4, 0x4b, 1, 0x2e)),
  onnxModel(
    [onnxNode('If', [pb.msg(5, pb.str(1, 'then_branch'), pb.msg(6, onnxExternalTensor(5, 'w', '../x'), pb.str(2, 'b')))]), onnxExternalTensor(5, 'v', 'v.bin'), pb.msg(15, onnxExternalTensor(1, 's', 's.bin'))],
    [pb.msg(25, pb.str(1, 'f'), pb.str(10, 'd'), onnxNode('Relu', [], 'x.y', 7))],
  ),
  tfliteModel({ codes: [[0], [32, 'MyOp'], [32, 'FlexFoo']], externalGroups: ['w.bin', '../w.bin'] }),
  new TextEncoder().encode(
    JSON.stringify({
      format: 'layers-model',
      modelTopology: { class_name: 'Sequential', config: { name: 's', layers: [{ class_name: 'Lambda', config: { name: 'l', function: ['YWJj', null, null], function_type: 'lambda' } }] } },
      weightsManifest: [{ paths: ['w.bin', '../x.bin'], weights: [] }],
    }),
  ),
);
if (HAVE_CORPUS) {
  for (const format of ['gguf', 'npy', 'onnx', 'keras-h5', 'tfjs', 'tflite', 'safetensors']) {
    for (const row of formatsCorpus(format)) {
      if (/\.(tsv|pb|bin|data|csv)$/.test(row.file) || !fs.existsSync(row.path)) continue;
      if (fs.statSync(row.path).size <= 64 * 1024) seeds.push(new Uint8Array(fs.readFileSync(row.path)));
    }
  }
}

// --- mutations ------------------------------------------------------------------------------------------

const INTERESTING = [0, 1, 2, 0x7f, 0x80, 0xff, 0xffff, 0x7fffffff, 0xffffffff, 0xfffffffe, 0x10000, 8, 9, 32, 64];
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('byte'), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('word'), at: fc.nat(), value: fc.constantFrom(...INTERESTING), width: fc.constantFrom(1, 2, 4, 8) }),
  fc.record({ kind: fc.constant('insert'), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('delete'), at: fc.nat(), value: fc.nat({ max: 64 }) }),
  fc.record({ kind: fc.constant('truncate'), at: fc.nat(), value: fc.constant(0) }),
  fc.record({ kind: fc.constant('duplicate'), at: fc.nat(), value: fc.nat({ max: 200 }), pick: fc.nat() }),
);
type Mutation = { kind: string; at: number; value: number; pick?: number; width?: number };

function mutate(bytes: Uint8Array, mutations: Mutation[]): Uint8Array {
  let b = Array.from(bytes);
  for (const m of mutations) {
    const at = b.length === 0 ? 0 : m.at % b.length;
    if (m.kind === 'byte') b[at] = m.value;
    else if (m.kind === 'word') for (let k = 0; k < (m.width ?? 1) && at + k < b.length; k++) b[at + k] = k < 4 ? (m.value >>> (8 * k)) & 0xff : 0;
    else if (m.kind === 'insert') b.splice(at, 0, m.value);
    else if (m.kind === 'delete') b.splice(at, m.value + 1);
    else if (m.kind === 'truncate') b = b.slice(0, at);
    else {
      const from = (m.pick ?? 0) % Math.max(1, b.length);
      b.splice(at, 0, ...b.slice(from, from + m.value));
    }
  }
  return Uint8Array.from(b);
}

/** Prefixes that get random bytes past each scanner's magic check. */
const MAGICS = ['GGUF\x03\x00\x00\x00', '\x93NUMPY\x01\x00', '\x93NUMPY\x03\x00', '\x89HDF\r\n\x1a\n', '\x10\x00\x00\x00TFL3', '\x08\x08\x12\x04', '{"modelTopology":', '{"class_name":'].map((m) =>
  Uint8Array.from(m, (c) => c.charCodeAt(0)),
);

describe('format scanner fuzzing', () => {
  it('has seeds of every format', () => {
    expect(seeds.length).toBeGreaterThan(HAVE_CORPUS ? 60 : 12);
  });

  it('mutated real and crafted files: findings only, reads in bounds, no hang', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...seeds), fc.array(mutation, { minLength: 1, maxLength: 5 }), async (seed, mutations) => {
        await runAll(mutate(seed, mutations));
      }),
      { numRuns: 2500 },
    );
  }, 240_000);

  it('random bytes behind each magic, and plain random bytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...MAGICS, new Uint8Array(0)), fc.uint8Array({ maxLength: 600 }), async (magic, random) => {
        const b = new Uint8Array(magic.length + random.length);
        b.set(magic);
        b.set(random, magic.length);
        await runAll(b);
      }),
      { numRuns: 2500 },
    );
  }, 240_000);

  it('every truncation of every small seed', async () => {
    for (const seed of seeds.filter((s) => s.length <= 1200)) {
      for (let n = 0; n < seed.length; n += Math.max(1, Math.floor(seed.length / 41))) await runAll(seed.subarray(0, n));
    }
  }, 240_000);

  it('random JSON through the Keras and TF.js scanners', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), fc.constantFrom('Lambda', '__lambda__', 'function', 'Dense', 'Sequential'), (value, cls) => {
        for (const doc of [value, { class_name: cls, module: 'os', config: { name: 'x', layers: [value], layer: value, vocabulary: 'a' } }, { modelTopology: value, weightsManifest: [{ paths: [value] }] }]) {
          const findings: Finding[] = [];
          const ctx: ScanContext = { file: 'f', dir: undefined, report: (f) => findings.push(f), scanPickle: () => undefined };
          scanKerasConfig(JSON.stringify(doc), ctx, 'f');
          scanTfjsModelJson(JSON.stringify(doc), ctx, 'f');
          for (const f of findings) expect(SEVERITIES.has(f.severity)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('sources of every size up to a few hundred bytes, all zeros or all ones', async () => {
    for (let n = 0; n < 300; n += 7) {
      await runAll(new Uint8Array(n));
      await runAll(new Uint8Array(n).fill(0xff));
    }
  }, 120_000);
});

