import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemorySource } from '../src/io/byte-source.js';
import { isTensorsafeError } from '../src/errors.js';
import { detectSourceFormat } from '../src/formats/registry.js';
import { tfCheckpointReader } from '../src/formats/tf-checkpoint/reader.js';
import { crc32c, maskCrc, unmaskCrc } from '../src/formats/tf-checkpoint/crc32c.js';
import { unsnappy } from '../src/formats/tf-checkpoint/snappy.js';
import { sliceKey } from '../src/formats/tf-checkpoint/bundle.js';
import { readEntry } from '../src/tensor/tensor-set.js';
import { openInsideFolder } from '../src/node/inside-folder.js';
import { scanFile } from '../src/node/scan-file.js';
import { convertModel } from '../src/node/convert.js';
import { FormatProblem } from '../src/io/format-problem.js';
import { tempDir } from './helpers/temp.js';

const OWN = path.join(import.meta.dirname, 'fixtures', 'tf-checkpoint');
const FORMAT = path.join(import.meta.dirname, 'fixtures', 'formats', 'tf-checkpoint');
const CORPUS = path.join(import.meta.dirname, '..', '..', 'shared', 'corpus', 'formats', 'tf-savedmodel', 'tfjs-node');

function source(file: string): MemorySource {
  return new MemorySource(new Uint8Array(fs.readFileSync(file)), file);
}

async function open(file: string) {
  return tfCheckpointReader.open!(source(file), { openSibling: (r) => openInsideFolder(path.dirname(file), r) });
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'ok',
    (e: unknown) => (isTensorsafeError(e) ? e.code : `not coded: ${String(e)}`),
  );
}

describe('CRC-32C, Snappy and ordered codes', () => {
  it('CRC-32C matches the standard check value, chunk by chunk, and masks round-trip', () => {
    const text = new TextEncoder().encode('123456789');
    expect(crc32c(text)).toBe(0xe3069283);
    expect(crc32c(text.subarray(5), crc32c(text.subarray(0, 5)))).toBe(0xe3069283);
    const long = new Uint8Array(1000).map((_, i) => (i * 7) & 0xff);
    expect(crc32c(long.subarray(300), crc32c(long.subarray(0, 300)))).toBe(crc32c(long));
    expect(unmaskCrc(maskCrc(0xdeadbeef))).toBe(0xdeadbeef);
    // Every alignment and length around the 16-byte steps, against a bitwise CRC-32C.
    const bitwise = (b: Uint8Array): number => {
      let c = 0xffffffff;
      for (const x of b) {
        c ^= x;
        for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
      }
      return ~c >>> 0;
    };
    for (let start = 0; start < 5; start++) for (let n = 0; n < 40; n++) expect([start, n, crc32c(long.subarray(start, start + n))]).toEqual([start, n, bitwise(long.subarray(start, start + n))]);
  });

  it('CRC-32C of long runs (the WebAssembly loop, pieces of its 1 MiB staging area) equals the bitwise CRC, from any seed', () => {
    const bitwise = (b: Uint8Array, seed = 0): number => {
      let c = ~seed >>> 0;
      for (const x of b) {
        c ^= x;
        for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
      }
      return ~c >>> 0;
    };
    let x = 1;
    const big = new Uint8Array((2 << 20) + 64).map(() => ((x = (x * 1103515245 + 12345) >>> 0) >>> 24));
    for (const n of [4095, 4096, 4097, 4111, (1 << 20) - 1, 1 << 20, (1 << 20) + 17, 2 << 20]) {
      for (const start of [0, 3]) {
        const v = big.subarray(start, start + n);
        const want = bitwise(v);
        expect([n, start, crc32c(v)]).toEqual([n, start, want]);
        const cut = n >> 1;
        expect([n, start, crc32c(v.subarray(cut), crc32c(v.subarray(0, cut)))]).toEqual([n, start, want]);
        expect([n, start, crc32c(v, 0x12345678)]).toEqual([n, start, bitwise(v, 0x12345678)]);
      }
    }
  });

  it('Snappy: literals and overlapping copies decode; a copy before the start, a length past the bound, are refused', () => {
    // length 10; literal "ab"; copy (1-byte offset form) of 8 bytes at offset 2.
    const ok = Uint8Array.of(10, (2 - 1) << 2, 0x61, 0x62, 0x01 | ((8 - 4) << 2), 2);
    expect(new TextDecoder().decode(unsnappy(ok, 100, 'MAX', 0))).toBe('ababababab');
    expect(() => unsnappy(Uint8Array.of(4, 0x01 | (0 << 2), 5), 100, 'MAX', 0)).toThrow(FormatProblem);
    expect(() => unsnappy(Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x01), 100, 'MAX', 0)).toThrow(/MAX/);
    expect(() => unsnappy(Uint8Array.of(3, 0x00, 0x61), 100, 'MAX', 0)).toThrow(FormatProblem);
  });

  it('slice keys are TensorFlow ordered codes', () => {
    const key = sliceKey(new TextEncoder().encode('a\u0000'), [{ start: 0, length: undefined }, { start: 64, length: 2 }]);
    expect([...key]).toEqual([0x00, 0x61, 0x00, 0xff, 0x00, 0x01, 0x01, 0x02, 0x80, 0x7f, 0xc0, 0x40, 0x82]);
  });
});

