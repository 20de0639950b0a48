/**
 * Built-in policy: network separation between environments.
 *
 * Checked over the resources of EVERY environment in the repository (the
 * caller passes them; never secrets, which are not resolved at this stage),
 * reported only for pairs where at least one side belongs to the run.
 *
 * - `zone-separation` (mandatory): a school environment and the
 *   administration must not share a management address (a device resource's
 *   `spec.connection.host`), and their Vlan subnets (`spec.subnet`, a CIDR
 *   string or a list of them) must not overlap. Such a pair means one network
 *   reaches into the other, or one box is managed from both zones.
 *
 * - `environment-separation` (advisory): the same between two different
 *   environments of the same zone (school vs school). Advisory because a
 *   Schulträger may run schools behind NAT with identical address plans
 *   (linuxmuster's default is 10.0.0.0/16 at every school); still shown, since
 *   two environments managing one device fight over its configuration.
 *
 * Management addresses compare by host (case-insensitive, IPv6 canonical);
 * loopback hosts compare by host and port, because the lab runs the simulators
 * of both zones on 127.0.0.1 with different ports. Cloud tenants (MdmTenant)
 * are not network devices and are skipped.
 */
import type { PolicyResult, PolicyViolation, Resource } from '../engine/types.js';
import { isLoopback, normalizeHost, parseCidr, type Range } from '../engine/net.js';
import { META_KINDS, posAt, where } from './util.js';

export const ZONE_SEPARATION = 'builtin/zone-separation';
export const ENV_SEPARATION = 'builtin/environment-separation';

const NOT_NETWORK_DEVICES = new Set(['MdmTenant']);
const SUBNET_KINDS = new Set(['Vlan']);
/** Cap on related resources listed in one violation (the count of the rest is in the message). */
const MAX_RELATED = 20;

interface Item {
  res: Resource;
  pointer: string;
  text: string;
}

type Category = 'zone' | 'env';

interface Entry {
  cat: Category;
  what: 'host' | 'subnet';
  self: Item;
  v: PolicyViolation;
  others: string[];
  more: number;
}

class Collector {
  private byKey = new Map<string, Entry>();
  /** `runEnvs`: the environments of the run; a resource is in the run if its environment is. */
  constructor(private runEnvs: Set<string>) {}

  /** Record that `a` and `b` clash (ignored within one environment or outside the run). */
  add(a: Item, b: Item, what: 'host' | 'subnet'): void {
    if (a.res.env === b.res.env) return;
    const aIn = this.runEnvs.has(a.res.env);
    const bIn = this.runEnvs.has(b.res.env);
    if (!aIn && !bIn) return;
    const cat: Category = a.res.zone !== b.res.zone ? 'zone' : 'env';
    // The primary is the run's resource; if both are in the run, the school one
    // (or the lexically first address), so that a pair is reported once.
    let [p, o] = [a, b];
    if (aIn && bIn) {
      if (a.res.zone !== b.res.zone) [p, o] = a.res.zone === 'school' ? [a, b] : [b, a];
      else [p, o] = a.res.address < b.res.address ? [a, b] : [b, a];
    } else if (bIn) [p, o] = [b, a];
    const key = `${cat}\u0000${p.res.address}\u0000${p.pointer}`;
    let e = this.byKey.get(key);
    if (!e) {
      e = { cat, what, self: p, v: { address: p.res.address, message: '', pos: posAt(p.res, p.pointer), related: [] }, others: [], more: 0 };
      this.byKey.set(key, e);
    }
    if (e.others.length < MAX_RELATED) {
      const pos = posAt(o.res, o.pointer);
      e.v.related!.push({ address: o.res.address, pos });
      e.others.push(`${o.res.address} (${o.res.zone}, ${o.text}) at ${where(pos)}`);
    } else e.more++;
  }

  results(): Record<Category, PolicyViolation[]> {
    const out: Record<Category, PolicyViolation[]> = { zone: [], env: [] };
    for (const e of this.byKey.values()) {
      const { self } = e;
      const lead =
        e.what === 'host'
          ? `management address ${self.text} of ${self.res.address} (${self.res.zone}) is also used by`
          : `subnet ${self.text} of ${self.res.address} (${self.res.zone}) overlaps`;
      const more = e.more ? ` and ${e.more} more` : '';
      const tail = e.cat === 'zone' ? ' — school and administration networks must stay separate' : '';
      e.v.message = `${lead} ${e.others.join('; ')}${more}${tail}`;
      out[e.cat].push(e.v);
    }
    return out;
  }
}

function managementItems(resources: Resource[]): Map<string, Item[]> {
  const groups = new Map<string, Item[]>();
  for (const res of resources) {
    if (META_KINDS.has(res.kind) || NOT_NETWORK_DEVICES.has(res.kind)) continue;
    const conn = res.spec?.connection;
    if (!conn || typeof conn !== 'object') continue;
    const host = normalizeHost(conn.host);
    if (!host) continue;
    const key = isLoopback(host) ? `${host}:${conn.port ?? '-'}` : host;
    const text = isLoopback(host) ? `${conn.host}:${conn.port ?? '(default port)'}` : String(conn.host);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push({ res, pointer: '/spec/connection/host', text });
  }
  return groups;
}

function subnetItems(resources: Resource[]): (Item & { range: Range })[] {
  const out: (Item & { range: Range })[] = [];
  for (const res of resources) {
    if (!SUBNET_KINDS.has(res.kind)) continue;
    const s = res.spec?.subnet;
    const list: [unknown, string][] = Array.isArray(s)
      ? s.map((x, i) => [x, `/spec/subnet/${i}`])
      : [[s, '/spec/subnet']];
    for (const [text, pointer] of list) {
      const range = parseCidr(text);
      if (range) out.push({ res, pointer, text: String(text), range });
    }
  }
  return out;
}

/**
 * Zone and environment separation over all environments' resources.
 * `zoneResources` are the run's resources (reported ones must include one of them).
 */
export function separationPolicies(resources: Resource[], zoneResources: Resource[]): PolicyResult[] {
  const col = new Collector(new Set(zoneResources.map((r) => r.env)));

  for (const group of managementItems(resources).values()) {
    if (group.length < 2) continue;
    // Groups are small (one device, a few claims); pairwise is fine.
    for (let i = 0; i < group.length; i++)
      for (let j = i + 1; j < group.length; j++) col.add(group[i], group[j], 'host');
  }

  // CIDR blocks are laminar (nested or disjoint): sort by start ascending and
  // size descending, keep a stack of open blocks; every block on the stack
  // contains the current one. O(n log n + pairs).
  const items = subnetItems(resources);
  items.sort((a, b) =>
    a.range.family !== b.range.family
      ? a.range.family - b.range.family
      : a.range.start < b.range.start
        ? -1
        : a.range.start > b.range.start
          ? 1
          : a.range.end > b.range.end
            ? -1
            : a.range.end < b.range.end
              ? 1
              : 0,
  );
  const stack: (Item & { range: Range })[] = [];
  for (const it of items) {
    while (stack.length) {
      const top = stack[stack.length - 1];
      if (top.range.family !== it.range.family || top.range.end < it.range.start) stack.pop();
      else break;
    }
    for (const open of stack) col.add(open, it, 'subnet');
    stack.push(it);
  }

  const { zone, env } = col.results();
  return [
    { name: ZONE_SEPARATION, enforcement: 'mandatory', passed: zone.length === 0, violations: zone },
    { name: ENV_SEPARATION, enforcement: 'advisory', passed: env.length === 0, violations: env },
  ];
}
