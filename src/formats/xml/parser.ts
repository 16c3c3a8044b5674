import { TensorsafeError, type XmlErrorCode } from '../../errors.js';
import { MAX_XML_ATTRIBUTES, MAX_XML_BYTES, MAX_XML_DEPTH, MAX_XML_ELEMENTS, MAX_XML_NAME_CHARS, MAX_XML_TEXT_CHARS } from './limits.js';

/**
 * A small strict XML 1.0 parser for model documents (PMML): UTF-8 only, elements, attributes, text,
 * CDATA sections, comments; processing instructions are skipped; the five predefined entities and
 * character references are resolved. A DOCTYPE is refused outright (it is where entities are declared:
 * external entities read files and URLs, nested ones expand to gigabytes), and so is a reference to any
 * other entity. The document is held whole (at most MAX_XML_BYTES) and made into a tree of at most
 * MAX_XML_ELEMENTS elements, MAX_XML_DEPTH deep. Namespaces are not resolved: each element keeps its
 * qualified name and its local name (after the last `:`), and `xmlns` attributes are attributes.
 */

export class XmlError extends TensorsafeError {
  constructor(code: XmlErrorCode, message: string, options?: { cause?: unknown; location?: string }) {
    super(code, message, options);
    this.name = 'XmlError';
  }
}

export interface XmlElement {
  /** The qualified name: `PMML`, `pmml:Array`. */
  readonly name: string;
  /** The name without its prefix: `Array`. */
  readonly local: string;
  /** Attribute values by qualified name, references resolved and whitespace normalized as XML does. */
  readonly attributes: Readonly<Record<string, string>>;
  readonly children: XmlElement[];
  /** The character data directly inside it (text runs and CDATA sections, in order, joined). */
  text: string;
  /** Character index of its `<` in the document's text (XmlDocument.byteOffset makes it a byte offset). */
  readonly at: number;
}

export interface XmlDocument {
  readonly root: XmlElement;
  /** The XML declaration's `version` and `encoding`, when there is one. */
  readonly version?: string;
  readonly encoding?: string;
  /** Elements in the document. */
  readonly elements: number;
  /** The byte offset of a character index in the document's text. */
  byteOffset(at: number): number;
}

/** Where a DOCTYPE or entity declaration starts (`<!DOCTYPE`, `<!ENTITY`), as a byte offset; for scan rules that must not parse. */
export function findDoctype(bytes: Uint8Array): { kind: 'DOCTYPE' | 'ENTITY'; offset: number } | undefined {
  const [a, b] = [bytes[0], bytes[1]];
  const utf16 = (a === 0xff && b === 0xfe) || (a === 0x3c && b === 0) ? 'utf-16le' : (a === 0xfe && b === 0xff) || (a === 0 && b === 0x3c) ? 'utf-16be' : undefined;
  if (utf16 !== undefined) {
    // UTF-16 (refused by the parser, read by others): searched as text; a character is two bytes.
    const text = new TextDecoder(utf16, { ignoreBOM: true }).decode(bytes.subarray(0, Math.min(bytes.length, MAX_XML_BYTES)));
    const m = /<!(DOCTYPE|ENTITY)/.exec(text);
    return m === null ? undefined : { kind: m[1] as 'DOCTYPE' | 'ENTITY', offset: m.index * 2 };
  }
  const n = Math.min(bytes.length, MAX_XML_BYTES);
  for (let i = bytes.indexOf(0x3c); i >= 0 && i + 8 < n; i = bytes.indexOf(0x3c, i + 1)) {
    if (bytes[i + 1] !== 0x21) continue;
    const word = String.fromCharCode(...bytes.subarray(i + 2, i + 9));
    if (word.startsWith('DOCTYPE')) return { kind: 'DOCTYPE', offset: i };
    if (word.startsWith('ENTITY')) return { kind: 'ENTITY', offset: i };
  }
  return undefined;
}

