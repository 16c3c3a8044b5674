import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { analyzePickles, importableModule, MAX_NESTED_PICKLES } from '../src/scan/pickle-analysis.js';
import { classifyGlobal } from '../src/formats/pickle/allowlist.js';
import { readOp } from '../src/formats/pickle/disassemble.js';
import { OPCODES } from '../src/formats/pickle/opcodes.js';
import { MAX_MEMO } from '../src/formats/pickle/limits.js';
import { verdictOf, type Finding } from '../src/formats/findings.js';

/**
 * Issue 9: the analysis reads every pickle as CPython does (the C unpickler of Modules/_pickle.c
 * and the pure-Python one of Lib/pickle.py, the worse of the two), follows what values are through
 * calls, and stays linear and total on hostile streams. Payloads here name os.system and the like;
 * nothing is ever loaded: where CPython is asked, it is given harmless bytes only (a module `xmod`
 * that does not exist) and an Unpickler whose find_class records the name and raises.
 */

const L = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, 'latin1'));
const P = (...parts: (string | number[] | Uint8Array)[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...Buffer.from(p, 'latin1')] : [...p])));
const u32 = (n: number): number[] => [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255];
const u64 = (n: number): number[] => [...u32(n), 0, 0, 0, 0];
const sbu = (s: string): number[] => [0x8c, Buffer.byteLength(s), ...Buffer.from(s, 'utf8')];
const rules = (r: { findings: Finding[] }): string[] => [...new Set(r.findings.map((f) => f.rule))].sort();

function analyze(bytes: Uint8Array): { verdict: string; findings: Finding[]; acted: boolean; inert: boolean; firstValue: unknown } {
  const findings: Finding[] = [];
  const r = analyzePickles(bytes, { where: 't', report: (f) => findings.push(f) });
  return { verdict: verdictOf(findings), findings, acted: r.acted, inert: r.inert, firstValue: r.firstValue };
}
const imports = (r: { findings: Finding[] }): string[] =>
  r.findings.flatMap((f) => /imports (\S+)/.exec(f.message)?.[1] ?? []).filter((n, i, a) => a.indexOf(n) === i);

const PY = spawnSync('python3', ['-c', 'import sys; print(sys.version_info[0])'], { encoding: 'utf8' }).stdout?.trim() === '3';
if (!PY) console.log('pickle-analysis-cpython: python3 is missing, the checks against CPython are skipped');

/**
 * Asks CPython what it imports on each stream, with the C unpickler reading a BytesIO (as torch.load
 * does), the C unpickler on bytes (pickle.loads) and the pure-Python unpickler (joblib.load): the
 * modules and names find_class is asked for. find_class raises: nothing is imported, nothing runs.
 */
