#!/usr/bin/python3
"""TFLite fixtures for test/formats.test.ts and test/tflite.test.ts, made by flatc (Debian
flatbuffers-compiler) from JSON with scripts/tflite-schema-subset.fbs (TensorFlow's schema.fbs layout).

Each model is written as JSON, compiled with `flatc -b`, dumped back with `flatc --json`, and every
buffer of the dump is checked to hold exactly the bytes written; the expected values (.expected.json:
sha256 of each tensor's little-endian bytes as safetensors holds them) come from numpy arrays.
Run: /usr/bin/python3 scripts/make-tflite-fixtures.py
"""
import hashlib, json, os, subprocess, sys, tempfile
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCHEMA = os.path.join(ROOT, 'scripts', 'tflite-schema-subset.fbs')
OUT = os.path.join(ROOT, 'test', 'fixtures', 'formats', 'tflite')
FLATC = subprocess.run(['flatc', '--version'], capture_output=True, text=True, check=True).stdout.strip()


class Model:
    def __init__(self):
        self.buffers = [{}]  # buffer 0: empty, as converters write it
        self.subgraphs = []
        self.expected = []
        self.operator_codes = []

    def buffer(self, data: bytes) -> int:
        self.buffers.append({'data': list(data)})
        return len(self.buffers) - 1

    def subgraph(self, name=None):
        sg = {'tensors': [], 'inputs': [], 'outputs': [], 'operators': []}
        if name is not None:
            sg['name'] = name
        self.subgraphs.append(sg)
        return sg

    def tensor(self, sg, name, ttype, shape, data=None, quant=None, expect=None, out_name=None, dtype=None, encoding=None):
        """`data`: a numpy array stored as it lies (or raw bytes); `expect`: the array safetensors holds, when it differs."""
        t = {'shape': list(shape), 'type': ttype, 'buffer': 0}
        if name is not None:
            t['name'] = name
        if data is not None:
            raw = data if isinstance(data, bytes) else data.astype(data.dtype.newbyteorder('<')).tobytes()
            t['buffer'] = self.buffer(raw)
        if quant is not None:
            t['quantization'] = quant
        sg['tensors'].append(t)
        if dtype is not None:
            held = expect if expect is not None else data
            e = {'name': out_name, 'dtype': dtype, 'shape': list(shape), 'sha256': hashlib.sha256(held.astype(held.dtype.newbyteorder('<')).tobytes()).hexdigest()}
            e['encoding'] = encoding or {'layout': 'stored'}
            if encoding:
                e['fidelity'] = 'lossless'
            self.expected.append(e)

    def json(self):
        return {'version': 3, 'description': 'tensorsafe fixture', 'operator_codes': self.operator_codes, 'subgraphs': self.subgraphs, 'buffers': self.buffers}


def compile_model(model_json, name, exercises, expected=None, error=None, append=None):
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, name.replace('.tflite', '.json'))
        with open(src, 'w') as f:
            json.dump(model_json, f)
        subprocess.run(['flatc', '-b', '-o', tmp, SCHEMA, src], check=True)
        binary = open(os.path.join(tmp, name), 'rb').read()
        # flatc's own reading of what it wrote: every buffer as written.
        subprocess.run(['flatc', '--json', '--raw-binary', '--strict-json', '--defaults-json', '-o', tmp, SCHEMA, '--', os.path.join(tmp, name)], check=True)
        dumped = json.load(open(os.path.join(tmp, name.replace('.tflite', '.json'))))
        for i, (want, got) in enumerate(zip(model_json['buffers'], dumped['buffers'])):
            assert want.get('data', []) == got.get('data', []), f'{name}: buffer {i} does not read back'
        # and every sparse tensor's traversal order, block map and index vectors as written.
        for sg_want, sg_got in zip(model_json['subgraphs'], dumped['subgraphs']):
            for t_want, t_got in zip(sg_want['tensors'], sg_got['tensors']):
                if 'sparsity' not in t_want:
                    continue
                sw, sg = t_want['sparsity'], t_got['sparsity']
                assert sw['traversal_order'] == sg['traversal_order'] and sw.get('block_map', []) == sg.get('block_map', []), f'{name}: {t_want["name"]} order'
                for dw, dg in zip(sw['dim_metadata'], sg['dim_metadata']):
                    for field in ('array_segments', 'array_indices'):
                        if field in dw:
                            assert dw[field]['values'] == dg[field]['values'] and dw[field + '_type'] == dg[field + '_type'], f'{name}: {t_want["name"]} {field}'
    if append is not None:
        binary = append(binary)
    with open(os.path.join(OUT, name), 'wb') as f:
        f.write(binary)
    exp = {'format': 'tflite', 'producer': FLATC, 'exercises': exercises}
    if error is not None:
        exp['error'] = error
    else:
        exp['tensors'] = expected
    with open(os.path.join(OUT, name + '.expected.json'), 'w') as f:
        json.dump(exp, f, indent=1)
        f.write('\n')


