import type { DetectProbe, FormatDescriptor } from '../format.js';
import { hasTableMagic } from './table.js';
import { isFingerprint } from './fingerprint.js';

/**
 * Whether a head is a SavedModel (saved_model.proto): field 1 saved_model_schema_version (a varint) then
 * field 2 meta_graphs, whose MetaGraphDef opens with one of its fields 1 to 7 (all messages or maps:
 * meta_info_def, graph_def, …; TF 2 writes object_graph_def, field 7, first), length-delimited and inside
 * the file. An ONNX ModelProto starts with ir_version (field 1) too, but its field 2 is producer_name,
 * text: a producer name that is itself a message whose length fits is no name any exporter writes.
 */
function isSavedModel(probe: DetectProbe): boolean {
  const b = probe.head;
  let pos = 0;
  const varint = (): number | undefined => {
    let v = 0;
    for (let i = 0; i < 10 && pos < b.length; i++) {
      const x = b[pos++]!;
      v += (x & 0x7f) * 2 ** (7 * i);
      if ((x & 0x80) === 0) return v;
    }
    return undefined;
  };
  if (b[0] === 0x08) {
    pos = 1;
    const version = varint();
    if (version === undefined || version > 16) return false;
  }
  if (b[pos] !== 0x12) return false;
  pos++;
  const length = varint();
  if (length === undefined || pos + length > probe.size || length < 2) return false;
  const inner = b[pos]!;
  if (inner % 8 !== 2 || inner < 0x0a || inner > 0x3a) return false;
  pos++;
  const innerLength = varint();
  return innerLength !== undefined && innerLength + 2 <= length;
}

/** TensorFlow SavedModels (saved_model.pb) and checkpoints (a tensor bundle's .index): the index by its LevelDB table magic. */
export const tfCheckpointFormat: FormatDescriptor = {
  id: 'tf-checkpoint',
  name: 'TensorFlow SavedModel and checkpoints (saved_model.pb, .index)',
  framework: 'tf',
  extensions: ['saved_model.pb', '.index'],
  ruleDescriptions: {
    'tf/file-op': 'a SavedModel graph holds an op that reads or writes files when it runs',
    'tf/python-op': 'a SavedModel graph holds a PyFunc op that runs Python code',
    'tf/network-op': 'a SavedModel graph holds an op that opens connections',
    'tf/checkpoint-op': "a SavedModel graph holds Save/Restore ops outside the saver's own functions",
    'tf/debug-url': 'a SavedModel graph holds a debug op that sends tensors to a file or server',
    'tf/asset-path-outside': "a SavedModel asset file name points outside the model's folder",
    'tf/saver-op': "checkpoint ops in the saver's own functions (info)",
    'tf/fingerprint': "a SavedModel's fingerprint.pb: hashes of the model, no tensors (info)",
  },
  // A SavedModel's variables are its part, not a checkpoint of their own (batch conversion); a bundle's
  // data shards have no model extension. The bytes are not needed: the path is fixed.
  referencedFiles: (bytes) => (hasTableMagic(bytes.subarray(Math.max(0, bytes.length - 8))) ? [] : ['variables/variables.index']),
  detect: (probe) => (probe.tail !== undefined ? hasTableMagic(probe.tail) : probe.size <= probe.head.length && hasTableMagic(probe.head)) || (probe.container === 'onnx-or-protobuf' && (isSavedModel(probe) || isFingerprint(probe.head, probe.size))),
  load: () => import('./reader.js').then((m) => m.tfCheckpointReader),
};
