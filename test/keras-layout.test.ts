import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TensorsafeError } from '../src/errors.js';
import type { H5AttributeValue, H5Dataset, H5Group } from '../src/formats/keras/h5-access.js';
import { readLegacy } from '../src/formats/keras/legacy-layout.js';
import { parseModelConfig } from '../src/formats/keras/model-config.js';
import { readKeras3, naturalCompare } from '../src/formats/keras/v3-layout.js';
import { classFromName, toSnakeCase, variableNames } from '../src/formats/keras/variable-names.js';
import { STORED, type TensorEntry } from '../src/tensor/tensor-set.js';

/**
 * The Keras layouts over an in-memory HDF5 tree (the H5Group interface the layouts are written
 * against): naming, ordering, split attributes and the coded errors, independent of the HDF5 reader.
 * The real files (h5py's) are in test/fixtures/formats/keras and test/keras.test.ts.
 */

interface Node {
  attrs?: Record<string, H5AttributeValue>;
  /** A group's children; a dataset is `{ shape }`. */
  children?: Record<string, Node>;
  shape?: number[];
}

function group(node: Node, path: string): H5Group {
  const child = (rel: string): { node: Node; path: string } | undefined => {
    let n: Node | undefined = node;
    let p = path;
    for (const seg of rel.split('/')) {
      n = n?.children?.[seg];
      p = p === '/' ? `/${seg}` : `${p}/${seg}`;
    }
    return n === undefined ? undefined : { node: n, path: p };
  };
  return {
    path,
    links: async () => Object.entries(node.children ?? {}).map(([name, n]) => ({ name, kind: n.shape ? ('dataset' as const) : ('group' as const) })),
    group: async (rel) => {
      const c = child(rel);
      return c && !c.node.shape ? group(c.node, c.path) : undefined;
    },
    dataset: async (rel) => {
      const c = child(rel);
      return c?.node.shape ? dataset(c.node, c.path) : undefined;
    },
    attribute: async (name) => node.attrs?.[name],
    attributeNames: async () => Object.keys(node.attrs ?? {}),
  };
}

function dataset(node: Node, path: string): H5Dataset {
  return {
    path,
    shape: node.shape!,
    attribute: async (name) => node.attrs?.[name],
    tensor: async (name, as): Promise<TensorEntry> => ({ name, dtype: as ?? 'F32', shape: node.shape!, byteLength: 0, encoding: STORED, fidelity: 'exact', chunks: async function* () {} }),
  };
}

const ds = (...shape: number[]): Node => ({ shape });