def types_model():
    m = Model()
    main = m.subgraph('main')
    rng = np.random.default_rng(12)
    f32 = rng.standard_normal((2, 3)).astype(np.float32)
    m.tensor(main, 'input', 'FLOAT32', [1, 3])  # an input: no constant data, not a tensor of the set
    m.tensor(main, 'dense/kernel', 'FLOAT32', [2, 3], f32, out_name='dense/kernel', dtype='F32')
    m.tensor(main, 'f16', 'FLOAT16', [4], rng.standard_normal(4).astype(np.float16), out_name='f16', dtype='F16')
    m.tensor(main, 'f64', 'FLOAT64', [2], np.array([1.5, -2.25]), out_name='f64', dtype='F64')
    m.tensor(main, 'i8', 'INT8', [5], np.array([-128, -1, 0, 1, 127], np.int8),
             quant={'scale': [0.0625], 'zero_point': [-3]}, out_name='i8', dtype='I8')
    m.tensor(main, 'i16', 'INT16', [3], np.array([-32768, 7, 32767], np.int16), out_name='i16', dtype='I16')
    m.tensor(main, 'i32', 'INT32', [2, 2], np.array([[1, -2], [2**31 - 1, -2**31]], np.int32), out_name='i32', dtype='I32')
    m.tensor(main, 'i64', 'INT64', [3], np.array([2**62, -1, 5], np.int64), out_name='i64', dtype='I64')
    m.tensor(main, 'u8_per_axis', 'UINT8', [2, 2], np.array([[0, 255], [128, 7]], np.uint8),
             quant={'scale': [0.5, 0.25], 'zero_point': [1, 2], 'quantized_dimension': 0}, out_name='u8_per_axis', dtype='U8')
    m.tensor(main, 'u16', 'UINT16', [2], np.array([65535, 1], np.uint16), out_name='u16', dtype='U16')
    m.tensor(main, 'u32', 'UINT32', [2], np.array([2**32 - 1, 3], np.uint32), out_name='u32', dtype='U32')
    m.tensor(main, 'u64', 'UINT64', [2], np.array([2**64 - 1, 9], np.uint64), out_name='u64', dtype='U64')
    m.tensor(main, 'bool', 'BOOL', [4], np.array([1, 0, 0, 1], np.uint8), out_name='bool', dtype='BOOL')
    m.tensor(main, 'c64', 'COMPLEX64', [2], np.array([1 + 2j, -3.5j], np.complex64), out_name='c64', dtype='C64')
    # INT4: two a byte, low nibble first; 5 elements in 3 bytes (the last high nibble is padding).
    int4 = np.array([-8, 7, -1, 0, 3], np.int8)
    nib = [(int(a) & 15) | ((int(b) & 15) << 4) for a, b in zip(int4[0::2], list(int4[1::2]) + [0])]
    m.tensor(main, 'int4', 'INT4', [5], bytes(nib), out_name='int4', dtype='I8', expect=int4,
             encoding={'layout': 'decoded', 'decoder': 'int4-unpack'})
    m.tensor(main, 'strings', 'STRING', [1], bytes([1, 0, 0, 0, 12, 0, 0, 0, 13, 0, 0, 0, 120]))  # left out
    m.tensor(main, None, 'INT32', [1], np.array([42], np.int32), out_name='#16', dtype='I32')  # no name: its index
    m.tensor(main, 'i8', 'INT8', [1], np.array([5], np.int8), out_name='i8#2', dtype='I8')  # a name taken
    main['tensors'].append({'shape': [2], 'type': 'FLOAT32', 'buffer': 0, 'name': 'elsewhere', 'external_buffer': 1})  # left out
    body = m.subgraph('body')
    m.tensor(body, 'w', 'FLOAT32', [2], np.array([0.5, -0.5], np.float32), out_name='body/w', dtype='F32')
    unnamed = m.subgraph()
    m.tensor(unnamed, 'w', 'INT8', [1], np.array([-7], np.int8), out_name='2/w', dtype='I8')
    compile_model(m.json(), 'types.tflite',
                  'every kept TensorType (INT4 unpacked to I8), per-tensor and per-axis quantization, STRING and external-buffer tensors left out, an input without data, names: unnamed, taken, subgraphs named and not',
                  m.expected)


