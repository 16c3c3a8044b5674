import type { DetectProbe, FormatDescriptor } from '../format.js';
import { hasTableMagic } from './table.js';

/**
 * Whether a head is a SavedModel (saved_model.proto): field 1 saved_model_schema_version (a varint) then
 * field 2 meta_graphs, whose MetaGraphDef opens with its meta_info_def (field 1) or graph_def (field 2),
 * length-delimited and inside the file. An ONNX ModelProto starts with ir_version (field 1) too, but its
 * field 2 is producer_name, text: a producer name that is itself a message whose length fits is no name
 * any exporter writes.
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
  const inner = b[pos];
  if (inner !== 0x0a && inner !== 0x12) return false;
  pos++;
  const innerLength = varint();
  return innerLength !== undefined && innerLength + 2 <= length;
}

/**
 * A SavedModel in protobuf text form (saved_model.pbtxt, which TensorFlow's loader reads when there is
 * no saved_model.pb): its first field, after comments, is saved_model_schema_version or meta_graphs.
 */
export function isTextSavedModel(head: Uint8Array): boolean {
  return /^\uFEFF?(?:\s*#[^\n]*\n)*\s*(?:saved_model_schema_version\s*:|meta_graphs\s*:?\s*[{<])/.test(new TextDecoder().decode(head));
}

/**
 * tf.keras's keras_metadata.pb beside a SavedModel (SavedMetadata: nodes 1 → SavedObject node_id 2,
 * node_path 3, identifier 4, metadata 5): a first node whose identifier, in the head, is `_tf_keras_…`.
 * Its metadata is the layer JSON Keras revives layers (Lambdas included) from.
 */
export function isKerasMetadata(head: Uint8Array): boolean {
  if (head[0] !== 0x0a || head.length < 4) return false;
  let pos = 1;
  while (pos < 6 && (head[pos]! & 0x80) !== 0) pos++;
  const inner = head[pos + 1];
  return (inner === 0x10 || inner === 0x1a) && new TextDecoder('latin1').decode(head).includes('_tf_keras_');
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
    'tf/text-saved-model': 'a SavedModel in protobuf text form (saved_model.pbtxt): its graph is not read, its ops not checked',
  },
  // A SavedModel's variables are its part, not a checkpoint of their own (batch conversion); a bundle's
  // data shards have no model extension. The bytes are not needed: the path is fixed.
  referencedFiles: (bytes) => (hasTableMagic(bytes.subarray(Math.max(0, bytes.length - 8))) ? [] : ['variables/variables.index']),
  detect: (probe) =>
    (probe.tail !== undefined ? hasTableMagic(probe.tail) : probe.size <= probe.head.length && hasTableMagic(probe.head)) ||
    (probe.container === 'onnx-or-protobuf' && (isSavedModel(probe) || isKerasMetadata(probe.head))) ||
    (probe.container === 'text' && isTextSavedModel(probe.head)),
  load: () => import('./reader.js').then((m) => m.tfCheckpointReader),
};
