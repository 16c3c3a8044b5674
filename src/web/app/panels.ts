/**
 * Escape closes the panel the focus is in. A panel is any element with `data-panel` (a tensor's values,
 * a section's result); its `[data-panel-close]` button is pressed, so that the panel's own close logic
 * runs, or else the panel is removed. The focus goes back to the element named by the panel's
 * `data-return-focus` (an id), else to its card's name, so that it is never lost on the body.
 */
export function closePanelsOnEscape(root: Document = document): void {
  root.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape' || event.defaultPrevented) return;
    const panel = (event.target as Element | null)?.closest?.<HTMLElement>('[data-panel]');
    if (!panel) return;
    event.preventDefault();
    const back = (panel.dataset['returnFocus'] ? root.getElementById(panel.dataset['returnFocus']) : null) ?? panel.closest('.card')?.querySelector<HTMLElement>('.card-title') ?? null;
    const close = panel.querySelector<HTMLElement>('[data-panel-close]');
    if (close) close.click();
    else panel.remove();
    back?.focus();
  });
}