describe('TensorFlow checkpoints: refusals', () => {
  it('a tensor whose bytes do not match their CRC-32C fails as it streams (the convert keeps nothing)', async () => {
    const { tensors } = await open(path.join(OWN, 'bad-data-crc.index'));
    await expect(readEntry(tensors.tensors[0]!)).rejects.toMatchObject({ code: 'TfCheckpointChecksum', message: expect.stringContaining('bad-data-crc.data-00000-of-00001') });
    await tensors.close();
    const out = tempDir('tf-bad-crc');
    await expect(convertModel(path.join(OWN, 'bad-data-crc.index'), { output: out })).rejects.toMatchObject({ code: 'TfCheckpointChecksum' });
    expect(fs.readdirSync(out)).toEqual([]);
  });

  it('a truncated index is not detected as one, and its reader refuses it by name', async () => {
    const s = source(path.join(OWN, 'truncated.index'));
    expect((await detectSourceFormat(s))?.id).not.toBe('tf-checkpoint');
    expect(await codeOf(tfCheckpointReader.open!(s, {}))).toBe('InvalidTfCheckpoint');
    for (let n = 0; n < 48; n += 7) expect(await codeOf(tfCheckpointReader.open!(new MemorySource(new Uint8Array(fs.readFileSync(path.join(FORMAT, 'dtypes.index'))).subarray(0, n), 'cut.index'), {}))).toBe('InvalidTfCheckpoint');
  });

  it('a data shard that is a symbolic link out of the folder is refused', async () => {
    const dir = tempDir('tf-link');
    const outside = tempDir('tf-link-outside');
    fs.copyFileSync(path.join(FORMAT, 'collision.index'), path.join(dir, 'collision.index'));
    fs.copyFileSync(path.join(FORMAT, 'collision.data-00000-of-00001'), path.join(outside, 'secret'));
    fs.symlinkSync(path.join(outside, 'secret'), path.join(dir, 'collision.data-00000-of-00001'));
    expect(await codeOf(open(path.join(dir, 'collision.index')))).toBe('ExternalDataRefused');
  });

  it('without a folder, data shards are not read', async () => {
    expect(await codeOf(tfCheckpointReader.open!(source(path.join(FORMAT, 'collision.index')), {}))).toBe('ExternalDataRefused');
  });

  it('a SavedModel whose variables are missing says so', async () => {
    const dir = tempDir('tf-no-variables');
    fs.copyFileSync(path.join(FORMAT, 'saved_model.pb'), path.join(dir, 'saved_model.pb'));
    expect(await codeOf(open(path.join(dir, 'saved_model.pb')))).toBe('TfCheckpointFileMissing');
  });

  it('a SavedModel without variables (no variable op, no variables/: tensorflow/serving\'s matrix_half_plus_two) has no tensors, and says why', async () => {
    const dir = tempDir('tf-no-variable-ops');
    // SavedModel { schema 1, meta_graphs { graph_def { node { name "x" op "Const" } } } }
    const node = [0x0a, 0x01, 0x78, 0x12, 0x05, ...new TextEncoder().encode('Const')];
    const graph = [0x0a, node.length, ...node];
    const metaGraph = [0x12, graph.length, ...graph];
    fs.writeFileSync(path.join(dir, 'saved_model.pb'), new Uint8Array([0x08, 0x01, 0x12, metaGraph.length, ...metaGraph]));
    expect((await detectSourceFormat(source(path.join(dir, 'saved_model.pb'))))?.id).toBe('tf-checkpoint');
    await expect(open(path.join(dir, 'saved_model.pb'))).rejects.toMatchObject({ code: 'NoTensors', message: expect.stringContaining('no variable') });
  });
});

