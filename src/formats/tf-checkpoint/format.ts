import type { DetectProbe, FormatDescriptor } from '../format.js';
import { hasTableMagic } from './table.js';
import { isFingerprint } from './fingerprint.js';
import { peekVarint } from '../protobuf/small-message.js';

/**
 * Whether a head is a SavedModel (saved_model.proto: saved_model_schema_version 1, meta_graphs 2), its
 * fields in any order and unknown ones skipped, as protobuf parsers read them: a field 2 whose payload
 * reads, as far as the head shows, as MetaGraphDef fields (numbers 1 to 7, all messages, lengths inside
 * it). An ONNX ModelProto has a field 2 too, producer_name, text: text that reads as such fields is no
 * name any exporter writes (and a SavedModel that makes its field 2 read as ONNX's producer name, with an
 * ONNX graph beside it that TensorFlow ignores, is a SavedModel). `strict` (a head that does not start
 * like a protobuf: an unknown field first): two MetaGraphDef fields seen, or all of it.
 */
function isSavedModel(probe: DetectProbe, strict: boolean): boolean {
  const b = probe.head;
  const end = Math.min(b.length, probe.size);
  // [value, the position after it]
  const varint = (at: number): [number, number] | undefined => {
    const v = peekVarint(b, at, end);
    return v && [v[0], at + v[1]];
  };
  let pos = 0;
  while (pos < end) {
    const key = varint(pos);
    if (key === undefined) return false;
    const [k, after] = key;
    const no = Math.floor(k / 8);
    const wire = k % 8;
    if (no === 0) return false;
    if (wire === 0) {
      const v = varint(after);
      if (v === undefined) return false;
      pos = v[1];
    } else if (wire === 1 || wire === 5) {
      pos = after + (wire === 1 ? 8 : 4);
    } else if (wire === 2) {
      const l = varint(after);
      if (l === undefined || l[1] + l[0] > probe.size) return false;
      if (no === 2) return isMetaGraphHead(l[1], l[1] + l[0]);
      pos = l[1] + l[0];
    } else return false;
  }
  return false;

  /** MetaGraphDef fields (all length-delimited, 1 to 7) from `start`, as far as the head goes: at least one (strict: two, or all). */
  function isMetaGraphHead(start: number, stop: number): boolean {
    if (stop - start < 2) return false;
    let at = start;
    let fields = 0;
    while (at < Math.min(stop, end)) {
      const key = varint(at);
      if (key === undefined) return fields > (strict ? 1 : 0) && at + 10 > end;
      const [k, after] = key;
      if (k % 8 !== 2 || k / 8 < 1 || k / 8 >= 8) return false;
      const l = varint(after);
      if (l === undefined) return fields > (strict ? 1 : 0) && after + 10 > end;
      if (l[1] + l[0] > stop) return false;
      fields++;
      at = l[1] + l[0];
    }
    return strict ? fields > 1 || at === stop : fields > 0;
  }
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
    'tf/fingerprint': "a SavedModel's fingerprint.pb: hashes of the model, no tensors (info)",
    'tf/text-saved-model': 'a SavedModel in protobuf text form (saved_model.pbtxt): its graph is not read, its ops not checked',
  },
  // A SavedModel's variables are its part, not a checkpoint of their own (batch conversion); a bundle's
  // data shards have no model extension. The bytes are not needed: the path is fixed.
  referencedFiles: (bytes) => (hasTableMagic(bytes.subarray(Math.max(0, bytes.length - 8))) ? [] : ['variables/variables.index']),
  detect: (probe) =>
    (probe.tail !== undefined ? hasTableMagic(probe.tail) : probe.size <= probe.head.length && hasTableMagic(probe.head)) ||
    (probe.container === 'onnx-or-protobuf' && (isSavedModel(probe, false) || isKerasMetadata(probe.head) || isFingerprint(probe.head, probe.size))) ||
    (probe.container === 'unknown' && isSavedModel(probe, true)) ||
    (probe.container === 'text' && isTextSavedModel(probe.head)),
  load: () => import('./reader.js').then((m) => m.tfCheckpointReader),
};
