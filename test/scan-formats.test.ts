import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { IoError } from '../src/errors.js';
import { MemorySource, type ByteSource } from '../src/io/byte-source.js';
import { openZip } from '../src/formats/zip/index.js';
import type { Finding, ScanContext } from '../src/formats/findings.js';
import { analyzePickles } from '../src/scan/pickle-analysis.js';
import { CHAT_TEMPLATE_PATTERNS, scanGguf } from '../src/formats/gguf/scan-rules.js';
import { scanHdf5 } from '../src/formats/hdf5/scan-rules.js';
import { scanKerasConfig, scanKerasMetadata } from '../src/formats/keras/config-rules.js';
import { parsePyLiteral, pyRepr } from '../src/formats/numpy/py-literal.js';
import { numpyReader } from '../src/formats/numpy/reader.js';
import { scanNpy } from '../src/formats/numpy/scan-rules.js';
import { onnxReader } from '../src/formats/onnx/reader.js';
import { scanOnnx } from '../src/formats/onnx/scan-rules.js';
import { scanSafetensors } from '../src/formats/safetensors/scan-rules.js';
import { scanTfjsModelJson } from '../src/formats/tfjs/scan-rules.js';
import { scanTflite } from '../src/formats/tflite/scan-rules.js';
import { CORPUS, formatsCorpus, HAVE_CORPUS, type CorpusRow } from './helpers/corpus.js';
import { craft, entry } from './helpers/craft.js';
import { ROOT } from './helpers/paths.js';
import { concat, gguf, npy, onnxExternalTensor, onnxModel, onnxNode, pb, tfliteModel } from './fixtures/scan/craft.js';

/** A ScanContext that keeps what the scanners report and the pickles they hand over. */
function fakeContext(file = 'model', options: { analysePickles?: boolean } = {}) {
  const findings: Finding[] = [];
  const pickles: { bytes: Uint8Array; location: string }[] = [];
  const ctx: ScanContext = {
    file,
    dir: undefined,
    report: (f) => findings.push(f),
    scanPickle: (bytes, location) => {
      pickles.push({ bytes: bytes.slice(), location });
      if (options.analysePickles) analyzePickles(bytes, { where: location, report: (f) => findings.push(f) });
    },
  };
  return { ctx, findings, pickles };
}

const flagged = (fs: readonly Finding[]): Finding[] => fs.filter((f) => f.severity === 'suspicious' || f.severity === 'dangerous');
const rules = (fs: readonly Finding[]): string[] => [...new Set(fs.map((f) => f.rule))].sort();
const mem = (bytes: Uint8Array, name = 'model'): MemorySource => new MemorySource(bytes, name);
const fixture = (name: string): Uint8Array => new Uint8Array(fs.readFileSync(path.join(ROOT, 'test/fixtures/scan', name)));

/** Runs the scanner for a file of the corpus the way the dispatcher would; .keras and .npz archives are opened here. */
async function scanFile(row: CorpusRow, ctx: ScanContext): Promise<boolean> {
  const bytes = new Uint8Array(fs.readFileSync(row.path));
  const source = mem(bytes, row.file);
  const ext = path.extname(row.file);
  if (ext === '.gguf') await scanGguf(source, ctx);
  else if (ext === '.npy') await scanNpy(source, ctx);
  else if (ext === '.safetensors') await scanSafetensors(source, ctx);
  else if (ext === '.onnx') await scanOnnx(source, ctx);
  else if (ext === '.h5') await scanHdf5(source, ctx);
  else if (ext === '.tflite') await scanTflite(source, ctx);
  else if (ext === '.json' && row.file.startsWith('tfjs/')) scanTfjsModelJson(new TextDecoder().decode(bytes), ctx, row.file);
  else if (ext === '.npz' || ext === '.keras') await scanArchive(source, ctx, row.file);
  else return false;
  return true;
}

/** What the zip dispatcher does with .keras and .npz members (enough of it to judge the corpus archives). */
async function scanArchive(source: ByteSource, ctx: ScanContext, where: string): Promise<void> {
  const zip = await openZip(source, { strict: false });
  for (const e of zip.entries) {
    const at = `${where}:${e.name}`;
    const sub: ScanContext = { ...ctx, file: at, report: ctx.report, scanPickle: ctx.scanPickle };
    const head = (await e.read()).subarray(0, 8);
    if (e.name === 'config.json') scanKerasConfig(new TextDecoder().decode(await e.read()), ctx, at);
    else if (e.name === 'metadata.json') scanKerasMetadata(new TextDecoder().decode(await e.read()), ctx, at);
    else if (head[0] === 0x93 && head[1] === 0x4e) await scanNpy(await e.source(), sub);
    else if (head[0] === 0x89 && head[1] === 0x48) await scanHdf5(await e.source(), sub);
    else if (head[0] === 0x50 && head[1] === 0x4b) await scanArchive(await e.source(), ctx, at);
    else if (head[0] === 0x80) ctx.scanPickle(await e.read(), at); // as the dispatcher does with anything else
  }
}

// --- the shared corpus -------------------------------------------------------------------------------

/**
 * Expected verdicts where MANIFEST.tsv's notes say more (or less) than the file is: the notes are
 * shared by a folder, and two labels are wrong about the bytes.
 */
function expectation(row: CorpusRow): 'flagged' | 'clean' {
  // The MALFORMED note of ndarray-npy is about example_bool_bad_value.npy only (bool bytes 98, 97, 100).
  if (row.file.startsWith('npy/ndarray-npy/')) return row.file.endsWith('example_bool_bad_value.npy') ? 'flagged' : 'clean';
  // Labelled MALFORMED with "reference reader result: ?", but the Rust test deserializes these bytes
  // successfully: a 60-byte header with one I32 [2,2] tensor and exactly its 16 bytes.
  if (row.file.endsWith('test_deserialization.safetensors')) return 'clean';
  // These copies are damaged: every byte >= 0x80 that was not valid UTF-8 became U+FFFD (EF BF BD),
  // so lengths and counts are wrong (bert-bge's embedding_length 384 = 80 01 00 00 reads EF BF BD 01).
  // ggml rejects them; the scanner must too.
  if (row.file.startsWith('gguf/llama-vocab/')) return 'flagged';
  // A custom model class (registered_name "legacy_nested_container>NestedDenseModel") that needs keras's test code.
  if (row.file.endsWith('pre_pr22362_nested_container.keras')) return 'flagged';
  return row.label === 'benign' ? 'clean' : 'flagged';
}

const FORMATS = ['gguf', 'onnx', 'npy', 'keras', 'keras-h5', 'tfjs', 'tflite', 'safetensors'];

