import { isCollection, parseDocument, visit, type Document } from 'yaml';
import { PfaError } from './errors.js';
import { MAX_PFA_YAML_ALIASES } from './limits.js';

/**
 * A PFA document's text as a value: JSON when it starts with `{`, YAML otherwise. YAML is read by the
 * `yaml` package (README "## Dependencies") as YAML 1.1, the version PFA's implementations read (Hadrian:
 * SnakeYAML; Titus: PyYAML), with the 1.1 schema's scalars only: no `!!binary`, `!!set`, `!!omap`,
 * `!!pairs`, `!!timestamp`, no merge keys, no tag the schema does not know (a `!!python/object` is refused:
 * PyYAML's unsafe loaders would construct it), duplicate keys refused, and at most MAX_PFA_YAML_ALIASES
 * aliases (billion laughs). A mapping key that is itself a mapping or sequence is refused (JSON objects
 * have none; made into a JS object, it would be stringified, with a process warning).
 */

export interface PfaText {
  readonly value: unknown;
  readonly syntax: 'json' | 'yaml';
  /** Tags written in a YAML document (`!!python/object:os.system`), for the scan. */
  readonly tags: readonly string[];
}

const KEPT_TAG = /^tag:yaml\.org,2002:(?:map|seq|str|null|bool|int|float)$/;

export function parsePfaText(text: string, file: string): PfaText {
  if (/^\s*\{/.test(text)) {
    try {
      return { value: JSON.parse(text), syntax: 'json', tags: [] };
    } catch (e) {
      throw new PfaError('InvalidPfa', `${file}: not JSON (${e instanceof Error ? e.message : String(e)})`, { location: file });
    }
  }
  const doc = readYaml(text, file);
  const error = doc.errors[0];
  if (error !== undefined) throw new PfaError('InvalidPfa', `${file}: not YAML: ${error.message.split('\n')[0] ?? ''} (byte ${error.pos[0]})`, { location: `${file}@${error.pos[0]}` });
  const tags = yamlTags(doc);
  const unknown = doc.warnings.find((w) => w.code === 'TAG_RESOLVE_FAILED');
  if (unknown !== undefined) {
    throw new PfaError('InvalidPfa', `${file}: a YAML tag it does not read: ${(unknown.message.split('\n')[0] ?? '').slice(0, 200)} (byte ${unknown.pos[0]}); only plain YAML scalars, sequences and mappings are read`, { location: `${file}@${unknown.pos[0]}` });
  }
  let aliases = 0;
  let collectionKey: number | undefined;
  visit(doc, { Alias: () => void aliases++, Pair: (_key, pair) => void (isCollection(pair.key) && collectionKey === undefined && (collectionKey = pair.key.range?.[0] ?? 0)) });
  if (collectionKey !== undefined) throw new PfaError('InvalidPfa', `${file}: a YAML mapping key that is a mapping or sequence (byte ${collectionKey}): PFA's keys are strings`, { location: `${file}@${collectionKey}` });
  if (aliases > MAX_PFA_YAML_ALIASES) throw new PfaError('PfaLimit', `${file}: ${aliases} YAML aliases, more than MAX_PFA_YAML_ALIASES (${MAX_PFA_YAML_ALIASES})`, { location: file });
  try {
    return { value: doc.toJS({ maxAliasCount: MAX_PFA_YAML_ALIASES }), syntax: 'yaml', tags };
  } catch (e) {
    throw new PfaError('PfaLimit', `${file}: the YAML's aliases expand too far (${e instanceof Error ? e.message : String(e)})`, { location: file });
  }
}

/** A YAML document as PFA's is read (the options above). */
export function readYaml(text: string, file: string): Document.Parsed {
  try {
    return parseDocument(text, { version: '1.1', customTags: (tags) => tags.filter((t) => typeof t !== 'string' && KEPT_TAG.test(t.tag)), merge: false, uniqueKeys: true, strict: true, prettyErrors: false });
  } catch (e) {
    throw new PfaError('InvalidPfa', `${file}: not YAML (${e instanceof Error ? e.message : String(e)})`, { location: file });
  }
}

/** Every explicit tag in a YAML document, as written (`!!python/object:os.system`) or resolved. */
export function yamlTags(doc: Document): string[] {
  const tags: string[] = [];
  visit(doc, {
    Node: (_key, node) => {
      if ('tag' in node && typeof node.tag === 'string' && tags.length < 1000) tags.push(node.tag);
    },
  });
  return tags;
}
