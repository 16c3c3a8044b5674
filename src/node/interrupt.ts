/**
 * Interruptions of a command-line run: a signal (Ctrl-C, kill, a closed terminal) or a closed output
 * pipe. The process exits through process.exit, so that the exit hook of atomic-file.ts removes the
 * temporary files of unfinished writes; before that, what registered with `onInterrupt` runs (stop
 * worker threads, end a progress line).
 */

/** The signals handled, with their numbers: the exit code is 128 + the number. */
export const INTERRUPT_SIGNALS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;
export type InterruptSignal = keyof typeof INTERRUPT_SIGNALS;
/** A closed stdout or stderr (EPIPE) ends the run like SIGPIPE would: 128 + 13. */
export const EXIT_PIPE_CLOSED = 128 + 13;
/** How long the interrupt callbacks (stopping workers) may take before the process exits anyway. */
export const INTERRUPT_CLEANUP_MS = 2000;

/** Why the run stops: a signal, or 'EPIPE' (nothing can be printed any more). */
export type InterruptReason = InterruptSignal | 'EPIPE';
export type InterruptCallback = (reason: InterruptReason) => void | Promise<void>;

const callbacks = new Set<InterruptCallback>();
let interrupting = false;

/** Registers a callback run on interruption, before the process exits; returns its removal. */
export function onInterrupt(callback: InterruptCallback): () => void {
  callbacks.add(callback);
  return () => {
    callbacks.delete(callback);
  };
}

/** Runs the registered callbacks (each at most once per interruption; errors ignored). */
export async function runInterruptCallbacks(reason: InterruptReason): Promise<void> {
  const pending = [...callbacks];
  callbacks.clear();
  await Promise.allSettled(pending.map(async (cb) => cb(reason)));
}

export interface ExitOnInterruptOptions {
  /** Where "interrupted" is printed (default process.stderr). */
  stderr?: NodeJS.WritableStream;
}

/**
 * Installs the handlers of a command-line process: SIGHUP, SIGINT and SIGTERM exit with 128 + N,
 * an EPIPE on stdout or stderr exits with EXIT_PIPE_CLOSED, quietly. Either way the interrupt
 * callbacks run first and the exit hooks remove temporary files. A second signal during cleanup
 * exits at once (the exit hooks still run). Install once.
 */
export function exitOnInterrupt(options: ExitOnInterruptOptions = {}): void {
  const stderr = options.stderr ?? process.stderr;
  for (const signal of Object.keys(INTERRUPT_SIGNALS) as InterruptSignal[]) {
    process.on(signal, () => {
      const code = 128 + INTERRUPT_SIGNALS[signal];
      if (interrupting) process.exit(code);
      void stop(signal, code, () => {
        try {
          stderr.write(`tensorsafe: interrupted (${signal})\n`);
        } catch {
          // stderr is gone too
        }
      });
    });
  }
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (interrupting) return; // writes after the pipe closed fail too
      if (error.code !== 'EPIPE') throw error;
      void stop('EPIPE', EXIT_PIPE_CLOSED);
    });
  }
}

async function stop(reason: InterruptReason, code: number, report?: () => void): Promise<void> {
  interrupting = true;
  // Not unref'd: it also keeps the process alive until the callbacks are done.
  setTimeout(() => process.exit(code), INTERRUPT_CLEANUP_MS);
  await runInterruptCallbacks(reason);
  report?.();
  process.exit(code);
}

/**
 * Runs `work` with the operating system's default action for the interrupt signals: the process ends at
 * once, even while a long synchronous analysis keeps the event loop busy (a handler would wait for it).
 * Only for work that writes nothing and leaves nothing to clean up: a scan.
 */
export async function withDefaultSignals<T>(work: () => Promise<T>): Promise<T> {
  const saved = (Object.keys(INTERRUPT_SIGNALS) as InterruptSignal[]).map((signal) => [signal, process.listeners(signal)] as const);
  // With no listener left, Node stops watching the signal and its default action applies.
  for (const [signal] of saved) process.removeAllListeners(signal);
  try {
    return await work();
  } finally {
    for (const [signal, listeners] of saved) for (const l of listeners) process.on(signal, l as () => void);
  }
}