describe('TensorFlow SavedModels: scan', () => {
  const cases: [string, string][] = [
    ['read-file', 'tf/file-op'],
    ['write-file', 'tf/file-op'],
    ['matching-files', 'tf/file-op'],
    ['py-func', 'tf/python-op'],
    ['eager-py-func', 'tf/python-op'],
    ['save-outside-saver', 'tf/checkpoint-op'],
    ['debug-url', 'tf/debug-url'],
    ['asset-escape', 'tf/asset-path-outside'],
    ['keras-lambda', 'keras/lambda-layer'],
    ['saver-called-by-function', 'tf/checkpoint-op'],
  ];
  for (const [name, rule] of cases) {
    it(`${name}: dangerous (${rule}), and convert refuses it`, async () => {
      const report = await scanFile(path.join(OWN, name, 'saved_model.pb'));
      expect(report.verdict).toBe('dangerous');
      expect(report.findings.map((f) => f.rule)).toContain(rule);
      const out = tempDir(`tf-${name}`);
      await expect(convertModel(path.join(OWN, name), { output: out })).rejects.toMatchObject({ code: 'UnsafeFile' });
      expect(fs.readdirSync(out)).toEqual([]);
    });
  }

  it("the saver's own functions are info, and the model converts", async () => {
    const report = await scanFile(path.join(OWN, 'safe-saver', 'saved_model.pb'));
    expect(report.verdict).toBe('safe');
    expect(report.findings.map((f) => f.rule)).toEqual(expect.arrayContaining(['tf/saver-op', 'tf/valid']));
    const out = tempDir('tf-safe-saver');
    const summary = await convertModel(path.join(OWN, 'safe-saver'), { output: out });
    expect(summary.verified).toBe(true);
  });

  it("tf.keras's keras_metadata.pb with a Lambda is dangerous; a SavedModel in text form is suspicious, never safe text", async () => {
    const dir = tempDir('tf-keras-metadata');
    const len = (field: number, bytes: Uint8Array): Uint8Array => {
      const n: number[] = [];
      for (let v = bytes.length; ; v >>= 7) {
        if (v < 0x80) {
          n.push(v);
          break;
        }
        n.push((v & 0x7f) | 0x80);
      }
      return new Uint8Array([(field << 3) | 2, ...n, ...bytes]);
    };
    const text = (s: string) => new TextEncoder().encode(s);
    const lambda = JSON.stringify({ class_name: 'Lambda', config: { name: 'lam', function: ['4wEAAAAAAAAA', null, null], function_type: 'lambda' } });
    const node = new Uint8Array([...len(3, text('root')), ...len(4, text('_tf_keras_network')), ...len(5, text(lambda))]);
    fs.writeFileSync(path.join(dir, 'keras_metadata.pb'), len(1, node));
    const keras = await scanFile(path.join(dir, 'keras_metadata.pb'));
    expect(keras.verdict).toBe('dangerous');
    expect(keras.findings.map((f) => f.rule)).toContain('keras/lambda-layer');
    fs.writeFileSync(path.join(dir, 'saved_model.pbtxt'), '# written by hand\nsaved_model_schema_version: 1\nmeta_graphs {\n  graph_def { node { name: "r" op: "ReadFile" } }\n}\n');
    const pbtxt = await scanFile(path.join(dir, 'saved_model.pbtxt'));
    expect(pbtxt.verdict).toBe('suspicious');
    expect(pbtxt.findings.map((f) => f.rule)).toEqual(['tf/text-saved-model']);
  });

  it('an index with a damaged block is a suspicious scan finding', async () => {
    const report = await scanFile(path.join(FORMAT, 'bad-block-crc.index'));
    expect(report.verdict).toBe('suspicious');
    expect(report.findings).toMatchObject([{ rule: 'tf/malformed', message: expect.stringContaining('CRC-32C') }]);
  });
});