def offset_model():
    """The >2 GB extension, small: a buffer whose bytes follow the FlatBuffer, at `offset`/`size` from the file start."""
    m = Model()
    main = m.subgraph('main')
    outside = np.arange(6, dtype=np.float32).reshape(2, 3) / 4
    inline = np.array([3, 1, 4], np.int16)
    main['tensors'].append({'shape': [2, 3], 'type': 'FLOAT32', 'buffer': 1, 'name': 'outside'})
    m.buffers.append({'offset': 0, 'size': outside.nbytes})
    m.expected.append({'name': 'outside', 'dtype': 'F32', 'shape': [2, 3], 'sha256': hashlib.sha256(outside.tobytes()).hexdigest(), 'encoding': {'layout': 'stored'}})
    m.tensor(main, 'inline', 'INT16', [3], inline, out_name='inline', dtype='I16')
    doc = m.json()
    # flatc lays out a ulong in 8 bytes whatever its value: compile once to learn the size, then place the data after it.
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, 'probe.json')
        doc['buffers'][1]['offset'] = 2**40
        json.dump(doc, open(src, 'w'))
        subprocess.run(['flatc', '-b', '-o', tmp, SCHEMA, src], check=True)
        size = os.path.getsize(os.path.join(tmp, 'probe.tflite'))
    start = (size + 15) // 16 * 16
    doc['buffers'][1]['offset'] = start

    def append(binary):
        assert len(binary) == size, 'the FlatBuffer changed size with the offset'
        return binary + bytes(start - size) + outside.tobytes()

    compile_model(doc, 'offset-buffer.tflite', 'a buffer placed by offset/size from the file start (the extension for models over 2 GB) beside an inline one', m.expected, append=append)


def custom_model():
    """Custom operators as Vela leaves them: an `ethos-u` operator whose constant inputs (command stream,
    flash) are its private data; a constant it shares with a builtin ADD is kept; a nameless CUSTOM
    code counts as any other operator."""
    m = Model()
    m.operator_codes = [{'deprecated_builtin_code': 32, 'custom_code': 'ethos-u', 'builtin_code': 32},
                        {'deprecated_builtin_code': 0, 'builtin_code': 0},
                        {'deprecated_builtin_code': 32, 'builtin_code': 32}]
    main = m.subgraph('main')
    m.tensor(main, 'input', 'INT8', [1, 4])
    m.tensor(main, 'command_stream', 'UINT8', [6], np.array([1, 2, 3, 4, 5, 6], np.uint8))  # left out
    m.tensor(main, 'flash', 'UINT8', [4], np.array([9, 8, 7, 6], np.uint8))  # left out
    shared = np.array([1, -1, 2, -2], np.int8)
    m.tensor(main, 'shared', 'INT8', [4], shared, quant={'scale': [0.5], 'zero_point': [0]}, out_name='shared', dtype='I8')
    nameless = np.array([0.25, 4], np.float32)
    m.tensor(main, 'nameless_custom_input', 'FLOAT32', [2], nameless, out_name='nameless_custom_input', dtype='F32')
    m.tensor(main, 'output', 'INT8', [1, 4])
    main['operators'] = [
        {'opcode_index': 0, 'inputs': [0, 1, 2, 3, -1], 'outputs': [5]},
        {'opcode_index': 1, 'inputs': [5, 3], 'outputs': [5]},
        {'opcode_index': 2, 'inputs': [4], 'outputs': [5]},
    ]
    main['inputs'], main['outputs'] = [0], [5]
    compile_model(m.json(), 'custom-op.tflite',
                  'constant inputs only a custom operator (ethos-u) reads left out as its opaque data; one it shares with a builtin operator kept; a nameless CUSTOM operator\'s input kept',
                  m.expected)


