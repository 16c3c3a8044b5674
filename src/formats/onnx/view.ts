import type { FormatView } from '../format.js';
import type { OnnxModel } from './model.js';

/**
 * Inspect's view of an ONNX model, from the ModelProto the reader parsed: ir_version, producer (domain
 * and model_version when set), the opset imports, graph counts (nodes, initializers of the main graph
 * and of subgraphs, Constant nodes' tensors, subgraphs, model-local functions), the operator domains its
 * nodes use, and the external data files its tensors name (wherever they are: functions and training
 * graphs too).
 */
export function describeOnnx(model: OnnxModel): FormatView {
  const initializers = model.tensors.filter((t) => t.where === 'initializer').length;
  const subgraphInitializers = model.tensors.filter((t) => t.where.startsWith('initializer of subgraph')).length;
  const constants = model.tensors.filter((t) => t.where.startsWith('Constant node')).length;
  const external = new Map<string, number>();
  for (const t of model.facts.external) {
    for (const location of new Set(t.locations.map((l) => l.value))) external.set(location, (external.get(location) ?? 0) + 1);
  }
  return [
    {
      title: 'ONNX',
      rows: [
        { key: 'ir_version', value: model.irVersion === undefined ? 'not set' : String(model.irVersion) },
        { key: 'producer', value: model.producer === '' ? 'not set' : `${model.producer}${model.producerVersion ? ` ${model.producerVersion}` : ''}` },
        // Optional fields most producers leave out: shown when set.
        ...(model.domain !== '' ? [{ key: 'domain', value: model.domain }] : []),
        ...(model.modelVersion !== undefined ? [{ key: 'model_version', value: String(model.modelVersion) }] : []),
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
        { key: 'functions', value: String(model.facts.functions) },
        { key: 'left out', value: String(model.leftOut.length) },
      ],
    },
    { title: 'operator domains', rows: [...model.facts.domains].map(([domain, ops]) => ({ key: domain === '' ? 'ai.onnx' : domain, value: [...ops].sort().join(', ') })) },
    ...(external.size > 0 ? [{ title: 'external data', rows: [...external].map(([file, n]) => ({ key: file, value: `${n} tensor${n === 1 ? '' : 's'}` })) }] : []),
  ];
}
