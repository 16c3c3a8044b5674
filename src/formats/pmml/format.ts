import type { FormatDescriptor } from '../format.js';

/**
 * A PMML document by its root element, named in the first MAX_DETECT_TEXT_BYTES of text (DETECT_HEAD_BYTES otherwise): `<PMML` (or a prefixed
 * `<x:PMML`) after the XML declaration, comments, processing instructions and a DOCTYPE of any name
 * (refused by the reader, and reported by the scan: it must be detected to be judged; XML parsers do
 * not check that its name is the root's), or a prolog still running at the head's end (a long comment
 * or DOCTYPE: the root, and a DOCTYPE, may follow). UTF-16 text (by its byte order mark or its first
 * `<`) is read as such: XML parsers do, and the strict reader refuses it by name.
 */
const PMML_ROOT = /^(?:\uFEFF)?\s*(?:<\?xml[^>]*>\s*)?(?:<!--[\s\S]*?-->\s*|<\?[\s\S]*?\?>\s*)*<(?:!DOCTYPE\s+)?(?:[A-Za-z_][\w.-]*:)?PMML[\s>/[]/;
const PROLOG_ITEM = /\s*(?:<\?[\s\S]*?\?>|<!--[\s\S]*?-->|<!DOCTYPE(?:[^[>]|\[[\s\S]*?\])*>)/y;
const ROOT = /^\s*<(?:[A-Za-z_][\w.-]*:)?PMML[\s>/]/;

function headText(head: Uint8Array): string | undefined {
  const [a, b] = [head[0], head[1]];
  if ((a === 0xff && b === 0xfe) || (a === 0x3c && b === 0)) return new TextDecoder('utf-16le').decode(head);
  if ((a === 0xfe && b === 0xff) || (a === 0 && b === 0x3c)) return new TextDecoder('utf-16be').decode(head);
  return undefined;
}

function isPmmlHead(text: string, cut: boolean): boolean {
  if (PMML_ROOT.test(text)) return true;
  const t = text.replace(/^\uFEFF/, '');
  PROLOG_ITEM.lastIndex = 0;
  let pos = 0;
  while (PROLOG_ITEM.test(t)) pos = PROLOG_ITEM.lastIndex;
  const rest = t.slice(pos).trimStart();
  if (ROOT.test(rest)) return true;
  // The head ends inside a prolog item, or inside the root's name.
  return cut && (/^<(?:\?|!--|!DOCTYPE|!D?O?C?T?Y?P?E?$|!-?$)/.test(rest) || (rest.length < 64 && /^<(?:[A-Za-z_][\w.-]*:)?P?M?M?L?$/.test(rest)));
}

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
  detect: (probe) => {
    const utf16 = headText(probe.head);
    if (utf16 !== undefined) return isPmmlHead(utf16, probe.size > probe.head.length);
    if (probe.container !== 'text' && probe.container !== 'html') return false;
    // The longer text probe when there is one (a licence comment before the root), the head otherwise.
    const text = probe.text ?? new TextDecoder().decode(probe.head);
    return isPmmlHead(text, probe.size > (probe.text !== undefined ? new TextEncoder().encode(text).length : probe.head.length));
  },
  load: () => import('./reader.js').then((m) => m.pmmlReader),
};
