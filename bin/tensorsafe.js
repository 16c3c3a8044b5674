#!/usr/bin/env node
import { main } from '../dist/cli/main.js';

// Output piped into `head` and closed early: stop quietly.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

// Ctrl-C: exit through process.exit so that temporary files are removed.
process.once('SIGINT', () => process.exit(130));
process.once('SIGTERM', () => process.exit(143));

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`tensorsafe: internal error: ${error?.stack ?? error}\n`);
    process.exitCode = 70;
  },
);
