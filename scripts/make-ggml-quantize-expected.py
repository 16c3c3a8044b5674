#!/usr/bin/python3
"""Writes test/fixtures/ggml-quantize/expected.json: float32 rows and what libggml makes of them.

Run with /usr/bin/python3 (numpy) on a machine with libggml built from ggml-org/ggml
(GGML_LIB, default /work/wt/ggml/build/src/libggml-base.so). For each row: its float32 bytes and the
bytes of ggml's reference encoders: ggml_fp32_to_fp16_row, ggml_fp32_to_bf16_row_ref,
quantize_row_q8_0_ref, quantize_row_q4_0_ref, quantize_row_q4_K_ref (the block quantizers only for
rows of finite values: ggml's C code has no defined result for NaN or infinity there).
test/ggml-quantize.test.ts checks that tensorsafe's encoders give the same bytes.
"""
import base64, ctypes, json, os, sys
import numpy as np

LIB = os.environ.get('GGML_LIB', '/work/wt/ggml/build/src/libggml-base.so')
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'ggml-quantize', 'expected.json')

ggml = ctypes.CDLL(LIB)
F = ctypes.POINTER(ctypes.c_float)
for name in ['ggml_fp32_to_fp16_row', 'ggml_fp32_to_bf16_row_ref', 'quantize_row_q8_0_ref', 'quantize_row_q4_0_ref', 'quantize_row_q4_K_ref']:
    getattr(ggml, name).argtypes = [F, ctypes.c_void_p, ctypes.c_int64]
    getattr(ggml, name).restype = None

BYTES = {'q8_0': (32, 34), 'q4_0': (32, 18), 'q4_k': (256, 144), 'f16': (1, 2), 'bf16': (1, 2)}
FN = {'q8_0': 'quantize_row_q8_0_ref', 'q4_0': 'quantize_row_q4_0_ref', 'q4_k': 'quantize_row_q4_K_ref', 'f16': 'ggml_fp32_to_fp16_row', 'bf16': 'ggml_fp32_to_bf16_row_ref'}

def encode(kind, row):
    block, size = BYTES[kind]
    out = ctypes.create_string_buffer(len(row) // block * size)
    x = np.ascontiguousarray(row, dtype='<f4')
    getattr(ggml, FN[kind])(x.ctypes.data_as(F), ctypes.cast(out, ctypes.c_void_p), len(row))
    return out.raw

rng = np.random.default_rng(11)
rows = {}
rows['normal'] = rng.standard_normal(512).astype(np.float32)
rows['uniform-small'] = (rng.random(512).astype(np.float32) - 0.3) * np.float32(1e-3)
rows['zeros'] = np.zeros(256, np.float32)
rows['one-spike'] = np.zeros(256, np.float32); rows['one-spike'][77] = -3.5
rows['positive'] = rng.random(256).astype(np.float32) + np.float32(0.5)
rows['negative'] = -rng.random(256).astype(np.float32) - np.float32(2)
ext = rng.standard_normal(256).astype(np.float32)
ext[0:32] *= np.float32(1e30)           # d overflows F16 (inf scale)
ext[32:64] *= np.float32(1e-30)         # d underflows F16
ext[64:96] = np.float32(65504) * np.sign(ext[64:96])
ext[96:128] = np.float32(1e-40) * np.arange(32, dtype=np.float32)  # float32 subnormals
ext[128:160] = np.float32(0.5) * np.arange(-16, 16, dtype=np.float32)  # ties for roundf
ext[160:192] = np.float32(3.4e38) * np.sign(ext[160:192])
rows['extremes'] = ext
rows['heavy-tail'] = (rng.standard_t(2, 512) * 10).astype(np.float32)
# F16/BF16 only: every rounding case, NaNs with payloads, infinities, subnormals, ties.
halves = np.array([0, -0.0, 1, 65504, 65519.99, 65520, 1e9, -1e9, 6.1e-5, 6e-5, 5.96e-8, 2.98e-8, 2.9802322e-08, 3e-8, 1e-45,
                   1.00048828125, 1.00146484375, 1.0009765625, np.inf, -np.inf], np.float32)
bits = np.array([0x7fc00000, 0xffc00001, 0x7f800001, 0x7fbfffff, 0xff812345, 0x3f808000, 0x3f818000, 0x3f807fff, 0x387fe000, 0x387ff000, 0x33000000, 0x33000001, 0x337fffff], np.uint32).view(np.float32)
rows['halves'] = np.concatenate([halves, bits, (rng.standard_normal(64) * 1000).astype(np.float32)])

cases = []
for name, row in rows.items():
    row = np.ascontiguousarray(row, dtype='<f4')
    case = {'name': name, 'f32': base64.b64encode(row.tobytes()).decode()}
    for kind, (block, _) in BYTES.items():
        if len(row) % block: continue
        if block > 1 and not np.all(np.isfinite(row)): continue
        case[kind] = base64.b64encode(encode(kind, row)).decode()
    cases.append(case)

with open(OUT, 'w') as f:
    json.dump({'generator': 'scripts/make-ggml-quantize-expected.py', 'oracle': 'libggml (ggml-org/ggml) reference encoders', 'cases': cases}, f, indent=1)
    f.write('\n')
print('wrote', OUT, os.path.getsize(OUT), 'bytes')
