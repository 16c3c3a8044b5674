import { describe, expect, it } from 'vitest';
import type { Finding, ScanContext } from '../src/formats/findings.js';
import { scanKerasConfig } from '../src/formats/keras/config-rules.js';

/** Configs that make a Keras loader touch the system without a Lambda layer. */

function scan(config: unknown): Finding[] {
  const findings: Finding[] = [];
  const ctx: ScanContext = { file: 'm.h5', dir: undefined, report: (f) => findings.push(f), scanPickle: async () => {} };
  scanKerasConfig(JSON.stringify(config), ctx, 'm.h5:model_config');
  return findings.filter((f) => f.severity !== 'info');
}

const functional = (layer: unknown) => ({ class_name: 'Functional', config: { name: 'model', layers: [layer] } });
const tfOp = (fn: unknown, cls = 'TFOpLambda') => functional({ class_name: cls, config: { name: 'op', trainable: true, dtype: 'float32', function: fn }, inbound_nodes: [] });

describe('tf.keras TFOpLambda layers call tf.<function> by name', () => {
  it.each(['io.write_file', 'io.gfile.rmtree', 'compat.v1.io.write_file', 'raw_ops.WriteFile', 'numpy_function', 'compat.v1.py_func', 'print', 'load_library', 'compat.v1.read_file', 'compat.v1.write_file', 'compat.v1.matching_files', 'compat.v1.python_io.TFRecordWriter', 'compat.v1.resource_loader.load_resource', 'lite.experimental.load_delegate', 'lite.Interpreter', 'profiler.experimental.start', 'test.main', 'compat.v1.Session'])('%s is dangerous', (fn) => {
    expect(scan(tfOp(fn))).toMatchObject([{ severity: 'dangerous', rule: 'keras/dangerous-function', message: expect.stringContaining(`tf.${fn}`) }]);
  });

  it('SlicingOpLambda too', () => {
    expect(scan(tfOp('io.read_file', 'SlicingOpLambda'))).toMatchObject([{ severity: 'dangerous' }]);
  });

  it.each(['math.add', '__operators__.add', 'nn.relu', 'reshape', 'concat', 'compat.v1.transpose'])('%s (arithmetic) is not flagged', (fn) => {
    expect(scan(tfOp(fn))).toEqual([]);
  });

  it('a function that is not a name is suspicious', () => {
    expect(scan(tfOp({ class_name: 'function', config: 'x' }))).toMatchObject([{ severity: 'suspicious', rule: 'keras/custom-object' }]);
  });
});

describe('a dangerous Keras function named as a class_name', () => {
  it.each([
    { class_name: 'enable_unsafe_deserialization', module: 'keras.config', config: {} },
    { class_name: 'get_file', module: 'keras.utils', registered_name: null, config: {} },
    { class_name: 'Dense', module: 'keras.layers', config: { name: 'd', activation: { class_name: 'get_file', module: 'keras.utils', config: null } } },
  ])('%j is dangerous (Keras returns the exported function for a class_name under a keras module)', (o) => {
    expect(scan(functional(o))).toMatchObject([{ severity: 'dangerous', rule: 'keras/dangerous-function' }]);
  });
});
