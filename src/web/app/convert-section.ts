import { OUTPUT_FORMATS, outputFormatById } from '../../convert/outputs.js';
import { formatById } from '../../formats/registry.js';
import { optionsOf } from '../../model/convert-setup.js';
import { GGML_QUANTIZERS } from '../../tensor/ggml-quantize.js';
import { TFJS_QUANTIZE_TYPES } from '../../tensor/tfjs-quantize.js';
import { pickers, type DirectoryHandle, type FileHandle } from '../fsa.js';
import type { ConvertChoicesWeb, ConvertPlanInfo, ConvertResult, Delivery, ProgressInfo, WebConvertSummary } from '../protocol.js';
import { announce, formatBytes, formatCount, h } from './dom.js';
import { isTensorsafeError, type TensorsafeError } from '../../errors.js';
import type { Job } from './engine.js';
import type { CardContext, CardSection } from './state.js';

/**
 * A model card's conversion: the output format and the CLI's options that apply to it, a button that
 * starts the conversion in the worker (worker/convert.ts: the CLI's pipeline, every tensor checked
 * bit for bit before anything is delivered), its progress with a Cancel button, and the CLI's summary.
 * The result is downloaded, or streamed into a file or folder the user picks where the browser can.
 */

/** The types `--quantize` takes, by output format (the writers' own lists). */
const QUANTIZE_TYPES: Readonly<Record<string, readonly string[]>> = { gguf: [...GGML_QUANTIZERS.keys()], tfjs: TFJS_QUANTIZE_TYPES };

let nextId = 0;

export const convertSection: CardSection = (context) => {
  const { model } = context;
  const id = `convert-${model.id}-${++nextId}`;
  const title = h('h3', { id: `${id}-title` }, 'Convert');
  if (!model.convertible) {
    const why = model.verdict === 'dangerous'
      ? 'Not converted: the scan found that this file would run code when loaded, so its tensors are never read.'
      : model.error
        ? `Not converted: ${model.error.code}: ${model.error.message}`
        : 'Not converted: it holds no tensors to convert.';
    if (model.error?.code === 'NotAModel') return null;
    return h('section', { className: 'convert', 'aria-labelledby': title.id, 'data-testid': 'convert-section' }, title, h('p', { className: 'convert-refused', 'data-testid': 'convert-refused' }, why));
  }
  return new ConvertPanel(context, id, title).element;
};

class ConvertPanel {
  readonly element: HTMLElement;
  private readonly to: HTMLSelectElement;
  private readonly fields: Record<'dtype' | 'maxShardSize' | 'quantize' | 'arch' | 'dequantize' | 'allowRaw', { row: HTMLElement; input: HTMLInputElement | HTMLSelectElement }>;
  private readonly deliverSave: HTMLInputElement | undefined;
  private readonly button: HTMLButtonElement;
  private readonly progressBox: HTMLElement;
  private readonly progress: HTMLProgressElement;
  private readonly status: HTMLElement;
  private readonly cancel: HTMLButtonElement;
  private readonly result: HTMLElement;
  private job: Job<ConvertResult> | undefined;
  /** The temporary folder and object URLs of the last result, released when another conversion starts or "Remove" is pressed. */
  private kept: { folder: string; urls: string[] } | undefined;

