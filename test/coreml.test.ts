import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { isTensorsafeError } from '../src/errors.js';
import { coremlFormat, isMlmodel } from '../src/formats/coreml/format.js';
import { coremlReader } from '../src/formats/coreml/reader.js';
import { unpackBits } from '../src/formats/coreml/bits.js';
import { parseMilText } from '../src/formats/coreml/mil-text.js';
import { detectContainer } from '../src/formats/detect.js';
import { detectSourceFormat } from '../src/formats/registry.js';
import { MemorySource } from '../src/io/byte-source.js';
import { convertModel } from '../src/node/convert.js';
import { openInsideFolder } from '../src/node/inside-folder.js';
import { openModel } from '../src/node/open-model.js';
import { scanFile } from '../src/node/scan-file.js';
import { readEntry } from '../src/tensor/tensor-set.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';

/**
 * Core ML beyond the fixture table (test/formats.test.ts reads every fixture as stored): quantized
 * neural network weights dequantized as coremltools' `_dequantize_linear` and lookup tables give them;
 * .mlpackage and .mlmodelc folders through the CLI (inspect, convert, verify, scan); refusals of files
 * outside the package; the scan rules; detection apart from ONNX; the public corpus.
 */

const FORMATS = path.join(import.meta.dirname, 'fixtures', 'formats', 'coreml');
const EXTRA = path.join(import.meta.dirname, 'fixtures', 'coreml');
const CORPUS = path.join(import.meta.dirname, '..', '..', 'shared', 'corpus', 'formats', 'coreml');

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const source = (file: string): MemorySource => new MemorySource(new Uint8Array(fs.readFileSync(file)), file);
const siblings = (dir: string) => ({ openSibling: (relative: string) => openInsideFolder(dir, relative) });
const codeOf = (e: unknown): string => (isTensorsafeError(e) ? e.code : `not a TensorsafeError: ${String(e)}`);

function copyFixture(name: string): string {
  const dir = tempDir('coreml');
  const target = path.join(dir, name);
  fs.cpSync(path.join(EXTRA, name), target, { recursive: true });
  return target;
}

describe('Core ML neural network quantization', () => {
  it('dequantizes every quantized weight as coremltools does (float64 q * scale + bias per channel, lookup tables), bit for bit', async () => {
    const want = JSON.parse(fs.readFileSync(path.join(EXTRA, 'nn-quant.dequantized.json'), 'utf8')) as Record<string, { shape: number[]; sha256: string }>;
    const { tensors } = await coremlReader.open!(source(path.join(FORMATS, 'nn-quant.mlmodel')), { dequantize: true });
    expect(tensors.tensors.map((t) => t.name).sort()).toEqual(Object.keys(want).sort());
    for (const t of tensors.tensors) {
      expect([t.name, t.dtype, t.shape]).toEqual([t.name, 'F32', want[t.name]!.shape]);
      expect([t.name, sha(await readEntry(t))]).toEqual([t.name, want[t.name]!.sha256]);
    }
    expect(Object.keys(tensors.metadata ?? {})).toEqual([]);
  });

  it('keeps quantization parameters in the metadata when weights are read as stored', async () => {
    const { tensors } = await coremlReader.open!(source(path.join(FORMATS, 'nn-quant.mlmodel')));
    const lin = JSON.parse(tensors.metadata!['coreml.quantization.lin4.weights']!) as { numberOfBits: number; linearQuantization: { scale: number[] } };
    expect(lin.numberOfBits).toBe(4);
    expect(lin.linearQuantization.scale).toHaveLength(3);
    expect(JSON.parse(tensors.metadata!['coreml.quantization.deconv4.weights']!).axis).toBe(1);
    expect(JSON.parse(tensors.metadata!['coreml.quantization.lut5.weights']!).lookupTableQuantization).toHaveLength(32);
  });

  it('convert --dequantize writes F32 values', async () => {
    const dir = tempDir('coreml-deq');
    fs.copyFileSync(path.join(FORMATS, 'nn-quant.mlmodel'), path.join(dir, 'nn-quant.mlmodel'));
    const r = await runCli('convert', path.join(dir, 'nn-quant.mlmodel'), '--dequantize');
    expect(r.code, r.stderr).toBe(0);
    const written = await openModel(path.join(dir, 'nn-quant.safetensors'));
    try {
      expect(new Set(written.tensors.map((t) => t.dtype))).toEqual(new Set(['F32']));
    } finally {
      await written.close();
    }
  });

  it('unpacks n-bit values most significant bit first (neural networks) and least significant first (MIL blobs)', () => {
    // 3-bit values 5, 2, 7: MSB first 101 010 11|1 → 0xAB 0x80; LSB first bits 101 010 111 → 0x55 0x01... checked both ways.
    expect([...unpackBits(Uint8Array.of(0b10101011, 0b10000000), 3, 3, 'msb', false)]).toEqual([5, 2, 7]);
    expect([...unpackBits(Uint8Array.of(0b11010101, 0b00000001), 3, 3, 'lsb', false)]).toEqual([5, 2, 7]);
    expect([...unpackBits(Uint8Array.of(0x8f), 4, 2, 'lsb', true)]).toEqual([0xff, 0xf8]);
  });
});

