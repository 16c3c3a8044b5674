import { parseTolerance, describeComparison, ruleText, summaryText, toMarkdown, verdictText } from '../../verify/verify-report.js';
import type { VerifyReport } from '../../verify/verify-sets.js';
import type { ModelSummary } from '../protocol.js';
import { h } from './dom.js';
import type { PageState, PageTool } from './state.js';
import { download, JobPanel, uid } from './tool-kit.js';

/** Rows of the per-tensor list shown at once (a model can have 100,000 tensors; the downloads hold them all). */
const TENSORS_SHOWN = 2000;

/**
 * "Compare two models": `tensorsafe verify A B` over two open models, in the worker, with the CLI's
 * rule options; the report as the CLI prints it, and as its --json and --markdown downloads.
 */
export const compareTool: PageTool = {
  id: 'compare',
  title: 'Compare two models',
  render(state: PageState): HTMLElement {
    const pick = (label: string, testid: string): { element: HTMLElement; select: HTMLSelectElement } => {
      const id = uid(testid);
      const select = h('select', { id, 'data-testid': testid });
      return { element: h('div', { className: 'field' }, h('label', { for: id }, label), select), select };
    };
    const a = pick('Model A', 'compare-a');
    const b = pick('Model B', 'compare-b');
    const text = (label: string, testid: string, hint: string): { element: HTMLElement; input: HTMLInputElement } => {
      const id = uid(testid);
      const input = h('input', { id, type: 'text', inputmode: 'decimal', placeholder: '0', autocomplete: 'off', spellcheck: 'false', 'data-testid': testid, size: 10 });
      return { element: h('div', { className: 'field' }, h('label', { for: id }, label), input, h('p', { className: 'hint' }, hint)), input };
    };
    const atol = text('Absolute tolerance (--atol)', 'compare-atol', 'default 0: bit for bit');
    const rtol = text('Relative tolerance (--rtol)', 'compare-rtol', '|a − b| ≤ atol + rtol·|b|');
    const dtypeId = uid('compare-dtype');
    const allowDtype = h('input', { type: 'checkbox', id: dtypeId, 'data-testid': 'compare-allow-dtype-change' });
    const dtypeField = h('div', { className: 'field check' }, allowDtype, h('label', { for: dtypeId }, 'Compare values across dtypes (--allow-dtype-change)'));
    const panel = new JobPanel('Comparing', 'compare');
    const run = h('button', { type: 'submit', 'data-testid': 'compare-run' }, 'Compare');

    const refresh = (): void => {
      const usable = state.models.filter((m) => m.error === undefined);
      for (const [select, fallback] of [[a.select, 0], [b.select, 1]] as const) {
        const kept = select.value;
        select.replaceChildren(...usable.map((m) => h('option', { value: m.id }, optionLabel(m, usable))));
        if (usable.some((m) => m.id === kept)) select.value = kept;
        else if (usable[fallback]) select.value = usable[fallback].id;
      }
      // Two models open: A and B start as two different ones.
      if (a.select.value === b.select.value) {
        const other = usable.find((m) => m.id !== a.select.value);
        if (other) b.select.value = other.id;
      }
      run.disabled = usable.length < 2;
    };
    state.onChange(refresh);
    refresh();

    const form = h(
      'form',
      { className: 'tool-form', onsubmit: (e: Event) => {
        e.preventDefault();
        const at = parseTolerance(atol.input.value.trim() === '' ? undefined : atol.input.value);
        const rt = parseTolerance(rtol.input.value.trim() === '' ? undefined : rtol.input.value);
        if (at === undefined || rt === undefined) {
          panel.fail('InvalidArgument', `${at === undefined ? '--atol' : '--rtol'} must be a non-negative number, got ${JSON.stringify(at === undefined ? atol.input.value : rtol.input.value)}`);
          return;
        }
        if (!a.select.value || !b.select.value) {
          panel.fail('InvalidArgument', 'open two models to compare');
          return;
        }
        void panel.run<VerifyReport>(state.engine, { job: 'verify-models', a: a.select.value, b: b.select.value, atol: at, rtol: rt, allowDtypeChange: allowDtype.checked }).then((report) => {
          if (report) panel.status.replaceChildren(reportView(report));
        });
      } },
      h('p', { className: 'hint' }, 'As tensorsafe verify A B: every tensor of two open models (any formats), matched by name, streamed in chunks.'),
      h('div', { className: 'row fields' }, a.element, b.element),
      h('div', { className: 'row fields' }, atol.element, rtol.element),
      dtypeField,
      h('div', { className: 'row' }, run),
    );
    return h('div', { className: 'tool-body' }, form, panel.element);
  },
};

/** A model's name in the selects; two open models of one name are told apart by their card's id. */
function optionLabel(m: ModelSummary, all: readonly ModelSummary[]): string {
  return all.filter((x) => x.name === m.name).length > 1 ? `${m.name} (${m.id})` : m.name;
}

function reportView(r: VerifyReport): HTMLElement {
  const notable = r.tensors.filter((t) => t.status !== 'identical');
  const base = `${r.a.split('/').pop()}-vs-${r.b.split('/').pop()}`.replace(/[^\w.-]+/g, '_');
  return h(
    'div',
    { className: `report ${r.ok ? 'good' : 'bad'}`, 'data-testid': 'compare-report', 'data-ok': String(r.ok) },
    h('p', { className: 'report-head' }, h('strong', {}, r.a), ' against ', h('strong', {}, r.b), ` (${ruleText(r.rule)})`),
    notable.length > 0
      ? h('ul', { className: 'report-lines' }, ...notable.slice(0, TENSORS_SHOWN).map((t) =>
          h('li', { className: `status-${t.status}`, 'data-tensor': t.name, 'data-status': t.status },
            h('span', { className: 'mark', 'aria-hidden': 'true' }, t.status === 'close' ? '≈' : '✗'), ' ', h('code', {}, t.name), t.matchedAs ? ` (as ${t.matchedAs})` : '', `: ${describeComparison(t)}`)))
      : null,
    notable.length > TENSORS_SHOWN ? h('p', { className: 'hint' }, `and ${notable.length - TENSORS_SHOWN} more (in the downloads)`) : null,
    h('p', { className: 'report-summary', 'data-testid': 'compare-summary' }, summaryText(r)),
    h('p', { className: `report-verdict ${r.ok ? 'good' : 'bad'}`, 'data-testid': 'compare-verdict' }, verdictText(r)),
    h('div', { className: 'row' },
      h('button', { type: 'button', className: 'secondary', 'data-testid': 'compare-download-json', onclick: () => download(`${base}.verify.json`, `${JSON.stringify(r)}\n`, 'application/json') }, 'Download JSON (--json)'),
      h('button', { type: 'button', className: 'secondary', 'data-testid': 'compare-download-markdown', onclick: () => download(`${base}.verify.md`, `${toMarkdown(r)}\n`, 'text/markdown') }, 'Download Markdown (--markdown)'),
    ),
  );
}
