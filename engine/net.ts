/** Address arithmetic: CIDR ranges and management hosts (zone separation, managementNetworks). */
import { isIPv4, isIPv6 } from 'node:net';

/** First and last address of a block, as integers (numbers for IPv4, which is cheaper; bigints for IPv6). */
export type Range = { family: 4; start: number; end: number } | { family: 6; start: bigint; end: bigint };

function ipv4ToNum(s: string): number | null {
  if (!isIPv4(s)) return null;
  let v = 0;
  for (const part of s.split('.')) v = v * 256 + Number(part);
  return v;
}

function ipv4ToBig(s: string): bigint | null {
  const n = ipv4ToNum(s);
  return n === null ? null : BigInt(n);
}

function ipv6ToBig(s: string): bigint | null {
  if (!isIPv6(s)) return null;
  let text = s.toLowerCase();
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  // Embedded IPv4 (::ffff:10.0.0.1) -> two hextets.
  const v4 = text.match(/(\d+\.\d+\.\d+\.\d+)$/);
  if (v4) {
    const n = ipv4ToBig(v4[1]);
    if (n === null) return null;
    text = text.slice(0, -v4[1].length) + ((n >> 16n) & 0xffffn).toString(16) + ':' + (n & 0xffffn).toString(16);
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, null];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = tail === null ? 0 : 8 - h.length - t.length;
  const parts = [...h, ...Array(fill).fill('0'), ...t];
  if (parts.length !== 8) return null;
  let v = 0n;
  for (const p of parts) v = (v << 16n) | BigInt(parseInt(p || '0', 16));
  return v;
}

/** Parse `10.1.0.0/16` or `2001:db8::/48`; host bits are ignored. Null if not a CIDR. */
export function parseCidr(text: unknown): Range | null {
  if (typeof text !== 'string') return null;
  const m = text.trim().match(/^([^/\s]+)\/(\d{1,3})$/);
  if (!m) return null;
  const bits = Number(m[2]);
  const v4 = ipv4ToNum(m[1]);
  if (v4 !== null) {
    if (bits > 32) return null;
    const size = 2 ** (32 - bits);
    const start = v4 - (v4 % size);
    return { family: 4, start, end: start + size - 1 };
  }
  const addr = ipv6ToBig(m[1]);
  if (addr === null || bits > 128) return null;
  const mask = (1n << BigInt(128 - bits)) - 1n;
  const start = addr & ~mask;
  return { family: 6, start, end: start | mask };
}

/** A management host in comparable form: lower case, no brackets, IPv6 expanded. */
export function normalizeHost(host: unknown): string | null {
  if (typeof host !== 'string') return null;
  let h = host.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.endsWith('.')) h = h.slice(0, -1);
  if (h === '') return null;
  const v6 = ipv6ToBig(h);
  if (v6 !== null) {
    // IPv4-mapped IPv6 is the IPv4 address.
    if (v6 >> 32n === 0xffffn) return [24n, 16n, 8n, 0n].map((s) => String((v6 >> s) & 0xffn)).join('.');
    return 'v6:' + v6.toString(16);
  }
  return h;
}

/** Loopback hosts are the lab: simulators of both zones share them and differ by port. */
export function isLoopback(normalized: string): boolean {
  return normalized === 'localhost' || normalized === 'v6:1' || /^127\.\d+\.\d+\.\d+$/.test(normalized);
}
