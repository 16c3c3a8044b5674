#!/usr/bin/python3
"""Write test/fixtures/value-summary/values.safetensors and, beside it, numpy's statistics of each tensor.

Run with Debian's numpy (python3-numpy):

    /usr/bin/python3 scripts/make-value-summary-fixtures.py

The oracle is numpy, every value taken as float64 (what tensor/value-summary.ts computes in):
min/max are np.nanmin/np.nanmax (64-bit integers' also as exact decimal text), mean and std (ddof=0)
are over the finite values, and the histogram is np.histogram of the finite values as float64 with
BINS equal bins over their own range (np.histogram's own rule: range ±0.5 around a single value).
Counts are exact. BF16 is a float32's upper half, F8_E5M2 a float16's upper byte: their values are
those bit patterns read through numpy's float32 and float16. Complex64 is summarised as its real and
its imaginary part. Deterministic: fixed seed.
"""

import json
import os
import struct

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "value-summary")
BINS = 64
N = 600

rng = np.random.default_rng(20261202)


def with_specials(a):
    """A float array with NaN, ±inf, 0 and -0 among its values."""
    a = a.copy()
    a[3] = np.nan
    a[10] = np.inf
    a[11] = -np.inf
    a[20] = 0
    a[21] = -0.0
    a[50] = np.nan
    return a


def summary(values, part="values", exact=None):
    v = values.astype(np.float64)
    finite = v[np.isfinite(v)]
    notnan = v[~np.isnan(v)]
    if finite.size:
        lo, hi = float(finite.min()), float(finite.max())
    else:
        lo, hi = 0.0, 1.0
    counts, edges = np.histogram(finite, bins=BINS, range=(lo, hi))
    s = {
        "part": part,
        "count": int(v.size),
        "nan": int(np.isnan(v).sum()),
        "posInf": int(np.isposinf(v).sum()),
        "negInf": int(np.isneginf(v).sum()),
        "zeros": int((v == 0).sum()),
        "finite": int(finite.size),
        "min": num(np.nanmin(v)) if notnan.size else "NaN",
        "max": num(np.nanmax(v)) if notnan.size else "NaN",
        "mean": num(finite.mean()) if finite.size else "NaN",
        "std": num(finite.std()) if finite.size else "NaN",
        "histogram": {"min": float(edges[0]), "max": float(edges[-1]), "counts": [int(c) for c in counts]},
    }
    if exact is not None:
        s["minExact"] = str(int(exact.min()))
        s["maxExact"] = str(int(exact.max()))
    return s


def num(x):
    x = float(x)
    if np.isnan(x):
        return "NaN"
    if np.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


tensors = []  # (name, dtype, shape, bytes, [summaries])


def add(name, dtype, a, summaries, shape=None):
    tensors.append((name, dtype, list(shape if shape is not None else a.shape), np.ascontiguousarray(a).tobytes(), summaries))


f64 = with_specials(rng.normal(3.0, 2.5, N))
add("f64", "F64", f64.reshape(20, 30), [summary(f64)])
f32 = with_specials(rng.normal(-1.0, 0.1, N).astype(np.float32))
add("f32", "F32", f32.reshape(6, 100), [summary(f32)])
f16 = with_specials(rng.normal(0.0, 30.0, N).astype(np.float16))
add("f16", "F16", f16, [summary(f16)])
bf16_bits = (with_specials(rng.normal(5.0, 1.0, N).astype(np.float32)).view(np.uint32) >> 16).astype(np.uint16)
add("bf16", "BF16", bf16_bits, [summary((bf16_bits.astype(np.uint32) << 16).view(np.float32))])
e5m2 = rng.integers(0, 256, N, dtype=np.uint8)
add("f8_e5m2", "F8_E5M2", e5m2, [summary((e5m2.astype(np.uint16) << 8).view(np.float16))])
i8 = rng.integers(-128, 128, N, dtype=np.int8)
add("i8", "I8", i8, [summary(i8)])
u8 = rng.integers(0, 256, N, dtype=np.uint8)
add("u8", "U8", u8, [summary(u8)])
i16 = rng.integers(-32768, 32768, N, dtype=np.int16)
add("i16", "I16", i16, [summary(i16)])
u16 = rng.integers(0, 65536, N, dtype=np.uint16)
add("u16", "U16", u16, [summary(u16)])
i32 = rng.integers(-2**31, 2**31, N, dtype=np.int32)
add("i32", "I32", i32, [summary(i32)])
u32 = rng.integers(0, 2**32, N, dtype=np.uint32)
add("u32", "U32", u32, [summary(u32)])
i64 = rng.integers(-2**63, 2**63 - 1, N, dtype=np.int64)
i64[5] = -2**63
i64[6] = 2**63 - 1
i64[7] = 2**53 + 1
i64[8] = 0
add("i64", "I64", i64, [summary(i64, exact=i64)])
i64_small = rng.integers(-1000, 1000, N, dtype=np.int64)
add("i64_small", "I64", i64_small, [summary(i64_small, exact=i64_small)])
u64 = rng.integers(0, 2**64 - 1, N, dtype=np.uint64)
u64[9] = 2**64 - 1
u64[10] = 0
add("u64", "U64", u64, [summary(u64, exact=u64)])
b = rng.integers(0, 2, N).astype(np.bool_)
add("bool", "BOOL", b, [summary(b)])
c64 = (rng.normal(1.0, 2.0, N) + 1j * rng.normal(-4.0, 0.5, N)).astype(np.complex64)
add("c64", "C64", c64, [summary(c64.real, "real"), summary(c64.imag, "imaginary")])
const = np.full(N, 7.5, dtype=np.float32)
add("constant", "F32", const, [summary(const)])
all_nan = np.full(8, np.nan, dtype=np.float32)
add("all_nan", "F32", all_nan, [summary(all_nan)])
empty = np.zeros((0, 4), dtype=np.float32)
add("empty", "F32", empty, [summary(empty)])

header = {}
offset = 0
for name, dtype, shape, data, _ in tensors:
    header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
    offset += len(data)
text = json.dumps(header, separators=(",", ":")).encode()
text += b" " * ((8 - len(text) % 8) % 8)
os.makedirs(OUT, exist_ok=True)
with open(os.path.join(OUT, "values.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(text)))
    f.write(text)
    for _, _, _, data, _ in tensors:
        f.write(data)
expected = {"producer": f"numpy {np.__version__}", "bins": BINS,
            "tensors": {name: {"dtype": dtype, "shape": shape, "parts": parts} for name, dtype, shape, _, parts in tensors}}
with open(os.path.join(OUT, "values.expected.json"), "w") as f:
    f.write("{\n" + f'  "producer": {json.dumps(expected["producer"])},\n  "bins": {BINS},\n  "tensors": {{\n')
    names = list(expected["tensors"])
    for i, name in enumerate(names):
        f.write(f"    {json.dumps(name)}: {json.dumps(expected['tensors'][name])}{',' if i + 1 < len(names) else ''}\n")
    f.write("  }\n}\n")
print(f"wrote {OUT}: {len(tensors)} tensors")
