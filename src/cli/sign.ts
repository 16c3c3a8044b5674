import { parseArgs } from 'node:util';
import { KEYGEN_HINT } from '../integrity/pem.js';
import { readSignatureFile, signFile } from '../node/integrity.js';
import { formatBytes } from '../util/strings.js';
import { progressBar } from './hash.js';
import { dim, green, type Io } from './output.js';
import { EXIT_OK, exitStatusHelp } from './exit-codes.js';
import { parsing, UsageError, type Command } from './usage.js';

export const signCommand: Command = {
  name: 'sign',
  help: `Usage: tensorsafe sign FILE --key PRIVATE.pem [--out FILE.sig] [--force]

Hashes FILE (the header and every tensor, as "tensorsafe hash" does) and signs
the manifest with an Ed25519 private key. The signature file, FILE.sig by
default, is JSON: {"format":"tensorsafe-signature/1","algorithm":"Ed25519",
"signedAt","publicKey","signature","manifest"}; the signature covers every
field but itself. Publish FILE.sig and your public key beside the model;
"tensorsafe verify-signature" checks both the signature and that the file
still matches, naming each tensor that does not.

Make a key pair with OpenSSL (keep key.pem secret, share key.pub.pem):
  openssl genpkey -algorithm ed25519 -out key.pem
  openssl pkey -in key.pem -pubout -out key.pub.pem

Options:
  --key PRIVATE.pem  the Ed25519 private key (PKCS#8 PEM, "BEGIN PRIVATE KEY")
  --out FILE.sig     where to write the signature (default: FILE.sig); a path
                     ending with / is a folder (created if missing) for FILE.sig
  --force            replace an existing signature file (never done without it)
  -h, --help         show this help

${exitStatusHelp({ ok: 'signed', badInput: 'FILE not valid safetensors, a key not usable, or the .sig exists (--force)' })}

Examples:
  tensorsafe sign model.safetensors --key key.pem
  tensorsafe sign model.safetensors --key key.pem --out sigs/model.sig --force
  for f in model-*.safetensors; do tensorsafe sign "$f" --key key.pem; done`,

  async run(argv: string[], io: Io): Promise<number> {
    const { values, positionals } = parsing(() =>
      parseArgs({ args: argv, options: { key: { type: 'string' }, out: { type: 'string' }, force: { type: 'boolean' } }, allowPositionals: true, strict: true }),
    );
    if (positionals.length !== 1) throw new UsageError('sign takes exactly one FILE');
    if (values.key === undefined) throw new UsageError(`sign needs --key PRIVATE.pem (${KEYGEN_HINT})`);
    const file = positionals[0]!;
    const bar = progressBar(true);
    try {
      const out = await signFile(file, values.key, {
        out: values.out,
        overwrite: values.force ?? false,
        onProgress: (p) => bar.update('hashing', p.bytesDone, p.bytesTotal),
      });
      const sig = readSignatureFile(out);
      const tensors = Object.keys(sig.manifest.tensors).length;
      io.out(`${green(io, '✓')} signed ${file} → ${out}`);
      io.out(dim(io, `  ${tensors} tensor${tensors === 1 ? '' : 's'}, ${formatBytes(sig.manifest.size)}; Ed25519 public key ${sig.publicKey}; ${sig.signedAt ?? ''}`));
      return EXIT_OK;
    } finally {
      bar.done();
    }
  },
};
