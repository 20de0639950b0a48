/**
 * The device-neutral model of a switch's configuration that both drivers
 * read into and both simulators keep, and the mapping between it and the
 * engine's plain data (LiveObject state, Change).
 *
 * State fields (what the engine diffs):
 * - Vlan:       { id: number, name: string, ports? }            object id = VLAN id as string
 *   ports (live only, never managed): the ports that carry the VLAN by name
 *   (access VLAN, native VLAN, or listed on a trunk), for the reviewer-safety
 *   policy: pruning a VLAN that ports still use is flagged.
 * - SwitchPort: { mode, accessVlan, nativeVlan, allowedVlans,
 *                 description, enabled }                          object id = canonical port name
 *   mode: 'access' | 'trunk' (live may also say 'dynamic auto' / 'dynamic desirable' on IOS);
 *   accessVlan/nativeVlan: VLAN ids; allowedVlans: sorted ids or 'all';
 *   description: '' when none.
 */
import type { Change, LiveObject, ReadResult } from '../../engine/types.js';
import { DriverError, objectKey } from '../../engine/types.js';
import { comparePorts } from './ports.js';

export type PortMode = 'access' | 'trunk' | 'dynamic auto' | 'dynamic desirable';

export interface PortConfig {
  mode: PortMode;
  accessVlan: number;
  nativeVlan: number;
  allowedVlans: number[] | 'all';
  description: string;
  enabled: boolean;
}

export interface VlanConfig {
  name: string;
}

/** What a switch cannot do, as its driver read it (never part of a configuration comparison). */
export interface SwitchFacts {
  /** VLAN ids this switch cannot have or change, with the reason (IOS 1002-1005; extended VLANs in VTP server mode). */
  reservedVlans?: { from: number; to: number; why: string }[];
  /** Interfaces that exist but are not switchports (routed ports): no SwitchPort can configure them. */
  nonSwitchports?: string[];
  /** IOS: VTP operating mode (`show vtp status`): server, client, transparent, off. */
  vtpMode?: string;
  /** IOS on ISL-capable platforms: ports whose trunk encapsulation is negotiated; trunk mode needs `encapsulation dot1q` first. */
  negotiatedEncapsulation?: string[];
}

/** Attributes einklang does not manage: a write must keep them (AOS-CX strict PUT), a rollback restores them. */
export interface DeviceAttributes {
  ports?: Record<string, Record<string, unknown>>;
  vlans?: Record<string, Record<string, unknown>>;
}

export interface SwitchConfig {
  hostname: string;
  /** Keyed by VLAN id as a string. */
  vlans: Record<string, VlanConfig>;
  /** Keyed by canonical port id. */
  ports: Record<string, PortConfig>;
  facts?: SwitchFacts;
  /** Kept by the simulators (and so restored by their rollback); drivers leave it unset. */
  deviceAttributes?: DeviceAttributes;
}

export function cloneConfig(c: SwitchConfig): SwitchConfig {
  return structuredClone(c);
}

/** The managed content of two configs is the same (hostname ignored). */
export function sameConfig(a: SwitchConfig, b: SwitchConfig): boolean {
  return JSON.stringify(canonicalConfig(a)) === JSON.stringify(canonicalConfig(b));
}

function canonicalConfig(c: SwitchConfig): unknown {
  const vlans = Object.keys(c.vlans)
    .sort((x, y) => Number(x) - Number(y))
    .map((id) => [id, c.vlans[id].name]);
  const ports = Object.keys(c.ports)
    .sort(comparePorts)
    .map((p) => [p, portState(c.ports[p])]);
  return { vlans, ports };
}

/** What changed between two configs, for error messages ("VLAN 30 still present"). */
export function describeConfigDifference(want: SwitchConfig, have: SwitchConfig): string {
  const out: string[] = [];
  for (const id of new Set([...Object.keys(want.vlans), ...Object.keys(have.vlans)])) {
    const a = want.vlans[id];
    const b = have.vlans[id];
    if (!a) out.push(`VLAN ${id} present`);
    else if (!b) out.push(`VLAN ${id} missing`);
    else if (a.name !== b.name) out.push(`VLAN ${id} named ${b.name}`);
  }
  for (const p of new Set([...Object.keys(want.ports), ...Object.keys(have.ports)])) {
    const a = want.ports[p];
    const b = have.ports[p];
    if (!a || !b || JSON.stringify(portState(a)) !== JSON.stringify(portState(b))) out.push(`port ${p} differs`);
  }
  return out.slice(0, 5).join(', ') + (out.length > 5 ? `, and ${out.length - 5} more` : '');
}

