import { parseArgs } from 'node:util';
import { withDefaultSignals } from '../node/interrupt.js';
import { scanTargetHere } from '../node/scan-file.js';
import type { ScanReport } from '../formats/findings.js';
import { toSarif } from '../scan/sarif.js';
import { VERSION } from './version.js';
import { bold, dim, green, plural, red, paint, type Io } from './output.js';
import { expandHubTargets, expandTargets } from './targets.js';
import { applyRemoteOptions, REMOTE_HELP, REMOTE_OPTIONS } from './remote-options.js';
import { EXIT_BAD_INPUT, EXIT_FINDING, EXIT_OK, exitStatusHelp, worstExit } from './exit-codes.js';
import { parsing, UsageError, type Command } from './usage.js';

export const scanCommand: Command = {
  name: 'scan',
  help: `Usage: tensorsafe scan [--json | --sarif] PATH...

Tells whether model files would run code when loaded. The format is detected
from the bytes, never the name: zip (torch, TorchScript, npz, .keras), legacy
torch, tar, bare pickle, npy, safetensors, GGUF, ONNX, HDF5, TF.js, TFLite,
TensorFlow SavedModels (file, Python and network ops; Keras Lambdas) and
checkpoint indexes, Core ML (custom layers and models, files outside the
package), MXNet, PaddlePaddle (its pickle), Flax, PMML (DOCTYPE, entities,
external references), PFA (external cells, YAML tags).
Pickles are analysed by symbolic execution of every opcode, so each import and
call is tied to what it reaches however its name was assembled; each one is
judged against the allowlist the converter uses (safe), a list of dangerous
modules and functions (dangerous), and everything else (suspicious). Container
tricks (zip name mismatches, duplicate entries, odd flags, bad CRCs, data
before or after a pickle or archive, broken FRAMEs, encrypted entries) are
findings. Formats that cannot carry code are validated. Only pickles,
directories and headers are read: tensor bytes are not. Bytes are a pickle
only as far as CPython's unpickler would run them: text, source code and
empty files are reported as not model files and do not fail the run.

PATH is a file, a folder (scanned recursively, except .git and node_modules
folders inside it), an http(s) URL, or a Hub file or repository (its
model's files: a sharded set's index and every shard).

Options:
  --json      one JSON line per file:
                {"file","format",
                 "verdict":"safe"|"suspicious"|"dangerous"|"error",
                 "findings":[{"severity","rule","message","location"}]}
  --sarif     SARIF 2.1.0 for code-scanning dashboards
  -h, --help  show this help

${REMOTE_HELP}

${exitStatusHelp({ ok: 'every file is safe (or not a model file at all)', finding: 'a file is suspicious or dangerous', badInput: 'a file or URL could not be read (verdict "error")' })}

Examples:
  tensorsafe scan pytorch_model.bin
  tensorsafe scan --json ./models/ | jq 'select(.verdict != "safe")'
  tensorsafe scan --sarif . > tensorsafe.sarif
  tensorsafe scan openai-community/gpt2`,

  async run(argv: string[], io: Io): Promise<number> {
    const { values, positionals } = parsing(() =>
      parseArgs({ args: argv, options: { json: { type: 'boolean' }, sarif: { type: 'boolean' }, ...REMOTE_OPTIONS }, allowPositionals: true, strict: true }),
    );
    if (positionals.length === 0) throw new UsageError('scan needs at least one PATH');
    if (values.json && values.sarif) throw new UsageError('--json and --sarif cannot be used together');
    applyRemoteOptions(values);
    const files = await expandHubTargets(expandTargets(positionals, () => true), 'all');
    if (files.length === 0) throw new UsageError(`no files under ${positionals.join(', ')}`);
    const reports: ScanReport[] = [];
    // A scan writes nothing: Ctrl-C and SIGTERM end it at once, even in the middle of a long analysis
    // (on this thread: a worker would cost its start-up on every run).
    await withDefaultSignals(async () => {
      for (const file of files) {
        const report = await scanTargetHere(file);
        reports.push(report);
        if (values.json) io.out(JSON.stringify(report));
        else if (!values.sarif) printReport(report, io);
      }
    });
    if (values.sarif) io.out(JSON.stringify(toSarif(reports, VERSION), null, 2));
    else if (!values.json && reports.length > 1) {
      const count = (v: string): number => reports.filter((r) => r.verdict === v).length;
      const notModels = reports.filter(isNotAModel).length;
      io.out(
        `${plural(reports.length, 'file')}: ${count('safe')} safe${notModels ? ` (${notModels} not model files)` : ''}, ${count('suspicious')} suspicious, ${count('dangerous')} dangerous${count('error') ? `, ${count('error')} unreadable` : ''}`,
      );
    }
    return worstExit(reports.map((r) => (r.verdict === 'error' ? EXIT_BAD_INPUT : r.verdict === 'safe' ? EXIT_OK : EXIT_FINDING)));
  },
};

/** Scans a path or URL; an unreadable one is an `error` report. */
export const scanTarget = scanTargetHere;

/** Rules that say a file is not a model at all (text, source, an empty file, an image, a JSON config, …). */
const NOT_A_MODEL_RULES = new Set(['format/text', 'format/empty', 'format/unknown', 'format/not-a-model', 'format/json']);

function isNotAModel(r: ScanReport): boolean {
  return r.verdict === 'safe' && r.findings.some((f) => NOT_A_MODEL_RULES.has(f.rule));
}

function printReport(r: ScanReport, io: Io): void {
  const mark = r.verdict === 'safe' ? green(io, '✓ safe') : r.verdict === 'dangerous' ? red(io, '✗ DANGEROUS') : r.verdict === 'error' ? red(io, '! error') : paint(io, 33, '? suspicious');
  io.out(`${mark}  ${bold(io, r.file)} ${dim(io, `(${r.format})`)}`);
  for (const f of r.findings) {
    if (f.severity === 'info' && r.verdict !== 'safe') continue;
    const tag = f.severity === 'dangerous' ? red(io, 'dangerous ') : f.severity === 'suspicious' ? paint(io, 33, 'suspicious') : f.severity === 'error' ? red(io, 'error     ') : dim(io, 'info      ');
    io.out(`   ${tag} ${f.message} ${dim(io, `[${f.rule}] ${f.location}`)}`);
  }
}