describe('TensorFlow SavedModels written by TensorFlow (tfjs-node test models)', () => {
  const expected: Record<string, [string, string, number[]][]> = {
    int64_multiply: [['v1', 'I64', [3]], ['v2', 'I64', [2]]],
    times_three_float: [['v', 'F32', [3]]],
    uint8_multiply: [['v1', 'I32', [3]], ['v2', 'I32', [2]]],
  };
  for (const [model, tensors] of Object.entries(expected)) {
    it.skipIf(!fs.existsSync(CORPUS))(`${model}: its variables, named and valued`, async () => {
      const file = path.join(CORPUS, model, 'saved_model.pb');
      expect((await detectSourceFormat(source(file)))?.id).toBe('tf-checkpoint');
      const { tensors: set, structure } = await open(file);
      expect(structure.objectGraph?.nodes).toBeGreaterThan(0);
      const got = await Promise.all(set.tensors.map(async (t) => [t.name, t.dtype, [...(t.dtype === 'F32' ? new Float32Array((await readEntry(t)).slice().buffer) : t.dtype === 'I64' ? Array.from(new BigInt64Array((await readEntry(t)).slice().buffer), Number) : new Int32Array((await readEntry(t)).slice().buffer))]]));
      expect(got).toEqual(tensors);
      await set.close();
      expect((await scanFile(file)).verdict).toBe('safe');
    });
  }
});

describe('TensorFlow detection beside ONNX', () => {
  it('a SavedModel whose fields come in another order, or with an ONNX graph beside it TensorFlow ignores, is a SavedModel: its ReadFile is found', async () => {
    const pb = (field: number, payload: Uint8Array | string | number): number[] => {
      if (typeof payload === 'number') return [field << 3, payload];
      const bytes = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
      return [(field << 3) | 2, bytes.length, ...bytes];
    };
    const u8 = (...parts: number[][]) => new Uint8Array(parts.flat());
    const graph = u8(pb(1, u8(pb(1, 'r'), pb(2, 'ReadFile'))));
    const signatureFirst = u8(pb(5, u8(pb(1, 'serving_default'), pb(2, new Uint8Array()))), pb(2, graph));
    const files: Record<string, Uint8Array> = {
      'signature-first': u8(pb(1, 1), pb(2, signatureFirst)),
      'version-last': u8(pb(2, u8(pb(1, u8(pb(4, 'serve'))), pb(2, graph))), pb(1, 1)),
      // ONNX reads field 2 as its producer_name, 7 as its graph and 8 as an opset: a valid ONNX model too.
      'onnx-polyglot': u8(pb(1, 7), pb(2, signatureFirst), pb(7, u8(pb(2, 'g'))), pb(8, u8(pb(1, ''), pb(2, 13)))),
      'doc-string-first': u8(pb(6, 'x'.repeat(100)), pb(1, 1), pb(2, signatureFirst)),
    };
    const dir = tempDir('tf-field-order');
    for (const [name, bytes] of Object.entries(files)) {
      expect([name, (await detectSourceFormat(new MemorySource(bytes, name)))?.id]).toEqual([name, 'tf-checkpoint']);
      fs.writeFileSync(path.join(dir, `${name}.pb`), bytes);
      const report = await scanFile(path.join(dir, `${name}.pb`));
      expect([name, report.verdict, report.findings.map((f) => f.rule)]).toEqual([name, 'dangerous', ['tf/file-op']]);
    }
  });


  function onnxFiles(dir: string): string[] {
    if (!fs.existsSync(dir)) return [];
    return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.onnx')).map((f) => path.join(dir, f));
  }

  it('every ONNX model of the fixtures and the corpus is still ONNX; SavedModels and indexes (past the head too) are TensorFlow', async () => {
    const onnx = [...onnxFiles(path.join(import.meta.dirname, 'fixtures')), ...onnxFiles(path.join(CORPUS, '..', '..', 'onnx'))];
    expect(onnx.length).toBeGreaterThan(0);
    for (const f of onnx) expect([f, (await detectSourceFormat(source(f)))?.id]).toEqual([f, 'onnx']);
    for (const f of ['saved_model.pb', 'dtypes.index', 'snappy.index', 'collision.index']) {
      expect([f, (await detectSourceFormat(source(path.join(FORMAT, f))))?.id]).toEqual([f, 'tf-checkpoint']);
    }
    expect(fs.statSync(path.join(FORMAT, 'dtypes.index')).size).toBeGreaterThan(512);
  });

  it('a SavedModel whose meta graph opens with another field (TF 2 writes object_graph_def first) is TensorFlow', async () => {
    // tensorflow/serving's saved_model_half_plus_two_tf2_cpu starts 08 01 12 <len> 3a: object_graph_def (field 7) before the rest.
    const pb = new Uint8Array(fs.readFileSync(path.join(FORMAT, 'saved_model.pb')));
    expect([...pb.subarray(0, 3)]).toEqual([0x08, 0x01, 0x12]);
    let at = 3;
    let length = 0;
    for (let shift = 0; ; shift += 7) {
      const x = pb[at++]!;
      length += (x & 0x7f) * 2 ** shift;
      if ((x & 0x80) === 0) break;
    }
    const objectGraph = [0x3a, 0x02, 0x0a, 0x00]; // one empty SavedObject
    const metaGraph = [...objectGraph, ...pb.subarray(at, at + length)];
    const lengthBytes: number[] = [];
    for (let v = metaGraph.length; ; v = Math.floor(v / 128)) {
      if (v < 128) {
        lengthBytes.push(v);
        break;
      }
      lengthBytes.push((v & 0x7f) | 0x80);
    }
    const dir = tempDir('tf-object-graph-first');
    fs.cpSync(path.join(FORMAT, 'variables'), path.join(dir, 'variables'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'saved_model.pb'), new Uint8Array([0x08, 0x01, 0x12, ...lengthBytes, ...metaGraph, ...pb.subarray(at + length)]));
    expect((await detectSourceFormat(source(path.join(dir, 'saved_model.pb'))))?.id).toBe('tf-checkpoint');
    const { tensors } = await open(path.join(dir, 'saved_model.pb'));
    expect(tensors.tensors.length).toBeGreaterThan(0);
    await tensors.close();
  });
});

