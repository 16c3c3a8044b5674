import type { Ed25519KeyPairPem } from '../../integrity/keygen.js';
import type { SignResult } from '../worker/tool-jobs.js';
import { h } from './dom.js';
import type { PageState, PageTool } from './state.js';
import { download, fileField, JobPanel } from './tool-kit.js';

/**
 * "Sign": a safetensors file and an Ed25519 private key (PKCS#8 PEM, as `tensorsafe sign --key`
 * reads it) make FILE.sig, the same bytes `tensorsafe sign` writes at the same moment (Ed25519 is
 * deterministic; WebCrypto signs). For people with no key, a key pair made here (WebCrypto) in the
 * PEM files OpenSSL writes, which the CLI reads.
 */
export const signTool: PageTool = {
  id: 'sign',
  title: 'Sign a safetensors file',
  render(state: PageState): HTMLElement {
    const file = fileField('safetensors file', 'sign-file', '.safetensors');
    const key = fileField('Private key (PEM, BEGIN PRIVATE KEY)', 'sign-key', '.pem,.key,text/plain', 'read here only, never sent anywhere');
    const panel = new JobPanel('Signing', 'sign');
    const form = h(
      'form',
      { className: 'tool-form', onsubmit: (e: Event) => {
        e.preventDefault();
        const f = file.file();
        const k = key.file();
        if (!f || !k) {
          panel.fail('InvalidArgument', `pick ${!f ? 'the safetensors file' : 'the private key'} to sign with`);
          return;
        }
        void panel.run<SignResult>(state.engine, { job: 'sign', file: f, key: k }).then((result) => {
          if (!result) return;
          download(result.name, result.text, 'application/json');
          panel.status.replaceChildren(
            h('p', { className: 'good' }, `✓ signed ${f.name} → ${result.name} (downloaded)`),
            h('p', { className: 'hint' }, `${result.tensors} tensor${result.tensors === 1 ? '' : 's'}; Ed25519 public key ${result.publicKey}; ${result.signedAt ?? ''}`),
            h('button', { type: 'button', className: 'secondary', 'data-testid': 'sign-download', onclick: () => download(result.name, result.text, 'application/json') }, `Download ${result.name} again`),
          );
        });
      } },
      h('p', { className: 'hint' }, 'As tensorsafe sign FILE --key key.pem: the header and every tensor hashed, the manifest signed with Ed25519.'),
      file.element,
      key.element,
      h('div', { className: 'row' }, h('button', { type: 'submit', 'data-testid': 'sign-run' }, 'Sign')),
    );

    const keysPanel = new JobPanel('Making a key pair', 'keygen');
    const keygen = h('button', { type: 'button', className: 'secondary', 'data-testid': 'keygen-run', onclick: () => {
      void keysPanel.run<Ed25519KeyPairPem>(state.engine, { job: 'generate-keys' }).then((pair) => {
        if (!pair) return;
        keysPanel.status.replaceChildren(
          h('p', { className: 'good' }, '✓ a new Ed25519 key pair: keep key.pem secret, share key.pub.pem beside your signatures'),
          h('div', { className: 'row' },
            h('button', { type: 'button', 'data-testid': 'keygen-private', onclick: () => download('key.pem', pair.privateKeyPem, 'application/x-pem-file') }, 'Download private key (key.pem)'),
            h('button', { type: 'button', className: 'secondary', 'data-testid': 'keygen-public', onclick: () => download('key.pub.pem', pair.publicKeyPem, 'application/x-pem-file') }, 'Download public key (key.pub.pem)'),
          ),
        );
      });
    } }, 'Make a key pair');
    return h(
      'div',
      { className: 'tool-body' },
      form,
      panel.element,
      h('details', { className: 'keygen' }, h('summary', {}, 'No key? Make a key pair here'), h('p', { className: 'hint' }, 'Made by this browser (WebCrypto), in the PEM files openssl genpkey -algorithm ed25519 writes; the CLI reads them.'), keygen, keysPanel.element),
    );
  },
};
