import { describe, expect, it } from 'vitest';
import { entriesFromMetadata, entriesFromSidecar, GGUF_TYPES_KEY, ggufTypeName, parseGgufType, valueFromString, valueToString } from '../src/tensor/gguf-metadata.js';

/** The GGUF metadata convention shared by the GGUF reader and writer (src/tensor/gguf-metadata.ts). */
describe('GGUF metadata in safetensors', () => {
  it('type names parse and print back', () => {
    for (const name of ['UINT8', 'INT64', 'FLOAT32', 'BOOL', 'STRING', 'ARRAY[INT32]', 'ARRAY[ARRAY[STRING]]']) expect(ggufTypeName(parseGgufType(name)!)).toBe(name);
    for (const name of ['ARRAY', 'ARRAY[]', 'UINT128', 'array[INT32]', 'ARRAY[ARRAY]']) expect(parseGgufType(name)).toBeUndefined();
  });

  it('values survive string and back, 64-bit integers exactly', () => {
    const cases: [string, string, unknown][] = [
      ['UINT64', '18446744073709551615', 18446744073709551615n],
      ['INT64', '-9223372036854775808', -9223372036854775808n],
      ['INT8', '-128', -128],
      ['FLOAT32', '0.10000000149011612', Math.fround(0.1)],
      ['FLOAT64', '0.1', 0.1],
      ['BOOL', 'true', true],
      ['ARRAY[UINT64]', '["18446744073709551615",1]', [18446744073709551615n, 1n]],
      ['ARRAY[ARRAY[STRING]]', '[["a"],[]]', [['a'], []]],
    ];
    for (const [type, text, value] of cases) {
      const v = valueFromString('k', parseGgufType(type)!, text);
      expect([type, v]).toEqual([type, value]);
      expect(valueFromString('k', parseGgufType(type)!, valueToString(v))).toEqual(value);
    }
  });

  it('a value not of its type is refused, naming the key', () => {
    const bad: [string, string, RegExp][] = [
      ['UINT8', '256', /`k`: 256 is out of UINT8's range/],
      ['INT32', '1.5', /not an integer/],
      ['BOOL', '1', /not true or false/],
      ['FLOAT32', 'abc', /not a number/],
      ['ARRAY[INT32]', '{"a":1}', /not a JSON array/],
      ['ARRAY[STRING]', '[1]', /not a JSON string/],
    ];
    for (const [type, text, message] of bad) expect(() => valueFromString('k', parseGgufType(type)!, text)).toThrow(message);
  });

  it('keys without a listed type are STRINGs; a listed type that is no GGUF type is refused', () => {
    expect(entriesFromMetadata({ a: '7', b: '7', [GGUF_TYPES_KEY]: '{"a":"UINT16"}' })).toEqual([
      { key: 'a', type: 'UINT16', value: 7 },
      { key: 'b', type: 'STRING', value: '7' },
    ]);
    expect(() => entriesFromMetadata({ a: '7', [GGUF_TYPES_KEY]: '{"a":"U16"}' })).toThrow(/gives it the type "U16"/);
    expect(() => entriesFromMetadata({ [GGUF_TYPES_KEY]: '[1]' })).toThrow(/gguf\.types/);
  });

  it('the sidecar: its format and version are checked', () => {
    expect(entriesFromSidecar('{"format":"tensorsafe-gguf-metadata","version":1,"keys":{"t":{"type":"ARRAY[STRING]","value":["a"]}}}', 's.json')).toEqual([{ key: 't', type: { array: 'STRING' }, value: ['a'] }]);
    expect(() => entriesFromSidecar('{"format":"other","version":1,"keys":{}}', 's.json')).toThrow(/s\.json: not a tensorsafe-gguf-metadata version 1 file/);
    expect(() => entriesFromSidecar('{"format":"tensorsafe-gguf-metadata","version":1,"keys":{"t":{"value":1}}}', 's.json')).toThrow(/key `t` has no valid GGUF "type"/);
  });
});
