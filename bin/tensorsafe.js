#!/usr/bin/env node
import { main } from '../dist/cli/main.js';
import { exitOnInterrupt } from '../dist/node/interrupt.js';

// SIGHUP, SIGINT, SIGTERM (exit 128 + N) and a closed stdout or stderr (EPIPE: exit 141, quietly):
// stop the workers, end the progress line, and exit through process.exit so that temporary files are removed.
exitOnInterrupt();

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`tensorsafe: internal error: ${error?.stack ?? error}\n`);
    process.exitCode = 70;
  },
);
