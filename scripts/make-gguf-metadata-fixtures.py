#!/usr/bin/env python3
"""Writes test/fixtures/gguf-metadata/: the fixtures of GGUF → safetensors conversion (tensor/cast.ts,
tensor/gguf-metadata.ts), each with the values a reference gives:

- all-types.gguf, written by llama.cpp's gguf-py (GGUFWriter): every metadata value type, edge values,
  nested arrays, arrays and a key that go to the sidecar, one F32 and one Q8_0 tensor; all-types.expected.json:
  each key's type name and value (the values written, checked here against what GGUFReader reads back),
  in the convention's JSON form (64-bit integers and non-finite floats as strings; floats as exact doubles).
- cast-edges.f32 (float32 bit patterns: zeros, subnormals, halfway cases, the largest values, infinities,
  NaNs, random bits), cast-edges.f16 / cast-edges.bf16: what torch's .to(torch.float16 / torch.bfloat16) makes of them.
- float32-text.json: [float32 bits, numpy's shortest round-trip repr] for edge and random float32 values.
- ollama-tiny-llama.expected.json: for ../shared/corpus/formats/gguf/ollama/llama-2-tiny-random.gguf, each
  key as GGUFReader reads it: type, count and SHA-256 of the values as bytes (strings: u32 length + UTF-8;
  numbers: little-endian of their type), and scalars' values.

Run: PYTHONPATH=<llama.cpp>/gguf-py /usr/bin/python3 scripts/make-gguf-metadata-fixtures.py (deterministic).
"""
import hashlib
import json
import math
import os
import struct

import numpy as np
import torch
import gguf

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'test', 'fixtures', 'gguf-metadata')
CORPUS = os.path.join(HERE, '..', '..', 'shared', 'corpus', 'formats', 'gguf', 'ollama', 'llama-2-tiny-random.gguf')
rng = np.random.default_rng(1111)
V = gguf.GGUFValueType


def f32(x):
    return float(np.float32(x))


def bits32(u):
    return float(np.array([u], dtype=np.uint32).view(np.float32)[0])


def conv(t, v):
    """A value in the convention's JSON form (floats as exact doubles)."""
    if t.startswith('ARRAY['):
        return [conv(t[6:-1], x) for x in v]
    if t in ('UINT64', 'INT64'):
        return str(v)
    if t in ('FLOAT32', 'FLOAT64'):
        x = f32(v) if t == 'FLOAT32' else float(v)
        if math.isnan(x):
            return 'NaN'
        if math.isinf(x):
            return 'Infinity' if x > 0 else '-Infinity'
        return x
    return v


def all_types():
    path = os.path.join(OUT, 'all-types.gguf')
    w = gguf.GGUFWriter(path, 'llama')
    keys = {}  # key -> (type name, value)

    def add(key, t, v, vtype, sub=None):
        w.add_key_value(key, v, vtype, sub_type=sub)
        keys[key] = (t, v)

    keys['general.architecture'] = ('STRING', 'llama')
    for name, vt, vals in [('UINT8', V.UINT8, [0, 255]), ('INT8', V.INT8, [-128, 127]), ('UINT16', V.UINT16, [65535]), ('INT16', V.INT16, [-32768]),
                           ('UINT32', V.UINT32, [4294967295]), ('INT32', V.INT32, [-2147483648]), ('UINT64', V.UINT64, [18446744073709551615]),
                           ('INT64', V.INT64, [-9223372036854775808, 9007199254740993])]:
        for i, v in enumerate(vals):
            add(f'test.{name.lower()}.{i}', name, v, vt)
    for i, v in enumerate([0.1, 1e-5, -0.0, 3.4028234663852886e38, bits32(1), bits32(0x007fffff), 16777217.0, float('inf'), float('-inf'), float('nan'), 0.3, 1 / 3]):
        add(f'test.float32.{i}', 'FLOAT32', v, V.FLOAT32)
    for i, v in enumerate([0.1, -0.0, 5e-324, 1.7976931348623157e308, float('nan'), 1 / 3]):
        add(f'test.float64.{i}', 'FLOAT64', v, V.FLOAT64)
    add('test.bool.true', 'BOOL', True, V.BOOL)
    add('test.bool.false', 'BOOL', False, V.BOOL)
    add('test.string', 'STRING', 'tab\t"quote" \\ ünïcödé 🦙 {{ bos_token }}', V.STRING)
    add('test.string.empty', 'STRING', '', V.STRING)
    add('gguf.types', 'STRING', 'a GGUF key of the same name as the convention\'s: it goes to the sidecar', V.STRING)
    add('test.arr.u8', 'ARRAY[UINT8]', [0, 1, 255], V.ARRAY, V.UINT8)
    add('test.arr.i16', 'ARRAY[INT16]', [-32768, 0, 32767], V.ARRAY, V.INT16)
    add('test.arr.u64', 'ARRAY[UINT64]', [0, 18446744073709551615], V.ARRAY, V.UINT64)
    add('test.arr.i64', 'ARRAY[INT64]', [-9223372036854775808, 9007199254740993], V.ARRAY, V.INT64)
    add('test.arr.f32', 'ARRAY[FLOAT32]', [0.1, -0.0, float('inf'), float('nan'), 1e-45], V.ARRAY, V.FLOAT32)
    add('test.arr.f64', 'ARRAY[FLOAT64]', [0.1, -0.0, float('-inf')], V.ARRAY, V.FLOAT64)
    add('test.arr.bool', 'ARRAY[BOOL]', [True, False], V.ARRAY, V.BOOL)
    add('test.arr.str', 'ARRAY[STRING]', ['a', '', 'ü "q"'], V.ARRAY, V.STRING)
    add('test.arr.nested', 'ARRAY[ARRAY[STRING]]', [['a', 'b'], ['c']], V.ARRAY)
    add('test.arr.nested.i32', 'ARRAY[ARRAY[INT32]]', [[1, -2], [3]], V.ARRAY)
    add('test.arr.long.i32', 'ARRAY[INT32]', [int(x) for x in rng.integers(-2**31, 2**31, 100)], V.ARRAY, V.INT32)
    add('test.arr.long.str', 'ARRAY[STRING]', [f'tok{i}' for i in range(65)], V.ARRAY, V.STRING)
    add('test.arr.64', 'ARRAY[INT32]', list(range(64)), V.ARRAY, V.INT32)
    w.add_tensor('f32', np.arange(4, dtype=np.float32) - 1.5)
    q = (rng.standard_normal((2, 64)) * 3).astype(np.float32)
    w.add_tensor('q8', gguf.quants.quantize(q, gguf.GGMLQuantizationType.Q8_0), raw_dtype=gguf.GGMLQuantizationType.Q8_0)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    # What gguf-py reads back (arrays of arrays it does not read: their values are the ones written).
    r = gguf.GGUFReader(path)
    for key, (t, v) in keys.items():
        if 'ARRAY[ARRAY' in t:
            continue
        got = r.fields[key].contents()
        same = json.dumps(conv(t, got)) == json.dumps(conv(t, v))
        assert same, (key, got, v)
    sidecar = ['gguf.types', 'test.arr.long.i32', 'test.arr.long.str']
    expected = {'producer': f'gguf-py GGUFWriter (scripts/make-gguf-metadata-fixtures.py)', 'sidecar': sidecar,
                'keys': {k: {'type': t, 'value': conv(t, v)} for k, (t, v) in keys.items()}}
    with open(os.path.join(OUT, 'all-types.expected.json'), 'w') as f:
        json.dump(expected, f, indent=1, ensure_ascii=False)
        f.write('\n')


