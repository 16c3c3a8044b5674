import { isTensorsafeError } from '../errors.js';
import { convertCommand } from './convert.js';
import { scanCommand } from './scan.js';
import { verifyCommand } from './verify.js';
import { VERSION } from './version.js';
import { demoCommand } from './demo.js';
import { inspectCommand } from './inspect.js';
import { processIo, red, type Io } from './output.js';
import { EXIT_FAIL, EXIT_USAGE, UsageError, type Command } from './usage.js';
import { validateCommand } from './validate.js';
import { hashCommand } from './hash.js';
import { signCommand } from './sign.js';
import { verifySignatureCommand } from './verify-signature.js';

export const COMMANDS: readonly Command[] = [convertCommand, scanCommand, verifyCommand, validateCommand, inspectCommand, hashCommand, signCommand, verifySignatureCommand, demoCommand];


function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `tensorsafe ${VERSION}: make model files safe to share and fast to load

Usage: tensorsafe <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Run "tensorsafe <command> --help" for a command's options and examples.

Options:
  -h, --help     show this help
  -v, --version  print the version`;
}

/** Runs the CLI; returns the exit code. */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    const topic = name === 'help' ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    io.out(topic ? topic.help : mainHelp());
    return name === undefined ? EXIT_USAGE : 0;
  }
  if (name === '-v' || name === '--version') {
    io.out(VERSION);
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.err(`tensorsafe: unknown command "${name}"\n\n${mainHelp()}`);
    return EXIT_USAGE;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(command.help);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`tensorsafe ${command.name}: ${e.message}\nRun "tensorsafe ${command.name} --help" for usage.`);
      return EXIT_USAGE;
    }
    if (isTensorsafeError(e)) {
      io.err(`${red(io, 'error')} ${e.code}: ${e.message}`);
      return EXIT_FAIL;
    }
    throw e;
  }
}
