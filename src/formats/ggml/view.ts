import type { FormatView } from '../format.js';
import { ggmlVersionName, LLAMA_FTYPES, type GgmlFile } from './header.js';

/** Inspect's view of a legacy GGML file: magic and version, llama's hyperparameters, the vocabulary, tensor types. */
export function describeGgml(file: GgmlFile): FormatView {
  const h = file.hparams;
  const types = new Map<string, number>();
  for (const t of file.tensors) types.set(t.typeName, (types.get(t.typeName) ?? 0) + 1);
  return [
    {
      title: 'GGML (legacy)',
      rows: [
        { key: 'magic', value: file.magic },
        { key: 'version', value: file.version === undefined ? 'none (unversioned)' : String(file.version) },
        { key: 'format', value: ggmlVersionName(file) },
        { key: 'layout', value: 'llama (llama.cpp before GGUF)' },
      ],
    },
    {
      title: 'hparams',
      rows: [
        { key: 'n_vocab', value: String(h.nVocab) },
        { key: 'n_embd', value: String(h.nEmbd) },
        { key: 'n_mult', value: String(h.nMult) },
        { key: 'n_head', value: String(h.nHead) },
        { key: 'n_layer', value: String(h.nLayer) },
        { key: 'n_rot', value: String(h.nRot) },
        { key: 'ftype', value: `${h.ftype}${LLAMA_FTYPES.has(h.ftype) ? ` (${LLAMA_FTYPES.get(h.ftype)})` : ' (unknown)'}` },
      ],
    },
    {
      title: 'vocabulary',
      rows: [
        { key: 'tokens', value: String(file.vocab.entries) },
        { key: 'scores', value: file.vocab.scored ? 'yes' : 'no (unversioned ggml)' },
        { key: 'bytes', value: String(file.vocab.end - file.vocab.start) },
      ],
    },
    { title: 'tensor types', rows: [...types].map(([type, n]) => ({ key: type, value: String(n) })) },
  ];
}
