#!/usr/bin/python3
"""Core ML fixtures for test/formats.test.ts and test/coreml.test.ts.

Models are protobuf messages made with the Python classes protoc generates from Core ML's public .proto
files (apple/coremltools mlmodel/format, BSD-3-Clause, Copyright (c) 2017 Apple Inc.: not copied here;
pass the folder that holds them). Weight files are written as coremltools' MILBlob StorageWriter lays
them out (mlmodel/src/MILBlob/Blob/StorageWriter.cpp, StorageFormat.hpp): a 64-byte storage_header
(count, version 2), then per blob a 64-byte blob_metadata at the next 64-aligned offset (sentinel
0xDEADBEEF, BlobDataType, sizeInBytes, data offset, padding_size_in_bits) and its data; sub-byte values
packed LSB first (SubByteTypes.cpp PackSubByteVec). Neural network n-bit weights are packed MSB first as
coremltools' quantization_utils `_convert_array_to_nbit_quantized_bytes` packs them. Expected values are
numpy arrays: compressed MIL weights as coremltools' numpy `decompress` functions compute them, written
here from their definitions in float32/float16 numpy arithmetic.

Run: /usr/bin/python3 scripts/make-coreml-fixtures.py <coremltools checkout>/mlmodel/format
"""
import hashlib
import json
import os
import shutil
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import coreml_protos  # noqa: E402

P = coreml_protos.load(coreml_protos.proto_dir_from_argv())
M, MIL, NN, FT = P['Model'], P['MIL'], P['NeuralNetwork'], P['FeatureTypes']
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'formats', 'coreml')
EXTRA = os.path.join(ROOT, 'test', 'fixtures', 'coreml')
PRODUCER = 'protoc (python3-protobuf) from coremltools mlmodel/format/*.proto; weight files as MILBlob StorageWriter'
rng = np.random.default_rng(13)

for d in (OUT, EXTRA):
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)


def sha(a):
    return hashlib.sha256(a.tobytes() if isinstance(a, np.ndarray) else a).hexdigest()


def expect(name, dtype, shape, data, encoding=None, fidelity=None):
    e = {'name': name, 'dtype': dtype, 'shape': [int(x) for x in shape], 'sha256': sha(data), 'encoding': encoding or {'layout': 'stored'}}
    if fidelity:
        e['fidelity'] = fidelity
    return e


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as fh:
        fh.write(data)


def fixture(name, data, exercises, tensors=None, error=None, folder=OUT):
    write(os.path.join(folder, name), data)
    e = {'format': 'coreml', 'producer': PRODUCER, 'exercises': exercises}
    if error:
        e['error'] = error
    else:
        e['tensors'] = tensors
    with open(os.path.join(folder, name + '.expected.json'), 'w') as fh:
        json.dump(e, fh, indent=1)
        fh.write('\n')


def description(model):
    i = model.description.input.add()
    i.name = 'x'
    i.type.multiArrayType.shape.extend([1, 3])
    i.type.multiArrayType.dataType = FT.ArrayFeatureType.FLOAT32
    o = model.description.output.add()
    o.name = 'y'
    o.type.multiArrayType.shape.extend([1, 2])
    o.type.multiArrayType.dataType = FT.ArrayFeatureType.FLOAT32


# ------------------------------------------------------------------ neural networks

def f32(shape):
    return rng.standard_normal(shape).astype(np.float32)


def set_floats(wp, a):
    wp.floatValue.extend(a.flatten().tolist())


def nbit_msb(values, nbits):
    """Packs uint8 values in nbits each, most significant bit first (quantization_utils)."""
    bits = []
    for v in values:
        for i in reversed(range(nbits)):
            bits.append((int(v) >> i) & 1)
    while len(bits) % 8:
        bits.append(0)
    return bytes(int(''.join(map(str, bits[i:i + 8])), 2) for i in range(0, len(bits), 8))


