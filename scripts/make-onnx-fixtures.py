#!/usr/bin/python3
"""ONNX fixtures for test/formats.test.ts and test/onnx-external.test.ts, written by python3-onnx's
onnx.helper, each beside <file>.expected.json whose tensors are onnx.numpy_helper.to_array's values
(the reference reader), named as tensorsafe names them (src/formats/onnx/reader.ts).

    /usr/bin/python3 scripts/make-onnx-fixtures.py
"""
import hashlib, json, os, shutil
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures')
OUT = os.path.join(ROOT, 'formats', 'onnx')
EXT = os.path.join(ROOT, 'onnx-external')
PRODUCER = f'python3-onnx {onnx.__version__}'

ST = {TensorProto.FLOAT: 'F32', TensorProto.UINT8: 'U8', TensorProto.INT8: 'I8', TensorProto.UINT16: 'U16',
      TensorProto.INT16: 'I16', TensorProto.INT32: 'I32', TensorProto.INT64: 'I64', TensorProto.BOOL: 'BOOL',
      TensorProto.FLOAT16: 'F16', TensorProto.DOUBLE: 'F64', TensorProto.UINT32: 'U32', TensorProto.UINT64: 'U64',
      TensorProto.COMPLEX64: 'C64', TensorProto.BFLOAT16: 'BF16'}


def reference_bytes(t):
    """to_array's values as little-endian row-major bytes (onnx 1.12 gives BFLOAT16 as float32: its top 16 bits)."""
    if t.data_type == TensorProto.COMPLEX64 and not t.raw_data:
        # onnx 1.12's to_array fails on typed complex64 (it casts the pairs to float32 after joining
        # them): its (real, imaginary) float_data pairs are complex64's bytes.
        return np.array(t.float_data, '<f4').tobytes()
    a = numpy_helper.to_array(t)
    if t.data_type == TensorProto.BFLOAT16:
        a = (np.ascontiguousarray(a, dtype='<f4').view('<u4') >> 16).astype('<u2')
    return np.ascontiguousarray(a).astype(a.dtype.newbyteorder('<')).tobytes()


def expect(name, t, encoding=None):
    e = {'name': name, 'dtype': ST[t.data_type], 'shape': list(t.dims), 'sha256': hashlib.sha256(reference_bytes(t)).hexdigest()}
    if encoding:
        e['encoding'] = encoding
    return e


STORED = {'layout': 'stored'}
DECODED = {'layout': 'decoded', 'decoder': 'onnx-typed-field'}


def typed_encoding(t):
    return STORED if t.data_type in (TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.COMPLEX64) else DECODED


def model(nodes, inits, name='g', outputs=None):
    g = helper.make_graph(nodes, name, [], outputs or [helper.make_tensor_value_info('y', TensorProto.FLOAT, None)], inits)
    return helper.make_model(g, producer_name='tensorsafe-fixtures', opset_imports=[helper.make_opsetid('', 13)])


def write(folder, file, m, exercises, tensors=None, error=None):
    os.makedirs(folder, exist_ok=True)
    onnx.save(m, os.path.join(folder, file))
    e = {'format': 'onnx', 'producer': PRODUCER, 'exercises': exercises}
    if error:
        e['error'] = error
    else:
        e['tensors'] = tensors
    with open(os.path.join(folder, file + '.expected.json'), 'w') as f:
        f.write(json.dumps(e) + '\n')


rng = np.random.default_rng(11)
VALUES = {
    TensorProto.FLOAT: rng.standard_normal((2, 3)).astype(np.float32),
    TensorProto.DOUBLE: rng.standard_normal((3,)),
    TensorProto.FLOAT16: rng.standard_normal((2, 2)).astype(np.float16),
    TensorProto.BFLOAT16: rng.standard_normal((5,)).astype(np.float32),
    TensorProto.INT8: np.array([-128, -1, 0, 1, 127], np.int8),
    TensorProto.UINT8: np.array([0, 1, 200, 255], np.uint8),
    TensorProto.INT16: np.array([[-32768, 5], [7, 32767]], np.int16),
    TensorProto.UINT16: np.array([0, 65535, 12345], np.uint16),
    TensorProto.INT32: np.array([-(2 ** 31), -1, 2 ** 31 - 1], np.int32),
    TensorProto.INT64: np.array([-(2 ** 63), -1, 2 ** 63 - 1, 3], np.int64),
    TensorProto.UINT32: np.array([0, 2 ** 32 - 1, 7], np.uint32),
    TensorProto.UINT64: np.array([0, 2 ** 64 - 1, 9], np.uint64),
    TensorProto.BOOL: np.array([True, False, True], np.bool_),
    TensorProto.COMPLEX64: np.array([1 + 2j, -3.5 - 0.25j], np.complex64),
}