describe.skipIf(!HAVE_CORPUS)('format scanners on the shared corpus', () => {
  const rows = FORMATS.flatMap((f) => formatsCorpus(f));

  it('has files of every format', () => {
    for (const f of FORMATS) expect([f, formatsCorpus(f).length > 0]).toEqual([f, true]);
  });

  it.each(rows.map((r) => [r.file, r] as const))('%s', async (_name, row) => {
    // Pickles found in flagged files are analysed: the malicious .keras's payload is a pickle in its second model.weights.npz.
    const { ctx, findings } = fakeContext(row.file, { analysePickles: row.label !== 'benign' });
    if (!(await scanFile(row, ctx))) return; // expected-value tables, test vectors, shards
    const bad = flagged(findings);
    if (expectation(row) === 'flagged') expect(bad.length, JSON.stringify(findings)).toBeGreaterThan(0);
    else expect(bad, JSON.stringify(bad)).toEqual([]);
    for (const f of findings) expect(f.location.startsWith(row.file)).toBe(true);
  });

  it('names the problems of the malformed files', async () => {
    const check = async (file: string, rule: string, text: RegExp): Promise<void> => {
      const { ctx, findings } = fakeContext(file);
      await scanFile({ file, path: path.join(CORPUS, 'formats', file), label: '', notes: '' }, ctx);
      const f = findings.find((x) => x.rule === rule);
      expect(f, JSON.stringify(findings)).toBeDefined();
      expect(f!.message).toMatch(text);
    };
    await check('gguf/malformed/test_model.gguf', 'gguf/malformed', /"output_norm\.weight" has offset 0, expected 512000/);
    await check('gguf/malformed/ggml-align64-mismatch.gguf', 'gguf/malformed', /"q\.bf16" has offset 1760, not a multiple of the alignment 64/);
    await check('npy/ndarray-npy/example_bool_bad_value.npy', 'npy/malformed', /bool element \d+ has byte value 98/);
    await check('safetensors/spec-test-vectors/test_metadata_incomplete_buffer_1.safetensors', 'safetensors/invalid', /MetadataIncompleteBuffer/);
    await check('keras/keras-testdata/pre_pr22362_nested_container.keras', 'keras/custom-object', /legacy_nested_container>NestedDenseModel/);
    await check('tflite/tflite-micro/person_detect_vela.tflite', 'tflite/custom-op', /"ethos-u"/);
    await check('onnx/external-data/simple_cnn.onnx', 'onnx/external-data', /3 tensors .* "simple_cnn\.onnx\.data"/);
    await check('keras-h5/keras2/cryptoann_model.h5', 'hdf5/keras-config', /keras_version "2\.2\.2"/);
  });

  it('object arrays hand their pickle to the pickle analysis (npy files and the malicious .keras)', async () => {
    for (const file of ['npy/npyz/pickle.npy', 'npy/numpy-testdata/py3-objarr.npy', 'npy/numpy-testdata/py2-objarr.npz', 'keras/malicious/model.keras']) {
      const { ctx, findings, pickles } = fakeContext(file);
      await scanFile({ file, path: path.join(CORPUS, 'formats', file), label: '', notes: '' }, ctx);
      expect([file, pickles.length > 0]).toEqual([file, true]);
      expect(findings.some((f) => f.rule === 'npy/object-array')).toBe(true);
      for (const p of pickles) expect(p.bytes[0]).toBe(0x80); // PROTO: the payload starts where the pickle does
    }
  });

  it("a .npy whose pickle calls ssl.get_server_certificate is dangerous once analysed (CVE-2025-46417's file)", async () => {
    const file = path.join(CORPUS, 'pickle/picklescan/tests/data2/dns_exfiltration.npy');
    const { ctx, findings } = fakeContext('dns_exfiltration.npy', { analysePickles: true });
    await scanNpy(mem(new Uint8Array(fs.readFileSync(file)), 'dns_exfiltration.npy'), ctx);
    expect(findings.some((f) => f.severity === 'dangerous'), JSON.stringify(findings)).toBe(true);
  });
});

// --- safetensors -----------------------------------------------------------------------------------

describe('scanSafetensors', () => {
  it('valid files are info; trailing bytes (a polyglot) are suspicious with the reference error code', async () => {
    const good = craft(`{"a":${entry('F32', [2], 0, 8)}}`, 8);
    let r = fakeContext();
    await scanSafetensors(mem(good), r.ctx);
    expect(r.findings).toMatchObject([{ severity: 'info', rule: 'safetensors/valid', message: expect.stringMatching(/^1 tensor; .*cannot carry code/) }]);
    r = fakeContext();
    await scanSafetensors(mem(concat(good, new TextEncoder().encode('PK\x03\x04 appended'))), r.ctx);
    expect(r.findings).toMatchObject([{ severity: 'suspicious', rule: 'safetensors/invalid', message: expect.stringMatching(/MetadataIncompleteBuffer/) }]);
  });

  it('I/O errors propagate instead of passing for a verdict on the file', async () => {
    const good = craft(`{"a":${entry('F32', [2], 0, 8)}}`, 8);
    const failing: ByteSource = { size: good.length, name: 'flaky', read: () => Promise.reject(new IoError('IoError', 'disk gone')) };
    const r = fakeContext();
    await expect(scanSafetensors(failing, r.ctx)).rejects.toThrow(/disk gone/);
    expect(r.findings).toEqual([]);
  });
});

// --- GGUF ----------------------------------------------------------------------------------------------

const CHATML = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
const LLAMA3 =
  "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";
const TOOLS = "{%- set ns = namespace(found=false) -%}{%- for message in messages -%}{%- if message.role == 'system' -%}{%- set ns.found = true -%}{%- endif -%}{%- endfor -%}{{ raise_exception('x') if not ns.found else '' }}{{ messages | tojson }}";
/** The CVE-2024-34359 proof of concept and common obfuscations of it. */
const ESCAPES = [
  "{% for x in ().__class__.__base__.__subclasses__() %}{% if \"warning\" in x.__name__ %}{{x()._module.__builtins__['__import__']('os').popen(\"touch /tmp/retr0reg\")}}{%endif%}{% endfor %}",
  "{{ lipsum.__globals__['os'].popen('id').read() }}",
  "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
  "{{ ()|attr('\\x5f\\x5fclass\\x5f\\x5f') }}",
  "{{ (''|attr('_'*2 ~ 'class' ~ '_'*2)) }}",
  "{{ self._TemplateReference__context.joiner.__init__.__globals__.os.popen('id').read() }}",
  "{% include '/etc/passwd' %}",
  "{{ namespace['_'~'_init__'] }}",
];

