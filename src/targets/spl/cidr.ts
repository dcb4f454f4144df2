/**
 * CIDR leaves as PCRE patterns over the address text. Splunk's own CIDR matching (`F="10.0.0.0/8"`,
 * `cidrmatch`) does not document which address spellings it accepts (leading zeros, zones, spaces),
 * while docs/semantics.md fixes them: IPv4 is a dotted quad without leading zeros, IPv6 is RFC 4291
 * text (1-4 hex digits per group, one `::`, an optional dotted-quad tail, a `%zone` ignored). A
 * pattern says exactly that, for every value of a multivalue field (`mvfind`).
 */
import { parseIp } from '../../runtime/ip.js';

/** Alternatives matching the decimal integers lo..hi written without leading zeros. */
export function intRange(lo: number, hi: number): string[] {
  const out: string[] = [];
  const digits = (n: number): number => String(n).length;
  for (let len = digits(lo); len <= digits(hi); len++) {
    const a = Math.max(lo, len === 1 ? 0 : 10 ** (len - 1));
    const b = Math.min(hi, 10 ** len - 1);
    if (a <= b) out.push(...sameLength(String(a), String(b), decClass, '[0-9]'));
  }
  return out;
}

function decClass(a: number, b: number): string {
  if (a === b) return String(a);
  if (a === 0 && b === 9) return '[0-9]';
  return `[${a}-${b}]`;
}

const HEX = '0123456789abcdef';

function hexClass(a: number, b: number): string {
  if (a === b) {
    const c = HEX[a]!;
    return a < 10 ? c : `[${c}${c.toUpperCase()}]`;
  }
  if (a === 0 && b === 15) return '[0-9A-Fa-f]';
  let body = '';
  const dLo = a;
  const dHi = Math.min(b, 9);
  if (dLo <= dHi) body += dLo === dHi ? HEX[dLo] : `${HEX[dLo]}-${HEX[dHi]}`;
  const lLo = Math.max(a, 10);
  if (lLo <= b) {
    const l = HEX[lLo]!;
    const h = HEX[b]!;
    body += lLo === b ? l + l.toUpperCase() : `${l}-${h}${l.toUpperCase()}-${h.toUpperCase()}`;
  }
  return `[${body}]`;
}

/**
 * Alternatives for the digit strings of equal length between `a` and `b` (inclusive), digit by
 * digit: a common first digit, else the lower edge, the full middle, the upper edge.
 */
function sameLength(a: string, b: string, cls: (x: number, y: number) => string, any: string, base = 10): string[] {
  if (a === b) return [[...a].map((d) => cls(parseInt(d, base), parseInt(d, base))).join('')];
  const rest = a.length - 1;
  const a0 = parseInt(a[0]!, base);
  const b0 = parseInt(b[0]!, base);
  if (a0 === b0) return sameLength(a.slice(1), b.slice(1), cls, any, base).map((s) => cls(a0, a0) + s);
  const top = (base - 1).toString(base);
  const lowFull = /^0*$/.test(a.slice(1));
  const highFull = new RegExp(`^${top}*$`).test(b.slice(1));
  const tail = rest === 0 ? '' : rest === 1 ? any : `${any}{${rest}}`;
  const out: string[] = [];
  if (!lowFull) out.push(...sameLength(a.slice(1), top.repeat(rest), cls, any, base).map((s) => cls(a0, a0) + s));
  const from = lowFull ? a0 : a0 + 1;
  const to = highFull ? b0 : b0 - 1;
  if (from <= to) out.push(cls(from, to) + tail);
  if (!highFull) out.push(...sameLength('0'.repeat(rest), b.slice(1), cls, any, base).map((s) => cls(b0, b0) + s));
  return out;
}

function alt(parts: string[]): string {
  return parts.length === 1 ? parts[0]! : `(?:${parts.join('|')})`;
}

const OCTET = alt(intRange(0, 255));

function octets(lo: number, hi: number): string {
  return lo === 0 && hi === 255 ? OCTET : alt(intRange(lo, hi));
}

/** Hex group text (1-4 digits, leading zeros allowed, either case) for values lo..hi. */
function hexGroup(lo: number, hi: number): string {
  if (lo === 0 && hi === 0xffff) return '[0-9A-Fa-f]{1,4}';
  if (lo === hi) {
    const digits = lo.toString(16);
    const body = [...digits].map((d) => hexClass(parseInt(d, 16), parseInt(d, 16))).join('');
    const pad = 4 - digits.length;
    if (lo === 0) return '0{1,4}';
    return pad === 0 ? body : `0{0,${pad}}${body}`;
  }
  const out: string[] = [];
  for (let k = 1; k <= 4; k++) {
    const max = 16 ** k - 1;
    if (lo > max) continue;
    const a = lo.toString(16).padStart(k, '0');
    const b = Math.min(hi, max).toString(16).padStart(k, '0');
    out.push(...sameLength(a, b, hexClass, '[0-9A-Fa-f]', 16));
  }
  return alt(out);
}

/** A dotted-quad pair `o1.o2` whose 16-bit value (o1 << 8 | o2) lies in lo..hi. */
function quadPair(lo: number, hi: number): string {
  const h1 = lo >> 8;
  const h2 = hi >> 8;
  if (h1 === h2) return `${octets(h1, h1)}\\.${octets(lo & 255, hi & 255)}`;
  const out: string[] = [];
  out.push(`${octets(h1, h1)}\\.${octets(lo & 255, 255)}`);
  if (h1 + 1 <= h2 - 1) out.push(`${octets(h1 + 1, h2 - 1)}\\.${OCTET}`);
  out.push(`${octets(h2, h2)}\\.${octets(0, hi & 255)}`);
  return alt(out);
}

