import { describe, expect, it } from 'vitest';
import { grouped } from '../src/cli/output.js';

describe('cli output', () => {
  it('grouped writes numbers as toLocaleString("en-US") does', () => {
    const values = [0, 1, -1, 12, 999, 1000, -1000, 12345, 999999, 1000000, 1234567, -7654321, 2 ** 31, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2 ** 60, 1.5, 1234.5678];
    for (let k = 0; k < 16; k++) values.push(10 ** k, 10 ** k - 1, 3 * 10 ** k + 7);
    for (const n of values) expect([n, grouped(n)]).toEqual([n, n.toLocaleString('en-US')]);
  });
});
