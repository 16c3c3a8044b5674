#!/usr/bin/python3
"""Writes test/fixtures/gguf-quant/: one GGUF holding every ggml block type that has a to_float, and
beside it what libggml's own to_float makes of each tensor (quant.expected.safetensors.gz, F32,
shapes as the reader gives them, gzipped), for test/gguf-quant.test.ts to compare bit for bit.

Two tensors per type, rows of 256 elements (a whole number of blocks of every type):
  <type>.edge   ggml's quantizer (ggml_quantize_chunk) applied to rows that reach its edges: normal
                noise, zeros, huge values, tiny values (subnormal F16 scales), negative only, sparse
                spikes (no NaN or infinity in the input);
  <type>.bytes  random block bytes, not from a quantizer, so that every field takes values a quantizer
                rarely writes (grid indices, sign patterns, scales; E8M0, UE4M3 and F16 scales at their
                extremes, subnormal outputs included); only the
                F16 scales are kept finite (an infinite scale times a zero code is a NaN, whose bits
                the C and JavaScript runtimes need not agree on).
The expected values are the type's to_float from ggml_get_type_traits, called through ctypes on
libggml-base.so. The GGUF is written by gguf-py's GGUFWriter (a second writer, not tensorsafe's). As a
cross-check, gguf-py's own gguf.quants.dequantize is run on the same bytes: where it differs from
libggml (libggml is the reference), the script says so and records it in the expected file's metadata.

Run: PYTHONPATH=/work/wt/nlc/llama.cpp/gguf-py /usr/bin/python3 scripts/make-ggml-quant-fixtures.py
     [path/to/libggml-base.so] (default /work/wt/ggml/build/src/libggml-base.so; deterministic).
"""
import ctypes
import gzip
import json
import os
import struct
import sys

import numpy as np

import gguf
from gguf import quants as gquants

LIB = sys.argv[1] if len(sys.argv) > 1 else '/work/wt/ggml/build/src/libggml-base.so'
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'gguf-quant')
N = 256  # elements per row

# ggml type id -> name; every type whose type traits have a to_float, but F32/F16/BF16.
TYPES = {
    2: 'Q4_0', 3: 'Q4_1', 6: 'Q5_0', 7: 'Q5_1', 8: 'Q8_0', 10: 'Q2_K', 11: 'Q3_K', 12: 'Q4_K', 13: 'Q5_K', 14: 'Q6_K',
    16: 'IQ2_XXS', 17: 'IQ2_XS', 18: 'IQ3_XXS', 19: 'IQ1_S', 20: 'IQ4_NL', 21: 'IQ3_S', 22: 'IQ2_S', 23: 'IQ4_XS',
    29: 'IQ1_M', 34: 'TQ1_0', 35: 'TQ2_0', 39: 'MXFP4', 40: 'NVFP4', 41: 'Q1_0', 42: 'Q2_0',
}
# Byte offsets of the F16 fields in each block (IQ1_M's scale is spread over 4 nibbles: handled apart).
F16_AT = {
    'Q4_0': [0], 'Q4_1': [0, 2], 'Q5_0': [0], 'Q5_1': [0, 2], 'Q8_0': [0], 'Q2_K': [80, 82], 'Q3_K': [108],
    'Q4_K': [0, 2], 'Q5_K': [0, 2], 'Q6_K': [208], 'IQ2_XXS': [0], 'IQ2_XS': [0], 'IQ3_XXS': [0], 'IQ1_S': [0],
    'IQ4_NL': [0], 'IQ3_S': [0], 'IQ2_S': [0], 'IQ4_XS': [0], 'IQ1_M': [], 'TQ1_0': [52], 'TQ2_0': [64],
    'MXFP4': [], 'NVFP4': [], 'Q1_0': [0], 'Q2_0': [0],
}


class Traits(ctypes.Structure):
    _fields_ = [('type_name', ctypes.c_char_p), ('blck_size', ctypes.c_int64), ('blck_size_interleave', ctypes.c_int64),
                ('type_size', ctypes.c_size_t), ('is_quantized', ctypes.c_bool), ('to_float', ctypes.c_void_p), ('from_float_ref', ctypes.c_void_p)]


