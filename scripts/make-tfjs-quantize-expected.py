"""Expected output of tfjs-converter's own weight quantization on committed inputs.

Writes test/fixtures/tfjs-quantize/inputs.bin (float32 values, little-endian, the cases one after the
other) and expected.json (per case and type: the manifest's min and scale as tfjs-converter computes
them, and the SHA-256 of the codes). The codes come from tfjs-converter's quantization.py itself
(`quantize_weights`), imported from a tfjs checkout, never copied here; NumPy 1.x (Debian's 1.24),
whose value-based casting is what tfjs-converter's float32 arithmetic was written under.
test/tfjs-quantize.test.ts checks src/tensor/tfjs-quantize.ts against these, bit for bit.

Run: git -C <tfjs checkout> show HEAD:tfjs-converter/python/tensorflowjs/quantization.py > /tmp/quantization.py
     /usr/bin/python3 scripts/make-tfjs-quantize-expected.py /tmp/quantization.py
"""
import hashlib
import importlib.util
import json
import os
import sys

import numpy as np

assert np.__version__.startswith('1.'), 'NumPy 1.x: tfjs-converter quantizes float32 weights in float32 arithmetic under it'
spec = importlib.util.spec_from_file_location('tfjs_quantization', sys.argv[1])
quantization = importlib.util.module_from_spec(spec)
spec.loader.exec_module(quantization)

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'tfjs-quantize')
rng = np.random.default_rng(12)


def f32(a):
    return np.asarray(a, dtype=np.float32)


def ties(n):
    """Values on the half-steps of the uint8 grid of [-1, 1.5]: round-half-even decides each code."""
    lo, hi = -1.0, 1.5
    scale = (hi - lo) / 255
    zp = np.round(-lo / scale)
    nmin = -zp * scale
    k = rng.integers(0, 255, n)
    v = f32(nmin + (k + 0.5) * scale)
    v[0], v[1] = lo, hi
    return v


def finite_bits(n):
    b = rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32)
    v = b.view(np.float32)
    return v[np.isfinite(v)]


def f16_edges():
    """Every class of float32 → float16 rounding: ties in the normal and subnormal ranges, overflow, NaN payloads."""
    special = [0.0, -0.0, 65504.0, 65519.99, 65520.0, 65536.0, 1e10, -1e10, np.inf, -np.inf, 2.0**-24, 2.0**-25,
               2.0**-25 * 1.0000001, 3 * 2.0**-26, 2.0**-14, 2.0**-14 * (1 - 2.0**-11), 1 + 2.0**-11, 1 + 3 * 2.0**-11]
    nans = np.array([0x7fc00000, 0x7f800001, 0xff800001, 0x7f802000, 0x7fffffff, 0xffc00001, 0x7f801fff], dtype=np.uint32).view(np.float32)
    ties16 = f32((rng.integers(0, 2**10, 200) * 2 + 1) * 2.0**-11 + 1)  # exactly half-way between float16 neighbours
    sub = f32(rng.integers(1, 2**12, 200) * 2.0**-26)  # half-steps of the subnormal range
    spread = f32(rng.standard_normal(500) * 10.0 ** rng.integers(-9, 6, 500))
    return np.concatenate([f32(special), nans, ties16, sub, spread])


CASES = [
    ('symmetric', f32(rng.uniform(-1, 1, 1000))),
    ('positive', f32(rng.uniform(0.5, 3, 1000))),
    ('negative', f32(rng.uniform(-7, -0.25, 1000))),
    ('zero-min', np.concatenate([f32([0.0]), f32(rng.uniform(0, 2, 999))])),
    ('zero-max', np.concatenate([f32([0.0]), f32(rng.uniform(-2, 0, 999))])),
    ('constant', f32(np.full(100, 0.375))),
    ('constant-negative', f32(np.full(10, -3.5))),
    ('two-values', f32([-0.5, 2.0] * 50)),
    ('ties', ties(1000)),
    ('wide', f32(rng.standard_normal(1000) * 10.0 ** rng.integers(-30, 30, 1000))),
    ('narrow', f32(1 + rng.integers(0, 40, 1000) * 2.0**-23)),
    ('subnormal', f32(rng.integers(-300, 300, 1000) * 2.0**-149)),
    ('normal-weights', f32(rng.standard_normal(4000) * 0.05)),
    ('random-bits', finite_bits(1200)),
    ('f16-edges', f16_edges()),
]

os.makedirs(OUT, exist_ok=True)
inputs = bytearray()
expected = []
for name, values in CASES:
    values = values.astype('<f4')
    case = {'name': name, 'offset': len(inputs), 'count': int(values.size), 'types': {}}
    inputs += values.tobytes()
    for dtype in (np.uint8, np.uint16, np.float16):
        finite = bool(np.isfinite(values).all())
        if dtype is not np.float16 and not finite:
            continue
        with np.errstate(all='ignore'):
            codes, meta = quantization.quantize_weights(values, dtype)
        assert codes.dtype == dtype
        entry = {'sha256': hashlib.sha256(codes.astype(codes.dtype.newbyteorder('<')).tobytes()).hexdigest()}
        if meta and np.float32(meta['scale']) == 0:
            # NumPy divides by a float32 scale of 0 here: the codes are whatever inf and NaN cast to.
            case['types'][np.dtype(dtype).name] = {'refused': 'the float32 scale is 0'}
            continue
        if meta:
            entry['min'] = float(meta['min'])
            entry['scale'] = float(meta['scale'])
        case['types'][np.dtype(dtype).name] = entry
    expected.append(case)

with open(os.path.join(OUT, 'inputs.bin'), 'wb') as f:
    f.write(inputs)
with open(os.path.join(OUT, 'expected.json'), 'w') as f:
    json.dump({'numpy': np.__version__, 'cases': expected}, f, indent=1)
    f.write('\n')
print(f'{len(expected)} cases, {len(inputs)} bytes of inputs')
