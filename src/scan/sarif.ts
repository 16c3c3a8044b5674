import type { Finding, ScanReport } from '../formats/findings.js';
import { FORMATS } from '../formats/registry.js';

/** SARIF 2.1.0, for code-scanning dashboards (GitHub, GitLab, Azure DevOps). */
export function toSarif(reports: readonly ScanReport[], version: string): object {
  const rules = new Map<string, Finding>();
  for (const r of reports) for (const f of r.findings) if (!rules.has(f.rule)) rules.set(f.rule, f);
  const ruleIds = [...rules.keys()].sort();
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'tensorsafe',
            version,
            informationUri: 'https://github.com/tensorsafe/tensorsafe',
            rules: ruleIds.map((id) => ({
              id,
              name: id.replace(/[/-](.)/g, (_m, c: string) => c.toUpperCase()),
              shortDescription: { text: ruleText(id, rules.get(id)!) },
              defaultConfiguration: { level: level(rules.get(id)!.severity) },
            })),
          },
        },
        results: reports.flatMap((r) =>
          r.findings
            .filter((f) => f.severity !== 'info')
            .map((f) => ({
              ruleId: f.rule,
              ruleIndex: ruleIds.indexOf(f.rule),
              level: level(f.severity),
              message: { text: f.message },
              locations: [
                {
                  physicalLocation: { artifactLocation: { uri: toUri(r.file) }, ...(byteRegion(f.location) ?? {}) },
                  logicalLocations: [{ fullyQualifiedName: f.location }],
                },
              ],
              properties: { severity: f.severity, format: r.format, verdict: r.verdict },
            })),
        ),
        artifacts: reports.map((r) => ({ location: { uri: toUri(r.file) }, properties: { format: r.format, verdict: r.verdict } })),
      },
    ],
  };
}

function level(severity: Finding['severity']): 'error' | 'warning' | 'note' {
  return severity === 'dangerous' ? 'error' : severity === 'suspicious' || severity === 'error' ? 'warning' : 'note';
}

/** `file@123` → a byte region (only for offsets in the file itself, not inside archive entries). */
function byteRegion(location: string): { region: { byteOffset: number } } | undefined {
  const m = /^[^:]*@(\d+)$/.exec(location);
  return m ? { region: { byteOffset: Number(m[1]) } } : undefined;
}

function toUri(file: string): string {
  if (/^[a-z]+:\/\//i.test(file)) return file;
  return file.split(/[\\/]/).map(encodeURIComponent).join('/');
}

/** The scanner's own rules (pickles, archives), one line each; formats describe theirs in their descriptors. */
const SCANNER_RULE_TEXT: Readonly<Record<string, string>> = {
  'pickle/dangerous-global': 'A pickle imports a function that runs code or touches the system when the file is loaded',
  'pickle/unknown-global': 'A pickle imports a name that is not a known data type',
  'pickle/computed-global': 'A pickle imports a name computed while loading, which cannot be checked',
  'pickle/mutates-global': 'A pickle changes a module or class itself',
  'pickle/indirect-call': 'A pickle calls something that is not an imported name (a gadget chain)',
  'pickle/frame-mismatch': 'Pickle FRAME boundaries disagree with the opcodes: loaders and scanners read the stream differently',
  'pickle/nested-pickle': 'A pickle stored as data inside a pickle contains unsafe imports',
  'pickle/malformed': 'The pickle cannot be decoded to its end',
  'pickle/trailing-data': 'Bytes follow the pickle: a file that is two formats at once',
  'zip/bad-crc': 'A zip entry does not match its CRC-32',
};

/**
 * A rule's description: the scanner's own, or the one the registered format that reports it gives
 * (`ruleDescriptions` of its descriptor), or else the message of the rule's first finding (a new
 * format's rules need no edit here).
 */
function ruleText(id: string, first: Finding): string {
  if (Object.hasOwn(SCANNER_RULE_TEXT, id)) return SCANNER_RULE_TEXT[id]!;
  for (const format of FORMATS) {
    const own = format.ruleDescriptions;
    if (own !== undefined && Object.hasOwn(own, id)) return own[id]!;
  }
  return first.message;
}