describe('scanGguf', () => {
  const base = (template?: string): [string, Parameters<typeof gguf>[0][number][1]][] => [
    ['general.architecture', { type: 'str', value: 'llama' }],
    ['tokenizer.ggml.tokens', { type: 'strs', value: ['<s>', '</s>', 'a'] }],
    ['tokenizer.ggml.scores', { type: 'f32s', value: [0, 0, -1] }],
    ...(template === undefined ? [] : ([['tokenizer.chat_template', { type: 'str', value: template }]] as [string, { type: 'str'; value: string }][])),
  ];

  it('a well-formed file is info only: valid, and the chat template reported', async () => {
    const { ctx, findings } = fakeContext('m.gguf');
    await scanGguf(mem(gguf(base(CHATML), [{ name: 'tok_embd', ne: [8, 3] }, { name: 'norm', ne: [8] }])), ctx);
    expect(rules(findings)).toEqual(['gguf/chat-template', 'gguf/valid']);
    expect(flagged(findings)).toEqual([]);
    expect(findings.find((f) => f.rule === 'gguf/valid')!.message).toMatch(/GGUF v3, 4 key-value pairs, 2 tensors, alignment 32/);
  });

  it.each([CHATML, LLAMA3, TOOLS])('ordinary chat templates are not suspicious (%#)', async (t) => {
    expect(CHAT_TEMPLATE_PATTERNS.filter((p) => p.re.test(t)).map((p) => p.what)).toEqual([]);
  });

  it.each(ESCAPES.map((e, i) => [i, e] as const))('a sandbox-escaping chat template is suspicious (%i)', async (_i, t) => {
    const { ctx, findings } = fakeContext('evil.gguf');
    await scanGguf(mem(gguf(base(t), [{ name: 'w', ne: [4] }])), ctx);
    const f = findings.find((x) => x.rule === 'gguf/chat-template-suspicious');
    expect(f, JSON.stringify(findings)).toMatchObject({ severity: 'suspicious', location: expect.stringMatching(/^evil\.gguf@\d+$/) });
    expect(findings.some((x) => x.rule === 'gguf/chat-template')).toBe(true);
    expect(findings.some((x) => x.rule === 'gguf/valid')).toBe(false);
  });

  it('named templates (tokenizer.chat_template.<name>) are checked too', async () => {
    const { ctx, findings } = fakeContext();
    await scanGguf(mem(gguf([...base(CHATML), ['tokenizer.chat_template.tool_use', { type: 'str', value: ESCAPES[1]! }]])), ctx);
    expect(findings.find((x) => x.rule === 'gguf/chat-template-suspicious')!.message).toMatch(/tokenizer\.chat_template\.tool_use/);
  });

  it('every truncation is malformed (with an offset), never an exception', async () => {
    const full = gguf(base(ESCAPES[0]), [{ name: 'w', ne: [8, 2] }]);
    for (let n = 0; n < full.length; n++) {
      const { ctx, findings } = fakeContext('cut.gguf');
      await scanGguf(mem(full.subarray(0, n)), ctx);
      expect([n, findings.some((f) => f.rule === 'gguf/malformed')]).toEqual([n, true]);
      expect(findings.some((f) => f.rule === 'gguf/valid')).toBe(false);
    }
  });

  it('duplicate keys, bad bools, overlapping tensors, unknown types and appended bytes are flagged', async () => {
    const cases: [Uint8Array, RegExp][] = [
      [gguf([...base(), ['general.architecture', { type: 'str', value: 'x' }]]), /duplicate key "general\.architecture"/],
      [gguf([['general.flag', { type: 'bool', value: 7 }]]), /BOOL value of "general\.flag" is 7/],
      [gguf(base(), [{ name: 'a', ne: [8] }, { name: 'b', ne: [8], offset: 0 }]), /"b" has offset 0, expected 32/],
      [gguf(base(), [{ name: 'a', ne: [8], type: 4 }]), /unknown or removed ggml type 4/],
      [gguf(base(), [{ name: 'a', ne: [30], type: 2 }]), /not a multiple of the 32-element block/],
      [gguf([['general.alignment', { type: 'u32', value: 48 }]], [{ name: 'a', ne: [8] }], { alignment: 48 }), /not a power of two/],
      [gguf(base(), [{ name: 'x'.repeat(64), ne: [8] }]), /64 bytes or longer/],
    ];
    for (const [bytes, message] of cases) {
      const { ctx, findings } = fakeContext();
      await scanGguf(mem(bytes), ctx);
      expect(findings.find((f) => f.rule === 'gguf/malformed')?.message, JSON.stringify(findings)).toMatch(message);
    }
    const { ctx, findings } = fakeContext();
    await scanGguf(mem(gguf(base(), [{ name: 'a', ne: [8] }], { trailing: 100 })), ctx);
    expect(findings.find((f) => f.rule === 'gguf/trailing-data')!.message).toMatch(/^100 bytes after the end of the tensor data/);
  });

  it('big-endian v3 files (a byte-swapped version) are read in that byte order', async () => {
    const be = (n: number, width: 4 | 8): Uint8Array => {
      const b = new Uint8Array(width);
      if (width === 4) new DataView(b.buffer).setUint32(0, n);
      else new DataView(b.buffer).setBigUint64(0, BigInt(n));
      return b;
    };
    const key = new TextEncoder().encode('general.name');
    const value = new TextEncoder().encode('be');
    const bytes = concat(new TextEncoder().encode('GGUF'), be(3, 4), be(0, 8), be(1, 8), be(key.length, 8), key, be(8, 4), be(value.length, 8), value);
    const { ctx, findings } = fakeContext();
    await scanGguf(mem(bytes), ctx);
    expect(findings).toMatchObject([{ rule: 'gguf/valid', message: expect.stringMatching(/^GGUF v3, big-endian, 1 key-value pairs, 0 tensors/) }]);
  });

  it('declared sizes are checked before anything is read: a 2^60-byte string is malformed at once', async () => {
    const head = gguf([['general.name', { type: 'str', value: 'x' }]]);
    new DataView(head.buffer).setBigUint64(24 + 8 + 'general.name'.length + 4, 1n << 60n, true);
    const reads: number[] = [];
    const source = mem(head);
    const watched: ByteSource = { size: source.size, name: 'm', read: (o, l) => (reads.push(l), source.read(o, l)) };
    const { ctx, findings } = fakeContext();
    await scanGguf(watched, ctx);
    expect(findings.find((f) => f.rule === 'gguf/malformed')!.message).toMatch(/declared 1152921504606846976 bytes long, past the end of the file/);
    expect(Math.max(...reads)).toBeLessThanOrEqual(head.length);
  });
});

