import * as fs from 'node:fs';
import * as os from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { TensorsafeError, type ErrorCode } from '../errors.js';
import { decodeBlocks, type BlockDecoder } from '../tensor/block-decoder.js';
import { startWorker } from './worker-argv.js';

/** Decoding threads at most, whatever the core count: each holds a chunk in and out (8 MiB + its blocks). */
export const MAX_DECODE_WORKERS = 8;
/** Workers that may fail or end before the pool stops replacing them (decoding goes on, on the calling thread). */
export const MAX_DECODE_WORKER_FAILURES = 4;
/** Decoded output below which convert starts no worker: starting one costs more than it saves (bench/gguf.js). */
export const MIN_DECODE_WORKER_BYTES = 128 << 20;

/** A request to decode-worker.ts: `src` and `out` are transferred, not copied. */
export interface DecodeRequest {
  id: number;
  typeName: string;
  src: Uint8Array;
  blocks: number;
  out: Float32Array;
}

/** A worker's answer: both buffers back (transferred), `out` decoded, or a coded error. */
export interface DecodeReply {
  id: number;
  src?: Uint8Array;
  out?: Float32Array;
  error?: { code: ErrorCode; message: string; location?: string | undefined };
}

interface Job {
  resolve(done: { src: Uint8Array; out: Float32Array }): void;
  reject(e: Error): void;
}

interface Lane {
  worker: Worker;
  jobs: Map<number, Job>;
  /** The worker has started (its modules loaded): until then, chunks are decoded on the calling thread. */
  online: boolean;
}

/**
 * A BlockDecoder over worker threads (decode-worker.ts), for readers that dequantize (GGUF): each
 * chunk's source bytes go to the least busy worker and come back as floats, both transferred (a
 * source buffer shared with other data is copied once first). Workers start when `start()` is called
 * (a worker costs tens of milliseconds of CPU to start: worth it for large models only), and do not
 * keep the process alive; until one has started, chunks are decoded on the calling thread. `close()`
 * ends them. A worker that fails or exits fails its jobs with a coded error and is replaced. Without
 * the built worker file (the library run from its TypeScript sources), `available` is false.
 */
export class DecodeWorkerPool implements BlockDecoder {
  readonly parallelism: number;
  private readonly lanes: (Lane | undefined)[];
  private nextId = 0;
  private closed = false;
  private started = false;
  private failures = 0;
  private readonly script = fileURLToPath(new URL('./decode-worker.js', import.meta.url));

  /** `workers` by default: one core fewer than there are (the calling thread's, which writes and checks meanwhile), at least one. */
  constructor(workers: number = os.availableParallelism() - 1) {
    this.parallelism = Math.max(1, Math.min(MAX_DECODE_WORKERS, Math.floor(workers)));
    this.lanes = new Array<Lane | undefined>(this.parallelism).fill(undefined);
  }

  /** Whether the worker file exists (it does in the built package). */
  get available(): boolean {
    return fs.existsSync(this.script);
  }

  decode(typeName: string, src: Uint8Array, blocks: number, out: Float32Array): Promise<{ src: Uint8Array; out: Float32Array }> {
    if (this.closed) return Promise.reject(new TensorsafeError('Aborted', 'the decoding workers were closed before this chunk was decoded'));
    const lane = this.lane();
    if (lane === undefined) {
      try {
        decodeBlocks(typeName, src, blocks, out);
        return Promise.resolve({ src, out });
      } catch (e) {
        return Promise.reject(e);
      }
    }
    const id = this.nextId++;
    // Transferring detaches the whole buffer: a view into a larger one (against the contract) is copied instead.
    const whole = <T extends Uint8Array | Float32Array>(a: T): boolean => a.byteOffset === 0 && a.byteLength === a.buffer.byteLength && a.buffer instanceof ArrayBuffer;
    const ownSrc = whole(src) ? src : src.slice();
    const ownOut = whole(out) ? out : new Float32Array(out.length);
    return new Promise((resolve, reject) => {
      // A worker with work keeps the process alive (the caller awaits it); an idle one does not.
      if (lane.jobs.size === 0) lane.worker.ref();
      lane.jobs.set(id, { resolve, reject });
      lane.worker.postMessage({ id, typeName, src: ownSrc, blocks, out: ownOut } satisfies DecodeRequest, [ownSrc.buffer as ArrayBuffer, ownOut.buffer as ArrayBuffer]);
    });
  }

  /** Starts every worker; resolves once each has started or ended (decodes go to those started from then on). */
  async start(): Promise<void> {
    if (this.closed) return;
    this.started = true;
    for (let i = 0; i < this.lanes.length; i++) if (this.lanes[i] === undefined) this.start1(i);
    await Promise.all(
      this.lanes.map((l) =>
        l === undefined || l.online
          ? undefined
          : new Promise((resolve) => {
              l.worker.once('online', resolve);
              l.worker.once('exit', resolve);
            }),
      ),
    );
  }

  /** Ends the workers; decodes still pending fail with `Aborted`. */
  async close(): Promise<void> {
    this.closed = true;
    const lanes = this.lanes.filter((l): l is Lane => l !== undefined);
    this.lanes.fill(undefined);
    for (const l of lanes) this.fail(l, new TensorsafeError('Aborted', 'the decoding workers were closed before this chunk was decoded'));
    // An idle worker is unref'd, and ending one that keeps nothing alive might never be seen to finish.
    await Promise.all(
      lanes.map((l) => {
        l.worker.ref();
        return l.worker.terminate();
      }),
    );
  }

  /** The started lane with the fewest jobs, if any (once started, a lane whose worker ended is replaced). */
  private lane(): Lane | undefined {
    let best: Lane | undefined;
    for (let i = 0; i < this.lanes.length; i++) {
      const l = this.lanes[i] ?? (this.started ? this.start1(i) : undefined);
      if (l?.online && (best === undefined || l.jobs.size < best.jobs.size)) best = l;
    }
    return best;
  }

  private start1(i: number): Lane | undefined {
    if (this.failures >= MAX_DECODE_WORKER_FAILURES) return undefined;
    let worker: Worker;
    try {
      worker = startWorker(this.script);
    } catch {
      this.failures++;
      return undefined;
    }
    const lane: Lane = { worker, jobs: new Map(), online: false };
    // Kept alive while it starts (start() may be awaited), then only while it has work.
    worker.once('online', () => {
      lane.online = true;
      if (lane.jobs.size === 0) worker.unref();
    });
    this.lanes[i] = lane;
    const retire = (e: Error): void => {
      if (this.lanes[i] === lane) {
        this.lanes[i] = undefined;
        this.failures++;
      }
      this.fail(lane, e);
    };
    worker.on('message', (m: DecodeReply) => {
      const job = lane.jobs.get(m.id);
      if (job === undefined) return;
      lane.jobs.delete(m.id);
      if (lane.jobs.size === 0) lane.worker.unref();
      if (m.src && m.out) job.resolve({ src: m.src, out: m.out });
      else job.reject(new TensorsafeError(m.error?.code ?? 'InternalError', m.error?.message ?? 'a decoding worker answered with nothing', { location: m.error?.location }));
    });
    worker.on('error', (e: Error) => retire(new TensorsafeError('InternalError', `a decoding worker failed: ${e.message}`, { cause: e })));
    worker.on('exit', (code) => retire(new TensorsafeError('InternalError', `a decoding worker exited (code ${code}) before it finished`)));
    return lane;
  }

  private fail(lane: Lane, e: Error): void {
    const jobs = [...lane.jobs.values()];
    lane.jobs.clear();
    for (const j of jobs) j.reject(e);
  }
}

