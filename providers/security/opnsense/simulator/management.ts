/**
 * Does the running rule set let the management station in? The simulator
 * asks this for every new TCP connection, so that a change which cuts
 * einklang's own path really cuts it — while connections that were open
 * before the reload keep working, as pf keeps the states of established
 * connections across a filter reload.
 *
 * The path: TCP from `source` arriving on interface `iface` (direction in)
 * for the firewall's own address `self`, port `port` (the web GUI / API,
 * 443 on the real firewall whatever the lab listens on). Rules are taken in
 * OPNsense's order (sort_order: floating rules before single-interface
 * rules, then sequence); a matching quick rule decides at once, a matching
 * non-quick rule is remembered and the last one decides (pf semantics); no
 * match is pf's default deny. The automatic anti-lockout rule exists only on
 * LAN, and the lab manages its firewalls over WAN, so it plays no part.
 */
import { isIP } from 'node:net';
import { parseCidr } from '../../../../engine/net.js';
import { WELL_KNOWN_PORTS, portRange } from '../vocabulary.js';
import { sortOrder, type Fields } from './model.js';

export interface ManagementPath {
  iface: string;
  source: string;
  self: string;
  /** The network of `iface` (what `__<iface>_network` holds). */
  ifaceNetwork: string;
  port: number;
}

export type Verdict = 'pass' | 'block' | 'reject';

function contains(cidrOrIp: string, ip: string): boolean {
  if (isIP(cidrOrIp)) return cidrOrIp === ip;
  const net = parseCidr(cidrOrIp);
  const host = parseCidr(`${ip}/${isIP(ip) === 6 ? 128 : 32}`);
  return !!net && !!host && net.family === host.family && net.start <= host.start && host.end <= net.end;
}

class Resolver {
  private readonly byName = new Map<string, Fields>();
  constructor(aliases: Iterable<Fields>) {
    for (const a of aliases) if (a.enabled === '1') this.byName.set(a.name, a);
  }

  /** An address token (any, (self), IP, CIDR, alias) matches `ip`? `self` is the firewall's own address. */
  address(token: string, ip: string, p: ManagementPath, depth = 0): boolean {
    if (token === 'any') return true;
    if (token === '(self)') return ip === p.self;
    if (token === `__${p.iface}_network`) return contains(p.ifaceNetwork, ip);
    if (isIP(token) || token.includes('/')) return contains(token, ip);
    const a = this.byName.get(token);
    if (!a || depth > 10 || a.type === 'port') return false;
    return a.content.split('\n').some((e) => e !== '' && this.address(e, ip, p, depth + 1));
  }

  port(token: string, port: number, depth = 0): boolean {
    if (token === '' || token === 'any') return true;
    const known = WELL_KNOWN_PORTS[token];
    if (known !== undefined) return known === port;
    const r = portRange(token);
    if (r) return r[0] <= port && port <= r[1];
    const a = this.byName.get(token);
    if (!a || a.type !== 'port' || depth > 10) return false;
    return a.content.split('\n').some((e) => e !== '' && this.port(e, port, depth + 1));
  }
}

function matches(r: Fields, p: ManagementPath, res: Resolver): boolean {
  if (r.enabled !== '1') return false;
  const ifs = r.interface.split(',').filter(Boolean);
  const onIface = ifs.length === 0 || ifs.includes(p.iface);
  if ((r.interfacenot === '1') === onIface) return false;
  if (r.direction === 'out') return false;
  if (r.ipprotocol === 'inet6') return false;
  if (!['any', 'TCP', 'TCP/UDP'].includes(r.protocol)) return false;
  const src = r.source_net.split(',').some((t) => res.address(t, p.source, p));
  if (src === (r.source_not === '1')) return false;
  const dst = r.destination_net.split(',').some((t) => res.address(t, p.self, p));
  if (dst === (r.destination_not === '1')) return false;
  if (!res.port(r.source_port, 40000)) return false; // an ephemeral client port
  return res.port(r.destination_port, p.port);
}

/** What the running rules do to a new management connection. */
export function managementVerdict(rules: Iterable<Fields>, aliases: Iterable<Fields>, p: ManagementPath): Verdict {
  const res = new Resolver(aliases);
  const ordered = [...rules].sort((a, b) => sortOrder(a).localeCompare(sortOrder(b)));
  let last: Verdict = 'block'; // pf default deny
  for (const r of ordered) {
    if (!matches(r, p, res)) continue;
    const v = r.action as Verdict;
    if (r.quick === '1') return v;
    last = v;
  }
  return last;
}