// XML's Name production; characters past the BMP are matched as surrogate pairs (no `u` flag: it makes
// every match several times slower, and the text is well-formed UTF-16 after a fatal UTF-8 decode).
const NAME_START = 'A-Za-z_:\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u02FF\\u0370-\\u037D\\u037F-\\u1FFF\\u200C-\\u200D\\u2070-\\u218F\\u2C00-\\u2FEF\\u3001-\\uD7FF\\uF900-\\uFDCF\\uFDF0-\\uFFFD\\uD800-\\uDB7F';
const NAME_CHAR = `${NAME_START}\\-.0-9\\u00B7\\u0300-\\u036F\\u203F-\\u2040\\uDC00-\\uDFFF`;
const NAME = `[${NAME_START}][${NAME_CHAR}]*`;
const TAG_NAME = new RegExp(NAME, 'y');
const ATTRIBUTE = new RegExp(`[ \\t\\n\\r]+(${NAME})[ \\t\\n\\r]*=[ \\t\\n\\r]*(?:"([^"<]*)"|'([^'<]*)')`, 'y');
const TAG_END = /[ \t\n\r]*(\/?)>/y;
const TEXT_RUN = /[^<&]*/y;
const WHITESPACE = /^[ \t\n\r]*$/;
const SPACE = /[ \t\n\r]*/y;
/** Characters XML forbids anywhere in a document (C0 controls but tab, line feed, carriage return; U+FFFE, U+FFFF). */
const FORBIDDEN_CHAR = /[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]/;
const REFERENCE = /&(?:(#x[0-9A-Fa-f]+|#[0-9]+)|([^;&\s<]*));|&/g;
const PREDEFINED: ReadonlyMap<string, string> = new Map([['lt', '<'], ['gt', '>'], ['amp', '&'], ['quot', '"'], ['apos', "'"]]);
const DECLARATION = /^<\?xml([ \t\n\r][^?]*)?\?>/;
const PSEUDO_ATTRIBUTE = /[ \t\n\r]+([a-z]+)[ \t\n\r]*=[ \t\n\r]*(?:"([^"]*)"|'([^']*)')/y;

/** Parses a whole document. `file` names it in errors. */
export function parseXml(bytes: Uint8Array, file: string): XmlDocument {
  if (bytes.length > MAX_XML_BYTES) throw new XmlError('XmlLimit', `${file}: the document is ${bytes.length} bytes, more than MAX_XML_BYTES (${MAX_XML_BYTES})`, { location: file });
  return new Parser(decode(bytes, file), file).parse();
}

/** The text of UTF-8 bytes (a UTF-8 byte order mark skipped); another encoding's mark, or bytes that are not UTF-8, refused. */
function decode(bytes: Uint8Array, file: string): string {
  const [a, b, c] = [bytes[0], bytes[1], bytes[2]];
  if ((a === 0xfe && b === 0xff) || (a === 0xff && b === 0xfe) || (a === 0 && b === 0x3c) || (a === 0x3c && b === 0)) {
    throw new XmlError('XmlEncodingRefused', `${file}: the document is UTF-16 or UTF-32 (by its first bytes); only UTF-8 is read`, { location: `${file}@0` });
  }
  const start = a === 0xef && b === 0xbb && c === 0xbf ? 3 : 0;
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(start));
  } catch {
    const offset = start + firstInvalidUtf8(bytes.subarray(start));
    throw new XmlError('InvalidXml', `${file}: byte ${offset} is not UTF-8`, { location: `${file}@${offset}` });
  }
}

/** The offset of the first byte that does not start or continue a valid UTF-8 sequence (for the error only). */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let lo = 0;
  let hi = bytes.length;
  // The longest prefix that decodes, by halving (a prefix cut inside a character fails too: stream mode allows it).
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, mid), { stream: true });
      lo = mid;
    } catch {
      hi = mid - 1;
    }
  }
  // The prefix may end inside a character (stream mode allowed it): the bad sequence starts at its lead byte.
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, lo));
  } catch {
    while (lo > 0 && (bytes[lo - 1]! & 0xc0) === 0x80) lo--;
    if (lo > 0 && bytes[lo - 1]! >= 0xc0) lo--;
  }
  return lo;
}

