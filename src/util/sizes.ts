import { TensorsafeError } from '../errors.js';

const UNITS: Record<string, number> = {
  '': 1,
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KIB: 2 ** 10,
  MIB: 2 ** 20,
  GIB: 2 ** 30,
  TIB: 2 ** 40,
};

/**
 * Reads a size like `5GB`, `500MB`, `2GiB` or `1000000`. Decimal units are powers of ten
 * and binary ones (KiB, MiB, GiB) powers of two, as in transformers' `max_shard_size`.
 */
export function parseSize(text: string | number): number {
  if (typeof text === 'number') {
    if (Number.isSafeInteger(text) && text > 0) return text;
  } else {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
    const unit = m ? UNITS[m[2]!.toUpperCase()] : undefined;
    if (m && unit !== undefined) {
      const value = Math.floor(Number(m[1]) * unit);
      if (value > 0 && Number.isSafeInteger(value)) return value;
    }
  }
  throw new TensorsafeError('InvalidSize', `cannot read size ${JSON.stringify(text)}: expected a positive number with an optional unit (B, KB, MB, GB, KiB, MiB, GiB), e.g. 5GB`);
}