describe('Core ML folders', () => {
  it('a package named by a relative path is converted beside it, and the output is named as given (as the README shows)', () => {
    const pkg = copyFixture('tiny.mlpackage');
    const cli = spawnSync(process.execPath, [path.join(import.meta.dirname, '..', 'bin', 'tensorsafe.js'), 'convert', 'tiny.mlpackage'], { cwd: path.dirname(pkg), encoding: 'utf8' });
    expect(cli.status, cli.stderr).toBe(0);
    expect(cli.stdout.split('\n')).toContain('  → tiny.safetensors');
    expect(fs.existsSync(path.join(path.dirname(pkg), 'tiny.safetensors'))).toBe(true);
  });

  it('an .mlpackage converts beside itself, verified, and verify and inspect read it', async () => {
    const pkg = copyFixture('tiny.mlpackage');
    const want = JSON.parse(fs.readFileSync(path.join(EXTRA, 'tiny.mlpackage.expected.json'), 'utf8')) as Record<string, string>;
    const inspected = await runCli('inspect', pkg);
    expect(inspected.code, inspected.stderr).toBe(0);
    expect(inspected.stdout).toContain('mlProgram');
    const converted = await runCli('convert', pkg);
    expect(converted.code, converted.stderr).toBe(0);
    const out = path.join(path.dirname(pkg), 'tiny.safetensors');
    const written = await openModel(out);
    try {
      for (const t of written.tensors) expect([t.name, sha(await readEntry(t))]).toEqual([t.name, want[t.name]]);
      expect(written.tensors).toHaveLength(3);
    } finally {
      await written.close();
    }
    expect((await runCli('verify', pkg, out)).code).toBe(0);
    expect((await runCli('inspect', path.join(pkg, 'Manifest.json'))).code).toBe(0);
    expect((await runCli('scan', pkg)).code).toBe(0);
  });

  it('a compiled .mlmodelc is read from its model.mil; a compiled neural network is refused saying why', async () => {
    const mc = copyFixture('tiny.mlmodelc');
    const summary = await convertModel(mc, {});
    expect(summary.verified).toBe(true);
    const net = copyFixture('network.mlmodelc');
    const r = await runCli('convert', net);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('CoremlUnsupported');
    expect(r.stderr).toContain('model.espresso');
    expect(fs.readdirSync(path.dirname(net))).toEqual(['network.mlmodelc']);
  });

  it('refuses a manifest whose root model is outside the package, and writes nothing', async () => {
    const esc = copyFixture('escape.mlpackage');
    await expect(convertModel(esc, {})).rejects.toMatchObject({ code: 'ExternalDataRefused' });
    expect(fs.readdirSync(path.dirname(esc))).toEqual(['escape.mlpackage']);
    const report = await scanFile(path.join(esc, 'Manifest.json'));
    expect(report.findings.map((f) => f.rule)).toContain('coreml/root-outside');
    expect(report.verdict).toBe('dangerous');
  });

  it('refuses a weight file that is a symbolic link out of the package', async () => {
    const pkg = copyFixture('tiny.mlpackage');
    const weights = path.join(pkg, 'Data', 'com.apple.CoreML', 'weights', 'weight.bin');
    const outside = path.join(path.dirname(pkg), 'outside.bin');
    fs.renameSync(weights, outside);
    fs.symlinkSync(outside, weights);
    await expect(convertModel(pkg, {})).rejects.toMatchObject({ code: 'ExternalDataRefused' });
    expect(fs.readdirSync(path.dirname(pkg)).sort()).toEqual(['outside.bin', 'tiny.mlpackage']);
  });

  it('refuses blob file names outside the model folder, naming the operation, without opening anything', async () => {
    const opened: string[] = [];
    for (const name of ['prog-escape.mlmodel', 'prog-absolute.mlmodel', 'prog-no-model-path.mlmodel']) {
      const e = await coremlReader.open!(source(path.join(FORMATS, name)), { openSibling: async (p) => (opened.push(p), openInsideFolder(FORMATS, p)) }).catch((x: unknown) => x);
      expect(codeOf(e)).toBe('ExternalDataRefused');
      expect((e as Error).message).toContain('const "w"');
    }
    expect(opened).toEqual([]);
  });
});