class Parser {
  private i = 0;
  private elements = 0;
  private readonly stack: XmlElement[] = [];
  private root: XmlElement | undefined;
  private rootClosed = false;
  private version: string | undefined;
  private encoding: string | undefined;

  constructor(
    private readonly text: string,
    private readonly file: string,
  ) {}

  parse(): XmlDocument {
    const forbidden = FORBIDDEN_CHAR.exec(this.text);
    if (forbidden) this.fail('InvalidXml', `character U+${forbidden[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')} is not allowed in XML`, forbidden.index);
    this.declaration();
    const t = this.text;
    const n = t.length;
    while (this.i < n) {
      if (t.charCodeAt(this.i) === 0x3c /* < */) this.markup();
      else this.characters();
    }
    if (this.root === undefined) this.fail('InvalidXml', 'the document has no root element', this.i);
    if (this.stack.length > 0) this.fail('InvalidXml', `element <${this.stack.at(-1)!.name}> is not closed before the end of the document`, this.stack.at(-1)!.at);
    const text = this.text;
    return {
      root: this.root,
      ...(this.version !== undefined ? { version: this.version } : {}),
      ...(this.encoding !== undefined ? { encoding: this.encoding } : {}),
      elements: this.elements,
      byteOffset: (at: number) => byteOffset(text, at),
    };
  }

  private fail(code: XmlErrorCode, what: string, at: number): never {
    const offset = byteOffset(this.text, at);
    throw new XmlError(code, `${this.file}: ${what} (byte ${offset})`, { location: `${this.file}@${offset}` });
  }

  /** The XML declaration, if the document starts with one: its version, and its encoding, which must be UTF-8. */
  private declaration(): void {
    const m = DECLARATION.exec(this.text);
    if (!m) return;
    const fields: Record<string, string> = Object.create(null) as Record<string, string>;
    const body = m[1] ?? '';
    PSEUDO_ATTRIBUTE.lastIndex = 0;
    let k = 0;
    while (k < body.length) {
      PSEUDO_ATTRIBUTE.lastIndex = k;
      const a = PSEUDO_ATTRIBUTE.exec(body);
      if (!a) {
        if (WHITESPACE.test(body.slice(k))) break;
        this.fail('InvalidXml', `the XML declaration is malformed near ${JSON.stringify(body.slice(k, k + 40))}`, 0);
      }
      fields[a[1]!] = a[2] ?? a[3]!;
      k = PSEUDO_ATTRIBUTE.lastIndex;
    }
    if (fields['version'] === undefined) this.fail('InvalidXml', 'the XML declaration has no version', 0);
    this.version = fields['version'];
    const encoding = fields['encoding'];
    if (encoding !== undefined) {
      if (!/^utf-?8$/i.test(encoding)) this.fail('XmlEncodingRefused', `the XML declaration names encoding ${JSON.stringify(encoding.slice(0, 64))}; only UTF-8 is read`, 0);
      this.encoding = encoding;
    }
    this.i = m[0].length;
  }

  private markup(): void {
    const t = this.text;
    const start = this.i;
    const next = t.charCodeAt(start + 1);
    if (next === 0x2f /* / */) return this.endTag();
    if (next === 0x3f /* ? */) {
      const end = t.indexOf('?>', start + 2);
      if (end < 0) this.fail('InvalidXml', 'a processing instruction is not closed', start);
      TAG_NAME.lastIndex = start + 2;
      const target = TAG_NAME.exec(t);
      if (!target) this.fail('InvalidXml', 'a processing instruction has no target', start);
      if (target[0].toLowerCase() === 'xml') this.fail('InvalidXml', 'an XML declaration that is not at the start of the document', start);
      this.i = end + 2;
      return;
    }
    if (next === 0x21 /* ! */) {
      if (t.startsWith('<!--', start)) {
        const end = t.indexOf('--', start + 4);
        if (end < 0) this.fail('InvalidXml', 'a comment is not closed', start);
        if (t.charCodeAt(end + 2) !== 0x3e) this.fail('InvalidXml', "a comment holds '--'", end);
        this.i = end + 3;
        return;
      }
      if (t.startsWith('<![CDATA[', start)) {
        const el = this.stack.at(-1);
        if (el === undefined) this.fail('InvalidXml', 'a CDATA section outside the root element', start);
        const end = t.indexOf(']]>', start + 9);
        if (end < 0) this.fail('InvalidXml', 'a CDATA section is not closed', start);
        this.appendText(el, normalizeLineEnds(t.slice(start + 9, end)), start);
        this.i = end + 3;
        return;
      }
      if (t.startsWith('<!DOCTYPE', start)) {
        this.fail('XmlDoctypeRefused', 'a DOCTYPE declaration is refused: it can declare entities that read files or URLs (XXE) or expand without bound (billion laughs)', start);
      }
      if (t.startsWith('<!ENTITY', start)) this.fail('XmlEntityRefused', 'an entity declaration is refused (XXE, billion laughs)', start);
      this.fail('InvalidXml', `unknown markup ${JSON.stringify(t.slice(start, start + 12))}`, start);
    }
    this.startTag();
  }