def dequantize_tensor_tflite(q, scale, zero_point, axis=None):
    """TFLite's DEQUANTIZE (tensorflow/lite/kernels/internal/reference/dequantize.h) in numpy: per tensor
    `static_cast<float>(double(scale) * (q - zero_point))`; per axis `float scale[c] * float(q - zero_point[c])`."""
    diff = q.astype(np.int64)
    if axis is None:
        return (np.float64(np.float32(scale[0])) * (diff - zero_point[0])).astype(np.float32)
    shape = [1] * q.ndim
    shape[axis] = -1
    s = np.array(scale, np.float32).reshape(shape)
    z = np.array(zero_point, np.int64).reshape(shape)
    return (s * (diff - z).astype(np.float32)).astype(np.float32)


def dequantize_model():
    """Quantized constants for --dequantize: per tensor INT8, UINT8, INT16, INT32 (a bias whose values need
    the float64 product); per axis INT8 (dimension 1) and UINT8 (dimension 0); a FLOAT32 and an INT4 kept.
    INT4 per tensor and per axis (dimension 0, 15 elements: an odd count, the last high nibble padding).
    The expected F32 values go to test/fixtures/tflite-dequantized.json."""
    m = Model()
    main = m.subgraph('main')
    rng = np.random.default_rng(7)
    dq = {}

    def quantized(name, ttype, q, scale, zero_point, axis=None):
        quant = {'scale': scale, 'zero_point': zero_point}
        if axis is not None:
            quant['quantized_dimension'] = axis
        dtype = {'INT8': 'I8', 'UINT8': 'U8', 'INT16': 'I16', 'INT32': 'I32'}[ttype]
        m.tensor(main, name, ttype, list(q.shape), q, quant=quant, out_name=name, dtype=dtype)
        v = dequantize_tensor_tflite(q, scale, zero_point, axis)
        dq[name] = {'dtype': 'F32', 'shape': list(q.shape), 'sha256': hashlib.sha256(v.astype('<f4').tobytes()).hexdigest(),
                    'values': [float(x) for x in v.reshape(-1)]}
        return v

    f32 = lambda x: float(np.float32(x))
    quantized('i8', 'INT8', rng.integers(-128, 128, (3, 5), dtype=np.int8), [f32(0.0123456)], [-3])
    quantized('u8', 'UINT8', np.arange(256, dtype=np.uint8).reshape(16, 16), [f32(0.00392157)], [128])
    quantized('i16', 'INT16', np.array([-32768, -1, 0, 1, 12345, 32767], np.int16), [f32(3.0517578e-05 * 1.1)], [0])
    bias = np.array([2**31 - 1, -2**31 + 1, 16777217, -16777219, 123456789, 0, 7], np.int32)
    v = quantized('bias', 'INT32', bias, [f32(1.1e-4)], [0])
    # The per-tensor product is float64: for this bias, a float32 product would give other values.
    assert not np.array_equal(v, dequantize_tensor_tflite(bias, [f32(1.1e-4)], [0], axis=0)), 'the fixture cannot tell the two formulas apart'
    quantized('i8_axis1', 'INT8', rng.integers(-128, 128, (2, 3, 4), dtype=np.int8), [f32(0.1), f32(0.0271), f32(1.7e-3)], [0, 5, -7], axis=1)
    quantized('u8_axis0', 'UINT8', rng.integers(0, 256, (2, 3), dtype=np.uint8), [f32(0.5), f32(0.0123)], [1, 200], axis=0)
    # Per-axis scales for a dimension the tensor does not have (as old converters wrote biases): kept as stored.
    m.tensor(main, 'odd_axis', 'INT32', [2], np.array([5, -5], np.int32), quant={'scale': [0.5, 0.25], 'zero_point': [0, 0], 'quantized_dimension': 3}, out_name='odd_axis', dtype='I32')
    m.tensor(main, 'f32', 'FLOAT32', [2], np.array([1.5, -2], np.float32), quant={'scale': [0.5], 'zero_point': [0]}, out_name='f32', dtype='F32')

    def int4(name, q, scale, zero_point, axis=None):
        """INT4 packed two a byte, low nibble first; TFLite's DEQUANTIZE unpacks it to int8 and dequantizes that."""
        flat = q.reshape(-1)
        pairs = list(flat) + [0] * (len(flat) % 2)
        packed = bytes((int(a) & 15) | ((int(b) & 15) << 4) for a, b in zip(pairs[0::2], pairs[1::2]))
        quant = {'scale': scale, 'zero_point': zero_point}
        if axis is not None:
            quant['quantized_dimension'] = axis
        m.tensor(main, name, 'INT4', list(q.shape), packed, quant=quant, out_name=name, dtype='I8', expect=q,
                 encoding={'layout': 'decoded', 'decoder': 'int4-unpack'})
        v = dequantize_tensor_tflite(q, scale, zero_point, axis)
        dq[name] = {'dtype': 'F32', 'shape': list(q.shape), 'sha256': hashlib.sha256(v.astype('<f4').tobytes()).hexdigest(),
                    'values': [float(x) for x in v.reshape(-1)]}

    int4('int4', np.array([-1, 7, -8, 3, 0], np.int8), [f32(0.5)], [0])
    int4('int4_axis0', rng.integers(-8, 8, (3, 5), dtype=np.int8), [f32(0.25), f32(0.0371), f32(1.3)], [0, -2, 5], axis=0)
    compile_model(m.json(), 'dequantize.tflite',
                  'quantized constants per tensor (INT8, UINT8, INT16, INT32 bias, INT4) and per axis (INT8 dimension 1, UINT8 dimension 0, INT4 dimension 0), a quantized FLOAT32, an INT32 whose quantized dimension it lacks; read as stored here, dequantized in test/tflite.test.ts',
                  m.expected)
    with open(os.path.join(ROOT, 'test', 'fixtures', 'tflite-dequantized.json'), 'w') as f:
        json.dump({'producer': f'numpy {np.__version__}, TFLite reference dequantize formulas in float32/float64', 'tensors': dq}, f, indent=1)
        f.write('\n')


