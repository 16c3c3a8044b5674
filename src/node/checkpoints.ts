import * as path from 'node:path';
import { TensorsafeError } from '../errors.js';
import { openTorchTensorSet, type OpenTorchOptions, type TorchTensorSet } from '../formats/torch/weights.js';
import type { ScanReport } from '../formats/findings.js';
import { scanSource } from '../scan/scan.js';
import type { TensorEntry } from '../tensor/tensor-set.js';
import { FileSource } from './file-source.js';

/** A file the scanner judged dangerous: refused before anything in it was read as data. */
export class UnsafeFileError extends TensorsafeError {
  constructor(
    file: string,
    readonly report: ScanReport,
  ) {
    const dangerous = report.findings.filter((f) => f.severity === 'dangerous');
    super(
      'UnsafeFile',
      `${file} would run code when loaded, so it is not converted: ${dangerous
        .slice(0, 3)
        .map((f) => `${f.message} [${f.location}]`)
        .join('; ')}${dangerous.length > 3 ? `; and ${dangerous.length - 3} more (tensorsafe scan ${file})` : ''}`,
      { location: dangerous[0]?.location ?? file },
    );
  }
}

/**
 * Opens PyTorch checkpoint files as TensorSets, the files of a sharded set in order. Each is scanned
 * first, with the same scan as `tensorsafe scan`: a dangerous file is refused before any tensor is
 * read. On any failure every file opened so far is closed.
 */
export async function openCheckpoints(files: readonly string[], options: OpenTorchOptions = {}): Promise<TorchTensorSet[]> {
  const sets: TorchTensorSet[] = [];
  try {
    for (const file of files) {
      const source = await FileSource.open(file);
      try {
        const report = await scanSource(source, { dir: path.dirname(path.resolve(file)) });
        if (report.verdict === 'dangerous') throw new UnsafeFileError(file, report);
        sets.push(await openTorchTensorSet(source, options));
      } catch (e) {
        await source.close();
        throw e;
      }
    }
  } catch (e) {
    await Promise.all(sets.map((s) => s.close()));
    throw e;
  }
  return sets;
}

/** The entries of several checkpoint files as one list: alias keys are per file (tied weights never span files). */
export function mergedEntries(sets: readonly TorchTensorSet[]): TensorEntry[] {
  return sets.flatMap((set, i) => set.tensors.map((t) => ({ ...t, aliasKey: t.aliasKey === undefined ? undefined : `${i}/${t.aliasKey}`, chunks: t.chunks })));
}
