import type { HashResult } from '../worker/tool-jobs.js';
import { h } from './dom.js';
import type { PageState, PageTool } from './state.js';
import { download, fileField, JobPanel, uid } from './tool-kit.js';

/**
 * "Hash": the manifest of a safetensors file (its header's and every tensor's SHA-256), exactly as
 * `tensorsafe hash --json` prints it, shown and downloadable. The file is a picked one or an open
 * safetensors model.
 */
export const hashTool: PageTool = {
  id: 'hash',
  title: 'Hash a safetensors file',
  render(state: PageState): HTMLElement {
    const field = fileField('safetensors file', 'hash-file', '.safetensors', 'or pick an open model below');
    const modelId = uid('hash-model');
    const model = h('select', { id: modelId, 'data-testid': 'hash-model' });
    const refresh = (): void => {
      const kept = model.value;
      const open = state.models.filter((m) => m.format === 'safetensors' && m.files.length === 1 && m.error === undefined);
      model.replaceChildren(h('option', { value: '' }, '(the picked file)'), ...open.map((m) => h('option', { value: m.id }, m.name)));
      model.value = open.some((m) => m.id === kept) ? kept : '';
    };
    state.onChange(refresh);
    refresh();
    const panel = new JobPanel('Hashing', 'hash');
    const form = h(
      'form',
      { className: 'tool-form', onsubmit: (e: Event) => {
        e.preventDefault();
        const file = field.file();
        const request = model.value ? { job: 'hash' as const, model: model.value } : file ? { job: 'hash' as const, file } : undefined;
        if (request === undefined) {
          panel.fail('InvalidArgument', 'pick a safetensors file, or an open safetensors model');
          return;
        }
        const name = model.value ? (state.models.find((m) => m.id === model.value)?.name ?? 'model') : file!.name;
        void panel.run<HashResult>(state.engine, request).then((result) => {
          if (!result) return;
          const text = `${result.json}\n`;
          const tensors = Object.keys(result.manifest.tensors).length;
          panel.status.replaceChildren(
            h('p', { className: 'good' }, `✓ ${name}: header and ${tensors} tensor${tensors === 1 ? '' : 's'} hashed (SHA-256)`),
            h('pre', { className: 'json', 'data-testid': 'hash-json', tabindex: 0 }, result.json),
            h('button', { type: 'button', className: 'secondary', 'data-testid': 'hash-download', onclick: () => download(`${result.manifest.file}.manifest.json`, text, 'application/json') }, 'Download manifest JSON'),
          );
        });
      } },
      h('p', { className: 'hint' }, 'As tensorsafe hash --json: two files with the same manifest hold the same tensors, bit for bit, with the same header.'),
      field.element,
      h('div', { className: 'field' }, h('label', { for: modelId }, 'Or an open model'), model),
      h('div', { className: 'row' }, h('button', { type: 'submit', 'data-testid': 'hash-run' }, 'Hash')),
    );
    return h('div', { className: 'tool-body' }, form, panel.element);
  },
};
