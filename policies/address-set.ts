/**
 * Sets of IP addresses as sorted, disjoint intervals per family, with the
 * set algebra the firewall-separation policy needs: what part of a rule's
 * destination lies in the other zone, minus what earlier block rules
 * already cover. IPv4 and IPv6 never mix.
 */
import { isIP } from 'node:net';
import { parseCidr, type Range } from '../engine/net.js';

type Interval = [bigint, bigint];
type Family = 4 | 6;

const MAX: Record<Family, bigint> = { 4: (1n << 32n) - 1n, 6: (1n << 128n) - 1n };

function normalize(list: Interval[]): Interval[] {
  const sorted = [...list].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: Interval[] = [];
  for (const [s, e] of sorted) {
    const last = out[out.length - 1];
    if (last && s <= last[1] + 1n) {
      if (e > last[1]) last[1] = e;
    } else out.push([s, e]);
  }
  return out;
}

function subtract(a: Interval[], b: Interval[]): Interval[] {
  const out: Interval[] = [];
  for (const [s0, e] of a) {
    let s = s0;
    for (const [bs, be] of b) {
      if (be < s || bs > e) continue;
      if (bs > s) out.push([s, bs - 1n]);
      s = be + 1n;
      if (s > e) break;
    }
    if (s <= e) out.push([s, e]);
  }
  return out;
}

function intersect(a: Interval[], b: Interval[]): Interval[] {
  const out: Interval[] = [];
  for (const [as, ae] of a) {
    for (const [bs, be] of b) {
      const s = as > bs ? as : bs;
      const e = ae < be ? ae : be;
      if (s <= e) out.push([s, e]);
    }
  }
  return normalize(out);
}

export class AddressSet {
  private constructor(private readonly parts: Record<Family, Interval[]>) {}

  static empty(): AddressSet {
    return new AddressSet({ 4: [], 6: [] });
  }

  /** Every address of the given families. */
  static all(families: Family[] = [4, 6]): AddressSet {
    return new AddressSet({ 4: families.includes(4) ? [[0n, MAX[4]]] : [], 6: families.includes(6) ? [[0n, MAX[6]]] : [] });
  }

  static of(r: Range): AddressSet {
    const s = AddressSet.empty();
    s.parts[r.family].push([BigInt(r.start), BigInt(r.end)]);
    return s;
  }

  /** A network (`10.0.0.0/8`) or an address (`10.0.0.1`); null for anything else. */
  static parse(text: string): AddressSet | null {
    const family = isIP(text);
    const r = family ? parseCidr(`${text}/${family === 4 ? 32 : 128}`) : parseCidr(text);
    return r ? AddressSet.of(r) : null;
  }

  private combine(o: AddressSet, f: (a: Interval[], b: Interval[]) => Interval[]): AddressSet {
    return new AddressSet({ 4: f(this.parts[4], o.parts[4]), 6: f(this.parts[6], o.parts[6]) });
  }

  union(o: AddressSet): AddressSet {
    return this.combine(o, (a, b) => normalize([...a, ...b]));
  }

  minus(o: AddressSet): AddressSet {
    return this.combine(o, subtract);
  }

  and(o: AddressSet): AddressSet {
    return this.combine(o, intersect);
  }

  /** Only the given families. */
  families(fs: Family[]): AddressSet {
    return new AddressSet({ 4: fs.includes(4) ? this.parts[4] : [], 6: fs.includes(6) ? this.parts[6] : [] });
  }

  isEmpty(): boolean {
    return this.parts[4].length === 0 && this.parts[6].length === 0;
  }

  /** Every address of `o` is in this set. */
  covers(o: AddressSet): boolean {
    return o.minus(this).isEmpty();
  }

  /** `10.200.0.0/24`, `10.200.0.5-10.200.0.9`, ... (at most `max` pieces). */
  describe(max = 3): string {
    const pieces: string[] = [];
    for (const f of [4, 6] as Family[]) for (const [s, e] of this.parts[f]) pieces.push(rangeText(f, s, e));
    return pieces.length > max ? `${pieces.slice(0, max).join(', ')} and ${pieces.length - max} more` : pieces.join(', ');
  }
}

function addressText(f: Family, v: bigint): string {
  if (f === 4) return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 255n)).join('.');
  const hextets = Array.from({ length: 8 }, (_, i) => ((v >> BigInt(112 - 16 * i)) & 0xffffn).toString(16));
  return hextets.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

function rangeText(f: Family, s: bigint, e: bigint): string {
  const size = e - s + 1n;
  const bits = size.toString(2).length - 1;
  const width = f === 4 ? 32 : 128;
  if (1n << BigInt(bits) === size && s % size === 0n) return `${addressText(f, s)}/${width - bits}`;
  return `${addressText(f, s)}-${addressText(f, e)}`;
}
