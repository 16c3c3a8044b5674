import { IntegrityError, type IntegrityErrorCode } from './errors.js';

/** Standard base64 (with padding) of bytes; btoa is in every browser and in Node ≥ 16. */
export function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.byteLength; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict standard base64 (padding required, no whitespace); anything else is an error with `code`. */
export function fromBase64(text: string, code: IntegrityErrorCode, what: string): Uint8Array {
  if (!BASE64.test(text)) throw new IntegrityError(code, `${what} is not base64`);
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** Lower-case hexadecimal of bytes. */
export { toHex } from './sha256.js';

/** Constant-content byte equality (not constant-time: only public values are compared). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
