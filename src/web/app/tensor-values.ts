import { DTYPE_INFO } from '../../dtype/dtypes.js';
import type { TensorValueSummary, ValueSummary } from '../../tensor/value-summary.js';
import { formatCount, h } from './dom.js';
import { histogramSvg } from './histogram.js';
import type { CardContext } from './state.js';
import { formatNumber, JobPanel } from './tool-kit.js';

/** The panel of each card's detail area now showing values, so that asking for another tensor cancels the first. */
const panels = new WeakMap<HTMLElement, JobPanel>();

/**
 * A tensor's values, on demand (the table's "Values" button): its statistics and a histogram, computed
 * in the worker from that tensor only (tensor/value-summary.ts), with progress and cancel.
 */
export function showTensorValues(context: CardContext, index: number): void {
  const { model, detail, state } = context;
  const name = model.tensors.names[index]!;
  panels.get(detail)?.cancel();
  const panel = new JobPanel(`Reading the values of ${name}`, 'values');
  panels.set(detail, panel);
  const close = h('button', { type: 'button', className: 'icon', 'aria-label': `Close the values of ${name}`, onclick: () => {
    panel.cancel();
    detail.replaceChildren();
  } }, '×');
  const heading = h('h3', { className: 'values-title' }, 'Values of ', h('code', {}, name));
  detail.replaceChildren(h('section', { className: 'values', 'aria-label': `Values of ${name}`, 'data-testid': 'values' }, h('div', { className: 'values-head' }, heading, close), panel.element));
  heading.scrollIntoView({ block: 'nearest' });
  void panel.run<TensorValueSummary>(state.engine, { job: 'tensor-stats', model: model.id, tensor: index }).then((summary) => {
    if (summary === undefined) return;
    panel.status.replaceChildren(
      h('p', { className: 'values-what' }, `${summary.dtype} [${summary.shape.join(', ')}]: ${formatCount(summary.elements)} element${summary.elements === 1 ? '' : 's'}${summary.dtype === 'C64' ? ', summarised as their real and imaginary parts' : ''}.`),
      ...summary.parts.map((part) => partView(summary, part)),
    );
  });
}

function partView(summary: TensorValueSummary, p: ValueSummary): HTMLElement {
  const integer = DTYPE_INFO[summary.dtype].kind === 'int' || DTYPE_INFO[summary.dtype].kind === 'uint' || summary.dtype === 'BOOL';
  const extreme = (x: number, exact: string | undefined): string => exact ?? (integer && Number.isFinite(x) ? String(x) : formatNumber(x));
  // Each value also whole in data-value (what String() gives, which reads back as the same number).
  const rows: [string, string, string, string][] = [
    ['count', 'Count', formatCount(p.count), String(p.count)],
    ['min', 'Min', extreme(p.min, p.minExact), p.minExact ?? String(p.min)],
    ['max', 'Max', extreme(p.max, p.maxExact), p.maxExact ?? String(p.max)],
    ['mean', 'Mean', formatNumber(p.mean), String(p.mean)],
    ['std', 'Std', formatNumber(p.std), String(p.std)],
    ['nan', 'NaN', formatCount(p.nan), String(p.nan)],
    ['posInf', '+inf', formatCount(p.posInf), String(p.posInf)],
    ['negInf', '-inf', formatCount(p.negInf), String(p.negInf)],
    ['zeros', 'Zeros', formatCount(p.zeros), String(p.zeros)],
  ];
  const title = p.part === 'values' ? null : h('h4', {}, p.part === 'real' ? 'Real part' : 'Imaginary part');
  const finiteNote = p.finite < p.count ? ` (mean, std and histogram over the ${formatCount(p.finite)} finite values)` : '';
  return h(
    'div',
    { className: 'values-part', 'data-part': p.part },
    title,
    h('dl', { className: 'stats', 'data-testid': 'value-stats' }, ...rows.map(([key, label, value, whole]) => h('div', {}, h('dt', {}, label), h('dd', { 'data-stat': key, 'data-value': whole, title: whole }, value)))),
    p.finite > 0
      ? h('figure', { className: 'histogram-figure' },
          histogramSvg(p.histogram, `Histogram of ${p.finite} finite values in ${p.histogram.counts.length} bins from ${formatNumber(p.histogram.min)} to ${formatNumber(p.histogram.max)}`),
          h('figcaption', {}, `${p.histogram.counts.length} equal bins from ${formatNumber(p.histogram.min)} to ${formatNumber(p.histogram.max)}${finiteNote}`))
      : h('p', { className: 'hint' }, 'No finite value: no histogram.'),
  );
}
