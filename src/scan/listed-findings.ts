import { MAX_FINDINGS_PER_FILE, SEVERITY_RANK as RANK, verdictOfRank, type Finding, type Verdict } from '../formats/findings.js';

/**
 * The findings a scan report lists, and its verdict. The verdict is the worst severity of every finding
 * reported, listed or not: a hostile file cannot hide a dangerous finding behind a thousand harmless
 * ones. The list is bounded (MAX_FINDINGS_PER_FILE); when it is full, a finding of a higher severity
 * takes the place of the latest one of the lowest severity listed, so info findings never push out the
 * others, and the findings that explain the verdict are listed. Info findings of one rule past
 * MAX_INFO_FINDINGS_PER_RULE are counted in one closing info finding per rule (an npz of 100,000
 * arrays is one `npy/valid` per array). Identical findings (same rule, location and message: the same
 * bytes read twice, by two walks that both reach them) are listed once.
 */

/** Info findings of one rule listed per file; the rest are counted in one closing info finding. Guards against a file of many benign members drowning its report (and a CI log) in facts. */
export const MAX_INFO_FINDINGS_PER_RULE = 20;
/** Distinct findings remembered to list identical ones once. Guards against a hostile file's millions of findings filling memory with keys. */
const MAX_REMEMBERED_FINDINGS = 4 * MAX_FINDINGS_PER_FILE;


export class ListedFindings {
  /** Listed findings in the order reported; undefined where a finding was pushed out by a worse one. */
  private readonly slots: (Finding | undefined)[] = [];
  private listed = 0;
  /** Slot indices of the listed findings, by severity rank: the latest of the lowest rank is pushed out first. */
  private readonly byRank: number[][] = [[], [], [], []];
  /** Info findings of each rule listed so far, and those not listed (with the first one's location). */
  private readonly infoListed = new Map<string, number>();
  private readonly infoLeftOut = new Map<string, { n: number; location: string }>();
  /** Findings that are not info and were not listed. */
  private otherLeftOut = 0;
  private worst = 0;
  private readonly seen = new Set<string>();

  constructor(private readonly max = MAX_FINDINGS_PER_FILE) {}

  add(f: Finding): void {
    const key = `${f.severity}\u0000${f.rule}\u0000${f.location}\u0000${f.message}`;
    if (this.seen.has(key)) return;
    if (this.seen.size < MAX_REMEMBERED_FINDINGS) this.seen.add(key);
    const rank = RANK[f.severity];
    this.worst = Math.max(this.worst, rank);
    if (rank === 0 && (this.infoListed.get(f.rule) ?? 0) >= MAX_INFO_FINDINGS_PER_RULE) return this.leaveOut(f);
    if (this.listed >= this.max) {
      const lower = this.byRank.findIndex((slots, r) => r < rank && slots.length > 0);
      if (lower < 0) return this.leaveOut(f);
      const slot = this.byRank[lower]!.pop()!;
      const out = this.slots[slot]!;
      if (out.severity === 'info') this.infoListed.set(out.rule, this.infoListed.get(out.rule)! - 1);
      this.leaveOut(out);
      this.slots[slot] = undefined;
      this.listed--;
    }
    if (rank === 0) this.infoListed.set(f.rule, (this.infoListed.get(f.rule) ?? 0) + 1);
    this.byRank[rank]!.push(this.slots.length);
    this.slots.push(f);
    this.listed++;
  }

  private leaveOut(f: Finding): void {
    if (f.severity !== 'info') {
      this.otherLeftOut++;
      return;
    }
    const c = this.infoLeftOut.get(f.rule);
    if (c) c.n++;
    else this.infoLeftOut.set(f.rule, { n: 1, location: f.location });
  }

  /** The worst severity of every finding added, listed or not (and of `scan/too-many-findings`, when it is listed). */
  get verdict(): Verdict {
    return verdictOfRank(Math.max(this.worst, this.otherLeftOut > 0 ? RANK.suspicious : 0));
  }

  /** The listed findings, then one info finding per rule whose info findings were not all listed, then, when others were not listed, `scan/too-many-findings`. */
  findings(file: string): Finding[] {
    const out = this.slots.filter((f): f is Finding => f !== undefined);
    for (const [rule, { n, location }] of this.infoLeftOut) {
      const all = n + (this.infoListed.get(rule) ?? 0);
      out.push({ severity: 'info', rule, message: `and ${n} more ${rule} findings like the ones above (${all} in all), not listed`, location });
    }
    if (this.otherLeftOut > 0) {
      out.push({
        severity: 'suspicious',
        rule: 'scan/too-many-findings',
        message: `${this.otherLeftOut} more findings were not listed (MAX_FINDINGS_PER_FILE); the verdict counts them`,
        location: file,
      });
    }
    return out;
  }
}
