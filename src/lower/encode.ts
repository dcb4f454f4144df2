/**
 * Value encodings of the Sigma modifiers wide/utf16*, base64, base64offset and windash. Encoded
 * values are byte strings held as latin-1 characters (one char = one byte) until base64 turns them
 * back into text.
 */

export function utf8Bytes(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1');
}

export function utf16(s: string, variant: 'le' | 'be' | 'bom'): string {
  let out = variant === 'bom' ? '\xff\xfe' : '';
  for (let i = 0; i < s.length; i++) {
    const u = s.charCodeAt(i);
    const lo = String.fromCharCode(u & 0xff);
    const hi = String.fromCharCode(u >> 8);
    out += variant === 'be' ? hi + lo : lo + hi;
  }
  return out;
}

export function base64(bytes: string): string {
  return Buffer.from(bytes, 'latin1').toString('base64');
}

/**
 * The three encodings of `bytes` at offsets 0, 1 and 2 within a base64 stream, with the characters
 * that depend on unknown neighbouring bytes cut off (pySigma `SigmaBase64OffsetModifier`).
 */
export function base64Offsets(bytes: string): string[] {
  const start = [0, 2, 3];
  const end = [undefined, -3, -2];
  const out: string[] = [];
  for (let i = 0; i < 3; i++) {
    const enc = base64(' '.repeat(i) + bytes);
    out.push(enc.slice(start[i], end[(bytes.length + i) % 3]));
  }
  return out;
}

/** Dash-like characters Windows command lines accept for an option prefix. */
export const WINDASH_CHARS = ['-', '/', '\u2013', '\u2014', '\u2015'];
