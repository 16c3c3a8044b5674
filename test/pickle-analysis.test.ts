import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import { analyzePickles } from '../src/scan/pickle-analysis.js';
import { verdictOf, type Finding } from '../src/formats/findings.js';
import { HAVE_CORPUS, pickleCorpus } from './helpers/corpus.js';

function analyze(bytes: Uint8Array): { verdict: string; findings: Finding[] } {
  const findings: Finding[] = [];
  analyzePickles(bytes, { where: 't', report: (f) => findings.push(f) });
  return { verdict: verdictOf(findings), findings };
}
const P = (...parts: (string | number[] | Uint8Array)[]): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...Buffer.from(p, 'latin1')] : [...p])));
const u32 = (n: number): number[] => [n & 255, (n >> 8) & 255, (n >> 16) & 255, (n >> 24) & 255];
const u64 = (n: number): number[] => [...u32(n), 0, 0, 0, 0];
const rules = (r: { findings: Finding[] }): string[] => [...new Set(r.findings.map((f) => f.rule))].sort();

describe('pickle analysis: techniques that fooled name-matching scanners', () => {
  it.each([
    ['GLOBAL os.system + REDUCE', P('cos\nsystem\n(S"id"\ntR.'), 'dangerous', 'pickle/dangerous-global'],
    ['INST call without REDUCE', P('(S"id"\nios\nsystem\n.'), 'dangerous', 'pickle/dangerous-global'],
    ['OBJ then POP hides the call', P([0x80, 2], '(cos\nsystem\nX\x02\x00\x00\x00ido0N.'), 'dangerous', 'pickle/dangerous-global'],
    ['STACK_GLOBAL through memo with decoys', P([0x80, 4], '\x8c\x02os\x94\x8c\x05torch\x94\x8c\x06system\x94h\x00h\x02\x93.'), 'dangerous', 'pickle/dangerous-global'],
    ['STACK_GLOBAL fed by protocol-0 STRING, no PROTO', P("S'os'\nS'system'\n\x93."), 'dangerous', 'pickle/dangerous-global'],
    ['dotted attribute through pathlib', P([0x80, 4], '\x8c\x07pathlib\x8c\x09os.system\x93.'), 'dangerous', 'pickle/dangerous-global'],
    ['submodule of asyncio', P('casyncio.unix_events\n_UnixSubprocessTransport\n.'), 'dangerous', 'pickle/dangerous-global'],
    ['computed name (a call result) into STACK_GLOBAL', P([0x80, 4], 'cbuiltins\nstr\n\x8c\x02os\x85R\x8c\x06system\x93.'), 'dangerous', 'pickle/computed-global'],
    ['BUILD on a module object', P([0x80, 4], '\x8c\x05torch\x8c\x06_utils\x93}\x8c\x01x\x8c\x01ysb.'), 'dangerous', 'pickle/mutates-global'],
    ['unknown class', P('cmylib\nThing\n)R.'), 'suspicious', 'pickle/unknown-global'],
    ['getattr gadget chain', P('cbuiltins\ngetattr\n(cbuiltins\nobject\nS"x"\ntR)R.'), 'dangerous', 'pickle/indirect-call'],
    ['memo read before written', P('cos\nsystem\nh\x09.'), 'dangerous', 'pickle/malformed'],
    ['truncated after the payload', P('cbuiltins\nexec\nX\xff\xff\xff\x00ab'), 'dangerous', 'pickle/malformed'],
    ['two pickles, the second malicious', P([0x80, 2], ']q\x00.', [0x80, 2], 'cos\nsystem\n.'), 'dangerous', 'pickle/dangerous-global'],
    ['a benign list', P([0x80, 2], ']q\x00(K\x01K\x02e.'), 'safe', ''],
  ])('%s → %s', (_n, bytes, verdict, rule) => {
    const r = analyze(bytes);
    expect(r.verdict).toBe(verdict);
    if (rule) expect(rules(r)).toContain(rule);
  });

  it('FRAME straddle: the opcodes a straddling argument hides are analysed', () => {
    const hidden = P('cos\nsystem\nX\x02\x00\x00\x00id\x85R0');
    const bytes = P([0x80, 5, 0x28, 0x95], u64(2), 'B', u32(hidden.length), hidden, '1.');
    const r = analyze(bytes);
    expect(r.verdict).toBe('dangerous');
    expect(rules(r)).toEqual(expect.arrayContaining(['pickle/frame-mismatch', 'pickle/dangerous-global']));
  });

  it('a pickle passed to pickle.loads is analysed at full severity; one passed to another call is flagged as nested; inert data is not', () => {
    const inner = P([0x80, 4], '\x8c\x02os\x8c\x06system\x93\x8c\x02id\x85R.');
    const loaded = analyze(P([0x80, 4], '\x8c\x06pickle\x8c\x05loads\x93C', [inner.length], inner, '\x85R.'));
    expect(loaded.findings.filter((f) => f.rule === 'pickle/dangerous-global').map((f) => f.message)).toEqual(
      expect.arrayContaining([expect.stringContaining('pickle.loads'), expect.stringContaining('os.system')]),
    );
    const passed = analyze(P([0x80, 4], '\x8c\x0bcollections\x8c\x0bOrderedDict\x93C', [inner.length], inner, '\x85R.'));
    expect(passed.verdict).toBe('suspicious');
    expect(rules(passed)).toEqual(['pickle/nested-pickle']);
    // Stored as a dict value, nothing unpickles it: inert (row 35 of the scanner comparison).
    const stored = analyze(P([0x80, 4], '}\x8c\x04blobC', [inner.length], inner, 's.'));
    expect(stored.verdict).toBe('safe');
  });

  it('a torch state dict pickle is safe', () => {
    const bytes = fs.readFileSync(new URL('./fixtures/torch/model_state_dict_legacy.bin', import.meta.url));
    const findings: Finding[] = [];
    analyzePickles(bytes, { where: 't', report: (f) => findings.push(f) }, 5);
    expect(findings).toEqual([]);
  });
});

describe.skipIf(!HAVE_CORPUS)('pickle analysis on the corpus pickles', () => {
  const rows = pickleCorpus().filter((r) => /\.(pkl|pickle|bin)$/.test(r.file) && !r.file.endsWith('.npy'));
  it.each(rows.filter((r) => r.label === 'malicious').map((r) => [r.file, r] as const))('malicious %s is flagged', (_f, row) => {
    const r = analyze(new Uint8Array(fs.readFileSync(row.path)));
    expect(['dangerous', 'suspicious']).toContain(r.verdict);
  });
  it.each(rows.filter((r) => r.label === 'benign').map((r) => [r.file, r] as const))('benign %s is not dangerous', (_f, row) => {
    const r = analyze(new Uint8Array(fs.readFileSync(row.path)));
    expect(r.verdict).not.toBe('dangerous');
  });
});
