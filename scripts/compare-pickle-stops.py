#!/usr/bin/env python3
"""Compares where the scanner's pickle analysis stops with where CPython's unpickler stops.

Generates streams that mix opcodes, source lines and module names (valid, with spaces, dots, hyphens),
then for each one asks
  - CPython (this interpreter's C unpickler) whether it reaches find_class, and with which module: the
    Unpickler below records the name and raises, so nothing is ever imported or called;
    persistent_load returns the id, as torch.load's does;
  - the scanner (dist/index.js, analyzePickles on the first pickle) whether it judged the bytes inert
    (nothing imported), acted, or complete.
A stream on which CPython imports a module the scanner takes as importable, but that the scanner judges
inert, is a missed payload (printed as MISSED, exit status 1). The reverse (the scanner reads on where
CPython stops: EXT codes, PERSID, out-of-band buffers) is allowed and only counted.

Run: npm run build && python3 scripts/compare-pickle-stops.py [SEED] [COUNT]
"""
import io, json, os, pickle, random, subprocess, sys, unicodedata, warnings
from collections import Counter

warnings.simplefilter('ignore')  # invalid escapes in generated STRING arguments
sys.unraisablehook = lambda _: None  # buffers of generated out-of-band opcodes freed while exported

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
seed = int(sys.argv[1]) if len(sys.argv) > 1 else 1
count = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
rnd = random.Random(seed)

OPS = list(b'(.0123FIJKLMNPQRSTUVXabcdeghijlopqrstu}])G') + [0x80, 0x81, 0x82, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x8f, 0x90, 0x91, 0x93, 0x94, 0x95]
MODULES = ['os', 'a b', 'import numpy as np', '.x', 'x.', '', 'collections', 'my-mod', 'x..y', 'été', 'lib(1)', 'a.b.c', 'n\xf8']
WORDS = ['import os', 'from x import y', 'class A:', 'def f():', '# comment', '    return 1', '"""doc"""', 'I1', 'I 12 ', 'Ix', 'F1.5',
         "S'a'", 'S"b', 'g0', 'p0', 'p-1', 'L5L', 'Pabc', 'V\\u12', 'N', '(', 't', 'd', 's', 'u', 'a', 'e', 'l', '.', '0', '1', '2', 'R', 'b', 'o']


def line():
    r = rnd.random()
    if r < 0.3:
        return rnd.choice(MODULES)
    if r < 0.6:
        return rnd.choice(WORDS)
    return ''.join(rnd.choice('abc xyz_.-(:1') for _ in range(rnd.randint(0, 6)))


def stream():
    parts = []
    for _ in range(rnd.randint(1, 12)):
        r = rnd.random()
        if r < 0.35:
            parts.append(bytes([rnd.choice(OPS)]))
        elif r < 0.55:
            parts.append(rnd.choice([b'c', b'i', b'(i', b'(c']) + line().encode() + b'\n' + line().encode() + b'\n')
        elif r < 0.75:
            parts.append(line().encode() + b'\n')
        elif r < 0.85:
            m = rnd.choice(MODULES).encode()
            parts.append(b'\x8c' + bytes([len(m)]) + m + b'\x8c\x04name\x93')
        else:
            parts.append(bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 4))))
    return b''.join(parts)


def importable(module):
    """The scanner's rule (src/scan/pickle-analysis.ts importableModule)."""
    ok = lambda c: c == '-' or unicodedata.category(c)[0] in 'LMN' or unicodedata.category(c) == 'Pc'
    return all(part != '' and all(ok(c) for c in part) for part in module.split('.'))


class Reached(Exception):
    pass


class Recorder(pickle.Unpickler):
    def find_class(self, module, name):
        raise Reached(module)

    def persistent_load(self, pid):
        return pid


def cpython(b):
    try:
        Recorder(io.BytesIO(b)).load()
        return 'complete'
    except Reached as e:
        return 'imports' if importable(e.args[0]) else 'stops'
    except Exception:
        return 'stops'


streams = [stream() for _ in range(count)]
js = """
const { analyzePickles } = await import(process.argv[1]);
const inputs = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
console.log(JSON.stringify(inputs.map((h) => {
  const r = analyzePickles(Uint8Array.from(Buffer.from(h, 'hex')), { where: 's', report: () => {} }, 1);
  return r.inert ? 'inert' : r.acted ? 'acted' : r.malformed ? 'limit' : 'complete';
})));
"""
out = subprocess.run(['node', '--input-type=commonjs', '-e', f'(async () => {{ {js} }})()', os.path.join(ROOT, 'dist', 'index.js')],
                     input=json.dumps([s.hex() for s in streams]), capture_output=True, text=True, check=True)
ours = json.loads(out.stdout)
table = Counter()
missed = 0
for b, o in zip(streams, ours):
    c = cpython(b)
    table[(c, o)] += 1
    if (c == 'imports' and o != 'acted') or (c == 'complete' and o == 'inert'):
        missed += 1
        print('MISSED', c, o, b[:120])
for (c, o), n in sorted(table.items()):
    print(f'CPython {c:8} scanner {o:8} {n}')
sys.exit(1 if missed else 0)
