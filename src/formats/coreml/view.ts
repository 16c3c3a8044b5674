import type { TensorSet } from '../../tensor/tensor-set.js';
import { viewValue, type FormatView } from '../format.js';
import type { CoremlStructure } from './reader.js';

/** Inspect's view of a Core ML model: specification version, model types, description, weights, MIL operations and functions. */
export function describeCoreml(s: CoremlStructure, tensors: TensorSet): FormatView {
  const m = s.model;
  const rows = [
    { key: 'form', value: s.kind === 'mlpackage' ? `.mlpackage (root model ${s.root})` : s.kind === 'mil-text' ? 'MIL text (compiled .mlmodelc)' : '.mlmodel' },
    ...(m ? [{ key: 'specification version', value: String(m.specificationVersion) }, { key: 'model types', value: m.types.map((t) => `${t.prefix}${t.type}`).join(', ') || 'none' }] : []),
    ...(m ? [{ key: 'inputs, outputs', value: `${m.description.inputs}, ${m.description.outputs}` }] : []),
    ...(m && m.nn.length > 0 ? [{ key: 'neural network weights', value: String(m.nn.length) }] : []),
    ...(m && m.functions.length > 0 ? [{ key: 'functions', value: m.functions.join(', ') }] : []),
    ...(s.program ? [{ key: 'program', value: s.program.version }] : []),
    { key: 'tensors', value: String(tensors.tensors.length) },
    { key: 'left out', value: String(tensors.leftOut.length) },
  ];
  const ops = new Map<string, number>();
  for (const op of m?.ops ?? []) ops.set(op.type, (ops.get(op.type) ?? 0) + 1);
  for (const [type, n] of s.program?.ops ?? []) ops.set(type, n);
  return [
    { title: 'Core ML', rows },
    ...(m && m.description.metadata.size > 0 ? [{ title: 'metadata', rows: [...m.description.metadata].map(([key, value]) => ({ key, value: viewValue(value) })) }] : []),
    ...(ops.size > 0 ? [{ title: 'MIL operations', rows: [...ops].sort((a, b) => b[1] - a[1]).map(([key, n]) => ({ key, value: String(n) })) }] : []),
  ];
}
