/**
 * Switch port names and port ranges, for both CLI families.
 *
 * - IOS style: `Gi1/0/1`, `GigabitEthernet1/0/1`, ranges `Gi1/0/1-24`.
 *   The canonical id is the short form (`Gi1/0/1`), as `show interfaces
 *   switchport` and `show vlan` print it.
 * - AOS-CX style: `1/1/1`, ranges `1/1/1-1/1/48` (or `1/1/1-48`).
 *
 * A port spec is one item or a comma-separated list of items.
 */

/** IOS interface type: short prefix and the long name the running-config uses. */
const IOS_TYPES: [short: string, long: string][] = [
  ['Twe', 'TwentyFiveGigE'],
  ['Tw', 'TwoGigabitEthernet'],
  ['Fi', 'FiveGigabitEthernet'],
  ['Fa', 'FastEthernet'],
  ['Gi', 'GigabitEthernet'],
  ['Te', 'TenGigabitEthernet'],
  ['Fo', 'FortyGigabitEthernet'],
  ['Hu', 'HundredGigE'],
  ['Po', 'Port-channel'],
  ['Et', 'Ethernet'],
];

export type PortStyle = 'ios' | 'aoscx';

/** Maximum number of ports one spec may expand to (a typo like `1-4000` must not explode a plan). */
export const MAX_PORTS_PER_SPEC = 1024;

function iosType(prefix: string): [string, string] | undefined {
  const p = prefix.toLowerCase();
  // exact long name or exact short name first, then an unambiguous abbreviation of the long name
  const exact = IOS_TYPES.find(([s, l]) => s.toLowerCase() === p || l.toLowerCase() === p);
  if (exact) return exact;
  const abbrev = IOS_TYPES.filter(([, l]) => l.toLowerCase().startsWith(p));
  return abbrev.length === 1 ? abbrev[0] : undefined;
}

const IOS_NAME = /^([A-Za-z-]+)\s*(\d+(?:\/\d+)*)(\.\d+)?$/;
const AOSCX_NAME = /^(\d+)\/(\d+)\/(\d+)$/;

/** Canonical short IOS name (`GigabitEthernet1/0/1` -> `Gi1/0/1`), or undefined if not an IOS interface name. */
export function iosShortName(name: string): string | undefined {
  const m = IOS_NAME.exec(name.trim());
  if (!m) return undefined;
  const t = iosType(m[1]);
  return t ? `${t[0]}${m[2]}${m[3] ?? ''}` : undefined;
}

/** Long IOS name as the running-config prints it (`Gi1/0/1` -> `GigabitEthernet1/0/1`). */
export function iosLongName(name: string): string | undefined {
  const m = IOS_NAME.exec(name.trim());
  if (!m) return undefined;
  const t = iosType(m[1]);
  return t ? `${t[1]}${m[2]}${m[3] ?? ''}` : undefined;
}

export function portStyle(name: string): PortStyle | undefined {
  if (AOSCX_NAME.test(name)) return 'aoscx';
  if (iosShortName(name)) return 'ios';
  return undefined;
}

/** Canonical id of one port name in either style, or undefined. */
export function canonicalPort(name: string): string | undefined {
  const n = name.trim();
  if (AOSCX_NAME.test(n)) return n.split('/').map((x) => String(Number(x))).join('/');
  return iosShortName(n);
}

export type PortSpecResult = { ok: true; ports: string[]; style: PortStyle } | { ok: false; error: string };

function range(a: number, b: number): number[] {
  const out: number[] = [];
  for (let i = a; i <= b; i++) out.push(i);
  return out;
}

