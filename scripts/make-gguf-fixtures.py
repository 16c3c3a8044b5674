#!/usr/bin/env python3
"""Writes test/fixtures/formats/gguf/: small GGUF files made from the GGUF spec (ggml's docs/gguf.md),
each beside its .expected.json (tensors as safetensors would hold them: shapes reversed, row-major,
little-endian; sha256 of those bytes), or the error code opening it must give.

Expected values are numpy's: raw types are the arrays written; Q8_0 and Q4_0 blocks are dequantized by
the spec's formulas in numpy float32 (x = q*d, x = (q-8)*d: one exact product of a small integer and a
float32, rounded once, as ggml's C float arithmetic does), an independent computation. Every
quantized type is checked against libggml's own to_float values in test/fixtures/gguf-quant
(scripts/make-ggml-quant-fixtures.py, test/gguf-quant.test.ts) and in the shared corpus
(test/gguf-corpus.test.ts).

Run: python3 scripts/make-gguf-fixtures.py (deterministic: a fixed seed).
"""
import hashlib
import json
import os
import struct

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'formats', 'gguf')
T = dict(UINT8=0, INT8=1, UINT16=2, INT16=3, UINT32=4, INT32=5, FLOAT32=6, BOOL=7, STRING=8, ARRAY=9, UINT64=10, INT64=11, FLOAT64=12)
FMT = {0: 'B', 1: 'b', 2: 'H', 3: 'h', 4: 'I', 5: 'i', 6: 'f', 7: '?', 10: 'Q', 11: 'q', 12: 'd'}
GGML = dict(F32=(0, 'float32'), F16=(1, 'float16'), BF16=(30, None), F64=(28, 'float64'), I8=(24, 'int8'), I16=(25, 'int16'), I32=(26, 'int32'), I64=(27, 'int64'))
rng = np.random.default_rng(11)


