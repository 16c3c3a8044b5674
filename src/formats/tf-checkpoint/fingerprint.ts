import { smallFields } from '../protobuf/small-message.js';

/**
 * A SavedModel's `fingerprint.pb` (FingerprintDef, written beside saved_model.pb since TensorFlow 2.12):
 * five uint64 hashes (fields 1–5) and a VersionDef (field 6: producer, min_consumer, bad_consumers).
 * It holds no tensors. Told from ONNX (whose ModelProto also opens with a varint field 1) by the whole
 * message: only those fields, with those wire types, and small enough to be seen at once; an ONNX model
 * needs its graph (field 7), which a fingerprint never has.
 */
export const MAX_FINGERPRINT_BYTES = 512;

export function isFingerprint(bytes: Uint8Array, size: number): boolean {
  if (size > MAX_FINGERPRINT_BYTES || bytes.length < size || size < 4) return false;
  try {
    const fields = smallFields(bytes.subarray(0, size), 0, 'fingerprint');
    if (!fields.some((f) => f.no >= 1 && f.no <= 5)) return false;
    return fields.every((f) => {
      if (f.no >= 1 && f.no <= 5) return f.wire === 0;
      if (f.no !== 6 || f.wire !== 2) return false;
      return smallFields(f.bytes, 0, 'fingerprint version').every((v) => (v.no === 1 || v.no === 2 ? v.wire === 0 : v.no === 3 && (v.wire === 0 || v.wire === 2)));
    });
  } catch {
    return false;
  }
}
