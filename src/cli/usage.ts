import { TensorsafeError } from '../errors.js';
import type { Io } from './output.js';

/** A command-line mistake: printed with a pointer to --help, exit code 2 (its code, `UsageError`, maps there). */
export class UsageError extends TensorsafeError {
  constructor(message: string) {
    super('UsageError', message);
    this.name = 'UsageError';
  }
}

/** A command's module: its help and what it does (its name and summary live in the command table). */
export interface Command {
  name: string;
  /** Full --help text. */
  help: string;
  run(argv: string[], io: Io): Promise<number>;
}

/** Runs util.parseArgs (or any parser) and turns its errors into UsageErrors. */
export function parsing<T>(parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}
