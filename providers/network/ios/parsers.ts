/**
 * Parsers for Cisco IOS / IOS-XE show output. Pure functions of the text;
 * checked against real device output in ../shared/corpus/network/ntc-templates.
 */
import { defaultPort, type PortConfig, type PortMode, type SwitchConfig } from '../model.js';
import { iosShortName, parseVlanList } from '../ports.js';

function lines(text: string): string[] {
  return text.replace(/\r/g, '').split('\n');
}

// ---------------------------------------------------------------- show vlan

export interface IosVlanEntry {
  vlanId: string;
  name: string;
  status: string;
  /** Access ports (short names) as listed in the Ports column. */
  interfaces: string[];
}

/**
 * `show vlan` / `show vlan brief`: the first table (VLAN, Name, Status, Ports).
 * Column positions are taken from the dashes line, so names with spaces work.
 */
export function parseShowVlan(text: string): IosVlanEntry[] {
  const ls = lines(text);
  const out: IosVlanEntry[] = [];
  let i = ls.findIndex((l) => /^VLAN\s+Name\s+Status\s+Ports/.test(l));
  if (i < 0) return out;
  const dashes = ls[i + 1] ?? '';
  const cols: number[] = [];
  for (const m of dashes.matchAll(/-+/g)) cols.push(m.index!);
  if (cols.length < 4) return out;
  const cut = (l: string, k: number) => l.slice(cols[k], k + 1 < cols.length ? cols[k + 1] : undefined).trim();
  let cur: IosVlanEntry | undefined;
  for (i += 2; i < ls.length; i++) {
    const l = ls[i];
    if (l.trim() === '') break; // the table ends at the first blank line
    const ports = cut(l, 3)
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean);
    if (/^\d+/.test(l)) {
      cur = { vlanId: cut(l, 0), name: cut(l, 1), status: cut(l, 2), interfaces: ports };
      out.push(cur);
    } else if (cur && /^\s/.test(l)) {
      cur.interfaces.push(...ports);
    }
  }
  return out;
}

// ---------------------------------------------------------------- show vlans

export interface IosVlansEntry {
  vlanId: string;
  interfaces: string[];
  ipAddresses: string[];
  ipv6Addresses: string[];
  innerVlans: string[];
}

const IFNAME = /^([A-Za-z][A-Za-z-]*\d[\w/.:-]*)\s*$/;

/**
 * `show vlans` (802.1Q subinterfaces on routers / L3 switches), both the
 * `VLAN ID:` and the older `Virtual LAN ID:` layouts.
 */
export function parseShowVlans(text: string): IosVlansEntry[] {
  const out: IosVlansEntry[] = [];
  let cur: IosVlansEntry | undefined;
  let legacy = false; // "Virtual LAN ID:" layout
  let section: 'none' | 'native' | 'trunk' | 'protocols' = 'none';
  const add = (list: string[], v: string) => {
    if (!list.includes(v)) list.push(v);
  };
  for (const raw of lines(text)) {
    const l = raw.replace(/\s+$/, '');
    let m = /^(Virtual LAN ID|VLAN ID):\s+(\d+)/.exec(l);
    if (m) {
      legacy = m[1] === 'Virtual LAN ID';
      cur = { vlanId: m[2], interfaces: [], ipAddresses: [], ipv6Addresses: [], innerVlans: [] };
      out.push(cur);
      section = 'none';
      continue;
    }
    if (!cur) continue;
    if (/configured as native Vlan/.test(l)) {
      section = 'native';
      continue;
    }
    if ((m = /^\s*vLAN Trunk Interfaces?:\s+(\S+)/.exec(l))) {
      cur.interfaces.push(m[1]);
      section = 'trunk';
      continue;
    }
    if (/^VLAN trunk interfaces for VLAN ID/.test(l)) {
      section = 'trunk';
      continue;
    }
    if (/^\s*Protocols Configured:/.test(l)) {
      section = 'protocols';
      continue;
    }
    // "GigabitEthernet8 (1)" / "Te2/1/9.1013000 (101/3000)": per-subinterface statistics header
    if ((m = /^([A-Za-z][\w/.:-]*)\s+\((\d+)(?:\/(\d+))?\)\s*$/.exec(l))) {
      if (m[3]) add(cur.innerVlans, m[3]);
      if (legacy) cur.interfaces.push(m[1]);
      continue;
    }
    if ((m = /^\s+IPv6:\s+(\S+)/.exec(l)) || (m = /^\s+IPv6\s+([0-9A-Fa-f:]+:[0-9A-Fa-f:]*)\s/.exec(l))) {
      add(cur.ipv6Addresses, m[1]);
      continue;
    }
    if ((m = /^\s+IP:\s+(\d+\.\d+\.\d+\.\d+)/.exec(l)) || (m = /^\s+IP\s+(\d+\.\d+\.\d+\.\d+)/.exec(l))) {
      add(cur.ipAddresses, m[1]);
      continue;
    }
    if (l.trim() === '') {
      if (section === 'native') section = 'none';
      continue;
    }
    if ((m = IFNAME.exec(l))) {
      if (section === 'trunk') cur.interfaces.push(m[1]);
      continue;
    }
  }
  return out;
}