export function defaultPort(mode: PortMode = 'access'): PortConfig {
  return { mode, accessVlan: 1, nativeVlan: 1, allowedVlans: 'all', description: '', enabled: true };
}

// ------------------------------------------------------------ live state

export function vlanState(id: string, v: VlanConfig, ports?: string[]): Record<string, unknown> {
  return { id: Number(id), name: v.name, ...(ports?.length ? { ports } : {}) };
}

/** Ports that use each VLAN by name, keyed by VLAN id. */
export function vlanUsage(config: SwitchConfig): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const port of Object.keys(config.ports).sort(comparePorts)) {
    const p = config.ports[port];
    const ids = p.mode === 'trunk' ? [p.nativeVlan, ...(p.allowedVlans === 'all' ? [] : p.allowedVlans)] : [p.accessVlan];
    for (const id of new Set(ids)) (out.get(String(id)) ?? out.set(String(id), []).get(String(id))!).push(port);
  }
  return out;
}

export function portState(p: PortConfig): Record<string, unknown> {
  return {
    mode: p.mode,
    accessVlan: p.accessVlan,
    nativeVlan: p.nativeVlan,
    allowedVlans: p.allowedVlans === 'all' ? 'all' : [...p.allowedVlans],
    description: p.description,
    enabled: p.enabled,
  };
}

/** Is this VLAN one the device owns and never lets anyone delete (IOS 1002-1005)? */
export function isSystemVlan(id: number): boolean {
  return id >= 1002 && id <= 1005;
}

/**
 * Build the reader's answer from a config: every requested object (null if
 * absent) and every VLAN nobody asked about as `unmanaged` — except VLAN 1
 * and the system VLANs 1002-1005, which every switch has and nobody can
 * delete (reporting them would make every switch drift forever). The
 * management VLAN is reported when undeclared; `protectedLive` keeps prune
 * away from it. Ports not requested are not reported:
 * every switch has all its ports, an undeclared port is simply unmanaged
 * configuration, not an object to prune.
 */
export function readResultFromConfig(
  config: SwitchConfig,
  requested: { kind: string; id: string }[],
): ReadResult {
  const objects: Record<string, LiveObject | null> = {};
  const seenVlans = new Set<string>();
  const usage = vlanUsage(config);
  for (const r of requested) {
    const key = objectKey(r.kind, r.id);
    if (r.kind === 'Vlan') {
      seenVlans.add(r.id);
      const v = config.vlans[r.id];
      objects[key] = v ? { kind: 'Vlan', id: r.id, state: vlanState(r.id, v, usage.get(r.id)) } : null;
    } else if (r.kind === 'SwitchPort') {
      const p = config.ports[r.id];
      objects[key] = p ? { kind: 'SwitchPort', id: r.id, state: portState(p) } : null;
    } else {
      objects[key] = null;
    }
  }
  const unmanaged: LiveObject[] = Object.keys(config.vlans)
    .filter((id) => !seenVlans.has(id) && id !== '1' && !isSystemVlan(Number(id)))
    .sort((a, b) => Number(a) - Number(b))
    .map((id) => ({ kind: 'Vlan', id, state: vlanState(id, config.vlans[id], usage.get(id)) }));
  return { objects, unmanaged };
}

// ------------------------------------------------------------ changes -> ops

export type SwitchOp =
  | { op: 'vlan-set'; id: number; name: string }
  | { op: 'vlan-delete'; id: number }
  | { op: 'port-set'; port: string; set: Partial<PortConfig> }
  | { op: 'port-default'; port: string };

/** Characters no value may carry to a switch CLI (defence in depth; validate refuses them first). */
export function unsafeCliValue(v: string): string | undefined {
  if (/[\u0000-\u001f\u007f]/.test(v)) return 'a control character (newline, tab, escape, ...)';
  if (/[^\u0020-\u007e]/.test(v)) return 'a non-ASCII character';
  if (v.includes('!')) return 'a "!" (starts a comment in the configuration)';
  if (v.includes('?')) return 'a "?" (opens the CLI help)';
  if (v !== v.trim()) return 'leading or trailing spaces';
  return undefined;
}

function int(v: unknown, what: string, min: number, max: number): number {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw new DriverError(`${what}: ${JSON.stringify(v)} is not a number between ${min} and ${max}`, { code: 'E_NET_BAD_CHANGE' });
  }
  return n;
}

