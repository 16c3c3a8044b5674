#!/usr/bin/python3
"""Writes test/fixtures/corpus-expected/onnx.json: for every .onnx file of ../shared/corpus/formats/onnx,
the main graph's initializers and Constant `value` tensors as onnx.numpy_helper.to_array reads them
(python3-onnx, Debian), by file and tensor name, with dtype, shape and the SHA-256 of their row-major
little-endian bytes. Tensors to_array cannot read (types newer than this onnx, strings) are listed
under "not_verified" with the reason. Only benign files (the ONNX backend tests, an external-data model).
Run: /usr/bin/python3 scripts/make-onnx-corpus-expected.py
"""
import hashlib, json, os
import numpy as np
import onnx
from onnx import TensorProto, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, '..', 'shared', 'corpus')
BASE = os.path.join(CORPUS, 'formats', 'onnx')
OUT = os.path.join(ROOT, 'test', 'fixtures', 'corpus-expected', 'onnx.json')
ST = {np.dtype('float32'): 'F32', np.dtype('float64'): 'F64', np.dtype('float16'): 'F16', np.dtype('int8'): 'I8', np.dtype('uint8'): 'U8',
      np.dtype('int16'): 'I16', np.dtype('uint16'): 'U16', np.dtype('int32'): 'I32', np.dtype('uint32'): 'U32', np.dtype('int64'): 'I64',
      np.dtype('uint64'): 'U64', np.dtype('bool'): 'BOOL', np.dtype('complex64'): 'C64'}


def entry(t):
    a = numpy_helper.to_array(t)
    if t.data_type == TensorProto.BFLOAT16:
        a = (np.ascontiguousarray(a, dtype='<f4').view('<u4') >> 16).astype('<u2')
        dtype = 'BF16'
    else:
        dtype = ST[a.dtype]
    b = np.ascontiguousarray(a).astype(a.dtype.newbyteorder('<')).tobytes()
    return {'dtype': dtype, 'shape': list(t.dims), 'sha256': hashlib.sha256(b).hexdigest()}


def main():
    files, not_verified, not_loaded = {}, {}, {}
    for d, _, names in sorted(os.walk(BASE)):
        for n in sorted(names):
            if not n.endswith('.onnx'):
                continue
            p = os.path.join(d, n)
            rel = os.path.relpath(p, CORPUS)
            try:
                m = onnx.load(p)  # external data read from the model's folder by onnx itself
            except Exception as e:  # noqa: BLE001
                not_loaded[rel] = f'{type(e).__name__}: {e}'[:200]
                continue
            tensors = [(t.name, t) for t in m.graph.initializer]
            tensors += [(node.output[0], a.t) for node in m.graph.node if node.op_type == 'Constant' for a in node.attribute if a.name == 'value']
            out = {}
            for name, t in tensors:
                try:
                    out[name] = entry(t)
                except Exception as e:  # noqa: BLE001
                    not_verified.setdefault(rel, {})[name] = f'{type(e).__name__}: {e}'[:200]
            files[rel] = out
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as f:
        json.dump({'reader': f'onnx.numpy_helper.to_array (python3-onnx {onnx.__version__})', 'files': files, 'not_verified': not_verified, 'not_loaded': not_loaded}, f, indent=1, sort_keys=True)
        f.write('\n')


if __name__ == '__main__':
    main()