// ------------------------------------------------- show interfaces switchport

export interface IosSwitchportEntry {
  interface: string;
  switchport: string;
  adminMode: string;
  /** Operational mode. */
  mode: string;
  /** Administrative Trunking Encapsulation: dot1q, isl or negotiate (ISL-capable platforms). */
  adminEncapsulation: string;
  negotiation: string;
  accessVlan: string;
  nativeVlan: string;
  voiceVlan: string;
  /** As printed: `ALL`, or items like `1`, `31-36`. */
  trunkingVlans: string[];
}

/** `show interfaces switchport`: one entry per `Name:` block. */
export function parseShowInterfacesSwitchport(text: string): IosSwitchportEntry[] {
  const out: IosSwitchportEntry[] = [];
  let cur: IosSwitchportEntry | undefined;
  let inTrunking = false;
  const vlanOf = (v: string) => /^(\S+)/.exec(v.trim())?.[1] ?? '';
  for (const raw of lines(text)) {
    const l = raw.replace(/\s+$/, '');
    if (inTrunking && /^\s+\S/.test(l) && !/:/.test(l)) {
      cur!.trunkingVlans.push(...l.trim().split(',').filter(Boolean));
      continue;
    }
    inTrunking = false;
    const m = /^([A-Za-z][^:]*):\s*(.*)$/.exec(l);
    if (!m) continue;
    const [key, value] = [m[1].trim(), m[2].trim()];
    if (key === 'Name') {
      cur = {
        interface: value,
        switchport: '',
        adminMode: '',
        mode: '',
        adminEncapsulation: '',
        negotiation: '',
        accessVlan: '',
        nativeVlan: '',
        voiceVlan: '',
        trunkingVlans: [],
      };
      out.push(cur);
      continue;
    }
    if (!cur) continue;
    switch (key) {
      case 'Switchport':
        cur.switchport = value;
        break;
      case 'Administrative Mode':
        cur.adminMode = value;
        break;
      case 'Operational Mode':
        cur.mode = value;
        break;
      case 'Administrative Trunking Encapsulation':
        cur.adminEncapsulation = value;
        break;
      case 'Negotiation of Trunking':
        cur.negotiation = value;
        break;
      case 'Access Mode VLAN':
        cur.accessVlan = vlanOf(value);
        break;
      case 'Trunking Native Mode VLAN':
        cur.nativeVlan = vlanOf(value);
        break;
      case 'Voice VLAN':
        cur.voiceVlan = vlanOf(value);
        break;
      case 'Trunking VLANs Enabled':
        cur.trunkingVlans = value.split(',').filter(Boolean);
        inTrunking = true;
        break;
    }
  }
  return out;
}

// ------------------------------------------------ show running-config

