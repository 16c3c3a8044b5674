import { signatureCheckText } from '../../integrity/check-signature.js';
import type { SignatureCheckResult } from '../worker/tool-jobs.js';
import { h } from './dom.js';
import type { PageState, PageTool } from './state.js';
import { fileField, JobPanel } from './tool-kit.js';

/**
 * "Verify a signature": a file, its .sig and the signer's public key, checked as
 * `tensorsafe verify-signature` checks them, and said in its words: good or bad, and why.
 */
export const signatureTool: PageTool = {
  id: 'verify-signature',
  title: 'Verify a signature',
  render(state: PageState): HTMLElement {
    const file = fileField('safetensors file', 'verify-sig-file', '.safetensors');
    const sig = fileField('Signature (.sig)', 'verify-sig-sig', '.sig,application/json');
    const key = fileField('Signer’s public key (PEM, BEGIN PUBLIC KEY)', 'verify-sig-key', '.pem,.pub,text/plain');
    const panel = new JobPanel('Checking the signature', 'verify-sig');
    const form = h(
      'form',
      { className: 'tool-form', onsubmit: (e: Event) => {
        e.preventDefault();
        const [f, s, k] = [file.file(), sig.file(), key.file()];
        if (!f || !s || !k) {
          panel.fail('InvalidArgument', `pick ${!f ? 'the file' : !s ? 'its .sig' : 'the public key'} to check`);
          return;
        }
        void panel.run<SignatureCheckResult>(state.engine, { job: 'verify-signature', file: f, sig: s, key: k }).then((c) => {
          if (!c) return;
          const text = signatureCheckText(c, c.key, c.sig);
          panel.status.replaceChildren(
            h('div', { className: `report ${c.ok ? 'good' : 'bad'}`, 'data-testid': 'verify-sig-result', 'data-ok': String(c.ok), 'data-signature-valid': String(c.signatureValid) },
              h('p', { className: `report-verdict ${c.ok ? 'good' : 'bad'}` }, h('span', { className: 'badge' }, c.ok ? 'good' : 'bad'), ' ', c.ok ? '✓ ' : '✗ ', h('strong', {}, c.file), text.verdict),
              text.details.length > 0 ? h('ul', { className: 'report-lines' }, ...text.details.map((d) => h('li', {}, d))) : null,
              c.signatureValid ? h('p', { className: 'hint' }, `Signer: the private half of ${c.key}${c.keyMatches ? '' : ' (the .sig names another public key; only the key you gave counts)'}${c.signedAt ? `; signed ${c.signedAt}` : ''}.`) : null,
            ),
          );
        });
      } },
      h('p', { className: 'hint' }, 'As tensorsafe verify-signature FILE --key key.pub.pem --sig FILE.sig: the signature first, then every tensor and the header against what was signed.'),
      file.element,
      sig.element,
      key.element,
      h('div', { className: 'row' }, h('button', { type: 'submit', 'data-testid': 'verify-sig-run' }, 'Verify')),
    );
    return h('div', { className: 'tool-body' }, form, panel.element);
  },
};
