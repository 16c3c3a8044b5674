import type { FormatView } from '../format.js';
import { NAME_TABLE_KEY, type PaddleStateDict } from './state-dict.js';

/** Inspect's view of a Paddle file: the pickle's protocol, what the dict holds, optimizer state or weights. */
export function describePaddle(state: PaddleStateDict): FormatView {
  const dtypes = new Map<string, number>();
  for (const a of state.arrays) dtypes.set(a.descr, (dtypes.get(a.descr) ?? 0) + 1);
  return [
    {
      title: 'PaddlePaddle',
      rows: [
        { key: 'kind', value: state.optimizer !== undefined ? `optimizer state (.pdopt): ${state.optimizer}` : 'parameters (.pdparams)' },
        { key: 'pickle protocol', value: String(state.protocol) },
        { key: 'arrays', value: String(state.arrays.length) },
        { key: NAME_TABLE_KEY, value: state.parameterNames === undefined ? 'absent' : `${state.parameterNames.size} names` },
        { key: 'other values', value: String(state.leftOut.length - (state.parameterNames === undefined ? 0 : 1)) },
      ],
    },
    { title: 'numpy dtypes', rows: [...dtypes].map(([k, n]) => ({ key: k, value: String(n) })) },
  ];
}
