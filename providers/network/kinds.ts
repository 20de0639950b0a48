/**
 * The network kinds: Switch (a target), Vlan and SwitchPort.
 *
 * Desired objects (what `expand` produces; see model.ts for the state fields):
 * - Vlan `students` on core-01 and acc-01 -> `<env>/Vlan/students[core-01]`, `...[acc-01]`,
 *   id "20", state { id: 20, name: "SCHUELER" }
 * - SwitchPort `classroom` with ports Gi1/0/1-24 -> `<env>/SwitchPort/classroom[Gi1/0/1]` ...,
 *   id "Gi1/0/1", state { mode, accessVlan | nativeVlan + allowedVlans, description?, enabled? }
 *   (VLANs as ids, never names; only fields the manifest sets).
 */
import type { Diagnostic, DesiredObject, ExpandContext, KindDef, LiveObject, Resource } from '../../engine/types.js';
import { diag } from './diag.js';
import { unsafeCliValue } from './model.js';
import { expandPortSpec, type PortStyle } from './ports.js';

export const VLAN_ROLES = ['management', 'servers', 'teachers', 'students', 'guests', 'printers', 'administration', 'voice', 'wlan', 'other'] as const;

/** Longest description both platforms take (AOS-CX: 64; IOS: 240). */
export const MAX_DESCRIPTION = 64;
/** Longest VLAN name both platforms take. */
export const MAX_VLAN_NAME = 32;

const switchAddress = (env: string, name: string) => `${env}/Switch/${name}`;
const vlanAddress = (env: string, name: string) => `${env}/Vlan/${name}`;

function labelsMatch(labels: Record<string, string> | undefined, want: Record<string, unknown>): boolean {
  return Object.entries(want).every(([k, v]) => labels?.[k] === v);
}

/** Names of the switches a Vlan lives on: its list, or the Switches of its environment its selector matches. */
export function vlanSwitchNames(vlan: Resource, resources: Iterable<Resource>): string[] {
  const sw = vlan.spec?.switches;
  if (Array.isArray(sw)) return sw.filter((s): s is string => typeof s === 'string');
  if (sw && typeof sw === 'object' && sw.matchLabels && typeof sw.matchLabels === 'object') {
    const out: string[] = [];
    for (const r of resources) {
      if (r.kind === 'Switch' && r.env === vlan.env && labelsMatch(r.labels, sw.matchLabels)) out.push(r.name);
    }
    return out.sort();
  }
  return [];
}

/** The VLAN name that goes to the switch: spec.name, else metadata.name. */
export function deviceVlanName(vlan: Resource): string {
  return typeof vlan.spec?.name === 'string' ? vlan.spec.name : vlan.name;
}

/** Check a value that will be typed into a switch CLI. */
function cliString(res: Resource, pointer: string, what: string, value: unknown, max: number, out: Diagnostic[], allowEmpty = false): void {
  if (typeof value !== 'string') return; // the schema reports wrong types
  const bad = unsafeCliValue(value);
  if (bad) {
    out.push(diag(res, pointer, 'E_NET_CLI_UNSAFE', `${what} contains ${bad}; values sent to a switch CLI must be one line of printable ASCII without "!" or "?"`));
  }
  if (value.length > max) out.push(diag(res, pointer, 'E_NET_TOO_LONG', `${what} is ${value.length} characters long; switches take at most ${max}`));
  if (value.length === 0 && !allowEmpty) out.push(diag(res, pointer, 'E_NET_EMPTY', `${what} is empty`));
}

function portSpecOf(res: Resource): { ports: string[]; style?: PortStyle } {
  const r = expandPortSpec(String(res.spec?.ports ?? ''));
  return r.ok ? { ports: r.ports, style: r.style } : { ports: [] };
}

function driverStyle(sw: Resource | undefined): PortStyle | undefined {
  const d = sw?.spec?.connection?.driver;
  return d === 'ios' ? 'ios' : d === 'aoscx' ? 'aoscx' : undefined;
}

/** VLAN and management-VLAN objects are never pruned. */
export function protectedVlan(obj: LiveObject, target: Resource): boolean {
  if (obj.kind === 'SwitchPort') return true;
  if (obj.kind !== 'Vlan') return false;
  const id = Number(obj.id);
  return id === 1 || (id >= 1002 && id <= 1005) || id === Number(target.spec?.managementVlan);
}

// ------------------------------------------------------------------ Switch

export const switchKind: KindDef = {
  kind: 'Switch',
  area: 'network',
  schema: 'network/Switch.schema.json',
  isTarget: true,
  protectedLive: protectedVlan,
};

// ------------------------------------------------------------------ Vlan

