import type { ModelSummary, TensorColumns } from '../protocol.js';

/** A job's result whose typed arrays' buffers are moved to the page (postMessage's transfer list) instead of copied. */
export class Transferring<T> {
  constructor(
    readonly value: T,
    readonly buffers: readonly ArrayBuffer[],
  ) {}
}

/**
 * Summaries as the page gets them: the columns' typed arrays copied (the worker keeps its own, for
 * later jobs) and the copies moved, so the page's thread only takes them (a copy here is a memcpy;
 * a structured clone there would be one more pass on the page's thread).
 */
export function summariesForPage(summaries: readonly ModelSummary[]): Transferring<ModelSummary[]> {
  const buffers: ArrayBuffer[] = [];
  const moved = <A extends Float64Array | Uint32Array>(a: A): A => {
    const copy = a.slice() as A;
    buffers.push(copy.buffer as ArrayBuffer);
    return copy;
  };
  const value = summaries.map((s) => {
    const t = s.tensors;
    const tensors: TensorColumns = { names: t.names, dtypes: t.dtypes, dims: moved(t.dims), dimStart: moved(t.dimStart), params: moved(t.params), bytes: moved(t.bytes), fileOf: moved(t.fileOf) };
    return { ...s, tensors };
  });
  return new Transferring(value, buffers);
}
