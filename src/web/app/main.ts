import type { ModelSummary, PickedFile } from '../protocol.js';
import { announce, formatCount, h } from './dom.js';
import { isTensorsafeError } from '../../errors.js';
import { isHubReference } from '../../hub/reference.js';
import { isHttpUrl } from '../../io/url-inside.js';
import { Engine } from './engine.js';
import { PAGE_TOOLS } from './extensions.js';
import { modelCard } from './model-card.js';
import { modelList } from './model-list.js';
import { closePanelsOnEscape } from './panels.js';
import { pickedFromDrop, pickedFromInput } from './pick-files.js';
import { PageState } from './state.js';
import { initTheme, themeToggle } from './theme.js';

/**
 * The page: pick or drop model files (or folders, or type a URL); each model gets a card with its
 * format, scan verdict, metadata and tensors. Every job runs in the worker; nothing leaves the machine.
 */
const state = new PageState(new Engine());
initTheme();

// Not a live region: a whole card read aloud is noise; the announcer says each model's verdict instead.
const cards = h('div', { className: 'cards', id: 'models' });
// Always rendered (empty when idle): a live region that appears with its text is not always heard.
const busy = h('p', { className: 'busy', role: 'status' });

async function open(request: { job: 'open-files'; files: PickedFile[] } | { job: 'open-url'; url: string; token?: string; endpoint?: string }): Promise<void> {
  busy.textContent = request.job === 'open-url' ? `Opening ${request.url}…` : `Reading ${formatCount(request.files.length)} file${request.files.length === 1 ? '' : 's'}…`;
  try {
    const models = await state.engine.run<ModelSummary[]>(request, (p) => {
      busy.textContent = `Reading ${p.detail ?? ''} (${p.done + 1} of ${p.total})…`;
    });
    if (models.length === 0) {
      announce('No model files among the files given.');
      cards.prepend(h('p', { className: 'error', role: 'alert' }, 'None of those files is a model file tensorsafe reads.'));
    }
    for (const m of models.slice().reverse()) cards.prepend(modelCard(state, m));
    state.add(models);
    announce(models.map((m) => `${m.name}: ${m.formatName || 'not a model file'}, ${m.verdict === 'error' ? 'could not be read' : m.verdict}`).join('; '));
  } catch (e) {
    const message = isTensorsafeError(e) ? `${e.code}: ${e.message}` : String(e);
    cards.prepend(h('p', { className: 'error', role: 'alert' }, message));
  } finally {
    busy.textContent = '';
  }
}

const fileInput = h('input', { type: 'file', multiple: true, id: 'file-input', 'data-testid': 'file-input', className: 'visually-hidden' });
fileInput.addEventListener('change', () => {
  if (fileInput.files && fileInput.files.length > 0) void open({ job: 'open-files', files: pickedFromInput(fileInput.files) });
  fileInput.value = '';
});
const folderInput = h('input', { type: 'file', multiple: true, id: 'folder-input', 'data-testid': 'folder-input', className: 'visually-hidden', webkitdirectory: true });
folderInput.addEventListener('change', () => {
  if (folderInput.files && folderInput.files.length > 0) void open({ job: 'open-files', files: pickedFromInput(folderInput.files) });
  folderInput.value = '';
});
const urlInput = h('input', { type: 'text', inputMode: 'url', id: 'url-input', 'data-testid': 'url-input', placeholder: 'https://…/model.safetensors, or a Hugging Face repository: owner/repo, hf://owner/repo@revision/file', autocomplete: 'off', spellcheck: 'false', required: true });
// A Hub token, for private and gated repositories: kept in this page's worker, sent to the Hub only;
// and the Hub's address, for a mirror or a private Hub (what HF_ENDPOINT sets for the CLI).
const tokenInput = h('input', { type: 'password', id: 'hub-token', 'data-testid': 'hub-token', placeholder: 'hf_…', autocomplete: 'off', spellcheck: 'false' });
const endpointInput = h('input', { type: 'url', id: 'hub-endpoint', 'data-testid': 'hub-endpoint', placeholder: 'https://huggingface.co', autocomplete: 'off', spellcheck: 'false' });
const urlForm = h(
  'form',
  { className: 'url-form', onsubmit: (e: Event) => {
    e.preventDefault();
    const url = urlInput.value.trim();
    if (!isHttpUrl(url) && !isHubReference(url)) {
      urlInput.setCustomValidity('An http:// or https:// URL, or a Hugging Face repository (owner/repo, hf://owner/repo/file)');
      urlInput.reportValidity();
      return;
    }
    urlInput.setCustomValidity('');
    const token = tokenInput.value.trim();
    const endpoint = endpointInput.value.trim();
    void open({ job: 'open-url', url, ...(token !== '' ? { token } : {}), ...(endpoint !== '' ? { endpoint } : {}) });
  } },
  h('label', { for: 'url-input' }, 'Or read a URL or a Hugging Face repository (only the bytes needed are fetched, with range requests):'),
  h('div', { className: 'row' }, urlInput, h('button', { type: 'submit', 'data-testid': 'open-url' }, 'Open')),
  h(
    'details',
    { className: 'hub-settings' },
    h('summary', {}, 'Hugging Face Hub: token and address'),
    h('label', { for: 'hub-token' }, 'Access token, for private and gated repositories (sent to the Hub only, kept in this page only):'),
    tokenInput,
    h('label', { for: 'hub-endpoint' }, 'Hub address, for a mirror or a private Hub (default https://huggingface.co):'),
    endpointInput,
  ),
);