function expandItem(item: string): PortSpecResult {
  const s = item.trim();
  // AOS-CX: 1/1/1, 1/1/1-1/1/48, 1/1/1-48
  let m = /^(\d+)\/(\d+)\/(\d+)(?:-(?:(\d+)\/(\d+)\/)?(\d+))?$/.exec(s);
  if (m) {
    const [member, slot, first] = [Number(m[1]), Number(m[2]), Number(m[3])];
    if (m[4] !== undefined && (Number(m[4]) !== member || Number(m[5]) !== slot)) {
      return { ok: false, error: `range "${s}" spans members or slots; write one range per slot` };
    }
    const last = m[6] !== undefined ? Number(m[6]) : first;
    if (last < first) return { ok: false, error: `range "${s}" ends before it starts` };
    if (last - first + 1 > MAX_PORTS_PER_SPEC) return { ok: false, error: `range "${s}" is too large` };
    return { ok: true, style: 'aoscx', ports: range(first, last).map((p) => `${member}/${slot}/${p}`) };
  }
  // IOS: Gi1/0/1, Gi1/0/1-24, GigabitEthernet0/1-12, Gi1/0/1-Gi1/0/24
  m = /^([A-Za-z-]+)\s*((?:\d+\/)*)(\d+)(?:-(?:([A-Za-z-]+)\s*((?:\d+\/)*))?(\d+))?$/.exec(s);
  if (m) {
    const t = iosType(m[1]);
    if (!t) return { ok: false, error: `unknown interface type "${m[1]}" in "${s}"` };
    const first = Number(m[3]);
    if (m[4] !== undefined) {
      const t2 = iosType(m[4]);
      if (!t2 || t2[0] !== t[0] || m[5] !== m[2]) {
        return { ok: false, error: `range "${s}" spans interface types or modules; write one range per module` };
      }
    }
    const last = m[6] !== undefined ? Number(m[6]) : first;
    if (last < first) return { ok: false, error: `range "${s}" ends before it starts` };
    if (last - first + 1 > MAX_PORTS_PER_SPEC) return { ok: false, error: `range "${s}" is too large` };
    return { ok: true, style: 'ios', ports: range(first, last).map((p) => `${t[0]}${m![2]}${p}`) };
  }
  return { ok: false, error: `"${s}" is not a port or port range (examples: Gi1/0/1-24, 1/1/1-1/1/48)` };
}

/** Expand a port spec (`Gi1/0/1-24`, `1/1/1-1/1/48`, `Gi1/0/1,Gi1/0/3`) into canonical port ids. */
export function expandPortSpec(spec: string): PortSpecResult {
  if (typeof spec !== 'string' || spec.trim() === '') return { ok: false, error: 'empty port spec' };
  const ports: string[] = [];
  let style: PortStyle | undefined;
  for (const item of spec.split(',')) {
    const r = expandItem(item);
    if (!r.ok) return r;
    if (style && r.style !== style) return { ok: false, error: `"${spec}" mixes IOS and AOS-CX port names` };
    style = r.style;
    ports.push(...r.ports);
  }
  if (ports.length > MAX_PORTS_PER_SPEC) return { ok: false, error: `"${spec}" expands to more than ${MAX_PORTS_PER_SPEC} ports` };
  const dup = ports.find((p, i) => ports.indexOf(p) !== i);
  if (dup) return { ok: false, error: `port ${dup} is listed twice in "${spec}"` };
  return { ok: true, ports, style: style! };
}

/** Sort port ids naturally (Gi1/0/2 before Gi1/0/10). */
export function comparePorts(a: string, b: string): number {
  const pa = a.split(/(\d+)/);
  const pb = b.split(/(\d+)/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? '';
    const y = pb[i] ?? '';
    if (x === y) continue;
    const nx = Number(x);
    const ny = Number(y);
    if (x !== '' && y !== '' && !isNaN(nx) && !isNaN(ny)) return nx - ny;
    return x < y ? -1 : 1;
  }
  return 0;
}

// ------------------------------------------------------------- VLAN lists

/** Parse `1,12,15,31-36` (IOS/AOS-CX VLAN list syntax) into sorted unique ids. `ALL` gives 'all'; `none`/'' gives []. */
export function parseVlanList(text: string): number[] | 'all' {
  const t = text.replace(/\s+/g, '');
  if (/^all$/i.test(t)) return 'all';
  if (t === '' || /^none$/i.test(t)) return [];
  const out = new Set<number>();
  for (const part of t.split(',')) {
    if (part === '') continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new Error(`bad VLAN list item "${part}"`);
    const a = Number(m[1]);
    const b = m[2] ? Number(m[2]) : a;
    for (let i = a; i <= b; i++) out.add(i);
  }
  return [...out].sort((x, y) => x - y);
}

/** Format ids as a compact VLAN list (`10,20,30-33`). */
export function formatVlanList(ids: number[] | 'all'): string {
  if (ids === 'all') return 'all';
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; i++) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(j - i >= 2 ? `${sorted[i]}-${sorted[j]}` : j === i ? `${sorted[i]}` : `${sorted[i]},${sorted[j]}`);
    i = j;
  }
  return parts.join(',');
}