  private startTag(): void {
    const t = this.text;
    const start = this.i;
    if (this.rootClosed) this.fail('InvalidXml', 'an element after the root element', start);
    TAG_NAME.lastIndex = start + 1;
    const m = TAG_NAME.exec(t);
    if (!m) this.fail('InvalidXml', `'<' that starts no tag`, start);
    const name = m[0];
    if (name.length > MAX_XML_NAME_CHARS) this.fail('XmlLimit', `an element name of ${name.length} characters, more than MAX_XML_NAME_CHARS (${MAX_XML_NAME_CHARS})`, start);
    let k = TAG_NAME.lastIndex;
    const attributes = new Attributes() as Record<string, string>;
    let count = 0;
    for (;;) {
      ATTRIBUTE.lastIndex = k;
      const a = ATTRIBUTE.exec(t);
      if (!a) break;
      const key = a[1]!;
      if (key.length > MAX_XML_NAME_CHARS) this.fail('XmlLimit', `an attribute name of ${key.length} characters, more than MAX_XML_NAME_CHARS (${MAX_XML_NAME_CHARS})`, k);
      if (++count > MAX_XML_ATTRIBUTES) this.fail('XmlLimit', `element <${name}> has more than MAX_XML_ATTRIBUTES (${MAX_XML_ATTRIBUTES}) attributes`, start);
      if (Object.hasOwn(attributes, key)) this.fail('InvalidXml', `element <${name}> has attribute ${JSON.stringify(key)} twice`, k);
      const raw = a[2] ?? a[3]!;
      // Attribute-value normalization: each line end, tab or line feed is a space (references are resolved after).
      attributes[key] = this.resolve(raw.replace(/\r\n?|[\t\n]/g, ' '), k);
      k = ATTRIBUTE.lastIndex;
    }
    TAG_END.lastIndex = k;
    const end = TAG_END.exec(t);
    if (!end) this.fail('InvalidXml', `the tag <${name}> is malformed near ${JSON.stringify(t.slice(k, k + 20))}`, k);
    if (++this.elements > MAX_XML_ELEMENTS) this.fail('XmlLimit', `more than MAX_XML_ELEMENTS (${MAX_XML_ELEMENTS}) elements`, start);
    const colon = name.lastIndexOf(':');
    const el: XmlElement = { name, local: colon < 0 ? name : name.slice(colon + 1), attributes, children: [], text: '', at: start };
    const parent = this.stack.at(-1);
    if (parent !== undefined) parent.children.push(el);
    else if (this.root === undefined) this.root = el;
    else this.fail('InvalidXml', 'a second root element', start);
    this.i = TAG_END.lastIndex;
    if (end[1] === '/') {
      if (parent === undefined) this.rootClosed = true;
      return;
    }
    if (this.stack.length >= MAX_XML_DEPTH) this.fail('XmlLimit', `elements nested more than MAX_XML_DEPTH (${MAX_XML_DEPTH}) deep`, start);
    this.stack.push(el);
  }