const dropZone = h(
  'div',
  { className: 'drop-zone', 'data-testid': 'drop-zone' },
  h('p', { className: 'drop-title' }, 'Drop model files or folders here'),
  h('p', { className: 'drop-sub' }, 'safetensors, PyTorch, GGUF, ONNX, TensorFlow, Keras, TF.js, TFLite, Core ML, NumPy and more. Files stay on this machine: nothing is uploaded.'),
  h('div', { className: 'row' }, fileInput, h('label', { for: 'file-input', className: 'button' }, 'Choose files'), folderInput, h('label', { for: 'folder-input', className: 'button secondary' }, 'Choose a folder')),
);
for (const type of ['dragenter', 'dragover']) {
  document.addEventListener(type, (e) => {
    e.preventDefault();
    dropZone.classList.add('over');
  });
}
document.addEventListener('dragleave', (e) => {
  if ((e as DragEvent).relatedTarget === null) dropZone.classList.remove('over');
});
document.addEventListener('drop', (e) => {
  e.preventDefault();
  dropZone.classList.remove('over');
  const data = (e as DragEvent).dataTransfer;
  if (data) void pickedFromDrop(data).then((files) => (files.length > 0 ? open({ job: 'open-files', files }) : undefined), (err: unknown) => cards.prepend(h('p', { className: 'error', role: 'alert' }, String(err))));
});

/** What the page does, shown until a model is opened. */
const intro = h(
  'section',
  { className: 'intro-box', 'aria-labelledby': 'intro-title', 'data-testid': 'intro' },
  h('h2', { id: 'intro-title', className: 'visually-hidden' }, 'What this page does'),
  h('ul', { className: 'intro' },
    h('li', {}, h('h3', {}, 'See what a model file is'), h('p', {}, 'Its format, size and metadata, and every tensor: name, dtype, shape and bytes, sortable and filterable, even with 100,000 tensors.')),
    h('li', {}, h('h3', {}, 'Know if it would attack you'), h('p', {}, 'A scan of what loading it would run (pickles, Keras Lambda layers, custom operators), each finding explained. Nothing in it is ever run here.')),
    h('li', {}, h('h3', {}, 'Nothing leaves this machine'), h('p', {}, 'Files are read by this page in your browser; nothing is uploaded. The page requests only its own files and the URLs you type.')),
  ),
  h('p', { className: 'try' }, 'No model at hand? ', h('button', { type: 'button', className: 'link', 'data-testid': 'try-sample', onclick: () => void openSample() }, 'Open a small sample PyTorch checkpoint')),
);

/** The sample of `tensorsafe demo`, which `tensorsafe web` serves beside the page (node/web-server.ts). */
const SAMPLE_URL = 'samples/pytorch_model.bin';

async function openSample(): Promise<void> {
  let response: Response;
  try {
    response = await fetch(SAMPLE_URL);
  } catch (e) {
    response = new Response(null, { status: 599, statusText: String(e) });
  }
  if (!response.ok) {
    cards.prepend(h('p', { className: 'error', role: 'alert' }, `The sample is served by "tensorsafe web" only (${SAMPLE_URL}: ${response.status}); this copy of the page has none.`));
    return;
  }
  const file = new File([await response.blob()], 'pytorch_model.bin');
  await open({ job: 'open-files', files: [{ file, path: file.name }] });
}

const tools = PAGE_TOOLS.length > 0
  ? h('section', { className: 'tools', 'aria-labelledby': 'tools-title' }, h('h2', { id: 'tools-title' }, 'Tools'), ...PAGE_TOOLS.map((t) => h('section', { className: 'tool', 'aria-labelledby': `tool-${t.id}`, 'data-tool': t.id }, h('h3', { id: `tool-${t.id}` }, t.title), t.render(state))))
  : null;

const list = modelList(state, cards);

const app = document.getElementById('app')!;
app.replaceChildren(
  h('header', { className: 'top' },
    h('h1', {}, h('img', { className: 'logo', src: 'logo.svg', alt: '', width: 32, height: 32 }), 'tensorsafe'),
    h('p', { className: 'tagline' }, 'See what a model file is and whether it would attack you; convert it to safetensors without running it.'),
    themeToggle(),
  ),
  h('main', { id: 'main', tabindex: -1 }, h('section', { className: 'open', 'aria-label': 'Open model files' }, dropZone, urlForm), intro, busy, list, cards, tools),
  h('footer', {}, h('p', {}, 'tensorsafe reads every file as data in this page: nothing is run, nothing is uploaded, and the page makes no request but for its own files and the URLs you type.')),
);
state.onChange(() => {
  document.body.classList.toggle('has-models', state.models.length > 0);
  intro.hidden = state.models.length > 0;
});
closePanelsOnEscape();
document.body.dataset['ready'] = 'true';
