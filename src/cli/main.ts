import { isTensorsafeError, type ErrorCode, type TensorsafeError } from '../errors.js';
import { fileError, isOsError } from '../node/file-source.js';
import { EXIT_INTERNAL, EXIT_OK, EXIT_TABLE, EXIT_USAGE, exitCodeOf } from './exit-codes.js';
import { processIo, red, type Io } from './output.js';
import { UsageError, type Command } from './usage.js';
import { VERSION } from './version.js';

/**
 * The commands, each loaded only when it runs: `tensorsafe --version` or `scan` does not load the
 * converter, the verifier and the signer. The specifiers are literals of this package's own files.
 */
export const COMMANDS: readonly { name: string; summary: string; load: () => Promise<Command> }[] = [
  { name: 'convert', summary: 'convert to safetensors, NumPy, GGUF or TF.js; runs nothing', load: async () => (await import('./convert.js')).convertCommand },
  { name: 'scan', summary: 'scan model files for code that would run when loaded', load: async () => (await import('./scan.js')).scanCommand },
  { name: 'verify', summary: 'prove two models hold the same tensors (--run: and outputs)', load: async () => (await import('./verify.js')).verifyCommand },
  { name: 'validate', summary: 'check safetensors files exactly as the reference reader does', load: async () => (await import('./validate.js')).validateCommand },
  { name: 'inspect', summary: 'show the tensors of a model file, folder or URL, any format', load: async () => (await import('./inspect.js')).inspectCommand },
  { name: 'hash', summary: "SHA-256 of a safetensors file's header and of every tensor", load: async () => (await import('./hash.js')).hashCommand },
  { name: 'sign', summary: "sign a safetensors file's manifest with Ed25519 (FILE.sig)", load: async () => (await import('./sign.js')).signCommand },
  { name: 'verify-signature', summary: 'check a file against its signature: signer, tensors, header', load: async () => (await import('./verify-signature.js')).verifySignatureCommand },
  { name: 'web', summary: 'serve the page: inspect, scan, convert and sign in a browser', load: async () => (await import('./web.js')).webCommand },
  { name: 'demo', summary: 'convert a bundled PyTorch sample, validate and inspect it', load: async () => (await import('./demo.js')).demoCommand },
];

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `tensorsafe ${VERSION}: make model files safe to share and fast to load

Usage: tensorsafe <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Run "tensorsafe <command> --help" for a command's options and examples.

Options:
  -h, --help     show this help
  -v, --version  print the version

${EXIT_TABLE}`;
}

/** What the CLI adds to a library error: the flag that changes the outcome. */
const CLI_HINTS: Partial<Record<ErrorCode, string>> = {
  OutputExists: '--force replaces it',
};

/** The commands that have --force (the OutputExists hint names it only there). */
const COMMANDS_WITH_FORCE = new Set(['convert', 'sign']);

/** Runs the CLI; returns the exit code. Every failure is printed and mapped to the exit-code table. */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    const topic = name === 'help' && rest[0] !== undefined ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    io.out(topic ? (await topic.load()).help : mainHelp());
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (name === '-v' || name === '--version') {
    io.out(VERSION);
    return EXIT_OK;
  }
  const entry = COMMANDS.find((c) => c.name === name);
  const json = rest.includes('--json');
  if (!entry) {
    if (json) io.out(errorJson('UsageError', `unknown command "${name}"`));
    io.err(`tensorsafe: unknown command "${name}"\n\n${mainHelp()}`);
    return EXIT_USAGE;
  }
  const command = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(command.help);
    return EXIT_OK;
  }
  try {
    return await command.run(rest, io);
  } catch (e) {
    return reportFailure(e, command.name, json, io);
  }
}

/** Prints an error that ended a command (as JSON on stdout too under --json) and gives its exit code. */
function reportFailure(e: unknown, commandName: string, json: boolean, io: Io): number {
  if (e instanceof UsageError) {
    if (json) io.out(errorJson('UsageError', e.message));
    io.err(`tensorsafe ${commandName}: ${e.message}\nRun "tensorsafe ${commandName} --help" for usage.`);
    return EXIT_USAGE;
  }
  const error = asTensorsafeError(e);
  if (error) {
    const hint = COMMANDS_WITH_FORCE.has(commandName) ? CLI_HINTS[error.code] : undefined;
    const message = hint ? `${error.message}; ${hint}` : error.message;
    if (json) io.out(errorJson(error.code, message, error.file ?? error.location));
    io.err(`${red(io, 'error')} ${error.code}: ${message}`);
    return exitCodeOf(error);
  }
  const detail = e instanceof Error ? (e.stack ?? e.message) : String(e);
  if (json) io.out(errorJson('InternalError', e instanceof Error ? e.message : String(e)));
  io.err(`tensorsafe ${commandName}: internal error (a bug in tensorsafe ${VERSION}; please report it with the command that caused it):\n${detail}`);
  return EXIT_INTERNAL;
}

/** Library errors as they are; operating-system errors that escaped a library call, coded and naming their path. */
function asTensorsafeError(e: unknown): TensorsafeError | undefined {
  if (isTensorsafeError(e)) return e;
  if (isOsError(e)) return fileError(e.path ?? (e as { dest?: string }).dest ?? '(unknown path)', e, e.syscall !== 'open' && e.syscall !== 'read' && e.syscall !== 'stat');
  return undefined;
}

function errorJson(code: ErrorCode, message: string, file?: string): string {
  return JSON.stringify({ ok: false, error: { code, message, ...(file !== undefined ? { file } : {}) } });
}

