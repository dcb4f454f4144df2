/** Globs (`*` any run, `?` one code point) as anchored or unanchored regular expressions over folded text. */
export type GlobToken = string | { wildcard: '*' | '?' };

export function escapeRegex(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}

/**
 * The `u` flag makes `.` one code point; `s` lets wildcards cross newlines. Literals must already be
 * folded by the caller when the comparison is case-insensitive.
 */
export function globRegex(tokens: readonly GlobToken[], anchored: boolean): RegExp {
  let src = '';
  for (const t of tokens) {
    if (typeof t === 'string') src += escapeRegex(t);
    else src += t.wildcard === '*' ? '.*' : '.';
  }
  return new RegExp(anchored ? `^(?:${src})$` : src, 'su');
}

/**
 * The same match as `globRegex(tokens, anchored).test(text)` without a regular expression: `*`
 * segments are placed leftmost-first (optimal when every segment has a fixed number of code
 * points), so the time is O(text x pattern) at worst and never exponential, whatever the input.
 */
export function globMatcher(tokens: readonly GlobToken[], anchored: boolean): (text: string) => boolean {
  // Segments between stars; each part is a literal or a run of `?` (a number).
  const segs: (string | number)[][] = [[]];
  for (const t of tokens) {
    const seg = segs[segs.length - 1]!;
    if (typeof t === 'string') {
      if (t === '') continue;
      const last = seg[seg.length - 1];
      if (typeof last === 'string') seg[seg.length - 1] = last + t;
      else seg.push(t);
    } else if (t.wildcard === '?') {
      const last = seg[seg.length - 1];
      if (typeof last === 'number') seg[seg.length - 1] = last + 1;
      else seg.push(1);
    } else segs.push([]);
  }
  if (!anchored) {
    segs.unshift([]);
    segs.push([]);
  }
  if (segs.length === 1) {
    const only = segs[0]!;
    return (text) => matchForward(text, 0, only) === text.length;
  }
  const first = segs[0]!;
  const last = segs[segs.length - 1]!;
  const middle = segs.slice(1, -1).filter((s) => s.length > 0);
  return (text) => {
    let pos = matchForward(text, 0, first);
    if (pos < 0) return false;
    const end = matchBackward(text, text.length, last);
    if (end < pos) return false;
    for (const seg of middle) {
      pos = findLeftmost(text, pos, end, seg);
      if (pos < 0) return false;
    }
    return true;
  };
}

function isHigh(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}
function isLow(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}
/** A position between the two halves of a surrogate pair is not a code point boundary. */
function midPair(text: string, pos: number): boolean {
  return pos > 0 && pos < text.length && isLow(text.charCodeAt(pos)) && isHigh(text.charCodeAt(pos - 1));
}

/** End of `seg` matched at `pos`, or -1. */
function matchForward(text: string, pos: number, seg: readonly (string | number)[]): number {
  for (const part of seg) {
    if (typeof part === 'string') {
      if (!text.startsWith(part, pos) || midPair(text, pos) || midPair(text, pos + part.length)) return -1;
      pos += part.length;
    } else {
      for (let k = 0; k < part; k++) {
        if (pos >= text.length) return -1;
        pos += isHigh(text.charCodeAt(pos)) && pos + 1 < text.length && isLow(text.charCodeAt(pos + 1)) ? 2 : 1;
      }
    }
  }
  return pos;
}

/** Start of `seg` matched so that it ends at `end`, or -1. */
function matchBackward(text: string, end: number, seg: readonly (string | number)[]): number {
  let pos = end;
  for (let i = seg.length - 1; i >= 0; i--) {
    const part = seg[i]!;
    if (typeof part === 'string') {
      const start = pos - part.length;
      if (start < 0 || !text.startsWith(part, start) || midPair(text, start) || midPair(text, pos)) return -1;
      pos = start;
    } else {
      for (let k = 0; k < part; k++) {
        if (pos <= 0) return -1;
        pos -= isLow(text.charCodeAt(pos - 1)) && pos >= 2 && isHigh(text.charCodeAt(pos - 2)) ? 2 : 1;
      }
    }
  }
  return pos;
}

/** End of the leftmost match of `seg` starting at or after `from` and ending by `limit`, or -1. */
function findLeftmost(text: string, from: number, limit: number, seg: readonly (string | number)[]): number {
  const head = seg[0];
  let pos = from;
  while (pos <= limit) {
    if (typeof head === 'string') {
      pos = text.indexOf(head, pos);
      if (pos < 0 || pos > limit) return -1;
    }
    if (!midPair(text, pos)) {
      const end = matchForward(text, pos, seg);
      if (end >= 0 && end <= limit) return end;
      // A later start never ends earlier, so once past the limit nothing fits.
      if (end > limit) return -1;
    }
    pos++;
  }
  return -1;
}
