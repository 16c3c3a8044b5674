/**
 * What a scan reports. A finding is one observation with a severity; the verdict on a file is the
 * worst severity among its findings.
 */

/**
 * - `info`: a fact, not a problem (the format was validated, a TorchScript archive was recognised).
 * - `suspicious`: could not be judged safe (an unknown global, an encrypted entry, a malformed or
 *   tampered container, code that runs only with a specific loader).
 * - `dangerous`: runs code or touches the system when loaded the usual way.
 * - `error`: the scan itself could not read the file (I/O).
 */
export type Severity = 'info' | 'suspicious' | 'dangerous' | 'error';

export type Verdict = 'safe' | 'suspicious' | 'dangerous' | 'error';

export interface Finding {
  readonly severity: Severity;
  /** Stable rule id, `area/what`: `pickle/dangerous-global`, `zip/name-mismatch`, `keras/lambda-layer`. */
  readonly rule: string;
  /** What was found and why it matters, for a person. */
  readonly message: string;
  /** Where: `file`, `file:entry`, `file:entry@offset`. */
  readonly location: string;
}

export interface ScanReport {
  readonly file: string;
  /** The format detected from the bytes: `pytorch-zip`, `pickle`, `safetensors`, `npy`, … */
  readonly format: string;
  readonly verdict: Verdict;
  readonly findings: readonly Finding[];
}

/** Severities from least to most serious: a verdict is the worst severity found (info counts as none). */
export const SEVERITY_RANK: Readonly<Record<Severity, number>> = { info: 0, error: 1, suspicious: 2, dangerous: 3 };
const VERDICT_OF_RANK: readonly Verdict[] = ['safe', 'error', 'suspicious', 'dangerous'];

/** The verdict of a worst severity rank (SEVERITY_RANK). */
export function verdictOfRank(rank: number): Verdict {
  return VERDICT_OF_RANK[rank]!;
}

/** The worst of the findings: dangerous > suspicious > error > safe (info findings do not count). */
export function verdictOf(findings: readonly Finding[]): Verdict {
  return verdictOfRank(findings.reduce((worst, f) => Math.max(worst, SEVERITY_RANK[f.severity]), 0));
}

/** What format scanners are given: where to put findings, and the pickle analysis for pickles they find. */
export interface ScanContext {
  /** The file's name (path or URL) for locations. */
  readonly file: string;
  /** The folder the file is in, when it is a local file (ONNX external data, TF.js weight paths). */
  readonly dir: string | undefined;
  /**
   * Local files: why a path the file references (a TF.js shard) would be read from outside its folder
   * once symbolic links are resolved (a link out, a device or FIFO), or undefined (inside, missing, or a
   * path the format's rules judge themselves: absolute, `..`).
   */
  readonly escapesFolder?: (relative: string) => Promise<string | undefined>;
  report(finding: Finding): void;
  /** Whether a dangerous finding was reported for this file so far (absent: unknown). */
  readonly hasDangerous?: () => boolean;
  /** Analyses a pickle found inside the file (an object array, a nested pickle); `location` says where. */
  scanPickle(bytes: Uint8Array, location: string): void | Promise<void>;
}

/** Collects findings, and caps them: a hostile file could otherwise produce millions. */
export const MAX_FINDINGS_PER_FILE = 1000;
