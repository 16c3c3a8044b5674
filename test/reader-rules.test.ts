import { describe, expect, it } from 'vitest';
import { load } from '../src/safetensors/load.js';
import { SafetensorError } from '../src/errors.js';
import { craft, entry } from './helpers/craft.js';

/** The outcome of load(): the tensor count or the error code. */
function verdict(bytes: Uint8Array): number | string {
  try {
    return load(bytes).size;
  } catch (e) {
    if (e instanceof SafetensorError) return e.code;
    throw e;
  }
}

const U8_4 = entry('U8', [4], 0, 4);

// Cases of the reference conformance matrix (specs/safetensors-ref.md §1.10 and §6.1).
const cases: [string, Uint8Array, number | string][] = [
  ['{} + 6 spaces', craft('{}      '), 0],
  ['leading spaces', craft('  {}    '), 0],
  ['tab/newline/cr around', craft('\t\n{}\r '), 0],
  ['{}\\r \\t\\n', craft('{}\r \t\n'), 0],
  ['NUL padding', craft('{}\0\0\0\0\0\0'), 'InvalidHeaderDeserialization'],
  ['BOM', craft('\ufeff{}'), 'InvalidHeaderDeserialization'],
  ['empty header', craft(''), 'InvalidHeaderDeserialization'],
  ['null header', craft('null'), 'InvalidHeaderDeserialization'],
  ['array header', craft('[]'), 'InvalidHeaderDeserialization'],
  ['string header', craft('"x"'), 'InvalidHeaderDeserialization'],
  ['metadata only', craft('{"__metadata__":{"k":"v"}}'), 0],
  ['metadata null', craft(`{"__metadata__":null,"a":${U8_4}}`, 4), 1],
  ['metadata empty', craft(`{"__metadata__":{},"a":${U8_4}}`, 4), 1],
  ['metadata duplicated', craft('{"__metadata__":{},"__metadata__":{}}'), 'InvalidHeaderDeserialization'],
  ['metadata key via escapes is metadata', craft('{"\\u005f_metadata__":{"a":"b"},"__metadata__":{}}'), 'InvalidHeaderDeserialization'],
  ['metadata inner key duplicated (tensorsafe rejects)', craft('{"__metadata__":{"k":"v","k":"w"}}'), 'InvalidHeaderDeserialization'],
  ['metadata value int', craft('{"__metadata__":{"k":1}}'), 'InvalidHeaderDeserialization'],
  ['metadata value object', craft('{"__metadata__":{"k":{}}}'), 'InvalidHeaderDeserialization'],
  ['metadata value null', craft('{"__metadata__":{"k":null}}'), 'InvalidHeaderDeserialization'],
  ['metadata array', craft('{"__metadata__":["k"]}'), 'InvalidHeaderDeserialization'],
  ['metadata string', craft('{"__metadata__":"k"}'), 'InvalidHeaderDeserialization'],
  ['tensor duplicated, same offsets (tensorsafe rejects)', craft(`{"a":${U8_4},"a":${U8_4}}`, 4), 'InvalidHeaderDeserialization'],
  ['tensor duplicated, different (tensorsafe rejects)', craft(`{"a":${entry('F32', [2], 0, 8)},"a":${U8_4}}`, 4), 'InvalidHeaderDeserialization'],
  ['tensor duplicated via escape', craft(`{"a":${U8_4},"\\u0061":${U8_4}}`, 4), 'InvalidHeaderDeserialization'],
  ['unknown field ignored', craft(`{"a":{"dtype":"U8","extra":123,"shape":[4],"data_offsets":[0,4]}}`, 4), 1],
  ['unknown field with nested values', craft(`{"a":{"x":{"y":[1,-2.5e3,true,false,null,"s"]},"dtype":"U8","shape":[4],"data_offsets":[0,4]}}`, 4), 1],
  ['unknown field invalid JSON', craft(`{"a":{"x":tru,"dtype":"U8","shape":[4],"data_offsets":[0,4]}}`, 4), 'InvalidHeaderDeserialization'],
  ['unknown field number out of range', craft(`{"a":{"x":1e400,"dtype":"U8","shape":[4],"data_offsets":[0,4]}}`, 4), 'InvalidHeaderDeserialization'],
  ['unknown field duplicated', craft(`{"a":{"x":1,"x":2,"dtype":"U8","shape":[4],"data_offsets":[0,4]}}`, 4), 'InvalidHeaderDeserialization'],
  ['dtype duplicated', craft(`{"a":{"dtype":"U8","dtype":"U8","shape":[4],"data_offsets":[0,4]}}`, 4), 'InvalidHeaderDeserialization'],
  ['shape duplicated', craft(`{"a":{"dtype":"U8","shape":[4],"shape":[4],"data_offsets":[0,4]}}`, 4), 'InvalidHeaderDeserialization'],
  ['missing dtype', craft(`{"a":{"shape":[4],"data_offsets":[0,4]}}`, 4), 'InvalidHeaderDeserialization'],
  ['missing data_offsets', craft(`{"a":{"dtype":"U8","shape":[4]}}`, 4), 'InvalidHeaderDeserialization'],
  ['tensor is a number', craft('{"x":5}'), 'InvalidHeaderDeserialization'],
  ['tensor is null', craft('{"x":null}'), 'InvalidHeaderDeserialization'],
  ['shape 4.0', craft(`{"a":${entry('U8', ['4.0'], 0, 4)}}`, 4), 'InvalidHeaderDeserialization'],
  ['shape 4e0', craft(`{"a":${entry('U8', ['4e0'], 0, 4)}}`, 4), 'InvalidHeaderDeserialization'],
  ['shape -0', craft(`{"a":${entry('U8', ['-0'], 0, 0)}}`), 'InvalidHeaderDeserialization'],
  ['shape -4', craft(`{"a":${entry('U8', ['-4'], 0, 4)}}`, 4), 'InvalidHeaderDeserialization'],
  ['shape "4"', craft(`{"a":${entry('U8', ['"4"'], 0, 4)}}`, 4), 'InvalidHeaderDeserialization'],
  ['shape 04', craft(`{"a":${entry('U8', ['04'], 0, 4)}}`, 4), 'InvalidHeaderDeserialization'],
  ['shape NaN', craft(`{"a":${entry('U8', ['NaN'], 0, 4)}}`, 4), 'InvalidHeaderDeserialization'],
  ['shape null', craft(`{"a":{"dtype":"U8","shape":null,"data_offsets":[0,4]}}`, 4), 'InvalidHeaderDeserialization'],
  ['shape trailing comma', craft(`{"a":{"dtype":"U8","shape":[4,],"data_offsets":[0,4]}}`, 4), 'InvalidHeaderDeserialization'],
  ['offsets arity 3', craft(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4,8]}}`, 4), 'InvalidHeaderDeserialization'],
  ['offsets arity 1', craft(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[4]}}`, 4), 'InvalidHeaderDeserialization'],
  ['offsets object', craft(`{"a":{"dtype":"U8","shape":[4],"data_offsets":{"0":0,"1":4}}}`, 4), 'InvalidHeaderDeserialization'],
  ['offset float', craft(`{"a":${entry('U8', [4], 0, '4.0')}}`, 4), 'InvalidHeaderDeserialization'],
  ['dtype lower case', craft(`{"a":${entry('u8', [4], 0, 4)}}`, 4), 'InvalidHeaderDeserialization'],
  ['dtype unknown', craft(`{"a":${entry('F128', [4], 0, 4)}}`, 4), 'InvalidHeaderDeserialization'],
  ['dtype null', craft(`{"a":{"dtype":null,"shape":[4],"data_offsets":[0,4]}}`, 4), 'InvalidHeaderDeserialization'],
  ['hole at start', craft(`{"a":${entry('U8', [4], 4, 8)}}`, 8), 'InvalidOffset'],
  ['gap between', craft(`{"a":${entry('U8', [4], 0, 4)},"b":${entry('U8', [4], 8, 12)}}`, 12), 'InvalidOffset'],
  ['overlap', craft(`{"a":${entry('U8', [4], 0, 4)},"b":${entry('U8', [4], 2, 6)}}`, 6), 'InvalidOffset'],
  ['reversed', craft(`{"a":${entry('U8', [4], 4, 0)}}`, 4), 'InvalidOffset'],
  ['zero-size pair plus real', craft(`{"z1":${entry('F32', [0], 0, 0)},"z2":${entry('U8', [2, 0], 0, 0)},"a":${U8_4}}`, 4), 3],
  ['zero-size after', craft(`{"a":${U8_4},"z":${entry('U8', [0], 4, 4)}}`, 4), 2],
  ['zero-size past end', craft(`{"a":${U8_4},"z":${entry('U8', [0], 8, 8)}}`, 4), 'InvalidOffset'],
  ['1 trailing byte', craft(`{"a":${U8_4}}`, 5), 'MetadataIncompleteBuffer'],
  ['1 missing byte', craft(`{"a":${U8_4}}`, 3), 'MetadataIncompleteBuffer'],
  ['F32 [4] in 4 bytes', craft(`{"a":${entry('F32', [4], 0, 4)}}`, 4), 'TensorInvalidInfo'],
  ['F4 [3]', craft(`{"a":${entry('F4', [3], 0, 2)}}`, 2), 'MisalignedSlice'],
  ['F4 [4] in 2 bytes', craft(`{"a":${entry('F4', [4], 0, 2)}}`, 2), 1],
  ['F6_E2M3 [4] in 3 bytes', craft(`{"a":${entry('F6_E2M3', [4], 0, 3)}}`, 3), 1],
  ['F6_E3M2 [2]', craft(`{"a":${entry('F6_E3M2', [2], 0, 2)}}`, 2), 'MisalignedSlice'],
  ['F64 scalar', craft(`{"a":${entry('F64', [], 0, 8)}}`, 8), 1],
  ['shape [2^32,2^32]', craft(`{"a":${entry('U8', [2 ** 32, 2 ** 32], 0, 4)}}`, 4), 'ValidationOverflow'],
  ['shape [0,2^32,2^32] is fine', craft(`{"a":${entry('U8', [0, 2 ** 32, 2 ** 32], 0, 0)}}`), 1],
  ['shape [2^32,2^32,0] overflows first', craft(`{"a":${entry('U8', [2 ** 32, 2 ** 32, 0], 0, 0)}}`), 'ValidationOverflow'],
  ['shape [2^64-1, 0] is fine', craft(`{"a":${entry('U8', ['18446744073709551615', 0], 0, 0)}}`), 1],
  ['shape [2^64]', craft(`{"a":${entry('U8', ['18446744073709551616'], 0, 4)}}`, 4), 'InvalidHeaderDeserialization'],
  ['shape [2^64-1] with huge offsets', craft(`{"a":${entry('U8', ['18446744073709551615'], 0, '18446744073709551615')}}`), 'ValidationOverflow'],
  ['U8 [2^61-1] fits u64 bits, file too short', craft(`{"a":${entry('U8', ['2305843009213693951'], 0, '2305843009213693951')}}`), 'MetadataIncompleteBuffer'],
  ['8 tensors summing past 2^64 (the reference wraps)', craft(`{${Array.from({ length: 8 }, (_, i) => `"t${i}":${entry('U8', [(2n ** 61n - 1n).toString()], ((2n ** 61n - 1n) * BigInt(i)).toString(), ((2n ** 61n - 1n) * BigInt(i + 1)).toString())}`).join(',')}}`), 'MetadataIncompleteBuffer'],
  ['shape [2^64-1] F32', craft(`{"a":${entry('F32', ['18446744073709551615'], 0, '18446744073709551615')}}`), 'ValidationOverflow'],
  ['I32 [2, 2^64-2]', craft(`{"test":${entry('I32', [2, '18446744073709551614'], 0, 16)}}`, 16), 'ValidationOverflow'],
  ['I32 [2, 2^63-1]', craft(`{"test":${entry('I32', [2, '9223372036854775807'], 0, 16)}}`, 16), 'ValidationOverflow'],
  ['nbits overflow only', craft(`{"a":${entry('F64', ['2305843009213693952'], 0, 0)}}`), 'ValidationOverflow'],
  ['offsets past 2^53 exact', craft(`{"a":${entry('U8', ['9007199254740993'], '0', '9007199254740993')}}`), 'MetadataIncompleteBuffer'],
  ['offsets off by one past 2^53', craft(`{"a":${entry('U8', ['9007199254740993'], '0', '9007199254740992')}}`), 'TensorInvalidInfo'],
  ['names "" and __proto__ and é', craft(`{"":${entry('U8', [1], 0, 1)},"__proto__":${entry('U8', [1], 1, 2)},"\\u00e9":${entry('U8', [1], 2, 3)}}`, 3), 3],
  ['name "__metadata__ " is a tensor', craft(`{"__metadata__ ":${U8_4}}`, 4), 1],
  ['escaped surrogate pair', craft(`{"\\ud83d\\ude00":${U8_4}}`, 4), 1],
  ['lone leading surrogate', craft(`{"\\ud800":${U8_4}}`, 4), 'InvalidHeaderDeserialization'],
  ['lone trailing surrogate', craft(`{"\\udc00":${U8_4}}`, 4), 'InvalidHeaderDeserialization'],
  ['leading surrogate + non-surrogate escape', craft(`{"\\ud800\\u0041":${U8_4}}`, 4), 'InvalidHeaderDeserialization'],
  ['raw control char in key', craft(`{"a\u0001":${U8_4}}`, 4), 'InvalidHeaderDeserialization'],
  ['raw DEL in key is fine', craft(`{"a\u007f":${U8_4}}`, 4), 1],
  ['invalid escape', craft(`{"a\\x":${U8_4}}`, 4), 'InvalidHeaderDeserialization'],
  ['short unicode escape', craft(`{"a\\u12":${U8_4}}`, 4), 'InvalidHeaderDeserialization'],
  ['comment', craft(`{/*c*/"a":${U8_4}}`, 4), 'InvalidHeaderDeserialization'],
  ['trailing comma', craft(`{"a":${U8_4},}`, 4), 'InvalidHeaderDeserialization'],
  ['trailing characters', craft(`{"a":${U8_4}}x`, 4), 'InvalidHeaderDeserialization'],
  ['two objects', craft(`{}{}`), 'InvalidHeaderDeserialization'],
  ['unterminated', craft(`{"a":${U8_4}`, 4), 'InvalidHeaderDeserialization'],
  ['single quote', craft(`{'a':${U8_4}}`, 4), 'InvalidHeaderDeserialization'],
  ['deeply nested ignored value', craft(`{"a":{"x":${'['.repeat(200)}${']'.repeat(200)},"dtype":"U8","shape":[4],"data_offsets":[0,4]}}`, 4), 'InvalidHeaderDeserialization'],
  ['nested ignored value under the limit', craft(`{"a":{"x":${'['.repeat(100)}${']'.repeat(100)},"dtype":"U8","shape":[4],"data_offsets":[0,4]}}`, 4), 1],
  ['invalid UTF-8', craft(new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])), 'InvalidHeader'],
  ['overlong UTF-8', craft(new Uint8Array([0x7b, 0x22, 0xc0, 0xaf, 0x22, 0x3a, 0x31, 0x7d])), 'InvalidHeader'],
  ['UTF-8 surrogate', craft(new Uint8Array([0x7b, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x3a, 0x31, 0x7d])), 'InvalidHeader'],
  ['N = 100,000,001', craft('{}', 0, { declaredLength: 100_000_001n }), 'HeaderTooLarge'],
  ['N = 2^63', craft('{}', 0, { declaredLength: 2n ** 63n }), 'HeaderTooLarge'],
  ['N past the end', craft('{}', 0, { declaredLength: 100n }), 'InvalidHeaderLength'],
  ['7-byte file', new Uint8Array(7), 'HeaderTooSmall'],
  ['empty file', new Uint8Array(0), 'HeaderTooSmall'],
  ['8 zero bytes', new Uint8Array(8), 'InvalidHeaderDeserialization'],
  ['{ after length 1', craft('{'), 'InvalidHeaderDeserialization'],
  ['0xff header', craft(new Uint8Array([0xff])), 'InvalidHeader'],
];

