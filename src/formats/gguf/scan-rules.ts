import type { ByteSource } from '../../io/byte-source.js';
import { FormatProblem } from '../../io/format-problem.js';
import type { ScanContext } from '../findings.js';
import { at, Findings, show, utf8Lossy } from '../scan-rules.js';
import { countBytes, readGgufHeader, type GgufHeader, type GgufKeyValue } from './header.js';

/**
 * GGUF (llama.cpp / ggml): a header of typed key-value pairs, tensor descriptions, then tensor data.
 * GGUF cannot carry code. The header is read by header.ts as ggml's own reader checks it (so that a
 * file this scan accepts is one llama.cpp reads the same way; arrays of arrays, which the reader reads
 * past, stop it here as they stop ggml); each problem it meets is a finding. Bytes after the tensor
 * data are reported. Tensor data is never read.
 *
 * The chat template (`tokenizer.chat_template`, and named ones `tokenizer.chat_template.<name>`) is a
 * Jinja template that Python loaders render (llama-cpp-python before 0.2.72 rendered it outside a
 * sandbox: CVE-2024-34359, code execution from a model file). Each one is reported as info, and as
 * suspicious when it contains one of CHAT_TEMPLATE_PATTERNS.
 *
 * A key (or tensor name) holding a NUL byte is one name here and another to llama.cpp, whose lookups
 * compare C strings (gguf_find_key's strcmp): `tokenizer.chat_template\0x` placed first IS the chat
 * template llama.cpp renders. Such a key is matched by what comes before its NUL, and reported.
 *
 * Rules: `gguf/valid`, `gguf/chat-template` (info); `gguf/chat-template-suspicious`, `gguf/trailing-data`,
 * `gguf/nul-in-name`, `gguf/malformed`, `gguf/limit-exceeded` (suspicious).
 * Misses: a template that escapes a sandbox by means not in the pattern list (the list catches the
 * published escapes and their usual obfuscations, not every possible one); whatever a loader does with
 * other metadata strings; anything about the tensor values.
 */

/** Chat template bytes read and checked (real templates are a few KiB). */
export const MAX_GGUF_TEMPLATE_BYTES = 1024 * 1024;

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

interface Template {
  key: string;
  text: string;
  offset: number;
  bytes: number;
}

/**
 * Scans one GGUF source; `parsed`, when given, is the header an earlier open of the same source read
 * (a file is parsed once per command): the findings are the same as from a parse of the scan's own.
 */
export async function scanGguf(source: ByteSource, ctx: ScanContext, parsed?: GgufHeader): Promise<void> {
  const findings = new Findings(ctx);
  // The key-value pairs ggml reads before it stops (at a problem, or at what it refuses and the reader reads past).
  let read: readonly GgufKeyValue[];
  let version = parsed?.version ?? 0;
  let header: GgufHeader | undefined;
  let problem: FormatProblem | undefined;
  if (parsed === undefined) {
    const seen: GgufKeyValue[] = [];
    read = seen;
    const onKeyValue = (kv: GgufKeyValue, v: number): void => {
      seen.push(kv);
      version = v;
    };
    try {
      header = await readGgufHeader(source, { asGgml: true, onKeyValue });
    } catch (e) {
      if (!(e instanceof FormatProblem)) throw e;
      problem = e;
    }
  } else if (parsed.ggmlRefuses !== undefined) {
    const refused = parsed.ggmlRefuses;
    problem = refused;
    read = parsed.metadata.filter((kv) => kv.at < refused.offset!);
  } else {
    header = parsed;
    read = parsed.metadata;
  }
  const templates: Template[] = [];
  for (const kv of read) {
    // The key as llama.cpp looks it up: a C string, cut at its first NUL.
    const key = cString(kv.key);
    if (key !== kv.key) findings.add('suspicious', 'gguf/nul-in-name', `key ${show(kv.key)} holds a NUL byte: llama.cpp compares keys as C strings and takes it for ${show(key)}, so it can stand in for that key`, at(ctx.file, kv.at));
    if (kv.type !== 'STRING' || !(key === 'tokenizer.chat_template' || key.startsWith('tokenizer.chat_template.'))) continue;
    const bytes = kv.length!;
    const kept = Math.min(bytes, MAX_GGUF_TEMPLATE_BYTES);
    // A template longer than the header keeps is read here: its first MAX_GGUF_TEMPLATE_BYTES only.
    const text = kv.value !== undefined && bytes === kept ? (kv.value as string) : utf8Lossy(await source.read(kv.at + countBytes(version), kept));
    templates.push({ key: kv.key, text, offset: kv.at, bytes });
    if (bytes > kept) {
      findings.add('suspicious', 'gguf/limit-exceeded', `${show(kv.key)} is ${bytes} bytes long; only the first ${kept} bytes were checked (MAX_GGUF_TEMPLATE_BYTES)`, at(ctx.file, kv.at));
    }
  }
  for (const t of header?.tensors ?? []) {
    if (cString(t.name) !== t.name) findings.add('suspicious', 'gguf/nul-in-name', `tensor name ${show(t.name)} holds a NUL byte: ggml keeps names as C strings and calls it ${show(cString(t.name))}`, at(ctx.file, t.at));
  }
  if (problem !== undefined) findings.problem('gguf', problem, ctx.file, 'the GGUF file');
  if (header !== undefined) {
    const size = source.size;
    if (size > header.dataEnd) {
      findings.add(
        'suspicious',
        'gguf/trailing-data',
        `${size - header.dataEnd} bytes after the end of the tensor data (offset ${header.dataEnd}): ggml ignores them; an appended file (polyglot) or a damaged download`,
        at(ctx.file, header.dataEnd),
      );
    }
  }
  // Templates read before a problem was found are still checked: a loader that is less strict may render them.
  for (const t of templates) checkTemplate(t, ctx.file, findings);
  if (header !== undefined && !findings.has('suspicious', 'dangerous')) {
    const summary = `GGUF v${header.version}${header.littleEndian ? '' : ', big-endian'}, ${header.metadata.length} key-value pairs, ${header.tensors.length} tensors, alignment ${header.alignment}`;
    findings.add('info', 'gguf/valid', `${summary}; GGUF holds data only and cannot carry code`, ctx.file);
  }
  findings.flush();
}

/** A name as C code sees it: up to its first NUL. */
function cString(name: string): string {
  const nul = name.indexOf('\0');
  return nul < 0 ? name : name.slice(0, nul);
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
