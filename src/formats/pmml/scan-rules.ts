import type { ByteSource } from '../../io/byte-source.js';
import { isTensorsafeError } from '../../errors.js';
import type { ScanContext } from '../findings.js';
import { at, Findings, MAX_FINDINGS_PER_RULE, show } from '../scan-rules.js';
import { findDoctype, parseXml, type XmlDocument, type XmlElement } from '../xml/parser.js';
import { MAX_XML_BYTES } from '../xml/limits.js';

/**
 * PMML's scan rules. A PMML document is data, but XML can reach outside itself: a DOCTYPE declares
 * entities that a permissive parser (Java's default, libxml2 with entity substitution) resolves by
 * reading a file or a URL (XXE) or by expanding nested entities to gigabytes (billion laughs); PMML's
 * Extension elements, `x-` elements and attributes carry vendor content, and a TableLocator says data
 * lies elsewhere: a URL or a file named there is something a consumer may fetch; so is an XInclude
 * `include` element's `href` (PMML has no element of that name), which an XInclude-aware parser reads.
 *
 * Rules: `pmml/valid` (info); `pmml/doctype`, `pmml/entity` (dangerous); `pmml/external-reference`,
 * `pmml/malformed` (suspicious).
 * Misses: what a PMML engine does with the models (its own evaluation is data-driven, no code runs);
 * processing instructions (skipped by the parser: `<?xml-stylesheet?>` is for viewers).
 */

/**
 * A URL or file reference in vendor content: a scheme with `//` (http, https, ftp, jar…), or `file:`.
 * The scheme's length is bounded: tried from every word start, an unbounded one made a long run of
 * `a-a-a-…` quadratic.
 */
const URL_LIKE = /\b[a-z][a-z0-9+.-]{0,63}:\/\/|\bfile:/i;

/** Elements walked for references (the document's elements are bounded by MAX_XML_ELEMENTS already; this bounds the scan's time again). */
export const MAX_PMML_SCANNED_ELEMENTS = 4_000_000;

export async function scanPmml(source: ByteSource, ctx: ScanContext, parsed?: XmlDocument): Promise<void> {
  const findings = new Findings(ctx);
  const file = source.name;
  let document = parsed;
  if (document === undefined) {
    const bytes = await source.read(0, Math.min(source.size, MAX_XML_BYTES));
    const doctype = findDoctype(bytes);
    if (doctype !== undefined) {
      findings.add('dangerous', 'pmml/doctype', `${doctype.kind === 'DOCTYPE' ? 'a DOCTYPE declaration' : 'an entity declaration'} at byte ${doctype.offset}: an XML parser that resolves entities reads files or URLs it names (XXE) or expands nested ones without bound (billion laughs); tensorsafe refuses the document`, at(file, doctype.offset));
      findings.flush();
      return;
    }
    try {
      document = parseXml(bytes, file);
    } catch (e) {
      if (!isTensorsafeError(e)) throw e;
      if (e.code === 'XmlEntityRefused') findings.add('dangerous', 'pmml/entity', `${e.message}: an entity other than XML's five needs a declaration from outside the document (XXE)`, e.location ?? file);
      else findings.add('suspicious', 'pmml/malformed', e.message, e.location ?? file);
      findings.flush();
      return;
    }
  }
  const root = document.root;
  if (root.local !== 'PMML') {
    findings.add('suspicious', 'pmml/malformed', `the root element is <${root.name.slice(0, 80)}>, not <PMML>`, file);
    findings.flush();
    return;
  }
  findings.add('info', 'pmml/valid', `PMML ${show(root.attributes['version'] ?? 'of no version')}, ${document.elements} elements`, file);
  walkReferences(root, document, file, findings);
  findings.flush();
}

function walkReferences(root: XmlElement, document: XmlDocument, file: string, findings: Findings): void {
  const stack: [XmlElement, boolean][] = [[root, false]];
  let walked = 0;
  while (stack.length > 0 && walked++ < MAX_PMML_SCANNED_ELEMENTS) {
    const [el, inVendor] = stack.pop()!;
    const vendor = inVendor || el.local === 'Extension' || el.local.startsWith('x-');
    // Computed for a finding only: a byte offset costs a pass over the text before the element.
    const where = (): string => (findings.count('pmml/external-reference') < MAX_FINDINGS_PER_RULE ? at(file, document.byteOffset(el.at)) : file);
    if (el.local === 'TableLocator') {
      findings.add('suspicious', 'pmml/external-reference', `a TableLocator: the table's data lies outside the document${Object.keys(el.attributes).length > 0 ? ` (${attributesShown(el)})` : ''}`, where());
    }
    if (el.local === 'include' && el.attributes['href'] !== undefined) {
      findings.add('suspicious', 'pmml/external-reference', `<${el.name.slice(0, 80)}> href=${show(el.attributes['href'])}: an XInclude-aware parser reads that file or URL into the document`, where());
    }
    for (const [name, value] of Object.entries(el.attributes)) {
      if ((vendor || name.startsWith('x-')) && URL_LIKE.test(value)) {
        findings.add('suspicious', 'pmml/external-reference', `<${el.name.slice(0, 80)}> ${show(name)}=${show(value)} names a URL or file: vendor content a consumer may fetch`, where());
      }
    }
    if (vendor && URL_LIKE.test(el.text)) {
      const m = URL_LIKE.exec(el.text)!;
      findings.add('suspicious', 'pmml/external-reference', `the text of <${el.name.slice(0, 80)}> names a URL or file (${show(el.text.slice(m.index, m.index + 120))}): vendor content a consumer may fetch`, where());
    }
    for (let k = el.children.length - 1; k >= 0; k--) stack.push([el.children[k]!, vendor]);
  }
}

function attributesShown(el: XmlElement): string {
  return Object.entries(el.attributes).slice(0, 4).map(([k, v]) => `${k}=${show(v)}`).join(', ');
}