describe('legacy Keras HDF5 layouts', () => {
  const keras2: Node = {
    attrs: { keras_version: '2.2.4' },
    children: {
      model_weights: {
        attrs: { layer_names: ['dense', 'dropout', 'dense_1'] },
        children: {
          dense: { attrs: { weight_names: ['dense/kernel:0', 'dense/bias:0'] }, children: { dense: { children: { 'kernel:0': ds(3, 2), 'bias:0': ds(2) } } } },
          dropout: { attrs: { weight_names: [] } },
          dense_1: { attrs: { weight_names: ['dense_1/kernel:0'] }, children: { dense_1: { children: { 'kernel:0': ds(2, 1) } } } },
        },
      },
      optimizer_weights: { attrs: { weight_names: ['Adam/iterations:0'] } },
    },
  };

  it('model.save: layer_names order, weight_names order, :0 dropped, optimizer left out', async () => {
    const read = (await readLegacy(group(keras2, '/'), 'm.h5', '2.2.4', 'sequential'))!;
    expect(read.kind).toBe('legacy-model');
    expect(read.weights.map((w) => [w.name, w.dataset.path])).toEqual([
      ['dense/kernel', '/model_weights/dense/dense/kernel:0'],
      ['dense/bias', '/model_weights/dense/dense/bias:0'],
      ['dense_1/kernel', '/model_weights/dense_1/dense_1/kernel:0'],
    ]);
    expect(read.leftOut).toEqual([{ path: '/optimizer_weights', what: 'optimizer state (1 weight): not model weights' }]);
  });

  it('split attributes are read in order, layer_names0, layer_names1, …', async () => {
    const split: Node = {
      attrs: { layer_names0: ['a'], layer_names1: ['b', 'c'], layer_names3: ['ignored: after a gap'] },
      children: {
        a: { attrs: { weight_names0: ['a/w:0'], weight_names1: ['a/v:0'] }, children: { a: { children: { 'w:0': ds(1), 'v:0': ds(2) } } } },
        b: { attrs: { weight_names: ['b/w:0'] }, children: { b: { children: { 'w:0': ds(1) } } } },
        c: { attrs: { weight_names: [] } },
      },
    };
    const read = (await readLegacy(group(split, '/'), 'w.h5', '2.4.0', undefined))!;
    expect(read.kind).toBe('legacy-weights');
    expect(read.layerNames).toEqual(['a', 'b', 'c']);
    expect(read.weights.map((w) => w.name)).toEqual(['a/w', 'a/v', 'b/w']);
  });

  it('Keras 3: the model name in front of variable paths is dropped; top_level_model_weights read', async () => {
    const k3: Node = {
      children: {
        model_weights: {
          attrs: { layer_names: ['dense_3'] },
          children: {
            dense_3: { attrs: { weight_names: ['sequential/dense_3/kernel'] }, children: { sequential: { children: { dense_3: { children: { kernel: ds(2, 2) } } } } } },
            top_level_model_weights: { attrs: { weight_names: ['sequential/scale'] }, children: { sequential: { children: { scale: ds(1) } } } },
          },
        },
      },
    };
    const read = (await readLegacy(group(k3, '/'), 'k3.h5', '3.11.3', 'sequential'))!;
    expect(read.weights.map((w) => w.name)).toEqual(['dense_3/kernel', 'scale']);
    // Keras 2 names keep any prefix (it is no model name there).
    const read2 = (await readLegacy(group(k3, '/'), 'k3.h5', '2.15.0', 'sequential'))!;
    expect(read2.weights.map((w) => w.name)).toEqual(['sequential/dense_3/kernel', 'sequential/scale']);
  });

  it("Hugging Face tf_model.h5: named as transformers' TF safetensors (model name dropped, :0 kept)", async () => {
    const hf: Node = {
      attrs: { layer_names: ['bert'] },
      children: { bert: { attrs: { weight_names: ['tf_bert_model/bert/pooler/dense/kernel:0'] }, children: { tf_bert_model: { children: { bert: { children: { pooler: { children: { dense: { children: { 'kernel:0': ds(2, 2) } } } } } } } } } } },
    };
    const read = (await readLegacy(group(hf, '/'), 'tf_model.h5', '2.15.0', undefined))!;
    expect(read.kind).toBe('hf-tf');
    expect(read.weights.map((w) => w.name)).toEqual(['bert/pooler/dense/kernel:0']);
  });

  it('coded errors: a missing layer group, a missing weight, a duplicate, names that are not strings', async () => {
    const missingLayer: Node = { attrs: { layer_names: ['a', 'b'] }, children: { a: { attrs: { weight_names: [] } } } };
    await expect(readLegacy(group(missingLayer, '/'), 'x.h5', '2', undefined)).rejects.toMatchObject({ code: 'KerasLayerMissing', message: expect.stringContaining('layer "b"') });
    const missingWeight: Node = { attrs: { layer_names: ['a'] }, children: { a: { attrs: { weight_names: ['a/w:0'] } } } };
    await expect(readLegacy(group(missingWeight, '/'), 'x.h5', '2', undefined)).rejects.toMatchObject({ code: 'KerasWeightMissing', message: expect.stringContaining('/a/a/w:0') });
    const duplicate: Node = { attrs: { layer_names: ['a', 'a'] }, children: { a: { attrs: { weight_names: [] } } } };
    await expect(readLegacy(group(duplicate, '/'), 'x.h5', '2', undefined)).rejects.toMatchObject({ code: 'KerasDuplicate' });
    const numbers: Node = { attrs: { layer_names: [1, 2] }, children: {} };
    await expect(readLegacy(group(numbers, '/'), 'x.h5', '2', undefined)).rejects.toMatchObject({ code: 'InvalidKeras' });
  });

  it('an HDF5 file without a legacy layout is not one', async () => {
    expect(await readLegacy(group({ children: { x: ds(1) } }, '/'), 'x.h5', undefined, undefined)).toBeUndefined();
  });
});

