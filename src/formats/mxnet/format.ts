import type { FormatDescriptor } from '../format.js';

/**
 * MXNet NDArray files (`mx.nd.save`, Gluon's `save_parameters`, Module checkpoints' `-0000.params`):
 * the list magic 0x112, then the arrays and their names. Data only: mx.nd.load runs nothing in them.
 * Their first byte (0x12) is a protobuf tag too: asked before ONNX.
 */
export const mxnetFormat: FormatDescriptor = {
  id: 'mxnet',
  name: 'MXNet (.params, .nd)',
  extensions: ['.params', '.nd'],
  inert: true,
  ruleDescriptions: {
    'mxnet/valid': 'an MXNet NDArray file whose structure was checked: it holds data only and cannot carry code',
    'mxnet/malformed': 'an MXNet NDArray file whose structure is damaged',
    'mxnet/limit-exceeded': 'an MXNet NDArray file past one of tensorsafe’s limits: not fully checked',
    'mxnet/trailing-data': 'bytes after the names of an MXNet NDArray file, which MXNet never reads',
  },
  detect: (probe) => isMxnetList(probe.head, probe.size),
  load: () => import('./reader.js').then((m) => m.mxnetReader),
};

/** kMXAPINDArrayListMagic: the u64 an NDArray list starts with. */
export const MXNET_LIST_MAGIC = 0x112n;

/** Whether the first bytes are an NDArray list: the list magic, a zero reserved word, and a count the file can hold. */
export function isMxnetList(head: Uint8Array, size: number): boolean {
  if (head.length < 24) return false;
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (dv.getBigUint64(0, true) !== MXNET_LIST_MAGIC || dv.getBigUint64(8, true) !== 0n) return false;
  // Every NDArray takes at least 4 bytes (a legacy empty one), and the name count 8.
  return dv.getBigUint64(16, true) <= BigInt(Math.max(0, size - 32)) / 4n;
}