export interface IosInterfaceConfig {
  interface: string;
  description: string;
  shutdown: boolean;
  switchportMode?: string;
  accessVlan?: string;
  nativeVlan?: string;
  /** Text after `switchport trunk allowed vlan`, with `add` lines merged. */
  allowedVlans?: string;
  outerVlan?: string;
  innerVlan?: string;
  ipAddress?: string;
  netmask?: string;
  vrf?: string;
  mtu?: string;
}

/** `interface` blocks of `show running-config` (or `show running-config interface ...`). */
export function parseRunningConfigInterfaces(text: string): IosInterfaceConfig[] {
  const out: IosInterfaceConfig[] = [];
  let cur: IosInterfaceConfig | undefined;
  for (const raw of lines(text)) {
    const l = raw.replace(/\s+$/, '');
    let m = /^interface (\S+)/.exec(l);
    if (m) {
      cur = { interface: m[1], description: '', shutdown: false };
      out.push(cur);
      continue;
    }
    if (!cur) continue;
    if (!/^ /.test(l)) {
      cur = undefined;
      continue;
    }
    const s = l.slice(1);
    if ((m = /^description (.*)$/.exec(s))) cur.description = m[1];
    else if (s === 'shutdown') cur.shutdown = true;
    else if (s === 'no shutdown') cur.shutdown = false;
    else if ((m = /^switchport mode (.+)$/.exec(s))) cur.switchportMode = m[1];
    else if ((m = /^switchport access vlan (\d+)$/.exec(s))) cur.accessVlan = m[1];
    else if ((m = /^switchport trunk native vlan (\d+)$/.exec(s))) cur.nativeVlan = m[1];
    else if ((m = /^switchport trunk allowed vlan add (.+)$/.exec(s))) cur.allowedVlans = (cur.allowedVlans ? cur.allowedVlans + ',' : '') + m[1];
    else if ((m = /^switchport trunk allowed vlan (.+)$/.exec(s))) cur.allowedVlans = m[1];
    else if ((m = /^encapsulation dot1Q (\d+)(?: second-dot1q (\d+))?/i.exec(s))) {
      cur.outerVlan = m[1];
      if (m[2]) cur.innerVlan = m[2];
    } else if ((m = /^ip address (\d+\.\d+\.\d+\.\d+) (\d+\.\d+\.\d+\.\d+)/.exec(s))) {
      cur.ipAddress = m[1];
      cur.netmask = m[2];
    } else if ((m = /^(?:ip )?vrf forwarding (\S+)/.exec(s))) cur.vrf = m[1];
    else if ((m = /^mtu (\d+)/.exec(s))) cur.mtu = m[1];
  }
  return out;
}

/** `vlan N` / ` name X` blocks of the running-config (VTP transparent/off). */
export function parseRunningConfigVlans(text: string): { vlanId: string; name: string }[] {
  const out: { vlanId: string; name: string }[] = [];
  let cur: { vlanId: string; name: string } | undefined;
  for (const raw of lines(text)) {
    const l = raw.replace(/\s+$/, '');
    let m = /^vlan ([\d,-]+)$/.exec(l);
    if (m) {
      const ids = parseVlanList(m[1]);
      cur = undefined;
      for (const id of ids === 'all' ? [] : ids) {
        cur = { vlanId: String(id), name: `VLAN${String(id).padStart(4, '0')}` };
        out.push(cur);
      }
      continue;
    }
    if (cur && (m = /^ name (.+)$/.exec(l))) cur.name = m[1];
    else if (!/^ /.test(l)) cur = undefined;
  }
  return out;
}

/** `show vtp status`: operating mode (lower case: server, client, transparent, off) and version; undefined fields if absent. */
export function parseShowVtpStatus(text: string): { mode?: string; version?: number } {
  const t = text.replace(/\r/g, '');
  const mode = /^VTP Operating Mode\s*:\s*(\S+)/im.exec(t)?.[1]?.toLowerCase();
  const version = /^VTP version running\s*:\s*(\d)/im.exec(t)?.[1] ?? /^VTP Version\s*:\s*(?:running VTP)?(\d)/im.exec(t)?.[1];
  return { mode, version: version ? Number(version) : undefined };
}

