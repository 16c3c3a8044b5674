import { TensorsafeError } from '../errors.js';
import { runtimeMessage, type RuntimeId } from '../tensor/runnable-model.js';

/**
 * The runtimes the behaviour check runs models in, imported on first use: optional packages, never
 * dependencies of tensorsafe (the core runs nothing it reads). The package names are constants of
 * this file, never taken from a model or an argument.
 */
export const RUNTIME_PACKAGES: Readonly<Record<RuntimeId, string>> = { onnxruntime: 'onnxruntime-node', tfjs: '@tensorflow/tfjs' };

const loaded = new Map<RuntimeId, Promise<unknown>>();

/** The runtime's module, ready to run (tfjs: its CPU backend, quiet); RuntimeMissing when its package is not installed. */
export function loadRuntime(id: RuntimeId): Promise<unknown> {
  let p = loaded.get(id);
  if (!p) {
    p = importRuntime(id);
    loaded.set(id, p);
    p.catch(() => loaded.delete(id));
  }
  return p;
}

/** Whether the runtime's package can be imported here (the batch report's "behaves the same" column runs only then). */
export async function runtimeAvailable(id: RuntimeId): Promise<boolean> {
  try {
    await loadRuntime(id);
    return true;
  } catch {
    return false;
  }
}

async function importRuntime(id: RuntimeId): Promise<unknown> {
  // Literal specifiers, one per runtime: nothing a model or an argument says decides what is imported.
  const mod = await importPackage(RUNTIME_PACKAGES[id], () => (id === 'onnxruntime' ? import('onnxruntime-node') : import('@tensorflow/tfjs')));
  if (id === 'tfjs') {
    const tf = mod as { enableProdMode(): void; setBackend(name: string): Promise<boolean>; ready(): Promise<void> };
    // Production mode keeps tfjs from printing its advice to install tfjs-node on first use; the CPU backend is the reference one, the same everywhere.
    tf.enableProdMode();
    await tf.setBackend('cpu');
    await tf.ready();
  }
  return mod;
}

/** A runtime package's module; RuntimeMissing, saying what to install, when it is not installed. Exported for its test. */
export async function importPackage(name: string, load: () => Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    return (await load()) as Record<string, unknown>;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new TensorsafeError('RuntimeMissing', `${name} is not installed: npm install ${name} (the behaviour check runs the models in it; tensorsafe does not depend on it)`, { cause: e });
    }
    throw new TensorsafeError('RuntimeFailed', `${name} could not be loaded: ${runtimeMessage(e)}`, { cause: e });
  }
}