def nn_weights():
    m = M.Model(specificationVersion=4)
    description(m)
    net = m.neuralNetwork
    ex = []

    conv = net.layers.add(name='conv1')
    conv.convolution.outputChannels = 2
    conv.convolution.kernelChannels = 3
    conv.convolution.kernelSize.extend([2, 2])
    conv.convolution.hasBias = True
    w = f32((2, 3, 2, 2))
    set_floats(conv.convolution.weights, w)
    b = np.array([0.5, -1.25], np.float16)
    conv.convolution.bias.float16Value = b.tobytes()
    ex += [expect('conv1.weights', 'F32', w.shape, w), expect('conv1.bias', 'F16', b.shape, b)]

    de = net.layers.add(name='deconv')
    de.convolution.outputChannels = 4
    de.convolution.kernelChannels = 2
    de.convolution.nGroups = 2
    de.convolution.kernelSize.extend([1, 2])
    de.convolution.isDeconvolution = True
    w = f32((2, 2, 1, 2))
    set_floats(de.convolution.weights, w)
    ex.append(expect('deconv.weights', 'F32', w.shape, w))

    fc = net.layers.add(name='fc')
    fc.innerProduct.inputChannels = 3
    fc.innerProduct.outputChannels = 2
    fc.innerProduct.hasBias = True
    w, b = f32((2, 3)), f32((2,))
    set_floats(fc.innerProduct.weights, w)
    set_floats(fc.innerProduct.bias, b)
    ex += [expect('fc.weights', 'F32', w.shape, w), expect('fc.bias', 'F32', b.shape, b)]

    bn = net.layers.add(name='bn')
    bn.batchnorm.channels = 3
    for field in ('gamma', 'beta', 'mean', 'variance'):
        a = f32((3,))
        set_floats(getattr(bn.batchnorm, field), a)
        ex.append(expect(f'bn.{field}', 'F32', a.shape, a))

    emb = net.layers.add(name='emb')
    emb.embedding.inputDim = 4
    emb.embedding.outputChannels = 2
    w = rng.standard_normal((2, 4)).astype(np.float16)
    emb.embedding.weights.float16Value = w.tobytes()
    ex.append(expect('emb.weights', 'F16', w.shape, w))

    end = net.layers.add(name='embnd')
    end.embeddingND.vocabSize = 3
    end.embeddingND.embeddingSize = 2
    w = f32((2, 3))
    set_floats(end.embeddingND.weights, w)
    ex.append(expect('embnd.weights', 'F32', w.shape, w))

    bmm = net.layers.add(name='bmm')
    bmm.batchedMatmul.weightMatrixFirstDimension = 2
    bmm.batchedMatmul.weightMatrixSecondDimension = 3
    w = f32((3, 2))
    set_floats(bmm.batchedMatmul.weights, w)
    ex.append(expect('bmm.weights', 'F32', w.shape, w))

    act = net.layers.add(name='act')
    a = f32((3,))
    set_floats(act.activation.PReLU.alpha, a)
    ex.append(expect('act.PReLU.alpha', 'F32', a.shape, a))

    lstm = net.layers.add(name='lstm')
    lstm.uniDirectionalLSTM.inputVectorSize = 2
    lstm.uniDirectionalLSTM.outputVectorSize = 1
    lstm.uniDirectionalLSTM.activations.add().sigmoid.SetInParent()
    for field in ('inputGateWeightMatrix', 'forgetGateWeightMatrix', 'inputGateBiasVector'):
        a = f32((2,) if 'Matrix' in field else (1,))
        set_floats(getattr(lstm.uniDirectionalLSTM.weightParams, field), a)
        ex.append(expect(f'lstm.weightParams.{field}', 'F32', a.shape, a))

    loop = net.layers.add(name='loop')
    inner = loop.loop.bodyNetwork.layers.add(name='inner')
    inner.innerProduct.inputChannels = 2
    inner.innerProduct.outputChannels = 1
    w = f32((1, 2))
    set_floats(inner.innerProduct.weights, w)
    ex.append(expect('inner.weights', 'F32', w.shape, w))

    sc = net.layers.add(name='scale')
    sc.scale.shapeScale.extend([2])
    sc.scale.scale.rawValue = b'\x01\x02'  # no quantization: Core ML reads no values from it (left out)

    dup = net.layers.add(name='bn')  # a second layer of the same name
    dup.batchnorm.channels = 1
    a = f32((1,))
    set_floats(dup.batchnorm.gamma, a)
    ex.append(expect('bn.gamma#2', 'F32', a.shape, a))

    data = m.SerializeToString(deterministic=True)
    fixture('nn-weights.mlmodel', data, 'a NeuralNetwork: floatValue, float16Value, shapes of convolution, deconvolution, innerProduct, embedding, embeddingND, batchedMatmul, batchnorm weights; nested PReLU and LSTM weights; a loop body; an unquantized rawValue (left out); a repeated layer name', ex)
    fixture('truncated.mlmodel', data[: len(data) * 2 // 3], 'nn-weights.mlmodel cut at two thirds', error='InvalidCoreml')

    two = M.Model(specificationVersion=4)
    description(two)
    l = two.neuralNetwork.layers.add(name='both')
    l.innerProduct.inputChannels = 1
    l.innerProduct.outputChannels = 1
    l.innerProduct.weights.floatValue.append(1.0)
    l.innerProduct.weights.float16Value = np.array([1], np.float16).tobytes()
    fixture('nn-two-kinds.mlmodel', two.SerializeToString(deterministic=True), 'a WeightParams with both floatValue and float16Value (Core ML refuses it)', error='InvalidCoreml')

    cu = M.Model(specificationVersion=4)
    description(cu)
    l = cu.neuralNetwork.layers.add(name='mine')
    l.custom.className = 'MyCustomLayer'
    a, b2 = f32((3,)), f32((2,))
    set_floats(l.custom.weights.add(), a)
    set_floats(l.custom.weights.add(), b2)
    fixture('nn-custom.mlmodel', cu.SerializeToString(deterministic=True), 'a custom layer (scan: coreml/custom-layer) with two weights', [expect('mine.weights.0', 'F32', a.shape, a), expect('mine.weights.1', 'F32', b2.shape, b2)])


def nn_quant():
    m = M.Model(specificationVersion=4)
    description(m)
    net = m.neuralNetwork
    ex = []
    deq = {}

    def linear(name, nbits, per_channel=True, shape=(3, 4), deconv=False):
        l = net.layers.add(name=name)
        if deconv:
            c = l.convolution
            c.outputChannels, c.kernelChannels, c.nGroups = shape[1], shape[0], 1
            c.kernelSize.extend([shape[2], shape[3]])
            c.isDeconvolution = True
            wp, axis = c.weights, 1
        else:
            l.innerProduct.outputChannels, l.innerProduct.inputChannels = shape
            wp, axis = l.innerProduct.weights, 0
        q = rng.integers(0, 2 ** nbits, size=shape, dtype=np.uint8)
        channels = shape[axis] if per_channel else 1
        scale = rng.uniform(0.01, 0.5, channels).astype(np.float32)
        bias = rng.uniform(-1, 1, channels).astype(np.float32)
        wp.quantization.numberOfBits = nbits
        wp.quantization.linearQuantization.scale.extend(scale.tolist())
        wp.quantization.linearQuantization.bias.extend(bias.tolist())
        wp.rawValue = q.tobytes() if nbits == 8 else nbit_msb(q.flatten(), nbits)
        ex.append(expect(f'{name}.weights', 'U8', shape, q, None if nbits == 8 else {'layout': 'decoded', 'decoder': f'uint{nbits}-unpack'}, None if nbits == 8 else 'lossless'))
        # coremltools' _dequantize_linear: float64 q * scale + bias per channel, stored as float32.
        bshape = [1] * len(shape)
        bshape[axis] = channels
        s64 = np.array(scale.tolist()).reshape(bshape)
        b64 = np.array(bias.tolist()).reshape(bshape)
        deq[f'{name}.weights'] = (q.astype('float') * s64 + b64).astype(np.float32)

    def lut(name, nbits, shape=(2, 5)):
        l = net.layers.add(name=name)
        l.innerProduct.outputChannels, l.innerProduct.inputChannels = shape
        wp = l.innerProduct.weights
        q = rng.integers(0, 2 ** nbits, size=shape, dtype=np.uint8)
        table = rng.standard_normal(2 ** nbits).astype(np.float32)
        wp.quantization.numberOfBits = nbits
        wp.quantization.lookupTableQuantization.floatValue.extend(table.tolist())
        wp.rawValue = q.tobytes() if nbits == 8 else nbit_msb(q.flatten(), nbits)
        ex.append(expect(f'{name}.weights', 'U8', shape, q, None if nbits == 8 else {'layout': 'decoded', 'decoder': f'uint{nbits}-unpack'}, None if nbits == 8 else 'lossless'))
        deq[f'{name}.weights'] = table[q]

    linear('lin8', 8)
    linear('lin8s', 8, per_channel=False)
    for n in range(1, 8):
        linear(f'lin{n}', n)
    linear('lin3odd', 3, shape=(3, 3))
    linear('deconv4', 4, shape=(2, 3, 1, 2), deconv=True)
    for n in (1, 2, 5, 8):
        lut(f'lut{n}', n)

    # A GRU's weight matrix [o_size, i_size] quantized per output channel (coremltools' shape for it);
    # tensorsafe does not derive recurrent layers' shapes: a 1-D weight, its channels the rows.
    l = net.layers.add(name='gru')
    l.gru.inputVectorSize, l.gru.outputVectorSize = 3, 2
    q = rng.integers(0, 16, size=(2, 3), dtype=np.uint8)
    scale = rng.uniform(0.01, 0.5, 2).astype(np.float32)
    bias = rng.uniform(-1, 1, 2).astype(np.float32)
    wp = l.gru.updateGateWeightMatrix
    wp.quantization.numberOfBits = 4
    wp.quantization.linearQuantization.scale.extend(scale.tolist())
    wp.quantization.linearQuantization.bias.extend(bias.tolist())
    wp.rawValue = nbit_msb(q.flatten(), 4)
    ex.append(expect('gru.updateGateWeightMatrix', 'U8', (6,), q.flatten(), {'layout': 'decoded', 'decoder': 'uint4-unpack'}, 'lossless'))
    deq['gru.updateGateWeightMatrix'] = (q.astype('float') * np.array(scale.tolist()).reshape(2, 1) + np.array(bias.tolist()).reshape(2, 1)).astype(np.float32).flatten()

    l = net.layers.add(name='int8')
    l.innerProduct.outputChannels, l.innerProduct.inputChannels = 2, 3
    l.innerProduct.int8DynamicQuantize = True
    q = rng.integers(-128, 128, size=(2, 3), dtype=np.int8)
    l.innerProduct.weights.int8RawValue = q.tobytes()
    l.innerProduct.weights.quantization.numberOfBits = 8
    l.innerProduct.weights.quantization.linearQuantization.scale.append(0.125)
    ex.append(expect('int8.weights', 'I8', q.shape, q))
    deq['int8.weights'] = (q.astype('float') * 0.125).astype(np.float32)

    fixture('nn-quant.mlmodel', m.SerializeToString(deterministic=True), 'quantized WeightParams: linear 1 to 8 bits per channel (and one scale), a deconvolution per channel on axis 1, lookup tables of 1, 2, 5 and 8 bits, int8RawValue; read as stored, dequantized in test/coreml.test.ts', ex)
    with open(os.path.join(EXTRA, 'nn-quant.dequantized.json'), 'w') as fh:
        json.dump({k: {'shape': list(v.shape), 'sha256': sha(v)} for k, v in deq.items()}, fh, indent=1)
        fh.write('\n')

    bad = M.Model(specificationVersion=4)
    description(bad)
    l = bad.neuralNetwork.layers.add(name='lut')
    l.innerProduct.outputChannels, l.innerProduct.inputChannels = 1, 4
    l.innerProduct.weights.quantization.numberOfBits = 2
    l.innerProduct.weights.quantization.lookupTableQuantization.floatValue.extend([1.0, 2.0])
    l.innerProduct.weights.rawValue = b'\xff'
    fixture('nn-lut-short.mlmodel', bad.SerializeToString(deterministic=True), 'a 2-bit lookup table of 2 values (4 needed)', error='InvalidCoreml')


def pipeline():
    m = M.Model(specificationVersion=4)
    description(m)
    pipe = m.pipelineClassifier.pipeline
    ex = []
    a = pipe.models.add(specificationVersion=4)
    l = a.neuralNetwork.layers.add(name='dense')
    l.innerProduct.inputChannels, l.innerProduct.outputChannels = 3, 2
    w = f32((2, 3))
    set_floats(l.innerProduct.weights, w)
    ex.append(expect('0.dense.weights', 'F32', w.shape, w))
    g = pipe.models.add(specificationVersion=4)
    g.glmRegressor.offset.append(1.0)
    c = pipe.models.add(specificationVersion=4)
    l = c.neuralNetworkClassifier.layers.add(name='dense')
    l.innerProduct.inputChannels, l.innerProduct.outputChannels = 2, 2
    w = f32((2, 2))
    set_floats(l.innerProduct.weights, w)
    c.neuralNetworkClassifier.stringClassLabels.vector.extend(['a', 'b'])
    ex.append(expect('2.dense.weights', 'F32', w.shape, w))
    r = pipe.models.add(specificationVersion=4)
    inner = r.pipelineRegressor.pipeline.models.add(specificationVersion=4)
    l = inner.neuralNetworkRegressor.layers.add(name='head')
    l.innerProduct.inputChannels, l.innerProduct.outputChannels = 2, 1
    w = f32((1, 2))
    set_floats(l.innerProduct.weights, w)
    ex.append(expect('3.0.head.weights', 'F32', w.shape, w))
    fixture('pipeline.mlmodel', m.SerializeToString(deterministic=True), 'a pipeline classifier of a NeuralNetwork, a GLM regressor (left out), a NeuralNetworkClassifier and a nested pipeline regressor, two layers of the same name told apart by their model index', ex)


# ------------------------------------------------------------------ ML programs

MILDT = {'bool': 1, 'string': 2, 'fp8e4m3fn': 40, 'fp8e5m2': 41, 'fp16': 10, 'fp32': 11, 'fp64': 12, 'bf16': 13, 'int8': 21, 'int16': 22, 'int32': 23, 'int64': 24,
         'int4': 25, 'uint8': 31, 'uint16': 32, 'uint32': 33, 'uint64': 34, 'uint4': 35, 'uint2': 36, 'uint1': 37, 'uint6': 38, 'uint3': 39}
BLOBDT = {'fp16': 1, 'fp32': 2, 'uint8': 3, 'int8': 4, 'bf16': 5, 'int16': 6, 'uint16': 7, 'int4': 8, 'uint1': 9, 'uint2': 10, 'uint4': 11, 'uint3': 12, 'uint6': 13,
          'int32': 14, 'uint32': 15, 'fp8e4m3fn': 16, 'fp8e5m2': 17}
SUBBITS = {'int4': 4, 'uint1': 1, 'uint2': 2, 'uint3': 3, 'uint4': 4, 'uint6': 6}
SAFE = {'fp16': 'F16', 'fp32': 'F32', 'fp64': 'F64', 'bf16': 'BF16', 'int8': 'I8', 'int16': 'I16', 'int32': 'I32', 'int64': 'I64', 'uint8': 'U8', 'uint16': 'U16',
        'uint32': 'U32', 'uint64': 'U64', 'bool': 'BOOL', 'fp8e4m3fn': 'F8_E4M3', 'fp8e5m2': 'F8_E5M2', 'int4': 'I8', 'uint1': 'U8', 'uint2': 'U8', 'uint3': 'U8', 'uint4': 'U8', 'uint6': 'U8'}


def pack_lsb(values, nbits):
    """Sub-byte values packed LSB first (MILBlob PackSubByteVec; coremltools pack_elements_into_bits)."""
    u = np.asarray(values).astype(np.int64) & ((1 << nbits) - 1)
    bits = ((u[:, None] >> np.arange(nbits)) & 1).astype(np.uint8).flatten()
    return np.packbits(bits, bitorder='little').tobytes()


class BlobWriter:
    def __init__(self):
        self.data = bytearray(64)
        self.count = 0

    def write(self, dt, raw, n=None):
        meta = (len(self.data) + 63) // 64 * 64
        self.data += b'\0' * (meta - len(self.data))
        pad = 0
        if dt in SUBBITS and n is not None and (n * SUBBITS[dt]) % 8:
            pad = 8 - (n * SUBBITS[dt]) % 8
        md = np.zeros(8, np.uint64)
        head = np.array([0xDEADBEEF, BLOBDT[dt]], np.uint32).tobytes()
        md_bytes = head + np.array([len(raw), meta + 64, pad, 0, 0, 0, 0], np.uint64).tobytes()
        assert len(md_bytes) == 64 and md is not None
        self.data += md_bytes + raw
        self.count += 1
        return meta

    def bytes(self):
        out = bytearray(self.data)
        out[0:8] = np.array([self.count, 2], np.uint32).tobytes()
        return bytes(out)


def ttype(dt, shape):
    t = MIL.ValueType()
    t.tensorType.dataType = MILDT[dt]
    t.tensorType.rank = len(shape)
    for d in shape:
        t.tensorType.dimensions.add().constant.size = int(d)
    return t


def scalar_string(s):
    v = MIL.Value(type=ttype('string', []))
    v.immediateValue.tensor.strings.values.append(s.encode())
    return v


def blob_value(dt, shape, file, offset):
    v = MIL.Value(type=ttype(dt, shape))
    v.blobFileValue.fileName = file
    v.blobFileValue.offset = offset
    return v


def immediate(dt, shape, arr):
    """A TensorValue as coremltools' helper.py create_tensor_value writes it."""
    v = MIL.Value(type=ttype(dt, shape))
    t = v.immediateValue.tensor
    flat = np.asarray(arr).flatten()
    if dt in ('fp16', 'int8', 'uint8', 'uint32') or dt in SUBBITS:
        t.bytes.values = pack_lsb(flat, SUBBITS[dt]) if dt in SUBBITS else np.asarray(arr).tobytes()
    elif dt == 'fp32':
        t.floats.values.extend(flat.tolist())
    elif dt == 'fp64':
        t.doubles.values.extend(flat.tolist())
    elif dt in ('int32', 'int16', 'uint16'):
        t.ints.values.extend(int(x) for x in flat)
    elif dt in ('int64', 'uint64'):
        t.longInts.values.extend(int(x) for x in flat)
    elif dt == 'bool':
        t.bools.values.extend(bool(x) for x in flat)
    elif dt == 'string':
        t.strings.values.extend(x.encode() for x in flat)
    return v


class Program:
    def __init__(self, weights='@model_path/weights/weight.bin'):
        self.ops = []
        self.blob = BlobWriter()
        self.file = weights
        self.expected = []

    def const(self, name, value):
        op = MIL.Operation(type='const')
        op.attributes['name'].CopyFrom(scalar_string(name))
        op.attributes['val'].CopyFrom(value)
        op.outputs.add(name=name).type.CopyFrom(value.type)
        self.ops.append(op)

    def blob_const(self, name, dt, arr, stored_as=None, expect_as=None, encoding=None, fidelity=None):
        arr = np.asarray(arr)
        raw = pack_lsb(arr.flatten(), SUBBITS[dt]) if dt in SUBBITS else (stored_as if stored_as is not None else arr.tobytes())
        off = self.blob.write(dt, raw, arr.size)
        self.const(name, blob_value(dt, arr.shape, self.file, off))
        held = expect_as if expect_as is not None else arr
        if dt in SUBBITS:
            held = arr.astype(np.int8 if dt == 'int4' else np.uint8)
            encoding, fidelity = {'layout': 'decoded', 'decoder': f'{dt}-unpack'}, 'lossless'
        self.expected.append(expect(name, SAFE[dt], arr.shape, held, encoding, fidelity))
        return off

    def op(self, type, name, out_dt, out_shape, attributes=None, inputs=None):
        op = MIL.Operation(type=type)
        op.attributes['name'].CopyFrom(scalar_string(name))
        for k, v in (attributes or {}).items():
            op.attributes[k].CopyFrom(v)
        for k, v in (inputs or {}).items():
            b = op.inputs[k].arguments.add()
            if isinstance(v, str):
                b.name = v
            else:
                b.value.CopyFrom(v)
        op.outputs.add(name=name).type.CopyFrom(ttype(out_dt, out_shape))
        self.ops.append(op)

    def model(self, opset='CoreML7'):
        m = M.Model(specificationVersion=8)
        description(m)
        f = m.mlProgram.functions['main']
        f.opset = opset
        b = f.block_specializations[opset]
        b.operations.extend(self.ops)
        b.outputs.append('y')
        m.mlProgram.version = 1
        return m.SerializeToString(deterministic=True)


def prog_types():
    p = Program('@model_path/weights/types.bin')
    p.blob_const('w_fp16', 'fp16', rng.standard_normal((4, 3)).astype(np.float16))
    p.blob_const('w_fp32', 'fp32', f32((2, 3, 2)))
    p.blob_const('w_uint8', 'uint8', rng.integers(0, 256, (10,), dtype=np.uint8))
    p.blob_const('w_int8', 'int8', rng.integers(-128, 128, (5, 2), dtype=np.int8))
    bf = rng.integers(0, 2 ** 16, (6,), dtype=np.uint16)
    bf[(bf & 0x7f80) == 0x7f80] = 0x3f80  # no NaN or inf patterns needed
    p.blob_const('w_bf16', 'bf16', bf.view(np.uint16), expect_as=bf)
    p.blob_const('w_int16', 'int16', rng.integers(-2 ** 15, 2 ** 15, (3, 4), dtype=np.int16))
    p.blob_const('w_uint16', 'uint16', rng.integers(0, 2 ** 16, (12,), dtype=np.uint16))
    p.blob_const('w_int32', 'int32', rng.integers(-2 ** 31, 2 ** 31, (2, 5), dtype=np.int32))
    p.blob_const('w_uint32', 'uint32', rng.integers(0, 2 ** 32, (11,), dtype=np.uint32))
    p.blob_const('w_fp8e4m3', 'fp8e4m3fn', rng.integers(0, 256, (7,), dtype=np.uint8))
    p.blob_const('w_fp8e5m2', 'fp8e5m2', rng.integers(0, 256, (9,), dtype=np.uint8))
    p.blob_const('w_int4', 'int4', rng.integers(-8, 8, (3, 5), dtype=np.int8))
    for dt, bits in (('uint1', 1), ('uint2', 2), ('uint3', 3), ('uint4', 4), ('uint6', 6)):
        p.blob_const(f'w_{dt}', dt, rng.integers(0, 2 ** bits, (13,), dtype=np.uint8))
    p.blob_const('w_uint3_2d', 'uint3', rng.integers(0, 8, (3, 7), dtype=np.uint8))

    def imm(name, dt, arr, npdt=None, encoding=None, fidelity=None):
        arr = np.asarray(arr)
        p.const(name, immediate(dt, arr.shape, arr))
        held = arr.astype(npdt) if npdt is not None else arr
        if dt in SUBBITS:
            encoding, fidelity = {'layout': 'decoded', 'decoder': f'{dt}-unpack'}, 'lossless'
        p.expected.append(expect(name, SAFE[dt], arr.shape, held, encoding, fidelity))

    imm('i_fp32', 'fp32', f32((2, 2)))
    imm('i_fp32_scalar', 'fp32', np.float32(0.75))
    imm('i_fp16', 'fp16', rng.standard_normal((3,)).astype(np.float16))
    imm('i_int32', 'int32', np.array([1, -2, 2 ** 31 - 1, -2 ** 31], np.int32))
    imm('i_int16', 'int16', np.array([-32768, 5, 32767], np.int16))
    imm('i_uint16', 'uint16', np.array([0, 65535, 7], np.uint16))
    imm('i_int8', 'int8', np.array([-128, 0, 127], np.int8))
    imm('i_uint8', 'uint8', np.array([[0, 255], [3, 4]], np.uint8))
    imm('i_uint32', 'uint32', np.array([4294967295, 1], np.uint32))
    imm('i_int64', 'int64', np.array([-(2 ** 63), 2 ** 63 - 1, 5], np.int64))
    imm('i_fp64', 'fp64', np.array([1e300, -0.5]))
    imm('i_bool', 'bool', np.array([True, False, True]), np.uint8)
    imm('i_int4', 'int4', np.array([-8, 7, -1, 0, 3], np.int8))
    imm('i_uint6', 'uint6', np.array([63, 0, 17], np.uint8))
    p.const('i_string', immediate('string', [2], np.array(['a', 'b'])))
    write(os.path.join(OUT, 'weights', 'types.bin'), p.blob.bytes())
    fixture('prog-types.mlmodel', p.model(), 'an ML program: const blobs of every blob dtype (fp16, fp32, uint8, int8, bf16, int16, uint16, int32, uint32, fp8 e4m3fn and e5m2, int4, uint1/2/3/4/6 unpacked) in weights/types.bin, and immediate values of every TensorValue field (a string one left out)', p.expected)
    return p


def promote(param, rank, axis):
    if param.ndim == rank:
        return param
    if param.ndim == 0:
        return param.reshape([1] * rank)
    shape = [1] * rank
    shape[axis] = param.shape[0]
    return param.reshape(shape)


def repeat_as(param, shape):
    for a, d in enumerate(shape):
        if param.shape[a] != d:
            param = np.repeat(param, d // param.shape[a], axis=a)
    return param


def prog_constexpr():
    p = Program('@model_path/weights/constexpr.bin')
    f = p.file
    ex = []
    values = {}

    def bv(dt, arr):
        arr = np.asarray(arr)
        raw = pack_lsb(arr.flatten(), SUBBITS[dt]) if dt in SUBBITS else arr.tobytes()
        return blob_value(dt, arr.shape, f, p.blob.write(dt, raw, arr.size))

    # iOS16 constexpr_affine_dequantize: parameters as attributes.
    for name, qdt, sdt, axis, shape in (('affine_fp16', 'uint8', 'fp16', 0, (4, 3)), ('affine_fp32', 'int8', 'fp32', 1, (2, 5)), ('affine_scalar', 'uint8', 'fp32', 0, (12,))):
        npq = np.uint8 if qdt == 'uint8' else np.int8
        q = rng.integers(0, 256, shape).astype(npq) if qdt == 'uint8' else rng.integers(-128, 128, shape).astype(npq)
        n = shape[axis] if name != 'affine_scalar' else None
        zp = (rng.integers(0, 256, n).astype(npq) if qdt == 'uint8' else rng.integers(-128, 128, n).astype(npq)) if n else np.array(128, npq)
        sc = (rng.uniform(0.001, 0.1, n) if n else np.array(0.03)).astype(np.float16 if sdt == 'fp16' else np.float32)
        attrs = {'quantized_data': bv(qdt, q), 'zero_point': immediate(qdt, zp.shape, zp), 'scale': immediate(sdt, sc.shape, sc), 'axis': immediate('int32', [], np.int32(axis))}
        p.op('constexpr_affine_dequantize', name, sdt, shape, attributes=attrs)
        d = q.astype(np.float32)
        d -= promote(zp, q.ndim, axis).astype(np.float32)
        d *= promote(sc, q.ndim, axis)
        out = d.astype(sc.dtype)
        values[name] = out
        ex.append(expect(name, 'F16' if sdt == 'fp16' else 'F32', shape, out, {'layout': 'decoded', 'decoder': 'constexpr_affine_dequantize'}, 'derived'))

    # iOS16 constexpr_lut_to_dense: indices packed in uint8 bytes, LSB first, and a shape.
    for name, nbits, ldt, shape in (('lut16_4bit', 4, 'fp16', (3, 5)), ('lut16_2bit', 2, 'fp32', (7,)), ('lut16_6bit', 6, 'fp16', (2, 3))):
        idx = rng.integers(0, 2 ** nbits, int(np.prod(shape)), dtype=np.uint8)
        lut = rng.standard_normal(2 ** nbits).astype(np.float16 if ldt == 'fp16' else np.float32)
        packed = np.frombuffer(pack_lsb(idx, nbits), np.uint8)
        attrs = {'indices': bv('uint8', packed) if packed.size >= 10 else immediate('uint8', packed.shape, packed), 'lut': immediate(ldt, lut.shape, lut), 'shape': immediate('uint32', [len(shape)], np.array(shape, np.uint32))}
        p.op('constexpr_lut_to_dense', name, ldt, shape, attributes=attrs)
        ex.append(expect(name, 'F16' if ldt == 'fp16' else 'F32', shape, lut[idx].reshape(shape), {'layout': 'decoded', 'decoder': 'constexpr_lut_to_dense'}, 'lossless'))

    # iOS16 constexpr_sparse_to_dense: a uint8 mask (bits LSB first) and a shape.
    shape = (3, 7)
    bits = (rng.random(21) < 0.4).astype(np.uint8)
    nz = rng.standard_normal(int(bits.sum())).astype(np.float16)
    mask = np.packbits(bits, bitorder='little')
    p.op('constexpr_sparse_to_dense', 'sparse16', 'fp16', shape, attributes={'nonzero_data': immediate('fp16', nz.shape, nz), 'mask': immediate('uint8', mask.shape, mask), 'shape': immediate('uint32', [2], np.array(shape, np.uint32))})
    dense = np.zeros(21, np.float16)
    dense[np.where(bits != 0)] = nz
    ex.append(expect('sparse16', 'F16', shape, dense.reshape(shape), {'layout': 'decoded', 'decoder': 'constexpr_sparse_to_dense'}, 'lossless'))

    # constexpr_cast fp16 -> fp32
    src = rng.standard_normal((2, 2)).astype(np.float16)
    p.op('constexpr_cast', 'cast16', 'fp32', (2, 2), attributes={'source_val': immediate('fp16', src.shape, src), 'output_dtype': scalar_string('fp32')})
    ex.append(expect('cast16', 'F32', (2, 2), src.astype(np.float32), {'layout': 'decoded', 'decoder': 'constexpr_cast'}, 'lossless'))

    # iOS18 constexpr_blockwise_shift_scale: parameters as inputs (values bound directly).
    for name, ddt, sdt, shape, sshape, with_offset in (
        ('blockwise_int4_fp16', 'int4', 'fp16', (4, 6), (2, 3), True),
        ('blockwise_uint8_fp32', 'uint8', 'fp32', (3, 8), (3, 2), False),
        ('blockwise_int8_fp16_offset16', 'int8', 'fp16', (2, 4), (1, 2), 'float'),
    ):
        lo, hi = {'int4': (-8, 8), 'uint8': (0, 256), 'int8': (-128, 128)}[ddt]
        npd = np.uint8 if ddt == 'uint8' else np.int8
        data = rng.integers(lo, hi, shape).astype(npd)
        npf = np.float16 if sdt == 'fp16' else np.float32
        scale = rng.uniform(0.001, 0.2, sshape).astype(npf)
        inputs = {'data': bv(ddt, data) if data.size >= 10 else immediate(ddt, data.shape, data), 'scale': immediate(sdt, scale.shape, scale)}
        offset = None
        if with_offset == 'float':
            offset = rng.uniform(-3, 3, sshape).astype(npf)
            inputs['offset'] = immediate(sdt, offset.shape, offset)
        elif with_offset:
            offset = rng.integers(lo, hi, sshape).astype(npd)
            inputs['offset'] = immediate(ddt, offset.shape, offset)
        p.op('constexpr_blockwise_shift_scale', name, sdt, shape, inputs=inputs)
        d = data.astype(scale.dtype)
        s = repeat_as(scale, shape)
        if offset is not None:
            d = d - repeat_as(offset, shape)
        out = s * d
        assert out.dtype == npf
        ex.append(expect(name, 'F16' if sdt == 'fp16' else 'F32', shape, out, {'layout': 'decoded', 'decoder': 'constexpr_blockwise_shift_scale'}, 'derived'))

    # iOS18 constexpr_lut_to_dense: typed sub-byte indices, one table per block.
    shape = (4, 6)
    idx = rng.integers(0, 8, shape, dtype=np.uint8)
    lut = rng.standard_normal((2, 1, 8, 1)).astype(np.float16)
    p.op('constexpr_lut_to_dense', 'lut18_uint3', 'fp16', shape, inputs={'indices': bv('uint3', idx), 'lut': immediate('fp16', lut.shape, lut)})
    rep = repeat_as(lut, shape).reshape(24, 8, 1)
    out = rep[np.arange(24), idx.flatten().astype(np.int32)].reshape(shape)
    ex.append(expect('lut18_uint3', 'F16', shape, out, {'layout': 'decoded', 'decoder': 'constexpr_lut_to_dense'}, 'lossless'))

    # iOS18 constexpr_sparse_to_dense: a uint1 mask of the output's shape.
    shape = (5, 4)
    m = (rng.random(shape) < 0.5).astype(np.uint8)
    nz = f32((int(m.sum()),))
    p.op('constexpr_sparse_to_dense', 'sparse18', 'fp32', shape, inputs={'nonzero_data': immediate('fp32', nz.shape, nz), 'mask': bv('uint1', m)})
    dense = np.zeros_like(m, dtype=np.float32)
    dense[m != 0] = nz
    ex.append(expect('sparse18', 'F32', shape, dense, {'layout': 'decoded', 'decoder': 'constexpr_sparse_to_dense'}, 'lossless'))

    # A chain: constexpr_cast of an affine-dequantized fp16 constant, bound by name (iOS18 style).
    p.op('constexpr_cast', 'cast_of_affine', 'fp32', (4, 3), inputs={'source_val': 'affine_fp16'})
    ex.append(expect('cast_of_affine', 'F32', (4, 3), values['affine_fp16'].astype(np.float32), {'layout': 'decoded', 'decoder': 'constexpr_cast'}, 'derived'))

    # iOS18 joint compression: constexpr_lut_to_sparse and constexpr_sparse_blockwise_shift_scale (two
    # outputs each: the mask and the nonzero values) read by constexpr_sparse_to_dense, by name.
    def two_outputs(type, names, dts, shapes, inputs):
        op = MIL.Operation(type=type)
        op.attributes['name'].CopyFrom(scalar_string(names[1]))
        for k, v in inputs.items():
            op.inputs[k].arguments.add().value.CopyFrom(v)
        for n, dt, sh in zip(names, dts, shapes):
            op.outputs.add(name=n).type.CopyFrom(ttype(dt, sh))
        p.ops.append(op)

    shape = (4, 6)
    mask = (rng.random(shape) < 0.5).astype(np.uint8)
    k = int(mask.sum())
    nzi = rng.integers(0, 4, k, dtype=np.uint8)
    lut = rng.standard_normal((1, 1, 4, 1)).astype(np.float16)
    two_outputs('constexpr_lut_to_sparse', ['ls_mask', 'ls_nonzero'], ['uint1', 'fp16'], [shape, (k,)], {'indices_mask': bv('uint1', mask), 'indices_nonzero_data': immediate('uint2', nzi.shape, nzi), 'lut': immediate('fp16', lut.shape, lut)})
    p.op('constexpr_sparse_to_dense', 'lut_sparse_dense', 'fp16', shape, inputs={'nonzero_data': 'ls_nonzero', 'mask': 'ls_mask'})
    indices = np.zeros(shape, np.uint8)
    indices[mask != 0] = nzi
    looked = lut.reshape(4)[indices]
    out = np.zeros(shape, np.float16)
    out[mask != 0] = looked[mask != 0]
    ex.append(expect('lut_sparse_dense', 'F16', shape, out, {'layout': 'decoded', 'decoder': 'constexpr_sparse_to_dense'}, 'lossless'))

    shape = (4, 4)
    mask = (rng.random(shape) < 0.6).astype(np.uint8)
    k = int(mask.sum())
    nz = rng.integers(-128, 128, k).astype(np.int8)
    scale = rng.uniform(0.01, 0.1, (2, 1)).astype(np.float16)
    offset = rng.integers(-5, 5, (2, 1)).astype(np.int8)
    two_outputs('constexpr_sparse_blockwise_shift_scale', ['sb_mask', 'sb_nonzero'], ['uint1', 'fp16'], [shape, (k,)], {'data_mask': bv('uint1', mask), 'nonzero_data': immediate('int8', nz.shape, nz), 'scale': immediate('fp16', scale.shape, scale), 'offset': immediate('int8', offset.shape, offset)})
    p.op('constexpr_sparse_to_dense', 'blockwise_sparse_dense', 'fp16', shape, inputs={'nonzero_data': 'sb_nonzero', 'mask': 'sb_mask'})
    data = np.zeros(shape, np.int8)
    data[mask != 0] = nz
    d = data.astype(np.float16) - repeat_as(offset, shape)
    deq = repeat_as(scale, shape) * d
    out = np.zeros(shape, np.float16)
    out[mask != 0] = deq[mask != 0]
    ex.append(expect('blockwise_sparse_dense', 'F16', shape, out, {'layout': 'decoded', 'decoder': 'constexpr_sparse_to_dense'}, 'derived'))

    # iOS18 vector palettization: each index stands for a vector of values along vector_axis.
    def lut_to_dense_ref(indices, lut, vector_axis):
        # The reference's steps (coremltools optimize/_utils.py lut_to_dense): vector axis swapped last, looked up, swapped back.
        palette_num, vector_size = lut.shape[-2], lut.shape[-1]
        output_shape = list(indices.shape)
        if vector_size > 1:
            if vector_axis < 0:
                vector_axis += len(output_shape)
            indices = np.swapaxes(indices, -1, vector_axis)
            lut = np.swapaxes(lut, -3, vector_axis)
            output_shape = list(indices.shape)
            output_shape[-1] *= vector_size
        flat = indices.astype(np.uint8).flatten()
        rep = repeat_as(lut, indices.shape).reshape(len(flat), palette_num, vector_size)
        out = rep[np.arange(rep.shape[0]), flat.astype(np.int32)].reshape(output_shape)
        if vector_size > 1:
            out = np.swapaxes(out, -1, vector_axis)
        return out

    for name, ishape, lshape, axis, idt, bits in (('lut_vector_axis0', (4, 3), (1, 1, 4, 2), 0, 'uint2', 2), ('lut_vector_last', (2, 4), (2, 1, 2, 3), -1, 'uint1', 1), ('lut_vector_3d', (2, 3, 2), (1, 3, 1, 4, 2), 1, 'uint2', 2)):
        idx = rng.integers(0, 2 ** bits, ishape, dtype=np.uint8)
        lutv = rng.standard_normal(lshape).astype(np.float16)
        out = lut_to_dense_ref(idx, lutv, axis)
        p.op('constexpr_lut_to_dense', name, 'fp16', out.shape, inputs={'indices': bv(idt, idx) if idx.size >= 10 else immediate(idt, idx.shape, idx), 'lut': immediate('fp16', lutv.shape, lutv), 'vector_axis': immediate('int32', [], np.int32(axis))})
        ex.append(expect(name, 'F16', out.shape, out, {'layout': 'decoded', 'decoder': 'constexpr_lut_to_dense'}, 'lossless'))

    # Palettization of sparse data in vectors: the mask repeated along the vector axis (coremltools'
    # constexpr_lut_to_sparse.decompress), read by constexpr_sparse_to_dense.
    shape = (4, 2)
    mask = np.array([[1, 0], [1, 1], [0, 0], [1, 0]], np.uint8)
    nzi = rng.integers(0, 2, int(mask.sum()), dtype=np.uint8)
    lutv = rng.standard_normal((1, 1, 2, 2)).astype(np.float16)
    two_outputs('constexpr_lut_to_sparse', ['lsv_mask', 'lsv_nonzero'], ['uint1', 'fp16'], [(8, 2), (8,)], {'indices_mask': immediate('uint1', mask.shape, mask), 'indices_nonzero_data': immediate('uint1', nzi.shape, nzi), 'lut': immediate('fp16', lutv.shape, lutv), 'vector_axis': immediate('int32', [], np.int32(0))})
    p.op('constexpr_sparse_to_dense', 'lut_sparse_vector', 'fp16', (8, 2), inputs={'nonzero_data': 'lsv_nonzero', 'mask': 'lsv_mask'})
    indices = np.zeros(shape, np.uint8)
    indices[mask != 0] = nzi
    dense = lut_to_dense_ref(indices, lutv, 0)
    out_mask = np.repeat(mask, 2, axis=0)
    out = np.zeros((8, 2), np.float16)
    out[out_mask != 0] = dense[out_mask != 0]
    ex.append(expect('lut_sparse_vector', 'F16', (8, 2), out, {'layout': 'decoded', 'decoder': 'constexpr_sparse_to_dense'}, 'lossless'))

    # Left out by name: an operation tensorsafe does not know, and what reads it.
    p.op('constexpr_future_op', 'future', 'fp16', (3,), inputs={'x': immediate('fp16', [3], np.zeros(3, np.float16))})
    p.op('constexpr_cast', 'cast_of_future', 'fp32', (3,), inputs={'source_val': 'future'})
    write(os.path.join(OUT, 'weights', 'constexpr.bin'), p.blob.bytes())
    return p, ex


def prog_errors():
    # bad sentinel
    p = Program('@model_path/weights/bad-sentinel.bin')
    p.blob_const('w', 'fp32', f32((12,)))
    raw = bytearray(p.blob.bytes())
    raw[64:68] = b'\xef\xbe\xad\xdf'
    write(os.path.join(OUT, 'weights', 'bad-sentinel.bin'), bytes(raw))
    fixture('prog-bad-sentinel.mlmodel', p.model(), 'a blob whose metadata sentinel is 0xDFADBEEF', error='CoremlBlobInvalid')
    # metadata offset past the file
    p = Program('@model_path/weights/offset-outside.bin')
    p.blob.write('fp32', f32((12,)).tobytes(), 12)
    p.const('w', blob_value('fp32', (12,), p.file, 4096))
    write(os.path.join(OUT, 'weights', 'offset-outside.bin'), p.blob.bytes())
    fixture('prog-offset-outside.mlmodel', p.model(), 'a BlobFileValue offset past the end of its weight file', error='CoremlBlobInvalid')
    # data past the end
    p = Program('@model_path/weights/data-outside.bin')
    p.blob_const('w', 'fp32', f32((12,)))
    raw = bytearray(p.blob.bytes())
    raw[72:80] = np.array([4800], np.uint64).tobytes()
    p.expected = []
    write(os.path.join(OUT, 'weights', 'data-outside.bin'), bytes(raw))
    fixture('prog-data-outside.mlmodel', p.model(), 'a blob whose sizeInBytes runs past the end of its weight file', error='CoremlBlobInvalid')
    # size mismatch: type says 12 fp32, blob holds 10
    p = Program('@model_path/weights/size-mismatch.bin')
    off = p.blob.write('fp32', f32((10,)).tobytes(), 10)
    p.const('w', blob_value('fp32', (12,), p.file, off))
    write(os.path.join(OUT, 'weights', 'size-mismatch.bin'), p.blob.bytes())
    fixture('prog-size-mismatch.mlmodel', p.model(), 'a const typed fp32[12] whose blob holds 40 bytes', error='CoremlBlobInvalid')
    # dtype mismatch
    p = Program('@model_path/weights/dtype-mismatch.bin')
    off = p.blob.write('fp16', np.zeros(12, np.float16).tobytes(), 12)
    p.const('w', blob_value('int16', (12,), p.file, off))
    write(os.path.join(OUT, 'weights', 'dtype-mismatch.bin'), p.blob.bytes())
    fixture('prog-dtype-mismatch.mlmodel', p.model(), 'a const typed int16 whose blob is Float16', error='CoremlBlobInvalid')
    # a shape parameter that is not the output's (a huge one must not be allocated)
    p = Program('@model_path/weights/unused.bin')
    lut = np.arange(4, dtype=np.float32)
    p.op('constexpr_lut_to_dense', 'w', 'fp32', (3, 5), attributes={'indices': immediate('uint8', [4], np.zeros(4, np.uint8)), 'lut': immediate('fp32', [4], lut), 'shape': immediate('uint32', [2], np.array([1 << 30, 1 << 20], np.uint32))})
    fixture('prog-shape-mismatch.mlmodel', p.model(), 'constexpr_lut_to_dense whose shape parameter is [2^30, 2^20] for an output typed [3, 5]', error='InvalidCoreml')
    # compile-time operations reading each other
    p = Program('@model_path/weights/unused.bin')
    p.op('constexpr_cast', 'a', 'fp32', (2,), inputs={'source_val': 'b'})
    p.op('constexpr_cast', 'b', 'fp32', (2,), inputs={'source_val': 'a'})
    fixture('prog-cycle.mlmodel', p.model(), 'two constexpr_cast operations reading each other', error='InvalidCoreml')
    # escaping file names
    for name, path in (('prog-escape.mlmodel', '@model_path/../secret.bin'), ('prog-absolute.mlmodel', '/etc/passwd'), ('prog-no-model-path.mlmodel', 'weights/weight.bin')):
        p = Program(path)
        p.const('w', blob_value('fp32', (12,), path, 64))
        fixture(name, p.model(), f'a BlobFileValue fileName {path!r}: refused, nothing opened', error='ExternalDataRefused')


def text_program():
    b = BlobWriter()
    w16 = rng.standard_normal((2, 3)).astype(np.float16)
    o1 = b.write('fp16', w16.tobytes(), 6)
    u4 = rng.integers(0, 16, (5,), dtype=np.uint8)
    o2 = b.write('uint4', pack_lsb(u4, 4), 5)
    write(os.path.join(OUT, 'weights', 'text.bin'), b.bytes())
    text = f'''program(1.3)
[buildInfo = dict<string, string>({{{{"coremlc-version", "3402.4.1"}}, {{"coremltools-version", "8.1"}}}})]
{{
    func main<ios18>(tensor<fp16, [1, 3]> x) {{
            tensor<fp16, [2, 3]> w = const()[name = string("w"), val = tensor<fp16, [2, 3]>(BLOBFILE(path = string("@model_path/weights/text.bin"), offset = uint64({o1})))];
            tensor<uint4, [5]> idx = const()[name = string("idx"), val = tensor<uint4, [5]>(BLOBFILE(path = string("@model_path/weights/text.bin"), offset = uint64({o2})))];
            tensor<int32, [2]> axes = const()[name = string("axes"), val = tensor<int32, [2]>([-1, 2])];
            fp32 eps = const()[name = string("eps"), val = fp32(0x1.4f8b58p-17)];
            tensor<fp16, []> half = const()[name = tensor<string, []>("half"), val = tensor<fp16, []>(0x1p-1)];
            string mode = const()[name = string("mode"), val = string("same")];
            tensor<fp16, [1, 2]> y = linear(bias = w, weight = w, x = x)[name = string("y")];
        }} -> (y);
}}
'''
    ex = [
        expect('w', 'F16', (2, 3), w16),
        expect('idx', 'U8', (5,), u4, {'layout': 'decoded', 'decoder': 'uint4-unpack'}, 'lossless'),
        expect('axes', 'I32', (2,), np.array([-1, 2], np.int32), {'layout': 'decoded', 'decoder': 'mil-text'}, 'lossless'),
        expect('eps', 'F32', (), np.array([float.fromhex('0x1.4f8b58p-17')], np.float32), {'layout': 'decoded', 'decoder': 'mil-text'}, 'lossless'),
        expect('half', 'F16', (), np.array([0.5], np.float16), {'layout': 'decoded', 'decoder': 'mil-text'}, 'lossless'),
    ]
    fixture('text-program.mil', text.encode(), 'MIL text (a compiled .mlmodelc model.mil): BLOBFILE constants (fp16, uint4) in weights/text.bin, immediate int32 list, hex-float fp32 and fp16 scalars, a string left out', ex)


def extras(types_prog):
    # A .mlpackage folder for the CLI: Manifest.json, Data/com.apple.CoreML/model.mlmodel, weights/weight.bin.
    p = Program()
    w = f32((3, 4))
    p.blob_const('dense_weight', 'fp32', w)
    b16 = rng.standard_normal((4,)).astype(np.float16)
    p.blob_const('dense_bias', 'fp16', np.concatenate([b16, b16, b16]))
    q = rng.integers(0, 256, (4, 4), dtype=np.uint8)
    zp = np.array(128, np.uint8)
    sc = np.array(0.05, np.float32)
    off = p.blob.write('uint8', q.tobytes(), 16)
    p.op('constexpr_affine_dequantize', 'packed_weight', 'fp32', (4, 4), attributes={'quantized_data': blob_value('uint8', (4, 4), p.file, off), 'zero_point': immediate('uint8', [], zp), 'scale': immediate('fp32', [], sc), 'axis': immediate('int32', [], np.int32(0))})
    d = q.astype(np.float32)
    d -= np.float32(128)
    d *= sc
    pkg = os.path.join(EXTRA, 'tiny.mlpackage')
    write(os.path.join(pkg, 'Data', 'com.apple.CoreML', 'model.mlmodel'), p.model())
    write(os.path.join(pkg, 'Data', 'com.apple.CoreML', 'weights', 'weight.bin'), p.blob.bytes())
    manifest = {
        'fileFormatVersion': '1.0.0',
        'itemInfoEntries': {
            '0D9F3D0C-0000-4000-8000-000000000001': {'author': 'com.apple.CoreML', 'description': 'CoreML Model Weights', 'name': 'weights', 'path': 'com.apple.CoreML/weights'},
            '0D9F3D0C-0000-4000-8000-000000000002': {'author': 'com.apple.CoreML', 'description': 'CoreML Model Specification', 'name': 'model.mlmodel', 'path': 'com.apple.CoreML/model.mlmodel'},
        },
        'rootModelIdentifier': '0D9F3D0C-0000-4000-8000-000000000002',
    }
    write(os.path.join(pkg, 'Manifest.json'), json.dumps(manifest, indent=2).encode())
    exp = {'dense_weight': sha(w), 'dense_bias': sha(np.concatenate([b16, b16, b16])), 'packed_weight': sha(d)}
    with open(os.path.join(EXTRA, 'tiny.mlpackage.expected.json'), 'w') as fh:
        json.dump(exp, fh, indent=1)
        fh.write('\n')
    # A package whose manifest names a root outside it.
    esc = os.path.join(EXTRA, 'escape.mlpackage')
    m2 = json.loads(json.dumps(manifest))
    m2['itemInfoEntries']['0D9F3D0C-0000-4000-8000-000000000002']['path'] = '../../tiny.mlpackage/Data/com.apple.CoreML/model.mlmodel'
    write(os.path.join(esc, 'Manifest.json'), json.dumps(m2, indent=2).encode())
    # A compiled ML program and a compiled neural network.
    mc = os.path.join(EXTRA, 'tiny.mlmodelc')
    shutil.copy(os.path.join(OUT, 'text-program.mil'), os.path.join(mc_dir(mc), 'model.mil'))
    shutil.copy(os.path.join(OUT, 'weights', 'text.bin'), os.path.join(mc_dir(os.path.join(mc, 'weights')), 'text.bin'))
    write(os.path.join(mc, 'coremldata.bin'), b'\0' * 64)
    nn = os.path.join(EXTRA, 'network.mlmodelc')
    write(os.path.join(nn, 'coremldata.bin'), b'\0' * 64)
    write(os.path.join(nn, 'model.espresso.net'), b'{"layers": []}')
    write(os.path.join(nn, 'model.espresso.weights'), b'\0' * 64)


def scan_models():
    # Models whose loading needs code or files beyond them (scan rules), and no weights.
    m = M.Model(specificationVersion=4)
    description(m)
    m.linkedModel.linkedModelFile.linkedModelFileName.defaultValue = 'other.mlmodelc'
    m.linkedModel.linkedModelFile.linkedModelSearchPath.defaultValue = '$BUNDLE_MAIN'
    write(os.path.join(EXTRA, 'linked.mlmodel'), m.SerializeToString(deterministic=True))
    m = M.Model(specificationVersion=4)
    description(m)
    m.customModel.className = 'MyCustomModel'
    write(os.path.join(EXTRA, 'custom-model.mlmodel'), m.SerializeToString(deterministic=True))
    m = M.Model(specificationVersion=4)
    description(m)
    m.serializedModel.identifier = 'com.example.private'
    m.serializedModel.model = b'opaque'
    write(os.path.join(EXTRA, 'serialized.mlmodel'), m.SerializeToString(deterministic=True))


def mc_dir(d):
    os.makedirs(d, exist_ok=True)
    return d


nn_weights()
nn_quant()
pipeline()
types_prog = prog_types()
p, ex = prog_constexpr()
fixture('prog-constexpr.mlmodel', p.model('CoreML8'), 'compressed ML program weights decoded as coremltools numpy decompress computes them: iOS16 affine_dequantize (fp16 and fp32 scales, per axis and scalar), lut_to_dense (4, 2, 6 bits), sparse_to_dense, cast; iOS18 blockwise_shift_scale (int4 with offset, uint8 without, int8 with float offset), lut_to_dense (uint3, per block), sparse_to_dense (uint1 mask); a cast bound to another constexpr by name; lut_to_dense with vector palettization on axis 0, the last axis and a middle one; constexpr_lut_to_sparse with vector palettization; an unknown constexpr op and what reads it left out', ex)
prog_errors()
text_program()
extras(types_prog)
scan_models()


def prog_lattice():
    # Compile-time operations two per level, each reading both of the level below: decoded path by path,
    # the last reads the first 2^40 times. Refused on open by its paths' count.
    p = Program('@model_path/weights/lattice.bin')
    ones = np.ones(8, np.uint8)
    off = p.blob.write('uint1', pack_lsb(ones, 1), 8)
    for name in ('a0', 'b0'):
        p.const(name, blob_value('uint1', (8,), p.file, off))
    for k in range(1, 41):
        for name in ('a', 'b'):
            p.op('constexpr_sparse_to_dense', f'{name}{k}', 'uint1', (8,), inputs={'nonzero_data': f'a{k - 1}', 'mask': f'b{k - 1}'})
    write(os.path.join(OUT, 'weights', 'lattice.bin'), p.blob.bytes())
    fixture('prog-lattice.mlmodel', p.model('CoreML8'), 'constexpr_sparse_to_dense operations 40 levels deep, each reading both of the level below (2^40 paths): refused on open, not decoded path by path', error='CoremlLimit')


prog_lattice()
print('written', OUT, EXTRA)
