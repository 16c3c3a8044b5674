#!/usr/bin/python3
"""Fixtures of the behaviour check (tensorsafe verify --run, test/verify-run.test.ts): small models that run,
written by python3-onnx's onnx.helper (ONNX) and by hand as tfjs-converter lays out a graph model (TF.js),
with inputs and the outputs numpy computes for them, an oracle independent of the runtimes.

    /usr/bin/python3 scripts/make-behaviour-fixtures.py

test/fixtures/behaviour/
  onnx/mlp.onnx            Gemm + Relu + MatMul (float_data) + Add of a Constant node's tensor + Reshape by an
                           int64 initializer + Add of a value_float Constant + Cast to float16 + Mul by a float16
                           initializer; input x [batch, 4] (batch: a named dynamic dimension)
  onnx/conv.onnx           Conv (pads 1) + Relu on image [1, 1, 5, 5]
  onnx/*.inputs.npz        inputs; *.expected.npz: numpy's outputs for them
  onnx/unknown-op.onnx     a node of an operator no runtime has (com.example.NoSuchOp): converts, does not run
  onnx-external/mlp.onnx   mlp.onnx with its initializers in mlp.weights (external data)
  tfjs/model.json          a graph model: MatMul + BiasAdd + Relu + MatMul (float16-quantized kernel) + Add
                           (uint8-quantized bias) + Reshape (int32 shape); its shard group1-shard1of1.bin
  tfjs/inputs.npz, tfjs/expected.npz
"""
import json, os, shutil
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'behaviour')
rng = np.random.default_rng(15)


def f32(*shape):
    return rng.uniform(-1, 1, shape).astype(np.float32)


def save(folder, name, m):
    os.makedirs(folder, exist_ok=True)
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(folder, name))


def mlp():
    W1, b1, W2, b2 = f32(4, 8), f32(8), f32(8, 3), f32(3)
    scale = rng.uniform(0.5, 2, 3).astype(np.float16)
    inits = [
        numpy_helper.from_array(W1, 'W1'),                                            # raw_data
        numpy_helper.from_array(b1, 'b1'),
        helper.make_tensor('W2', TensorProto.FLOAT, W2.shape, W2.flatten().tolist()),  # float_data
        helper.make_tensor('shape', TensorProto.INT64, [2], [-1, 3]),                  # int64_data
        numpy_helper.from_array(scale, 'scale'),                                       # float16, raw_data
    ]
    nodes = [
        helper.make_node('Gemm', ['x', 'W1', 'b1'], ['h'], name='gemm'),
        helper.make_node('Relu', ['h'], ['r'], name='relu'),
        helper.make_node('MatMul', ['r', 'W2'], ['m'], name='matmul'),
        helper.make_node('Constant', [], ['b2'], name='bias', value=numpy_helper.from_array(b2, 'b2')),
        helper.make_node('Add', ['m', 'b2'], ['z'], name='add'),
        helper.make_node('Reshape', ['z', 'shape'], ['logits'], name='reshape'),
        helper.make_node('Constant', [], ['offset'], name='offset', value_float=0.5),
        helper.make_node('Add', ['logits', 'offset'], ['shifted'], name='shift'),
        helper.make_node('Cast', ['shifted'], ['half'], name='cast', to=TensorProto.FLOAT16),
        helper.make_node('Mul', ['half', 'scale'], ['scaled'], name='mul'),
    ]
    g = helper.make_graph(nodes, 'mlp', [helper.make_tensor_value_info('x', TensorProto.FLOAT, ['batch', 4])],
                          [helper.make_tensor_value_info('logits', TensorProto.FLOAT, ['batch', 3]),
                           helper.make_tensor_value_info('scaled', TensorProto.FLOAT16, ['batch', 3])], inits)
    m = helper.make_model(g, producer_name='tensorsafe-fixtures', opset_imports=[helper.make_opsetid('', 13)])
    m.ir_version = 8
    x = f32(2, 4)
    # numpy, in float64 then rounded once to float32 (ORT sums in float32: the test allows 1e-5)
    logits = (np.maximum(x.astype(np.float64) @ W1 + b1, 0) @ W2 + b2).astype(np.float32)
    scaled = (logits + np.float32(0.5)).astype(np.float16) * scale
    return m, {'x': x}, {'logits': logits, 'scaled': scaled}