export const vlanKind: KindDef = {
  kind: 'Vlan',
  area: 'network',
  schema: 'network/Vlan.schema.json',

  references(res) {
    const sw = res.spec?.switches;
    if (!Array.isArray(sw)) return [];
    return sw.flatMap((name: unknown, i: number) => (typeof name === 'string' ? [{ pointer: `/spec/switches/${i}`, kind: 'Switch', name }] : []));
  },

  validate(res, ctx) {
    const out: Diagnostic[] = [];
    const name = deviceVlanName(res);
    const namePtr = res.spec?.name !== undefined ? '/spec/name' : '/metadata/name';
    cliString(res, namePtr, 'VLAN name', name, MAX_VLAN_NAME, out);
    if (typeof name === 'string' && !unsafeCliValue(name) && !/^[A-Za-z0-9_.-]*$/.test(name)) {
      out.push(diag(res, namePtr, 'E_NET_VLAN_NAME', `VLAN name "${name}" may only use letters, digits, "_", "." and "-" (it is sent to the switch unquoted)`));
    }
    const id = res.spec?.id;
    if (id === 1 && res.spec?.ensure === 'absent') out.push(diag(res, '/spec/ensure', 'E_NET_VLAN_PROTECTED', 'VLAN 1 cannot be removed from a switch'));
    const subnet = res.spec?.subnet;
    if (typeof subnet === 'string' && !validCidr(subnet)) {
      out.push(diag(res, '/spec/subnet', 'E_NET_SUBNET', `subnet "${subnet}" is not a network in CIDR notation (like 10.20.0.0/22) with the host bits zero`));
    }
    const all = [...ctx.byAddress.values()];
    const switches = vlanSwitchNames(res, all);
    if (!Array.isArray(res.spec?.switches) && switches.length === 0) {
      out.push(diag(res, '/spec/switches', 'W_NET_SELECTOR_EMPTY', 'the label selector matches no Switch in this environment', 'warning'));
    }
    // another Vlan with the same id on one of the same switches
    for (const other of all) {
      if (other === res || other.kind !== 'Vlan' || other.env !== res.env || other.spec?.id !== id) continue;
      const shared = vlanSwitchNames(other, all).filter((s) => switches.includes(s));
      if (shared.length) {
        out.push(diag(res, '/spec/id', 'E_NET_VLAN_DUPLICATE', `VLAN ${id} is also declared by ${other.address} on ${shared.join(', ')}`));
      }
    }
    return out;
  },

  expand(res: Resource, ctx: ExpandContext): DesiredObject[] {
    const id = res.spec?.id;
    if (typeof id !== 'number') return [];
    const ensure = res.spec?.ensure === 'absent' ? 'absent' : 'present';
    return vlanSwitchNames(res, ctx.resources).map((sw) => ({
      address: `${res.address}[${sw}]`,
      resource: res.address,
      kind: 'Vlan',
      target: switchAddress(res.env, sw),
      id: String(id),
      ensure,
      state: { id, name: deviceVlanName(res) },
      dependsOn: [switchAddress(res.env, sw)],
      pos: res.pos,
    }));
  },

  normalize(state) {
    const s = { ...state };
    if (typeof s.id === 'string' && /^\d+$/.test(s.id)) s.id = Number(s.id);
    return s;
  },

  protectedLive: protectedVlan,

  importAs(obj, target) {
    const deviceName = String(obj.state?.name ?? '');
    const slug = deviceName.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
    return {
      name: slug ? `${slug}-${obj.id}` : `vlan-${obj.id}`,
      spec: { id: Number(obj.id), ...(deviceName ? { name: deviceName } : {}), switches: [target.name] },
    };
  },
};

function validCidr(s: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(s);
  if (!m) return false;
  const o = m.slice(1, 5).map(Number);
  const len = Number(m[5]);
  if (o.some((x) => x > 255) || len > 32) return false;
  const addr = ((o[0] << 24) | (o[1] << 16) | (o[2] << 8) | o[3]) >>> 0;
  const mask = len === 0 ? 0 : (~0 << (32 - len)) >>> 0;
  return (addr & ~mask) >>> 0 === 0;
}

// ------------------------------------------------------------ SwitchPort

/** The Vlan names a SwitchPort refers to, with the JSON pointer of each. */
function portVlanRefs(res: Resource): { pointer: string; name: string }[] {
  const s = res.spec ?? {};
  const out: { pointer: string; name: string }[] = [];
  if (typeof s.vlan === 'string') out.push({ pointer: '/spec/vlan', name: s.vlan });
  if (typeof s.nativeVlan === 'string') out.push({ pointer: '/spec/nativeVlan', name: s.nativeVlan });
  if (Array.isArray(s.allowedVlans)) {
    s.allowedVlans.forEach((n: unknown, i: number) => {
      if (typeof n === 'string') out.push({ pointer: `/spec/allowedVlans/${i}`, name: n });
    });
  }
  return out;
}

