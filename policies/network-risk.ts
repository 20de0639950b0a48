/**
 * Built-in plan-time policy `builtin/network-risk` (advisory): switch changes
 * a reviewer must look at twice, each one flagged and together needing one
 * extra approval (`extraApprovals: 1`, like the destructive-change cap):
 *
 * - a port change that takes the switch's management VLAN
 *   (`Switch.spec.managementVlan`) off a port or trunk that carries it (a
 *   different access VLAN, a trunk list without it, another native VLAN, the
 *   port shut down, or the port reset to its defaults);
 * - the delete of the management VLAN itself;
 * - the delete (ensure: absent, or prune) of a VLAN that ports still use by
 *   name after this plan (the switch's read lists them in the live VLAN's
 *   `ports`; ports this plan moves away do not count).
 *
 * Each flag names the VLAN with its name next to its id (`VLAN 10 (MGMT)`):
 * the name of the Vlan resource that declares that id for the switch, else
 * the name the switch reported.
 */
import type { Change, PolicyResult, PolicyViolation, Resource } from '../engine/types.js';

export const NETWORK_RISK = 'builtin/network-risk';

type Port = { mode?: unknown; accessVlan?: unknown; nativeVlan?: unknown; allowedVlans?: unknown; enabled?: unknown };

/** Does a port in this state carry VLAN `id` (untagged or tagged; an "all" trunk carries every VLAN)? */
function carries(p: Port, id: number): boolean {
  if (p.enabled === false) return false;
  if (p.mode === 'trunk') return p.nativeVlan === id || p.allowedVlans === 'all' || (Array.isArray(p.allowedVlans) && p.allowedVlans.includes(id));
  return p.accessVlan === id;
}

/** Does a port in this state use VLAN `id` by name (an "all" trunk names none)? */
function uses(p: Port, id: number): boolean {
  if (p.mode === 'trunk') return p.nativeVlan === id || (Array.isArray(p.allowedVlans) && p.allowedVlans.includes(id));
  return p.accessVlan === id;
}

/** The port after the change: live state with the planned fields over it; a reset port is the platform default (VLAN 1). */
function portAfter(c: Change): Port {
  if (!c.after) return { mode: 'access', accessVlan: 1, nativeVlan: 1, allowedVlans: 'all', enabled: true };
  return { ...(c.before ?? {}), ...c.after };
}

function vlanIdsOf(p: Port): string {
  if (p.mode !== 'trunk') return `access VLAN ${p.accessVlan}`;
  const allowed = Array.isArray(p.allowedVlans) ? (p.allowedVlans.length ? p.allowedVlans.join(',') : 'none') : String(p.allowedVlans);
  return `trunk, native ${p.nativeVlan}, allowed ${allowed}`;
}

const switchName = (address: string) => address.split('/').pop() ?? address;

export function networkRiskPolicy(zoneResources: Resource[], changes: Change[], byAddress: Map<string, Resource> = new Map(zoneResources.map((r) => [r.address, r]))): PolicyResult {
  const violations: PolicyViolation[] = [];
  const byTarget = new Map<string, Change[]>();
  for (const c of changes) if (c?.target && (c.kind === 'SwitchPort' || c.kind === 'Vlan')) (byTarget.get(c.target) ?? byTarget.set(c.target, []).get(c.target)!).push(c);

  for (const [target, list] of byTarget) {
    const sw = byAddress.get(target);
    const env = target.split('/')[0];
    const name = switchName(target);
    const label = (id: number): string => {
      const declared = zoneResources.filter((r) => r.kind === 'Vlan' && r.env === env && r.spec?.id === id);
      const onSwitch = declared.find((r) => Array.isArray(r.spec?.switches) && r.spec.switches.includes(name)) ?? declared[0];
      const live = list.find((c) => c.kind === 'Vlan' && Number(c.id) === id)?.before?.name;
      const n = onSwitch ? String(onSwitch.spec?.name ?? onSwitch.name) : typeof live === 'string' ? live : undefined;
      return n ? `VLAN ${id} (${n})` : `VLAN ${id}`;
    };
    const flag = (c: Change, message: string) => violations.push({ address: c.address, message, ...(c.pos ? { pos: c.pos } : {}) });
    const mgmt = typeof sw?.spec?.managementVlan === 'number' ? (sw.spec.managementVlan as number) : undefined;
    const ports = list.filter((c) => c.kind === 'SwitchPort');

    for (const c of ports) {
      if (mgmt === undefined || !c.before || !carries(c.before as Port, mgmt)) continue;
      const after = portAfter(c);
      if (carries(after, mgmt)) continue;
      const how = !c.after ? 'resets it to its defaults' : after.enabled === false ? 'shuts it down' : `${vlanIdsOf(c.before as Port)} -> ${vlanIdsOf(after)}`;
      flag(c, `takes management ${label(mgmt)} off port ${c.id} of switch ${name} (${how}): einklang and the switch's other management traffic may lose the switch`);
    }
    for (const c of list) {
      if (c.kind !== 'Vlan' || c.actions.length !== 1 || c.actions[0] !== 'delete') continue;
      const id = Number(c.id);
      if (id === mgmt) flag(c, `deletes management ${label(id)} from switch ${name}`);
      const moved = new Set(ports.filter((p) => !uses(portAfter(p), id)).map((p) => p.id));
      const still = (Array.isArray(c.before?.ports) ? (c.before!.ports as unknown[]) : []).map(String).filter((p) => !moved.has(p));
      if (still.length) {
        const pruned = c.address.includes('/unmanaged:') ? 'prunes' : 'deletes';
        flag(c, `${pruned} ${label(id)} on switch ${name} while ${still.length} port(s) still use it: ${still.slice(0, 8).join(', ')}${still.length > 8 ? ', ...' : ''}`);
      }
    }
  }
  return { name: NETWORK_RISK, enforcement: 'advisory', passed: violations.length === 0, violations, extraApprovals: violations.length ? 1 : 0 };
}