def conv():
    W, B = f32(2, 1, 3, 3), f32(2)
    g = helper.make_graph(
        [helper.make_node('Conv', ['image', 'W', 'B'], ['c'], name='conv', pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
         helper.make_node('Relu', ['c'], ['features'], name='relu')],
        'conv', [helper.make_tensor_value_info('image', TensorProto.FLOAT, [1, 1, 5, 5])],
        [helper.make_tensor_value_info('features', TensorProto.FLOAT, [1, 2, 5, 5])],
        [numpy_helper.from_array(W, 'W'), numpy_helper.from_array(B, 'B')])
    m = helper.make_model(g, producer_name='tensorsafe-fixtures', opset_imports=[helper.make_opsetid('', 13)])
    m.ir_version = 8
    image = f32(1, 1, 5, 5)
    padded = np.pad(image[0, 0].astype(np.float64), 1)
    out = np.zeros((1, 2, 5, 5))
    for k in range(2):
        for i in range(5):
            for j in range(5):
                out[0, k, i, j] = (padded[i:i + 3, j:j + 3] * W[k, 0]).sum() + B[k]
    return m, {'image': image}, {'features': np.maximum(out, 0).astype(np.float32)}


def tfjs():
    """A graph model as tfjs-converter writes one: GraphDef JSON nodes, a weights manifest, one shard."""
    kernel, bias, out_kernel = f32(4, 3), f32(3), f32(3, 2)
    out_bias = np.array([-0.5, 0.25], np.float32)
    shape = np.array([-1, 2], np.int32)
    # out/bias quantized to uint8 as tfjs-converter does: min -0.5, scale 0.75 / 255, values 0 and 255.
    q_min, q_scale = np.float32(-0.5), np.float32(0.75) / np.float32(255)
    q_bias = np.array([0, 255], np.uint8)
    half = out_kernel.astype(np.float16)
    shard = kernel.tobytes() + bias.tobytes() + half.tobytes() + q_bias.tobytes() + shape.tobytes()
    def dims(*d):
        return {'dim': [{'size': str(x)} for x in d]}
    def const(name, dtype, *d):
        return {'name': name, 'op': 'Const', 'attr': {'value': {'tensor': {'dtype': dtype, 'tensorShape': dims(*d)}}, 'dtype': {'type': dtype}}}
    f = {'type': 'DT_FLOAT'}
    nodes = [
        {'name': 'x', 'op': 'Placeholder', 'attr': {'dtype': f, 'shape': {'shape': dims(-1, 4)}}},
        const('dense/kernel', 'DT_FLOAT', 4, 3), const('dense/bias', 'DT_FLOAT', 3),
        const('out/kernel', 'DT_FLOAT', 3, 2), const('out/bias', 'DT_FLOAT', 2), const('reshape/shape', 'DT_INT32', 2),
        {'name': 'dense/MatMul', 'op': 'MatMul', 'input': ['x', 'dense/kernel'], 'attr': {'T': f, 'transpose_a': {'b': False}, 'transpose_b': {'b': False}}},
        {'name': 'dense/BiasAdd', 'op': 'BiasAdd', 'input': ['dense/MatMul', 'dense/bias'], 'attr': {'T': f, 'data_format': {'s': 'TkhXQw=='}}},
        {'name': 'dense/Relu', 'op': 'Relu', 'input': ['dense/BiasAdd'], 'attr': {'T': f}},
        {'name': 'out/MatMul', 'op': 'MatMul', 'input': ['dense/Relu', 'out/kernel'], 'attr': {'T': f, 'transpose_a': {'b': False}, 'transpose_b': {'b': False}}},
        {'name': 'out/Add', 'op': 'AddV2', 'input': ['out/MatMul', 'out/bias'], 'attr': {'T': f}},
        {'name': 'Identity', 'op': 'Reshape', 'input': ['out/Add', 'reshape/shape'], 'attr': {'T': f, 'Tshape': {'type': 'DT_INT32'}}},
    ]
    model = {
        'format': 'graph-model', 'generatedBy': '2.15.0', 'convertedBy': 'tensorsafe scripts/make-behaviour-fixtures.py',
        'modelTopology': {'node': nodes, 'library': {}, 'versions': {'producer': 1482}},
        'weightsManifest': [{'paths': ['group1-shard1of1.bin'], 'weights': [
            {'name': 'dense/kernel', 'shape': [4, 3], 'dtype': 'float32'},
            {'name': 'dense/bias', 'shape': [3], 'dtype': 'float32'},
            {'name': 'out/kernel', 'shape': [3, 2], 'dtype': 'float32', 'quantization': {'dtype': 'float16'}},
            {'name': 'out/bias', 'shape': [2], 'dtype': 'float32', 'quantization': {'dtype': 'uint8', 'min': float(q_min), 'scale': float(q_scale)}},
            {'name': 'reshape/shape', 'shape': [2], 'dtype': 'int32'},
        ]}],
    }
    folder = os.path.join(ROOT, 'tfjs')
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, 'model.json'), 'w') as fh:
        fh.write(json.dumps(model) + '\n')
    with open(os.path.join(folder, 'group1-shard1of1.bin'), 'wb') as fh:
        fh.write(shard)
    x = f32(2, 4)
    dq_bias = (q_bias.astype(np.float32) * q_scale + q_min).astype(np.float32)
    hidden = np.maximum(x.astype(np.float64) @ kernel + bias, 0)
    y = (hidden @ half.astype(np.float64) + dq_bias).astype(np.float32).reshape(-1, 2)
    np.savez(os.path.join(folder, 'inputs.npz'), x=x)
    np.savez(os.path.join(folder, 'expected.npz'), Identity=y)


