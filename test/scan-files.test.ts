import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { scanBytes } from '../src/scan/scan.js';
import { scanFile } from '../src/node/scan-file.js';
import { analyzePickles } from '../src/scan/pickle-analysis.js';
import { readTorchCheckpoint } from '../src/formats/torch/checkpoint.js';
import { MemorySource } from '../src/io/byte-source.js';
import { verdictOf, type Finding, type ScanReport } from '../src/formats/findings.js';
import { runCli } from './helpers/cli.js';

/**
 * Ordinary files are not model files: bytes are analysed as a pickle only as far as CPython's
 * unpickler would run them, and bytes it stops on before importing anything (source code, text,
 * an empty file) are reported as what they are, never as a suspicious pickle.
 */

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tensorsafe-scanfiles-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const P = (...parts: (string | number[] | Uint8Array)[]): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...Buffer.from(p, 'utf8')] : [...p])));
const L = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, 'latin1'));
const rules = (r: { findings: readonly Finding[] }): string[] => [...new Set(r.findings.map((f) => f.rule))].sort();
function analyze(bytes: Uint8Array): { verdict: string; findings: Finding[]; inert: boolean; acted: boolean } {
  const findings: Finding[] = [];
  const r = analyzePickles(bytes, { where: 't', report: (f) => findings.push(f) });
  return { verdict: verdictOf(findings), findings, inert: r.inert, acted: r.acted };
}

/** A source tree of the kind every repository has. */
const TREE: Record<string, string> = {
  // 'i' is INST, which CPython refuses at once: no MARK.
  'a.py': 'import os\n\nprint(os.getcwd())\n',
  // 'f' is not an opcode.
  'b.py': 'from pathlib import Path\n',
  // numpy/random/__init__.pxd: 'c' is GLOBAL of the module "import numpy as np", which CPython cannot import.
  'random.pxd': 'cimport numpy as np\nfrom libc.stdint cimport uint32_t, uint64_t\n\ncdef extern from "numpy/random/bitgen.h":\n    struct bitgen:\n        void *state\n',
  // 'I' is INT, whose argument is not a number.
  'README.md': 'If you scan this folder, nothing here is a model.\nclass\nos\nsystem\n',
  // "N." runs as a pickle (None) that does nothing; the rest is text.
  'NOTES.txt': 'N.B. the second line\ncos\nsystem\n',
  'config.json': '{"hidden_size": 768, "model_type": "bert"}\n',
  // A line feed first is not a protobuf.
  'setup.cfg': '\n[metadata]\nname = demo\n',
  // 'S' is STRING, whose argument is not quoted.
  'Schema.sql': 'SELECT 1;\n',
  'empty.txt': '',
};

