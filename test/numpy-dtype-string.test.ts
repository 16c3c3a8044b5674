import { describe, expect, it } from 'vitest';
import { dtypeOf } from '../src/formats/numpy/dtype.js';
import { LiteralError } from '../src/formats/numpy/py-literal.js';

// Found by test/scan-formats-fuzz.test.ts: a comma-form descr whose brackets do not balance kept its
// comma inside one "field" equal to the whole string, and dtypeString recursed until the stack overflowed.
describe('NumPy descr strings in the comma form', () => {
  for (const descr of ['),(', ')<f4,(', '],[', '(,']) {
    it(`${JSON.stringify(descr)} is refused as a malformed dtype, not a stack overflow`, () => {
      expect(() => dtypeOf({ kind: 'str', value: descr })).toThrow(LiteralError);
    });
  }

  it('a nesting deeper than MAX_NPY_LITERAL_DEPTH is refused', () => {
    expect(() => dtypeOf({ kind: 'str', value: '(1,)'.repeat(5000) + '<f4,<f4' })).toThrow(LiteralError);
  });

  it('a real comma-form descr still reads', () => {
    expect(dtypeOf({ kind: 'str', value: '<f4,(2,3)<i2' })).toMatchObject({ kind: 'structured', itemsize: 16n });
  });
});
