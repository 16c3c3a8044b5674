import { fmt, type TensorComparison, type VerifyRule } from '../tensor/compare-tensors.js';
import { plural } from '../util/strings.js';
import type { VerifyReport } from './verify-sets.js';

/**
 * A verify report in words, as `tensorsafe verify` prints it and the page shows it: the rule, one line
 * per tensor that is not identical, the summary line, and the Markdown of `--markdown`.
 */

/** A tolerance as typed (`--atol 1e-3`): a non-negative finite number; undefined when it is not one (no text at all is 0). */
export function parseTolerance(text: string | undefined): number | undefined {
  if (text === undefined) return 0;
  const v = Number(text);
  if (!Number.isFinite(v) || v < 0 || text.trim() === '') return undefined;
  return v;
}

/** `bit for bit`, or the tolerance: `|a − b| ≤ 0.001 + 0·|b|, values across dtypes`. */
export function ruleText(r: VerifyRule): string {
  const exact = r.atol === 0 && r.rtol === 0;
  return `${exact ? 'bit for bit' : `|a − b| ≤ ${r.atol} + ${r.rtol}·|b|`}${r.allowDtypeChange ? ', values across dtypes' : ''}`;
}

/** `5 tensors: 4 identical, 1 different`. */
export function summaryText(r: VerifyReport): string {
  const s = r.summary;
  const parts = [
    `${s.identical} identical`,
    s.close ? `${s.close} within tolerance` : '',
    s.different ? `${s.different} different` : '',
    s['shape-mismatch'] ? `${s['shape-mismatch']} shape mismatch` : '',
    s['dtype-mismatch'] ? `${s['dtype-mismatch']} dtype mismatch` : '',
    s.missing ? `${s.missing} missing` : '',
    s.extra ? `${s.extra} extra` : '',
  ].filter(Boolean);
  return `${plural(r.tensors.length, 'tensor')}: ${parts.join(', ')}`;
}

/** What a tensor that is not identical is: `within tolerance (max abs error …)` or `different: why`. */
export function describeComparison(t: TensorComparison): string {
  if (t.status === 'close' && t.stats) {
    return `within tolerance (max abs error ${fmt(t.stats.maxAbsError)}, max rel error ${fmt(t.stats.maxRelError)}, cosine ${fmt(t.stats.cosine)}${t.dtype[0] !== t.dtype[1] ? `, ${t.dtype[0]} → ${t.dtype[1]}` : ''})`;
  }
  return `${t.status}: ${t.reason ?? ''}`;
}

/** The verdict line: `✓ every tensor matches` or `✗ the models differ`. */
export function verdictText(r: VerifyReport): string {
  return r.ok ? '✓ every tensor matches' : '✗ the models differ';
}

/** The report as Markdown, for a pull-request comment. */
export function toMarkdown(r: VerifyReport): string {
  const lines = [`### ${r.ok ? '✅' : '❌'} tensorsafe verify: \`${r.a}\` against \`${r.b}\``, '', `Rule: ${ruleText(r.rule)}. ${summaryText(r)}.`, ''];
  const notable = r.tensors.filter((t) => t.status !== 'identical');
  if (notable.length > 0) {
    lines.push('| tensor | status | dtype | shape | max abs error | max rel error | cosine | mismatched | why |', '|---|---|---|---|---|---|---|---|---|');
    for (const t of notable) {
      const s = t.stats;
      const shape = (x: readonly number[] | null): string => (x ? `[${x.join(', ')}]` : '–');
      lines.push(
        `| \`${t.name}\`${t.matchedAs ? ` (as \`${t.matchedAs}\`)` : ''} | ${t.status} | ${t.dtype[0] ?? '–'} / ${t.dtype[1] ?? '–'} | ${shape(t.shape[0])} / ${shape(t.shape[1])} | ${s ? fmt(s.maxAbsError) : '–'} | ${s ? fmt(s.maxRelError) : '–'} | ${s ? fmt(s.cosine) : '–'} | ${s ? `${s.mismatched} / ${s.values}` : '–'} | ${(t.reason ?? '').replace(/\|/g, '\\|')} |`,
      );
    }
  } else {
    lines.push('Every tensor is identical.');
  }
  return lines.join('\n');
}