  constructor(
    private readonly context: CardContext,
    id: string,
    title: HTMLElement,
  ) {
    const { model } = context;
    const source = formatById(model.format);
    this.to = h('select', { id: `${id}-to`, 'data-testid': 'convert-to' }, ...OUTPUT_FORMATS.filter((f) => f.id !== model.format).map((f) => h('option', { value: f.id }, f.id)));
    const select = (name: string, values: readonly string[], first: string): HTMLSelectElement => h('select', { id: `${id}-${name}`, 'data-testid': `convert-${name}` }, h('option', { value: '' }, first), ...values.map((v) => h('option', { value: v }, v)));
    const text = (name: string, placeholder: string): HTMLInputElement => h('input', { type: 'text', id: `${id}-${name}`, 'data-testid': `convert-${name}`, placeholder, autocomplete: 'off', spellcheck: 'false' });
    const check = (name: string): HTMLInputElement => h('input', { type: 'checkbox', id: `${id}-${name}`, 'data-testid': `convert-${name}` });
    const row = (input: HTMLInputElement | HTMLSelectElement, label: string, hint: string): { row: HTMLElement; input: HTMLInputElement | HTMLSelectElement } => {
      const isCheck = input instanceof HTMLInputElement && input.type === 'checkbox';
      const l = h('label', { for: input.id }, label);
      return { row: h('div', { className: `convert-option${isCheck ? ' check' : ''}` }, ...(isCheck ? [input, l] : [l, input]), h('span', { className: 'hint' }, hint)), input };
    };
    this.fields = {
      dtype: row(select('dtype', ['f32', 'f16', 'bf16'], 'as computed (f32)'), 'dtype of dequantized tensors', '--dtype: GGUF quantized blocks decoded to this; every other tensor keeps its dtype'),
      maxShardSize: row(text('max-shard-size', 'e.g. 5GB, 500MB'), 'max shard size', '--max-shard-size: shard the output'),
      quantize: row(select('quantize', [], 'none'), 'quantize', '--quantize'),
      arch: row(text('arch', 'llama, qwen2, …'), 'architecture', '--arch: general.architecture, when the source does not name it'),
      dequantize: row(check('dequantize'), 'dequantize', '--dequantize: quantized constants written as F32'),
      allowRaw: row(check('allow-raw'), 'allow raw', '--allow-raw: bf16 and float8 stored as unsigned integers of their width'),
    };
    // --dequantize is the reader's option: only where the source's format reads quantized tensors as F32.
    if (!source?.dequantizes) this.fields.dequantize.row.remove();
    const save = pickers();
    const name = `${id}-deliver`;
    this.deliverSave = save ? h('input', { type: 'radio', name, id: `${id}-save`, value: 'save', 'data-testid': 'convert-deliver-save' }) : undefined;
    const deliverDownload = h('input', { type: 'radio', name, id: `${id}-download`, value: 'download', checked: true, 'data-testid': 'convert-deliver-download' });
    const delivery = this.deliverSave
      ? h('fieldset', { className: 'convert-delivery' }, h('legend', {}, 'Then'),
          h('span', { className: 'check' }, deliverDownload, h('label', { for: deliverDownload.id }, 'Download')),
          h('span', { className: 'check' }, this.deliverSave, h('label', { for: this.deliverSave.id }, 'Save to… (pick a file or folder)')))
      : null;
    this.button = h('button', { type: 'submit', 'data-testid': 'convert' }, 'Convert');
    this.progress = h('progress', { id: `${id}-progress`, max: 1, value: 0 });
    this.status = h('span', { className: 'convert-status', role: 'status', 'data-testid': 'convert-status' });
    this.cancel = h('button', { type: 'button', className: 'secondary', 'data-testid': 'convert-cancel', onclick: () => this.job?.cancel() }, 'Cancel');
    this.progressBox = h('div', { className: 'convert-progress', hidden: true }, h('label', { for: this.progress.id }, 'Conversion progress'), this.progress, this.status, this.cancel);
    this.result = h('div', { className: 'convert-result', 'data-testid': 'convert-result' });
    const form = h(
      'form',
      { className: 'convert-form', onsubmit: (e: Event) => {
        e.preventDefault();
        void this.start();
      } },
      h('div', { className: 'convert-option' }, h('label', { for: this.to.id }, 'Output format'), this.to),
      ...Object.values(this.fields).map((f) => f.row),
      delivery,
      h('div', { className: 'row' }, this.button),
    );
    this.to.addEventListener('change', () => this.showOptions());
    this.showOptions();
    this.element = h('section', { className: 'convert', 'aria-labelledby': title.id, 'data-testid': 'convert-section' }, title, form, this.progressBox, this.result);
  }

