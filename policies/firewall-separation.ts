/**
 * Built-in policy `builtin/firewall-separation` (mandatory): no firewall rule
 * of one zone may open a path into the other zone's networks.
 *
 * Evaluated over the resources of EVERY environment in the repository (like
 * zone separation), reported for the rules of the run's environments.
 *
 * The other zone's networks: its Vlan subnets, and its network aliases
 * (FirewallAlias of type network, host or networkgroup). An alias entry that
 * overlaps the checked zone's own Vlan subnets is not taken as the other
 * zone's network: it names (part of) the checked zone, like a school's
 * alias "verwaltung" listing 10.200.0.0/16 only to block it.
 *
 * A rule is checked as OPNsense evaluates it: per firewall, in OPNsense's
 * order (floating rules on several interfaces first, then single-interface
 * rules; each by sequence). A `pass` rule violates the policy when part of
 * its destination lies in the other zone's networks and no EARLIER rule
 * already blocks that part for every packet the pass rule would let
 * through. An earlier rule counts only when it surely sees those packets
 * first: enabled, quick, block or reject, on all of the pass rule's
 * interfaces, in the same direction (or `any`), for all of its protocols,
 * ports and sources. Everything else is treated conservatively:
 * - a destination einklang cannot resolve (the firewall's own aliases such
 *   as `__lan_network` or `bogons`, url/urltable/geoip/asn aliases, host
 *   names) may be any address: it needs an earlier block;
 * - a block rule's unresolvable destination covers nothing;
 * - `(self)` is the firewall itself, not a network behind it;
 * - a non-quick pass is checked like a quick one (a later non-quick block
 *   would not be reached if an earlier quick pass matched).
 * Rules of the same sequence and priority are not "earlier" than each other.
 *
 * A violation names the pass rule (at its destination) and the other zone's
 * Vlan or alias it reaches (at its subnet or alias entry).
 */
import type { PolicyResult, PolicyViolation, Resource, SourcePos, Zone } from '../engine/types.js';
import { AddressSet } from './address-set.js';
import { posAt } from './util.js';

const at = (p: SourcePos) => `${p.file}:${p.line}:${p.col}`;

export const FIREWALL_SEPARATION = 'builtin/firewall-separation';

/** Related resources listed in one violation (the count of the rest is in the message). */
const MAX_RELATED = 5;
const ADDRESS_ALIAS_TYPES = new Set(['network', 'host', 'networkgroup']);

interface Network {
  res: Resource;
  pointer: string;
  text: string;
  set: AddressSet;
}

/** What a list of address tokens means: known addresses, and whether some token could be anything. */
interface Resolved {
  set: AddressSet;
  /** Tokens einklang cannot resolve (the firewall's own aliases, url tables, host names). */
  unknown: string[];
}

