import type { FormatDescriptor } from '../format.js';

/** PFA's required top-level keys, in JSON. */
const JSON_KEYS = [/"input"\s*:/, /"output"\s*:/, /"action"\s*:/];
/** The same keys at the start of a line of YAML (PFA documents put them at the top level, first). */
const YAML_KEYS = [/^input\s*:/m, /^output\s*:/m, /^action\s*:/m];

/**
 * PFA, JSON or YAML: a JSON document with all three of `input`, `output` and `action` (within
 * MAX_DETECT_JSON_BYTES), or YAML text whose first DETECT_HEAD_BYTES have two of them at the top level,
 * or whose first MAX_DETECT_TEXT_BYTES have all three (the input schema, first, is often long).
 */
export const pfaFormat: FormatDescriptor = {
  id: 'pfa',
  name: 'PFA (.pfa, .json, .yaml)',
  extensions: ['.pfa', '.pfa.json', '.pfa.yaml', '.pfa.yml'],
  ruleDescriptions: {
    'pfa/valid': 'a PFA document read as data: its action and functions are never run',
    'pfa/external-init': 'a cell or pool whose init is a URL or file (source json or avro): a PFA engine fetches it when it loads the document',
    'pfa/yaml-python-tag': 'a YAML !!python/ tag: PyYAML\'s unsafe loaders construct the Python object it names, which runs code',
    'pfa/yaml-tag': 'a YAML tag PFA does not use: a YAML loader may construct something other than data from it',
    'pfa/malformed': 'the document is not JSON or YAML, or not PFA; its cells were not checked',
  },
  detect: (probe) => {
    if (probe.container === 'json' && probe.text !== undefined) return JSON_KEYS.every((k) => k.test(probe.text!));
    if (probe.container !== 'text') return false;
    const head = new TextDecoder().decode(probe.head);
    const text = probe.text ?? head;
    if (/^\s*\{/.test(head)) return JSON_KEYS.every((k) => k.test(text));
    return YAML_KEYS.filter((k) => k.test(head)).length >= 2 || YAML_KEYS.every((k) => k.test(text));
  },
  load: () => import('./reader.js').then((m) => m.pfaReader),
};