  /** Only the options that apply to the chosen output (as `tensorsafe convert --help` says). */
  private showOptions(): void {
    const output = outputFormatById(this.to.value);
    if (!output) return;
    const applies = optionsOf(output);
    this.fields.dtype.row.hidden = !applies.dtype;
    this.fields.maxShardSize.row.hidden = !applies.maxShardSize;
    this.fields.arch.row.hidden = !applies.arch;
    this.fields.allowRaw.row.hidden = !applies.allowRaw;
    this.fields.quantize.row.hidden = !applies.quantize;
    const quantize = this.fields.quantize.input as HTMLSelectElement;
    quantize.replaceChildren(h('option', { value: '' }, 'none'), ...(QUANTIZE_TYPES[output.id] ?? []).map((v) => h('option', { value: v }, v)));
    (this.fields.maxShardSize.input as HTMLInputElement).placeholder = output.defaultShardSize ? `default ${formatBytes(output.defaultShardSize)}` : 'e.g. 5GB, 500MB';
  }

  private choices(): ConvertChoicesWeb {
    const value = (k: keyof ConvertPanel['fields']): string | undefined => {
      const f = this.fields[k];
      if (f.row.hidden || !f.row.isConnected) return undefined;
      return f.input instanceof HTMLInputElement && f.input.type === 'checkbox' ? (f.input.checked ? 'true' : undefined) : f.input.value.trim() || undefined;
    };
    const v = { maxShardSize: value('maxShardSize'), dtype: value('dtype'), quantize: value('quantize'), arch: value('arch') };
    return {
      to: this.to.value,
      ...Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined)),
      ...(value('dequantize') ? { dequantize: true } : {}),
      ...(value('allowRaw') ? { allowRaw: true } : {}),
    };
  }

  private async start(): Promise<void> {
    if (this.job) return;
    const engine = this.context.state.engine;
    const model = this.context.model;
    const options = this.choices();
    await this.release();
    this.result.replaceChildren();
    this.button.disabled = true;
    try {
      let deliver: Delivery = { kind: 'download' };
      if (this.deliverSave?.checked) {
        // The pickers need the click's user activation: the plan (no tensor read) tells which to show.
        const plan = await engine.run<ConvertPlanInfo>({ job: 'convert-plan', model: model.id, options });
        const p = pickers()!;
        deliver = plan.files.length === 1
          ? { kind: 'file', handle: (await p.showSaveFilePicker({ suggestedName: plan.files[0]!, id: 'tensorsafe-convert' })) as FileHandle }
          : { kind: 'folder', handle: (await p.showDirectoryPicker({ mode: 'readwrite', id: 'tensorsafe-convert' })) as DirectoryHandle };
      }
      this.progressBox.hidden = false;
      this.progress.value = 0;
      this.status.textContent = 'Starting…';
      this.job = engine.start<ConvertResult>({ job: 'convert', model: model.id, options, deliver }, (p) => this.showProgress(p));
      const result = await this.job.result;
      this.showResult(result, deliver);
    } catch (e) {
      this.showError(e);
    } finally {
      this.job = undefined;
      this.button.disabled = false;
      this.progressBox.hidden = true;
    }
  }

  private showProgress(p: ProgressInfo): void {
    this.progress.max = Math.max(1, p.total);
    this.progress.value = Math.min(p.done, p.total);
    const what = p.phase === 'verify' ? 'verifying' : p.phase === 'save' ? 'saving' : 'writing';
    this.status.textContent = p.phase === 'save'
      ? `${what} ${p.detail ?? ''} (${p.done} of ${p.total} files)`
      : `${what}: ${formatBytes(p.done)} of ${formatBytes(p.total)} (${p.total > 0 ? Math.floor((100 * p.done) / p.total) : 100}%)`;
  }

  private showResult(result: ConvertResult, deliver: Delivery): void {
    const s = result.summary;
    const urls: string[] = [];
    const files = h('ul', { className: 'convert-files' }, ...result.files.map((f) => {
      if (f.file === undefined) return h('li', { 'data-testid': 'convert-file' }, `${f.name} (${formatBytes(f.size)}) saved`);
      const url = URL.createObjectURL(f.file);
      urls.push(url);
      return h('li', {}, h('a', { href: url, download: f.name, 'data-testid': 'convert-file' }, f.name), ` (${formatBytes(f.size)})`);
    }));
    if (result.folder !== '') this.kept = { folder: result.folder, urls };
    const removeTemp = result.folder !== '' ? h('button', { type: 'button', className: 'secondary', 'data-testid': 'convert-clear', onclick: (e: Event) => {
      void this.release();
      (e.target as HTMLButtonElement).remove();
      for (const a of Array.from(files.querySelectorAll('a'))) a.replaceWith(a.textContent ?? '');
    } }, 'Remove the temporary files') : null;
    this.result.replaceChildren(...[summaryBlock(s, deliver), files, removeTemp].filter((x): x is HTMLElement => x !== null));
    announce(`Converted ${this.context.model.name}: ${formatCount(s.tensors)} tensors, verified bit for bit`);
    // Download: every file at once (the links stay for another try).
    for (const a of Array.from(files.querySelectorAll('a'))) a.click();
  }

  private showError(e: unknown): void {
    const cancelled = isTensorsafeError(e) && e.code === 'Aborted';
    const aborted = e instanceof DOMException && e.name === 'AbortError';
    const text = cancelled
      ? 'Cancelled: nothing was kept.'
      : aborted
        ? 'No file or folder was picked: nothing was converted.'
        : isTensorsafeError(e)
          ? null
          : `${e instanceof Error ? e.name : 'Error'}: ${e instanceof Error ? e.message : String(e)}`;
    this.result.replaceChildren(
      h('p', { className: cancelled || aborted ? 'convert-cancelled' : 'error', role: 'alert', 'data-testid': 'convert-error' }, ...(text === null ? [h('strong', {}, (e as TensorsafeError).code), ': ', (e as TensorsafeError).message] : [text])),
    );
  }

  /** Removes the last result's temporary files (they were downloaded, or are no longer wanted). */
  private async release(): Promise<void> {
    const kept = this.kept;
    this.kept = undefined;
    if (!kept) return;
    for (const u of kept.urls) URL.revokeObjectURL(u);
    await this.context.state.engine.run({ job: 'convert-discard', folder: kept.folder }).catch(() => undefined);
  }
}

