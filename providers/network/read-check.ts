/**
 * Plan-time checks of what the manifests ask for against what a switch has:
 * ports are never created (a SwitchPort on a port the switch lacks is an
 * error naming the switch and the port, before anything is sent), and a VLAN
 * id the platform reserves is refused the same way. Both drivers' reads report
 * which ports exist and which VLAN ids are reserved (SwitchConfig.facts).
 */
import { DriverError } from '../../engine/types.js';
import type { SwitchConfig } from './model.js';
import { comparePorts } from './ports.js';

/** `Gi1/0/1-48, Te1/1/1-4` for a list of port ids (consecutive numbers under one prefix become a range). */
export function describePorts(ids: string[]): string {
  const groups = new Map<string, number[]>();
  const loose: string[] = [];
  for (const id of [...ids].sort(comparePorts)) {
    const m = /^(.*?)(\d+)$/.exec(id);
    if (!m) loose.push(id);
    else (groups.get(m[1]) ?? groups.set(m[1], []).get(m[1])!).push(Number(m[2]));
  }
  const parts: string[] = [];
  for (const [prefix, nums] of groups) {
    for (let i = 0; i < nums.length; i++) {
      let j = i;
      while (j + 1 < nums.length && nums[j + 1] === nums[j] + 1) j++;
      parts.push(j > i ? `${prefix}${nums[i]}-${nums[j]}` : `${prefix}${nums[i]}`);
      i = j;
    }
  }
  return [...parts, ...loose].join(', ');
}

function some(list: string[], max = 5): string {
  return list.slice(0, max).join(', ') + (list.length > max ? ` and ${list.length - max} more` : '');
}

/**
 * Throw a DriverError (E_NET_NO_PORT, E_NET_VLAN_RESERVED) naming the switch
 * when a requested SwitchPort is not a switchport of this switch or a
 * requested Vlan id is one the platform reserves.
 */
export function checkRequested(config: SwitchConfig, requested: { kind: string; id: string }[], switchName: string): void {
  const problems: { code: string; text: string }[] = [];
  const nonSwitchports = new Set(config.facts?.nonSwitchports ?? []);
  const missing: string[] = [];
  const routed: string[] = [];
  for (const r of requested) {
    if (r.kind !== 'SwitchPort' || config.ports[r.id]) continue;
    (nonSwitchports.has(r.id) ? routed : missing).push(r.id);
  }
  if (missing.length) {
    const has = Object.keys(config.ports);
    problems.push({
      code: 'E_NET_NO_PORT',
      text:
        `switch ${switchName} has no port${missing.length > 1 ? 's' : ''} ${some(missing)} ` +
        `(ports are never created; its switchports are ${has.length ? describePorts(has) : 'none'})`,
    });
  }
  if (routed.length) {
    problems.push({ code: 'E_NET_NO_PORT', text: `on switch ${switchName}, ${some(routed)} ${routed.length > 1 ? 'are routed ports' : 'is a routed port'} (no switchport), not configurable as a SwitchPort` });
  }
  for (const r of requested) {
    if (r.kind !== 'Vlan') continue;
    const id = Number(r.id);
    const hit = config.facts?.reservedVlans?.find((x) => id >= x.from && id <= x.to);
    if (hit) problems.push({ code: 'E_NET_VLAN_RESERVED', text: `switch ${switchName} cannot have VLAN ${id}: ${hit.why}` });
  }
  if (problems.length) {
    throw new DriverError(problems.map((p) => `${p.code}: ${p.text}`).join('; ') + '; no change was sent to the switch', { code: problems[0].code });
  }
}
