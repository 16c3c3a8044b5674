import type { ByteSource } from '../../io/byte-source.js';
import { unpickle, type CallContext } from '../pickle/machine.js';
import { asInt, describe, PyGlobal, PyTuple, type PyValue } from '../pickle/values.js';
import { openZip, type ZipEntry } from '../zip/index.js';
import type { ReadCheckpointOptions, TorchCheckpoint } from './checkpoint.js';
import { storageDtype } from './dtypes.js';
import { CheckpointError } from './errors.js';
import { TORCH_HANDLERS, torchHandlerFor } from './globals.js';
import { MODULE_CLASSES } from './modules.js';
import { TorchStorage } from './values.js';

/** Largest data.pkl read into memory: the pickle holds structure only, tensor bytes are elsewhere. */
export const MAX_DATA_PKL_BYTES = 1 << 30;

/**
 * The zip format of torch.save (≥ 1.6) and TorchScript archives: `<prefix>/data.pkl` holds the
 * object, `<prefix>/data/<key>` the raw bytes of each storage, `<prefix>/byteorder` their order.
 */
export async function readZipCheckpoint(source: ByteSource, options: ReadCheckpointOptions): Promise<TorchCheckpoint> {
  const zip = await openZip(source, { strict: true });
  const pickles = zip.entries.filter((e) => /^[^/]+\/data\.pkl$/.test(e.name) || e.name === 'data.pkl');
  if (pickles.length !== 1) {
    throw new CheckpointError(
      'NotACheckpoint',
      pickles.length === 0
        ? `${source.name} is a zip archive without a data.pkl record: not a PyTorch checkpoint (entries: ${zip.entries.slice(0, 5).map((e) => e.name).join(', ')}${zip.entries.length > 5 ? ', …' : ''})`
        : `${source.name} has ${pickles.length} data.pkl records (${pickles.map((e) => e.name).join(', ')}); a checkpoint has one`,
      { location: source.name },
    );
  }
  const dataPkl = pickles[0]!;
  const prefix = dataPkl.name.includes('/') ? dataPkl.name.slice(0, dataPkl.name.indexOf('/') + 1) : '';
  const stray = zip.entries.find((e) => !e.name.startsWith(prefix));
  if (stray) {
    throw new CheckpointError('InvalidCheckpoint', `${source.name}: record ${stray.name} is outside the archive's folder ${prefix}; torch reads one folder`, {
      location: `${source.name}:${stray.name}`,
    });
  }
  const torchscript = zip.entries.some((e) => e.name === `${prefix}constants.pkl` || e.name.startsWith(`${prefix}code/`));
  const notes: string[] = [];
  let bigEndian = false;
  const byteorder = zip.get(`${prefix}byteorder`);
  if (byteorder) {
    const text = new TextDecoder().decode(await byteorder.read()).trim();
    if (text !== 'little' && text !== 'big') {
      throw new CheckpointError('InvalidCheckpoint', `${source.name}: byteorder record says ${JSON.stringify(text)}, not little or big`, { location: `${source.name}:${byteorder.name}` });
    }
    bigEndian = text === 'big';
    if (bigEndian) notes.push('storages are big-endian and were byte-swapped');
  }
  if (torchscript) notes.push('TorchScript archive: plain tensors extracted from data.pkl; its code/ was never read');

  if (dataPkl.size > MAX_DATA_PKL_BYTES) {
    throw new CheckpointError('InvalidCheckpoint', `${source.name}: ${dataPkl.name} is ${dataPkl.size} bytes, more than ${MAX_DATA_PKL_BYTES}`, { location: dataPkl.name });
  }
  const where = `${source.name}:${dataPkl.name}`;
  const storages = new Map<string, { storage: TorchStorage; entry: ZipEntry }>();
  const persistentLoad = (pid: PyValue, ctx: CallContext): PyValue => {
    const items = pid instanceof PyTuple ? pid.items : undefined;
    if (!items || items[0] !== 'storage' || items.length !== 5) {
      return ctx.fail('InvalidPickle', `persistent id ${describe(pid)} is not a ('storage', type, key, location, numel) tuple`);
    }
    const [, type, rawKey, location, rawNumel] = items;
    const key = typeof rawKey === 'string' ? rawKey : asInt(rawKey)?.toString();
    if (key === undefined) return ctx.fail('InvalidPickle', `storage key ${describe(rawKey)} is not a string`);
    const known = storages.get(key);
    if (known) return known.storage;
    const dtype = type instanceof PyGlobal ? storageDtype(type.qualifiedName) : undefined;
    if (!dtype) return ctx.fail('InvalidPickle', `storage type ${describe(type)} is not a torch storage class`);
    const numel = asInt(rawNumel);
    if (numel === undefined || numel < 0) return ctx.fail('InvalidPickle', `storage size ${describe(rawNumel)} is not a non-negative integer`);
    const entry = zip.get(`${prefix}data/${key}`);
    if (!entry) return ctx.fail('InvalidPickle', `storage ${key} has no record ${prefix}data/${key} in the archive`);
    // torch ≥ 2.10 checks this too (CVE-2026-24747): a storage must be exactly as large as its record.
    if (numel * dtype.size !== entry.size) {
      return ctx.fail('InvalidPickle', `storage ${key} declares ${numel} × ${dtype.size} bytes but its record ${entry.name} holds ${entry.size}`);
    }
    const storage = new TorchStorage(key, dtype, numel, typeof location === 'string' ? location : 'cpu', bigEndian);
    storages.set(key, { storage, entry });
    return storage;
  };
  const result = unpickle(await dataPkl.read(), {
    where,
    handlers: TORCH_HANDLERS,
    handlerFor: torchHandlerFor(torchscript),
    adoptClasses: MODULE_CLASSES,
    persistentLoad,
    skipUnknown: options.skipUnknown,
  });
  for (const { storage, entry } of storages.values()) storage.source = await entry.source();
  return {
    format: torchscript ? 'torchscript' : 'pytorch-zip',
    root: result.value,
    placeholders: result.placeholders,
    globals: result.globals,
    notes,
  };
}