describe('Core ML scan rules', () => {
  const rules = async (file: string): Promise<string[]> => (await scanFile(file)).findings.map((f) => `${f.severity} ${f.rule}`);
  it('custom layers, custom models, linked and serialized models are suspicious; blobs outside are dangerous', async () => {
    expect(await rules(path.join(FORMATS, 'nn-custom.mlmodel'))).toContain('suspicious coreml/custom-layer');
    expect(await rules(path.join(EXTRA, 'custom-model.mlmodel'))).toContain('suspicious coreml/custom-model');
    expect(await rules(path.join(EXTRA, 'linked.mlmodel'))).toContain('suspicious coreml/linked-model');
    expect(await rules(path.join(EXTRA, 'serialized.mlmodel'))).toContain('suspicious coreml/serialized-model');
    for (const f of ['prog-escape.mlmodel', 'prog-absolute.mlmodel', 'prog-no-model-path.mlmodel']) expect(await rules(path.join(FORMATS, f))).toContain('dangerous coreml/blob-outside');
    expect(await rules(path.join(FORMATS, 'nn-weights.mlmodel'))).toEqual(['info coreml/valid']);
    expect(await rules(path.join(FORMATS, 'truncated.mlmodel'))).toContain('suspicious coreml/malformed');
  });

  it('describes every rule it reports', () => {
    for (const rule of ['custom-layer', 'custom-model', 'linked-model', 'serialized-model', 'blob-outside', 'root-outside']) expect(coremlFormat.ruleDescriptions![`coreml/${rule}`]).toBeTruthy();
  });
});

describe('Core ML MIL text', () => {
  it('hostile const lines (many `val =`, spaces around a value that is not closed) parse in linear time', () => {
    const n = 60_000;
    const program = (line: string) => `program(1.0)\n{\n  func main<ios17>(tensor<fp32, [1]> x) {\n    ${line}\n  } -> (x);\n}\n`;
    const lines = [`fp32 a = const()[${'val='.repeat(n)}`, `fp32 b = const()[name = string("b"), val = fp32(${' '.repeat(n)})z];`, `fp32 c = const()[name = string("c"), val = fp32(1.5${' '.repeat(n)}];`];
    for (const line of lines) {
      const started = performance.now();
      const parsed = parseMilText(program(line));
      expect(parsed.consts[0]?.unread).toBeDefined();
      expect(performance.now() - started).toBeLessThan(500);
    }
    expect(parseMilText(program('fp32 d = const()[name = string("d"), val = fp32( 0x1p-1 )];')).consts[0]?.values).toEqual([0.5]);
  });
});

