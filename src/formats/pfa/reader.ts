import type { ByteSource } from '../../io/byte-source.js';
import { float64Tensor } from '../../tensor/memory-tensor.js';
import type { FormatReader, ParsedModel } from '../format.js';
import { checkPfaTop, extractCells, type PfaCells } from './cells.js';
import { parsePfaText } from './document.js';
import { PfaError } from './errors.js';
import { MAX_PFA_BYTES } from './limits.js';
import { scanPfa } from './scan-rules.js';
import { describePfa } from './view.js';

/**
 * PFA documents (Portable Format for Analytics, dmg.org/pfa), JSON or YAML, as TensorSets: the numbers of
 * their `cells` and `pools` (cells.ts says how values become tensors and names). The document's `action`,
 * `begin`, `end`, `fcns` and the rest are code for a PFA engine: read as data for the scan, never run.
 */

export interface PfaStructure {
  readonly syntax: 'json' | 'yaml';
  readonly top: Readonly<Record<string, unknown>>;
  readonly cells: PfaCells;
  readonly tags: readonly string[];
}

/** The text of a source of at most MAX_PFA_BYTES (UTF-8; a byte that is not is refused with its offset). */
export async function readPfaText(source: ByteSource): Promise<string> {
  const file = source.name;
  if (source.size > MAX_PFA_BYTES) throw new PfaError('PfaLimit', `${file}: the document is ${source.size} bytes, more than MAX_PFA_BYTES (${MAX_PFA_BYTES})`, { location: file });
  const bytes = await source.read(0, source.size);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new PfaError('InvalidPfa', `${file}: the document is not UTF-8 text`, { location: file });
  }
}

export const pfaReader: FormatReader<PfaStructure> = {
  async open(source: ByteSource): Promise<ParsedModel<PfaStructure>> {
    const file = source.name;
    const parsed = parsePfaText(await readPfaText(source), file);
    const top = checkPfaTop(parsed.value, file);
    const cells = extractCells(top, file);
    if (cells.tensors.length === 0) {
      throw new PfaError('NoTensors', `${file}: no cell or pool holds numbers (${cells.cells.length} cells, ${cells.pools.length} pools): nothing to convert`, { location: file });
    }
    return {
      tensors: {
        format: 'pfa',
        tensors: cells.tensors.map((t) => float64Tensor(t.name, t.shape, t.values)),
        leftOut: cells.leftOut,
        notes: [`the numbers of cells and pools as float64, read from their ${parsed.syntax === 'json' ? 'JSON' : 'YAML'} text as Python's float() reads it; the action and functions are not run`],
        close: async () => {
          await source.close?.();
        },
      },
      structure: { syntax: parsed.syntax, top, cells, tags: parsed.tags },
    };
  },

  async scan(source, ctx, parsed) {
    await scanPfa(source, ctx, parsed?.structure);
  },

  describe: (parsed) => describePfa(parsed.structure),
};
