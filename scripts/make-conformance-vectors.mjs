#!/usr/bin/env node
// Writes the repository's own safetensors conformance vectors: small crafted files and the verdict
// the reference reader (huggingface/safetensors, Rust, 0.8) gives on each, from its documented rules:
// the byte layout (an 8-byte little-endian length N, N bytes of UTF-8 JSON, the data buffer), the
// header schema (serde_json with typed fields), the checks of `read_metadata` and `validate` in their
// order, and its error variants. Where tensorsafe deliberately differs from the reference (duplicate
// keys, which the reference partly accepts, last one winning) the verdict is tensorsafe's and the rule
// says what the reference does.
//
//   node scripts/make-conformance-vectors.mjs [OUT_DIR]     (default: test/fixtures/conformance)
//
// Deterministic: running it again writes the same bytes (test/conformance-vectors.test.ts checks
// that the committed files are this script's output, then runs the reader and the CLI over them).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.resolve(process.argv[2] ?? path.join(ROOT, 'test', 'fixtures', 'conformance'));

const enc = new TextEncoder();

/** 8-byte little-endian N (the header's length unless `declared` says otherwise), the header, then data. */
function file(header, data = 0, { declared } = {}) {
  const json = typeof header === 'string' ? enc.encode(header) : Uint8Array.from(header);
  const dataBytes = typeof data === 'number' ? Uint8Array.from({ length: data }, (_, i) => (i * 37 + 11) & 0xff) : Uint8Array.from(data);
  const out = new Uint8Array(8 + json.length + dataBytes.length);
  new DataView(out.buffer).setBigUint64(0, declared ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(dataBytes, 8 + json.length);
  return out;
}

/** A tensor entry, numbers written as given (strings let a vector spell them in any way). */
const t = (dtype, shape, begin, end) => `{"dtype":"${dtype}","shape":[${shape.join(',')}],"data_offsets":[${begin},${end}]}`;
/** Pads a header with spaces to a multiple of 8, as the reference writer does. */
const pad8 = (h) => h + ' '.repeat((8 - (Buffer.byteLength(h) % 8)) % 8);

const DTYPES = [
  ['BOOL', 8], ['F4', 4], ['F6_E2M3', 6], ['F6_E3M2', 6], ['U8', 8], ['I8', 8], ['F8_E5M2', 8], ['F8_E4M3', 8],
  ['F8_E8M0', 8], ['F8_E4M3FNUZ', 8], ['F8_E5M2FNUZ', 8], ['I16', 16], ['U16', 16], ['F16', 16], ['BF16', 16],
  ['I32', 32], ['U32', 32], ['F32', 32], ['C64', 64], ['F64', 64], ['I64', 64], ['U64', 64],
];
const U8x4 = t('U8', [4], 0, 4);
const U64_MAX = '18446744073709551615';

/** [name, bytes, verdict ('OK' or 'ERR'), tensor count or error code, the rule]. */
const vectors = [
  // --- the layout and the header length (read_metadata, steps 1 to 3)
  ['len_empty_file', new Uint8Array(0), 'ERR', 'HeaderTooSmall', 'fewer than 8 bytes: no length prefix'],
  ['len_seven_bytes', new Uint8Array(7), 'ERR', 'HeaderTooSmall', 'fewer than 8 bytes: no length prefix'],
  ['len_over_limit', file('{}', 0, { declared: 100_000_001n }), 'ERR', 'HeaderTooLarge', 'N above 100,000,000 bytes, checked before anything is read'],
  ['len_top_bit', file('{}', 0, { declared: 1n << 63n }), 'ERR', 'HeaderTooLarge', 'N of 2^63 is above the limit'],
  ['len_past_end', file('{}', 0, { declared: 64n }), 'ERR', 'InvalidHeaderLength', 'N within the limit but 8 + N past the end of the file'],
  ['len_only_prefix', file('', 0, { declared: 16n }), 'ERR', 'InvalidHeaderLength', 'a length prefix and nothing after it'],
  // --- UTF-8 (step 4)
  ['utf8_invalid_byte', file([0x7b, 0x22, 0xfe, 0x22, 0x3a, 0x30, 0x7d]), 'ERR', 'InvalidHeader', 'a header byte that is not UTF-8'],
  ['utf8_overlong', file([0x7b, 0x22, 0xc1, 0xbf, 0x22, 0x3a, 0x30, 0x7d]), 'ERR', 'InvalidHeader', 'an overlong UTF-8 sequence'],
  ['utf8_encoded_surrogate', file([0x7b, 0x22, 0xed, 0xb0, 0x80, 0x22, 0x3a, 0x30, 0x7d]), 'ERR', 'InvalidHeader', 'a surrogate encoded in UTF-8'],
  // --- the JSON text (step 5): serde_json's grammar
  ['json_empty', file(''), 'ERR', 'InvalidHeaderDeserialization', 'N = 0: no JSON value'],
  ['json_null', file('null'), 'ERR', 'InvalidHeaderDeserialization', 'the top level must be an object'],
  ['json_array', file('[]    '), 'ERR', 'InvalidHeaderDeserialization', 'the top level must be an object'],
  ['json_number', file('7'), 'ERR', 'InvalidHeaderDeserialization', 'the top level must be an object'],
  ['json_space_padding', file(pad8('{}')), 'OK', 0, 'trailing spaces pad the header (the writer pads to a multiple of 8)'],
  ['json_leading_whitespace', file('\r\n\t {}'), 'OK', 0, 'JSON whitespace is allowed before the object'],
  ['json_mixed_trailing_whitespace', file('{} \n\t\r'), 'OK', 0, 'any JSON whitespace may follow the object'],
  ['json_page_padding', file(`{"w":${U8x4}}` + ' '.repeat(4096 - 8 - `{"w":${U8x4}}`.length), 4), 'OK', 1, 'a header padded so that the data starts at 4096'],
  ['json_nul_padding', file('{}\0\0\0\0\0\0'), 'ERR', 'InvalidHeaderDeserialization', 'NUL bytes after the object are trailing characters'],
  ['json_bom', file('\ufeff{}   '), 'ERR', 'InvalidHeaderDeserialization', 'a byte-order mark is not JSON'],
  ['json_trailing_text', file(`{"w":${U8x4}}garbage`, 4), 'ERR', 'InvalidHeaderDeserialization', 'characters after the object'],
  ['json_two_objects', file('{} {}'), 'ERR', 'InvalidHeaderDeserialization', 'characters after the object'],
  ['json_line_comment', file(`{"w":${U8x4}}//c`, 4), 'ERR', 'InvalidHeaderDeserialization', 'comments are not JSON'],
  ['json_trailing_comma', file(`{"w":${U8x4},}`, 4), 'ERR', 'InvalidHeaderDeserialization', 'a trailing comma'],
  ['json_unclosed', file(`{"w":${U8x4}`, 4), 'ERR', 'InvalidHeaderDeserialization', 'the object is not closed'],
  ['json_raw_tab_in_name', file(`{"w\t":${U8x4}}`, 4), 'ERR', 'InvalidHeaderDeserialization', 'a raw control character inside a string'],
  ['json_lone_low_surrogate', file(`{"w\\udfff":${U8x4}}`, 4), 'ERR', 'InvalidHeaderDeserialization', 'an escaped lone surrogate'],
  ['json_bad_escape', file(`{"w\\q":${U8x4}}`, 4), 'ERR', 'InvalidHeaderDeserialization', 'an escape JSON does not have'],
  // --- the schema (step 5): tensor entries
  ['entry_not_object', file('{"w":[1,2]}'), 'ERR', 'InvalidHeaderDeserialization', 'a tensor entry must be an object'],
  ['entry_missing_shape', file('{"w":{"dtype":"U8","data_offsets":[0,4]}}', 4), 'ERR', 'InvalidHeaderDeserialization', 'a missing field'],
  ['entry_missing_dtype', file('{"w":{"shape":[4],"data_offsets":[0,4]}}', 4), 'ERR', 'InvalidHeaderDeserialization', 'a missing field'],
  ['entry_unknown_fields', file('{"w":{"note":{"a":[true,null,-1.5e3,"x"]},"dtype":"U8","shape":[4],"data_offsets":[0,4],"z":0}}', 4), 'OK', 1, 'unknown fields of a tensor entry are ignored'],
  ['entry_field_twice', file('{"w":{"dtype":"U8","shape":[4],"data_offsets":[0,4],"data_offsets":[0,4]}}', 4), 'ERR', 'InvalidHeaderDeserialization', 'a field of a tensor entry given twice'],
  ['dtype_mixed_case', file(`{"w":${t('Bf16', [2], 0, 4)}}`, 4), 'ERR', 'InvalidHeaderDeserialization', 'dtype names are case-sensitive'],
  ['dtype_not_in_enum', file(`{"w":${t('I4', [8], 0, 4)}}`, 4), 'ERR', 'InvalidHeaderDeserialization', 'a dtype the format does not have'],
  ['dtype_number', file('{"w":{"dtype":8,"shape":[4],"data_offsets":[0,4]}}', 4), 'ERR', 'InvalidHeaderDeserialization', 'dtype must be a string'],
  ['shape_float', file(`{"w":${t('U8', ['2.0', 2], 0, 4)}}`, 4), 'ERR', 'InvalidHeaderDeserialization', 'shape entries are unsigned integers: no fraction'],
  ['shape_exponent', file(`{"w":${t('U8', ['4E0'], 0, 4)}}`, 4), 'ERR', 'InvalidHeaderDeserialization', 'shape entries are unsigned integers: no exponent'],
  ['shape_minus_zero', file(`{"w":${t('U8', ['-0', 4], 0, 0)}}`), 'ERR', 'InvalidHeaderDeserialization', 'shape entries are unsigned integers: -0 is a float to serde_json'],
  ['shape_negative', file(`{"w":${t('U8', ['-1'], 0, 4)}}`, 4), 'ERR', 'InvalidHeaderDeserialization', 'shape entries are unsigned integers'],
  ['shape_leading_zero', file(`{"w":${t('U8', ['004'], 0, 4)}}`, 4), 'ERR', 'InvalidHeaderDeserialization', 'JSON numbers have no leading zeros'],
  ['shape_string', file(`{"w":${t('U8', ['"4"'], 0, 4)}}`, 4), 'ERR', 'InvalidHeaderDeserialization', 'shape entries are numbers, not strings'],
  ['shape_past_u64', file(`{"w":${t('U8', ['18446744073709551616'], 0, 4)}}`, 4), 'ERR', 'InvalidHeaderDeserialization', '2^64 does not fit in a u64 (serde_json reads it as a float)'],
  ['offsets_three', file('{"w":{"dtype":"U8","shape":[4],"data_offsets":[0,2,4]}}', 4), 'ERR', 'InvalidHeaderDeserialization', 'data_offsets is exactly two integers'],
  ['offsets_one', file('{"w":{"dtype":"U8","shape":[0],"data_offsets":[0]}}'), 'ERR', 'InvalidHeaderDeserialization', 'data_offsets is exactly two integers'],
  ['offsets_float', file(`{"w":${t('U8', [4], '0.0', 4)}}`, 4), 'ERR', 'InvalidHeaderDeserialization', 'offsets are unsigned integers'],
  // --- the schema: __metadata__
  ['meta_strings', file(pad8(`{"__metadata__":{"format":"pt","note":"é ∑ 😀"},"w":${U8x4}}`), 4), 'OK', 1, '__metadata__ is a map of strings to strings'],
  ['meta_only', file('{"__metadata__":{"a":"b"}}'), 'OK', 0, 'metadata and no tensors'],
  ['meta_null', file(`{"__metadata__":null,"w":${U8x4}}`, 4), 'OK', 1, '"__metadata__": null means no metadata'],
  ['meta_empty', file(`{"w":${U8x4},"__metadata__":{}}`, 4), 'OK', 1, 'empty metadata, anywhere in the object'],
  ['meta_bool_value', file('{"__metadata__":{"a":true}}'), 'ERR', 'InvalidHeaderDeserialization', 'metadata values must be strings'],
  ['meta_array_value', file('{"__metadata__":{"a":["b"]}}'), 'ERR', 'InvalidHeaderDeserialization', 'metadata values must be strings'],
  ['meta_not_map', file('{"__metadata__":7}'), 'ERR', 'InvalidHeaderDeserialization', '__metadata__ must be an object or null'],
  ['meta_twice', file('{"__metadata__":{"a":"b"},"__metadata__":{"a":"b"}}'), 'ERR', 'InvalidHeaderDeserialization', '__metadata__ given twice'],
  ['meta_escaped_name_twice', file('{"__metadata__":{},"__metad\\u0061ta__":{}}'), 'ERR', 'InvalidHeaderDeserialization', 'names compare after unescaping: this is __metadata__ twice'],
  ['meta_key_twice', file('{"__metadata__":{"a":"b","a":"c"}}'), 'ERR', 'InvalidHeaderDeserialization', 'tensorsafe differs: a metadata key given twice is refused (the reference keeps the last)'],
  ['tensor_twice_same', file(`{"w":${U8x4},"w":${U8x4}}`, 4), 'ERR', 'InvalidHeaderDeserialization', 'tensorsafe differs: a tensor given twice is refused (the reference keeps the last: 1 tensor)'],
  ['tensor_twice_last_valid', file(`{"w":${t('I32', [2], 0, 8)},"w":${U8x4}}`, 4), 'ERR', 'InvalidHeaderDeserialization', 'tensorsafe differs: the reference silently reads the second definition (U8[4])'],
  // --- names
  ['names_unusual', file(`{"":${t('U8', [1], 0, 1)},"constructor":${t('U8', [1], 1, 2)},"__proto__":${t('U8', [1], 2, 3)},"__metadata__x":${t('U8', [1], 3, 4)},"\\u00fc\\ud83d\\ude00":${t('U8', [1], 4, 5)}}`, 5), 'OK', 5, 'any string is a tensor name, escapes and surrogate pairs included'],
  ['names_raw_del', file(`{"w\u007f":${U8x4}}`, 4), 'OK', 1, 'DEL (0x7f) is not a control character to JSON'],
  // --- validate(): offsets in offset order, element counts, sizes
  ['offsets_header_order_free', file(`{"b":${t('U8', [2], 2, 4)},"a":${t('U8', [2], 0, 2)}}`, 4), 'OK', 2, 'entries may come in any order; they are sorted by offsets'],
  ['offsets_hole_first', file(`{"w":${t('U8', [2], 2, 4)}}`, 4), 'ERR', 'InvalidOffset', 'the first tensor must start at 0'],
  ['offsets_gap', file(`{"a":${t('U8', [2], 0, 2)},"b":${t('U8', [2], 3, 5)}}`, 5), 'ERR', 'InvalidOffset', 'a byte between two tensors belongs to neither'],
  ['offsets_overlap', file(`{"a":${t('U8', [4], 0, 4)},"b":${t('U8', [2], 3, 5)}}`, 5), 'ERR', 'InvalidOffset', 'two tensors share bytes'],
  ['offsets_end_before_begin', file(`{"w":${t('U8', [0], 2, 0)}}`, 2), 'ERR', 'InvalidOffset', 'end before begin'],
  ['offsets_zero_size_tensors', file(`{"e1":${t('F64', [0, 3], 0, 0)},"e2":${t('BOOL', [0], 0, 0)},"w":${U8x4},"e3":${t('I8', [5, 0], 4, 4)}}`, 4), 'OK', 4, 'tensors with no elements take no bytes and may share an offset'],
  ['offsets_zero_size_past_end', file(`{"w":${U8x4},"e":${t('U8', [0], 5, 5)}}`, 4), 'ERR', 'InvalidOffset', 'a zero-size tensor must still sit where the previous one ends'],
  ['size_wrong_for_shape', file(`{"w":${t('I16', [3], 0, 4)}}`, 4), 'ERR', 'TensorInvalidInfo', 'end - begin must be the bytes of the dtype and shape'],
  ['size_scalar', file(`{"w":${t('I32', [], 0, 4)}}`, 4), 'OK', 1, 'shape [] is a scalar: one element'],
  ['size_scalar_too_short', file(`{"w":${t('F64', [], 0, 4)}}`, 4), 'ERR', 'TensorInvalidInfo', 'a scalar F64 takes 8 bytes'],
  ['subbyte_f4_even', file(`{"w":${t('F4', [3, 2], 0, 3)}}`, 3), 'OK', 1, 'F4: two elements per byte'],
  ['subbyte_f4_odd', file(`{"w":${t('F4', [5], 0, 3)}}`, 3), 'ERR', 'MisalignedSlice', 'F4 elements must fill whole bytes'],
  ['subbyte_f6_eight', file(`{"w":${t('F6_E3M2', [8], 0, 6)}}`, 6), 'OK', 1, 'F6: four elements per three bytes'],
  ['subbyte_f6_six', file(`{"w":${t('F6_E2M3', [6], 0, 5)}}`, 5), 'ERR', 'MisalignedSlice', 'F6 elements must fill whole bytes'],
  ['overflow_elements', file(`{"w":${t('U8', [4294967296, 4294967297], 0, 4)}}`, 4), 'ERR', 'ValidationOverflow', 'the element count overflows a u64'],
  ['overflow_zero_first', file(`{"w":${t('U8', [0, 4294967296, 4294967296], 0, 0)}}`), 'OK', 1, 'the product is taken left to right: 0 first never overflows'],
  ['overflow_zero_last', file(`{"w":${t('U8', [4294967296, 4294967296, 0], 0, 0)}}`), 'ERR', 'ValidationOverflow', 'the product is taken left to right: it overflows before reaching 0'],
  ['overflow_max_then_zero', file(`{"w":${t('U8', [U64_MAX, 0], 0, 0)}}`), 'OK', 1, '2^64 - 1 fits a u64'],
  ['overflow_bits', file(`{"w":${t('I16', ['1152921504606846976'], 0, 0)}}`), 'ERR', 'ValidationOverflow', 'elements fit a u64, elements × 16 bits do not'],
  ['past_2p53_sizes', file(`{"w":${t('U8', ['9007199254740993'], 0, '9007199254740993')}}`), 'ERR', 'MetadataIncompleteBuffer', 'sizes past 2^53 are exact: the tensor is consistent, the file too short'],
  ['past_2p53_off_by_one', file(`{"w":${t('U8', ['9007199254740995'], 0, '9007199254740994')}}`), 'ERR', 'TensorInvalidInfo', 'sizes past 2^53 are exact: one byte short'],
  // --- the whole buffer (step 8)
  ['buffer_trailing_bytes', file(`{"w":${U8x4}}`, 12), 'ERR', 'MetadataIncompleteBuffer', 'bytes after the last tensor (a polyglot)'],
  ['buffer_truncated', file(`{"w":${t('F32', [2, 2], 0, 16)}}`, 15), 'ERR', 'MetadataIncompleteBuffer', 'the data ends before the last tensor does'],
  ['buffer_no_tensors_extra', file('{}', 1), 'ERR', 'MetadataIncompleteBuffer', 'no tensors, yet data bytes'],
  // --- every dtype, as the reference writer lays it out
  ...DTYPES.map(([dtype, bits]) => {
    const shape = bits < 8 ? [2, 4] : [2, 3];
    const bytes = (shape[0] * shape[1] * bits) / 8;
    return [`dtype_${dtype.toLowerCase()}`, file(pad8(`{"__metadata__":{"format":"pt"},"x":${t(dtype, shape, 0, bytes)}}`), bytes), 'OK', 1, `${dtype}: ${bits} bits per element`];
  }),
  ['dtypes_all_in_one', (() => {
    // Sorted as the writer sorts: by dtype in descending enum order, so every tensor is aligned to its element size.
    let at = 0;
    const entries = [...DTYPES].reverse().map(([dtype, bits]) => {
      const bytes = (8 * bits) / 8;
      const e = `"t_${dtype.toLowerCase()}":${t(dtype, [8], at, at + bytes)}`;
      at += bytes;
      return e;
    });
    return file(pad8(`{${entries.join(',')}}`), at);
  })(), 'OK', DTYPES.length, 'one tensor of each of the 22 dtypes'],
];

fs.mkdirSync(OUT, { recursive: true });
const names = new Set();
const lines = ['file\tverdict\tcode_or_count\trule'];
for (const [name, bytes, verdict, codeOrCount, rule] of vectors) {
  if (names.has(name)) throw new Error(`duplicate vector name ${name}`);
  names.add(name);
  const fileName = `${name}.safetensors`;
  fs.writeFileSync(path.join(OUT, fileName), bytes);
  lines.push([fileName, verdict, String(codeOrCount), rule].join('\t'));
}
fs.writeFileSync(path.join(OUT, 'expected.tsv'), lines.join('\n') + '\n');
process.stdout.write(`${vectors.length} vectors written to ${path.relative(process.cwd(), OUT) || '.'}\n`);