describe('scan: text, source and empty files are not model files', () => {
  const dir = path.join(tmp, 'repo');
  fs.mkdirSync(path.join(dir, 'src'), { recursive: true });
  for (const [name, text] of Object.entries(TREE)) fs.writeFileSync(path.join(dir, 'src', name), text);

  it.each(Object.keys(TREE))('%s is safe, and said to be text (or empty, or JSON)', async (name) => {
    const r = await scanFile(path.join(dir, 'src', name));
    expect(r.verdict).toBe('safe');
    expect(r.findings.every((f) => f.severity === 'info')).toBe(true);
    const expected = name === 'config.json' ? ['json', 'format/json'] : name === 'empty.txt' ? ['empty', 'format/empty'] : ['text', 'format/text'];
    expect([r.format, rules(r)]).toEqual([expected[0], [expected[1]]]);
  });

  it('messages: "a text file, not a model file"; "an empty file"', async () => {
    expect((await scanFile(path.join(dir, 'src', 'a.py'))).findings).toEqual([
      { severity: 'info', rule: 'format/text', message: 'a text file, not a model file', location: path.join(dir, 'src', 'a.py') },
    ]);
    expect((await scanFile(path.join(dir, 'src', 'empty.txt'))).findings[0]!.message).toBe('an empty file');
  });

  it('`scan --sarif .` over a source tree exits 0 with no results; the text output counts the files that are not models', async () => {
    const sarif = await runCli('scan', '--sarif', dir);
    expect(sarif.code).toBe(0);
    expect(JSON.parse(sarif.stdout).runs[0].results).toEqual([]);
    const text = await runCli('scan', dir);
    expect(text.code).toBe(0);
    const n = Object.keys(TREE).length;
    expect(text.stdout).toContain(`${n} files: ${n} safe (${n} not model files), 0 suspicious, 0 dangerous`);
  });

  it('a model beside the source is still found, and still fails the run', async () => {
    const mixed = path.join(tmp, 'mixed');
    fs.mkdirSync(mixed);
    fs.writeFileSync(path.join(mixed, 'a.py'), TREE['a.py']!);
    fs.writeFileSync(path.join(mixed, 'model.bin'), L('cos\nsystem\n(S"id"\ntR.'));
    const r = await runCli('scan', mixed);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/2 files: 1 safe \(1 not model files\), 0 suspicious, 1 dangerous/);
  });

  it('binary files that are neither a pickle nor a known format are "unknown" (info)', async () => {
    const r = await scanBytes(P([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0]), 'lib.so');
    expect([r.verdict, r.format, rules(r)]).toEqual(['safe', 'unknown', ['format/unknown']]);
    const pyc = await scanBytes(P([0xa7, 0x0d, 0x0d, 0x0a, 0, 0, 0, 0, 0xe3, 0x00]), 'x.pyc');
    expect([pyc.verdict, pyc.format]).toEqual(['safe', 'unknown']);
  });

  it('bytes that start like a pickle but fail before importing anything say so (info)', async () => {
    const r = await scanBytes(P([0x80, 4], 't.'), 'x.pkl');
    expect([r.verdict, r.format, rules(r)]).toEqual(['safe', 'pickle', ['pickle/inert']]);
    expect(r.findings[0]!.message).toMatch(/TUPLE without a MARK at byte 2/);
  });
});

describe('scan: what CPython runs is still judged', () => {
  const judge = async (bytes: Uint8Array): Promise<ScanReport> => scanBytes(bytes, 'm.bin');

  it('a payload followed by garbage ran before the garbage: dangerous', async () => {
    for (const tail of ['\x00\xff garbage', 'import os\n', 'cimport numpy as np\nx\n']) {
      const r = await judge(L('cos\nsystem\n(S"id"\ntR.' + tail));
      expect([tail, r.verdict]).toEqual([tail, 'dangerous']);
      expect(rules(r)).toContain('pickle/dangerous-global');
    }
    // Cut short after the call: CPython has already run it.
    const cut = await judge(L('cos\nsystem\n(S"id"\ntRcimport numpy as np\nfrom x\n'));
    expect(cut.verdict).toBe('dangerous');
    expect(rules(cut)).toEqual(expect.arrayContaining(['pickle/dangerous-global', 'pickle/malformed']));
  });

  it.each([
    ['NONE, POP', 'N0cos\nsystem\n(S"id"\ntR.'],
    ['MARK, POP_MARK', '(1cos\nsystem\n(S"id"\ntR.'],
    ['INT (strtol accepts spaces and hex), POP', 'I 0x1f\n0cos\nsystem\n(S"id"\ntR.'],
    ['FLOAT, POP', 'F1e3\n0cos\nsystem\n(S"id"\ntR.'],
    ['a FRAME without PROTO', '\x95\x15\x00\x00\x00\x00\x00\x00\x00cos\nsystem\n(S"id"\ntR.'],
    ['EMPTY_DICT, PUT, POP, GET', '}p1_0\n0g 10\n0cos\nsystem\n(S"id"\ntR.'],
    ['STRING with escapes as the module of STACK_GLOBAL', "S'o\\x73'\nS'system'\n\x93(S\"id\"\ntR."],
    ['PERSID (torch.load reads on)', 'P0\n0cos\nsystem\n(S"id"\ntR.'],
    // The C unpickler stops on these, the pure-Python one (pickle._Unpickler, joblib.load) reads on: both readings count.
    ['FLOAT with a space (float() accepts it)', 'F 1.5\n0cos\nsystem\n(S"id"\ntR.'],
    ['FLOAT with an underscore (float() accepts it)', 'F1_0.5\n0cos\nsystem\n(S"id"\ntR.'],
    ['FLOAT that overflows (float() gives inf)', 'F1e500\n0cos\nsystem\n(S"id"\ntR.'],
    // The pure-Python unpickler stops on these, the C one reads on.
    ['INT in C octal (strtol)', 'I010\n0cos\nsystem\n(S"id"\ntR.'],
    ['INT that starts with NUL (strtol reads 0)', 'I\x00zz\n0cos\nsystem\n(S"id"\ntR.'],
    ['LONG with underscores and L', 'L10_0L\n0cos\nsystem\n(S"id"\ntR.'],
  ])('a pickle whose first opcode is unusual is still analysed: %s', async (_n, text) => {
    const r = await judge(L(text));
    expect(r.verdict).toBe('dangerous');
    expect(rules(r)).toContain('pickle/dangerous-global');
  });

  it('a pickle passed to pickle.loads is analysed whatever its first byte (protocol 0 too)', () => {
    const inner = L('cos\nsystem\n(S"id"\ntR.');
    const r = analyze(P([0x80, 4], L('\x8c\x06pickle\x8c\x05loads\x93C'), [inner.length], inner, L('\x85R.')));
    expect(r.findings.map((f) => f.message)).toEqual(expect.arrayContaining([expect.stringContaining('os.system')]));
  });
});

