import type { ByteSource } from '../../io/byte-source.js';
import { isTensorsafeError } from '../../errors.js';
import type { ScanContext } from '../findings.js';
import { Findings, show } from '../scan-rules.js';
import { checkPfaTop, extractCells, type PfaCells } from './cells.js';
import { parsePfaText, readYaml, yamlTags } from './document.js';
import type { PfaStructure } from './reader.js';
import { readPfaText } from './reader.js';

/**
 * PFA's scan rules. A PFA document is code for a PFA engine, but a sandboxed one: its library has no
 * function that reads files, opens sockets or runs a process, so the action is not judged. What reaches
 * outside is a cell or pool whose `init` is a URL or file (`source` `json` or `avro`), which an engine
 * fetches on load; and, in YAML, a tag such as `!!python/object/apply:os.system`, which PyYAML's unsafe
 * loaders (yaml.load with its default or full Loader) run.
 *
 * Rules: `pfa/valid` (info); `pfa/yaml-python-tag` (dangerous); `pfa/external-init`, `pfa/yaml-tag`,
 * `pfa/malformed` (suspicious).
 * Misses: what the action computes (data-dependent loops are bounded by the engine's own timeouts).
 */

const PYTHON_TAG = /^(?:tag:yaml\.org,2002:)?!?python\//;

export async function scanPfa(source: ByteSource, ctx: ScanContext, parsed?: PfaStructure): Promise<void> {
  const findings = new Findings(ctx);
  const file = source.name;
  let cells: PfaCells;
  let syntax = parsed?.syntax;
  if (parsed !== undefined) {
    cells = parsed.cells;
    tagFindings(parsed.tags, findings, file);
  } else {
    let text: string;
    try {
      text = await readPfaText(source);
    } catch (e) {
      if (!isTensorsafeError(e)) throw e;
      findings.add('suspicious', 'pfa/malformed', e.message, e.location ?? file);
      return findings.flush();
    }
    if (!/^\s*\{/.test(text)) {
      // Tags first: a document PFA's reader refuses for its tags is still judged by them.
      try {
        tagFindings(yamlTags(readYaml(text, file)), findings, file);
      } catch {
        // reported below, by the parse
      }
    }
    try {
      const value = parsePfaText(text, file);
      syntax = value.syntax;
      cells = extractCells(checkPfaTop(value.value, file), file);
    } catch (e) {
      if (!isTensorsafeError(e)) throw e;
      findings.add('suspicious', 'pfa/malformed', e.message, e.location ?? file);
      return findings.flush();
    }
  }
  findings.add('info', 'pfa/valid', `PFA in ${syntax === 'yaml' ? 'YAML' : 'JSON'}: ${plural(cells.cells.length, 'cell')}, ${plural(cells.pools.length, 'pool')}; the action is data, never run`, file);
  for (const e of cells.external) {
    findings.add('suspicious', 'pfa/external-init', `${show(e.path)} takes its init from ${show(e.init)} (source ${e.source}): a PFA engine reads that file or URL when it loads the document; tensorsafe does not`, file);
  }
  findings.flush();
}

function tagFindings(tags: readonly string[], findings: Findings, file: string): void {
  for (const tag of tags) {
    if (PYTHON_TAG.test(tag)) findings.add('dangerous', 'pfa/yaml-python-tag', `YAML tag ${show(tag)}: PyYAML's unsafe loaders construct (and so call) the Python object it names`, file);
    else if (!/^tag:yaml\.org,2002:(?:map|seq|str|null|bool|int|float)$/.test(tag)) findings.add('suspicious', 'pfa/yaml-tag', `YAML tag ${show(tag)}: not one PFA uses; a YAML loader may make something other than data of it`, file);
  }
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