  private endTag(): void {
    const t = this.text;
    const start = this.i;
    TAG_NAME.lastIndex = start + 2;
    const m = TAG_NAME.exec(t);
    if (!m) this.fail('InvalidXml', 'an end tag with no name', start);
    SPACE.lastIndex = TAG_NAME.lastIndex;
    SPACE.exec(t);
    if (t.charCodeAt(SPACE.lastIndex) !== 0x3e) this.fail('InvalidXml', `the end tag </${m[0]}> is malformed`, start);
    const open = this.stack.pop();
    if (open === undefined) this.fail('InvalidXml', `end tag </${m[0]}> with no element open`, start);
    if (open.name !== m[0]) this.fail('InvalidXml', `end tag </${m[0]}> closes <${open.name}> (opened at byte ${byteOffset(t, open.at)})`, start);
    if (this.stack.length === 0) this.rootClosed = true;
    this.i = SPACE.lastIndex + 1;
  }

  /** Character data up to the next `<`: text of the open element, or whitespace outside the root. */
  private characters(): void {
    const t = this.text;
    const start = this.i;
    TEXT_RUN.lastIndex = start;
    TEXT_RUN.exec(t);
    let end = TEXT_RUN.lastIndex;
    if (end === start) {
      // A reference: up to its `;` (resolve() judges it).
      const semi = t.indexOf(';', start);
      end = semi < 0 || semi - start > MAX_XML_NAME_CHARS ? start + 1 : semi + 1;
    }
    const run = t.slice(start, end);
    const el = this.stack.at(-1);
    if (el === undefined) {
      if (!WHITESPACE.test(run)) this.fail('InvalidXml', `text ${this.root === undefined ? 'before' : 'after'} the root element`, start);
    } else {
      const close = run.indexOf(']]>');
      if (close >= 0) this.fail('InvalidXml', "']]>' in text", start + close);
      this.appendText(el, this.resolve(normalizeLineEnds(run), start), start);
    }
    this.i = end;
  }

  private appendText(el: XmlElement, text: string, at: number): void {
    if (text === '') return;
    if (el.text.length + text.length > MAX_XML_TEXT_CHARS) this.fail('XmlLimit', `the text of <${el.name}> is more than MAX_XML_TEXT_CHARS (${MAX_XML_TEXT_CHARS}) characters`, at);
    el.text += text;
  }

  /** Text with its references resolved: the five predefined entities and character references; any other refused. */
  private resolve(raw: string, at: number): string {
    if (!raw.includes('&')) return raw;
    return raw.replace(REFERENCE, (whole: string, numeric: string | undefined, name: string | undefined) => {
      if (numeric !== undefined) {
        const code = numeric[1] === 'x' ? parseInt(numeric.slice(2), 16) : parseInt(numeric.slice(1), 10);
        if (!isXmlChar(code)) this.fail('InvalidXml', `character reference ${JSON.stringify(whole.slice(0, 40))} is not a character XML allows`, at);
        return String.fromCodePoint(code);
      }
      if (name === undefined || name === '') this.fail('InvalidXml', "'&' that starts no reference (write &amp;)", at);
      const value = PREDEFINED.get(name);
      if (value === undefined) this.fail('XmlEntityRefused', `a reference to entity ${JSON.stringify(name.slice(0, 64))} is refused: only &lt; &gt; &amp; &quot; &apos; and character references are read`, at);
      return value;
    });
  }
}

/**
 * An element's attributes: an object whose prototype chain ends without Object.prototype (an attribute
 * named `constructor` or `__proto__` is just a key), made by a constructor so that V8 keeps it a fast
 * object (Object.create(null) makes a slow dictionary: several times the parse time of a large document).
 */
class Attributes {}
Object.setPrototypeOf(Attributes.prototype, null);

function normalizeLineEnds(text: string): string {
  return text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text;
}

function isXmlChar(code: number): boolean {
  return code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff);
}

/** The UTF-8 byte offset of a character index. */
function byteOffset(text: string, at: number): number {
  const prefix = text.slice(0, Math.max(0, at));
  // ASCII text (most documents): characters are bytes.
  return /^[\x00-\x7f]*$/.test(prefix) ? prefix.length : new TextEncoder().encode(prefix).length;
}
