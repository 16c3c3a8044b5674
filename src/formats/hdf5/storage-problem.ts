import { FormatProblem } from '../../io/format-problem.js';

/**
 * A dataset stored in a way this reader does not decode (a filter other than deflate, shuffle and
 * fletcher32; a virtual layout): the file may be fine. A FormatProblem, so every caller that handles
 * those handles this; `feature` names what is missing (`filter lzf (32000)`, `virtual layout`).
 */
export class UnsupportedStorage extends FormatProblem {
  constructor(
    message: string,
    readonly feature: string,
    offset?: number,
  ) {
    super(message, offset, 'malformed');
    this.name = 'UnsupportedStorage';
  }
}
