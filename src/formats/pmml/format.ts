import type { FormatDescriptor } from '../format.js';

/**
 * A PMML document by its root element, named in the first MAX_DETECT_TEXT_BYTES: `<PMML` (or a prefixed
 * `<x:PMML`) after the XML declaration and comments, or a DOCTYPE naming it (refused by the reader, and
 * reported by the scan: it must be detected to be judged).
 */
const PMML_ROOT = /^(?:\uFEFF)?\s*(?:<\?xml[^>]*>\s*)?(?:<!--[\s\S]*?-->\s*|<\?[\s\S]*?\?>\s*)*<(?:!DOCTYPE\s+)?(?:[A-Za-z_][\w.-]*:)?PMML[\s>/[]/;

/** PMML (dmg.org 3.x and 4.x): the numbers of neural networks, regressions, support vector machines and clusterings in XML. */
export const pmmlFormat: FormatDescriptor = {
  id: 'pmml',
  name: 'PMML (.pmml, .xml)',
  extensions: ['.pmml'],
  ruleDescriptions: {
    'pmml/valid': 'a PMML document the strict XML parser read',
    'pmml/doctype': 'a DOCTYPE or entity declaration: external entities read files or URLs (XXE), nested ones expand without bound (billion laughs)',
    'pmml/entity': 'a reference to an entity XML does not predefine: it needs a DOCTYPE to mean anything (an XXE attempt)',
    'pmml/external-reference': 'an Extension, an x- element or attribute, or a TableLocator that names a URL or file: data from outside the document',
    'pmml/malformed': 'the document is not well-formed XML, or not PMML; its models were not checked',
  },
  detect: (probe) => (probe.container === 'text' || probe.container === 'html') && PMML_ROOT.test(probe.text ?? new TextDecoder().decode(probe.head)),
  load: () => import('./reader.js').then((m) => m.pmmlReader),
};
