import { h } from './dom.js';

/** Where the chosen theme is remembered (the only thing the page stores). */
const THEME_KEY = 'tensorsafe-theme';

/** Light, dark, or the system's (the default). */
export function initTheme(): void {
  const saved = safeGet();
  if (saved === 'light' || saved === 'dark') document.documentElement.dataset['theme'] = saved;
}

export function themeToggle(): HTMLElement {
  const dark = (): boolean => (document.documentElement.dataset['theme'] ?? (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light')) === 'dark';
  const button = h('button', { type: 'button', className: 'icon theme', 'data-testid': 'theme-toggle' });
  const label = (): void => {
    button.textContent = dark() ? '☀' : '☾';
    button.title = dark() ? 'Light theme' : 'Dark theme';
    button.setAttribute('aria-label', dark() ? 'Use the light theme' : 'Use the dark theme');
  };
  button.addEventListener('click', () => {
    const next = dark() ? 'light' : 'dark';
    document.documentElement.dataset['theme'] = next;
    try {
      localStorage.setItem(THEME_KEY, next);
    } catch {
      // storage refused: the choice lasts this visit
    }
    label();
  });
  // The system's theme can change while the page is open (evening mode): the icon follows it.
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', label);
  label();
  return button;
}

function safeGet(): string | null {
  try {
    return localStorage.getItem(THEME_KEY);
  } catch {
    return null;
  }
}
