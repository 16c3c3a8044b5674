#!/usr/bin/python3
"""Development check: a GGUF written by tensorsafe is read by libggml and by llama.cpp's gguf-py.

  PYTHONPATH=/work/wt/nlc/llama.cpp/gguf-py /usr/bin/python3 scripts/check-gguf-with-ggml.py SRC.safetensors OUT.gguf [TYPE]

libggml (GGML_LIB, default /work/wt/ggml/build/src/libggml-base.so): gguf_init_from_file must accept the
file and list every tensor with its ggml type and the general.architecture key. gguf-py's GGUFReader
reads every tensor; each is compared with the source: a tensor written as it is, byte for byte; a
quantized one, block bytes equal to libggml's quantize_row_<type>_ref of the source's float32 values
(F16/BF16: ggml_fp32_to_fp16_row / ggml_fp32_to_bf16_row_ref), and gguf.quants.dequantize of it close
to the source. Prints one line per tensor and exits non-zero on any difference. Never run in tests.
"""
import ctypes, json, os, struct, sys
import numpy as np
import gguf
from gguf import GGUFReader

LIB = os.environ.get('GGML_LIB', '/work/wt/ggml/build/src/libggml-base.so')
src, out = sys.argv[1], sys.argv[2]

ST = {'F32': np.float32, 'F16': np.float16, 'F64': np.float64, 'I8': np.int8, 'I16': np.int16, 'I32': np.int32, 'I64': np.int64, 'BF16': np.uint16}
with open(src, 'rb') as f:
    n = struct.unpack('<Q', f.read(8))[0]
    header = json.loads(f.read(n))
    data = f.read()
source = {}
for name, info in header.items():
    if name == '__metadata__': continue
    a, b = info['data_offsets']
    source[name] = (info['dtype'], np.frombuffer(data[a:b], dtype=ST[info['dtype']]).reshape(info['shape']))

def f32(dtype, arr):
    if dtype == 'BF16': return (arr.astype(np.uint32) << 16).view(np.float32)
    return arr.astype(np.float32)

ggml = ctypes.CDLL(LIB)
class InitParams(ctypes.Structure):
    _fields_ = [('no_alloc', ctypes.c_bool), ('ctx', ctypes.c_void_p)]
ggml.gguf_init_from_file.argtypes = [ctypes.c_char_p, InitParams]
ggml.gguf_init_from_file.restype = ctypes.c_void_p
for fn, res in [('gguf_get_n_tensors', ctypes.c_int64), ('gguf_get_tensor_name', ctypes.c_char_p), ('gguf_get_tensor_type', ctypes.c_int), ('gguf_find_key', ctypes.c_int64), ('gguf_get_val_str', ctypes.c_char_p), ('gguf_type_name', ctypes.c_char_p)]:
    getattr(ggml, fn).restype = res
ggml.gguf_get_tensor_name.argtypes = [ctypes.c_void_p, ctypes.c_int64]
ggml.gguf_get_tensor_type.argtypes = [ctypes.c_void_p, ctypes.c_int64]
ggml.gguf_find_key.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
ggml.gguf_get_val_str.argtypes = [ctypes.c_void_p, ctypes.c_int64]
ggml.ggml_type_name.restype = ctypes.c_char_p
ggml.ggml_type_name.argtypes = [ctypes.c_int]
ctx = ggml.gguf_init_from_file(out.encode(), InitParams(True, None))
if not ctx: sys.exit(f'libggml: gguf_init_from_file refused {out}')
arch = ggml.gguf_get_val_str(ctx, ggml.gguf_find_key(ctx, b'general.architecture')).decode()
n_t = ggml.gguf_get_n_tensors(ctx)
print(f'libggml: gguf_init_from_file read {out}: {n_t} tensors, general.architecture={arch}')
ggml_types = {ggml.gguf_get_tensor_name(ctx, i).decode(): ggml.ggml_type_name(ggml.gguf_get_tensor_type(ctx, i)).decode() for i in range(n_t)}

F = ctypes.POINTER(ctypes.c_float)
REF = {'Q8_0': ('quantize_row_q8_0_ref', 32, 34), 'Q4_0': ('quantize_row_q4_0_ref', 32, 18), 'Q4_K': ('quantize_row_q4_K_ref', 256, 144), 'F16': ('ggml_fp32_to_fp16_row', 1, 2), 'BF16': ('ggml_fp32_to_bf16_row_ref', 1, 2)}
def reference(kind, values):
    fn, block, size = REF[kind]
    x = np.ascontiguousarray(values.reshape(-1), dtype='<f4')
    buf = ctypes.create_string_buffer(x.size // block * size)
    getattr(ggml, fn).argtypes = [F, ctypes.c_void_p, ctypes.c_int64]
    getattr(ggml, fn)(x.ctypes.data_as(F), ctypes.cast(buf, ctypes.c_void_p), x.size)
    return buf.raw

reader = GGUFReader(out)
bad = 0
for t in reader.tensors:
    dtype, arr = source[t.name]
    kind = t.tensor_type.name
    assert ggml_types[t.name].upper() == kind, (t.name, ggml_types[t.name], kind)
    raw = bytes(t.data.tobytes())
    shape = [int(d) for d in reversed(t.shape.tolist())]
    if kind == dtype:
        ok = raw == arr.tobytes() and shape == list(arr.shape)
        how = 'as it is, byte for byte'
    else:
        ok = raw == reference(kind, f32(dtype, arr))
        deq = gguf.quants.dequantize(t.data, t.tensor_type).reshape(-1).astype(np.float32)
        err = float(np.max(np.abs(deq - f32(dtype, arr).reshape(-1)))) if arr.size else 0.0
        how = f'blocks == libggml {REF[kind][0]} of the source; gguf-py dequantize max |error| {err:.4g}'
    print(f'{"ok " if ok else "BAD"} {t.name} {kind} {shape}: {how}')
    bad += not ok
print(f'gguf-py: GGUFReader read {len(reader.tensors)} tensors; {bad} differences')
sys.exit(1 if bad else 0)