/** Physical interface names (short form) of `interface` blocks, for telling a routed port from a missing one. */
function physicalInterfaces(runningConfig: string): string[] {
  const out: string[] = [];
  for (const i of parseRunningConfigInterfaces(runningConfig)) {
    const id = iosShortName(i.interface);
    if (id && /^(Fa|Gi|Te|Tw|Twe|Fi|Fo|Hu|Et)\d/.test(id)) out.push(id);
  }
  return out;
}

export function hostnameFromRunningConfig(text: string): string | undefined {
  return /^hostname (\S+)/m.exec(text.replace(/\r/g, ''))?.[1];
}

function modeOf(adminMode: string): PortMode | undefined {
  if (adminMode === 'static access' || adminMode === 'access') return 'access';
  if (adminMode === 'trunk') return 'trunk';
  if (adminMode === 'dynamic auto' || adminMode === 'dynamic desirable') return adminMode;
  return undefined;
}

/**
 * The switch model from the three reads: VLANs from `show vlan brief`,
 * switchport settings from `show interfaces switchport`, description and
 * shutdown from `show running-config`. Ports that are not switchports
 * (routed, `Switchport: Disabled`) are left out.
 */
export function switchConfigFromIos(runningConfig: string, showVlan: string, showSwitchport: string, showVtpStatus?: string): SwitchConfig {
  const config: SwitchConfig = { hostname: hostnameFromRunningConfig(runningConfig) ?? '', vlans: {}, ports: {} };
  const negotiated: string[] = [];
  for (const v of parseShowVlan(showVlan)) config.vlans[v.vlanId] = { name: v.name };
  const rc = new Map<string, IosInterfaceConfig>();
  for (const i of parseRunningConfigInterfaces(runningConfig)) rc.set(iosShortName(i.interface) ?? i.interface, i);
  for (const sp of parseShowInterfacesSwitchport(showSwitchport)) {
    if (sp.switchport !== 'Enabled') continue;
    const id = iosShortName(sp.interface) ?? sp.interface;
    const mode = modeOf(sp.adminMode);
    if (!mode) continue;
    const port: PortConfig = defaultPort(mode);
    if (sp.accessVlan && /^\d+$/.test(sp.accessVlan)) port.accessVlan = Number(sp.accessVlan);
    if (sp.nativeVlan && /^\d+$/.test(sp.nativeVlan)) port.nativeVlan = Number(sp.nativeVlan);
    port.allowedVlans = parseVlanList(sp.trunkingVlans.join(','));
    const c = rc.get(id);
    if (c) {
      port.description = c.description;
      port.enabled = !c.shutdown;
    }
    config.ports[id] = port;
    if (/^(negotiate|isl)$/i.test(sp.adminEncapsulation)) negotiated.push(id);
  }
  if (showVtpStatus === undefined) return config;
  // Facts: what this switch cannot do (plan-time checks, transaction prechecks).
  const vtp = parseShowVtpStatus(showVtpStatus);
  const reserved = [{ from: 1002, to: 1005, why: 'IOS reserves VLANs 1002-1005 (FDDI and Token Ring defaults)' }];
  if ((vtp.mode === 'server' || vtp.mode === 'client') && (vtp.version ?? 1) < 3) {
    reserved.push({ from: 1006, to: 4094, why: `extended-range VLANs need VTP mode transparent or off (the switch is in VTP ${vtp.mode} mode, version ${vtp.version ?? 1})` });
  }
  config.facts = {
    reservedVlans: reserved,
    nonSwitchports: physicalInterfaces(runningConfig).filter((p) => !config.ports[p]),
    ...(vtp.mode ? { vtpMode: vtp.mode } : {}),
    ...(negotiated.length ? { negotiatedEncapsulation: negotiated } : {}),
  };
  return config;
}
