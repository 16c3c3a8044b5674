import type { ByteSource } from '../../io/byte-source.js';
import { unpickle, type CallContext } from '../pickle/machine.js';
import { asInt, describe, PyGlobal, PyTuple, type PyValue } from '../pickle/values.js';
import { openZip, type ZipArchive, type ZipEntry } from '../zip/index.js';
import type { ReadCheckpointOptions, TorchCheckpoint, TorchScriptParts } from './checkpoint.js';
import { storageDtype } from './dtypes.js';
import { CheckpointError } from './errors.js';
import { TORCH_HANDLERS, torchHandlerFor } from './globals.js';
import { MODULE_CLASSES } from './modules.js';
import { codeRecordOf, MAX_SCRIPT_CODE_BYTES, readClassDeclarations, type ScriptClass } from './script-classes.js';
import { TorchStorage } from './values.js';

/** Largest data.pkl (or TorchScript constants.pkl) read into memory: the pickle holds structure only, tensor bytes are elsewhere. */
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

  if (dataPkl.size > MAX_DATA_PKL_BYTES) {
    throw new CheckpointError('InvalidCheckpoint', `${source.name}: ${dataPkl.name} is ${dataPkl.size} bytes, more than ${MAX_DATA_PKL_BYTES}`, { location: dataPkl.name });
  }
  const storageReader = (dir: string): { persistentLoad: (pid: PyValue, ctx: CallContext) => PyValue; locate: () => Promise<void> } => {
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
      const entry = zip.get(`${prefix}${dir}/${key}`);
      if (!entry) return ctx.fail('InvalidPickle', `storage ${key} has no record ${prefix}${dir}/${key} in the archive`);
      // torch ≥ 2.10 checks this too (CVE-2026-24747): a storage must be exactly as large as its record.
      if (numel * dtype.size !== entry.size) {
        return ctx.fail('InvalidPickle', `storage ${key} declares ${numel} × ${dtype.size} bytes but its record ${entry.name} holds ${entry.size}`);
      }
      const storage = new TorchStorage(dir === 'data' ? key : `${dir}/${key}`, dtype, numel, typeof location === 'string' ? location : 'cpu', bigEndian);
      storages.set(key, { storage, entry });
      return storage;
    };
    const locate = async (): Promise<void> => {
      for (const { storage, entry } of storages.values()) storage.source = await entry.source();
    };
    return { persistentLoad, locate };
  };
  const data = storageReader('data');
  const result = unpickle(await dataPkl.read(), {
    where: `${source.name}:${dataPkl.name}`,
    handlers: TORCH_HANDLERS,
    handlerFor: torchHandlerFor(torchscript),
    adoptClasses: MODULE_CLASSES,
    persistentLoad: data.persistentLoad,
    skipUnknown: options.skipUnknown,
  });
  await data.locate();
  const placeholders = [...result.placeholders];
  const globals = new Set(result.globals);
  let script: TorchScriptParts | undefined;
  if (torchscript) {
    // TorchScript keeps the tensors its code uses (all the weights, once frozen) in constants.pkl, storages under constants/.
    let constants: PyValue | undefined;
    const constantsPkl = zip.get(`${prefix}constants.pkl`);
    if (constantsPkl) {
      if (constantsPkl.size > MAX_DATA_PKL_BYTES) {
        throw new CheckpointError('InvalidCheckpoint', `${source.name}: ${constantsPkl.name} is ${constantsPkl.size} bytes, more than ${MAX_DATA_PKL_BYTES}`, { location: constantsPkl.name });
      }
      const records = storageReader('constants');
      const read = unpickle(await constantsPkl.read(), {
        where: `${source.name}:${constantsPkl.name}`,
        handlers: TORCH_HANDLERS,
        handlerFor: torchHandlerFor(true),
        adoptClasses: MODULE_CLASSES,
        persistentLoad: records.persistentLoad,
        skipUnknown: options.skipUnknown,
      });
      await records.locate();
      constants = read.value;
      placeholders.push(...read.placeholders);
      for (const g of read.globals) globals.add(g);
    }
    script = { constants, classes: await readScriptClasses(source.name, zip, prefix, globals) };
  }
  return {
    format: torchscript ? 'torchscript' : 'pytorch-zip',
    root: result.value,
    placeholders,
    globals,
    notes,
    ...(script ? { script } : {}),
  };
}

/**
 * The declarations of the `__torch__.*` classes the pickles name, from their code/ records read as
 * text (script-classes.ts): at most MAX_SCRIPT_CODE_BYTES in all. A class whose record is missing is
 * simply not declared.
 */
async function readScriptClasses(file: string, zip: ZipArchive, prefix: string, globals: ReadonlySet<string>): Promise<Map<string, ScriptClass>> {
  const classes = new Map<string, ScriptClass>();
  const modules = new Set<string>();
  for (const g of globals) if (g.startsWith('__torch__.')) modules.add(g.slice(0, g.lastIndexOf('.')));
  let bytes = 0;
  const decoder = new TextDecoder('utf-8', { fatal: false });
  for (const m of modules) {
    const entry = zip.get(`${prefix}${codeRecordOf(m)}`);
    if (!entry) continue;
    bytes += entry.size;
    if (bytes > MAX_SCRIPT_CODE_BYTES) {
      throw new CheckpointError('CheckpointLimit', `${file}: the code/ records declaring the archive's classes are larger than ${MAX_SCRIPT_CODE_BYTES} bytes together (MAX_SCRIPT_CODE_BYTES), at ${entry.name}`, {
        location: `${file}:${entry.name}`,
      });
    }
    readClassDeclarations(decoder.decode(await entry.read()), m, classes);
  }
  return classes;
}