export const switchPortKind: KindDef = {
  kind: 'SwitchPort',
  area: 'network',
  schema: 'network/SwitchPort.schema.json',

  references(res) {
    const out: { pointer: string; kind: string; name: string }[] = [];
    if (typeof res.spec?.switch === 'string') out.push({ pointer: '/spec/switch', kind: 'Switch', name: res.spec.switch });
    for (const r of portVlanRefs(res)) out.push({ pointer: r.pointer, kind: 'Vlan', name: r.name });
    return out;
  },

  validate(res, ctx) {
    const out: Diagnostic[] = [];
    const s = res.spec ?? {};
    cliString(res, '/spec/description', 'description', s.description, MAX_DESCRIPTION, out, true); // '' means "no description"

    const spec = expandPortSpec(String(s.ports ?? ''));
    if (typeof s.ports === 'string' && !spec.ok) out.push(diag(res, '/spec/ports', 'E_NET_PORT_RANGE', spec.error));
    const sw = typeof s.switch === 'string' ? ctx.byAddress.get(switchAddress(res.env, s.switch)) : undefined;
    const style = driverStyle(sw);
    if (spec.ok && style && spec.style !== style) {
      const example = style === 'ios' ? 'Gi1/0/1-24' : '1/1/1-1/1/48';
      out.push(diag(res, '/spec/ports', 'E_NET_PORT_STYLE', `switch ${s.switch} uses driver ${style}: write its ports like ${example}`));
    }

    if (s.mode === 'trunk' && s.vlan !== undefined) out.push(diag(res, '/spec/vlan', 'E_NET_PORT_MODE', 'vlan (the access VLAN) is for mode access; a trunk uses nativeVlan and allowedVlans'));
    if (s.mode === 'access') {
      if (s.nativeVlan !== undefined) out.push(diag(res, '/spec/nativeVlan', 'E_NET_PORT_MODE', 'nativeVlan is for mode trunk'));
      if (s.allowedVlans !== undefined) out.push(diag(res, '/spec/allowedVlans', 'E_NET_PORT_MODE', 'allowedVlans is for mode trunk'));
    }

    // every VLAN the port uses must exist on the port's switch
    const all = [...ctx.byAddress.values()];
    for (const ref of portVlanRefs(res)) {
      const vlan = ctx.byAddress.get(vlanAddress(res.env, ref.name));
      if (!vlan || !sw) continue; // dangling references (the VLAN's or the switch's) are reported by the engine, once
      if (vlan.spec?.ensure === 'absent') {
        out.push(diag(res, ref.pointer, 'E_NET_VLAN_ABSENT', `VLAN ${ref.name} is declared absent (ensure: absent) but this port uses it`));
      } else if (!vlanSwitchNames(vlan, all).includes(s.switch)) {
        out.push(diag(res, ref.pointer, 'E_NET_VLAN_NOT_ON_SWITCH', `VLAN ${ref.name} is not declared on switch ${s.switch} (add it to the Vlan's switches)`));
      }
    }

    // two SwitchPort resources must not configure the same port
    if (spec.ok && typeof s.switch === 'string') {
      const mine = new Set(spec.ports);
      for (const other of all) {
        if (other === res || other.kind !== 'SwitchPort' || other.env !== res.env || other.spec?.switch !== s.switch) continue;
        const clash = portSpecOf(other).ports.filter((p) => mine.has(p));
        if (clash.length) {
          out.push(diag(res, '/spec/ports', 'E_NET_PORT_OVERLAP', `port ${clash[0]}${clash.length > 1 ? ` (and ${clash.length - 1} more)` : ''} is also configured by ${other.address}`));
        }
      }
    }
    return out;
  },

  expand(res: Resource, ctx: ExpandContext): DesiredObject[] {
    const s = res.spec ?? {};
    const spec = expandPortSpec(String(s.ports ?? ''));
    if (!spec.ok || typeof s.switch !== 'string') return [];
    const vlanId = (name: unknown): number | undefined => {
      const v = typeof name === 'string' ? ctx.lookup('Vlan', name) : undefined;
      return typeof v?.spec?.id === 'number' ? v.spec.id : undefined;
    };
    const state: Record<string, unknown> = { mode: s.mode };
    if (s.mode === 'access' && s.vlan !== undefined) state.accessVlan = vlanId(s.vlan);
    if (s.mode === 'trunk') {
      if (s.nativeVlan !== undefined) state.nativeVlan = vlanId(s.nativeVlan);
      if (Array.isArray(s.allowedVlans)) {
        const ids: number[] = s.allowedVlans.map(vlanId).filter((x: unknown): x is number => typeof x === 'number');
        state.allowedVlans = [...new Set(ids)].sort((a, b) => a - b);
      }
    }
    if (typeof s.description === 'string') state.description = s.description;
    if (typeof s.enabled === 'boolean') state.enabled = s.enabled;
    const target = switchAddress(res.env, s.switch);
    const dependsOn = [target, ...new Set(portVlanRefs(res).map((r) => vlanAddress(res.env, r.name)))];
    return spec.ports.map((port) => ({
      address: `${res.address}[${port}]`,
      resource: res.address,
      kind: 'SwitchPort',
      target,
      id: port,
      ensure: 'present' as const,
      state: { ...state },
      dependsOn,
      pos: res.pos,
    }));
  },

  normalize(state) {
    const s = { ...state };
    if (Array.isArray(s.allowedVlans)) s.allowedVlans = [...new Set(s.allowedVlans.map(Number))].sort((a, b) => a - b);
    return s;
  },

  protectedLive: () => true,
};

export const networkKinds: KindDef[] = [switchKind, vlanKind, switchPortKind];