const list = (v: unknown): string[] => (typeof v === 'string' ? [v] : Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

class FirewallScope {
  private readonly aliases = new Map<string, Resource>();
  constructor(readonly env: string, readonly firewall: string, resources: Resource[]) {
    for (const r of resources) if (r.kind === 'FirewallAlias' && r.env === env && r.spec?.firewall === firewall) this.aliases.set(r.name, r);
  }

  resolve(tokens: string[], seen = new Set<string>()): Resolved {
    let set = AddressSet.empty();
    const unknown: string[] = [];
    for (const t of tokens) {
      if (t === 'any') set = set.union(AddressSet.all());
      else if (t === '(self)') continue;
      else {
        const literal = AddressSet.parse(t);
        if (literal) set = set.union(literal);
        else {
          const alias = this.aliases.get(t);
          if (!alias || !ADDRESS_ALIAS_TYPES.has(alias.spec?.type) || seen.has(t)) {
            unknown.push(t);
            continue;
          }
          const inner = this.resolve(list(alias.spec?.content), new Set([...seen, t]));
          set = set.union(inner.set);
          unknown.push(...inner.unknown);
        }
      }
    }
    return { set, unknown };
  }
}

interface Rule {
  res: Resource;
  interfaces: string[];
  priority: number;
  sequence: number;
}

function ruleOf(res: Resource): Rule {
  const interfaces = list(res.spec?.interface);
  return { res, interfaces, priority: interfaces.length === 1 ? 400000 : 200000, sequence: Number(res.spec?.sequence) || 0 };
}

const families = (r: Resource): (4 | 6)[] => (r.spec?.ipProtocol === 'inet6' ? [6] : r.spec?.ipProtocol === 'inet46' ? [4, 6] : [4]);
const protocolCovers = (block: string, pass: string) => block === 'any' || block === pass || (block === 'TCP/UDP' && ['TCP', 'UDP', 'TCP/UDP'].includes(pass));

/** The rule's addresses in one field, with `...Not` applied; unknown tokens reported as such. */
function field(scope: FirewallScope, r: Resource, name: 'source' | 'destination'): Resolved & { inverted: boolean } {
  const tokens = r.spec?.[name] === undefined ? ['any'] : list(r.spec[name]);
  const resolved = scope.resolve(tokens);
  const inverted = r.spec?.[`${name}Not`] === true;
  return inverted ? { set: AddressSet.all().minus(resolved.set), unknown: resolved.unknown, inverted } : { ...resolved, inverted };
}

/** Does the earlier rule `b` block, for sure, every packet of `p` that it could apply to? (destinations aside) */
function blocksFirst(scope: FirewallScope, b: Rule, p: Rule): boolean {
  const bs = b.res.spec ?? {};
  const ps = p.res.spec ?? {};
  if (bs.enabled === false || bs.quick === false || (bs.action !== 'block' && bs.action !== 'reject')) return false;
  if (!p.interfaces.every((i) => b.interfaces.includes(i))) return false;
  const dir = (s: any) => s.direction ?? 'in';
  if (dir(bs) !== 'any' && dir(bs) !== dir(ps)) return false;
  if (!protocolCovers(bs.protocol ?? 'any', ps.protocol ?? 'any')) return false;
  for (const port of ['sourcePort', 'destinationPort']) if (bs[port] !== undefined && bs[port] !== ps[port]) return false;
  const bsrc = field(scope, b.res, 'source');
  const psrc = field(scope, p.res, 'source');
  if (bsrc.set.covers(AddressSet.all())) return true; // from any
  if ((bsrc.inverted || psrc.inverted) && (bsrc.unknown.length || psrc.unknown.length)) return false;
  return bsrc.set.covers(psrc.set) && psrc.unknown.every((t) => bsrc.unknown.includes(t));
}

/** The other zone's networks, as seen from `zone`. */
function otherZoneNetworks(resources: Resource[], zone: Zone): Network[] {
  const own = resources
    .filter((r) => r.kind === 'Vlan' && r.zone === zone)
    .flatMap((r) => list(r.spec?.subnet))
    .map((t) => AddressSet.parse(t))
    .reduce<AddressSet>((acc, s) => (s ? acc.union(s) : acc), AddressSet.empty());
  const out: Network[] = [];
  for (const r of resources) {
    if (r.zone === zone) continue;
    if (r.kind === 'Vlan') {
      const s = r.spec?.subnet;
      const entries: [unknown, string][] = Array.isArray(s) ? s.map((x, i) => [x, `/spec/subnet/${i}`]) : [[s, '/spec/subnet']];
      for (const [text, pointer] of entries) {
        const set = typeof text === 'string' ? AddressSet.parse(text) : null;
        if (set) out.push({ res: r, pointer, text: String(text), set });
      }
    } else if (r.kind === 'FirewallAlias' && ADDRESS_ALIAS_TYPES.has(r.spec?.type)) {
      list(r.spec?.content).forEach((text, i) => {
        const set = AddressSet.parse(text);
        // an entry that overlaps the checked zone's own subnets describes that zone, not this one
        if (set && set.and(own).isEmpty()) out.push({ res: r, pointer: `/spec/content/${i}`, text, set });
      });
    }
  }
  return out;
}

const ZONE_NAME: Record<Zone, string> = { school: 'school network', administration: 'administration' };

function violation(p: Rule, exposed: AddressSet, reached: Network[], destination: Resolved): PolicyViolation {
  const r = p.res;
  const s = r.spec ?? {};
  const other: Zone = r.zone === 'school' ? 'administration' : 'school';
  const pos: SourcePos = posAt(r, '/spec/destination');
  const related = reached.slice(0, MAX_RELATED).map((n) => ({ address: n.res.address, pos: posAt(n.res, n.pointer) }));
  const names = reached.slice(0, MAX_RELATED).map((n) => `${n.res.address} (${n.text}) at ${at(posAt(n.res, n.pointer))}`);
  const more = reached.length > MAX_RELATED ? ` and ${reached.length - MAX_RELATED} more` : '';
  const unresolved = destination.unknown.length ? ` (its destination ${destination.unknown.map((u) => JSON.stringify(u)).join(', ')} is known only on the firewall, so einklang takes it as any address)` : '';
  return {
    address: r.address,
    message:
      `pass rule on firewall ${s.firewall} (interface ${list(s.interface).join(',')}, ${s.direction ?? 'in'}, sequence ${s.sequence}) lets traffic into the ${ZONE_NAME[other]}: ` +
      `its destination includes ${exposed.describe()}${unresolved}, part of ${names.join('; ')}${more}, and no earlier block rule on the same interface covers it — ` +
      `put a block of those networks before it`,
    pos,
    related,
  };
}

/** The policy over all environments' resources; reported for the rules of `zoneResources`' environments. */
export function firewallSeparationPolicy(resources: Resource[], zoneResources: Resource[]): PolicyResult {
  const runEnvs = new Set(zoneResources.map((r) => r.env));
  const violations: PolicyViolation[] = [];
  const networks: Record<Zone, Network[] | undefined> = { school: undefined, administration: undefined };
  const byFirewall = new Map<string, Rule[]>();
  for (const r of resources) {
    if (r.kind !== 'FirewallRule' || typeof r.spec?.firewall !== 'string') continue;
    const k = `${r.env}\u0000${r.spec.firewall}`;
    (byFirewall.get(k) ?? byFirewall.set(k, []).get(k)!).push(ruleOf(r));
  }
  for (const [key, rules] of byFirewall) {
    const [env, firewall] = key.split('\u0000');
    if (!runEnvs.has(env)) continue;
    const scope = new FirewallScope(env, firewall, resources);
    rules.sort((a, b) => a.priority - b.priority || a.sequence - b.sequence);
    for (const p of rules) {
      const s = p.res.spec ?? {};
      if (s.action !== 'pass' || s.enabled === false) continue;
      const zone = p.res.zone;
      const theirs = (networks[zone] ??= otherZoneNetworks(resources, zone));
      const dest = field(scope, p.res, 'destination');
      const reach = (dest.unknown.length && !dest.inverted ? AddressSet.all() : dest.set).families(families(p.res));
      let exposed = reach.and(theirs.reduce((acc, n) => acc.union(n.set), AddressSet.empty()));
      if (exposed.isEmpty()) continue;
      for (const b of rules) {
        if (b === p || !(b.priority < p.priority || (b.priority === p.priority && b.sequence < p.sequence))) continue;
        if (!blocksFirst(scope, b, p)) continue;
        const bd = field(scope, b.res, 'destination');
        // what the block surely covers: its resolved addresses (an inverted list with unknown entries: nothing sure)
        if (!(bd.inverted && bd.unknown.length)) exposed = exposed.minus(bd.set.families(families(b.res)));
        if (exposed.isEmpty()) break;
      }
      if (exposed.isEmpty()) continue;
      const reached = theirs.filter((n) => !n.set.and(exposed).isEmpty());
      violations.push(violation(p, exposed, reached, dest));
    }
  }
  return { name: FIREWALL_SEPARATION, enforcement: 'mandatory', passed: violations.length === 0, violations };
}
