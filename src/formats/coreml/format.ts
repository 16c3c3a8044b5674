import { peekVarint } from '../protobuf/small-message.js';
import type { DetectProbe, FormatDescriptor } from '../format.js';

/**
 * Core ML: an `.mlmodel` (a protobuf Model), a `.mlpackage` folder (named by its Manifest.json), or a
 * compiled `.mlmodelc` folder's `model.mil` (MIL text). A Model starts like ONNX's ModelProto (field 1,
 * a varint; field 2, length-delimited), so its top-level fields are walked in the head: a Core ML Model
 * has fields 1, 2, 10 and its model type (200 and up), ONNX's has 3 to 9, 14, 20 and 25.
 */
export const coremlFormat: FormatDescriptor = {
  id: 'coreml',
  name: 'Core ML (.mlmodel, .mlpackage, .mlmodelc)',
  extensions: ['.mlmodel', '.mil'],
  dequantizes: true,
  ruleDescriptions: {
    'coreml/custom-layer': 'a Core ML neural network layer runs a custom class the app must provide (native code)',
    'coreml/custom-model': 'a Core ML model is a custom model: a class the app must provide runs it (native code)',
    'coreml/linked-model': 'a Core ML model links another compiled model by file name: Core ML loads that file',
    'coreml/serialized-model': 'a Core ML model holds a serialized model of a private type: opaque bytes Core ML hands to its own loader',
    'coreml/blob-outside': 'a Core ML weight blob is read from a file outside the model folder',
    'coreml/root-outside': 'a Core ML package Manifest.json names a root model outside the package',
  },
  detect: (probe) => isMlmodel(probe) || isManifest(probe) || isMilText(probe),
  load: () => import('./reader.js').then((m) => m.coremlReader),
};

const MODEL_TYPE_FIELDS = new Set([
  200, 201, 202, 300, 301, 302, 303, 304, 400, 401, 402, 403, 404, 500, 501, 502, 555, 556, 560, 600, 601, 602, 603, 604, 606, 607, 609, 610, 900,
  2000, 2001, 2002, 2003, 2004, 2005, 2006, 3000,
]);
/** The first tags of a ModelDescription's fields: input 1, output 10, predictedFeatureName 11, predictedProbabilitiesName 12, state 13. */
const DESCRIPTION_FIRST_TAGS = new Set([0x0a, 0x52, 0x5a, 0x62, 0x6a]);

/** Whether the head is a Core ML Model message's (not ONNX's ModelProto, which starts alike). */
export function isMlmodel(probe: DetectProbe): boolean {
  if (probe.container !== 'onnx-or-protobuf' && probe.container !== 'text') return false;
  const b = probe.head;
  if (b[0] !== 0x08) return false;
  let pos = 0;
  let description: [number, number] | undefined;
  while (pos < b.length) {
    const key = peekVarint(b, pos);
    if (key === undefined) return false;
    const [k, kn] = key;
    const no = Math.floor(k / 8);
    const wire = k % 8;
    pos += kn;
    if (MODEL_TYPE_FIELDS.has(no)) return wire === 2;
    if (no === 1 || no === 10) {
      if (wire !== 0) return false;
      const v = peekVarint(b, pos);
      if (v === undefined) return false;
      pos += v[1];
      continue;
    }
    if (no !== 2 || wire !== 2) return false;
    const len = peekVarint(b, pos);
    if (len === undefined) return false;
    pos += len[1];
    if (pos + len[0] > probe.size) return false;
    description = [pos, len[0]];
    pos += len[0];
  }
  // The head ends inside a field: a description past the head decides by its own first field.
  if (description === undefined) return false;
  const [start, length] = description;
  if (!DESCRIPTION_FIRST_TAGS.has(b[start] ?? -1)) return false;
  const inner = peekVarint(b, start + 1);
  if (inner === undefined || 1 + inner[1] + inner[0] > length) return false;
  return isFeatureDescriptionHead(b, start + 1 + inner[1], inner[0]);
}

/**
 * Whether bytes open a FeatureDescription: name (field 1, text), then shortDescription (field 2, text) or
 * type (field 3). A SavedModel's MetaGraphDef opens alike (meta_info_def, whose meta_graph_version is
 * field 1 text), but its next field 2 is the stripped op list, a message: told apart by that text.
 */
function isFeatureDescriptionHead(b: Uint8Array, at: number, length: number): boolean {
  const text = (from: number): number | undefined => {
    const n = peekVarint(b, from);
    if (n === undefined) return undefined;
    const end = from + n[1] + n[0];
    if (end > b.length || end > at + length) return undefined;
    for (let i = from + n[1]; i < end; i++) if (b[i]! < 0x20 || b[i] === 0x7f) return undefined;
    return end;
  };
  if (b[at] !== 0x0a) return false;
  const afterName = text(at + 1);
  if (afterName === undefined) return false;
  if (afterName === at + length) return true;
  if (b[afterName] === 0x1a) return true;
  return b[afterName] === 0x12 && text(afterName + 1) !== undefined;
}

function isManifest(probe: DetectProbe): boolean {
  return probe.container === 'json' && probe.text !== undefined && /"itemInfoEntries"/.test(probe.text) && /"rootModelIdentifier"/.test(probe.text);
}

function isMilText(probe: DetectProbe): boolean {
  return probe.container === 'text' && /^\s*program\(\s*[\d.]+\s*\)/.test(new TextDecoder().decode(probe.head.subarray(0, 64)));
}
