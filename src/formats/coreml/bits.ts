/**
 * Sub-byte integers as Core ML packs them, unpacked to one byte each:
 *  - LSB first (MIL blobs, MILBlob SubByteTypes.cpp, and MIL immediate values,
 *    coremltools `pack_elements_into_bits`): element i's bit j is bit (i·bits + j) of the stream, bit k
 *    of the stream being bit k % 8 of byte k / 8;
 *  - MSB first (NeuralNetwork WeightParams rawValue of 1 to 7 bits, coremltools quantization_utils
 *    `_convert_array_to_nbit_quantized_bytes`): element i's most significant bit first, bits taken
 *    from each byte's most significant down.
 * Signed values (int4) are sign-extended.
 */
export function unpackBits(packed: Uint8Array, bits: number, count: number, order: 'lsb' | 'msb', signed: boolean): Uint8Array {
  const out = new Uint8Array(count);
  const mask = (1 << bits) - 1;
  const sign = 1 << (bits - 1);
  for (let i = 0, bit = 0; i < count; i++, bit += bits) {
    const byte = bit >> 3;
    const shift = bit & 7;
    // Two bytes cover any value of up to 8 bits wherever it starts.
    let v: number;
    if (order === 'lsb') {
      const word = packed[byte]! | ((packed[byte + 1] ?? 0) << 8);
      v = (word >> shift) & mask;
    } else {
      const word = (packed[byte]! << 8) | (packed[byte + 1] ?? 0);
      v = (word >> (16 - shift - bits)) & mask;
    }
    out[i] = signed && v & sign ? (v - (1 << bits)) & 0xff : v;
  }
  return out;
}
