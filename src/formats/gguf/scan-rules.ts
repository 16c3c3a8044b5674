import type { ByteSource } from '../../io/byte-source.js';
import type { ScanContext } from '../findings.js';
import { Cursor } from '../../io/cursor.js';
import { limitExceeded, malformed } from '../../io/format-problem.js';
import { at, Findings, guarded, show, utf8Lossy, utf8OrUndefined } from '../scan-rules.js';

/**
 * GGUF (llama.cpp / ggml): a header of typed key-value pairs, tensor descriptions, then tensor data.
 * GGUF cannot carry code. What is checked is what ggml's own reader checks (so that a file this scan
 * accepts is one llama.cpp reads the same way): magic, version 1–3 (either byte order), every key and
 * value type, strings and arrays within the file and the limits below, no duplicate keys or tensor
 * names, `general.alignment` a UINT32 power of two, tensor types known, ne[0] a whole number of
 * blocks, and each tensor's data exactly where ggml expects it (offsets in declaration order, padded to
 * the alignment: no gaps, no overlap) and inside the file. Tensor data is never read.
 *
 * The chat template (`tokenizer.chat_template`, and named ones `tokenizer.chat_template.<name>`) is a
 * Jinja template that Python loaders render (llama-cpp-python before 0.2.72 rendered it outside a
 * sandbox: CVE-2024-34359, code execution from a model file). Each one is reported as info, and as
 * suspicious when it contains one of CHAT_TEMPLATE_PATTERNS.
 *
 * Rules: `gguf/valid`, `gguf/chat-template` (info); `gguf/chat-template-suspicious`, `gguf/trailing-data`,
 * `gguf/malformed`, `gguf/limit-exceeded` (suspicious).
 * Misses: a template that escapes a sandbox by means not in the pattern list (the list catches the
 * published escapes and their usual obfuscations, not every possible one); whatever a loader does with
 * other metadata strings; anything about the tensor values.
 */

/** Key-value pairs read: a header declaring billions would keep the scan busy for ever. */
export const MAX_GGUF_KV = 65_536;
/** Tensor descriptions read (real models have at most tens of thousands). */
export const MAX_GGUF_TENSORS = 1_048_576;
/** Longest key (docs/gguf.md: keys are at most 65535 bytes). */
export const MAX_GGUF_KEY_BYTES = 65_535;
/** Elements in one array value (the largest vocabularies have ~260k tokens): bounds the scan's time. */
export const MAX_GGUF_ARRAY_LENGTH = 4_194_304;
/** Header and metadata bytes walked before the scan stops: a header can declare gigabytes of strings. */
export const MAX_GGUF_METADATA_BYTES = 256 * 1024 * 1024;
/** Chat template bytes read and checked (real templates are a few KiB). */
export const MAX_GGUF_TEMPLATE_BYTES = 1024 * 1024;
/** ggml's GGML_MAX_DIMS: more dimensions are rejected by llama.cpp. */
export const GGUF_MAX_DIMS = 4;
/** ggml's GGML_MAX_NAME: a tensor name must be shorter. */
export const GGUF_MAX_NAME_BYTES = 64;

/**
 * What makes a chat template suspicious: the published Jinja sandbox escapes (attribute walks to
 * `__globals__`/`__builtins__`/`os.popen` through `__class__`, `__mro__`, `__subclasses__`, or through
 * the globals `lipsum`, `cycler`, `joiner`, `namespace`, `self`), and the usual ways to hide the
 * underscores from a filter (`|attr()`, `\x5f` escapes, `'_'*2`, `'__'` pieces). Legitimate chat
 * templates use none of these.
 */
