import type { FormatView } from '../format.js';
import type { FlaxState } from './state.js';

/** Inspect's view of a Flax checkpoint: its top-level collections, dtypes, chunked arrays, other values. */
export function describeFlax(state: FlaxState): FormatView {
  const tops = new Map<string, number>();
  for (const t of state.tensors) {
    const top = t.name.split('.')[0]!;
    tops.set(top, (tops.get(top) ?? 0) + 1);
  }
  const dtypes = new Map<string, number>();
  for (const t of state.tensors) dtypes.set(t.dtype, (dtypes.get(t.dtype) ?? 0) + 1);
  return [
    {
      title: 'Flax',
      rows: [
        { key: 'arrays', value: String(state.tensors.length) },
        { key: 'numpy scalars', value: String(state.tensors.filter((t) => t.scalar).length) },
        { key: 'chunked arrays', value: String(state.tensors.filter((t) => t.chunked).length) },
        { key: 'other values', value: String(state.leftOut.length) },
      ],
    },
    { title: 'collections', rows: [...tops].map(([k, n]) => ({ key: k, value: `${n} arrays` })) },
    { title: 'dtypes', rows: [...dtypes].map(([k, n]) => ({ key: k, value: String(n) })) },
  ];
}
