import { FormatProblem, malformed } from '../../io/format-problem.js';
import { TfCheckpointError } from './errors.js';
import { crc32c, maskCrc } from './crc32c.js';
import { smallFields, varintAt } from '../protobuf/small-message.js';

/**
 * The object graph a TF2 checkpoint stores as the string tensor `_CHECKPOINTABLE_OBJECT_GRAPH`: a
 * TrackableObjectGraph (trackable_object_graph.proto: nodes 1 → TrackableObject: children 1, attributes
 * 2 → SerializedTensor: name 1, full_name 2, checkpoint_key 3; slot_variables 3). A string tensor's
 * bytes in a bundle are each element's length as a varint, a 4-byte checksum of the lengths, then the
 * strings; the entry's CRC-32C covers the lengths as 4-byte integers (8 past 2^32; in the bundle's byte order), the
 * 4 checksum bytes and the strings (tensor_bundle.cc WriteStringTensor). Read as data for the view: the checkpoint keys are the object graph's paths already, so the
 * names come from the keys (names.ts).
 */
export interface ObjectGraphSummary {
  readonly nodes: number;
  readonly attributes: number;
  readonly slotVariables: number;
}

/** The CRC-32C TensorFlow stores for a one-element string tensor's bytes, and the string. */
export function scalarString(bytes: Uint8Array, bigEndian: boolean): { crc: number; value: Uint8Array } {
  const [length, n] = varintAt(bytes, 0, 0, 'a string tensor');
  const start = n + 4;
  if (start + length !== bytes.length) throw malformed(`a string tensor holds ${bytes.length - start} bytes after its length, not ${length}`, 0);
  // Each length as 4 bytes when it fits (as older checkpoints wrote them), 8 otherwise, in the bundle's byte order.
  const wide = new Uint8Array(length <= 0xffffffff ? 4 : 8);
  if (wide.length === 4) new DataView(wide.buffer).setUint32(0, length, !bigEndian);
  else new DataView(wide.buffer).setBigUint64(0, BigInt(length), !bigEndian);
  const lengths = crc32c(wide);
  const stored = bytes.subarray(n, start);
  if (new DataView(stored.buffer, stored.byteOffset, 4).getUint32(0, true) !== maskCrc(lengths)) throw malformed("a string tensor's checksum of its lengths does not match them", n);
  const value = bytes.subarray(start);
  return { crc: crc32c(value, crc32c(stored, lengths)), value };
}

export function readObjectGraph(graph: Uint8Array, file: string): ObjectGraphSummary {
  try {
    let nodes = 0;
    let attributes = 0;
    let slotVariables = 0;
    for (const f of smallFields(graph, 0, 'the object graph')) {
      if (f.no !== 1 || f.wire !== 2) continue;
      nodes++;
      for (const g of smallFields(f.bytes, 0, 'an object of the object graph')) {
        if (g.no === 2) attributes++;
        else if (g.no === 3) slotVariables++;
      }
    }
    return { nodes, attributes, slotVariables };
  } catch (e) {
    if (e instanceof FormatProblem) throw new TfCheckpointError('InvalidTfCheckpoint', `${file}: _CHECKPOINTABLE_OBJECT_GRAPH: ${e.message}`, { location: file, cause: e });
    throw e;
  }
}
