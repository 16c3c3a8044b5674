#!/usr/bin/env python3
"""MXNet NDArray fixtures for test/fixtures/formats/mxnet (run with /usr/bin/python3 from the repo root).

MXNet is not installable here, so this writes the bytes exactly as src/ndarray/ndarray.cc's
NDArray::Save and the list's Save write them (apache/mxnet at b84609d, read for this script), all
little-endian:

  u64 0x112 (kMXAPINDArrayListMagic), u64 0 (reserved), u64 count, each NDArray, u64 name count,
  names (u64 length, bytes).
  NDArray V2/V3: u32 magic, i32 storage type, [sparse: storage shape], shape (i32 ndim, i64 dims),
  context (i32 dev_type, i32 dev_id), i32 type flag, [sparse: per aux array i32 type, shape], data,
  [sparse: aux data]. V1: magic, shape, context, type flag, data. Legacy: u32 ndim, u32 dims, then as V1.

The expected values are numpy's: each array's dense C-order little-endian bytes (sparse arrays are
made from a dense numpy array, and the expected bytes are that dense array's), hashed with SHA-256.
"""
import hashlib
import json
import os
import struct

import numpy as np

OUT = os.path.join('test', 'fixtures', 'formats', 'mxnet')
V1, V2, V3 = 0xF993FAC8, 0xF993FAC9, 0xF993FACA
# mshadow/base.h TypeFlag
FLAGS = {'float32': 0, 'float64': 1, 'float16': 2, 'uint8': 3, 'int32': 4, 'int8': 5, 'int64': 6, 'bool': 7,
         'int16': 8, 'uint16': 9, 'uint32': 10, 'uint64': 11}
ST = {'float32': 'F32', 'float64': 'F64', 'float16': 'F16', 'uint8': 'U8', 'int32': 'I32', 'int8': 'I8', 'int64': 'I64',
      'bool': 'BOOL', 'int16': 'I16', 'uint16': 'U16', 'uint32': 'U32', 'uint64': 'U64'}


def tshape(dims):
    return struct.pack('<i', len(dims)) + b''.join(struct.pack('<q', d) for d in dims)


def ctx(dev_type=1, dev_id=0):
    return struct.pack('<ii', dev_type, dev_id)


def dense(arr, magic=V2, flag=None, dev=(1, 0)):
    flag = FLAGS[arr.dtype.name] if flag is None else flag
    data = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder('<')).tobytes()
    if magic in (V2, V3):
        return struct.pack('<Ii', magic, 0) + tshape(arr.shape) + ctx(*dev) + struct.pack('<i', flag) + data
    if magic == V1:
        return struct.pack('<I', magic) + tshape(arr.shape) + ctx(*dev) + struct.pack('<i', flag) + data
    # legacy: the first u32 is ndim, dims are u32
    return struct.pack('<I', arr.ndim) + b''.join(struct.pack('<I', d) for d in arr.shape) + ctx(*dev) + struct.pack('<i', flag) + data


def none_v2():
    return struct.pack('<Ii', V2, 0) + tshape(())


def none_v3_unknown():
    return struct.pack('<Ii', V3, 0) + tshape((-1, 3))


def row_sparse(d, idx_dtype=np.int64, rows=None):
    rows = np.nonzero(np.any(d.reshape(d.shape[0], -1) != 0, axis=1))[0] if rows is None else np.asarray(rows)
    values = d[rows]
    idx_flag = FLAGS[np.dtype(idx_dtype).name]
    return (struct.pack('<Ii', V2, 1) + tshape(values.shape) + tshape(d.shape) + ctx() + struct.pack('<i', FLAGS[d.dtype.name])
            + struct.pack('<i', idx_flag) + tshape((len(rows),)) + values.tobytes() + rows.astype(idx_dtype).tobytes())


def csr(d, idx_dtype=np.int64, indices_override=None):
    indptr, indices, values = [0], [], []
    for r in range(d.shape[0]):
        cols = np.nonzero(d[r])[0]
        indices.extend(cols)
        values.extend(d[r, cols])
        indptr.append(len(indices))
    if indices_override is not None:
        indices = indices_override
    values = np.array(values, dtype=d.dtype)
    f = FLAGS[np.dtype(idx_dtype).name]
    return (struct.pack('<Ii', V2, 2) + tshape((len(values),)) + tshape(d.shape) + ctx() + struct.pack('<i', FLAGS[d.dtype.name])
            + struct.pack('<i', f) + tshape((len(indptr),)) + struct.pack('<i', f) + tshape((len(indices),))
            + values.tobytes() + np.array(indptr, dtype=idx_dtype).tobytes() + np.array(indices, dtype=idx_dtype).tobytes())


def ndlist(records, names):
    out = struct.pack('<QQQ', 0x112, 0, len(records)) + b''.join(records)
    out += struct.pack('<Q', len(names))
    for n in names:
        b = n.encode('utf-8')
        out += struct.pack('<Q', len(b)) + b
    return out


def tensor(name, arr, encoding=None, fidelity=None, dtype=None, raw=None):
    t = {'name': name, 'dtype': dtype or ST[arr.dtype.name], 'shape': list(arr.shape),
         'sha256': hashlib.sha256(raw if raw is not None else np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder('<')).tobytes()).hexdigest(),
         'encoding': encoding or {'layout': 'stored'}}
    if fidelity:
        t['fidelity'] = fidelity
    return t