export const CHAT_TEMPLATE_PATTERNS: readonly { readonly what: string; readonly re: RegExp }[] = [
  { what: 'a dunder name (__class__, __globals__, __subclasses__, __builtins__, __import__, __mro__, __init__…)', re: /__[A-Za-z][A-Za-z0-9_]*__/ },
  { what: 'the mro attribute', re: /\.\s*mro\b|['"]mro['"]/ },
  { what: 'a Jinja global used as a gadget (lipsum, cycler, joiner, namespace, self, range…) followed by an underscore attribute', re: /\b(lipsum|cycler|joiner|namespace|self|range|dict|config|request)\b\s*(\.\s*_|\[\s*['"]_|\|\s*attr)/ },
  { what: 'the attr filter (attribute access that hides the name)', re: /\|\s*attr\s*\(/ },
  { what: 'an escaped underscore (\\x5f, \\u005f, \\137)', re: /\\x5f|\\u005f|\\U0000005f|\\137/i },
  { what: "an underscore string built by repetition or concatenation ('_'*2, '__')", re: /['"]_+['"]\s*\*\s*\d|['"]__['"]/ },
  { what: 'os / subprocess / popen', re: /\bos\s*\.\s*(popen|system|exec\w*|spawn\w*|remove|unlink)\b|\bsubprocess\b|\bpopen\b/i },
  { what: 'a call to eval, exec, compile, open, getattr, globals, locals or __import__', re: /\b(eval|exec|compile|open|getattr|setattr|globals|locals|__import__)\s*\(/ },
  { what: 'include, import, extends or from (loads another template)', re: /\{%-?\s*(include|import|extends|from)\b/ },
];

/** gguf_type ids. */
const T = { UINT8: 0, INT8: 1, UINT16: 2, INT16: 3, UINT32: 4, INT32: 5, FLOAT32: 6, BOOL: 7, STRING: 8, ARRAY: 9, UINT64: 10, INT64: 11, FLOAT64: 12 } as const;
const TYPE_NAMES = ['UINT8', 'INT8', 'UINT16', 'INT16', 'UINT32', 'INT32', 'FLOAT32', 'BOOL', 'STRING', 'ARRAY', 'UINT64', 'INT64', 'FLOAT64'];
/** Byte size of fixed-size gguf types (0 for STRING and ARRAY). */
const TYPE_SIZE = [1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8];

/** ggml_type id -> [elements per block, bytes per block] (format-specs §1.5; removed ids are absent). */
export const GGML_TYPES: ReadonlyMap<number, readonly [number, number, string]> = new Map([
  [0, [1, 4, 'F32']], [1, [1, 2, 'F16']], [2, [32, 18, 'Q4_0']], [3, [32, 20, 'Q4_1']], [6, [32, 22, 'Q5_0']],
  [7, [32, 24, 'Q5_1']], [8, [32, 34, 'Q8_0']], [9, [32, 36, 'Q8_1']], [10, [256, 84, 'Q2_K']], [11, [256, 110, 'Q3_K']],
  [12, [256, 144, 'Q4_K']], [13, [256, 176, 'Q5_K']], [14, [256, 210, 'Q6_K']], [15, [256, 292, 'Q8_K']],
  [16, [256, 66, 'IQ2_XXS']], [17, [256, 74, 'IQ2_XS']], [18, [256, 98, 'IQ3_XXS']], [19, [256, 50, 'IQ1_S']],
  [20, [32, 18, 'IQ4_NL']], [21, [256, 110, 'IQ3_S']], [22, [256, 82, 'IQ2_S']], [23, [256, 136, 'IQ4_XS']],
  [24, [1, 1, 'I8']], [25, [1, 2, 'I16']], [26, [1, 4, 'I32']], [27, [1, 8, 'I64']], [28, [1, 8, 'F64']],
  [29, [256, 56, 'IQ1_M']], [30, [1, 2, 'BF16']], [34, [256, 54, 'TQ1_0']], [35, [256, 66, 'TQ2_0']],
  [39, [32, 17, 'MXFP4']], [40, [64, 36, 'NVFP4']], [41, [128, 18, 'Q1_0']], [42, [64, 18, 'Q2_0']],
] as const);

const DEFAULT_ALIGNMENT = 32;
const INT64_MAX = (1n << 63n) - 1n;

interface Template {
  key: string;
  text: string;
  offset: number;
  bytes: number;
}

export async function scanGguf(source: ByteSource, ctx: ScanContext): Promise<void> {
  const findings = new Findings(ctx);
  const templates: Template[] = [];
  let summary = '';
  const ok = await guarded(findings, 'gguf', ctx.file, 'the GGUF file', async () => {
    summary = await parse(source, ctx.file, findings, templates);
  });
  // Templates read before a problem was found are still checked: a loader that is less strict may render them.
  for (const t of templates) checkTemplate(t, ctx.file, findings);
  if (ok && !findings.has('suspicious', 'dangerous')) {
    findings.add('info', 'gguf/valid', `${summary}; GGUF holds data only and cannot carry code`, ctx.file);
  }
  findings.flush();
}

async function parse(source: ByteSource, file: string, findings: Findings, templates: Template[]): Promise<string> {
  const c = new Cursor(source);
  await c.need(8, 'the GGUF header');
  const magic = c.take(4);
  if (magic[0] !== 0x47 || magic[1] !== 0x47 || magic[2] !== 0x55 || magic[3] !== 0x46) throw malformed(`the magic is not "GGUF"`, 0);
  let version = c.u32();
  if (version < 1 || version > 3) {
    const swapped = ((version & 0xff) << 24) | ((version & 0xff00) << 8) | ((version >>> 8) & 0xff00) | (version >>> 24);
    if (swapped >= 1 && swapped <= 3) {
      c.littleEndian = false; // v3 allows a whole-file big-endian layout, seen as a byte-swapped version
      version = swapped;
    } else {
      throw malformed(`unsupported GGUF version ${version} (1 to 3 exist)`, 4);
    }
  }
  const wide = version >= 2; // v1 used u32 for counts and lengths
  const count = async (what: string): Promise<bigint> => {
    await c.need(wide ? 8 : 4, what);
    return wide ? c.u64() : BigInt(c.u32());
  };
  const checkBudget = (): void => {
    if (c.pos > MAX_GGUF_METADATA_BYTES) throw limitExceeded(`the metadata goes on past ${MAX_GGUF_METADATA_BYTES} bytes (MAX_GGUF_METADATA_BYTES)`, c.pos);
  };
  const tensorCount = await count('the tensor count');
  const kvCount = await count('the key-value count');
  if (kvCount > BigInt(MAX_GGUF_KV)) throw limitExceeded(`${kvCount} key-value pairs declared, more than MAX_GGUF_KV (${MAX_GGUF_KV})`, wide ? 16 : 12);
  if (tensorCount > BigInt(MAX_GGUF_TENSORS)) throw limitExceeded(`${tensorCount} tensors declared, more than MAX_GGUF_TENSORS (${MAX_GGUF_TENSORS})`, 8);

  /** A string's length, checked against the file (and `max` when given). */
  const stringLength = async (what: string): Promise<number> => {
    const start = c.pos;
    const n = await count(`the length of ${what}`);
    if (n > BigInt(source.size - c.pos)) throw malformed(`${what} is declared ${n} bytes long, past the end of the file`, start);
    return Number(n);
  };
  const readString = async (what: string, max: number): Promise<string> => {
    const start = c.pos;
    const n = await stringLength(what);
    if (n > max) throw limitExceeded(`${what} is ${n} bytes long, more than the ${max}-byte limit`, start);
    await c.need(n, what);
    const text = utf8OrUndefined(c.take(n));
    if (text === undefined) throw malformed(`${what} is not valid UTF-8`, start);
    return text;
  };

  const keys = new Set<string>();
  let alignment = DEFAULT_ALIGNMENT;
  for (let i = 0n; i < kvCount; i++) {
    checkBudget();
    const kvAt = c.pos;
    const key = await readString(`key ${i}`, MAX_GGUF_KEY_BYTES);
    if (key === '') throw malformed(`key ${i} is empty`, kvAt);
    if (keys.has(key)) throw malformed(`duplicate key ${show(key)} (ggml rejects the file; loaders that keep the first or the last value disagree)`, kvAt);
    keys.add(key);
    await c.need(4, `the type of ${show(key)}`);
    const typeAt = c.pos;
    const type = c.u32();
    if (type >= TYPE_NAMES.length) throw malformed(`key ${show(key)} has unknown value type ${type}`, typeAt);
    const isTemplate = key === 'tokenizer.chat_template' || key.startsWith('tokenizer.chat_template.');
    if (key === 'general.alignment') {
      if (type !== T.UINT32) throw malformed(`general.alignment has type ${TYPE_NAMES[type]}, not UINT32`, typeAt);
      await c.need(4, 'general.alignment');
      alignment = c.u32();
      if (alignment === 0 || (alignment & (alignment - 1)) !== 0) throw malformed(`general.alignment is ${alignment}, not a power of two`, typeAt + 4);
    } else if (isTemplate && type === T.STRING) {
      const start = c.pos;
      const n = await stringLength(`the value of ${show(key)}`);
      const kept = Math.min(n, MAX_GGUF_TEMPLATE_BYTES);
      await c.need(kept, `the value of ${show(key)}`);
      const text = utf8Lossy(c.take(kept));
      c.skip(n - kept, `the value of ${show(key)}`);
      templates.push({ key, text, offset: start, bytes: n });
      if (n > kept) {
        findings.add('suspicious', 'gguf/limit-exceeded', `${show(key)} is ${n} bytes long; only the first ${kept} bytes were checked (MAX_GGUF_TEMPLATE_BYTES)`, at(file, start));
      }
    } else {
      await skipValue(type, show(key));
    }
  }

  async function skipValue(type: number, what: string): Promise<void> {
    if (type === T.STRING) {
      const n = await stringLength(`the value of ${what}`);
      c.skip(n, `the value of ${what}`);
    } else if (type === T.BOOL) {
      await c.need(1, `the value of ${what}`);
      const b = c.u8();
      if (b > 1) throw malformed(`the BOOL value of ${what} is ${b}, not 0 or 1`, c.pos - 1);
    } else if (type === T.ARRAY) {
      await c.need(4, `the element type of ${what}`);
      const elemType = c.u32();
      if (elemType >= TYPE_NAMES.length) throw malformed(`array ${what} has unknown element type ${elemType}`, c.pos - 4);
      if (elemType === T.ARRAY) throw malformed(`array ${what} holds arrays (ggml rejects nested arrays)`, c.pos - 4);
      const lengthAt = c.pos;
      const n = await count(`the length of array ${what}`);
      if (n > BigInt(MAX_GGUF_ARRAY_LENGTH)) throw limitExceeded(`array ${what} has ${n} elements, more than MAX_GGUF_ARRAY_LENGTH (${MAX_GGUF_ARRAY_LENGTH})`, lengthAt);
      if (elemType === T.STRING) {
        const lengthBytes = wide ? 8 : 4;
        for (let k = 0; k < Number(n); k++) {
          if (c.available() < lengthBytes) await c.need(lengthBytes, `the length of string ${k} of array ${what}`);
          const len = wide ? c.u64() : BigInt(c.u32());
          if (len > BigInt(source.size - c.pos)) throw malformed(`string ${k} of array ${what} is declared ${len} bytes long, past the end of the file`, c.pos - lengthBytes);
          c.skip(len, `string ${k} of array ${what}`);
          if ((k & 0xfff) === 0) checkBudget();
        }
      } else {
        c.skip(n * BigInt(TYPE_SIZE[elemType]!), `the ${n} elements of array ${what}`);
      }
    } else {
      c.skip(TYPE_SIZE[type]!, `the value of ${what}`);
    }
  }

  // Tensor descriptions.
  checkBudget();
  const names = new Set<string>();
  let expected = 0n; // where ggml expects the next tensor (relative to the data section)
  const tensors: { name: string; offset: bigint; bytes: bigint; at: number }[] = [];
  const A = BigInt(alignment);
  const pad = (x: bigint): bigint => ((x + A - 1n) / A) * A;
  for (let i = 0n; i < tensorCount; i++) {
    if ((i & 0xffn) === 0n) checkBudget();
    const infoAt = c.pos;
    const name = await readString(`the name of tensor ${i}`, MAX_GGUF_KEY_BYTES);
    if (new TextEncoder().encode(name).length >= GGUF_MAX_NAME_BYTES) throw malformed(`tensor name ${show(name)} is ${GGUF_MAX_NAME_BYTES} bytes or longer (ggml rejects it)`, infoAt);
    if (names.has(name)) throw malformed(`duplicate tensor name ${show(name)}`, infoAt);
    names.add(name);
    await c.need(4, `the dimension count of tensor ${show(name)}`);
    const nDims = c.u32();
    if (nDims > GGUF_MAX_DIMS) throw malformed(`tensor ${show(name)} has ${nDims} dimensions, more than ${GGUF_MAX_DIMS}`, c.pos - 4);
    const ne: bigint[] = [];
    for (let d = 0; d < nDims; d++) {
      const v = await count(`dimension ${d} of tensor ${show(name)}`);
      if (v > INT64_MAX) throw malformed(`dimension ${d} of tensor ${show(name)} is ${v}, negative as int64`, c.pos - (wide ? 8 : 4));
      ne.push(v);
    }
    await c.need(12, `the type and offset of tensor ${show(name)}`);
    const typeAt = c.pos;
    const type = c.u32();
    const offset = c.u64();
    const t = GGML_TYPES.get(type);
    if (!t) throw malformed(`tensor ${show(name)} has unknown or removed ggml type ${type}`, typeAt);
    const [block, blockBytes, typeName] = t;
    const ne0 = ne[0] ?? 1n;
    if (ne0 % BigInt(block) !== 0n) throw malformed(`tensor ${show(name)} (${typeName}) has ne[0] = ${ne0}, not a multiple of the ${block}-element block`, infoAt);
    let rows = 1n;
    for (const v of ne.slice(1)) rows *= v;
    const bytes = (ne0 / BigInt(block)) * BigInt(blockBytes) * rows;
    if (bytes > BigInt(source.size)) throw malformed(`tensor ${show(name)} needs ${bytes} bytes, more than the whole file`, infoAt);
    if (offset % A !== 0n) throw malformed(`tensor ${show(name)} has offset ${offset}, not a multiple of the alignment ${alignment}`, typeAt + 4);
    if (offset !== expected) {
      throw malformed(`tensor ${show(name)} has offset ${offset}, expected ${expected} (tensors must follow one another in declaration order, padded to ${alignment}; ggml rejects overlapping or out-of-order data)`, typeAt + 4);
    }
    expected += pad(bytes);
    tensors.push({ name, offset, bytes, at: infoAt });
  }

  // The data section starts at the next multiple of the alignment (when there are tensors).
  const infoEnd = BigInt(c.pos);
  const dataStart = tensorCount > 0n ? pad(infoEnd) : infoEnd;
  const size = BigInt(source.size);
  for (const t of tensors) {
    const end = dataStart + t.offset + t.bytes;
    if (end > size) throw malformed(`the data of tensor ${show(t.name)} ([${dataStart + t.offset}, ${end})) runs past the end of the file (${size} bytes)`, t.at);
  }
  const dataEnd = dataStart + expected;
  if (size > dataEnd) {
    findings.add(
      'suspicious',
      'gguf/trailing-data',
      `${size - dataEnd} bytes after the end of the tensor data (offset ${dataEnd}): ggml ignores them; an appended file (polyglot) or a damaged download`,
      at(file, Number(dataEnd)),
    );
  }
  const end = c.littleEndian ? '' : ', big-endian';
  return `GGUF v${version}${end}, ${kvCount} key-value pairs, ${tensorCount} tensors, alignment ${alignment}`;
}

function checkTemplate(t: Template, file: string, findings: Findings): void {
  findings.add(
    'info',
    'gguf/chat-template',
    `${show(t.key)} is a Jinja chat template (${t.bytes} bytes) that chat front ends render when the model is used; a loader that renders it outside a sandbox runs whatever it asks (CVE-2024-34359)`,
    at(file, t.offset),
  );
  const hits = CHAT_TEMPLATE_PATTERNS.filter((p) => p.re.test(t.text));
  if (hits.length > 0) {
    const first = hits[0]!.re.exec(t.text)!;
    const snippet = t.text.slice(Math.max(0, first.index - 40), first.index + 60);
    findings.add(
      'suspicious',
      'gguf/chat-template-suspicious',
      `${show(t.key)} contains ${hits.map((h) => h.what).join('; ')}: the patterns of Jinja sandbox escapes (CVE-2024-34359), never seen in ordinary chat templates; near ${show(snippet)}`,
      at(file, t.offset),
    );
  }
}
