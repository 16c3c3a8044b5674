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
    const message = (e as Error).message;
    const unknown = /^Unknown option '([^']+)'/.exec(message)?.[1];
    const ours = unknown === undefined ? undefined : OTHER_TOOLS_SPELLINGS[unknown];
    throw new UsageError(ours === undefined ? message : `Unknown option '${unknown}': tensorsafe's is ${ours}`);
  }
}

/** Options as other converters spell them (tfjs-converter, the issue texts), and tensorsafe's spelling. */
const OTHER_TOOLS_SPELLINGS: Readonly<Record<string, string>> = {
  '--shard-size': '--max-shard-size',
  '--weight_shard_size_bytes': '--max-shard-size',
  '--quantize_uint8': '--quantize uint8',
  '--quantize_uint16': '--quantize uint16',
  '--quantize_float16': '--quantize float16',
  '--output_dir': '-o',
};