describe('reader rules, as the reference decides them', () => {
  it.each(cases)('%s', (_name, bytes, expected) => {
    expect(verdict(bytes)).toBe(expected);
  });

  it('keeps metadata, including "__proto__" as an own key', async () => {
    const { loadHeader } = await import('../src/safetensors/load.js');
    const f = loadHeader(craft('{"__metadata__":{"__proto__":"x","format":"pt"}}'));
    const m = f.metadata()!;
    expect(Object.keys(m).sort()).toEqual(['__proto__', 'format']);
    expect(Object.getPrototypeOf(m)).toBe(Object.prototype);
    expect(m['format']).toBe('pt');
  });

  it('error messages name the tensor and the bytes', () => {
    try {
      load(craft(`{"a":${entry('U8', [4], 0, 4)},"b":${entry('U8', [4], 8, 12)}}`, 12));
      expect.unreachable();
    } catch (e) {
      expect((e as SafetensorError).message).toContain('`b`');
      expect((e as SafetensorError).message).toContain('4..8');
    }
    try {
      load(craft(`{"a":${entry('U8', [4], 0, 4)}}`, 9));
      expect.unreachable();
    } catch (e) {
      expect((e as SafetensorError).message).toMatch(/5 trailing byte/);
    }
  });

  it('reads tensors in file order whatever the header order', () => {
    const bytes = craft(`{"b":${entry('U8', [2], 2, 4)},"a":${entry('U8', [2], 0, 2)}}`, 4);
    bytes.set([1, 2, 3, 4], bytes.length - 4);
    const t = load(bytes);
    expect([...t.keys()]).toEqual(['a', 'b']);
    expect([...t.get('a')!.data]).toEqual([1, 2]);
    expect([...t.get('b')!.data]).toEqual([3, 4]);
  });
});
