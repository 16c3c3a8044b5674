import { parseArgs } from 'node:util';
import { canonicalJson } from '../integrity/manifest.js';
import { hashFile } from '../node/integrity.js';
import { formatBytes } from '../util/strings.js';
import { bold, dim, table, type Io } from './output.js';
import { ProgressBar } from './progress.js';
import { EXIT_OK, exitStatusHelp } from './exit-codes.js';
import { parsing, UsageError, type Command } from './usage.js';
import { applyRemoteOptions, REMOTE_HELP, REMOTE_OPTIONS } from './remote-options.js';

export const hashCommand: Command = {
  name: 'hash',
  help: `Usage: tensorsafe hash FILE [--json]

safetensors has no checksum of its own. This validates FILE as the reference
reader does, then reads it once, in bounded chunks, and prints the SHA-256 of
its header (the 8-byte length and the header JSON) and of each tensor's bytes.
Two files with the same manifest hold the same tensors, bit for bit, under the
same names, dtypes and shapes, with the same metadata. Memory does not grow
with the file. "tensorsafe sign" signs this manifest. FILE may be a Hub file
(hf://owner/repo[@REV]/PATH): read from the Hugging Face cache when there,
else with range requests at its pinned commit.

Options:
  --json      print the manifest as canonical JSON (keys sorted, no spaces):
                {"algorithm":"sha256","file","format":"tensorsafe-manifest/1",
                 "header":HEX,"metadata":{…}|null,"size",
                 "tensors":{NAME:{"byteLength","dtype","sha256":HEX,"shape"}}}
  -h, --help  show this help

${REMOTE_HELP}

${exitStatusHelp({ ok: 'hashed', badInput: 'FILE missing, unreadable or not valid safetensors (the code says why)' })}

Examples:
  tensorsafe hash model.safetensors
  tensorsafe hash --json model.safetensors > model.manifest.json
  tensorsafe hash --json model.safetensors |
    jq -r '.tensors["lm_head.weight"].sha256'`,

  async run(argv: string[], io: Io): Promise<number> {
    const { values, positionals } = parsing(() => parseArgs({ args: argv, options: { json: { type: 'boolean' }, ...REMOTE_OPTIONS }, allowPositionals: true, strict: true }));
    if (positionals.length !== 1) throw new UsageError('hash takes exactly one FILE');
    applyRemoteOptions(values);
    const file = positionals[0]!;
    const bar = progressBar(!values.json);
    try {
      const manifest = await hashFile(file, { onProgress: (p) => bar.update('hashing', p.bytesDone, p.bytesTotal) });
      bar.done();
      if (values.json) {
        io.out(canonicalJson(manifest));
        return EXIT_OK;
      }
      const names = Object.keys(manifest.tensors);
      io.out(`${bold(io, file)}  ${dim(io, `(${formatBytes(manifest.size)}, ${names.length} tensor${names.length === 1 ? '' : 's'}, sha256)`)}`);
      io.out(`header  ${manifest.header}`);
      if (manifest.metadata !== null) io.out(dim(io, `metadata: ${Object.keys(manifest.metadata).length} key(s), covered by the header's hash`));
      if (names.length > 0) {
        io.out('');
        for (const line of table([['name', 'sha256'], ...names.map((n) => [n, manifest.tensors[n]!.sha256])])) io.out(line);
      }
      return EXIT_OK;
    } finally {
      bar.done();
    }
  },
};

/** A progress bar on a terminal's stderr (never with --json, never in CI). */
export function progressBar(enabled: boolean): ProgressBar {
  return new ProgressBar(process.stderr, enabled && Boolean(process.stderr.isTTY) && !process.env['CI']);
}
