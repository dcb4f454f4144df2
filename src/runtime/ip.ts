/**
 * IP address parsing for CIDR matching. Shared by the compiler (validating `cidr` values) and the
 * evaluator (matching event values); imports nothing so generated code can inline it.
 */

/** 4 or 16 bytes, or undefined when the text is not an address. */
export function parseIp(text: string): Uint8Array | undefined {
  return text.includes(':') ? parseIpv6(text) : parseIpv4(text);
}

export function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

export function parseIpv6(text: string): Uint8Array | undefined {
  let s = text;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  let tail: Uint8Array | undefined;
  const lastColon = s.lastIndexOf(':');
  if (s.slice(lastColon + 1).includes('.')) {
    tail = parseIpv4(s.slice(lastColon + 1));
    if (!tail) return undefined;
    s = s.slice(0, lastColon + 1) + '0:0';
  }
  const dbl = s.indexOf('::');
  if (dbl !== s.lastIndexOf('::')) return undefined;
  const head = dbl >= 0 ? s.slice(0, dbl) : s;
  const rest = dbl >= 0 ? s.slice(dbl + 2) : '';
  const hs = head === '' ? [] : head.split(':');
  const rs = rest === '' ? [] : rest.split(':');
  const groups = dbl >= 0 ? hs.length + rs.length : hs.length;
  if (dbl < 0 && groups !== 8) return undefined;
  if (dbl >= 0 && groups > 7) return undefined;
  const all = [...hs, ...new Array<string>(8 - groups).fill('0'), ...rs];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const g = all[i]!;
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    const n = parseInt(g, 16);
    out[2 * i] = n >> 8;
    out[2 * i + 1] = n & 0xff;
  }
  if (tail) out.set(tail, 12);
  return out;
}

/** True when the first `prefix` bits of `addr` equal those of `network` (same family). */
export function inNetwork(addr: Uint8Array, network: Uint8Array, prefix: number): boolean {
  if (addr.length !== network.length) return false;
  let bits = prefix;
  for (let i = 0; i < addr.length && bits > 0; i++) {
    const take = bits >= 8 ? 8 : bits;
    const mask = (0xff << (8 - take)) & 0xff;
    if ((addr[i]! & mask) !== (network[i]! & mask)) return false;
    bits -= take;
  }
  return true;
}

export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  // Compress the longest run of zero groups (RFC 5952).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return hex.slice(0, best).join(':') + '::' + hex.slice(best + bestLen).join(':');
}

export function maskNetwork(bytes: Uint8Array, prefix: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let bits = prefix;
  for (let i = 0; i < out.length; i++) {
    const take = Math.max(0, Math.min(8, bits));
    out[i] = out[i]! & ((0xff << (8 - take)) & 0xff);
    bits -= 8;
  }
  return out;
}