ggml = ctypes.CDLL(LIB)
ggml.ggml_get_type_traits.restype = ctypes.POINTER(Traits)
ggml.ggml_get_type_traits.argtypes = [ctypes.c_int]
ggml.ggml_quantize_chunk.restype = ctypes.c_size_t
ggml.ggml_quantize_chunk.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p]
ggml.ggml_quantize_requires_imatrix.restype = ctypes.c_bool
ggml.ggml_quantize_requires_imatrix.argtypes = [ctypes.c_int]
TO_FLOAT = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)

rng = np.random.default_rng(1111)


def traits(tid):
    t = ggml.ggml_get_type_traits(tid).contents
    assert t.to_float, f'{TYPES[tid]} has no to_float'
    assert t.type_name.decode().upper() == TYPES[tid], (t.type_name, TYPES[tid])
    return t


def to_float(tid, data, n):
    """libggml's to_float of `n` elements stored in `data` (bytes)."""
    out = np.zeros(n, dtype=np.float32)
    src = ctypes.create_string_buffer(bytes(data), len(data))
    TO_FLOAT(traits(tid).to_float)(ctypes.cast(src, ctypes.c_void_p), out.ctypes.data, n)
    return out


def quantize(tid, x):
    rows, n = x.shape
    t = traits(tid)
    dst = ctypes.create_string_buffer(rows * n // t.blck_size * t.type_size)
    x = np.ascontiguousarray(x, dtype=np.float32)
    imatrix = np.abs(rng.standard_normal(n)).astype(np.float32) + 0.1 if ggml.ggml_quantize_requires_imatrix(tid) else None
    size = ggml.ggml_quantize_chunk(tid, x.ctypes.data, dst, 0, rows, n, None if imatrix is None else imatrix.ctypes.data)
    assert size == len(dst.raw), (TYPES[tid], size, len(dst.raw))
    return dst.raw


def edge_rows(scale_limit):
    """Rows that reach a quantizer's edges; `huge` is kept where every type's scale stays finite."""
    spikes = np.zeros(N, dtype=np.float32)
    spikes[rng.choice(N, 6, replace=False)] = rng.choice([-1, 1], 6) * rng.uniform(1, 40, 6)
    return np.stack([
        rng.standard_normal(N),
        np.zeros(N),
        rng.uniform(-1, 1, N) * scale_limit,
        rng.standard_normal(N) * 1e-6,
        -np.abs(rng.standard_normal(N)) * 3,
        spikes,
    ]).astype(np.float32)


def finite_f16(code):
    """An F16 code with its exponent not all ones (the same code when already finite)."""
    return code & ~0x4000 if (code & 0x7C00) == 0x7C00 else code


def random_blocks(name, t, blocks):
    raw = bytearray(rng.integers(0, 256, blocks * t.type_size, dtype=np.uint8).tobytes())
    for b in range(blocks):
        p = b * t.type_size
        for at in F16_AT[name]:
            code = finite_f16(raw[p + at] | raw[p + at + 1] << 8)
            raw[p + at:p + at + 2] = struct.pack('<H', code)
        if name == 'IQ1_M':  # the F16 is the top nibbles of the 4 u16 scales at 48..55: bits 10..14 are the top 3 of byte 53 and 2 of byte 55
            sc = struct.unpack_from('<4H', raw, p + 48)
            d = (sc[0] >> 12) | ((sc[1] >> 8) & 0xF0) | ((sc[2] >> 4) & 0xF00) | (sc[3] & 0xF000)
            if (d & 0x7C00) == 0x7C00:
                raw[p + 55] &= ~0x40 & 0xFF  # bit 14 of d is bit 14 of sc[3]
    # Scales at their extremes in the first blocks: a subnormal F16; E8M0 0, 1, 2 and 255 (2^-128 to
    # 2^126 after halving); UE4M3 zero, 0x7F (zero too), subnormals, the largest, bit 7 set.
    if F16_AT[name]:
        raw[F16_AT[name][0]:F16_AT[name][0] + 2] = struct.pack('<H', 0x8203)
    if name == 'MXFP4':
        for b, e in enumerate([0, 1, 2, 255]):
            raw[b * t.type_size] = e
    if name == 'NVFP4':
        raw[0:4], raw[36:40] = bytes([0x00, 0x7F, 0x01, 0xFF]), bytes([0x80, 0xFE, 0x08, 0x07])
    return bytes(raw)


def f16_safe_limit(tid):
    """The largest `huge` amplitude (a power of ten) whose quantized values are all finite for this type."""
    for limit in (6e4, 1e4, 1e3, 1e2):
        x = (np.linspace(-1, 1, N, dtype=np.float32) * limit)[None, :]
        if np.isfinite(to_float(tid, quantize(tid, x), N)).all():
            return limit
    raise AssertionError(TYPES[tid])


def gguf_py_check(tid, data, rows, want):
    """gguf-py's dequantize of the same bytes, against libggml's: None when equal, else what differs."""
    qtype = gguf.GGMLQuantizationType(tid)
    try:
        got = gquants.dequantize(np.frombuffer(data, dtype=np.uint8).reshape(rows, -1), qtype).astype(np.float32).reshape(-1)
    except NotImplementedError:
        return 'gguf-py has no dequantize for this type'
    if got.tobytes() == want.tobytes():
        return None
    bad = np.nonzero(got.view(np.uint32) != want.view(np.uint32))[0]
    ulps = np.abs(got.view(np.int32).astype(np.int64) - want.view(np.int32).astype(np.int64))[bad]
    return f'gguf-py differs in {len(bad)} of {want.size} values (max {ulps.max()} ulp), first at {bad[0]}: {got[bad[0]]!r} vs {want[bad[0]]!r}'


def safetensors(tensors, metadata):
    header, blobs, at = {'__metadata__': metadata}, [], 0
    for name, arr in tensors:
        b = np.ascontiguousarray(arr, dtype='<f4').tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(arr.shape), 'data_offsets': [at, at + len(b)]}
        blobs.append(b)
        at += len(b)
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * (-len(h) % 8)
    return struct.pack('<Q', len(h)) + h + b''.join(blobs)


