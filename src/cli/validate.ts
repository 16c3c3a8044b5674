import { parseArgs } from 'node:util';
import { IoError, isTensorsafeError, SafetensorError } from '../errors.js';
import { HttpSource } from '../io/http-source.js';
import { FileSource } from '../node/file-source.js';
import { safeOpen } from '../node/open-path.js';
import type { ByteSource } from '../io/byte-source.js';
import { validateSource, type ValidationResult } from '../safetensors/validate.js';
import { green, red, type Io } from './output.js';
import { expandHubTargets, expandTargets } from './targets.js';
import { applyRemoteOptions, REMOTE_HELP, REMOTE_OPTIONS } from './remote-options.js';
import { httpOptionsFor, hubReferenceOf, openHubSource } from '../node/hub.js';
import { EXIT_BAD_INPUT, EXIT_FINDING, EXIT_OK, exitStatusHelp, worstExit } from './exit-codes.js';
import { parsing, UsageError, type Command } from './usage.js';

export const validateCommand: Command = {
  name: 'validate',
  help: `Usage: tensorsafe validate [--json] FILE|URL|DIR...

Checks each file the way the reference safetensors reader (the Rust crate) does:
header length, UTF-8, strict JSON, dtypes, shapes, offsets that tile the data
buffer exactly. One deliberate difference: duplicate keys are rejected.
Only the header is read; tensor bytes are not. A sharded set's index
(*.safetensors.index.json) is checked too: every shard it names is present,
valid, and holds exactly the tensors the index puts in it. Folders are
searched for both (not inside .git or node_modules). http(s) URLs and Hub
files are read with range requests (or from the Hugging Face cache); a Hub
repository is checked through its safetensors model (its index if sharded).

Options:
  --json      one JSON line per file:
                {"file":…,"ok":true,"tensors":N}
                {"file":…,"ok":false,"error":{"code":…,"message":…}}
              error codes are the reference's variants (HeaderTooLarge,
              InvalidOffset, MetadataIncompleteBuffer, …) or I/O codes
              (NotFound, IoError, HttpError, …)
  -h, --help  show this help

${REMOTE_HELP}

${exitStatusHelp({ ok: 'every file is valid', finding: 'a file is not valid safetensors (the error code says why)', badInput: 'a file or URL could not be read (NotFound, PermissionDenied, HttpError)' })}

Examples:
  tensorsafe validate model.safetensors
  tensorsafe validate --json shards/ | jq 'select(.ok|not)'
  tensorsafe validate https://example.com/model.safetensors
  tensorsafe validate hf://openai-community/gpt2/model.safetensors`,

  async run(argv: string[], io: Io): Promise<number> {
    const { values, positionals } = parsing(() =>
      parseArgs({ args: argv, options: { json: { type: 'boolean' }, ...REMOTE_OPTIONS }, allowPositionals: true, strict: true }),
    );
    if (positionals.length === 0) throw new UsageError('validate needs at least one FILE');
    applyRemoteOptions(values);
    const files = await expandHubTargets(expandTargets(positionals, (f) => f.endsWith('.safetensors') || isShardIndex(f)), 'model', 'safetensors');
    if (files.length === 0) throw new UsageError(`no .safetensors files under ${positionals.join(', ')}`);
    let failures = 0;
    const exits: number[] = [];
    for (const file of files) {
      const result = await validateTarget(file);
      exits.push(result.ok ? EXIT_OK : result.unreadable ? EXIT_BAD_INPUT : EXIT_FINDING);
      if (!result.ok) failures++;
      if (values.json) {
        io.out(JSON.stringify(result.ok ? { file, ok: true, tensors: result.tensors } : { file, ok: false, error: result.error }));
      } else if (result.ok) {
        io.out(`${green(io, '✓')} ${file}: valid, ${result.tensors} tensor${result.tensors === 1 ? '' : 's'}`);
      } else {
        io.out(`${red(io, '✗')} ${file}: ${result.error.code}: ${result.error.message}`);
      }
    }
    if (!values.json && files.length > 1) io.out(`${files.length - failures} of ${files.length} valid`);
    return worstExit(exits);
  },
};

/** A sharded set's index (`model.safetensors.index.json`), local or a URL. */
function isShardIndex(target: string): boolean {
  return /\.safetensors\.index\.json$/i.test(/^https?:\/\//i.test(target) ? new URL(target).pathname : target);
}

/**
 * A sharded set, through its index: every shard it names is opened (present and valid safetensors)
 * and holds exactly the tensors the index puts in it.
 */
async function validateIndex(target: string): Promise<TargetResult> {
  try {
    const set = await safeOpen(target);
    const tensors = set.keys().length;
    await set.close();
    return { ok: true, tensors };
  } catch (e) {
    // A shard that cannot be read is bad input (exit 3); a set that is not valid is the answer (exit 1).
    if (isTensorsafeError(e)) return { ok: false, error: { code: e.code, message: e.message }, unreadable: e instanceof IoError };
    throw e;
  }
}

/** What validate reports of a file or a sharded set. */
type TargetResult = { ok: true; tensors: number } | Extract<ValidationResult, { ok: false }>;

/** Validates one path or URL; I/O failures become a failed result with their code. */
export async function validateTarget(target: string): Promise<TargetResult> {
  if (isShardIndex(target)) return validateIndex(target);
  let source: ByteSource | undefined;
  try {
    const hub = hubReferenceOf(target);
    source = /^https?:\/\//i.test(target) ? await HttpSource.open(target, httpOptionsFor(target)) : hub ? await openHubSource(hub) : await FileSource.open(target);
    return await validateSource(source);
  } catch (e) {
    // Not safetensors is the answer (exit 1); a file that cannot be read is bad input (exit 3).
    if (isTensorsafeError(e)) return { ok: false, error: { code: e.code, message: e.message }, unreadable: !(e instanceof SafetensorError) };
    throw e;
  } finally {
    await source?.close?.();
  }
}
