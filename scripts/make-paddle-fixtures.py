#!/usr/bin/env python3
"""PaddlePaddle fixtures for test/fixtures/formats/paddle and test/fixtures/paddle (run with /usr/bin/python3
from the repo root).

Paddle is not installable here, so this does what paddle.save does (python/paddle/framework/io.py, read
for this script): `_build_saved_state_dict` turns the state dict's tensors into NumPy arrays
(np.array(tensor.cpu())) and adds `StructuredToParameterName@@` (structured name -> parameter name);
`_unpack_saved_dict` splits only arrays over 1 GiB (none here); then `pickle.Pickler(f, protocol).dump`
with protocol 4 (paddle.save's default) or 2. The expected values are numpy's: each array's dtype, shape
and the SHA-256 of its C-order little-endian bytes.
"""
import hashlib
import json
import os
import pickle

import numpy as np

OUT = os.path.join('test', 'fixtures', 'formats', 'paddle')
MORE = os.path.join('test', 'fixtures', 'paddle')
ST = {'f2': 'F16', 'f4': 'F32', 'f8': 'F64', 'i1': 'I8', 'i2': 'I16', 'i4': 'I32', 'i8': 'I64', 'u1': 'U8', 'u2': 'U16',
      'u4': 'U32', 'u8': 'U64', 'b1': 'BOOL', 'c8': 'C64'}


def state_dict():
    rng = np.random.default_rng(13)
    d = {}
    for code in ST:
        if code == 'b1':
            a = rng.integers(0, 2, size=(2, 3)).astype(bool)
        elif code[0] in 'fc':
            a = rng.standard_normal((2, 3)).astype(code)
            if code == 'c8':
                a = (a + 1j * rng.standard_normal((2, 3))).astype('c8')
        else:
            info = np.iinfo(code)
            a = rng.integers(info.min, info.max, size=(2, 3), dtype=code, endpoint=True)
        d[f'layer.{code}'] = a
    d['linear.weight'] = np.asfortranarray(rng.standard_normal((3, 4)).astype('f4'))  # Fortran order
    d['linear.bias'] = rng.standard_normal(4).astype('>f4')  # big-endian
    d['embed.big_fortran'] = np.asfortranarray(rng.integers(-1000, 1000, size=(2, 3, 2)).astype('>i8'))
    d['step'] = np.array(42, dtype='i8')  # 0-d
    d['empty'] = np.zeros((0, 3), dtype='f4')
    d['bf16_bits'] = np.array([0x3f80, 0xc000, 0x7f80], dtype='u2')  # paddle's bfloat16 reaches numpy as uint16
    return d


def paddle_save(d, path, protocol):
    saved = dict(d)
    saved['StructuredToParameterName@@'] = {k: f'param_{i}' for i, k in enumerate(d)}
    with open(path, 'wb') as f:
        pickle.Pickler(f, protocol).dump(saved)


def expected_tensor(name, a):
    le = np.ascontiguousarray(a).astype(a.dtype.newbyteorder('<'))
    code = a.dtype.str[1:]
    enc = {'layout': 'strided' if a.flags.f_contiguous and not a.flags.c_contiguous and sum(1 for n in a.shape if n != 1) > 1 else 'stored'}
    if a.dtype.byteorder == '>':
        enc['byteSwap'] = a.dtype.itemsize // (2 if a.dtype.kind == 'c' else 1)
    return {'name': name, 'dtype': ST[code], 'shape': list(a.shape), 'sha256': hashlib.sha256(le.tobytes()).hexdigest(), 'encoding': enc}


def write_expected(path, exercises, **rest):
    with open(path + '.expected.json', 'w') as f:
        json.dump({'format': 'paddle', 'producer': 'scripts/make-paddle-fixtures.py (paddle.save layout), numpy ' + np.__version__, 'exercises': exercises, **rest}, f, indent=1)
        f.write('\n')


def main():
    os.makedirs(OUT, exist_ok=True)
    os.makedirs(MORE, exist_ok=True)
    d = state_dict()
    tensors = [expected_tensor(k, v) for k, v in d.items()]
    for protocol in (4, 2):
        path = os.path.join(OUT, f'model-protocol{protocol}.pdparams')
        paddle_save(d, path, protocol)
        write_expected(path, f'pickle protocol {protocol}: every dtype, 0-d, empty, Fortran order, big-endian, StructuredToParameterName@@ left out', tensors=tensors)

    # numpy refuses an array whose bytes are not its shape x dtype: the state's bytes cut short.
    bad = {'w': np.arange(6, dtype='f4')}
    raw = pickle.dumps(bad, protocol=3)  # paddle.save allows 2 to 4; 3 has no frames to mend
    good = np.arange(6, dtype='f4').tobytes()
    short = raw.replace(bytes([0x43, len(good)]) + good, bytes([0x43, len(good) - 4]) + good[:-4])
    assert short != raw
    path = os.path.join(OUT, 'short-data.pdparams')
    with open(path, 'wb') as f:
        f.write(short)
    write_expected(path, 'an array whose data is 4 bytes short of its shape and dtype', error='InvalidPaddle')

    # An optimizer's state (paddle.save(opt.state_dict(), 'model.pdopt')): read, never converted.
    opt = {'linear_0.w_0_moment1_0': np.zeros((3, 4), 'f4'), 'linear_0.w_0_moment2_0': np.ones((3, 4), 'f4'),
           'linear_0.w_0_beta1_pow_acc_0': np.array([0.9], 'f4'), 'LR_Scheduler': {'last_epoch': 3, 'last_lr': 0.001}}
    with open(os.path.join(MORE, 'adam.pdopt'), 'wb') as f:
        pickle.Pickler(f, 4).dump(opt)


if __name__ == '__main__':
    main()