function safeString(v: unknown, what: string, max: number): string {
  if (typeof v !== 'string') throw new DriverError(`${what} must be a string`, { code: 'E_NET_BAD_CHANGE' });
  const bad = unsafeCliValue(v);
  if (bad) throw new DriverError(`${what} contains ${bad}; refused before anything was sent`, { code: 'E_NET_UNSAFE_VALUE' });
  if (v.length > max) throw new DriverError(`${what} is longer than ${max} characters`, { code: 'E_NET_BAD_CHANGE' });
  return v;
}

/**
 * Turn one target's changes into device operations, checked and ordered:
 * VLAN creates/renames first, then ports, then VLAN deletes (so a port never
 * points at a VLAN that does not exist yet, and a VLAN is removed only after
 * the ports have moved away). Throws DriverError before anything is sent if a
 * value is unsafe.
 */
export function opsFromChanges(changes: Change[]): SwitchOp[] {
  const vlanSets: SwitchOp[] = [];
  const ports: SwitchOp[] = [];
  const vlanDeletes: SwitchOp[] = [];
  for (const c of changes) {
    const deleting = c.actions.includes('delete') && !c.actions.includes('create');
    if (c.kind === 'Vlan') {
      const id = int(c.id, `${c.address}: VLAN id`, 1, 4094);
      if (deleting) {
        if (id === 1) throw new DriverError(`${c.address}: VLAN 1 cannot be deleted`, { code: 'E_NET_BAD_CHANGE' });
        vlanDeletes.push({ op: 'vlan-delete', id });
      } else {
        const name = c.after?.name ?? `VLAN${String(id).padStart(4, '0')}`;
        vlanSets.push({ op: 'vlan-set', id, name: safeString(name, `${c.address}: name`, 32) });
      }
    } else if (c.kind === 'SwitchPort') {
      const port = safeString(c.id, `${c.address}: port`, 64);
      if (deleting) {
        ports.push({ op: 'port-default', port });
        continue;
      }
      const a = c.after ?? {};
      const set: Partial<PortConfig> = {};
      if (a.mode !== undefined) {
        if (a.mode !== 'access' && a.mode !== 'trunk') throw new DriverError(`${c.address}: mode must be access or trunk`, { code: 'E_NET_BAD_CHANGE' });
        set.mode = a.mode;
      }
      if (a.accessVlan !== undefined) set.accessVlan = int(a.accessVlan, `${c.address}: accessVlan`, 1, 4094);
      if (a.nativeVlan !== undefined) set.nativeVlan = int(a.nativeVlan, `${c.address}: nativeVlan`, 1, 4094);
      if (a.allowedVlans !== undefined) {
        if (a.allowedVlans === 'all') set.allowedVlans = 'all';
        else if (Array.isArray(a.allowedVlans)) {
          set.allowedVlans = [...new Set(a.allowedVlans.map((v) => int(v, `${c.address}: allowedVlans`, 1, 4094)))].sort((x, y) => x - y);
        } else throw new DriverError(`${c.address}: allowedVlans must be a list`, { code: 'E_NET_BAD_CHANGE' });
      }
      if (a.description !== undefined) set.description = safeString(a.description, `${c.address}: description`, 64);
      if (a.enabled !== undefined) {
        if (typeof a.enabled !== 'boolean') throw new DriverError(`${c.address}: enabled must be true or false`, { code: 'E_NET_BAD_CHANGE' });
        set.enabled = a.enabled;
      }
      ports.push({ op: 'port-set', port, set });
    } else {
      throw new DriverError(`${c.address}: kind ${c.kind} is not handled by a switch driver`, { code: 'E_NET_BAD_CHANGE' });
    }
  }
  return [...vlanSets, ...ports, ...vlanDeletes];
}

/** Apply ops to a config model (simulators, and drivers computing the config they expect). */
export function applyOpsToConfig(config: SwitchConfig, ops: SwitchOp[], portDefault: () => PortConfig): void {
  for (const o of ops) {
    if (o.op === 'vlan-set') config.vlans[String(o.id)] = { name: o.name };
    else if (o.op === 'vlan-delete') delete config.vlans[String(o.id)];
    else if (o.op === 'port-default') config.ports[o.port] = portDefault();
    else config.ports[o.port] = { ...(config.ports[o.port] ?? portDefault()), ...o.set };
  }
}
