import { describe, expect, it } from 'vitest';
import { entriesFromMetadata, entriesFromSidecar, GGUF_TYPES_KEY, ggufValueFromText, ggufValueText, isGgufTypeName } from '../src/tensor/gguf-metadata.js';

/** The GGUF metadata convention as the GGUF writer reads it back (src/tensor/gguf-metadata.ts). */
describe('GGUF metadata in safetensors, read back by the GGUF writer', () => {
  it('type names', () => {
    for (const name of ['UINT8', 'INT64', 'FLOAT32', 'BOOL', 'STRING', 'ARRAY[INT32]', 'ARRAY[ARRAY[STRING]]']) expect([name, isGgufTypeName(name)]).toEqual([name, true]);
    for (const name of ['ARRAY', 'ARRAY[]', 'UINT128', 'array[INT32]', 'ARRAY[ARRAY]']) expect([name, isGgufTypeName(name)]).toEqual([name, false]);
  });

  it('values survive text and back, 64-bit integers exactly', () => {
    const cases: [string, string, unknown][] = [
      ['UINT64', '18446744073709551615', 18446744073709551615n],
      ['INT64', '-9223372036854775808', -9223372036854775808n],
      ['INT8', '-128', -128],
      ['FLOAT32', '0.10000000149011612', Math.fround(0.1)],
      ['FLOAT64', '0.1', 0.1],
      ['BOOL', 'true', true],
      ['ARRAY[UINT64]', '["18446744073709551615","1"]', [18446744073709551615n, 1n]],
      ['ARRAY[ARRAY[STRING]]', '[["a"],[]]', [['a'], []]],
    ];
    for (const [type, text, value] of cases) {
      const v = ggufValueFromText(type, text, 'k');
      expect([type, v]).toEqual([type, value]);
      expect(ggufValueFromText(type, ggufValueText(type, v), 'k')).toEqual(value);
    }
  });

  it('a value not of its type is refused, naming the key', () => {
    const bad: [string, string, RegExp][] = [
      ['UINT8', '256', /^k: "256" is not a UINT8/],
      ['INT32', '1.5', /^k: "1.5" is not a INT32/],
      ['BOOL', '1', /^k: a BOOL is "true" or "false"/],
      ['FLOAT32', 'abc', /^k: "abc" is not a FLOAT32/],
      ['FLOAT32', '1e39', /^k: "1e39" is out of the FLOAT32 range/],
      ['FLOAT64', '1e400', /^k: "1e400" is out of the FLOAT64 range/],
      ['ARRAY[FLOAT32]', '[1, 1e39]', /^k: 1e\+39 is out of the FLOAT32 range/],
      ['ARRAY[INT32]', '{"a":1}', /^k: a ARRAY\[INT32\] value is a JSON array/],
      ['ARRAY[STRING]', '[1]', /^k: a STRING value is a JSON string/],
    ];
    for (const [type, text, message] of bad) expect(() => ggufValueFromText(type, text, 'k')).toThrow(message);
  });

  it('keys without a listed type are STRINGs; a listed type that is no GGUF type is refused', () => {
    expect(entriesFromMetadata({ a: '7', b: '7', [GGUF_TYPES_KEY]: '{"a":"UINT16"}' })).toEqual([
      { key: 'a', type: 'UINT16', value: 7 },
      { key: 'b', type: 'STRING', value: '7' },
    ]);
    expect(() => entriesFromMetadata({ a: '7', [GGUF_TYPES_KEY]: '{"a":"U16"}' })).toThrow(/gguf\.types: the type of a is not a GGUF type name/);
    expect(() => entriesFromMetadata({ [GGUF_TYPES_KEY]: '[1]' })).toThrow(/gguf\.types/);
  });

  it('the sidecar: its format and version are checked, its file named', () => {
    expect(entriesFromSidecar('{"format":"tensorsafe-gguf-metadata","version":1,"keys":{"t":{"type":"ARRAY[STRING]","value":["a"]}}}', 's.json')).toEqual([{ key: 't', type: 'ARRAY[STRING]', value: ['a'] }]);
    expect(() => entriesFromSidecar('{"format":"other","version":1,"keys":{}}', 's.json')).toThrow(/^s\.json: the GGUF metadata sidecar is not \{"format":"tensorsafe-gguf-metadata","version":1/);
    expect(() => entriesFromSidecar('{"format":"tensorsafe-gguf-metadata","version":1,"keys":{"t":{"value":1}}}', 's.json')).toThrow(/^s\.json: the sidecar's t is not \{"type"/);
  });
});