def error_models():
    m = Model()
    main = m.subgraph('main')
    m.tensor(main, 'short', 'FLOAT32', [3], np.array([1, 2], np.float32))
    compile_model(m.json(), 'size-mismatch.tflite', 'a FLOAT32 [3] tensor whose buffer holds 8 bytes', error='InvalidTflite')
    m = Model()
    main = m.subgraph('main')
    main['tensors'].append({'shape': [1], 'type': 'INT8', 'buffer': 9, 'name': 'nowhere'})
    compile_model(m.json(), 'buffer-index.tflite', 'a tensor naming buffer 9 of 1', error='InvalidTflite')
    m = Model()
    main = m.subgraph('main')
    main['tensors'].append({'shape': [1], 'type': 'INT8', 'buffer': 1, 'name': 'past'})
    m.buffers.append({'offset': 4096, 'size': 1})
    compile_model(m.json(), 'offset-past-end.tflite', 'a buffer whose offset/size lie past the end of the file', error='InvalidTflite')


# --- Sparse tensors -------------------------------------------------------------------------------------
# TFLite's SparsityParameters (schema.fbs comments): a tensor of rank n with a k-dimensional block
# (block_map: which original dimensions are blocked) is seen as n + k dimensions, a blocked dimension
# counting its blocks and dimension n + b being the index inside block b; traversal_order orders them
# (its first n a permutation of 0..n-1, its last k of n..n+k-1); dim_metadata[p] describes the p-th
# dimension traversed: DENSE (every index, dense_size of them) or SPARSE_CSR (array_segments and
# array_indices: the children of the i-th node of the level above are indices[segments[i]:segments[i+1]]);
# the buffer holds the leaves' values in traversal order.
# flatc cannot prove a densified value (it only reads the vectors back, which compile_model checks); the
# expected dense values are the numpy arrays the fixtures start from. `sparsify` encodes one with numpy
# array operations, and `densify_reference`, a separate per-element walk over the tree written from the
# comments above, must give the array back before anything is written.

INDEX_TYPES = {'Int32Vector': np.int32, 'Uint16Vector': np.uint16, 'Uint8Vector': np.uint8}