describe('Keras 3 weights layout', () => {
  const vars = (name: string, ...shapes: number[][]): Node => ({ attrs: { name }, children: Object.fromEntries(shapes.map((s, i) => [String(i), ds(...s)])) });
  const file: Node = {
    children: {
      vars: vars('sequential'),
      layers: {
        children: {
          dense: { children: { vars: vars('dense_3', [12, 64], [64]) } },
          dense_1: { children: { vars: vars('out', [64, 1]) } },
          dense_10: { children: { vars: vars('late', [1], [1]) } },
          batch_normalization: { children: { vars: vars('bn', [4], [4], [4]) } },
          lstm: { children: { vars: vars('lstm'), cell: { children: { vars: vars('lstm_cell', [3, 8], [2, 8], [8]) } } } },
          my_layer: { children: { vars: vars('mine', [2]) } },
        },
      },
      optimizer: { children: { vars: vars('adam', [], [], [12, 64]) } },
    },
  };

  it('names from the name attribute and the class build order; unknown classes by index; optimizer left out', async () => {
    const config = parseModelConfig(
      JSON.stringify({ class_name: 'Sequential', config: { name: 'sequential', layers: [
        { class_name: 'BatchNormalization', config: { name: 'bn', scale: false } },
        { class_name: 'Dense', config: { name: 'dense_3' } },
        { class_name: 'Dense', config: { name: 'out', use_bias: false } },
      ] } }),
      'config.json',
    );
    const read = await readKeras3(group(file, '/'), 'model.weights.h5', config);
    expect(read.weights.map((w) => w.name)).toEqual([
      // config.json's order first (bn, dense_3, out), then the rest in natural path order
      'bn/beta', 'bn/moving_mean', 'bn/moving_variance',
      'dense_3/kernel', 'dense_3/bias',
      'out/kernel',
      'late/kernel', 'late/bias',
      'lstm/lstm_cell/kernel', 'lstm/lstm_cell/recurrent_kernel', 'lstm/lstm_cell/bias',
      'layers/my_layer/0',
    ]);
    expect(read.namedByIndex).toEqual(['layers/my_layer/0']);
    expect(read.leftOut).toEqual([{ path: 'optimizer', what: 'optimizer state (adam): 3 variables, not model weights' }]);
  });

  it('without a config: classes from the path; a BatchNormalization count that does not fit is named by index', async () => {
    const read = await readKeras3(group(file, '/'), 'x.weights.h5', undefined);
    expect(read.weights.map((w) => w.name).slice(0, 3)).toEqual(['layers/batch_normalization/0', 'layers/batch_normalization/1', 'layers/batch_normalization/2']);
    expect(read.weights.map((w) => w.name)).toContain('out/kernel');
  });

  it('bfloat16 datasets (a dtype attribute) are read as BF16', async () => {
    const bf: Node = { children: { layers: { children: { dense: { children: { vars: { attrs: { name: 'd' }, children: { 0: { shape: [2, 2], attrs: { dtype: 'bfloat16' } } } } } } } } } };
    const read = await readKeras3(group(bf, '/'), 'x.weights.h5', undefined);
    expect(read.weights.map((w) => [w.name, w.bf16])).toEqual([['d/kernel', true]]);
  });

  it('nesting past MAX_KERAS_OBJECT_DEPTH is a coded error, not a stack overflow', async () => {
    let deep: Node = { children: { vars: vars('x', [1]) } };
    for (let i = 0; i < 100; i++) deep = { children: { n: deep } };
    await expect(readKeras3(group(deep, '/'), 'deep.weights.h5', undefined)).rejects.toMatchObject({ code: 'KerasLimit' });
  });
});

describe('variable names', () => {
  it("snake_case as Keras's naming.to_snake_case", () => {
    expect(['Conv2D', 'DepthwiseConv2D', 'BatchNormalization', 'MultiHeadAttention', 'LSTM', 'LSTMCell', 'SimpleRNNCell', 'PReLU', 'Conv2DTranspose'].map(toSnakeCase)).toEqual([
      'conv2d', 'depthwise_conv2d', 'batch_normalization', 'multi_head_attention', 'lstm', 'lstm_cell', 'simple_rnn_cell', 'p_re_lu', 'conv2d_transpose',
    ]);
  });

  it('classes from path segments and automatic names', () => {
    expect(['dense_12', 'conv2d', '_query_dense', 'lstm_cell', 'forward_lstm_cell', 'separable_conv2d_3', 'my_layer'].map(classFromName)).toEqual([
      'Dense', 'Conv2D', 'Dense', 'LSTMCell', 'LSTMCell', 'SeparableConv2D', undefined,
    ]);
  });

  it('the build order, with options that leave variables out', () => {
    expect(variableNames('Dense', 2, undefined)).toEqual(['kernel', 'bias']);
    expect(variableNames('Dense', 1, { use_bias: false })).toEqual(['kernel']);
    expect(variableNames('Dense', 3, undefined)).toBeUndefined();
    expect(variableNames('BatchNormalization', 3, { center: false })).toEqual(['gamma', 'moving_mean', 'moving_variance']);
    expect(variableNames('BatchNormalization', 3, undefined)).toBeUndefined();
    expect(variableNames('LayerNormalization', 1, { rms_scaling: true })).toEqual(['gamma']);
    expect(variableNames('SeparableConv2D', 3, undefined)).toEqual(['depthwise_kernel', 'pointwise_kernel', 'bias']);
  });

  it('natural order of object paths', () => {
    expect(['layers/dense_10', 'layers/dense_2', 'layers/dense', 'layers/depthwise_conv2d', 'layers/dense_1', 'layers/dense/x'].sort(naturalCompare)).toEqual([
      'layers/dense', 'layers/dense/x', 'layers/dense_1', 'layers/dense_2', 'layers/dense_10', 'layers/depthwise_conv2d',
    ]);
  });

  it('natural order of names holding a line break (any byte may be in an HDF5 link name; was a TypeError found by the fuzz)', () => {
    expect(['a\nb_2', 'a\nb_10', 'a\nb'].sort(naturalCompare)).toEqual(['a\nb', 'a\nb_2', 'a\nb_10']);
  });
});