function cpythonImports(streams: Uint8Array[]): { c: string[]; loads: string[]; py: string[] }[] {
  const script = `
import io, json, pickle, sys
class Stop(Exception): pass
def make(base, seen):
    class U(base):
        def find_class(self, module, name):
            seen.append(module + '.' + name)
            raise Stop()
        def persistent_load(self, pid):
            return None
    return U
out = []
for h in json.load(sys.stdin):
    data = bytes.fromhex(h)
    r = {}
    for key, base, src in (('c', pickle.Unpickler, lambda: io.BytesIO(data)), ('py', pickle._Unpickler, lambda: io.BytesIO(data))):
        seen = []
        try:
            make(base, seen)(src()).load()
        except BaseException:
            pass
        r[key] = seen
    # pickle.loads reads from memory; its find_class cannot be replaced, so imports are recorded at __import__
    # (module names only; a module already imported is not seen, and xmod never is).
    seen = []
    import builtins
    real = builtins.__import__
    def record(name, *a, **k):
        seen.append(name)
        raise Stop()
    builtins.__import__ = record
    try:
        pickle.loads(data)
    except BaseException:
        pass
    finally:
        builtins.__import__ = real
    r['loads'] = seen
    out.append(r)
print(json.dumps(out))
`;
  const r = spawnSync('python3', ['-I', '-c', script], { input: JSON.stringify(streams.map((s) => Buffer.from(s).toString('hex'))), encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as { c: string[]; loads: string[]; py: string[] }[];
}

describe('arguments are read as CPython reads them (INT, LONG, FLOAT, PUT, GET, STRING, UNICODE)', () => {
  const payload = 'cxmod\nfn\n)R.';
  // Each text after the opcode, then POP and an import CPython reaches only if it accepted the text.
  const cases: [string, string][] = [
    ...['1', ' 1', '1 ', '+1', '-1', '10_0', '1__0', '_1', '1_', '0x1f', '0x_1f', '0X1F', '010', '08', '00', '0_0', '0o17', '0b101', '\x0b12\x0c', '\x00zz', '1\x00zz', '', ' ', '1e3', '0x', '99999999999999999999999', '1L', 'L'].map(
      (t): [string, string] => ['I', t],
    ),
    ...['1', '1L', '10_0L', ' 5 L', '0x1fL', '010L', 'LL', '1 L', '-0L', '+7_7L'].map((t): [string, string] => ['L', t]),
    ...['1.5', ' 1.5', '1.5 ', '1_0.5', '1e500', '-inf', 'nan', 'Infinity', '1.5\x00zz', '.5', '5.', '1e', '0x1p3', '1__0.0', 'in f'].map((t): [string, string] => ['F', t]),
  ];

  it.skipIf(!PY)('INT, LONG and FLOAT: the analysis reads on wherever either unpickler does', () => {
    const streams = cases.map(([op, text]) => L(`${op}${text}\n0${payload}`));
    const cp = cpythonImports(streams);
    const wrong = cases.flatMap(([op, text], i) => {
      const runs = cp[i]!.c.length > 0 || cp[i]!.py.length > 0 || cp[i]!.loads.length > 0;
      const r = analyze(streams[i]!);
      return r.acted === runs ? [] : [`${op}${JSON.stringify(text)}: CPython imports ${runs}, analysis ${r.acted}`];
    });
    expect(wrong).toEqual([]);
  });

  it.skipIf(!PY)('PUT and GET: the memo index is int(text, 10); an overwrite cannot swap collections for posix unseen', () => {
    const indices = ['100', '10_0', ' 100 ', '+100', '0100', '1_00', '100\x00x', '-0', '1 00', '100L', '0x64', '١٠٠'];
    // memo[100] = "collections"; then PUT <text> of "posix"; GET 100; "system"; STACK_GLOBAL.
    const streams = indices.map((t) => P("S'collections'\np100\n0S'posix'\np", Buffer.from(t, 'utf8'), "\n0g100\nS'system'\n\x93)R."));
    const cp = cpythonImports(streams);
    const wrong = indices.flatMap((t, i) => {
      const expected = [...new Set([...cp[i]!.c, ...cp[i]!.py])].sort();
      const got = imports(analyze(streams[i]!)).sort();
      return expected.every((n) => got.includes(n)) ? [] : [`PUT ${JSON.stringify(t)}: CPython imports ${expected}, analysis ${got}`];
    });
    expect(wrong).toEqual([]);
  });

  it('the memo overwrite through PUT 10_0 is seen (without python)', () => {
    const r = analyze(L("S'collections'\np100\n0S'posix'\np10_0\n0g100\nS'system'\n\x93)R."));
    expect(r.verdict).toBe('dangerous');
    expect(imports(r)).toContain('posix.system');
  });

  it.skipIf(!PY)('STRING and UNICODE escapes are decoded exactly as CPython decodes them', () => {
    const modules = [
      "S'\\x6fs'\n",
      "S'o\\163'\n",
      "S'o\\s'\n",
      "S\"os\"\n",
      "S'os\\\n",
      "S'\\x6'\n",
      'Vo\\u0073\n',
      'Vo\\U00000073\n',
      'Vo\\\\u0073\n',
      'Vo\\u007\n',
      'Vo\\U00110000\n',
      'Vos\\\n',
      'Vo\\x73\n',
    ];
    const streams = modules.map((m) => L(`${m}S'system'\n\x93)R.`));
    const cp = cpythonImports(streams);
    const wrong = modules.flatMap((m, i) => {
      // A module name no installed Python provides (a backslash in it) is an import that fails: nothing runs.
      const expected = [...new Set([...cp[i]!.c, ...cp[i]!.py])].filter((n) => importableModule(n.slice(0, n.lastIndexOf('.'))));
      const got = imports(analyze(streams[i]!));
      return expected.length === got.length && expected.every((n) => got.includes(n)) ? [] : [`${JSON.stringify(m)}: CPython imports ${expected}, analysis ${got}`];
    });
    expect(wrong).toEqual([]);
  });

  it('a STACK_GLOBAL name longer than the analysis keeps whole is not checked: dangerous, never judged by its start', () => {
    const r = analyze(P([0x80, 4], sbu('collections'), 'X', u32(5000), 'OrderedDict', '.'.repeat(4989), [0x93, 0x2e]));
    expect(r.verdict).toBe('dangerous');
    expect(rules(r)).toContain('pickle/computed-global');
  });

  it('a protocol-0 string of 70,000 characters is data, not a malformed stream; what follows a long line is analysed', () => {
    const long = analyze(L(`S'${'a'.repeat(70_000)}'\n.`));
    expect([long.verdict, long.findings]).toEqual(['safe', []]);
    const after = analyze(L(`V${'a'.repeat(70_000)}\n0cos\nsystem\n.`));
    expect(after.verdict).toBe('dangerous');
    expect(imports(after)).toEqual(['os.system']);
  });
});

describe('frames are read as the C unpickler reads them, in memory and from a file object', () => {
  // A FRAME inside a frame, longer than what remains of the outer one: reading a BytesIO (torch.load),
  // the C unpickler drops that remainder and reads the inner frame from the bytes after the outer one;
  // pickle.loads reads on linearly, where BINBYTES swallows the same bytes as data.
  const hidden = (payload: Uint8Array, pad = 0): Uint8Array => {
    const rest = P('B', u32(payload.length));
    return P([0x80, 4, 0x95], u64(9 + rest.length), [0x95], u64(payload.length + pad), rest, payload, '.', new Array(pad).fill(0x4e));
  };
  const payload = P(sbu('os'), sbu('system'), [0x93], ')R.');

  it('the inner frame longer than the rest of the outer one: the hidden call is found', () => {
    const r = analyze(hidden(payload));
    expect(r.verdict).toBe('dangerous');
    expect(rules(r)).toEqual(expect.arrayContaining(['pickle/frame-mismatch', 'pickle/dangerous-global']));
    expect(imports(r)).toContain('os.system');
  });

  it('the same with an inner frame long enough that no opcode straddles it when read linearly', () => {
    const r = analyze(hidden(payload, 40));
    expect(r.verdict).toBe('dangerous');
    expect(imports(r)).toContain('os.system');
  });

  it.skipIf(!PY)('CPython agrees: the C unpickler reading a BytesIO imports the hidden name, pickle.loads does not', () => {
    const harmless = P(sbu('xmod'), sbu('fn'), [0x93], ')R.');
    const [plain, padded] = cpythonImports([hidden(harmless), hidden(harmless, 40)]);
    expect(plain!.c).toEqual(['xmod.fn']);
    expect(padded!.c).toEqual(['xmod.fn']);
    expect(plain!.py).toEqual([]);
  });

  // A GLOBAL whose module line is cut by the frame's end: pickle.loads reads "x yos", which it cannot
  // import (it stops, nothing runs); the C unpickler reading a file drops "x y" and imports os.
  const cutLine = (module: string): Uint8Array => P([0x80, 2, 0x95], u64(4), 'cx y', `${module}\nsystem\n)R.`);

  it('a line that does not fit what remains of a frame: the C file reading takes the line after the frame', () => {
    const r = analyze(cutLine('os'));
    expect(r.verdict).toBe('dangerous');
    expect(imports(r)).toEqual(['os.system']);
  });

  it.skipIf(!PY)('CPython agrees on the cut line: the C unpickler reading a BytesIO imports the module after the frame', () => {
    const [r] = cpythonImports([cutLine('xmod')]);
    // pickle.loads asks for "x yxmod", which no Python can import (the analysis stops there too).
    expect(r).toEqual({ c: ['xmod.system'], py: [], loads: ['x yxmod'] });
  });

  it.skipIf(!PY)('random framed streams: every name any CPython reading imports is found', () => {
    let seed = 4242;
    const r = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 4294967296;
    };
    const pieces = (k: number): Uint8Array[] => [
      L('N0'),
      L('(1'),
      L('I12\n0'),
      L(`c${'xmod' + k}\nfn${k}\n0`),
      P('X', u32(3), 'abc0'),
      P('B', u32(4), 'wxyz0'),
      P('C', [2], 'hi0'),
      L(`S'q${k}'\n0`),
      P(sbu(`xmod${k}`), sbu(`g${k}`), [0x93, 0x30]),
    ];
    const streams: Uint8Array[] = [];
    for (let i = 0; i < 300; i++) {
      const parts: Uint8Array[] = [P([0x80, 4])];
      const n = 2 + Math.floor(r() * 10);
      for (let j = 0; j < n; j++) {
        if (r() < 0.35) parts.push(P([0x95], u64(Math.floor(r() * 30))));
        const all = pieces(i * 100 + j);
        parts.push(all[Math.floor(r() * all.length)]!);
      }
      parts.push(L('N.'));
      streams.push(P(...parts));
    }
    const cp = cpythonImports(streams);
    const missed = streams.flatMap((bytes, i) => {
      const got = imports(analyze(bytes));
      const modules = got.map((n) => n.slice(0, n.lastIndexOf('.')));
      const names = [...new Set([...cp[i]!.c, ...cp[i]!.py])].filter((n) => !got.includes(n));
      const loads = cp[i]!.loads.filter((m) => m.startsWith('xmod') && !modules.includes(m));
      return names.length + loads.length === 0 ? [] : [`stream ${i} (${Buffer.from(bytes).toString('hex')}): missed ${[...names, ...loads]}`];
    });
    expect(missed).toEqual([]);
  });

  it('frames written by pickle itself are read once, with no finding', () => {
    const body = P(sbu('collections'), sbu('OrderedDict'), [0x93], ')R.');
    const r = analyze(P([0x80, 4, 0x95], u64(body.length - 1), body));
    expect(r.findings).toEqual([]);
    const nested = P([0x80, 4, 0x95], u64(11), [0x95], u64(2), 'N0', [0x95], u64(1), '.');
    expect(analyze(P(nested)).findings).toEqual([]);
  });
});

describe('laundered globals: what a value is survives calls that return their argument', () => {
  const ns = P(sbu('argparse'), sbu('Namespace'), [0x93]);
  const slots = P('N}', sbu('__reduce__'), 'N', 's', [0x86], 'b.');
  it.each([
    ['restore_type_tag(argparse.Namespace, "x") then BUILD (None, slots)', P([0x80, 4], sbu('torch.jit._pickle'), sbu('restore_type_tag'), [0x93], ns, sbu('x'), [0x86], 'R', slots)],
    ['copy.copy(cls) then BUILD', P([0x80, 4], sbu('copy'), sbu('copy'), [0x93], ns, [0x85], 'R', slots)],
    ['operator.itemgetter(0)((cls,)) then BUILD', P([0x80, 4], sbu('operator'), sbu('itemgetter'), [0x93], 'K', [0], [0x85], 'R', ns, [0x85, 0x85], 'R', slots)],
    ['restore_type_tag twice, then BUILD with a state dict', P([0x80, 4], sbu('torch.jit._pickle'), sbu('restore_type_tag'), [0x93], [0x94], 'h', [0], ns, sbu('x'), [0x86], 'R', sbu('y'), [0x86], 'R}', sbu('a'), 'Nsb.')],
    ['restore_type_tag(cls) then SETITEM', P([0x80, 4], sbu('torch.jit._pickle'), sbu('restore_type_tag'), [0x93], ns, sbu('x'), [0x86], 'R', sbu('k'), 'Ns.')],
  ])('%s → pickle/mutates-global', (_n, bytes) => {
    const r = analyze(bytes);
    expect(r.verdict).toBe('dangerous');
    expect(rules(r)).toContain('pickle/mutates-global');
  });

  it('BUILD on an object made by the class is not a mutation of the class', () => {
    const r = analyze(P([0x80, 4], ns, ')R}', sbu('lr'), 'K', [1], 'sb.'));
    expect(rules(r)).not.toContain('pickle/mutates-global');
    expect(r.verdict).toBe('safe');
  });
});

describe('names: what a call can do decides "dangerous"; Python 2 names map as fix_imports maps them', () => {
  it.each([
    ['codecs', 'open'],
    ['io', 'open'],
    ['pathlib', 'Path.write_text'],
    ['pathlib', 'Path.open'],
    ['shutil', 'rmtree'],
    ['tempfile', 'NamedTemporaryFile'],
    ['logging', 'FileHandler'],
    ['logging', 'basicConfig'],
    ['logging.handlers', 'RotatingFileHandler'],
    ['logging.handlers', 'WatchedFileHandler'],
    ['logging.config', 'dictConfig'],
    ['logging.config', 'BaseConfigurator'],
    ['logging.config', '_resolve'],
    ['importlib', 'import_module'],
    ['importlib._bootstrap', '_gcd_import'],
    ['pkgutil', 'resolve_name'],
    ['sqlite3', 'connect'],
    ['socket', 'create_connection'],
    ['urllib.request', 'urlopen'],
    ['http.client', 'HTTPConnection'],
    ['ftplib', 'FTP'],
    ['smtplib', 'SMTP'],
    ['code', 'interact'],
    ['runpy', 'run_path'],
    ['ctypes', 'CDLL'],
    ['zipfile', 'ZipFile'],
    ['tarfile', 'open'],
    ['dbm', 'open'],
    ['numpy', 'save'],
    ['numpy', 'fromfile'],
    ['gzip', 'open'],
    ['anydbm', 'open'],
    ['whichdb', 'whichdb'],
    ['urllib2', 'urlopen'],
    ['urllib', 'urlretrieve'],
    ['__builtin__', 'eval'],
    ['__builtin__', 'open'],
    ['__builtin__', 'reduce'],
    ['commands', 'getoutput'],
    ['cPickle', 'loads'],
  ])('%s.%s is dangerous', (m, n) => {
    expect(classifyGlobal(m, n)).toBe('dangerous');
    expect(analyze(P(`c${m}\n${n}\n)R.`)).verdict).toBe('dangerous');
  });

  it('escaped names in protocol-0 strings are decoded before they are judged', () => {
    expect(imports(analyze(L("S'\\x63odecs'\nS'op\\x65n'\n\x93)R.")))).toEqual(['codecs.open']);
    expect(analyze(L("S'\\x63odecs'\nS'op\\x65n'\n\x93)R.")).verdict).toBe('dangerous');
    expect(imports(analyze(L('V\\u0073qlite3\nVconnect\n\x93)R.')))).toEqual(['sqlite3.connect']);
  });

  it('__builtin__.unicode is str (harmless data), __builtin__.set is set: not unknown', () => {
    expect(classifyGlobal('__builtin__', 'unicode')).toBe('safe');
    expect(classifyGlobal('__builtin__', 'set')).toBe('safe');
    const r = analyze(L("c__builtin__\nunicode\n(S'x'\ntR."));
    expect([r.verdict, r.findings]).toEqual(['safe', []]);
  });

  it('a benign pickle of a __main__ class is suspicious, never dangerous', () => {
    // pickle.dumps(Foo()) with class Foo defined in a script, protocol 2.
    const r = analyze(P([0x80, 2], 'c__main__\nFoo\nq\x00)\x81q\x01}q\x02X\x01\x00\x00\x00aq\x03K\x01sb.'));
    expect(r.verdict).toBe('suspicious');
    expect(rules(r)).toEqual(['pickle/unknown-global']);
  });

  it('a nested class of __main__ (pickle writes getattr(Outer, "Inner") below protocol 4, "Outer.Inner" from 4) is suspicious, never dangerous', () => {
    // pickle.dumps(Outer.Inner(), protocol=2) and protocol=4, class Outer with a class Inner, in a script.
    for (const hex of [
      '8002635f5f6275696c74696e5f5f0a676574617474720a7100635f5f6d61696e5f5f0a4f757465720a71015805000000496e6e65727102867103527104298171057d710658010000006271074b0273622e',
      '80049529000000000000008c085f5f6d61696e5f5f948c0b4f757465722e496e6e65729493942981947d948c0162944b0273622e',
    ]) {
      const r = analyze(Uint8Array.from(Buffer.from(hex, 'hex')));
      expect([hex.slice(0, 6), r.verdict, rules(r)]).toEqual([hex.slice(0, 6), 'suspicious', ['pickle/unknown-global']]);
    }
  });

  it.each([
    ['getattr(__main__.os, "system")', "c__builtin__\ngetattr\n(c__main__\nos\nS'system'\ntR(S'id'\ntR."],
    ['__main__ + "os.system"', "c__main__\nos.system\n(S'id'\ntR."],
    ['getattr of a computed object', "cbuiltins\ngetattr\n(cmylib\nThing\n)RS'run'\ntR)R."],
    ['getattr passed as a value to another call', "cmylib\nmapper\n(cbuiltins\ngetattr\ntR."],
    ['getattr(object, "__subclasses__")', "cbuiltins\ngetattr\n(cbuiltins\nobject\nS'__subclasses__'\ntR)R."],
  ])('%s is dangerous', (_n, text) => {
    const r = analyze(L(text));
    expect(r.verdict).toBe('dangerous');
    expect(rules(r)).toContain('pickle/dangerous-global');
  });

  it('a name not on the data allowlist is at least suspicious', () => {
    for (const [m, n] of [
      ['mylib', 'Thing'],
      ['itertools', 'izip'],
      ['UserDict', 'UserDict'],
    ] as const) {
      expect([m, n, classifyGlobal(m, n)]).not.toEqual([m, n, 'safe']);
    }
  });
});

describe('the analysis never loses what it found, and has no recursion the input can deepen', () => {
  it('a 100,000-deep TUPLE1 chain after a payload, and one passed to a call', () => {
    const r = analyze(P([0x80, 2], 'cposix\nsystem\n0N', new Array(100_000).fill(0x85), '.'));
    expect(r.verdict).toBe('dangerous');
    expect(imports(r)).toContain('posix.system');
    const called = analyze(P([0x80, 4], sbu('pickle'), sbu('loads'), [0x93], 'N', new Array(100_000).fill(0x85), 'R.'));
    expect(called.verdict).toBe('dangerous');
    expect(rules(called)).not.toContain('pickle/analysis-failed');
  });

  it('an APPENDS of 300,000 items, and the list passed to a call', () => {
    const items = new Array(300_000).fill([0x4b, 1]).flat();
    const r = analyze(P([0x80, 4], sbu('collections'), sbu('OrderedDict'), [0x93], '](', items, 'e', [0x85], 'R', 'cposix\nsystem\n.'));
    expect(r.verdict).toBe('dangerous');
    expect(imports(r)).toContain('posix.system');
    expect(rules(r)).not.toContain('pickle/analysis-failed');
  });

  it('a failure of the analysis itself keeps every finding made before it, and is a finding', () => {
    // Bytes whose third newline search fails as no decoding error would: the analysis, not the stream, breaks.
    class Breaking extends Uint8Array {
      calls = 0;
      override indexOf(value: number, from?: number): number {
        if (++this.calls === 3) throw new Error('broken on purpose');
        return super.indexOf(value, from);
      }
    }
    const bytes = new Breaking(L('cposix\nsystem\n0I1\n.'));
    const r = analyze(bytes);
    expect(r.verdict).toBe('dangerous');
    expect(rules(r)).toEqual(['pickle/analysis-failed', 'pickle/dangerous-global']);
    expect(r.inert).toBe(false);
  });

  it('a self-containing list passed to a call and used as BUILD state', () => {
    const r = analyze(P([0x80, 2], ']q\x00h\x00a', sbu('collections'), sbu('OrderedDict'), [0x93], 'h\x00', [0x85], 'Rh\x00b0cposix\nsystem\n.'));
    expect(r.verdict).toBe('dangerous');
    expect(imports(r)).toContain('posix.system');
  });
});

describe('resource exhaustion: work and memory linear in the stream, limits named', () => {
  it('a DAG built through the memo (L(i) = [L(i-1), L(i-1)], 40 levels) is walked once per node', () => {
    const dag = P([0x80, 4], sbu('collections'), sbu('OrderedDict'), [0x93], ']', [0x94], ...Array.from({ length: 40 }, (_, i) => P('0(h', [i], 'h', [i], 'l', [0x94])), [0x85], 'R.');
    const r = analyze(dag);
    expect(r.verdict).toBe('safe');
  });

  it('a nested pickle memoized and passed to pickle.loads many times, at every level, is analysed once per content', () => {
    let inner = P([0x80, 4], sbu('collections'), sbu('OrderedDict'), [0x93], ')R.');
    for (let level = 0; level < MAX_NESTED_PICKLES; level++) {
      const calls = Array.from({ length: 40 }, () => P('h', [0], 'h', [1], [0x85], 'R0'));
      inner = P([0x80, 4], sbu('pickle'), sbu('loads'), [0x93], [0x94], 'B', u32(inner.length), inner, [0x94, 0x30], ...calls, 'N.');
    }
    const r = analyze(inner);
    expect(r.verdict).toBe('dangerous');
    // Each distinct nested pickle's findings are reported once, not once per reference.
    const loads = r.findings.filter((f) => f.message.includes('pickle.loads'));
    expect(loads.length).toBeLessThanOrEqual(MAX_NESTED_PICKLES + 1);
  });

  it('millions of memoized values cost one slot each; past MAX_MEMO the limit is named, never safe', () => {
    const ok = analyze(P([0x80, 4], 'N', new Uint8Array(1_000_000).fill(0x94), '.'));
    expect([ok.verdict, ok.findings]).toEqual(['safe', []]);
    const flood = new Uint8Array(MAX_MEMO + 5).fill(0x94);
    flood.set([0x80, 4, 0x4e], 0);
    flood[flood.length - 1] = 0x2e;
    const r = analyze(flood);
    expect(r.verdict).toBe('suspicious');
    expect(r.findings.map((f) => f.message).join()).toContain('MAX_MEMO');
  });

  it('a million distinct memoized byte strings and strings are analysed (shared values for short bytes)', () => {
    const chunks: number[] = [0x80, 4];
    for (let i = 0; i < 300_000; i++) chunks.push(0x43, 1, i & 255, 0x94, 0x30, 0x43, 8, ...u64(i), 0x94, 0x30);
    chunks.push(0x4e, 0x2e);
    const r = analyze(Uint8Array.from(chunks));
    expect([r.verdict, r.findings]).toEqual(['safe', []]);
  });
});

describe('differential: the opcode reader agrees with CPython pickletools.genops on random streams', () => {
  /** A seeded generator (mulberry32): the streams are the same on every run. */
  function rng(seed: number): () => number {
    return () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  const codes = Object.values(OPCODES).filter((o): o is NonNullable<typeof o> => !!o);

  function stream(r: () => number): Uint8Array {
    const out: number[] = [];
    const pick = <T,>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
    const text = (): number[] => {
      const alphabet = ['a', '1', '0', '_', ' ', '-', '.', 'x', "'", '"', '\\', 'u', 'U', 'L', '\t', '\x00', '\xe9', '\\u00e9', '\\U0001F600', '\\x41', '\\u12'];
      return [...Buffer.from(Array.from({ length: Math.floor(r() * 8) }, () => pick(alphabet)).join(''), 'latin1')];
    };
    const ops = 1 + Math.floor(r() * 20);
    for (let i = 0; i < ops; i++) {
      const op = pick(codes);
      if (op.name === 'STOP') continue;
      out.push(op.code);
      const rand = (n: number): number[] => Array.from({ length: n }, () => Math.floor(r() * 256));
      switch (op.arg) {
        case 'uint1':
          out.push(...rand(1));
          break;
        case 'uint2':
          out.push(...rand(2));
          break;
        case 'int4':
        case 'uint4':
          out.push(...rand(4));
          break;
        case 'uint8':
          out.push(...(op.name === 'FRAME' ? u64(Math.floor(r() * 40)) : rand(8)));
          break;
        case 'float8':
          out.push(...rand(8));
          break;
        case 'long1':
        case 'bytes1': {
          const n = Math.floor(r() * 6);
          out.push(n, ...(op.name.includes('UNICODE') ? [...Buffer.from('é'.repeat(n)).subarray(0, n)] : rand(n)));
          break;
        }
        case 'long4':
        case 'bytes4':
        case 'bytes8': {
          const n = Math.floor(r() * 6);
          const body = op.name.includes('UNICODE') ? [...Buffer.from('aé€😀'.slice(0, n))] : rand(n);
          out.push(...(op.arg === 'bytes8' ? u64(body.length) : u32(body.length)), ...body);
          break;
        }
        case 'stringnl_pair':
          out.push(...Buffer.from(pick(['os', 'a.b', 'x y', '']), 'latin1'), 10, ...Buffer.from(pick(['system', 'f', '\\x41']), 'latin1'), 10);
          break;
        case 'stringnl':
          out.push(...(op.name === 'STRING' ? [0x27, ...text().filter((c) => c !== 0x27 && c !== 0x5c), 0x27] : text()), 10);
          break;
        case 'unicodenl':
        case 'decimalnl':
        case 'floatnl':
          out.push(...text(), 10);
          break;
        default:
          break;
      }
    }
    if (r() < 0.8) out.push(0x2e);
    // Cut some streams short, and put stray bytes in others.
    if (r() < 0.15) out.length = Math.floor(r() * out.length);
    if (r() < 0.15) out.splice(Math.floor(r() * out.length), 0, Math.floor(r() * 256));
    return Uint8Array.from(out);
  }

  type Row = [name: string, pos: number, end: number, arg: string];
  /** A comparable form of an argument: numbers as decimal text, bytes as hex, text as UTF-16 code units. */
  function ours(bytes: Uint8Array): { ops: Row[]; error: number | undefined } {
    const ops: Row[] = [];
    let pos = 0;
    for (;;) {
      let op;
      try {
        op = readOp(bytes, pos, 't');
      } catch {
        return { ops, error: pos };
      }
      const a = op.arg;
      let arg: string;
      if (a === undefined) arg = '';
      else if (typeof a === 'number' || typeof a === 'bigint') arg = op.info.arg === 'float8' ? (Number.isNaN(a) ? 'nan' : Buffer.from(new Float64Array([Number(a)]).buffer).toString('hex')) : String(a);
      else if (a instanceof Uint8Array) arg = Buffer.from(a).toString('hex');
      else if (typeof a === 'string')
        arg = op.info.arg === 'unicodenl' ? Buffer.from(a, 'utf16le').toString('hex') : Buffer.from(bytes.subarray(pos + 1, op.end - 1)).toString('hex');
      else arg = Buffer.from(bytes.subarray(pos + 1, op.end)).toString('hex');
      ops.push([op.info.name, op.pos, op.end, arg]);
      if (op.info.name === 'STOP') return { ops, error: undefined };
      pos = op.end;
    }
  }

  it.skipIf(!PY)('2,000 generated streams: every opcode, argument and offset', () => {
    const r = rng(9);
    const streams = Array.from({ length: 2000 }, () => stream(r));
    const script = `
import io, json, struct, sys, pickletools
out = []
for h in json.load(sys.stdin):
    data = bytes.fromhex(h)
    ops = []
    err = None
    semantic = False
    f = io.BytesIO(data)
    try:
        for op, arg, pos, end in pickletools._genops(f, yield_end_pos=True):
            a = op.arg.name if op.arg else None
            if arg is None: s = ''
            elif a == 'float8': s = 'nan' if arg != arg else struct.pack('<d', arg).hex()
            elif a in ('uint1', 'uint2', 'int4', 'uint4', 'uint8', 'long1', 'long4'): s = str(arg)
            elif a == 'unicodestringnl': s = arg.encode('utf-16-le', 'surrogatepass').hex()
            elif a in ('decimalnl_short', 'decimalnl_long', 'floatnl', 'stringnl', 'stringnl_noescape', 'stringnl_noescape_pair'):
                s = data[pos + 1:end - 1].hex() if a != 'stringnl_noescape_pair' else data[pos + 1:end].hex()
            else:
                raw = bytes(arg) if isinstance(arg, (bytes, bytearray)) else arg.encode('utf-8', 'surrogatepass') if 'unicode' in a else arg.encode('latin-1')
                s = raw.hex()
            ops.append([op.name, pos, end, s])
    except Exception as e:
        err = f.tell()
        # pickletools decodes some arguments (escapes in names, int() of INT lines, UTF-8 of BINUNICODE);
        # the reader leaves that to the analysis: such a failure is not a framing disagreement.
        semantic = not any(w in str(e) for w in ('exhausted', 'unknown', 'only', 'no newline', 'not enough', 'remain', 'byte count', 'count < 0'))
    out.append({'ops': ops, 'semantic': semantic, 'error': err is not None})
print(json.dumps(out))
`;
    const py = spawnSync('python3', ['-I', '-c', script], { input: JSON.stringify(streams.map((s) => Buffer.from(s).toString('hex'))), encoding: 'utf8', maxBuffer: 1 << 26 });
    expect(py.stderr).toBe('');
    const theirs = JSON.parse(py.stdout) as { ops: Row[]; semantic: boolean; error: boolean }[];
    const disagreements: string[] = [];
    streams.forEach((bytes, i) => {
      const t = theirs[i]!;
      const o = ours(bytes);
      const n = t.ops.length;
      // Every opcode pickletools decoded, we decode identically.
      for (let k = 0; k < n; k++) if (JSON.stringify(o.ops[k]) !== JSON.stringify(t.ops[k])) disagreements.push(`stream ${i} op ${k}: ours ${JSON.stringify(o.ops[k])}, genops ${JSON.stringify(t.ops[k])}`);
      if (t.error && !t.semantic && (o.error === undefined || o.ops.length !== n)) disagreements.push(`stream ${i}: genops stops after ${n} opcodes, ours after ${o.ops.length}`);
      if (!t.error && (o.error !== undefined || o.ops.length !== n)) disagreements.push(`stream ${i}: genops reads ${n} opcodes to STOP, ours ${o.ops.length} (error at ${o.error})`);
    });
    expect(disagreements.slice(0, 10)).toEqual([]);
  });
});
