import { Worker, type WorkerOptions } from 'node:worker_threads';

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

/**
 * `new Worker(file, options)`, also from a process run as `node --input-type=module -e`. Only then are
 * the options given explicitly (without `--input-type`); Node checks explicit ones, and refuses those
 * that are the process's alone (`--expose-gc`, say), so if it refuses them the worker starts without any.
 */
export function startWorker(file: string | URL, options: WorkerOptions = {}): Worker {
  const argv = workerExecArgv();
  if (argv.length === process.execArgv.length) return new Worker(file, options);
  try {
    return new Worker(file, { ...options, execArgv: argv });
  } catch (e) {
    if ((e as { code?: string }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw e;
    return new Worker(file, { ...options, execArgv: [] });
  }
}