/** The value range each of `n` groups of `bits` bits may take under the prefix. */
function groupRanges(bytes: Uint8Array, prefix: number, bits: number): [number, number][] {
  const n = (bytes.length * 8) / bits;
  const out: [number, number][] = [];
  for (let g = 0; g < n; g++) {
    let v = 0;
    for (let k = 0; k < bits / 8; k++) v = (v << 8) | bytes[(g * bits) / 8 + k]!;
    const covered = Math.max(0, Math.min(bits, prefix - g * bits));
    const free = bits - covered;
    const lo = covered === 0 ? 0 : (v >>> free) << free;
    const hi = lo + 2 ** free - 1;
    out.push([lo, hi]);
  }
  return out;
}

function ipv4Pattern(bytes: Uint8Array, prefix: number): string {
  return groupRanges(bytes, prefix, 8)
    .map(([lo, hi]) => octets(lo, hi))
    .join('\\.');
}

const ANY_GROUP = '[0-9A-Fa-f]{1,4}';
const ANY_QUAD = `${OCTET}(?:\\.${OCTET}){3}`;

/**
 * IPv6 text whose address lies in the network. Groups 0..K-1 are constrained by the prefix, the
 * rest are free; `::` may replace any run of zero groups (constrained groups only when zero is in
 * their range); the last two groups may be written as a dotted quad.
 */
function ipv6Pattern(bytes: Uint8Array, prefix: number): string {
  const r = groupRanges(bytes, prefix, 16);
  const K = Math.ceil(prefix / 16);
  const H = (g: number): string => (g >= K ? ANY_GROUP : hexGroup(r[g]![0], r[g]![1]));
  const zeroOk = (g: number): boolean => g >= K || r[g]![0] === 0;
  const quad = (): string => (K <= 6 ? ANY_QUAD : `${quadPair(r[6]![0], r[6]![1])}\\.${quadPair(r[7]![0], r[7]![1])}`);
  const join = (from: number, to: number): string => {
    const parts: string[] = [];
    let g = from;
    for (; g < to && g < K; g++) parts.push(H(g));
    const free = to - g;
    if (free === 1) parts.push(ANY_GROUP);
    else if (free > 1) parts.push(`${ANY_GROUP}(?::${ANY_GROUP}){${free - 1}}`);
    return parts.join(':');
  };
  /** Groups `from`..7 written out, as hex or with the dotted-quad tail. */
  const explicitTail = (from: number): string[] => {
    const out: string[] = [];
    if (from <= 7) out.push(join(from, 8));
    if (from <= 6) out.push(from === 6 ? quad() : `${join(from, 6)}:${quad()}`);
    return out;
  };
  const forms: string[] = [];
  // No `::`.
  forms.push(...explicitTail(0));
  // `::` replacing groups l..j-1 (l < j), with every group in the run allowed to be zero.
  for (let l = 0; l <= 7; l++) {
    if (!zeroOk(l)) continue;
    const left = join(0, l);
    // Past K every group is free: gather the right-hand sides of all j >= max(l+1, K) in one pattern.
    const firstFree = Math.max(l + 1, K);
    let allZero = true;
    for (let g = l; g < firstFree && g < 8; g++) if (!zeroOk(g)) allZero = false;
    for (let j = l + 1; j < firstFree && j <= 8; j++) {
      let ok = true;
      for (let g = l; g < j; g++) if (!zeroOk(g)) ok = false;
      if (!ok) break;
      for (const right of j === 8 ? [''] : explicitTail(j)) forms.push(`${left}::${right}`);
    }
    if (allZero && firstFree <= 8) {
      // j in firstFree..8: 8-j free groups (0 .. 8-firstFree), possibly ending in a free quad.
      const maxGroups = 8 - firstFree;
      const rights: string[] = [];
      if (maxGroups >= 1) rights.push(`${ANY_GROUP}(?::${ANY_GROUP}){0,${maxGroups - 1}}`);
      if (maxGroups >= 2 && K <= 6) rights.push(`(?:${ANY_GROUP}:){0,${maxGroups - 2}}${ANY_QUAD}`);
      forms.push(`${left}::${rights.length ? `(?:${rights.join('|')})?` : ''}`);
    }
  }
  return alt([...new Set(forms)]);
}

export interface CidrNet {
  family: 4 | 6;
  network: string;
  prefix: number;
}

const patterns = new Map<string, { body: string; dotAll: boolean }>();

/** A PCRE body (to be anchored by the caller with `^`) for the address texts in the network. */
export function cidrPattern(net: CidrNet): { body: string; dotAll: boolean } {
  const key = `${net.family} ${net.network}/${net.prefix}`;
  let hit = patterns.get(key);
  if (!hit) patterns.set(key, (hit = cidrPatternUncached(net)));
  return hit;
}

function cidrPatternUncached(net: CidrNet): { body: string; dotAll: boolean } {
  const bytes = parseIp(net.network);
  if (!bytes) throw new Error(`bad network ${net.network}`);
  if (net.family === 4) return { body: `${ipv4Pattern(bytes, net.prefix)}\\z`, dotAll: false };
  // The zone (`%...`) is ignored: any text after the first `%`.
  return { body: `${ipv6Pattern(bytes, net.prefix)}(?:%.*)?\\z`, dotAll: true };
}
