import type { FormatView } from '../format.js';
import type { OnnxModel } from './model.js';

/**
 * Inspect's view of an ONNX model, from the ModelProto the reader parsed: ir_version, producer, the
 * opset imports, graph counts (nodes, initializers of the main graph and of subgraphs, Constant nodes'
 * tensors, subgraphs) and the external data files its tensors name.
 */
export function describeOnnx(model: OnnxModel): FormatView {
  const initializers = model.tensors.filter((t) => t.where === 'initializer').length;
  const subgraphInitializers = model.tensors.filter((t) => t.where.startsWith('initializer of subgraph')).length;
  const constants = model.tensors.filter((t) => t.where.startsWith('Constant node')).length;
  const external = new Map<string, number>();
  for (const t of model.tensors) {
    if (t.data?.kind !== 'external') continue;
    const location = t.data.entries.get('location') ?? '(no location)';
    external.set(location, (external.get(location) ?? 0) + 1);
  }
  return [
    {
      title: 'ONNX',
      rows: [
        { key: 'ir_version', value: model.irVersion === undefined ? 'not set' : String(model.irVersion) },
        { key: 'producer', value: model.producer === '' ? 'not set' : `${model.producer}${model.producerVersion ? ` ${model.producerVersion}` : ''}` },
      ],
    },
    { title: 'opset imports', rows: model.opsets.map((o) => { const [domain, version] = o.split(' '); return { key: domain!, value: version ?? '' }; }) },
    {
      title: 'graph',
      rows: [
        { key: 'nodes', value: String(model.nodes) },
        { key: 'initializers', value: String(initializers) },
        { key: 'initializers in subgraphs', value: String(subgraphInitializers) },
        { key: 'Constant tensors', value: String(constants) },
        { key: 'subgraphs', value: String(model.subgraphs) },
        { key: 'left out', value: String(model.leftOut.length) },
      ],
    },
    ...(external.size > 0 ? [{ title: 'external data', rows: [...external].map(([file, n]) => ({ key: file, value: `${n} tensor${n === 1 ? '' : 's'}` })) }] : []),
  ];
}