def cast_edges():
    edges = [0, 0x80000000, 1, 0x80000001, 0x007fffff, 0x00800000, 0x33000000, 0x33000001, 0x33800000, 0x33c00000, 0x33400000,
             0x38800000, 0x387fc000, 0x387fe000, 0x38802000, 0x3f800000, 0x3f801000, 0x3f803000, 0x3f802000, 0x3f808000, 0x3f818000,
             0x3f810000, 0x477fe000, 0x477fefff, 0x477ff000, 0x477fffff, 0x47800000, 0x7f7fffff, 0xff7fffff, 0x7f7f8000, 0x7f7f7fff,
             0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000, 0x7f800001, 0xff812345, 0x7fbfffff]
    rand = rng.integers(0, 2**32, 2048, dtype=np.uint64).astype(np.uint32)
    u = np.concatenate([np.array(edges, dtype=np.uint32), rand])
    x = u.view(np.float32)
    t = torch.from_numpy(x.copy())
    h = t.to(torch.float16).view(torch.int16).numpy().view(np.uint16)
    b = t.to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
    u.astype('<u4').tofile(os.path.join(OUT, 'cast-edges.f32'))
    h.astype('<u2').tofile(os.path.join(OUT, 'cast-edges.f16'))
    b.astype('<u2').tofile(os.path.join(OUT, 'cast-edges.bf16'))


def float32_text():
    edges = [1, 0x007fffff, 0x00800000, 0x7f7fffff, 0x3dcccccd, 0x3727c5ac, 0x4b800001, 0x3eaaaaab, 0x3f800000, 0x4f000000, 0x5f000000,
             0x7e800000, 0x00000100, 0x3a83126f, 0x42f6e979, 0xbf800000]
    u = np.concatenate([np.array(edges, dtype=np.uint32), rng.integers(0, 0x7f800000, 600, dtype=np.uint64).astype(np.uint32)])
    rows = [[int(v), str(x)] for v, x in zip(u, u.view(np.float32))]
    with open(os.path.join(OUT, 'float32-text.json'), 'w') as f:
        json.dump({'producer': f'numpy {np.__version__} str(np.float32) (shortest round-trip, Dragon4)', 'values': rows}, f)
        f.write('\n')


def corpus():
    if not os.path.exists(CORPUS):
        print('no shared corpus: ollama-tiny-llama.expected.json not written')
        return
    r = gguf.GGUFReader(CORPUS)
    out = {}
    for key, field in r.fields.items():
        if key.startswith('GGUF.'):
            continue
        types = [V(t).name for t in field.types]
        tname = types[-1]
        for _ in types[:-1]:
            tname = f'ARRAY[{tname}]'
        v = field.contents()
        if types[0] == 'ARRAY':
            el = types[-1]
            if el == 'STRING':
                data = b''.join(struct.pack('<I', len(s.encode())) + s.encode() for s in v)
            else:
                data = np.array(v, dtype={'FLOAT32': '<f4', 'INT32': '<i4', 'UINT32': '<u4'}[el]).tobytes()
            out[key] = {'type': tname, 'count': len(v), 'sha256': hashlib.sha256(data).hexdigest()}
        else:
            out[key] = {'type': tname, 'value': conv(tname, v)}
    with open(os.path.join(OUT, 'ollama-tiny-llama.expected.json'), 'w') as f:
        json.dump({'producer': 'gguf-py GGUFReader of ../shared/corpus/formats/gguf/ollama/llama-2-tiny-random.gguf', 'keys': out}, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    os.makedirs(OUT, exist_ok=True)
    all_types()
    cast_edges()
    float32_text()
    corpus()