describe('model config', () => {
  it('layers, nested objects, Lambda layers and custom objects, read as data', () => {
    const c = parseModelConfig(
      JSON.stringify({
        class_name: 'Functional',
        config: {
          name: 'model',
          layers: [
            { class_name: 'InputLayer', config: { name: 'in' } },
            { class_name: 'Lambda', config: { name: 'fn', function: ['YQ==', null, null] } },
            { module: 'evil.layers', class_name: 'Custom', config: { name: 'c' } },
            { class_name: 'Functional', config: { name: 'inner', layers: [{ class_name: 'Dense', config: { name: 'inner_dense' } }] } },
          ],
        },
      }),
      'config.json',
    );
    expect(c.className).toBe('Functional');
    expect(c.name).toBe('model');
    expect(c.layers.map((l) => `${l.name}:${l.className}`)).toEqual(['in:InputLayer', 'fn:Lambda', 'c:Custom', 'inner:Functional']);
    expect(c.objects.get('inner_dense')?.className).toBe('Dense');
    expect(c.lambdas).toEqual(['fn']);
    expect(c.customObjects).toEqual(['Custom (module evil.layers)']);
    // Keras 1/2 Sequential: the config is the list of layers.
    expect(parseModelConfig('{"class_name": "Sequential", "config": [{"class_name": "Dense", "config": {"name": "d"}}]}', 'x').layers).toEqual([{ name: 'd', className: 'Dense' }]);
    expect(() => parseModelConfig('{', 'x.keras:config.json')).toThrow(expect.objectContaining({ code: 'InvalidKeras' }));
  });
});

describe('layouts over random trees', () => {
  /** A random tree: groups with Keras's names and others, attributes of every kind, datasets. */
  const value = fc.oneof(fc.constantFrom<H5AttributeValue>('dense', 'a/b:0', '', 'bfloat16'), fc.array(fc.constantFrom('a', 'b', 'a/w:0', 'b/w:0', 'w:0', 'x'), { maxLength: 4 }), fc.integer(), fc.array(fc.integer(), { maxLength: 3 }));
  const attrs = fc.dictionary(fc.constantFrom('layer_names', 'layer_names0', 'layer_names1', 'weight_names', 'weight_names0', 'name', 'dtype', 'keras_version'), value, { maxKeys: 3 });
  const tree: fc.Arbitrary<Node> = fc.letrec<{ node: Node }>((tie) => ({
    node: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.record({ shape: fc.array(fc.nat({ max: 3 }), { maxLength: 2 }), attrs }),
      fc.record({ attrs, children: fc.dictionary(fc.constantFrom('a', 'b', 'w:0', 'vars', 'layers', 'model_weights', 'optimizer', '0', '1', 'top_level_model_weights'), tie('node'), { maxKeys: 4 }) }),
    ),
  })).node;

  it('give weights or coded errors, never another exception', async () => {
    await fc.assert(
      fc.asyncProperty(tree, async (root) => {
        for (const read of [() => readLegacy(group(root, '/'), 'r.h5', '3.1', 'a'), () => readKeras3(group(root, '/'), 'r.h5', undefined)]) {
          try {
            await read();
          } catch (e) {
            expect(e).toBeInstanceOf(TensorsafeError);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });
});