describe("pickle analysis stops where CPython's unpickler stops (checked against Modules/_pickle.c)", () => {
  it.each([
    ['INST without a MARK (load_inst calls marker() first)', 'import os\n'],
    ['GLOBAL of a module with a space (ModuleNotFoundError)', 'cimport numpy as np\nfrom libc.stdint cimport uint32_t\n'],
    ['GLOBAL of a module with a leading dot (ValueError: Empty module name)', 'c.os\nsystem\n(S"id"\ntR.'],
    ['GLOBAL of a module with a trailing dot', 'cos.\nsystem\n(S"id"\ntR.'],
    ['GLOBAL with an empty line (pickle data was truncated)', 'c\nsystem\n'],
    ['STACK_GLOBAL of an empty module', '\x8c\x00\x8c\x06system\x93.'],
    ['STACK_GLOBAL of a module with a space', '\x8c\x04os x\x8c\x06system\x93(S"id"\ntR.'],
    ['STACK_GLOBAL of a float (STACK_GLOBAL requires str)', 'G\x00\x00\x00\x00\x00\x00\x00\x00\x8c\x06system\x93.'],
    ['INT that is not a number', 'If you\ncos\nsystem\n(S"id"\ntR.'],
    ['STRING without quotes', 'SELECT\ncos\nsystem\n(S"id"\ntR.'],
    ['STRING with a bad \\x escape', 'S"\\x4"\ncos\nsystem\n(S"id"\ntR.'],
    ['DICT without a MARK', 'def f():\n'],
    ['DICT with an odd number of items', '(I1\ndcos\nsystem\n(S"id"\ntR.'],
    ['APPEND on an empty stack', 'a = 1\n'],
    ['APPEND to a string', 'S"x"\nS"y"\nacos\nsystem\n(S"id"\ntR.'],
    ['GET of a missing memo entry', 'g1\ncos\nsystem\n(S"id"\ntR.'],
    ['PUT of a negative index', 'Np-1\n0cos\nsystem\n(S"id"\ntR.'],
    ['POP_MARK without a MARK', '1 + 1\n'],
    ['STOP without a value', '.cos\nsystem\n(S"id"\ntR.'],
    ['a byte that is not an opcode', '# comment\ncos\nsystem\n'],
    ['a truncated argument', 'X\x10\x00\x00\x00abc'],
    ['a FRAME longer than the stream', '\x95\x1c\x00\x00\x00\x00\x00\x00\x00cos\nsystem\n(S"id"\ntR.'],
    ['PERSID that is not ASCII', 'P\xe9\n0cos\nsystem\n(S"id"\ntR.'],
  ])('%s: nothing runs, nothing is reported', (_n, text) => {
    const r = analyze(L(text));
    expect([r.inert, r.acted, r.findings]).toEqual([true, false, []]);
  });

  it('a module that is an identifier or a hyphenated name is imported (a folder or script of that name on sys.path)', () => {
    for (const m of ['os', 'my-module', 'pkg.sub', 'été']) {
      const r = analyze(P(`c${m}\nx\n.`));
      expect([m, r.acted, r.inert]).toEqual([m, true, false]);
    }
  });
});