describe("a SavedModel's fingerprint.pb", () => {
  // FingerprintDef as TensorFlow 2.12+ writes it: five uint64 hashes (fields 1-5), then VersionDef { producer: 1 } (field 6).
  const hash = [0xc1, 0xb2, 0xb4, 0x82, 0xfd, 0xd8, 0xae, 0xe0, 0xb7, 0x01];
  const fingerprint = Uint8Array.of(0x08, ...hash, 0x10, ...hash, 0x18, ...hash, 0x20, ...hash, 0x28, ...hash, 0x32, 0x02, 0x08, 0x01);

  it('is claimed as part of a SavedModel (not ONNX), scanned as info, and refused by convert as holding no tensors', async () => {
    const dir = tempDir('tf-fingerprint');
    const file = path.join(dir, 'fingerprint.pb');
    fs.writeFileSync(file, fingerprint);
    expect((await detectSourceFormat(new MemorySource(fingerprint, 'fingerprint.pb')))?.id).toBe('tf-checkpoint');
    const r = await scanFile(file);
    expect([r.verdict, r.findings.map((f) => f.rule)]).toEqual(['safe', ['tf/fingerprint']]);
    const e = await convertModel(file).catch((x: unknown) => x);
    expect(isTensorsafeError(e) && e.code).toBe('NoTensors');
    expect(fs.readdirSync(dir)).toEqual(['fingerprint.pb']);
  });

  it('a message that also holds a graph (field 7, as an ONNX model does) is not a fingerprint', async () => {
    const withGraph = Uint8Array.of(...fingerprint, 0x3a, 0x02, 0x0a, 0x00);
    expect((await detectSourceFormat(new MemorySource(withGraph, 'model.onnx')))?.id).toBe('onnx');
  });
});

describe('a saved_model.pb whose first field is an unknown one longer than the detection head', () => {
  it('is scanned by its name as TensorFlow loads it (unknown fields skipped): its ReadFile op is dangerous, not an unknown file', async () => {
    const dir = tempDir('tf-long-unknown');
    const graph = fs.readFileSync(path.join(OWN, 'read-file', 'saved_model.pb'));
    // Field 15, length-delimited, 600 bytes: TensorFlow's parser skips it; no detector sees past it in 512 bytes.
    const unknown = Buffer.concat([Buffer.from([0x7a, 0xd8, 0x04]), Buffer.alloc(600, 0x41)]);
    fs.writeFileSync(path.join(dir, 'saved_model.pb'), Buffer.concat([unknown, graph]));
    const report = await scanFile(path.join(dir, 'saved_model.pb'));
    expect([report.verdict, report.findings.map((f) => f.rule)]).toEqual(['dangerous', ['tf/file-op']]);
    // The same bytes under a name no loader opens by: an unknown file, as before.
    fs.renameSync(path.join(dir, 'saved_model.pb'), path.join(dir, 'blob.dat'));
    expect((await scanFile(path.join(dir, 'blob.dat'))).verdict).toBe('safe');
  });
});