def tensors_of(raw):
    out = []
    for dt, v in VALUES.items():
        name = f'{TensorProto.DataType.Name(dt).lower()}_{"raw" if raw else "typed"}'
        if raw and dt == TensorProto.BFLOAT16:
            t = helper.make_tensor(name, dt, v.shape, ((v.view(np.uint32) >> 16).astype('<u2')).tobytes(), raw=True)
        elif raw:
            t = helper.make_tensor(name, dt, v.shape, v.astype(v.dtype.newbyteorder('<')).tobytes(), raw=True)
        else:
            t = helper.make_tensor(name, dt, v.shape, v.flatten().tolist())
        out.append(t)
    return out


def main():
    for d in (OUT, EXT):
        shutil.rmtree(d, ignore_errors=True)
    raw = tensors_of(True)
    raw.append(helper.make_tensor('scalar_raw', TensorProto.FLOAT, [], np.float32(2.5).tobytes(), raw=True))
    raw.append(helper.make_tensor('empty_raw', TensorProto.FLOAT, [0, 3], b'', raw=True))
    write(OUT, 'raw-data.onnx', model([], raw), 'initializers in raw_data, every dtype python3-onnx writes, a scalar and an empty tensor', [expect(t.name, t, STORED) for t in raw])
    typed = tensors_of(False)
    write(OUT, 'typed-fields.onnx', model([], typed), 'initializers in the typed fields (float_data, int32_data, int64_data, double_data, uint64_data)', [expect(t.name, t, typed_encoding(t)) for t in typed])

    # Constant nodes, If and Loop bodies, nested: names are the path of graph attributes that reach them,
    # in file order (onnx.helper writes a node's attributes sorted by name: else_branch before then_branch).
    w = numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(2, 3), 'w')
    c_value = helper.make_node('Constant', [], ['c_value'], name='c0', value=numpy_helper.from_array(np.array([1, 2], np.int32), 'ignored'))
    c_float = helper.make_node('Constant', [], ['c_float'], value_float=0.5)
    c_floats = helper.make_node('Constant', [], ['c_floats'], value_floats=[1.5, -2.0, 3.25])
    c_int = helper.make_node('Constant', [], ['c_int'], value_int=-7)
    c_ints = helper.make_node('Constant', [], ['c_ints'], value_ints=[1, -2, 2 ** 40])
    inner_init = numpy_helper.from_array(np.array([[1.0, 2.0]], np.float32), 'inner_w')
    inner_if = helper.make_node('If', ['cond'], ['z'], name='inner_if',
                                then_branch=helper.make_graph([helper.make_node('Constant', [], ['z'], value_float=9.0)], 'then2', [], [helper.make_tensor_value_info('z', TensorProto.FLOAT, None)]),
                                else_branch=helper.make_graph([], 'else2', [], [helper.make_tensor_value_info('inner_w', TensorProto.FLOAT, None)], [inner_init]))
    then_w = numpy_helper.from_array(np.array([3, 4, 5], np.int64), 'then_w')
    then_g = helper.make_graph([inner_if], 'then', [], [helper.make_tensor_value_info('z', TensorProto.FLOAT, None)], [then_w])
    else_g = helper.make_graph([helper.make_node('Constant', [], ['e'], name='ec', value=numpy_helper.from_array(np.array([0.25], np.float64), 'x'))], 'else', [], [helper.make_tensor_value_info('e', TensorProto.DOUBLE, None)])
    if_node = helper.make_node('If', ['cond'], ['y'], name='if0', then_branch=then_g, else_branch=else_g)
    body_w = numpy_helper.from_array(np.array([True, False]), 'w')  # the same name as the main graph's: prefixed
    body = helper.make_graph([], 'body', [], [], [body_w])
    loop = helper.make_node('Loop', ['', ''], [], body=body)
    m = model([c_value, c_float, c_floats, c_int, c_ints, if_node, loop], [w])
    f32 = lambda name, v: numpy_helper.from_array(np.array(v, np.float32), name)
    i64 = lambda name, v: numpy_helper.from_array(np.array(v, np.int64), name)
    tensors = [
        expect('w', w, STORED),
        expect('c_value', c_value.attribute[0].t, STORED),
        expect('c_float', f32('c_float', 0.5), STORED),
        expect('c_floats', f32('c_floats', [1.5, -2.0, 3.25]), STORED),
        expect('c_int', i64('c_int', -7), STORED),
        expect('c_ints', i64('c_ints', [1, -2, 2 ** 40]), STORED),
        expect('if0/else_branch/e', else_g.node[0].attribute[0].t, STORED),
        expect('if0/then_branch/then_w', then_w, STORED),
        expect('if0/then_branch/inner_if/else_branch/inner_w', inner_init, STORED),
        expect('if0/then_branch/inner_if/then_branch/z', f32('z', 9.0), STORED),
        expect('Loop#6/body/w', body_w, STORED),
    ]
    write(OUT, 'subgraphs-and-constants.onnx', m, 'Constant nodes (value, value_float(s), value_int(s)), If and Loop bodies, nested; names from the path', tensors)

    s = helper.make_tensor('words', TensorProto.STRING, [2], [b'a', b'b'])
    f = f32('f', [1.0, 2.0])
    write(OUT, 'string-left-out.onnx', model([], [s, f]), 'a STRING initializer is left out; the float one is read', [expect('f', f, STORED)])
    c128 = helper.make_tensor('c', TensorProto.COMPLEX128, [1], [1 + 1j])
    write(OUT, 'complex128.onnx', model([], [c128]), 'COMPLEX128 has no safetensors dtype: refused', error='UnsupportedTensor')
    bad = TensorProto(name='short', data_type=TensorProto.FLOAT, dims=[4], raw_data=b'\0' * 12)
    write(OUT, 'raw-data-too-short.onnx', model([], [bad]), 'raw_data shorter than its dims say', error='InvalidOnnx')

    # FLOAT8: python3-onnx 1.12 predates these types (17-20, 24), so to_array cannot be asked; their
    # elements are single bytes, which onnx >= 1.14's to_array gives as they are (raw_data), or as the
    # low 8 bits of int32_data. The expected bytes are those.
    f8 = []
    f8_expect = []
    for code, st in ((17, 'F8_E4M3'), (18, 'F8_E4M3FNUZ'), (19, 'F8_E5M2'), (20, 'F8_E5M2FNUZ')):
        bits = bytes([0x00, 0x38, 0x7e, 0x80, 0xc4, 0x01])
        raw_t = TensorProto(name=f'{st.lower()}_raw', data_type=code, dims=[2, 3], raw_data=bits)
        typed_t = TensorProto(name=f'{st.lower()}_typed', data_type=code, dims=[6], int32_data=list(bits))
        f8 += [raw_t, typed_t]
        f8_expect += [{'name': raw_t.name, 'dtype': st, 'shape': [2, 3], 'sha256': hashlib.sha256(bits).hexdigest(), 'encoding': STORED},
                      {'name': typed_t.name, 'dtype': st, 'shape': [6], 'sha256': hashlib.sha256(bits).hexdigest(), 'encoding': DECODED}]
    write(OUT, 'float8.onnx', model([], f8), 'FLOAT8E4M3FN/FNUZ and FLOAT8E5M2/FNUZ in raw_data and int32_data keep their dtype (bytes, not from to_array: onnx 1.12 predates them)', f8_expect)

    # INT4 (22), UINT4 (21), FLOAT4E2M1 (23): python3-onnx 1.12 predates them; the TensorProtos are
    # written field by field. Packing (onnx.proto): two elements a byte, element 0 in the low nibble, in
    # raw_data or one packed byte per int32_data value. The expected values are that unpacking done here
    # with numpy (INT4 sign-extended to int8, UINT4 to uint8), as onnx >= 1.16's to_array unpacks them;
    # FLOAT4E2M1 keeps its packed bytes as safetensors' F4 (the same nibble order).
    nib_i4 = np.array([-8, -1, 0, 1, 7, 3, -5], np.int8)   # 7 elements: an odd count, high nibble of the last byte is padding
    nib_u4 = np.array([0, 15, 9, 4, 1, 12], np.uint8)
    def pack4(v):
        u = (v.astype(np.int16) & 0xF).astype(np.uint8)
        if u.size % 2:
            u = np.append(u, np.uint8(0))
        return (u[0::2] | (u[1::2] << 4)).astype(np.uint8)
    def unpack4(packed, n, signed):
        lo, hi = packed & 0xF, packed >> 4
        u = np.stack([lo, hi], axis=1).reshape(-1)[:n].astype(np.int16)
        return (np.where(u >= 8, u - 16, u).astype(np.int8) if signed else u.astype(np.uint8))
    assert (unpack4(pack4(nib_i4), 7, True) == nib_i4).all() and (unpack4(pack4(nib_u4), 6, False) == nib_u4).all()
    i4 = []
    i4_expect = []
    for code, st, v, signed in ((22, 'I8', nib_i4, True), (21, 'U8', nib_u4, False)):
        kind = 'int4' if signed else 'uint4'
        packed = pack4(v)
        ref = unpack4(packed, v.size, signed).tobytes()
        raw_t = TensorProto(name=f'{kind}_raw', data_type=code, dims=[v.size], raw_data=packed.tobytes())
        typed_t = TensorProto(name=f'{kind}_typed', data_type=code, dims=[1, v.size], int32_data=packed.tolist())
        i4 += [raw_t, typed_t]
        i4_expect += [{'name': raw_t.name, 'dtype': st, 'shape': [v.size], 'sha256': hashlib.sha256(ref).hexdigest(), 'encoding': {'layout': 'decoded', 'decoder': 'int4-unpack'}, 'fidelity': 'lossless'},
                      {'name': typed_t.name, 'dtype': st, 'shape': [1, v.size], 'sha256': hashlib.sha256(ref).hexdigest(), 'encoding': {'layout': 'decoded', 'decoder': 'int4-unpack'}, 'fidelity': 'lossless'}]
    f4_bits = bytes([0x21, 0xf7, 0x08])  # six FLOAT4E2M1 elements
    f4_t = TensorProto(name='float4e2m1_raw', data_type=23, dims=[2, 3], raw_data=f4_bits)
    i4.append(f4_t)
    i4_expect.append({'name': f4_t.name, 'dtype': 'F4', 'shape': [2, 3], 'sha256': hashlib.sha256(f4_bits).hexdigest(), 'encoding': STORED})
    write(OUT, 'int4.onnx', model([], i4), 'INT4/UINT4 (raw_data and int32_data, odd count) unpacked to I8/U8; FLOAT4E2M1 kept as F4 (written field by field: onnx 1.12 predates these types)', i4_expect)
    odd_f4 = TensorProto(name='f4_odd', data_type=23, dims=[3], raw_data=bytes([0x21, 0x07]))
    write(OUT, 'float4-odd.onnx', model([], [odd_f4]), 'FLOAT4E2M1 with an odd element count: safetensors F4 holds whole bytes, refused', error='UnsupportedTensor')

    # Sparse initializers (GraphProto.sparse_initializer) and a Constant's sparse_value, COO with
    # [NNZ] linear and [NNZ, rank] indices; onnx.checker accepts the model. The dense values are made
    # here with numpy (zeros, then each value at its index), as onnx's reference densifies them.
    def sparse(name, dense_shape, values, indices):
        v = numpy_helper.from_array(np.asarray(values), name)
        i = numpy_helper.from_array(np.asarray(indices, np.int64), '')
        return helper.make_sparse_tensor(v, i, dense_shape)
    def dense_of(sp):
        vals = numpy_helper.to_array(sp.values)
        idx = numpy_helper.to_array(sp.indices)
        out = np.zeros(list(sp.dims), vals.dtype)
        flat = out.reshape(-1)
        lin = idx if idx.ndim == 1 else np.ravel_multi_index(tuple(idx.T), list(sp.dims))
        flat[lin] = vals
        return out
    sp_linear = sparse('sp_linear', [3, 4], np.array([1.5, -2.0, 7.25], np.float32), [0, 5, 11])
    sp_coo = sparse('sp_coo', [2, 3, 2], np.array([3, -4], np.int64), [[0, 1, 1], [1, 2, 0]])
    sp_const = sparse('ignored', [5], np.array([9, 8], np.int32), [1, 4])
    sp_node = helper.make_node('Constant', [], ['sp_const'], name='spc', sparse_value=sp_const)
    g = helper.make_graph([sp_node], 'g', [], [helper.make_tensor_value_info('sp_const', TensorProto.INT32, [5])], [], sparse_initializer=[sp_linear, sp_coo])
    sm = helper.make_model(g, producer_name='tensorsafe-fixtures', opset_imports=[helper.make_opsetid('', 13)])
    onnx.checker.check_model(sm)
    def dense_expect(name, sp):
        a = dense_of(sp)
        return {'name': name, 'dtype': {np.float32: 'F32', np.int64: 'I64', np.int32: 'I32'}[a.dtype.type], 'shape': list(a.shape),
                'sha256': hashlib.sha256(np.ascontiguousarray(a).astype(a.dtype.newbyteorder('<')).tobytes()).hexdigest(), 'encoding': {'layout': 'decoded', 'decoder': 'sparse-densify'}, 'fidelity': 'lossless'}
    write(OUT, 'sparse.onnx', sm, 'sparse initializers ([NNZ] linear and [NNZ, rank] indices) and a Constant sparse_value densified (zeros elsewhere)',
          [dense_expect('sp_linear', sp_linear), dense_expect('sp_coo', sp_coo), dense_expect('sp_const', sp_const)])
    dup = sparse('dup', [4], np.array([1.0, 2.0], np.float32), [2, 2])
    write(OUT, 'sparse-repeated-index.onnx', helper.make_model(helper.make_graph([], 'g', [], [], [], sparse_initializer=[dup])),
          'a sparse initializer with a repeated index (onnx.checker refuses it): refused', error='InvalidOnnx')
    out_of_range = sparse('oor', [2, 2], np.array([1.0], np.float32), [[0, 2]])
    write(OUT, 'sparse-index-out-of-range.onnx', helper.make_model(helper.make_graph([], 'g', [], [], [], sparse_initializer=[out_of_range])),
          'a sparse initializer with an index outside its dense shape: refused', error='InvalidOnnx')

    # External data in a subfolder (test/onnx-external.test.ts: needs the model's folder).
    ext = [numpy_helper.from_array(rng.standard_normal((4, 8)).astype(np.float32), 'big'), numpy_helper.from_array(np.arange(300, dtype=np.int64), 'ids'), f32('small', [1.0])]
    em = model([], ext)
    os.makedirs(os.path.join(EXT, 'weights'), exist_ok=True)
    onnx.save_model(em, os.path.join(EXT, 'model.onnx'), save_as_external_data=True, all_tensors_to_one_file=True, location='weights/data.bin', size_threshold=64)
    reloaded = onnx.load(os.path.join(EXT, 'model.onnx'))
    with open(os.path.join(EXT, 'model.onnx.expected.json'), 'w') as fh:
        fh.write(json.dumps({'format': 'onnx', 'producer': PRODUCER, 'exercises': 'external data in weights/data.bin (offset, length); a small tensor kept inline',
                             'tensors': [expect(t.name, t, STORED) for t in reloaded.graph.initializer]}) + '\n')

    # External data with a `checksum` (test/onnx-external.test.ts): the SHA-1 hex digest of each
    # tensor's bytes, as onnx.external_data_helper.set_external_data records it; right in checksum-ok,
    # one digit changed in checksum-bad.
    from onnx.external_data_helper import set_external_data
    for folder, spoil in (('checksum-ok', False), ('checksum-bad', True)):
        d = os.path.join(EXT, folder)
        os.makedirs(d, exist_ok=True)
        a = np.arange(12, dtype=np.float32).reshape(3, 4)
        b = np.array([5, -6, 7], np.int64)
        blob = a.tobytes() + b.tobytes()
        with open(os.path.join(d, 'data.bin'), 'wb') as fh:
            fh.write(blob)
        ts = []
        for name, arr, off in (('a', a, 0), ('b', b, a.nbytes)):
            t = TensorProto(name=name, data_type=helper.np_dtype_to_tensor_dtype(arr.dtype) if hasattr(helper, 'np_dtype_to_tensor_dtype') else {np.dtype('float32'): 1, np.dtype('int64'): 7}[arr.dtype], dims=list(arr.shape))
            digest = hashlib.sha1(arr.tobytes()).hexdigest()
            if spoil and name == 'b':
                digest = ('0' if digest[0] != '0' else '1') + digest[1:]
            t.raw_data = arr.tobytes()  # set_external_data wants it; the bytes then live in data.bin only
            set_external_data(t, 'data.bin', offset=off, length=arr.nbytes, checksum=digest)
            t.ClearField('raw_data')
            t.data_location = TensorProto.EXTERNAL
            ts.append(t)
        onnx.save(model([], ts), os.path.join(d, 'model.onnx'))
        ref = [{'name': 'a', 'dtype': 'F32', 'shape': [3, 4], 'sha256': hashlib.sha256(a.tobytes()).hexdigest()},
               {'name': 'b', 'dtype': 'I64', 'shape': [3], 'sha256': hashlib.sha256(b.tobytes()).hexdigest()}]
        with open(os.path.join(d, 'model.onnx.expected.json'), 'w') as fh:
            fh.write(json.dumps({'format': 'onnx', 'producer': PRODUCER, 'exercises': f'external data with a SHA-1 checksum per tensor ({"b wrong" if spoil else "right"})',
                                 'tensors': ref, **({'error': 'ExternalDataChecksum', 'badTensor': 'b'} if spoil else {})}) + '\n')


if __name__ == '__main__':
    main()
