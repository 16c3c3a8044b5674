import { parseArgs } from 'node:util';
import { isTensorsafeError } from '../errors.js';
import { signatureCheckText } from '../integrity/check-signature.js';
import { KEYGEN_HINT } from '../integrity/pem.js';
import { verifyFileSignature, type FileSignatureCheck } from '../node/integrity.js';
import { progressBar } from './hash.js';
import { bold, green, red, type Io } from './output.js';
import { EXIT_FINDING, EXIT_OK, exitCodeOf, exitStatusHelp } from './exit-codes.js';
import { parsing, UsageError, type Command } from './usage.js';

export const verifySignatureCommand: Command = {
  name: 'verify-signature',
  help: `Usage: tensorsafe verify-signature FILE --key PUBLIC.pem [--sig FILE.sig]
                                   [--json]

Checks, in order:
  1. that the signature file (FILE.sig by default) was signed by the private
     half of PUBLIC.pem and not altered since (every field is signed);
  2. that FILE is still exactly what was signed: the header and every tensor
     are hashed again and compared with the signed manifest. Each change is
     named: a tensor whose bytes, dtype or shape changed, a tensor added or
     removed, the header, each metadata key, the size. A renamed file still
     matches.
The key used is the one given with --key: the public key recorded in the
signature file is only informational.

Options:
  --key PUBLIC.pem  the signer's Ed25519 public key (SPKI PEM,
                    "BEGIN PUBLIC KEY")
  --sig FILE.sig    the signature file (default: FILE.sig)
  --json            one JSON object:
                      {"file","sig","ok","signatureValid","keyMatches",
                       "signedAt",
                       "changes":[{"what":"header"|"tensor"|"metadata"|"size",
                                   "name","expected","actual","reason"}]}
  -h, --help        show this help

${exitStatusHelp({ ok: 'the signature is valid and the file matches it', finding: 'the signature is not valid for the key, or the file changed since', badInput: 'FILE, the key or the .sig missing, unreadable or unusable (the code says)' })}

The key pair is made with OpenSSL; the signer shares key.pub.pem:
  openssl genpkey -algorithm ed25519 -out key.pem
  openssl pkey -in key.pem -pubout -out key.pub.pem

Examples:
  tensorsafe verify-signature model.safetensors --key key.pub.pem
  tensorsafe verify-signature model.safetensors --key key.pub.pem \\
    --sig downloads/model.sig
  tensorsafe verify-signature --json model.safetensors --key key.pub.pem |
    jq '.changes[].name'`,

  async run(argv: string[], io: Io): Promise<number> {
    const { values, positionals } = parsing(() =>
      parseArgs({ args: argv, options: { key: { type: 'string' }, sig: { type: 'string' }, json: { type: 'boolean' } }, allowPositionals: true, strict: true }),
    );
    if (positionals.length !== 1) throw new UsageError('verify-signature takes exactly one FILE');
    if (values.key === undefined) throw new UsageError(`verify-signature needs --key PUBLIC.pem, the signer's public key (${KEYGEN_HINT})`);
    const file = positionals[0]!;
    const sigPath = values.sig ?? `${file}.sig`;
    const bar = progressBar(!values.json);
    let check: FileSignatureCheck;
    try {
      check = await verifyFileSignature(file, values.key, sigPath, { onProgress: (p) => bar.update('hashing', p.bytesDone, p.bytesTotal) });
    } catch (e) {
      bar.done();
      if (values.json && isTensorsafeError(e)) {
        io.out(JSON.stringify({ file, sig: sigPath, ok: false, signatureValid: false, error: { code: e.code, message: e.message, file: e.file ?? e.location ?? file } }));
        io.err(`${red(io, 'error')} ${e.code}: ${e.message}`);
        return exitCodeOf(e);
      }
      throw e;
    }
    bar.done();
    if (values.json) {
      const { ok, signatureValid, keyMatches, signedAt, changes } = check;
      io.out(JSON.stringify({ file, sig: sigPath, ok, signatureValid, keyMatches, signedAt: signedAt ?? null, changes }));
    } else {
      printCheck(check, values.key, io);
    }
    return check.ok ? EXIT_OK : EXIT_FINDING;
  },
};

function printCheck(c: FileSignatureCheck, keyPath: string, io: Io): void {
  const text = signatureCheckText(c, keyPath, c.sig);
  io.out(`${c.ok ? green(io, '✓') : red(io, '✗')} ${bold(io, c.file)}${text.verdict}`);
  for (const line of text.details) io.out(`  ${line}`);
}
