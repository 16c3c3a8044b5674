/**
 * Node options for a worker thread started from a file: the process's own, less `--input-type`, which
 * a worker inherits and which Node refuses for a file (a process started as `node --input-type=module
 * -e '…'` could otherwise start no worker: ERR_INPUT_TYPE_NOT_ALLOWED).
 */
export function workerExecArgv(argv: readonly string[] = process.execArgv): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--input-type') i++;
    else if (!argv[i]!.startsWith('--input-type=')) out.push(argv[i]!);
  }
  return out;
}
