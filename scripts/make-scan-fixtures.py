#!/usr/bin/python3
"""Writes the format-scanner fixtures under test/fixtures/scan/ with real producers (h5py, onnx, numpy),
so that the scanners are tested on the bytes these libraries actually write.

Run with Debian's python3 (apt-get install -y python3-h5py python3-onnx; numpy comes with them):
    /usr/bin/python3 scripts/make-scan-fixtures.py
CI does not run this; the outputs are committed. Nothing here is ever loaded or run: the "malicious"
Lambda bytecode only calls `echo`, and it is only marshalled, never executed.
"""
import base64
import json
import marshal
import os

import h5py
import numpy as np
import onnx
from onnx import TensorProto, helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'scan')


def lambda_code():
    # What Keras 2's func_dump() stores for a Lambda layer: base64 of marshal.dumps(fn.__code__).
    attack = lambda x: __import__('os').system('echo lambda-layer-fixture') or x  # noqa: E731 (never called)
    return base64.b64encode(marshal.dumps(attack.__code__)).decode('ascii')


def keras2_config():
    return {
        'class_name': 'Sequential',
        'config': {
            'name': 'sequential',
            'layers': [
                {'class_name': 'Dense', 'config': {'name': 'dense', 'units': 2, 'activation': 'relu', 'batch_input_shape': [None, 3], 'dtype': 'float32'}},
                {
                    'class_name': 'Lambda',
                    'config': {
                        'name': 'lambda_attack',
                        'trainable': True,
                        'dtype': 'float32',
                        'function': [lambda_code(), None, None],
                        'function_type': 'lambda',
                        'module': '__main__',
                        'output_shape': None,
                        'output_shape_type': 'raw',
                        'output_shape_module': None,
                        'arguments': {},
                    },
                },
            ],
        },
    }


TRAINING = {'loss': 'mse', 'metrics': ['accuracy'], 'optimizer_config': {'class_name': 'Adam', 'config': {'lr': 0.001}}}


def keras_h5(path, as_bytes=False, dense=False):
    # Keras 2.x wrote the JSON as bytes (a fixed-length string); Keras >= 2.3 and 3 as str (variable-length).
    kw = {'libver': 'latest'} if dense else {}
    with h5py.File(path, 'w', **kw) as f:
        enc = (lambda s: s.encode('utf8')) if as_bytes else (lambda s: s)
        if dense:
            # More than 8 attributes with the latest file format: HDF5 moves them to dense storage (a fractal heap).
            for i in range(12):
                f.attrs['padding_%02d' % i] = 'x' * 40
        f.attrs['keras_version'] = enc('2.2.4')
        f.attrs['backend'] = enc('tensorflow')
        f.attrs['model_config'] = enc(json.dumps(keras2_config()))
        f.attrs['training_config'] = enc(json.dumps(TRAINING))
        g = f.create_group('model_weights/dense/dense')
        g.create_dataset('kernel:0', data=np.arange(6, dtype='<f4').reshape(3, 2))
        g.create_dataset('bias:0', data=np.zeros(2, dtype='<f4'))


def plain_h5(path):
    with h5py.File(path, 'w') as f:
        f.create_dataset('x', data=np.arange(4, dtype='<i4'))
        f.attrs['note'] = 'not a keras model'


def onnx_subgraph_external(path):
    # An If node whose then-branch has an initializer stored "externally" at ../../etc/passwd, and a node
    # in a custom operator domain. Serialized directly (onnx.save would try to handle the external data).
    secret = TensorProto(name='stolen', data_type=TensorProto.FLOAT, dims=[4])
    secret.data_location = TensorProto.EXTERNAL
    for k, v in (('location', '../../etc/passwd'), ('offset', '0'), ('length', '16')):
        e = secret.external_data.add()
        e.key = k
        e.value = v
    then_graph = helper.make_graph(
        [helper.make_node('Identity', ['stolen'], ['then_out'])], 'then_branch', [], [helper.make_tensor_value_info('then_out', TensorProto.FLOAT, [4])], initializer=[secret]
    )
    else_graph = helper.make_graph(
        [helper.make_node('Constant', [], ['else_out'], value=helper.make_tensor('c', TensorProto.FLOAT, [4], [0, 0, 0, 0]))],
        'else_branch',
        [],
        [helper.make_tensor_value_info('else_out', TensorProto.FLOAT, [4])],
    )
    nodes = [
        helper.make_node('If', ['cond'], ['y'], then_branch=then_graph, else_branch=else_graph),
        helper.make_node('MyOp', ['y'], ['z'], domain='com.example.custom'),
    ]
    graph = helper.make_graph(nodes, 'main', [helper.make_tensor_value_info('cond', TensorProto.BOOL, [])], [helper.make_tensor_value_info('z', TensorProto.FLOAT, [4])])
    model = helper.make_model(graph, producer_name='tensorsafe-fixture', opset_imports=[helper.make_opsetid('', 17), helper.make_opsetid('com.example.custom', 1)])
    with open(path, 'wb') as f:
        f.write(model.SerializeToString())


def onnx_benign(path):
    w = helper.make_tensor('w', TensorProto.FLOAT, [2, 2], [1, 2, 3, 4])
    graph = helper.make_graph(
        [helper.make_node('MatMul', ['x', 'w'], ['y'])], 'g', [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 2])], [helper.make_tensor_value_info('y', TensorProto.FLOAT, [1, 2])], initializer=[w]
    )
    model = helper.make_model(graph, producer_name='tensorsafe-fixture', opset_imports=[helper.make_opsetid('', 17)])
    onnx.checker.check_model(model)
    with open(path, 'wb') as f:
        f.write(model.SerializeToString())


def main():
    os.makedirs(OUT, exist_ok=True)
    keras_h5(os.path.join(OUT, 'keras2-lambda.h5'))
    keras_h5(os.path.join(OUT, 'keras2-lambda-fixed-string.h5'), as_bytes=True)
    keras_h5(os.path.join(OUT, 'keras2-lambda-dense-attributes.h5'), dense=True)
    plain_h5(os.path.join(OUT, 'plain.h5'))
    onnx_subgraph_external(os.path.join(OUT, 'subgraph-external-data.onnx'))
    onnx_benign(os.path.join(OUT, 'matmul.onnx'))
    np.save(os.path.join(OUT, 'object-array.npy'), np.array([1, 'two', None], dtype=object), allow_pickle=True)
    np.save(os.path.join(OUT, 'bool-2x3.npy'), np.array([[True, False, True], [False, True, False]]))
    for name in sorted(os.listdir(OUT)):
        print('%8d %s' % (os.path.getsize(os.path.join(OUT, name)), name))


if __name__ == '__main__':
    main()