class Writer:
    def __init__(self, version=3, big=False):
        self.version, self.e = version, '>' if big else '<'

    def n(self, v):  # counts and lengths: u64 from v2, u32 in v1
        return struct.pack(self.e + ('Q' if self.version >= 2 else 'I'), v)

    def s(self, text):
        b = text.encode('utf-8')
        return self.n(len(b)) + b

    def value(self, t, v):
        if t == T['STRING']:
            return self.s(v)
        if t == T['ARRAY']:
            et, items = v
            return struct.pack(self.e + 'I', et) + self.n(len(items)) + b''.join(self.value(et, x) for x in items)
        return struct.pack(self.e + FMT[t], v)

    def file(self, kvs, tensors, alignment=32):
        """kvs: [(key, type, value)]; tensors: [(name, ne innermost first, ggml type id, data bytes)]."""
        e = self.e
        out = b'GGUF' + struct.pack(e + 'I', self.version) + self.n(len(tensors)) + self.n(len(kvs))
        for k, t, v in kvs:
            out += self.s(k) + struct.pack(e + 'I', t) + self.value(t, v)
        offset, datas = 0, []
        for name, ne, tid, data in tensors:
            out += self.s(name) + struct.pack(e + 'I', len(ne)) + b''.join(self.n(x) for x in ne) + struct.pack(e + 'IQ', tid, offset)
            datas.append((offset, data))
            offset += -(-len(data) // alignment) * alignment
        start = -(-len(out) // alignment) * alignment if tensors else len(out)
        buf = bytearray(out) + bytearray(start - len(out) + offset)
        for off, data in datas:
            buf[start + off:start + off + len(data)] = data
        # The last tensor's padding is not written (ggml writes it; readers must not need it).
        end = start + (datas[-1][0] + len(tensors[-1][3]) if tensors else 0)
        return bytes(buf[:max(end, len(out))])


def raw(kind, shape, big=False):
    """A raw tensor of safetensors dtype `kind` and row-major `shape`: (stored bytes, little-endian row-major bytes)."""
    n = int(np.prod(shape))
    if kind == 'BF16':
        a = (rng.standard_normal(n).astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
    elif kind.startswith('F'):
        a = rng.standard_normal(n).astype(GGML[kind][1])
    else:
        info = np.iinfo(GGML[kind][1])
        a = rng.integers(info.min, info.max, n, dtype=GGML[kind][1], endpoint=True)
    le = a.astype(a.dtype.newbyteorder('<')).tobytes()
    stored = a.astype(a.dtype.newbyteorder('>')).tobytes() if big else le
    return stored, le


def q8_0(rows, cols):
    blocks = rows * cols // 32
    d = (rng.random(blocks) * 0.02 + 1e-4).astype(np.float16)
    q = rng.integers(-128, 127, (blocks, 32), dtype=np.int8, endpoint=True)
    stored = b''.join(d[i].tobytes() + q[i].tobytes() for i in range(blocks))
    x = q.astype(np.float32) * d.astype(np.float32)[:, None]
    return stored, x.astype('<f4').tobytes()


def q4_0(rows, cols):
    blocks = rows * cols // 32
    d = (rng.standard_normal(blocks) * 0.05).astype(np.float16)
    q = rng.integers(0, 15, (blocks, 32), dtype=np.uint8, endpoint=True)
    packed = (q[:, :16] | (q[:, 16:] << 4)).astype(np.uint8)  # element j in the low nibble, j+16 in the high
    stored = b''.join(d[i].tobytes() + packed[i].tobytes() for i in range(blocks))
    x = (q.astype(np.float32) - np.float32(8)) * d.astype(np.float32)[:, None]
    return stored, x.astype('<f4').tobytes()


def entry(name, dtype, shape, le, encoding=None, fidelity=None):
    e = dict(name=name, dtype=dtype, shape=shape, sha256=hashlib.sha256(le).hexdigest(), encoding=encoding or {'layout': 'stored'})
    if fidelity:
        e['fidelity'] = fidelity
    return e


def save(name, data, expected, exercises):
    with open(os.path.join(OUT, name), 'wb') as f:
        f.write(data)
    with open(os.path.join(OUT, name + '.expected.json'), 'w') as f:
        json.dump(dict(format='gguf', producer='scripts/make-gguf-fixtures.py (GGUF spec), numpy ' + np.__version__, exercises=exercises, **expected), f, indent=1)
        f.write('\n')


KVS = [
    ('general.architecture', T['STRING'], 'llama'),
    ('general.name', T['STRING'], 'tiny ✓'),
    ('llama.block_count', T['UINT32'], 2),
    ('llama.rope.freq_base', T['FLOAT32'], 10000.0),
    ('test.i8', T['INT8'], -5), ('test.u16', T['UINT16'], 65535), ('test.i16', T['INT16'], -300),
    ('test.i32', T['INT32'], -70000), ('test.u64', T['UINT64'], 2**63 + 5), ('test.i64', T['INT64'], -2**40),
    ('test.f64', T['FLOAT64'], 0.1), ('test.bool', T['BOOL'], True), ('test.u8', T['UINT8'], 200),
    ('tokenizer.ggml.tokens', T['ARRAY'], (T['STRING'], ['<s>', '</s>', 'a', 'b'])),
    ('test.nested', T['ARRAY'], (T['ARRAY'], [(T['INT32'], [1, 2]), (T['INT32'], [3])])),
]


def raw_file(name, version, big, alignment, exercises):
    w = Writer(version, big)
    tensors, expected = [], []
    kinds = [('F32', [3, 8]), ('F16', [2, 4, 8]), ('BF16', [16]), ('F64', [2, 2]), ('I8', [5, 4]), ('I16', [1, 6]), ('I32', [2, 3]), ('I64', [4]), ('F32', [0, 8])]
    for i, (kind, shape) in enumerate(kinds):
        stored, le = raw(kind, shape, big)
        tname = f'blk.{i}.{kind.lower()}'
        tensors.append((tname, list(reversed(shape)), GGML[kind][0], stored))
        size = np.dtype(GGML[kind][1] or 'uint16').itemsize
        enc = {'layout': 'stored', 'byteSwap': size} if big and size > 1 else None
        expected.append(entry(tname, kind, shape, le, enc))
    kvs = KVS + ([('general.alignment', T['UINT32'], alignment)] if alignment != 32 else [])
    save(name, w.file(kvs, tensors, alignment), dict(tensors=expected), exercises)


os.makedirs(OUT, exist_ok=True)
raw_file('raw-v3.gguf', 3, False, 32, 'GGUF v3: every raw type, every metadata value type, nested arrays, an empty tensor')
raw_file('raw-v2-align64.gguf', 2, False, 64, 'GGUF v2, general.alignment 64')
raw_file('raw-v1.gguf', 1, False, 32, 'GGUF v1 (u32 counts and lengths)')
raw_file('raw-v3-big-endian.gguf', 3, True, 32, 'big-endian GGUF v3: raw tensors byte-swapped')

w = Writer()
s8, x8 = q8_0(4, 64)
s4, x4 = q4_0(2, 96)
save('quant-q8_0-q4_0.gguf', w.file(KVS[:1], [('q8', [64, 4], 8, s8), ('q4', [96, 2], 2, s4)]), dict(tensors=[
    entry('q8', 'F32', [4, 64], x8, {'layout': 'decoded', 'decoder': 'q8_0'}, 'derived'),
    entry('q4', 'F32', [2, 96], x4, {'layout': 'decoded', 'decoder': 'q4_0'}, 'derived'),
]), 'Q8_0 and Q4_0 blocks, dequantized by the spec in numpy float32')

save('refused-q8_k.gguf', w.file(KVS[:1], [('w', [256, 1], 15, bytes(292))]), dict(error='UnsupportedTensor'), 'a ggml type with no to_float in ggml (Q8_K, an intermediate of its dot products) is refused by name')
good = w.file(KVS[:1], [('w', [8], 0, bytes(32))])
save('truncated.gguf', good[:-4], dict(error='InvalidGguf'), 'tensor data past the end of the file')
save('too-many-tensors.gguf', b'GGUF' + struct.pack('<IQQ', 3, 2**40, 0), dict(error='GgufLimit'), 'a tensor count past MAX_GGUF_TENSORS')
