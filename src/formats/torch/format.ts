import type { FormatDescriptor } from '../format.js';

/** Where a torch zip keeps its pickle: `<folder>/data.pkl`. */
export const DATA_PKL = /(^|\/)data\.pkl$/;

/**
 * PyTorch checkpoints: torch zip archives (and TorchScript ones), legacy stacked pickles, the old tar
 * format, and bare pickles. Protocol 0 and 1 pickles have no signature, so `pickle` containers and
 * text are claimed only by extension through `formatsByExtension`, never by bytes here.
 */
export const pytorchFormat: FormatDescriptor = {
  id: 'pytorch',
  name: 'PyTorch (.pt, .pth, .bin, .ckpt, pickle)',
  framework: 'pt',
  extensions: ['.pt', '.pth', '.bin', '.ckpt', '.pkl', '.pickle'],
  ruleDescriptions: {
    'torchscript/code': 'A TorchScript archive carries code that torch.jit.load runs',
    'pytorch/invalid': 'The checkpoint is inconsistent in a way torch.load would not accept',
  },
  detect: (probe) =>
    probe.container === 'pickle' || probe.container === 'tar' || (probe.container === 'zip' && (probe.entries?.some((n) => DATA_PKL.test(n)) ?? false)),
  load: () => import('./reader.js').then((m) => m.pytorchReader),
};