/** The CLI's summary (cli/convert.ts printSummary), as a list. */
function summaryBlock(s: WebConvertSummary, deliver: Delivery): HTMLElement {
  const derived = s.derived > 0 || s.notes.some((n) => /\((derived|lossless)/.test(n));
  const removed = Object.entries(s.sharedRemoved);
  return h(
    'div',
    { className: 'convert-summary', 'data-testid': 'convert-summary' },
    h('p', { className: 'ok' }, `✓ converted ${s.inputs.join(', ')} (${s.format}) in ${s.seconds.toFixed(1)}s${deliver.kind === 'download' ? '' : `, saved to ${deliver.handle.name}`}`),
    h('p', {}, `${formatCount(s.tensors)} tensor${s.tensors === 1 ? '' : 's'}, ${formatBytes(s.bytes)} of tensor data; verified: every tensor equals ${derived ? 'what the source converts to (see the notes)' : 'the source'}, bit for bit`),
    s.companions.length > 0 ? h('ul', {}, ...s.companions.map((c) => h('li', {}, `${c.what} (${c.keys.slice(0, 3).join(', ')}${c.keys.length > 3 ? ', …' : ''}) → ${c.file}`))) : null,
    removed.length > 0 ? h('details', {}, h('summary', {}, `tied weights written once: ${removed.length} (recorded in the metadata)`), h('ul', {}, ...removed.map(([r, k]) => h('li', {}, h('code', {}, r), ' → ', h('code', {}, k))))) : null,
    s.leftOut.length > 0 ? h('details', {}, h('summary', {}, `not converted (not weights): ${s.leftOut.length}`), h('ul', {}, ...s.leftOut.slice(0, 200).map((l) => h('li', {}, h('code', {}, l.path), `: ${l.what}`)))) : null,
    s.notes.length > 0 ? h('ul', { className: 'convert-notes' }, ...s.notes.map((n) => h('li', {}, `note: ${n}`))) : null,
  );
}
