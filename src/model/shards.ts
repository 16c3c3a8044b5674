import { TensorsafeError } from '../errors.js';
import type { OpenedFile } from './open-source.js';
import { baseName } from './open-source.js';

/**
 * Every tensor a sharded set's index lists is in the file it names, and every file holds only what
 * the index puts in it: a shard that disagrees with its index would load as another model.
 */
export function checkShards(index: string, weightMap: ReadonlyMap<string, string>, opened: readonly OpenedFile[]): void {
  const byFile = new Map(opened.map((o) => [baseName(o.file), new Set(o.tensors.tensors.map((t) => t.name))]));
  for (const [tensor, file] of weightMap) {
    if (!byFile.get(baseName(file))?.has(tensor)) {
      throw new TensorsafeError('ShardMismatch', `${index}: the index puts tensor \`${tensor}\` in ${file}, which does not contain it`, { location: file });
    }
  }
  for (const [file, names] of byFile) {
    for (const tensor of names) {
      const listed = weightMap.get(tensor);
      if (listed === undefined || baseName(listed) !== file) {
        throw new TensorsafeError('ShardMismatch', `${index}: ${file} contains tensor \`${tensor}\`, which the index ${listed === undefined ? 'does not list' : `puts in ${listed}`}`, { location: file });
      }
    }
  }
}
