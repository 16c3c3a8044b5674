#!/usr/bin/env python3
"""Flax msgpack fixtures for test/fixtures/formats/flax (run with /usr/bin/python3 from the repo root).

Flax and JAX are not installable here, so this follows flax/serialization.py (read for this script)
with python3-msgpack: `to_bytes(target)` is `msgpack_serialize(to_state_dict(target))`, where
to_state_dict makes lists and tuples maps with keys '0', '1', … (`_list_state_dict`), arrays over
MAX_CHUNK_SIZE bytes become `{'__msgpack_chunked_array__': True, 'shape': {'0': …}, 'chunks': {'0': …}}`
(`_chunk`, here with a small chunk size so that a fixture has them), and `msgpack.packb(tree,
default=_msgpack_ext_pack, strict_types=True)` packs ndarrays as ExtType(1, packb((shape, dtype.name,
tobytes('C')), use_bin_type=True)), numpy scalars as ExtType(3, the same of np.asarray(x)) and
complex numbers as ExtType(2, packb((real, imag))). bfloat16 (JAX's, dtype name 'bfloat16') is written
from its bits, numpy having no bfloat16 here. The expected values are numpy's: the SHA-256 of each
array's C-order bytes.
"""
import hashlib
import json
import os

import msgpack
import numpy as np

OUT = os.path.join('test', 'fixtures', 'formats', 'flax')
ST = {'bool': 'BOOL', 'int8': 'I8', 'int16': 'I16', 'int32': 'I32', 'int64': 'I64', 'uint8': 'U8', 'uint16': 'U16', 'uint32': 'U32',
      'uint64': 'U64', 'float16': 'F16', 'float32': 'F32', 'float64': 'F64', 'complex64': 'C64', 'bfloat16': 'BF16'}


class Bf16:
    """A JAX bfloat16 array as numpy cannot hold it: its uint16 bits, named 'bfloat16'."""

    def __init__(self, bits):
        self.bits = bits


def ndarray_to_bytes(arr, name=None):
    return msgpack.packb((arr.shape, name or arr.dtype.name, arr.tobytes('C')), use_bin_type=True)


def ext_pack(x):
    if isinstance(x, Bf16):
        return msgpack.ExtType(1, ndarray_to_bytes(x.bits, 'bfloat16'))
    if isinstance(x, np.ndarray):
        return msgpack.ExtType(1, ndarray_to_bytes(x))
    if isinstance(x, np.generic):
        return msgpack.ExtType(3, ndarray_to_bytes(np.asarray(x)))
    if isinstance(x, complex):
        return msgpack.ExtType(2, msgpack.packb((x.real, x.imag)))
    return x


