import { limitExceeded, malformed } from '../../io/format-problem.js';

/**
 * Raw Snappy (google/snappy format_description.txt), the compression LevelDB tables may use for a
 * block: a varint of the uncompressed length, then literals and back-references. The output is
 * exactly the declared length, never more than `max` bytes; every length and offset is checked against
 * the input and the output so far. `at` is the block's offset in its file, for messages.
 */
export function unsnappy(input: Uint8Array, max: number, limitName: string, at: number): Uint8Array {
  let pos = 0;
  let length = 0;
  for (let shift = 0; ; shift += 7) {
    if (pos >= input.length || shift > 28) throw malformed('a Snappy block whose length varint is cut short or longer than 5 bytes', at);
    const b = input[pos++]!;
    length += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) break;
  }
  if (length > max) throw limitExceeded(`a Snappy block declares ${length} bytes, more than ${limitName} (${max})`, at);
  const out = new Uint8Array(length);
  let o = 0;
  const need = (n: number): void => {
    if (pos + n > input.length) throw malformed('a Snappy block ends inside an element', at + pos);
  };
  while (pos < input.length) {
    const tag = input[pos++]!;
    const kind = tag & 3;
    if (kind === 0) {
      let n = tag >>> 2;
      if (n >= 60) {
        const bytes = n - 59;
        need(bytes);
        n = 0;
        for (let i = 0; i < bytes; i++) n += input[pos + i]! * 2 ** (8 * i);
        pos += bytes;
      }
      n += 1;
      need(n);
      if (o + n > length) throw malformed(`a Snappy literal writes past the declared ${length} bytes`, at + pos);
      out.set(input.subarray(pos, pos + n), o);
      pos += n;
      o += n;
      continue;
    }
    let n: number;
    let offset: number;
    if (kind === 1) {
      need(1);
      n = 4 + ((tag >>> 2) & 7);
      offset = ((tag >>> 5) << 8) | input[pos]!;
      pos += 1;
    } else if (kind === 2) {
      need(2);
      n = 1 + (tag >>> 2);
      offset = input[pos]! | (input[pos + 1]! << 8);
      pos += 2;
    } else {
      need(4);
      n = 1 + (tag >>> 2);
      offset = (input[pos]! | (input[pos + 1]! << 8) | (input[pos + 2]! << 16) | (input[pos + 3]! << 24)) >>> 0;
      pos += 4;
    }
    if (offset === 0 || offset > o) throw malformed(`a Snappy copy reaches ${offset} bytes back, before the start of the output (at ${o})`, at + pos);
    if (o + n > length) throw malformed(`a Snappy copy writes past the declared ${length} bytes`, at + pos);
    if (offset >= n) out.copyWithin(o, o - offset, o - offset + n);
    else for (let i = 0; i < n; i++) out[o + i] = out[o + i - offset]!;
    o += n;
  }
  if (o !== length) throw malformed(`a Snappy block holds ${o} bytes, not the ${length} it declares`, at);
  return out;
}
