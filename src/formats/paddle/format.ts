import type { FormatDescriptor } from '../format.js';

/**
 * PaddlePaddle `.pdparams` (paddle.save of a state dict) and `.pdopt` (an optimizer's state): a pickle,
 * protocol 2 to 4, of a dict of NumPy arrays. Claimed from its bytes: a protocol 2–4 pickle whose
 * first value is a dict and whose first bytes name numpy's array reconstruction and nothing of torch's
 * (a bare torch pickle names `torch._utils`; a legacy torch file starts with its magic number, not a
 * dict). Asked before PyTorch, which claims every other pickle.
 */
export const paddleFormat: FormatDescriptor = {
  id: 'paddle',
  name: 'PaddlePaddle (.pdparams, .pdopt)',
  // `.pdopt` files (optimizer state) are not models: a folder's discovery leaves them out; named, they are read by their bytes.
  extensions: ['.pdparams'],
  ruleDescriptions: {
    'paddle/invalid': 'a PaddlePaddle pickle that is not a state dict of NumPy arrays as paddle.save writes it',
    'paddle/optimizer-state': 'a PaddlePaddle optimizer state (.pdopt): moments and learning-rate state, not weights',
  },
  detect: (probe) => probe.container === 'pickle' && isPaddleHead(probe.head),
  load: () => import('./reader.js').then((m) => m.paddleReader),
};

const ascii = (b: Uint8Array): string => String.fromCharCode(...b);

/** PROTO 2–4, an optional FRAME, an empty dict or an OrderedDict, then numpy's `_reconstruct` named before anything of torch's. */
export function isPaddleHead(head: Uint8Array): boolean {
  if (head[0] !== 0x80 || head[1] === undefined || head[1] < 2 || head[1] > 4) return false;
  let at = 2;
  if (head[at] === 0x95) at += 9; // FRAME and its u64 length (protocol 4)
  const text = ascii(head);
  // EMPTY_DICT (paddle.save's own dict), or an OrderedDict (a state_dict pickled as it is): GLOBAL or STACK_GLOBAL.
  const orderedDict = text.startsWith('ccollections\nOrderedDict\n', at) || text.startsWith('\x8c\x0bcollections\x94\x8c\x0bOrderedDict', at);
  if (head[at] !== 0x7d && !orderedDict) return false;
  const numpy = Math.max(text.indexOf('numpy.core.multiarray'), text.indexOf('numpy._core.multiarray'));
  return numpy > 0 && text.indexOf('_reconstruct', numpy) > 0 && !text.includes('torch');
}