def to_state_dict(x):
    if isinstance(x, dict):
        return {str(k): to_state_dict(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return {str(i): to_state_dict(v) for i, v in enumerate(x)}
    return x


def chunk(arr, chunk_bytes):
    """flax.serialization._chunk with MAX_CHUNK_SIZE = chunk_bytes."""
    chunksize = max(1, int(chunk_bytes / arr.dtype.itemsize))
    flat = arr.reshape(-1)
    chunks = [flat[i:i + chunksize] for i in range(0, flat.size, chunksize)]
    return {'__msgpack_chunked_array__': True, 'shape': {str(i): d for i, d in enumerate(arr.shape)}, 'chunks': {str(i): c for i, c in enumerate(chunks)}}


def to_bytes(tree):
    return msgpack.packb(tree, default=ext_pack, strict_types=True)


def digest(a):
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def write(name, data, expected):
    with open(os.path.join(OUT, name), 'wb') as f:
        f.write(data)
    with open(os.path.join(OUT, name + '.expected.json'), 'w') as f:
        json.dump({'format': 'flax', 'producer': 'scripts/make-flax-fixtures.py (flax.serialization layout), msgpack ' + '.'.join(map(str, msgpack.version)) + ', numpy ' + np.__version__, **expected}, f, indent=1)
        f.write('\n')


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(13)
    kernel = rng.standard_normal((3, 4)).astype('float32')
    bias = rng.standard_normal(4).astype('float32')
    dtypes = {}
    for name in ['bool', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'float16', 'float64', 'complex64']:
        if name == 'bool':
            a = rng.integers(0, 2, (2, 3)).astype(bool)
        elif name.startswith(('float', 'complex')):
            a = rng.standard_normal((2, 3)).astype(name)
            if name == 'complex64':
                a = (a + 1j * rng.standard_normal((2, 3))).astype(name)
        else:
            info = np.iinfo(name)
            a = rng.integers(info.min, info.max, (2, 3), dtype=name, endpoint=True)
        dtypes[name] = a
    bf16 = np.array([[0x3f80, 0xc040], [0x7f80, 0x0000]], dtype='<u2')
    layers = [{'w': rng.standard_normal((2, 2)).astype('float32')}, {'w': rng.standard_normal((2, 2)).astype('float32')}]
    step = np.array(7, dtype='int32')
    scale = np.float32(0.5)  # a numpy scalar: extension 3
    empty = np.zeros((0, 5), dtype='float32')
    target = {
        'params': {'Dense_0': {'kernel': kernel, 'bias': bias}, 'layers': layers, 'dtypes': dtypes, 'bf16': Bf16(bf16), 'empty': empty},
        'batch_stats': {'mean': np.zeros(4, 'float32')},
        'step': step,
        'scale': scale,
        'epoch': 3,
        'lr': 0.001,
        'note': 'hello',
        'phase': complex(1.0, -2.0),
        'nothing': None,
    }
    state = to_state_dict(target)
    tensors = [
        ('params.Dense_0.kernel', kernel), ('params.Dense_0.bias', bias), ('params.layers.0.w', layers[0]['w']), ('params.layers.1.w', layers[1]['w']),
        *[(f'params.dtypes.{k}', v) for k, v in dtypes.items()], ('params.bf16', bf16), ('params.empty', empty),
        ('batch_stats.mean', np.zeros(4, 'float32')), ('step', step), ('scale', np.asarray(scale)),
    ]

    def entry(name, a):
        dt = 'BF16' if name == 'params.bf16' else ST[a.dtype.name]
        return {'name': name, 'dtype': dt, 'shape': list(a.shape), 'sha256': digest(a), 'encoding': {'layout': 'stored'}}

    write('train-state.msgpack', to_bytes(state), {
        'exercises': 'every dtype (bfloat16 by name), lists as maps (layers.0), a 0-d array, a numpy scalar (ext 3), an empty array; an int, a float, a str, a complex (ext 2) and None left out',
        'tensors': [entry(n, a) for n, a in tensors]})

    big = rng.standard_normal((5, 7)).astype('float64')
    ids = np.arange(10, dtype='int32')
    write('chunked.msgpack', to_bytes({'params': {'embedding': chunk(big, 64), 'ids': chunk(ids, 12), 'small': kernel}}), {
        'exercises': "arrays cut by flax's _chunk (MAX_CHUNK_SIZE 64 and 12 bytes here), assembled; one not chunked",
        'tensors': [entry('params.embedding', big), entry('params.ids', ids), entry('params.small', kernel)]})

    write('complex128.msgpack', to_bytes({'params': {'z': np.ones(3, 'complex128')}}), {'exercises': 'complex128, which safetensors has no dtype for', 'error': 'UnsupportedTensor'})
    bad = msgpack.ExtType(1, msgpack.packb(((2, 3), 'float32', b'\0' * 20), use_bin_type=True))
    write('short-buffer.msgpack', msgpack.packb({'params': {'w': bad}}), {'exercises': "an array's buffer 4 bytes short of its shape and dtype", 'error': 'InvalidFlax'})
    broken = chunk(ids, 12)
    broken['shape'] = {'0': 11}
    write('bad-chunks.msgpack', to_bytes({'params': {'ids': broken}}), {'exercises': 'chunks that hold 10 elements for a shape of 11', 'error': 'InvalidFlax'})


if __name__ == '__main__':
    main()
