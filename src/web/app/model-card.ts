import type { ModelSummary } from '../protocol.js';
import { formatBytes, formatCount, formatParams, h } from './dom.js';
import { explainFinding, explainVerdict } from './explain.js';
import { CARD_SECTIONS, SHOW_TENSOR_VALUES } from './extensions.js';
import type { CardContext, PageState } from './state.js';
import { TensorTable } from './tensor-table.js';
import type { Severity } from '../../formats/findings.js';

/** Findings shown at once; the rest behind "show all" (a hostile file can have thousands). */
const FINDINGS_SHOWN = 20;
/** Metadata values longer than this are cut in the list (the whole value is in its tooltip and the details). */
const METADATA_VALUE_CHARS = 400;

/** The id of a model's card (the anchor the list of open models links to). */
export function cardId(modelId: string): string {
  return `model-${modelId}`;
}

/** One model's card: what it is, whether it would attack you, what is inside, and what can be done with it. */
export function modelCard(state: PageState, model: ModelSummary): HTMLElement {
  const detail = h('div', { className: 'card-detail' });
  const context: CardContext = { state, model, detail };
  const titleId = `title-${model.id}`;
  const bodyId = `body-${model.id}`;
  const files = model.files.length > 1 ? `${model.files.length} files` : '';
  const hasTotals = model.error === undefined;
  const body = h(
    'div',
    { className: 'card-body', id: bodyId },
    h('div', { className: `card-summary${hasTotals ? ' two' : ''}` }, verdictBlock(model), hasTotals ? totals(model) : null),
    model.error && model.verdict !== 'dangerous' ? h('p', { className: 'error', role: 'alert' }, h('strong', {}, model.error.code), ': ', model.error.message) : null,
    Object.keys(model.metadata).length > 0 ? metadataBlock(model.metadata) : null,
    model.notes.length > 0 || model.leftOut.length > 0 ? notesBlock(model) : null,
    model.tensors.names.length > 0
      ? new TensorTable(model.tensors, {
          label: `Tensors of ${model.name}`,
          ...(SHOW_TENSOR_VALUES ? { onValues: (i: number) => SHOW_TENSOR_VALUES!(context, i) } : {}),
        }).element
      : null,
    detail,
    h('div', { className: 'card-actions' }, ...CARD_SECTIONS.map((section) => section(context))),
  );
  const collapse = h(
    'button',
    { type: 'button', className: 'icon collapse', 'aria-expanded': 'true', 'aria-controls': bodyId, 'aria-label': `Details of ${model.name}`, title: 'Show or hide the details', onclick: () => setCollapsed(card, collapse.getAttribute('aria-expanded') === 'true') },
    h('span', { className: 'chevron', 'aria-hidden': 'true' }, '▾'),
  );
  const card = h(
    'section',
    { className: `card verdict-${model.verdict}`, id: cardId(model.id), 'aria-labelledby': titleId, 'data-model': model.id },
    h(
      'header',
      { className: 'card-head' },
      collapse,
      h('h2', { id: titleId, className: 'card-title', tabindex: -1 }, model.name),
      h(
        'p',
        { className: 'card-facts' },
        verdictChip(model.verdict),
        ' ',
        h('span', { className: 'format', 'data-testid': 'format' }, model.formatName || 'not a model file'),
        ` · ${formatBytes(model.size)}${files ? ` · ${files}` : ''}`,
      ),
      h('button', { type: 'button', className: 'icon close', 'aria-label': `Close ${model.name}`, title: 'Close this model', onclick: () => {
        card.remove();
        state.remove(model.id);
      } }, h('span', { 'aria-hidden': 'true' }, '×')),
    ),
    body,
  );
  return card;
}

/** Folds a card to its head (its name, format and verdict) or opens it again. */
export function setCollapsed(card: HTMLElement, collapsed: boolean): void {
  const button = card.querySelector<HTMLElement>('.card-head .collapse');
  const body = card.querySelector<HTMLElement>('.card-body');
  if (!button || !body) return;
  button.setAttribute('aria-expanded', String(!collapsed));
  body.hidden = collapsed;
  card.classList.toggle('collapsed', collapsed);
}

/** A verdict as a word, in its colours with its icon (style.css): never said by colour alone. */
export function verdictChip(verdict: string, className = 'chip'): HTMLElement {
  return h('span', { className: `${className} v-${verdict}` }, verdict === 'error' ? 'could not be read' : verdict);
}