describe('Core ML detection', () => {
  it('tells an .mlmodel from ONNX by its top-level fields, also when its description runs past the head', async () => {
    for (const f of fs.readdirSync(FORMATS).filter((x) => x.endsWith('.mlmodel'))) expect([f, (await detectSourceFormat(source(path.join(FORMATS, f))))?.id]).toEqual([f, 'coreml']);
    const onnxDir = path.join(import.meta.dirname, 'fixtures', 'formats', 'onnx');
    for (const f of fs.readdirSync(onnxDir).filter((x) => x.endsWith('.onnx'))) expect([f, (await detectSourceFormat(source(path.join(onnxDir, f))))?.id]).toEqual([f, 'onnx']);
    // specificationVersion 4, then a 600-byte description whose first field is an input FeatureDescription (name "x", type multiArray).
    const feature = Uint8Array.of(0x0a, 0x01, 0x78, 0x1a, 0x02, 0x2a, 0x00, ...new Array<number>(591).fill(0));
    const head = Uint8Array.of(0x08, 0x04, 0x12, 0xda, 0x04, 0x0a, 0xd5, 0x04, ...feature.subarray(0, 600 - 3));
    const probe = (h: Uint8Array) => ({ head: h.subarray(0, 512), size: h.length + 10, container: detectContainer(h.subarray(0, 512), h.length + 10) });
    expect(isMlmodel(probe(head))).toBe(true);
    // A SavedModel: schema version 1, a meta graph past the head whose meta_info_def opens with meta_graph_version "v1", then its stripped op list (a message).
    const metaInfo = Uint8Array.of(0x0a, 0x02, 0x76, 0x31, 0x12, 0x07, 0x0a, 0x05, 0x0a, 0x03, 0x41, 0x64, 0x64, ...new Array<number>(580).fill(0));
    expect(isMlmodel(probe(Uint8Array.of(0x08, 0x01, 0x12, 0xda, 0x04, 0x0a, 0xd5, 0x04, ...metaInfo)))).toBe(false);
    // ONNX: ir_version, then producer_name "pytorch": field 2 as a string.
    expect(isMlmodel(probe(Uint8Array.of(0x08, 0x07, 0x12, 0x07, ...new TextEncoder().encode('pytorch'), 0x1a, 0x03, 0x31, 0x2e, 0x30)))).toBe(false);
  });
});

describe('Core ML corpus (apple/coremltools files)', () => {
  const present = fs.existsSync(CORPUS);
  it.skipIf(!present)('reads the ModelRunner add_model.mlmodelc (a MIL text program with no constants)', async () => {
    const dir = path.join(CORPUS, 'modelrunner', 'add_model.mlmodelc');
    const { tensors, structure } = await coremlReader.open!(source(path.join(dir, 'model.mil')), siblings(dir));
    expect(tensors.tensors).toHaveLength(0);
    expect([...(structure.program?.ops ?? [])]).toEqual([['mul', 1]]);
    const r = await runCli('inspect', dir);
    expect(r.code, r.stderr).toBe(0);
  });

  it.skipIf(!present)('refuses the NN_v2 example, an ML program of an unreleased MIL layout, as not readable', async () => {
    const dir = path.join(CORPUS, 'nn_v2');
    const e = await coremlReader.open!(source(path.join(dir, 'simple_layer.mlmodel')), siblings(dir)).catch((x: unknown) => x);
    expect(codeOf(e)).toBe('InvalidCoreml');
  });
});