describe('empty files', () => {
  it('readTorchCheckpoint: NotACheckpoint, "is an empty file"', async () => {
    await expect(readTorchCheckpoint(new MemorySource(new Uint8Array(0), 'model.pt'))).rejects.toMatchObject({
      code: 'NotACheckpoint',
      message: 'model.pt is not a PyTorch checkpoint: it is an empty file',
    });
  });

  it('convert refuses an empty file as bad input, with the same words', async () => {
    const file = path.join(tmp, 'empty.pt');
    fs.writeFileSync(file, '');
    const r = await runCli('convert', file, '-o', path.join(tmp, 'out.safetensors'));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/is an empty file/);
    expect(fs.existsSync(path.join(tmp, 'out.safetensors'))).toBe(false);
  });
});

describe('folder scans do not enter .git or node_modules', () => {
  it('a repository folder: its model files are scanned, git objects and dependencies are not', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tensorsafe-walk-'));
    try {
      for (const d of ['.git/objects/ab', 'node_modules/pkg', 'models']) fs.mkdirSync(path.join(root, d), { recursive: true });
      const evil = Buffer.from('\x80\x02cposix\nsystem\nX\x02\x00\x00\x00id\x85R.', 'latin1');
      fs.writeFileSync(path.join(root, '.git/objects/ab/cdef'), evil);
      fs.writeFileSync(path.join(root, 'node_modules/pkg/x.pkl'), evil);
      fs.writeFileSync(path.join(root, 'models/a.txt'), 'hello\n');
      const r = await runCli('scan', '--json', root);
      expect(r.lines.map((l) => path.relative(root, JSON.parse(l).file))).toEqual(['models/a.txt']);
      expect(r.code).toBe(0);
      // Named explicitly, they are scanned.
      expect((await runCli('scan', path.join(root, 'node_modules'))).code).toBe(1);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('gzip files: what gzip.open gives a loader is scanned', () => {
  it('gzipped text is safe, a gzipped pickle payload is dangerous, a bomb or a cut stream cannot be checked', async () => {
    const { gzipSync } = await import('node:zlib');
    const { MAX_GUNZIPPED_BYTES } = await import('../src/scan/gzip.js');
    const evil = Buffer.from('\x80\x02cposix\nsystem\nX\x02\x00\x00\x00id\x85R.', 'latin1');
    const text = await scanBytes(gzipSync(Buffer.from('# notes\nnothing to see\n')), 'notes.md.gz');
    expect(text.verdict).toBe('safe');
    expect(text.format).toBe('gzip (text)');
    const pickled = await scanBytes(gzipSync(evil), 'model.pkl.gz');
    expect(pickled).toMatchObject({ verdict: 'dangerous', format: 'gzip (pickle)' });
    // Two members (Python's gzip reads on into the second): a benign pickle, then the payload a second pickle.load runs.
    const twoMembers = await scanBytes(new Uint8Array([...gzipSync(Buffer.from('\x80\x02}q\x00.', 'latin1')), ...gzipSync(evil)]), 'two.gz');
    expect(twoMembers.verdict).toBe('dangerous');
    const bomb = await scanBytes(gzipSync(new Uint8Array(MAX_GUNZIPPED_BYTES + 1)), 'bomb.gz');
    expect(bomb).toMatchObject({ verdict: 'suspicious', findings: [{ rule: 'format/unscannable-archive', message: expect.stringMatching(/MAX_GUNZIPPED_BYTES/) }] });
    const cut = gzipSync(Buffer.concat([evil, Buffer.alloc(4096, 7)]));
    expect(await scanBytes(cut.subarray(0, 16), 'cut.gz')).toMatchObject({ verdict: 'suspicious', findings: [{ rule: 'format/unscannable-archive' }] });
  });
});