def main():
    shutil.rmtree(ROOT, ignore_errors=True)
    onnx_dir = os.path.join(ROOT, 'onnx')
    for name, make in (('mlp', mlp), ('conv', conv)):
        m, inputs, expected = make()
        save(onnx_dir, f'{name}.onnx', m)
        np.savez(os.path.join(onnx_dir, f'{name}.inputs.npz'), **inputs)
        np.savez(os.path.join(onnx_dir, f'{name}.expected.npz'), **expected)
    g = helper.make_graph([helper.make_node('NoSuchOp', ['x', 'w'], ['y'], name='custom', domain='com.example')], 'custom',
                          [helper.make_tensor_value_info('x', TensorProto.FLOAT, [2])], [helper.make_tensor_value_info('y', TensorProto.FLOAT, [2])],
                          [numpy_helper.from_array(np.array([1, 2], np.float32), 'w')])
    m = helper.make_model(g, producer_name='tensorsafe-fixtures', opset_imports=[helper.make_opsetid('', 13), helper.make_opsetid('com.example', 1)])
    m.ir_version = 8
    onnx.save(m, os.path.join(onnx_dir, 'unknown-op.onnx'))
    m = onnx.load(os.path.join(onnx_dir, 'mlp.onnx'))
    ext = os.path.join(ROOT, 'onnx-external')
    os.makedirs(ext, exist_ok=True)
    onnx.save_model(m, os.path.join(ext, 'mlp.onnx'), save_as_external_data=True, all_tensors_to_one_file=True, location='mlp.weights', size_threshold=0)
    tfjs()


main()
