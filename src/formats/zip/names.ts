/** Entry-name decoding (UTF-8 under flag 0x800, IBM code page 437 otherwise) and the unsafe-name rules. */

/** Code page 437's upper half, 0x80..0xFF, as Python's `cp437` codec decodes it (0x00..0x7F are ASCII). */
const CP437_HIGH =
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐' +
  '└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0';

/** Decodes IBM code page 437, the zip format's default name encoding. */
export function decodeCp437(bytes: Uint8Array): string {
  let ascii = true;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i]! >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return String.fromCharCode.apply(null, Array.from(bytes));
  let s = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    s += b < 0x80 ? String.fromCharCode(b) : CP437_HIGH[b - 0x80]!;
  }
  return s;
}

const utf8Fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Lossy = new TextDecoder('utf-8', { ignoreBOM: true });

/** General-purpose flag bit 11: the name and comment are UTF-8. */
export const FLAG_UTF8 = 0x800;

/** An entry name as the zip format defines it; `valid` is false for invalid UTF-8 under flag 0x800 (decoded with U+FFFD). */
export function decodeName(bytes: Uint8Array, flags: number): { name: string; valid: boolean } {
  if (!(flags & FLAG_UTF8)) return { name: decodeCp437(bytes), valid: true };
  try {
    return { name: utf8Fatal.decode(bytes), valid: true };
  } catch {
    return { name: utf8Lossy.decode(bytes), valid: false };
  }
}

/** Text with no declared encoding (the archive comment): UTF-8 when it is valid UTF-8, CP437 otherwise. */
export function decodeText(bytes: Uint8Array): string {
  try {
    return utf8Fatal.decode(bytes);
  } catch {
    return decodeCp437(bytes);
  }
}

/**
 * Why a name is unsafe to hand to anything that maps names to paths, or undefined when it is fine:
 * empty, NUL, backslash, absolute (`/x`, `C:x`), or a `..` segment (zip slip).
 */
export function unsafeNameReason(name: string): string | undefined {
  if (name.length === 0) return 'the name is empty';
  if (name.includes('\0')) return 'the name contains a NUL character';
  if (name.includes('\\')) return 'the name contains a backslash';
  if (name.startsWith('/')) return 'the name is an absolute path';
  if (/^[A-Za-z]:/.test(name)) return 'the name starts with a drive letter';
  if (name.split('/').includes('..')) return 'the name has a ".." segment';
  return undefined;
}