def write(name, data, expected):
    with open(os.path.join(OUT, name), 'wb') as f:
        f.write(data)
    expected = {'format': 'mxnet', 'producer': 'scripts/make-mxnet-fixtures.py (ndarray.cc Save layout), numpy ' + np.__version__, **expected}
    with open(os.path.join(OUT, name + '.expected.json'), 'w') as f:
        json.dump(expected, f, indent=1)
        f.write('\n')


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(13)

    # Every type flag, V2 dense, Module-style names.
    arrays, records, names, tensors = [], [], [], []
    for i, dt in enumerate(FLAGS):
        if dt == 'bool':
            a = rng.integers(0, 2, size=(2, 3)).astype(bool)
        elif dt.startswith('float'):
            a = rng.standard_normal((2, 3)).astype(dt)
            a[0, 0] = np.nan if i % 2 else -0.0
        else:
            info = np.iinfo(dt)
            a = rng.integers(info.min, info.max, size=(2, 3), dtype=dt, endpoint=True)
            a[0, 0] = info.min
            a[0, 1] = info.max
        name = f"{'aux' if i % 3 == 2 else 'arg'}:layer{i}_{dt}"
        records.append(dense(a))
        names.append(name)
        tensors.append(tensor(name, a))
    # bfloat16 (flag 12): numpy has no bfloat16; its bits are the top halves of float32 values.
    f32 = np.array([[1.5, -2.25, np.inf], [0.0, -0.0, 3.0e38]], dtype=np.float32)
    bits = (f32.view(np.uint32) >> 16).astype('<u2')
    records.append(dense(bits, flag=12))
    names.append('arg:bf16_weight')
    tensors.append(tensor('arg:bf16_weight', bits, dtype='BF16'))
    write('all-dtypes-v2.params', ndlist(records, names), {'exercises': 'V2 dense arrays of every type flag (0 to 12), arg:/aux: names kept', 'tensors': tensors})

    # Versions: legacy, V1, V3 (0-d and unknown shape), an empty NDArray, no names.
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    b = np.arange(5, dtype=np.int64) - 2
    s = np.array(7.25, dtype=np.float64)
    e = np.zeros((0, 4), dtype=np.float32)
    records = [dense(a, magic=0), dense(b, magic=V1, dev=(2, 1)), none_v2(), dense(s, magic=V3), none_v3_unknown(), dense(e, magic=V2)]
    write('versions-no-names.nd', ndlist(records, []), {
        'exercises': 'legacy (u32 shape), V1 (int64 shape, a gpu context), an empty V2 NDArray (left out), a V3 0-d array, a V3 array of unknown shape (left out), an empty (0, 4) array; no names: named by position',
        'tensors': [tensor('0', a), tensor('1', b), tensor('3', s), tensor('5', e)]})

    # Sparse: row-sparse (int64 and int32 indices, trailing dims, no stored rows) and CSR (an empty row, NaN).
    d1 = np.zeros((6, 2, 3), dtype=np.float32)
    d1[1] = rng.standard_normal((2, 3))
    d1[2] = rng.standard_normal((2, 3))
    d1[5] = rng.standard_normal((2, 3))
    d2 = np.zeros((4, 3), dtype=np.int32)
    d2[3] = [1, -2, 3]
    d3 = np.zeros((3, 2), dtype=np.float16)
    c1 = np.zeros((4, 5), dtype=np.float64)
    c1[0, 1], c1[0, 4], c1[2, 0], c1[3, 3] = 1.5, np.nan, -2.0, 4.0
    c2 = np.array([[0, 7, 0], [8, 0, 9]], dtype=np.int8)
    records = [row_sparse(d1), row_sparse(d2, np.int32), row_sparse(d3), csr(c1), csr(c2, np.int32)]
    names = ['embed.weight', 'rows_int32', 'all_zero', 'csr_f64', 'csr_int8']
    dec = {'layout': 'decoded', 'decoder': 'sparse-densify'}
    write('sparse.params', ndlist(records, names), {
        'exercises': 'row_sparse (int64 and int32 indices, 3-D, no stored rows) and csr (an empty row, a NaN, int32 indices) densified',
        'tensors': [tensor(n, d, dec, 'lossless') for n, d in zip(names, [d1, d2, d3, c1, c2])]})

    # Refused: row indices out of order; a CSR column out of range; an unknown type flag; a truncated file.
    write('bad-row-order.params', ndlist([row_sparse(d1, rows=[2, 1, 5])], ['w']), {'exercises': 'row-sparse indices not increasing', 'error': 'InvalidMxnet'})
    write('bad-csr-column.params', ndlist([csr(c2, indices_override=[1, 0, 3])], ['w']), {'exercises': 'a CSR column index past the last column', 'error': 'InvalidMxnet'})
    write('bad-type-flag.params', ndlist([dense(a, flag=13)], ['w']), {'exercises': 'type flag 13, which MXNet does not know', 'error': 'InvalidMxnet'})
    good = ndlist([dense(a)], ['w'])
    write('truncated.params', good[:-20], {'exercises': 'a file cut inside the data', 'error': 'InvalidMxnet'})


if __name__ == '__main__':
    main()