// --- .npy ------------------------------------------------------------------------------------------------

describe('scanNpy', () => {
  const f4 = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";

  it('a numeric array of exactly shape × itemsize bytes is valid', async () => {
    const { ctx, findings } = fakeContext('a.npy');
    await scanNpy(mem(npy(f4, new Uint8Array(24))), ctx);
    expect(findings).toMatchObject([{ severity: 'info', rule: 'npy/valid', message: expect.stringMatching(/dtype "<f4", shape \(2, 3\), C order, 24 bytes/) }]);
  });

  it('bytes after the data are trailing-data; missing bytes are malformed', async () => {
    let r = fakeContext('a.npy');
    await scanNpy(mem(npy(f4, new Uint8Array(24 + 9))), r.ctx);
    expect(r.findings).toMatchObject([{ severity: 'suspicious', rule: 'npy/trailing-data', message: expect.stringMatching(/^9 bytes after the end of the array data/) }]);
    r = fakeContext('a.npy');
    await scanNpy(mem(npy(f4, new Uint8Array(23))), r.ctx);
    expect(r.findings).toMatchObject([{ severity: 'suspicious', rule: 'npy/malformed', message: expect.stringMatching(/23 bytes, but .* need 24 \(truncated file\)/) }]);
  });

  it('an object dtype (plain or inside a structured dtype) hands the whole payload to scanPickle', async () => {
    const payload = Uint8Array.from([0x80, 0x04, 0x95, 1, 2, 3, 0x2e]);
    for (const descr of ["'|O'", "[('a', '<i4'), ('b', '|O')]", "[('n', [('deep', '|O8')])]"]) {
      const bytes = npy(`{'descr': ${descr}, 'fortran_order': False, 'shape': (3,), }`, payload);
      const { ctx, findings, pickles } = fakeContext('o.npy');
      await scanNpy(mem(bytes), ctx);
      expect(pickles).toEqual([{ bytes: payload, location: `o.npy@${bytes.length - payload.length}` }]);
      expect(rules(findings)).toEqual(['npy/object-array']);
    }
  });

  it('the numpy-written object array fixture', async () => {
    const bytes = fixture('object-array.npy');
    const { ctx, pickles } = fakeContext('object-array.npy');
    await scanNpy(mem(bytes), ctx);
    expect(pickles.length).toBe(1);
    expect(pickles[0]!.bytes.length).toBe(bytes.length - 128);
  });

  it('headers are parsed, never evaluated: anything but a literal is malformed', async () => {
    const bad = [
      "{'descr': __import__('os').system('id'), 'fortran_order': False, 'shape': (1,), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}",
      "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }",
      "{'descr': '<z9', 'fortran_order': False, 'shape': (1,), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (1.0,), }",
      "{'descr': b'<f4', 'fortran_order': False, 'shape': (1,), }",
      '[1, 2, 3]',
    ];
    for (const h of bad) {
      const { ctx, findings } = fakeContext();
      await scanNpy(mem(npy(h, new Uint8Array(4))), ctx);
      expect([h, rules(findings)]).toEqual([h, ['npy/malformed']]);
    }
  });

  it('parses the literal forms numpy files contain', () => {
    expect(parsePyLiteral("{'shape': (2L, 3), 'a': [u'x', \"y\\n\"], 'b': (), 'c': (1,), 'd': None, 'e': True}")).toEqual({
      kind: 'dict',
      entries: new Map<string, unknown>([
        ['shape', { kind: 'tuple', items: [{ kind: 'int', value: 2n }, { kind: 'int', value: 3n }] }],
        ['a', { kind: 'list', items: [{ kind: 'str', value: 'x' }, { kind: 'str', value: 'y\n' }] }],
        ['b', { kind: 'tuple', items: [] }],
        ['c', { kind: 'tuple', items: [{ kind: 'int', value: 1n }] }],
        ['d', { kind: 'none' }],
        ['e', { kind: 'bool', value: true }],
      ]),
    });
    expect(() => parsePyLiteral('('.repeat(100) + ')'.repeat(100))).toThrow(/nested too deeply/);
  });

  it("reads headers as ast.literal_eval does: a repeated key's last value, adjacent strings, comments, a bool in the shape", () => {
    const header = (text: string): unknown => parsePyLiteral(text);
    const d = header("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'descr': '|O'}") as { entries: Map<string, unknown> };
    expect([...d.entries.keys()]).toEqual(['descr', 'fortran_order', 'shape']);
    expect(d.entries.get('descr')).toEqual({ kind: 'str', value: '|O' });
    expect(header("'des' \"cr\"  # a comment\n u'!'")).toEqual({ kind: 'str', value: 'descr!' });
    expect(header("{'a': 1, # one\n 'b': 2} # end")).toEqual({ kind: 'dict', entries: new Map([['a', { kind: 'int', value: 1n }], ['b', { kind: 'int', value: 2n }]]) });
    expect(header("('x' \\\n 'y', r'\\d', '''q\nr''')")).toEqual({ kind: 'tuple', items: [{ kind: 'str', value: 'xy' }, { kind: 'str', value: '\\d' }, { kind: 'str', value: 'q\nr' }] });
    expect(header('(0x10, 0o7, 0b11, 1_000, - 2, +3, 0)')).toEqual({ kind: 'tuple', items: [16n, 7n, 3n, 1000n, -2n, 3n, 0n].map((value) => ({ kind: 'int', value })) });
    for (const bad of ['01', '1.5', '1j', '--1', "b'x'", "'a' b'x'", "'open", '0x']) expect(() => header(bad)).toThrow();
    expect(pyRepr(header("[('a', '<i4'), ('b', ('|O', (2,)))]") as never)).toBe("[('a', '<i4'), ('b', ('|O', (2,)))]");
    expect(pyRepr(header(`[${"'x', ".repeat(500)}]`) as never)).toMatch(/^\['x', .{150,}…$/);
  });

  it('object arrays hidden by literal forms numpy reads are object arrays: the pickle is analysed, the reader refuses them', async () => {
    const payload = Uint8Array.from([0x80, 0x02, 0x4e, 0x2e]);
    for (const h of [
      "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'descr': '|O'}",
      "{'des' 'cr': '|O', 'fortran_order': False, 'shape': (1,), }",
      "{'descr': '|O', 'fortran_order': False, 'shape': (1,), } # hi",
      "{'descr': '|O', 'fortran_order': False, 'shape': (True,), }",
    ]) {
      const bytes = npy(h, payload);
      const { ctx, findings, pickles } = fakeContext('o.npy');
      await scanNpy(mem(bytes), ctx);
      expect([h, rules(findings), pickles]).toEqual([h, ['npy/object-array'], [{ bytes: payload, location: `o.npy@${bytes.length - payload.length}` }]]);
      const refused = await numpyReader.open!(mem(bytes)).catch((e: unknown) => e);
      expect([h, (refused as { code?: string }).code]).toEqual([h, 'ObjectArray']);
    }
    // A bool dimension is an int to numpy: (True, 2) holds two elements.
    const { ctx, findings } = fakeContext('b.npy');
    await scanNpy(mem(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (True, 2), }", new Uint8Array(8))), ctx);
    expect(findings).toMatchObject([{ rule: 'npy/valid', message: expect.stringMatching(/shape \(1, 2\)/) }]);
  });

  it('a header of sane length that cannot be parsed: the bytes after it are analysed as a pickle anyway', async () => {
    const payload = Uint8Array.from([0x80, 0x02, 0x4e, 0x2e]);
    for (const h of ["{'descr': '|O', 'fortran_order': False, 'shape': (1,), 'x': f(1)}", "{'descr': '|O', 'fortran_order': False}", '[1, 2, 3]']) {
      const bytes = npy(h, payload);
      const { ctx, findings, pickles } = fakeContext('u.npy');
      await scanNpy(mem(bytes), ctx);
      expect([h, rules(findings), pickles]).toEqual([h, ['npy/malformed'], [{ bytes: payload, location: `u.npy@${bytes.length - payload.length}` }]]);
    }
  });

  it('bool data must be 0 or 1; versions 2.0 and 3.0 are read', async () => {
    let r = fakeContext();
    await scanNpy(mem(npy("{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", Uint8Array.of(1, 0, 2))), r.ctx);
    expect(r.findings).toMatchObject([{ rule: 'npy/malformed', message: expect.stringMatching(/bool element 2 has byte value 2/) }]);
    r = fakeContext();
    await scanNpy(mem(fixture('bool-2x3.npy')), r.ctx);
    expect(rules(r.findings)).toEqual(['npy/valid']);
    for (const v of [2, 3]) {
      r = fakeContext();
      await scanNpy(mem(npy("{'descr': [('αβ', '<f4')], 'fortran_order': False, 'shape': (1,), }", new Uint8Array(4), v)), r.ctx);
      expect(rules(r.findings)).toEqual(['npy/valid']);
    }
  });
});

// --- ONNX -------------------------------------------------------------------------------------------------

describe('scanOnnx', () => {
  it("an initializer reading '../../etc/passwd' as external data is dangerous", async () => {
    const { ctx, findings } = fakeContext('m.onnx');
    await scanOnnx(mem(onnxModel([onnxNode('Identity'), onnxExternalTensor(5, 'w', '../../etc/passwd')])), ctx);
    expect(flagged(findings)).toMatchObject([
      { severity: 'dangerous', rule: 'onnx/external-data-outside', message: expect.stringMatching(/tensor "w" \(initializer of graph\) reads its data from "\.\.\/\.\.\/etc\/passwd": it has '\.\.' segments/), location: expect.stringMatching(/^m\.onnx@\d+$/) },
    ]);
  });

  // protobuf merges a singular message field given twice: the first `t` gives external_data and
  // data_location, the second raw_data; onnx.load sees one tensor reading the outside file. Read alone,
  // the second was a plain tensor and the model was called safe.
  it('a Constant whose tensor is given twice (merged by protobuf) is not called safe, and the reader refuses it', async () => {
    const outside = concat(pb.msg(13, pb.str(1, 'location'), pb.str(2, '../../etc/passwd')), pb.int(14, 1));
    const plain = concat(pb.int(1, 1), pb.int(2, 2), pb.str(8, 'c'), pb.bytes(9, Uint8Array.of(7)));
    const attr = pb.msg(5, pb.str(1, 'value'), pb.bytes(5, outside), pb.bytes(5, plain), pb.int(20, 4));
    const model = onnxModel([onnxNode('Constant', [attr])]);
    const { ctx, findings } = fakeContext('m.onnx');
    await scanOnnx(mem(model), ctx);
    expect(flagged(findings)).toMatchObject([{ severity: 'suspicious', rule: 'onnx/malformed', message: expect.stringContaining('AttributeProto.t is given more than once') }]);
    await expect(onnxReader.open!(mem(model))).rejects.toMatchObject({ code: 'InvalidOnnx' });
    const sparseTwice = pb.msg(5, pb.str(1, 'sparse_value'), pb.msg(22, pb.msg(1, pb.int(1, 1), pb.int(2, 1), pb.bytes(9, new Uint8Array(4))), pb.msg(1, pb.int(1, 1), pb.int(2, 1), pb.bytes(9, new Uint8Array(4)))), pb.int(20, 11));
    await expect(onnxReader.open!(mem(onnxModel([onnxNode('Constant', [sparseTwice])])))).rejects.toMatchObject({ code: 'InvalidOnnx', message: expect.stringContaining('SparseTensorProto.values is given more than once') });
  });

  it.each([
    ['/etc/passwd', /absolute path/],
    ['\\\\server\\share\\w.bin', /absolute path/],
    ['C:\\Windows\\win.ini', /drive letter/],
    ['file:///etc/passwd', /URL/],
    ['https://example.invalid/w.bin', /URL/],
    ['weights/../../../home/u/.ssh/id_rsa', /'\.\.' segments/],
    ['..\\..\\secrets.txt', /'\.\.' segments/],
    ['*/_ORT_MEM_ADDR_/*', /raw memory address/],
    ['w.bin\u0000/../../etc/passwd', /NUL/],
  ])('location %j is dangerous', async (location, why) => {
    const { ctx, findings } = fakeContext();
    await scanOnnx(mem(onnxModel([onnxExternalTensor(5, 'w', location)])), ctx);
    expect(findings.find((f) => f.rule === 'onnx/external-data-outside')?.message, JSON.stringify(findings)).toMatch(why);
  });

  it('locations inside the model folder are info, grouped by file', async () => {
    const { ctx, findings } = fakeContext();
    await scanOnnx(mem(onnxModel([onnxExternalTensor(5, 'a', 'model.onnx.data'), onnxExternalTensor(5, 'b', 'model.onnx.data'), onnxExternalTensor(5, 'c', 'sub/dir/w.bin')])), ctx);
    expect(flagged(findings)).toEqual([]);
    expect(findings.filter((f) => f.rule === 'onnx/external-data').map((f) => f.message)).toEqual([
      '2 tensors read their data from the external file "model.onnx.data" next to the model',
      '1 tensor read their data from the external file "sub/dir/w.bin" next to the model',
    ]);
    expect(findings.find((f) => f.rule === 'onnx/valid')!.message).toMatch(/3 initializers \(3 external\)/);
  });

  it('external data is found in subgraphs (If/Loop attributes g and graphs), Constant tensors, sparse initializers, functions and training graphs', async () => {
    const evil = (no: number, name: string): Uint8Array => onnxExternalTensor(no, name, '/etc/shadow');
    const subgraph = (fields: Uint8Array[]): Uint8Array => concat(...fields, pb.str(2, 'body'));
    const models = {
      'If then_branch (g)': onnxModel([onnxNode('If', [pb.msg(5, pb.str(1, 'then_branch'), pb.msg(6, subgraph([evil(5, 't')])), pb.int(20, 5))])]),
      'Loop body in graphs': onnxModel([onnxNode('Loop', [pb.msg(5, pb.str(1, 'bodies'), pb.msg(11, subgraph([onnxNode('If', [pb.msg(5, pb.str(1, 'else_branch'), pb.msg(6, subgraph([evil(5, 'deep')])))])])))])]),
      'Constant value (t)': onnxModel([onnxNode('Constant', [pb.msg(5, pb.str(1, 'value'), evil(5, 'k'))])]),
      'Constant tensors': onnxModel([onnxNode('Constant', [pb.msg(5, pb.str(1, 'value'), evil(10, 'k'))])]),
      'sparse initializer values': onnxModel([pb.msg(15, evil(1, 'sv'), pb.int(3, 4))]),
      'function node attribute': onnxModel([], [pb.msg(25, pb.str(1, 'f'), pb.str(10, 'local'), onnxNode('Constant', [pb.msg(5, pb.str(1, 'value'), evil(5, 'fk'))], undefined, 7))]),
      'function default attribute': onnxModel([], [pb.msg(25, pb.str(1, 'f'), pb.msg(11, pb.str(1, 'w'), evil(5, 'fd')))]),
      'training initialization graph': onnxModel([], [pb.msg(20, pb.msg(1, evil(5, 'ti'), pb.str(2, 'init')))]),
    };
    for (const [what, bytes] of Object.entries(models)) {
      const { ctx, findings } = fakeContext();
      await scanOnnx(mem(bytes), ctx);
      expect([what, rules(flagged(findings))]).toEqual([what, ['onnx/external-data-outside']]);
    }
  });

  it('the onnx-written fixture: external data in an If branch and a custom domain', async () => {
    const { ctx, findings } = fakeContext('subgraph-external-data.onnx');
    await scanOnnx(mem(fixture('subgraph-external-data.onnx')), ctx);
    expect(rules(findings)).toEqual(['onnx/custom-domain', 'onnx/external-data-outside']);
    expect(findings.find((f) => f.rule === 'onnx/external-data-outside')!.message).toMatch(/"stolen" \(initializer of graph\/node "If"\/then_branch\)/);
    expect(findings.find((f) => f.rule === 'onnx/custom-domain')!.message).toMatch(/"com\.example\.custom" \("MyOp"\)/);
    const benign = fakeContext('matmul.onnx');
    await scanOnnx(mem(fixture('matmul.onnx')), benign.ctx);
    expect(rules(benign.findings)).toEqual(['onnx/valid']);
  });

  it('custom domains are info; standard ones and model-local function domains are not reported', async () => {
    const { ctx, findings } = fakeContext();
    const model = onnxModel(
      [onnxNode('Relu'), onnxNode('FusedConv', [], 'com.microsoft'), onnxNode('Tree', [], 'ai.onnx.ml'), onnxNode('Decode', [], 'org.custom.ops'), onnxNode('Helper', [], 'local.fns')],
      [pb.msg(25, pb.str(1, 'Helper'), pb.str(10, 'local.fns'), onnxNode('Relu', [], undefined, 7))],
    );
    await scanOnnx(mem(model), ctx);
    expect(findings.filter((f) => f.rule === 'onnx/custom-domain').map((f) => f.message)).toEqual([
      'nodes in the custom operator domain "org.custom.ops" ("Decode"): custom operators run native code from a library the application must register',
    ]);
    expect(flagged(findings)).toEqual([]);
  });

  it('malformed protobuf is suspicious with what and where, never an exception', async () => {
    const cases: [Uint8Array, RegExp][] = [
      [onnxModel([onnxExternalTensor(5, 'w', undefined)]), /data_location EXTERNAL but no external_data location/],
      [concat(pb.int(1, 8)), /no graph/],
      [new Uint8Array(0), /no graph/],
      [concat(pb.key(7, 2), pb.varint(100), new Uint8Array(5)), /field 7 is 100 bytes long, past the end of its message/],
      [concat(pb.key(7, 3)), /groups are not used/],
      [concat(pb.key(0, 0), pb.varint(1)), /field number 0/],
      [Uint8Array.of(0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), /longer than 10 bytes/],
      [concat(pb.int(7, 1)), /ModelProto\.graph|wire type varint, expected length-delimited/],
      [onnxModel([pb.msg(1, pb.bytes(4, Uint8Array.of(0xff, 0xfe)))]), /not valid UTF-8/],
    ];
    for (const [bytes, message] of cases) {
      const { ctx, findings } = fakeContext();
      await scanOnnx(mem(bytes), ctx);
      expect(findings.find((f) => f.rule === 'onnx/malformed')?.message, JSON.stringify(findings)).toMatch(message);
    }
  });

  it('nesting past MAX_ONNX_DEPTH stops with a limit finding, not a stack overflow', async () => {
    let g = concat(onnxNode('Relu'));
    for (let i = 0; i < 200; i++) g = concat(onnxNode('If', [pb.msg(5, pb.str(1, 'then_branch'), pb.msg(6, g))]));
    const { ctx, findings } = fakeContext();
    await scanOnnx(mem(onnxModel([g])), ctx);
    expect(findings.find((f) => f.rule === 'onnx/limit-exceeded')?.message).toMatch(/MAX_ONNX_DEPTH/);
  });
});

// --- Keras configs, HDF5 --------------------------------------------------------------------------------

const dense = (name: string) => ({ module: 'keras.layers', class_name: 'Dense', config: { name, units: 2 }, registered_name: null });
/** A Keras 3 Lambda: marshal of `lambda x: __import__('os').system('id')` (Python 3.11), never run. */
const keras3Lambda = {
  module: 'keras.layers',
  class_name: 'Lambda',
  config: { name: 'evil', function: { class_name: '__lambda__', config: { code: '4wEAAAAAAAAAAAAAAAMAAAADAAAA80YAAACXAHQBAAAAAAAAAAAAAGQBpgEAAKsBAAAAAAAAAACgAQAAAAAAAAAAAAAAAAAAAAAAAAAAZAKmAQAAqwEAAAAAAAAAAFMAKQNO2gJvc9oCaWQpAtoKX19pbXBvcnRfX9oGc3lzdGVtKQHaAXhzAQAAACD6CDxzdHJpbmc++gg8bGFtYmRhPnIIAAAAAwAAAHMcAAAAgACNSpB00Qwc1Awc1wwj0gwjoETRDCnUDCmAAPMAAAAA', defaults: null, closure: null } } },
  registered_name: null,
};
const sequential = (layers: unknown[]) => ({ module: 'keras', class_name: 'Sequential', config: { name: 'seq', layers }, registered_name: null });

describe('scanKerasConfig', () => {
  const scan = (config: unknown, location = 'model.keras:config.json'): Finding[] => {
    const { ctx, findings } = fakeContext('model.keras');
    scanKerasConfig(typeof config === 'string' ? config : JSON.stringify(config), ctx, location);
    return findings;
  };

  it('an ordinary Keras 3 config is info only', () => {
    const findings = scan(sequential([dense('d1'), dense('d2')]));
    expect(findings).toEqual([{ severity: 'info', rule: 'keras/config', message: 'Keras config of "Sequential" with 3 named objects', location: 'model.keras:config.json' }]);
  });

  it('Lambda layers are dangerous wherever they are nested (Functional in Bidirectional in TimeDistributed, config.layer, dicts)', () => {
    const nested = sequential([
      dense('d'),
      { class_name: 'TimeDistributed', config: { name: 'td', layer: { class_name: 'Bidirectional', config: { name: 'bi', layer: { class_name: 'Functional', config: { name: 'inner', layers: [keras3Lambda] } } } } } },
    ]);
    const findings = scan(nested);
    const f = findings.find((x) => x.rule === 'keras/lambda-layer')!;
    expect(f).toMatchObject({ severity: 'dangerous', location: 'model.keras:config.json' });
    expect(f.message).toMatch(/^Lambda layer "evil" \(\$\.config\.layers\[1\]\.config\.layer\.config\.layer\.config\.layers\[0\]\): its function is marshalled Python bytecode \(Keras 3 __lambda__, base64; names in it: /);
    expect(f.message).toMatch(/__import__/);
    expect(findings.filter((x) => x.rule === 'keras/lambda-function')).toEqual([]); // the lambda is reported with its layer
  });

  it('says what kind of function a Keras 2 Lambda holds', () => {
    const lambda2 = (fn: unknown, type: string, mod?: string) => ({ class_name: 'Lambda', config: { name: 'l', function: fn, function_type: type, module: mod } });
    const msg = (layer: unknown) => scan({ class_name: 'Sequential', config: [layer] }).find((x) => x.rule === 'keras/lambda-layer')!.message;
    expect(msg(lambda2(['4wEAAAAAAAAA', null, null], 'lambda'))).toMatch(/Keras 2 func_dump, base64/);
    expect(msg(lambda2('system', 'function', 'os'))).toMatch(/the Python function "os\.system"/);
  });

  it('Keras 3 function objects from dangerous modules, dangerous Keras functions, and bare lambdas are dangerous', () => {
    const activation = (a: unknown) => sequential([{ ...dense('d'), config: { name: 'd', units: 1, activation: a } }]);
    expect(rules(flagged(scan(activation({ module: 'builtins', class_name: 'function', config: 'exec', registered_name: 'function' }))))).toEqual(['keras/dangerous-module']);
    expect(rules(flagged(scan(activation({ module: 'os.path', class_name: 'function', config: 'exists', registered_name: 'function' }))))).toEqual(['keras/dangerous-module']);
    expect(rules(flagged(scan(activation({ module: 'keras.config', class_name: 'function', config: 'enable_unsafe_deserialization', registered_name: 'function' }))))).toEqual(['keras/dangerous-function']);
    expect(rules(flagged(scan(activation({ class_name: '__lambda__', config: { code: 'YQ==' } }))))).toEqual(['keras/lambda-function']);
  });

  it('custom objects (module or registered package outside Keras) are suspicious; Keras modules are not', () => {
    const custom = scan(sequential([{ module: 'my_project.layers', class_name: 'Attention', config: { name: 'att' }, registered_name: 'MyProject>Attention' }]));
    expect(flagged(custom)).toMatchObject([{ severity: 'suspicious', rule: 'keras/custom-object', message: expect.stringMatching(/layer "att" .* custom class "Attention" \(module "my_project\.layers", registered as "MyProject>Attention"\)/) }]);
    expect(flagged(scan(sequential([{ module: null, class_name: 'X', config: { name: 'x' }, registered_name: 'Custom>X' }])))).toHaveLength(1);
    expect(flagged(scan(sequential([{ module: 'keras.src.models.functional', class_name: 'Functional', config: { name: 'f', layers: [] }, registered_name: 'Functional' }])))).toEqual([]);
    expect(flagged(scan(sequential([{ module: 'keras_hub.src.models.gemma.gemma_backbone', class_name: 'GemmaBackbone', config: { name: 'g' }, registered_name: 'keras_hub>GemmaBackbone' }])))).toEqual([]);
  });

  it('a lookup layer reading its vocabulary from a path is suspicious', () => {
    const findings = scan(sequential([{ module: 'keras.layers', class_name: 'StringLookup', config: { name: 'lookup', vocabulary: '/etc/passwd' }, registered_name: null }]));
    expect(flagged(findings)).toMatchObject([{ rule: 'keras/external-file', message: expect.stringMatching(/layer "lookup" .* "\/etc\/passwd"/) }]);
  });

  it('bad JSON, non-objects and deep nesting are suspicious, never an exception', () => {
    expect(rules(scan('{"class_name": "Sequential", '))).toEqual(['keras/malformed']);
    expect(rules(scan('[1, 2]'))).toEqual(['keras/malformed']);
    const deep = '{"a":'.repeat(5000) + '1' + '}'.repeat(5000);
    expect(rules(flagged(scan(deep)))).toEqual(['keras/limit-exceeded']);
  });

  it('metadata.json: the Keras version', () => {
    const { ctx, findings } = fakeContext();
    scanKerasMetadata('{"keras_version": "3.6.0", "date_saved": "2024-12-09@13:18:42"}', ctx, 'm.keras:metadata.json');
    scanKerasMetadata('nope', ctx, 'm.keras:metadata.json');
    expect(findings.map((f) => [f.rule, f.severity])).toEqual([
      ['keras/metadata', 'info'],
      ['keras/malformed', 'suspicious'],
    ]);
  });
});

describe('scanHdf5', () => {
  it.each(['keras2-lambda.h5', 'keras2-lambda-fixed-string.h5', 'keras2-lambda-dense-attributes.h5'])('%s: the Lambda layer in model_config is dangerous', async (name) => {
    const { ctx, findings } = fakeContext(name);
    await scanHdf5(mem(fixture(name)), ctx);
    const lambda = findings.find((f) => f.rule === 'keras/lambda-layer');
    expect(lambda, JSON.stringify(findings)).toMatchObject({ severity: 'dangerous', location: expect.stringMatching(new RegExp(`^${name.replace(/\./g, '\\.')}:model_config@\\d+$`)) });
    expect(lambda!.message).toMatch(/Lambda layer "lambda_attack" .* names in it: .*system/);
    expect(findings.some((f) => f.rule === 'hdf5/keras-config')).toBe(true);
  });

  it('an HDF5 file without a Keras config is info', async () => {
    const { ctx, findings } = fakeContext('plain.h5');
    await scanHdf5(mem(fixture('plain.h5')), ctx);
    expect(rules(findings)).toEqual(['hdf5/no-keras-config']);
  });

  it('a damaged superblock still finds model_config by the name scan', async () => {
    const bytes = fixture('keras2-lambda.h5').slice();
    bytes[8] = 9; // superblock version 9
    const { ctx, findings } = fakeContext('x.h5');
    await scanHdf5(mem(bytes), ctx);
    expect(rules(flagged(findings))).toEqual(['hdf5/malformed', 'keras/lambda-layer']);
  });

  it('not HDF5 at all: malformed, never an exception', async () => {
    const { ctx, findings } = fakeContext('x.h5');
    await scanHdf5(mem(new TextEncoder().encode('definitely not hdf5')), ctx);
    expect(rules(findings)).toEqual(['hdf5/malformed', 'hdf5/no-keras-config']);
  });
});

// --- TF.js, TFLite -----------------------------------------------------------------------------------

describe('scanTfjsModelJson', () => {
  const model = (paths: unknown[], topology: unknown = { node: [] }) => JSON.stringify({ format: 'graph-model', modelTopology: topology, weightsManifest: [{ paths, weights: [{ name: 'w', shape: [1], dtype: 'float32' }] }] });
  const scan = (text: string, file = 'models/m/model.json'): Finding[] => {
    const { ctx, findings } = fakeContext(file);
    scanTfjsModelJson(text, ctx, file);
    return findings;
  };

  it('shards next to model.json are fine', () => {
    expect(rules(scan(model(['group1-shard1of2.bin', './group1-shard2of2.bin', 'sub/w.bin'])))).toEqual(['tfjs/valid']);
    expect(rules(scan(model(['https://cdn.example/models/m/w.bin']), 'https://cdn.example/models/m/model.json'))).toEqual(['tfjs/valid']);
  });

  it.each(['../secrets.bin', '/etc/passwd', 'C:\\Users\\u\\w.bin', 'https://tracker.example/w.bin', '//evil.example/w.bin', 'sub/../../x.bin', 'a/%2e%2e/%2e%2e/x', '..%2fsecrets.bin', '%2E%2E%2Fsecrets.bin', 'a%2f..%5C..%5Cx.bin', 'file:///etc/passwd', 'data:application/octet-stream;base64,AAAA'])(
    'weight path %j is outside the model folder',
    (p) => {
      const findings = scan(model(['ok.bin', p]));
      expect(flagged(findings)).toMatchObject([{ severity: 'suspicious', rule: 'tfjs/weights-path-outside', message: expect.stringContaining('weightsManifest[0].paths[1]') }]);
    },
  );

  it('a layers-model topology is scanned as a Keras config', () => {
    const findings = scan(JSON.stringify({ format: 'layers-model', modelTopology: { keras_version: '2.2.4', backend: 'tensorflow', model_config: sequential([keras3Lambda]) }, weightsManifest: [] }));
    expect(rules(flagged(findings))).toEqual(['keras/lambda-layer']);
    expect(findings.find((f) => f.rule === 'keras/lambda-layer')!.location).toBe('models/m/model.json:modelTopology');
  });

  it('not JSON, or not a model.json: malformed', () => {
    expect(rules(scan('{'))).toEqual(['tfjs/malformed']);
    expect(rules(scan('{"hello": 1}'))).toEqual(['tfjs/malformed']);
    expect(rules(scan(JSON.stringify({ weightsManifest: [{ weights: [] }] })))).toEqual(['tfjs/malformed']);
  });
});

describe('scanTflite', () => {
  it('builtin operators only: valid', async () => {
    const { ctx, findings } = fakeContext('m.tflite');
    await scanTflite(mem(tfliteModel({ codes: [[0], [3]] })), ctx);
    expect(findings).toMatchObject([{ severity: 'info', rule: 'tflite/valid', message: 'TFLite schema version 3: 1 subgraph, 1 tensor, 2 operators, 2 operator codes (0 custom), 2 buffers' }]);
  });

  it('custom and Flex operators are info; an external buffer file outside the folder is dangerous', async () => {
    const { ctx, findings } = fakeContext('m.tflite');
    await scanTflite(mem(tfliteModel({ codes: [[0], [32, 'MyNativeOp'], [32, 'FlexAudioSpectrogram']], externalGroups: ['weights.bin', '/etc/passwd'] })), ctx);
    expect(findings.map((f) => [f.severity, f.rule])).toEqual([
      ['info', 'tflite/custom-op'],
      ['info', 'tflite/flex-op'],
      ['info', 'tflite/external-buffer'],
      ['dangerous', 'tflite/external-buffer-outside'],
    ]);
    expect(findings[1]!.message).toMatch(/TensorFlow op "AudioSpectrogram"/);
  });

  it('indices and buffers outside their ranges are malformed', async () => {
    const cases: [Uint8Array, RegExp][] = [
      [tfliteModel({ codes: [[0]], opcodeIndex: 3 }), /uses operator code 3, but there are 1/],
      [tfliteModel({ codes: [[0]], tensorBuffer: 9 }), /uses buffer 9, but there are 2/],
      [tfliteModel({ codes: [[0]], bufferOffset: 1n << 40n }), /past the end of the file/],
      [new TextEncoder().encode('\x10\x00\x00\x00TFL2........'), /not "TFL3"/],
    ];
    for (const [bytes, message] of cases) {
      const { ctx, findings } = fakeContext();
      await scanTflite(mem(bytes), ctx);
      expect(findings.find((f) => f.rule === 'tflite/malformed')?.message, JSON.stringify(findings)).toMatch(message);
    }
  });
});