def main():
    os.makedirs(OUT, exist_ok=True)
    writer = gguf.GGUFWriter(os.path.join(OUT, 'quant.gguf'), arch='tensorsafe-fixture')
    writer.add_string('general.name', 'every ggml block type: libggml quantizer output and random blocks')
    expected, notes = [], {}
    for tid, name in TYPES.items():
        t = traits(tid)
        limit = f16_safe_limit(tid)
        x = edge_rows(limit)
        cases = [('edge', quantize(tid, x), x.shape[0]), ('bytes', random_blocks(name, t, 2 * N // t.blck_size), 2)]
        for kind, data, rows in cases:
            tensor = f'{name.lower()}.{kind}'
            want = to_float(tid, data, rows * N)
            assert np.isfinite(want).all() or kind == 'bytes', tensor
            assert not np.isnan(want).any(), tensor
            diff = gguf_py_check(tid, data, rows, want)
            if diff is not None:
                notes[tensor] = diff
                print(f'{tensor}: {diff}')
            writer.add_tensor(tensor, np.frombuffer(data, dtype=np.uint8).reshape(rows, -1), raw_dtype=gguf.GGMLQuantizationType(tid))
            expected.append((tensor, want.reshape(rows, N)))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    meta = {
        'producer': 'scripts/make-ggml-quant-fixtures.py: libggml ' + os.path.basename(os.path.realpath(LIB)) + ' to_float (ggml_get_type_traits)',
        'types': json.dumps(list(TYPES.values())),
        'gguf_py_differs': json.dumps(notes),
    }
    # gzip: the F32 values are 8 times the GGUF's bytes and compress about 4 to 1 (mtime 0: reproducible).
    with open(os.path.join(OUT, 'quant.expected.safetensors.gz'), 'wb') as f:
        f.write(gzip.compress(safetensors(expected, meta), compresslevel=9, mtime=0))
    print(f'{len(expected)} tensors; gguf-py agrees with libggml on {len(expected) - len(notes)} of them')


main()
