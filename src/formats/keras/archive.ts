import type { ByteSource } from '../../io/byte-source.js';
import type { LeftOut } from '../../tensor/tensor-set.js';
import { decodeJsonBytes } from '../scan-rules.js';
import { MAX_KERAS_CONFIG_CHARS } from './config-rules.js';
import { KerasError } from './errors.js';

/**
 * A `.keras` archive (Keras 3, saving_lib.py): `config.json` (what is built), `metadata.json`
 * (`keras_version`, `date_saved`), the weights as `model.weights.h5` (H5IOStore) or `model.weights.npz`
 * (NpzIOStore), and `assets/`. Opened strict: an archive with two entries of one name (which one a
 * loader reads is ambiguous: corpus/formats/keras/malicious has two `model.weights.npz`) is refused by
 * the zip reader (`DuplicateName`, naming the entry), as are the zip reader's other anomalies.
 * A stored weights entry is read as a window of the archive (no copy); a deflated one is inflated into
 * memory within the zip reader's MAX_INFLATED_ENTRY_BYTES.
 */

export const CONFIG_ENTRY = 'config.json';
export const METADATA_ENTRY = 'metadata.json';
export const WEIGHTS_H5_ENTRY = 'model.weights.h5';
export const WEIGHTS_NPZ_ENTRY = 'model.weights.npz';

export interface KerasArchive {
  readonly configText: string | undefined;
  readonly metadata: { readonly kerasVersion?: string; readonly dateSaved?: string };
  readonly weights: { readonly entry: string; readonly kind: 'h5' | 'npz'; readonly source: ByteSource; readonly compressed: boolean };
  readonly leftOut: readonly LeftOut[];
}

export async function openKerasArchive(source: ByteSource): Promise<KerasArchive> {
  const { openZip } = await import('../zip/index.js');
  const zip = await openZip(source, { strict: true });
  const file = source.name;
  const text = async (name: string): Promise<string | undefined> => {
    const entry = zip.get(name);
    if (entry === undefined) return undefined;
    if (entry.size > MAX_KERAS_CONFIG_CHARS) {
      throw new KerasError('KerasLimit', `${file}:${name} is ${entry.size} bytes, more than MAX_KERAS_CONFIG_CHARS (${MAX_KERAS_CONFIG_CHARS})`, { location: `${file}:${name}` });
    }
    return decodeJsonBytes(await entry.read());
  };
  const configText = await text(CONFIG_ENTRY);
  const metadata = parseMetadata(await text(METADATA_ENTRY), `${file}:${METADATA_ENTRY}`);
  const h5 = zip.get(WEIGHTS_H5_ENTRY);
  const npz = zip.get(WEIGHTS_NPZ_ENTRY);
  const chosen = h5 ?? npz;
  if (chosen === undefined) {
    throw new KerasError('InvalidKeras', `${file}: a .keras archive with neither ${WEIGHTS_H5_ENTRY} nor ${WEIGHTS_NPZ_ENTRY} (entries: ${zip.entries.slice(0, 10).map((e) => e.name).join(', ')})`, { location: file });
  }
  const leftOut: LeftOut[] = [];
  for (const e of zip.entries) {
    if (e === chosen || e.isDirectory || e.name === CONFIG_ENTRY || e.name === METADATA_ENTRY) continue;
    leftOut.push({ path: e.name, what: e.name.startsWith('assets/') ? `an asset of ${e.size} bytes` : `an entry of ${e.size} bytes that Keras does not read as weights` });
  }
  return {
    configText,
    metadata,
    weights: { entry: chosen.name, kind: chosen === h5 ? 'h5' : 'npz', source: await chosen.source(), compressed: chosen.method !== 0 },
    leftOut,
  };
}

function parseMetadata(text: string | undefined, where: string): KerasArchive['metadata'] {
  if (text === undefined) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new KerasError('InvalidKeras', `${where}: not valid JSON (${e instanceof Error ? e.message : String(e)})`, { location: where, cause: e });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new KerasError('InvalidKeras', `${where}: not a JSON object`, { location: where });
  const o = value as Record<string, unknown>;
  return {
    ...(typeof o['keras_version'] === 'string' ? { kerasVersion: o['keras_version'] } : {}),
    ...(typeof o['date_saved'] === 'string' ? { dateSaved: o['date_saved'] } : {}),
  };
}
