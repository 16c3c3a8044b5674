import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ByteSource } from '../io/byte-source.js';
import { HttpSource } from '../io/http-source.js';
import type { ScanReport } from '../scan/findings.js';
import { scanSource } from '../scan/scan.js';
import { FileSource } from './file-source.js';
import { startWorker } from './worker-argv.js';

/** Scans a local file (see scanSource); its folder is given for references to other files. */
export async function scanFile(file: string): Promise<ScanReport> {
  const source = await FileSource.open(file);
  try {
    return await scanSource(source, { dir: path.dirname(path.resolve(file)) });
  } finally {
    await source.close();
  }
}

/** Scans a path or an http(s) URL on this thread; one that cannot be opened or read is an `error` report. */
export async function scanTargetHere(target: string): Promise<ScanReport> {
  let source: ByteSource | undefined;
  try {
    const remote = /^https?:\/\//i.test(target);
    source = remote ? await HttpSource.open(target) : await FileSource.open(target);
    return await scanSource(source, { dir: remote ? undefined : path.dirname(path.resolve(target)) });
  } catch (e) {
    return {
      file: target,
      format: 'unknown',
      verdict: 'error',
      findings: [{ severity: 'error', rule: 'scan/io-error', message: (e as Error).message, location: target }],
    };
  } finally {
    await source?.close?.();
  }
}

/** Scans paths and URLs one after another. */
export interface TargetScanner {
  scan(target: string): Promise<ScanReport>;
  close(): Promise<void>;
}

/**
 * A scanner that runs off the main thread, in a worker (the built one under dist, when present), so
 * that a long analysis never blocks the event loop: SIGINT and SIGTERM are handled at once, whatever
 * the file (an interrupted process exits through process.exit, which ends the worker with it, its
 * report unprinted). Without the built worker (sources run directly), it scans on this thread.
 */
export function openTargetScanner(): TargetScanner {
  const script = fileURLToPath(new URL('./scan-worker.js', import.meta.url));
  if (!fs.existsSync(script)) return { scan: scanTargetHere, close: async () => undefined };
  const worker = startWorker(script);
  const pending = new Map<number, { target: string; resolve: (r: ScanReport) => void }>();
  let next = 0;
  let failure: Error | undefined;
  const fail = (e: Error): void => {
    failure ??= e;
    for (const [id, p] of pending) {
      pending.delete(id);
      p.resolve(errorReport(p.target, `the scan stopped: ${failure.message}`));
    }
  };
  worker.on('message', (m: { id: number; report: ScanReport }) => {
    const p = pending.get(m.id);
    pending.delete(m.id);
    p?.resolve(m.report);
  });
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`the scan worker exited (${code})`)));
  worker.unref();
  return {
    scan(target) {
      if (failure) return Promise.resolve(errorReport(target, `the scan stopped: ${failure.message}`));
      const id = next++;
      worker.ref();
      return new Promise<ScanReport>((resolve) => {
        pending.set(id, { target, resolve });
        worker.postMessage({ id, target });
      }).finally(() => {
        if (pending.size === 0) worker.unref();
      });
    },
    async close() {
      await worker.terminate();
    },
  };
}

function errorReport(target: string, message: string): ScanReport {
  return { file: target, format: 'unknown', verdict: 'error', findings: [{ severity: 'error', rule: 'scan/io-error', message, location: target }] };
}
