import { isTensorsafeError } from '../../errors.js';
import type { ByteSource } from '../../io/byte-source.js';
import type { ScanContext } from '../findings.js';
import type { ContainerRules, ContainerView, ParsedModel } from '../format.js';
import type { TorchCheckpoint } from './checkpoint.js';
import { DATA_PKL } from './format.js';

/**
 * PyTorch's scan rules. The scanner walks the containers torch.load reads (zip and tar archives,
 * stacked pickles) and analyses every pickle in them whatever the format; these rules say what a
 * checkpoint's container means: where torch finds its pickle, which entries are raw storage records,
 * that a TorchScript archive carries code, and, after the walk, the checkpoint reader's own reading of
 * the structure as a second opinion (sizes, views, trailing data).
 *
 * Rules: `torchscript/code`, `pytorch/invalid` (suspicious); `pytorch/unsafe-global` (dangerous).
 */

/** The legacy torch format's first pickle: a literal MAGIC_NUMBER. */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
/** Pickles the legacy format stacks after its magic number: protocol version, sys_info, the object, the storage keys. */
const LEGACY_FOLLOWING_PICKLES = 4;

export function torchContainerRules(container: ContainerView): ContainerRules<TorchCheckpoint> | undefined {
  if (container.kind === 'pickle') {
    // Then raw storage data, never unpickled.
    return container.firstValue === LEGACY_MAGIC ? { label: 'pytorch-legacy', followingPickles: LEGACY_FOLLOWING_PICKLES, after: checkTorchStructure } : undefined;
  }
  if (container.kind === 'tar') {
    const names = new Set(container.entries);
    return names.has('pickle') && names.has('storages') ? { label: 'pytorch-tar', after: checkTorchStructure } : undefined;
  }
  return zipRules(container.entries);
}

/**
 * A torch zip: torch finds its pickle at `<first entry's folder>/data.pkl`; an archive may hold several
 * data.pkl it could pick (all are analysed by the walk, none taken for a storage record).
 */
function zipRules(names: readonly string[]): ContainerRules<TorchCheckpoint> | undefined {
  const prefixes = [...new Set(names.filter((n) => DATA_PKL.test(n)).map((n) => n.slice(0, n.length - 'data.pkl'.length)))];
  if (prefixes.length === 0) return undefined;
  const torchscript = prefixes.some((p) => names.some((n) => n === `${p}constants.pkl` || n.startsWith(`${p}code/`)));
  return {
    label: torchscript ? 'torchscript' : 'pytorch-zip',
    before: torchscript
      ? (ctx, location) => {
          const code = names.filter((n) => prefixes.some((p) => n.startsWith(`${p}code/`)));
          ctx.report({
            severity: 'suspicious',
            rule: 'torchscript/code',
            message: `a TorchScript archive with ${code.length} code file(s) (${code.slice(0, 3).join(', ')}${code.length > 3 ? ', …' : ''}): torch.jit.load runs that code; torch.load refuses it with weights_only`,
            location,
          });
        }
      : undefined,
    expected: torchscript ? (q) => q.startsWith('__torch__.') || q.startsWith('torch.jit._pickle.') : undefined,
    // Storage records are raw tensor bytes that no loader unpickles.
    rawRecord: (n) => prefixes.some((p) => n.startsWith(`${p}data/`) || n.startsWith(`${p}.data/`) || n.startsWith(`${p}code/`)),
    after: checkTorchStructure,
  };
}

/**
 * The converter's own reader as a second opinion on a torch container's structure (sizes, views,
 * trailing data). Given the checkpoint an open() of this source already read, that reading is the
 * opinion: it succeeded (strictly, or with unknown objects kept as placeholders, which this check
 * allows too), so there is nothing to report and nothing is parsed again.
 */
export async function checkTorchStructure(source: ByteSource, ctx: ScanContext, parsed?: ParsedModel<TorchCheckpoint>): Promise<void> {
  // The checkpoint reader, loaded on the first check: a scan that meets no checkpoint (a bare pickle) does not load it.
  const { isTorchCheckpoint, readTorchCheckpoint } = await import('./checkpoint.js');
  if (isTorchCheckpoint(parsed?.structure)) return;
  try {
    await readTorchCheckpoint(source, { skipUnknown: true });
  } catch (e) {
    if (!isTensorsafeError(e)) throw e;
    if (e.code === 'UnsafeGlobal') {
      // Reported by the analysis already, unless the converter's reader reached a pickle it did not.
      if (ctx.hasDangerous?.() ?? true) return;
      ctx.report({ severity: 'dangerous', rule: 'pytorch/unsafe-global', message: `torch.load would import a dangerous global: ${e.message}`, location: e.location ?? source.name });
      return;
    }
    ctx.report({ severity: 'suspicious', rule: 'pytorch/invalid', message: `torch.load would not read this checkpoint as it is (${e.code}): ${e.message}`, location: e.location ?? source.name });
  }
}
