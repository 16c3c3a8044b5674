import { CheckpointError } from './errors.js';

/**
 * Named limits of the walks over a checkpoint's object (finding the weights and naming the tensors,
 * the module tree, summaries of what is left out), each with its threat. The object is a graph the
 * pickle built: the memo lets a few bytes share one value many times over (`L(i) = [L(i-1),
 * L(i-1)]` is 2^i paths through i lists) and nest it as deep as the file is long. Every walk is
 * iterative and marks what it has seen; what torch itself repeats (a submodule shared under two
 * names, a tensor under two keys) is counted against these limits.
 */

/** Values visited by all the walks of one checkpoint together: bounds CPU time on shared structure. */
export const MAX_CHECKPOINT_VISITS = 20_000_000;
/**
 * Names given to tensors and left-out values (a tensor shared under many keys, a submodule shared
 * many times over): bounds the size of the output's header and of the report. A real model has
 * thousands of tensors; safetensors headers are limited to 100 MB.
 */
export const MAX_CHECKPOINT_NAMES = 1_000_000;
/** Characters of all those names together: bounds memory of names a deep nesting makes long (a name per level, each longer). */
export const MAX_CHECKPOINT_NAME_CHARS = 64 * 1024 * 1024;

/** The work and the names of one checkpoint's walks, against the limits above. */
export class WalkBudget {
  visits = 0;
  names = 0;
  chars = 0;

  constructor(readonly file: string) {}

  /** One value visited (or `n` items looked at). */
  visit(n = 1): void {
    this.visits += n;
    if (this.visits > MAX_CHECKPOINT_VISITS) {
      throw new CheckpointError(
        'CheckpointLimit',
        `${this.file}: reading the checkpoint's object takes more than ${MAX_CHECKPOINT_VISITS} steps (MAX_CHECKPOINT_VISITS): values shared or nested many times over`,
        { location: this.file },
      );
    }
  }

  /** A name given to a tensor or to a left-out value. */
  name(path: string): void {
    this.names++;
    this.chars += path.length;
    if (this.names > MAX_CHECKPOINT_NAMES) {
      throw new CheckpointError('CheckpointLimit', `${this.file}: the checkpoint's object makes more than ${MAX_CHECKPOINT_NAMES} names (MAX_CHECKPOINT_NAMES), at \`${clip(path)}\``, { location: clip(path) });
    }
    if (this.chars > MAX_CHECKPOINT_NAME_CHARS) {
      throw new CheckpointError('CheckpointLimit', `${this.file}: the names in the checkpoint's object are longer than ${MAX_CHECKPOINT_NAME_CHARS} characters together (MAX_CHECKPOINT_NAME_CHARS), at \`${clip(path)}\``, {
        location: clip(path),
      });
    }
  }
}

/** A name short enough for a message. */
export function clip(path: string): string {
  return path.length > 200 ? `${path.slice(0, 100)}…${path.slice(-100)}` : path;
}
