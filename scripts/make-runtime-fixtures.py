#!/usr/bin/python3
"""Fixtures for the runtime adapters' tests (test/runtime-onnx.test.ts): a small ONNX model that
ONNX Runtime runs on inputs made by tensorsafe/onnxruntime.

identity-all.onnx: one input per ONNX Runtime type the adapter makes (x_float … x_bool, shape [2, 3]),
each passed through Identity to y_<type>; and sum = x_float + x_float (Add), a computation.
add.onnx: sum = x + y, float32 [2, 3] (the README's example).

Run with Debian's python3 (onnx 1.12): /usr/bin/python3 scripts/make-runtime-fixtures.py
"""
import os
import onnx
from onnx import TensorProto, helper

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'runtime')
TYPES = {
    'float': TensorProto.FLOAT, 'float16': TensorProto.FLOAT16, 'double': TensorProto.DOUBLE,
    'int8': TensorProto.INT8, 'uint8': TensorProto.UINT8, 'int16': TensorProto.INT16, 'uint16': TensorProto.UINT16,
    'int32': TensorProto.INT32, 'uint32': TensorProto.UINT32, 'int64': TensorProto.INT64, 'uint64': TensorProto.UINT64,
    'bool': TensorProto.BOOL,
}

def main():
    os.makedirs(OUT, exist_ok=True)
    inputs, outputs, nodes = [], [], []
    for name, t in TYPES.items():
        inputs.append(helper.make_tensor_value_info(f'x_{name}', t, [2, 3]))
        outputs.append(helper.make_tensor_value_info(f'y_{name}', t, [2, 3]))
        nodes.append(helper.make_node('Identity', [f'x_{name}'], [f'y_{name}']))
    nodes.append(helper.make_node('Add', ['x_float', 'x_float'], ['sum']))
    outputs.append(helper.make_tensor_value_info('sum', TensorProto.FLOAT, [2, 3]))
    graph = helper.make_graph(nodes, 'identity_all', inputs, outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 13)], producer_name='tensorsafe scripts/make-runtime-fixtures.py')
    model.ir_version = 7
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(OUT, 'identity-all.onnx'))

    f = TensorProto.FLOAT
    add = helper.make_graph([helper.make_node('Add', ['x', 'y'], ['sum'])], 'add',
                            [helper.make_tensor_value_info('x', f, [2, 3]), helper.make_tensor_value_info('y', f, [2, 3])],
                            [helper.make_tensor_value_info('sum', f, [2, 3])])
    model = helper.make_model(add, opset_imports=[helper.make_opsetid('', 13)], producer_name='tensorsafe scripts/make-runtime-fixtures.py')
    model.ir_version = 7
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(OUT, 'add.onnx'))

if __name__ == '__main__':
    main()
