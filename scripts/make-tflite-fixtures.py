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
    sparse = m.tensor(main, 'sparse', 'FLOAT32', [2], np.array([1, 2], np.float32))  # left out: not densified
    main['tensors'][-1]['sparsity'] = {}
    main['tensors'].append({'shape': [2], 'type': 'FLOAT32', 'buffer': 0, 'name': 'elsewhere', 'external_buffer': 1})  # left out
    body = m.subgraph('body')
    m.tensor(body, 'w', 'FLOAT32', [2], np.array([0.5, -0.5], np.float32), out_name='body/w', dtype='F32')
    unnamed = m.subgraph()
    m.tensor(unnamed, 'w', 'INT8', [1], np.array([-7], np.int8), out_name='2/w', dtype='I8')
    compile_model(m.json(), 'types.tflite',
                  'every kept TensorType (INT4 unpacked to I8), per-tensor and per-axis quantization, STRING, sparse and external-buffer tensors left out, an input without data, names: unnamed, taken, subgraphs named and not',
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
    m.tensor(main, 'int4', 'INT4', [2], bytes([0x7f]), quant={'scale': [0.5], 'zero_point': [0]}, out_name='int4', dtype='I8',
             expect=np.array([-1, 7], np.int8), encoding={'layout': 'decoded', 'decoder': 'int4-unpack'})
    compile_model(m.json(), 'dequantize.tflite',
                  'quantized constants per tensor (INT8, UINT8, INT16, INT32 bias) and per axis (INT8 dimension 1, UINT8 dimension 0), a quantized FLOAT32 and INT4, an INT32 whose quantized dimension it lacks; read as stored here, dequantized in test/tflite.test.ts',
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


if __name__ == '__main__':
    os.makedirs(OUT, exist_ok=True)
    types_model()
    offset_model()
    custom_model()
    dequantize_model()
    error_models()
    print('wrote', sorted(os.listdir(OUT)), file=sys.stderr)
