import * as fs from 'node:fs';
import * as path from 'node:path';
import { IoError } from '../errors.js';
import { parseShardIndex } from '../safetensors/sharded.js';
import { fileError } from './file-source.js';
import { checkNotShadowed } from './open-path.js';

/** Checkpoint extensions of single-file PyTorch models. */
export const CHECKPOINT_EXTENSIONS = ['.bin', '.pt', '.pth', '.ckpt', '.pkl', '.pickle'];
/** Files of a training folder that are not the model. */
export const NOT_MODELS = /^(optimizer|scheduler|rng_state.*|training_args|trainer_state)\.(pt|pth|bin)$/;

/** A model on disk: its kind, its files (shards in order) and, when sharded, its index. */
export interface ModelFiles {
  kind: 'safetensors' | 'pytorch';
  files: string[];
  /** Tensor name → shard file name, for a sharded model. */
  weightMap: ReadonlyMap<string, string> | undefined;
  index: string | undefined;
}

/**
 * What a path names: a checkpoint or safetensors file, a sharded set's index, or a model folder (an
 * index, or a single model file: pytorch_model.bin or the one checkpoint, or the one safetensors file;
 * `prefer` says which kind wins in a folder that holds both, as after a conversion).
 */
export function findModel(target: string, prefer: 'safetensors' | 'pytorch' = 'safetensors'): ModelFiles {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(target);
  } catch (cause) {
    throw fileError(target, cause);
  }
  if (stat.isDirectory()) {
    const entries = fs.readdirSync(target).sort();
    checkNotShadowed(target, entries);
    const stIndex = entries.find((e) => e.endsWith('.safetensors.index.json'));
    const ptIndex = entries.find((e) => e.endsWith('.bin.index.json') || e.endsWith('.pt.index.json'));
    const safetensors = entries.filter((e) => e.endsWith('.safetensors'));
    const checkpoints = entries.filter((e) => CHECKPOINT_EXTENSIONS.some((x) => e.toLowerCase().endsWith(x)) && !NOT_MODELS.test(e));
    const chosen = checkpoints.includes('pytorch_model.bin') ? 'pytorch_model.bin' : checkpoints.length === 1 ? checkpoints[0] : undefined;
    const st = stIndex ? fromIndex(path.join(target, stIndex)) : safetensors.length === 1 ? single('safetensors', path.join(target, safetensors[0]!)) : undefined;
    const pt = ptIndex ? fromIndex(path.join(target, ptIndex)) : chosen ? single('pytorch', path.join(target, chosen)) : undefined;
    const model = prefer === 'safetensors' ? (st ?? pt) : (pt ?? st);
    if (model) return model;
    const found = [...safetensors, ...checkpoints];
    throw found.length === 0
      ? new IoError('NotFound', `${target} holds no model (.safetensors, .bin, .pt, .pth, .ckpt)`, { location: target })
      : new IoError('AmbiguousModel', `${target} holds several models (${found.join(', ')}); name the one to use`, { location: target });
  }
  if (target.endsWith('.index.json')) return fromIndex(target);
  return { kind: target.endsWith('.safetensors') || looksLikeSafetensors(target) ? 'safetensors' : 'pytorch', files: [target], weightMap: undefined, index: undefined };
}

function single(kind: ModelFiles['kind'], file: string): ModelFiles {
  return { kind, files: [file], weightMap: undefined, index: undefined };
}

/** A sharded set: its shards in name order (model-00001-of-…, model-00002-of-…). */
function fromIndex(indexPath: string): ModelFiles {
  const index = parseShardIndex(fs.readFileSync(indexPath, 'utf8'), indexPath);
  const dir = path.dirname(indexPath);
  const names = [...new Set(index.weightMap.values())].sort();
  const kind = names.every((n) => n.endsWith('.safetensors')) ? 'safetensors' : 'pytorch';
  return { kind, files: names.map((f) => path.join(dir, f)), weightMap: index.weightMap, index: indexPath };
}

/** The first bytes of a safetensors file: a length, then `{` (after optional spaces). */
function looksLikeSafetensors(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(16);
    const n = fs.readSync(fd, head, 0, 16, 0);
    return n >= 9 && head.readBigUInt64LE(0) < BigInt(fs.fstatSync(fd).size) && head.subarray(8, n).toString('latin1').trimStart().startsWith('{');
  } finally {
    fs.closeSync(fd);
  }
}
