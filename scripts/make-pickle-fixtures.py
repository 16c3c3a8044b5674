#!/usr/bin/env python3
"""Writes test/fixtures/pickle: Python values pickled by CPython's own pickle module at every
protocol, with the values in a tagged JSON form the tests read without Python.

Run: python3 scripts/make-pickle-fixtures.py   (any CPython 3.8+; no third-party packages)
"""
import argparse
import collections
import json
import math
import os
import pickle
import sys

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'pickle')


def enc(v, seen=None):
    """Tagged JSON: every value says its Python type, so ints, floats and strs stay apart."""
    seen = {} if seen is None else seen
    if id(v) in seen and isinstance(v, (list, dict)):
        return {'t': 'ref', 'v': seen[id(v)]}
    if v is None:
        return {'t': 'none'}
    if isinstance(v, bool):
        return {'t': 'bool', 'v': v}
    if isinstance(v, int):
        return {'t': 'int', 'v': str(v)}
    if isinstance(v, float):
        return {'t': 'float', 'v': 'nan' if math.isnan(v) else repr(v)}
    if isinstance(v, complex):
        return {'t': 'complex', 'v': [repr(v.real), repr(v.imag)]}
    if isinstance(v, str):
        return {'t': 'str', 'v': v}
    if isinstance(v, bytes):
        return {'t': 'bytes', 'v': v.hex()}
    if isinstance(v, bytearray):
        return {'t': 'bytearray', 'v': bytes(v).hex()}
    if isinstance(v, tuple):
        return {'t': 'tuple', 'v': [enc(x, seen) for x in v]}
    if isinstance(v, list):
        seen[id(v)] = len(seen)
        return {'t': 'list', 'id': seen[id(v)], 'v': [enc(x, seen) for x in v]}
    if isinstance(v, frozenset):
        return {'t': 'frozenset', 'v': sorted(json.dumps(enc(x, seen)) for x in v)}
    if isinstance(v, set):
        return {'t': 'set', 'v': sorted(json.dumps(enc(x, seen)) for x in v)}
    if isinstance(v, argparse.Namespace):
        return {'t': 'namespace', 'v': {k: enc(x, seen) for k, x in vars(v).items()}}
    if isinstance(v, dict):
        seen[id(v)] = len(seen)
        kind = type(v).__module__ + '.' + type(v).__name__ if type(v) is not dict else 'dict'
        return {'t': 'dict', 'type': kind, 'id': seen[id(v)], 'v': [[enc(k, seen), enc(x, seen)] for k, x in v.items()]}
    raise TypeError(type(v))


def values():
    shared = [1, 2]
    recursive = []
    recursive.append(recursive)
    dd = collections.defaultdict(list)
    dd['a'].append(1)
    return {
        'scalars': [None, True, False, 0, 1, -1, 255, 256, 65535, 65536, 2**31 - 1, -2**31, 2**31, 2**63, -2**63 - 1, 2**70, -2**70, 10**30,
                    0.0, -0.0, 1.5, -2.25e-300, 1e308, float('inf'), float('-inf'), float('nan')],
        'strings': ['', 'a', 'hé', '日本語', '\U0001F600', 'quote\'s "and" back\\slash', 'new\nline\ttab\r', '\x00\x7f\x80\xff', 'é' * 300],
        'bytes': [b'', b'\x00\x01\xff', bytes(range(256)), bytearray(b'abc'), bytearray()],
        'containers': [(), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4), [], [1, [2, [3]]], {}, {'a': 1, 'b': [2]}, {1: 'one', (2, 3): 'tuple key', None: 0},
                       {1, 2, 3}, frozenset(['x']), set(), collections.OrderedDict([('z', 1), ('a', 2)]), complex(1.5, -2)],
        'references': [shared, shared, {'x': shared}],
        'recursive': recursive,
        'classes': [argparse.Namespace(lr=0.1, name='run', layers=[1, 2]), collections.Counter({'a': 2}), dd],
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    manifest = []
    for name, value in values().items():
        for proto in range(0, pickle.HIGHEST_PROTOCOL + 1):
            data = pickle.dumps(value, protocol=proto)
            fname = f'{name}_p{proto}.pkl'
            with open(os.path.join(OUT, fname), 'wb') as f:
                f.write(data)
            manifest.append({'file': fname, 'protocol': proto, 'value': enc(value)})
    with open(os.path.join(OUT, 'expected.json'), 'w') as f:
        json.dump({'python': sys.version.split()[0], 'fixtures': manifest}, f, indent=1, sort_keys=True)
        f.write('\n')


if __name__ == '__main__':
    main()