def sparsify(dense, traversal_order, block_map=(), block_sizes=(), formats=None, index_types=None):
    """The SparsityParameters and the stored values of `dense`: a SPARSE_CSR level keeps a node only when
    its subtree holds a nonzero (as TFLite's DenseToSparse does); a DENSE level keeps every index."""
    n, k = dense.ndim, len(block_map)
    rank = n + k
    split, axis_of = [], {}
    for d in range(n):
        if d in block_map:
            b = block_map.index(d)
            split += [dense.shape[d] // block_sizes[b], block_sizes[b]]
            axis_of[d], axis_of[n + b] = len(split) - 2, len(split) - 1
        else:
            split.append(dense.shape[d])
            axis_of[d] = len(split) - 1
    expanded = dense.reshape(split).transpose([axis_of[e] for e in traversal_order])
    nonzero = expanded != 0
    exists = np.ones((), bool)
    dims = []
    for level in range(rank):
        size = expanded.shape[level]
        below = nonzero.any(axis=tuple(range(level + 1, rank))) if level + 1 < rank else nonzero
        if formats[level] == 'DENSE':
            kept = np.broadcast_to(exists[..., None], expanded.shape[:level + 1]).copy()
            dims.append({'format': 'DENSE', 'dense_size': size})
        else:
            kept = exists[..., None] & below
            per_parent = kept.reshape(-1, size)[exists.reshape(-1)].sum(axis=1)
            segments = np.concatenate([[0], np.cumsum(per_parent)]).astype(np.int64)
            indices = np.argwhere(kept)[:, -1]
            t = index_types[level]
            assert segments.max(initial=0) <= np.iinfo(INDEX_TYPES[t]).max
            dims.append({'format': 'SPARSE_CSR',
                         'array_segments_type': t, 'array_segments': {'values': [int(x) for x in segments]},
                         'array_indices_type': t, 'array_indices': {'values': [int(x) for x in indices]}})
        exists = kept
    sparsity = {'traversal_order': list(traversal_order), 'dim_metadata': dims}
    if k:
        sparsity['block_map'] = list(block_map)
    return sparsity, expanded[exists]


def densify_reference(shape, sparsity, values):
    """The dense tensor a SparsityParameters describes, walking its tree one element at a time."""
    order, dims = sparsity['traversal_order'], sparsity['dim_metadata']
    block_map = sparsity.get('block_map', [])
    n = len(shape)
    block = {b: dims[order.index(n + b)]['dense_size'] for b in range(len(block_map))}
    out = np.zeros(shape, values.dtype)
    taken = []

    def walk(level, node, coordinate):
        if level == len(order):
            at = []
            for d in range(n):
                i = coordinate[d]
                if d in block_map:
                    b = block_map.index(d)
                    i = i * block[b] + coordinate[n + b]
                at.append(i)
            out[tuple(at)] = values[len(taken)]
            taken.append(tuple(at))
            return
        meta = dims[level]
        if meta['format'] == 'DENSE':
            for i in range(meta['dense_size']):
                walk(level + 1, node * meta['dense_size'] + i, {**coordinate, order[level]: i})
        else:
            segments, indices = meta['array_segments']['values'], meta['array_indices']['values']
            for e in range(segments[node], segments[node + 1]):
                walk(level + 1, e, {**coordinate, order[level]: indices[e]})

    walk(0, 0, {})
    assert len(taken) == len(values) and len(set(taken)) == len(taken), 'every stored value lands once'
    return out


def sparse_model():
    """Sparse tensors TFLite densifies: CSR 2-D, block-sparse 1x4 (INT8, quantized per axis) and 4x4 in 2-D,
    a 3-D with a permuted traversal order, a 4-D with two blocked dimensions and mixed DENSE/SPARSE_CSR
    levels, an 8-byte type; each index vector type; a sparse INT4 tensor (left out)."""
    m = Model()
    main = m.subgraph('main')
    rng = np.random.default_rng(2024)
    dq = {}

    def masked(shape, dtype, keep=0.45, values=None):
        v = values if values is not None else rng.standard_normal(shape) * 4
        return np.where(rng.random(shape) < keep, v, 0).astype(dtype)

    def sparse(name, ttype, dtype_out, dense, quant=None, **encoding):
        sp, stored = sparsify(dense, **encoding)
        again = densify_reference(list(dense.shape), sp, stored)
        assert again.dtype == dense.dtype and again.tobytes() == dense.tobytes(), f'{name}: the reference densifier does not give the array back'
        t = {'shape': list(dense.shape), 'type': ttype, 'buffer': m.buffer(stored.astype(stored.dtype.newbyteorder('<')).tobytes()), 'name': name, 'sparsity': sp}
        if quant is not None:
            t['quantization'] = quant
        main['tensors'].append(t)
        m.expected.append({'name': name, 'dtype': dtype_out, 'shape': list(dense.shape), 'sha256': hashlib.sha256(dense.astype(dense.dtype.newbyteorder('<')).tobytes()).hexdigest(),
                           'encoding': {'layout': 'decoded', 'decoder': 'sparse-densify'}, 'fidelity': 'lossless'})
        return t

    csr = masked((5, 7), np.float32)
    csr[2] = 0  # an empty row: an empty segment
    csr[0, 0] = np.float32('nan')  # a NaN is a stored value, copied bit for bit
    sparse('csr_2d', 'FLOAT32', 'F32', csr, traversal_order=[0, 1], formats=['DENSE', 'SPARSE_CSR'], index_types=[None, 'Int32Vector'])

    # 1x4 blocks (TFLite's sparse FULLY_CONNECTED weights): dimension 1 in blocks of 4, zero blocks left out.
    b14 = rng.integers(-128, 128, (4, 16), dtype=np.int8)
    for r, c in [(0, 1), (0, 3), (1, 0), (2, 2), (3, 0), (3, 1), (3, 3)]:
        b14[r, 4 * c:4 * c + 4] = 0
    b14[1, 5] = 0  # a zero inside a stored block stays stored
    q14 = {'scale': [float(np.float32(x)) for x in (0.02, 0.5, 0.0123, 1.5)], 'zero_point': [0, 3, -2, 0], 'quantized_dimension': 0}
    sparse('block_1x4', 'INT8', 'I8', b14, quant=q14, traversal_order=[0, 1, 2], block_map=[1], block_sizes=[4],
           formats=['DENSE', 'SPARSE_CSR', 'DENSE'], index_types=[None, 'Uint8Vector', None])
    v = dequantize_tensor_tflite(b14, q14['scale'], q14['zero_point'], axis=0)
    dq['block_1x4'] = {'dtype': 'F32', 'shape': list(b14.shape), 'sha256': hashlib.sha256(v.astype('<f4').tobytes()).hexdigest(), 'values': [float(x) for x in v.reshape(-1)]}

    # 4x4 blocks in both dimensions, FLOAT16.
    b44 = rng.standard_normal((8, 12)).astype(np.float16)
    for r, c in [(0, 1), (1, 0), (1, 2)]:
        b44[4 * r:4 * r + 4, 4 * c:4 * c + 4] = 0
    sparse('block_4x4', 'FLOAT16', 'F16', b44, traversal_order=[0, 1, 2, 3], block_map=[0, 1], block_sizes=[4, 4],
           formats=['DENSE', 'SPARSE_CSR', 'DENSE', 'DENSE'], index_types=[None, 'Uint16Vector', None, None])

    # 3-D traversed last dimension first, two SPARSE_CSR levels with different index types.
    sparse('permuted_3d', 'INT32', 'I32', masked((3, 4, 5), np.int32, 0.3, rng.integers(-2**31, 2**31, (3, 4, 5))),
           traversal_order=[2, 0, 1], formats=['DENSE', 'SPARSE_CSR', 'SPARSE_CSR'], index_types=[None, 'Uint16Vector', 'Int32Vector'])

    # 4-D, dimensions 1 and 3 in blocks of 2, block dimensions traversed in swapped order; sparse outermost.
    d4 = masked((2, 4, 3, 6), np.float32, 0.35)
    d4[1] = 0  # a whole slice empty: the outermost sparse level skips it
    sparse('blocked_4d', 'FLOAT32', 'F32', d4, traversal_order=[0, 3, 1, 2, 5, 4], block_map=[1, 3], block_sizes=[2, 2],
           formats=['SPARSE_CSR', 'DENSE', 'SPARSE_CSR', 'DENSE', 'DENSE', 'DENSE'], index_types=['Uint8Vector', None, 'Uint16Vector', None, None, None])

    sparse('c64', 'COMPLEX64', 'C64', masked((3, 3), np.complex64, 0.5, rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3))),
           traversal_order=[1, 0], formats=['DENSE', 'SPARSE_CSR'], index_types=[None, 'Uint8Vector'])

    # INT4 with sparsity: left out (packed 4-bit values are not densified).
    main['tensors'].append({'shape': [2, 2], 'type': 'INT4', 'buffer': m.buffer(bytes([0x21])), 'name': 'int4_sparse',
                            'sparsity': {'traversal_order': [0, 1], 'dim_metadata': [
                                {'format': 'DENSE', 'dense_size': 2},
                                {'format': 'SPARSE_CSR', 'array_segments_type': 'Uint8Vector', 'array_segments': {'values': [0, 1, 2]},
                                 'array_indices_type': 'Uint8Vector', 'array_indices': {'values': [0, 1]}}]}})
    compile_model(m.json(), 'sparse.tflite',
                  'sparse tensors densified: CSR 2-D (an empty row, a NaN), block-sparse 1x4 INT8 (quantized per axis) and 4x4 FLOAT16, a 3-D with a permuted traversal order, a 4-D with two blocked dimensions and mixed DENSE/SPARSE_CSR levels, COMPLEX64; Int32Vector, Uint16Vector and Uint8Vector indices; a sparse INT4 tensor left out',
                  m.expected)
    with open(os.path.join(ROOT, 'test', 'fixtures', 'tflite-sparse-dequantized.json'), 'w') as f:
        json.dump({'producer': f'numpy {np.__version__}, the dense array dequantized with the TFLite reference formulas', 'tensors': dq}, f, indent=1)
        f.write('\n')

    # Refused: segments that decrease, an index outside its dimension.
    for name, exercise, edit in [
        ('sparse-unsorted.tflite', 'a SPARSE_CSR dimension whose segments decrease', lambda d: d.__setitem__('array_segments', {'values': [0, 2, 1, 3]})),
        ('sparse-index-range.tflite', 'a SPARSE_CSR index outside its dimension', lambda d: d.__setitem__('array_indices', {'values': [0, 3, 1]})),
    ]:
        m = Model()
        main = m.subgraph('main')
        sp, stored = sparsify(np.array([[1, 2, 0], [0, 0, 0], [0, 5, 0]], np.float32), traversal_order=[0, 1], formats=['DENSE', 'SPARSE_CSR'], index_types=[None, 'Int32Vector'])
        assert sp['dim_metadata'][1]['array_segments']['values'] == [0, 2, 2, 3]
        edit(sp['dim_metadata'][1])
        main['tensors'].append({'shape': [3, 3], 'type': 'FLOAT32', 'buffer': m.buffer(stored.tobytes()), 'name': 'bad', 'sparsity': sp})
        compile_model(m.json(), name, exercise, error='InvalidTflite')
    # A few index entries describing a 16 GiB dense tensor: refused by MAX_TFLITE_SPARSE_DENSE_BYTES before anything is built.
    m = Model()
    main = m.subgraph('main')
    main['tensors'].append({'shape': [65536, 65536], 'type': 'FLOAT32', 'buffer': m.buffer(np.array([1], np.float32).tobytes()), 'name': 'huge', 'sparsity': {
        'traversal_order': [0, 1], 'dim_metadata': [
            {'format': 'SPARSE_CSR', 'array_segments_type': 'Int32Vector', 'array_segments': {'values': [0, 1]}, 'array_indices_type': 'Int32Vector', 'array_indices': {'values': [7]}},
            {'format': 'SPARSE_CSR', 'array_segments_type': 'Int32Vector', 'array_segments': {'values': [0, 1]}, 'array_indices_type': 'Int32Vector', 'array_indices': {'values': [9]}}]}})
    compile_model(m.json(), 'sparse-dense-limit.tflite', 'a sparse tensor of one value whose dense shape is 16 GiB', error='TfliteLimit')


if __name__ == '__main__':
    os.makedirs(OUT, exist_ok=True)
    types_model()
    offset_model()
    custom_model()
    dequantize_model()
    error_models()
    sparse_model()
    print('wrote', sorted(os.listdir(OUT)), file=sys.stderr)