function verdictBlock(model: ModelSummary): HTMLElement {
  const list = h('ol', { className: 'findings' });
  const shown = (n: number): void => {
    list.replaceChildren(
      ...model.findings.slice(0, n).map((f) =>
        h(
          'li',
          { className: `finding sev-${f.severity}` },
          h('span', { className: 'sev' }, f.severity),
          ' ',
          h('code', { className: 'rule' }, f.rule),
          h('p', { className: 'message' }, f.message),
          h('p', { className: 'where' }, 'at ', h('code', {}, f.location)),
          h('p', { className: 'why' }, explainFinding(f.rule, f.severity as Severity)),
        ),
      ),
    );
  };
  shown(FINDINGS_SHOWN);
  const more = model.findings.length > FINDINGS_SHOWN ? h('button', { type: 'button', className: 'link', onclick: (e: Event) => {
    shown(model.findings.length);
    (e.target as HTMLElement).remove();
  } }, `Show all ${formatCount(model.findings.length)} findings`) : null;
  const notable = model.findings.filter((f) => f.severity !== 'info').length;
  return h(
    'div',
    { className: 'verdict-block' },
    h('p', { className: `verdict v-${model.verdict}`, 'data-testid': 'verdict' }, verdictChip(model.verdict, 'badge'), ' ', explainVerdict(model.verdict)),
    model.findings.length > 0
      ? h('details', { className: 'findings-box', open: notable > 0 }, h('summary', {}, `${formatCount(model.findings.length)} finding${model.findings.length === 1 ? '' : 's'} of the scan`), list, more)
      : null,
  );
}

function totals(model: ModelSummary): HTMLElement {
  const t = model.tensors;
  const byDtype = new Map<string, { params: number; bytes: number; count: number }>();
  let params = 0;
  let bytes = 0;
  for (let i = 0; i < t.names.length; i++) {
    const d = byDtype.get(t.dtypes[i]!) ?? { params: 0, bytes: 0, count: 0 };
    d.params += t.params[i]!;
    d.bytes += t.bytes[i]!;
    d.count++;
    byDtype.set(t.dtypes[i]!, d);
    params += t.params[i]!;
    bytes += t.bytes[i]!;
  }
  return h(
    'div',
    { className: 'totals', 'data-testid': 'totals' },
    h('p', { className: 'total-line' }, h('strong', {}, formatParams(params)), ' parameters', ` (${formatCount(params)}) in `, h('strong', {}, formatCount(t.names.length)), ` tensor${t.names.length === 1 ? '' : 's'}, `, h('strong', {}, formatBytes(bytes)), ' of tensor data'),
    byDtype.size > 0
      ? h('ul', { className: 'dtype-list' }, ...[...byDtype].sort((a, b) => b[1].bytes - a[1].bytes).map(([dtype, d]) => h('li', {}, h('code', {}, dtype), ` ${formatParams(d.params)} in ${formatCount(d.count)} (${formatBytes(d.bytes)})`)))
      : null,
  );
}

function metadataBlock(metadata: Record<string, string>): HTMLElement {
  const keys = Object.keys(metadata).sort();
  return h(
    'details',
    { className: 'metadata' },
    h('summary', {}, `Metadata (${keys.length} key${keys.length === 1 ? '' : 's'})`),
    h('dl', {}, ...keys.flatMap((k) => {
      const v = metadata[k]!;
      return [h('dt', {}, k), h('dd', { title: v.length > METADATA_VALUE_CHARS ? v.slice(0, 4000) : '' }, v.length > METADATA_VALUE_CHARS ? `${v.slice(0, METADATA_VALUE_CHARS)}… (${formatCount(v.length)} characters)` : v)];
    })),
  );
}

function notesBlock(model: ModelSummary): HTMLElement {
  return h(
    'details',
    { className: 'notes' },
    h('summary', {}, `Notes${model.leftOut.length > 0 ? ` and ${model.leftOut.length} item${model.leftOut.length === 1 ? '' : 's'} that are not tensors` : ''}`),
    model.notes.length > 0 ? h('ul', {}, ...model.notes.map((n) => h('li', {}, n))) : null,
    model.leftOut.length > 0 ? h('ul', { className: 'left-out' }, ...model.leftOut.slice(0, 200).map((l) => h('li', {}, h('code', {}, l.path), `: ${l.what}`))) : null,
  );
}
