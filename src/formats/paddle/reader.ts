import type { ByteSource } from '../../io/byte-source.js';
import { MemorySource } from '../../io/byte-source.js';
import { isTensorsafeError } from '../../errors.js';
import type { TensorEntry } from '../../tensor/tensor-set.js';
import type { ContainerRules, ContainerView, FormatReader, ParsedModel } from '../format.js';
import { arrayEntry } from '../numpy/arrays.js';
import { dtypeOf } from '../numpy/dtype.js';
import type { NpyHeader } from '../numpy/header.js';
import { show } from '../scan-rules.js';
import { PaddleError } from './errors.js';
import { readPaddleStateDict, type PaddleArray, type PaddleStateDict } from './state-dict.js';
import { describePaddle } from './view.js';

/**
 * PaddlePaddle `.pdparams` files as TensorSets: each NumPy array under its key, in the dict's order,
 * read as numpy reads it (big-endian swapped, Fortran order gathered, by the NumPy reader's own
 * helpers). An optimizer's state (`.pdopt`) is read for inspect and scan, and refused by `convert`
 * with `PaddleOptimizerState`: it is moments and step counts, not weights.
 */
export const paddleReader: FormatReader<PaddleStateDict> = {
  async open(source: ByteSource): Promise<ParsedModel<PaddleStateDict>> {
    const state = await readPaddleStateDict(source);
    const tensors = state.arrays.map((a) => entry(source, a));
    const leftOut = [...state.leftOut];
    const notes = [`a PaddlePaddle state dict (pickle protocol ${state.protocol}) of ${state.arrays.length} NumPy arrays`];
    if (state.optimizer !== undefined) notes.push(`optimizer state (${state.optimizer}): not converted as weights`);
    return {
      tensors: { format: 'paddle', tensors, leftOut, notes, close: async () => source.close?.(), ...(state.optimizer !== undefined ? { notConvertible: optimizerRefusal(source, state) } : {}) },
      structure: state,
    };
  },
  containerRules: paddleContainerRules,
  describe: (parsed) => describePaddle(parsed.structure),
};

function optimizerRefusal(source: ByteSource, state: PaddleStateDict): PaddleError {
  return new PaddleError(
    'PaddleOptimizerState',
    `${source.name}: an optimizer's state (${state.optimizer}), not a model's weights: moments, beta powers and learning-rate state are not converted; convert the .pdparams file beside it`,
    { location: source.name },
  );
}

function entry(source: ByteSource, a: PaddleArray): TensorEntry {
  const where = `${source.name}:${a.name}`;
  let dtype;
  try {
    dtype = dtypeOf({ kind: 'str', value: a.descr });
  } catch {
    throw new PaddleError('UnsupportedTensor', `${where}: dtype ${show(a.descr)} is not one numpy reads as a plain array; nothing is converted`, { location: where });
  }
  const need = a.shape.reduce((n, d) => n * BigInt(d), 1n) * dtype.itemsize;
  if (need !== BigInt(a.byteLength)) {
    throw new PaddleError('InvalidPaddle', `${where}: ${a.byteLength} bytes of data for dtype ${show(a.descr)} and shape (${a.shape.join(', ')}), which need ${need} (numpy refuses it)`, { location: where });
  }
  const header: NpyHeader = {
    version: 'pickle', dataOffset: a.fileOffset ?? 0, descr: a.descr, shape: [...a.shape], fortranOrder: a.fortran, dtype,
    itemsize: dtype.itemsize, hasObject: dtype.hasObject, isBool: dtype.kind === 'bool', boolInShape: false,
  };
  const from = a.copy !== undefined ? new MemorySource(a.copy, where) : source;
  return arrayEntry(a.name, header, { kind: 'random', source: from }, a.byteLength, where);
}

/** The scanner's walk of a Paddle pickle: its globals are analysed as any pickle's; then the state dict is read as the reader reads it. */
function paddleContainerRules(container: ContainerView): ContainerRules<PaddleStateDict> | undefined {
  if (container.kind !== 'pickle') return undefined;
  return {
    label: 'paddle',
    followingPickles: 0,
    async after(source, ctx, parsed) {
      let state = parsed?.structure !== undefined && isPaddleStateDict(parsed.structure) ? parsed.structure : undefined;
      if (state === undefined) {
        try {
          state = await readPaddleStateDict(source);
        } catch (e) {
          if (!isTensorsafeError(e)) throw e;
          // A global the machine refuses is the walk's finding already; anything else is the format's.
          if (e.code === 'UnsafeGlobal' || e.code === 'UnsupportedGlobal') return;
          ctx.report({ severity: 'suspicious', rule: 'paddle/invalid', message: `not a state dict as paddle.save writes it: ${e.message}`, location: source.name });
          return;
        }
      }
      if (state.optimizer !== undefined) {
        ctx.report({ severity: 'info', rule: 'paddle/optimizer-state', message: `a PaddlePaddle optimizer state (${state.optimizer}) of ${state.arrays.length} arrays: not weights`, location: source.name });
      }
    },
  };
}

function isPaddleStateDict(s: unknown): s is PaddleStateDict {
  return typeof s === 'object' && s !== null && 'arrays' in s && 'protocol' in s && 'optimizer' in s;
}
