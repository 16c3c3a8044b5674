import { formatBytes, h } from './dom.js';
import { cardId, setCollapsed, verdictChip } from './model-card.js';
import type { PageState } from './state.js';

/** The list shows once this many models are open (one card needs no table of contents). */
const LIST_FROM_MODELS = 2;

/**
 * The open models at a glance, above their cards: each one's verdict, format and size, a link that
 * jumps to its card (opening it if folded, and moving the focus to its name), and folding all at once.
 */
export function modelList(state: PageState, cards: HTMLElement): HTMLElement {
  const list = h('ol', {});
  const count = h('span', {});
  const foldAll = (collapsed: boolean): void => {
    for (const card of Array.from(cards.querySelectorAll<HTMLElement>('.card'))) setCollapsed(card, collapsed);
  };
  const nav = h(
    'nav',
    { className: 'model-list', 'aria-labelledby': 'model-list-title', 'data-testid': 'model-list', hidden: true },
    h(
      'div',
      { className: 'model-list-head' },
      h('h2', { id: 'model-list-title' }, 'Open models ', count),
      h('div', { className: 'row' },
        h('button', { type: 'button', className: 'secondary', onclick: () => foldAll(true) }, 'Fold all'),
        h('button', { type: 'button', className: 'secondary', onclick: () => foldAll(false) }, 'Unfold all'),
      ),
    ),
    list,
  );
  const refresh = (): void => {
    const byId = new Map(state.models.map((m) => [m.id, m]));
    // In the cards' order (the newest first), so that the list reads as the page does.
    const shown = Array.from(cards.querySelectorAll<HTMLElement>('.card')).map((c) => byId.get(c.dataset['model'] ?? '')).filter((m) => m !== undefined);
    nav.hidden = shown.length < LIST_FROM_MODELS;
    count.textContent = `(${shown.length})`;
    list.replaceChildren(
      ...shown.map((m) =>
        h(
          'li',
          {},
          verdictChip(m.verdict),
          h('a', { href: `#${cardId(m.id)}`, title: m.name, onclick: (e: Event) => {
            const card = document.getElementById(cardId(m.id));
            if (!card) return;
            e.preventDefault();
            setCollapsed(card, false);
            card.scrollIntoView({ block: 'start' });
            card.querySelector<HTMLElement>('.card-title')?.focus({ preventScroll: true });
          } }, m.name),
          h('span', { className: 'facts' }, `${m.formatName || 'not a model'} · ${formatBytes(m.size)}`),
        ),
      ),
    );
  };
  state.onChange(refresh);
  return nav;
}
