import type { TensorSet } from '../../tensor/tensor-set.js';
import type { FormatView } from '../format.js';
import type { TfliteModel } from './model.js';

/** BuiltinOperator CUSTOM (schema.fbs). */
const CUSTOM = 32;

/**
 * Inspect's view of a TFLite model: schema version, description, subgraphs (tensors, operators),
 * operator codes (custom ones by name), buffers (inline and placed by offset), quantized and sparse tensors.
 */
export function describeTflite(model: TfliteModel, tensors: TensorSet): FormatView {
  const customs = model.operatorCodes.filter((c) => c.builtin === CUSTOM).map((c) => c.custom ?? '');
  const quantized = model.subgraphs.reduce((a, s) => a + s.tensors.filter((t) => t.quantization !== undefined).length, 0);
  const outside = model.buffers.filter((b) => b.outside).length;
  const sparse = model.subgraphs.reduce((a, s) => a + s.tensors.filter((t) => t.sparsity !== undefined).length, 0);
  return [
    {
      title: 'TFLite',
      rows: [
        { key: 'schema version', value: String(model.version) },
        ...(model.description !== '' ? [{ key: 'description', value: model.description }] : []),
        { key: 'operator codes', value: `${model.operatorCodes.length}${customs.length > 0 ? ` (custom: ${customs.join(', ')})` : ''}` },
        { key: 'buffers', value: `${model.buffers.length}${outside > 0 ? ` (${outside} placed by offset/size)` : ''}` },
        { key: 'quantized tensors', value: String(quantized) },
        ...(sparse > 0 ? [{ key: 'sparse tensors', value: String(sparse) }] : []),
        { key: 'constant tensors', value: String(tensors.tensors.length) },
        { key: 'left out', value: String(tensors.leftOut.length) },
      ],
    },
    {
      title: 'subgraphs',
      rows: model.subgraphs.map((s, i) => ({ key: s.name === '' ? String(i) : s.name, value: `${s.tensors.length} tensors, ${s.operators} operators` })),
    },
  ];
}
