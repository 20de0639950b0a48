/**
 * IOS show output of the simulator, in the layout real Catalyst switches
 * print (so the driver's parsers, which are checked against real output,
 * read the simulator the same way).
 */
import type { PortConfig, SwitchConfig } from '../../model.js';
import { comparePorts, formatVlanList, iosLongName } from '../../ports.js';

/** The platform traits the output depends on (cli.ts IosPlatform). */
export interface RenderPlatform {
  archive: boolean;
  vtpMode: string;
  islCapable: boolean;
}

const DEFAULT_PLATFORM: RenderPlatform = { archive: true, vtpMode: 'transparent', islCapable: false };

const SYSTEM_VLANS: [string, string][] = [
  ['1002', 'fddi-default'],
  ['1003', 'token-ring-default'],
  ['1004', 'fddinet-default'],
  ['1005', 'trnet-default'],
];

function sortedVlanIds(c: SwitchConfig): string[] {
  return Object.keys(c.vlans).sort((a, b) => Number(a) - Number(b));
}

function sortedPorts(c: SwitchConfig): string[] {
  return Object.keys(c.ports).sort(comparePorts);
}

/** Wrap comma-separated items into lines of at most `width`, continuation lines indented by `indent`. */
function wrapList(items: string[], width: number, indent: string): string[] {
  const out: string[] = [];
  let line = '';
  for (const it of items) {
    const next = line === '' ? it : `${line}, ${it}`;
    if (next.length > width && line !== '') {
      out.push(line);
      line = it;
    } else line = next;
  }
  out.push(line);
  return out.map((l, i) => (i === 0 ? l : indent + l));
}

export function renderShowVlanBrief(c: SwitchConfig): string {
  const rows = [
    '',
    'VLAN Name                             Status    Ports',
    '---- -------------------------------- --------- -------------------------------',
  ];
  const members = new Map<string, string[]>();
  for (const p of sortedPorts(c)) {
    const port = c.ports[p];
    if (port.mode === 'trunk') continue;
    const list = members.get(String(port.accessVlan)) ?? [];
    list.push(p);
    members.set(String(port.accessVlan), list);
  }
  for (const id of sortedVlanIds(c)) {
    const head = `${id.padEnd(4)} ${c.vlans[id].name.padEnd(32)} ${'active'.padEnd(9)} `;
    const ports = wrapList(members.get(id) ?? [], 31, ' '.repeat(48));
    rows.push(head + ports[0], ...ports.slice(1));
  }
  for (const [id, name] of SYSTEM_VLANS) rows.push(`${id.padEnd(4)} ${name.padEnd(32)} ${'act/unsup'.padEnd(9)} `);
  return rows.join('\n') + '\n';
}

function vlanLabel(c: SwitchConfig, id: number): string {
  if (id === 1) return '1 (default)';
  const v = c.vlans[String(id)];
  return v ? `${id} (${v.name})` : `${id} (Inactive)`;
}

function wrapVlanList(text: string): string[] {
  // IOS breaks "Trunking VLANs Enabled:" after a comma near column 80 and indents with 5 spaces
  const out: string[] = [];
  let rest = text;
  let first = true;
  while (rest.length > 0) {
    const room = first ? 56 : 70;
    if (rest.length <= room) {
      out.push(rest);
      break;
    }
    const cut = rest.lastIndexOf(',', room);
    const at = cut > 0 ? cut + 1 : rest.length;
    out.push(rest.slice(0, at));
    rest = rest.slice(at);
    first = false;
  }
  return out.map((l, i) => (i === 0 ? l : '     ' + l));
}

function switchportBlock(c: SwitchConfig, name: string, p: PortConfig, platform: RenderPlatform): string[] {
  const admin = p.mode === 'access' ? 'static access' : p.mode;
  const oper = !p.enabled ? 'down' : p.mode === 'trunk' ? 'trunk' : 'static access';
  const dynamic = p.mode.startsWith('dynamic');
  // dot1q-only platforms (2960) always say dot1q; ISL-capable ones negotiate until told otherwise
  const encapsulation = platform.islCapable ? String(c.deviceAttributes?.ports?.[name]?.encapsulation ?? 'negotiate') : 'dot1q';
  const trunking = wrapVlanList(p.allowedVlans === 'all' ? 'ALL' : p.allowedVlans.length ? formatVlanList(p.allowedVlans) : 'NONE');
  return [
    `Name: ${name}`,
    'Switchport: Enabled',
    `Administrative Mode: ${admin}`,
    `Operational Mode: ${oper}`,
    `Administrative Trunking Encapsulation: ${encapsulation}`,
    ...(p.enabled ? [`Operational Trunking Encapsulation: ${p.mode === 'trunk' ? 'dot1q' : 'native'}`] : []),
    `Negotiation of Trunking: ${dynamic ? 'On' : 'Off'}`,
    `Access Mode VLAN: ${vlanLabel(c, p.accessVlan)}`,
    `Trunking Native Mode VLAN: ${vlanLabel(c, p.nativeVlan)}`,
    'Administrative Native VLAN tagging: enabled',
    'Voice VLAN: none',
    'Administrative private-vlan host-association: none',
    'Administrative private-vlan mapping: none',
    'Administrative private-vlan trunk native VLAN: none',
    'Administrative private-vlan trunk Native VLAN tagging: enabled',
    'Administrative private-vlan trunk encapsulation: dot1q',
    'Administrative private-vlan trunk normal VLANs: none',
    'Administrative private-vlan trunk associations: none',
    'Administrative private-vlan trunk mappings: none',
    'Operational private-vlan: none',
    `Trunking VLANs Enabled: ${trunking[0]}`,
    ...trunking.slice(1),
    'Pruning VLANs Enabled: 2-1001',
    'Capture Mode Disabled',
    'Capture VLANs Allowed: ALL',
    '',
    'Protected: false',
    'Unknown unicast blocked: disabled',
    'Unknown multicast blocked: disabled',
    'Appliance trust: none',
    '',
  ];
}

export function renderShowInterfacesSwitchport(c: SwitchConfig, only?: string, platform = DEFAULT_PLATFORM): string {
  const out: string[] = [];
  for (const p of sortedPorts(c)) if (!only || only === p) out.push(...switchportBlock(c, p, c.ports[p], platform));
  return out.join('\n') + '\n';
}

function interfaceLines(p: PortConfig, encapsulation: unknown): string[] {
  const l: string[] = [];
  if (p.description) l.push(` description ${p.description}`);
  if (encapsulation === 'dot1q' || encapsulation === 'isl') l.push(` switchport trunk encapsulation ${encapsulation}`);
  if (p.accessVlan !== 1) l.push(` switchport access vlan ${p.accessVlan}`);
  if (p.nativeVlan !== 1) l.push(` switchport trunk native vlan ${p.nativeVlan}`);
  if (p.allowedVlans !== 'all') l.push(` switchport trunk allowed vlan ${p.allowedVlans.length ? formatVlanList(p.allowedVlans) : 'none'}`);
  if (p.mode !== 'dynamic auto') l.push(` switchport mode ${p.mode}`);
  if (!p.enabled) l.push(' shutdown');
  return l;
}

export function renderRunningConfig(c: SwitchConfig, onlyInterface?: string, platform = DEFAULT_PLATFORM): string {
  const body: string[] = [];
  const vlanDat = platform.vtpMode === 'server' || platform.vtpMode === 'client';
  if (!onlyInterface) {
    body.push('!', 'version 15.2', 'no service pad', 'service timestamps debug datetime msec', 'service timestamps log datetime msec');
    body.push('!', `hostname ${c.hostname}`, '!', 'boot-start-marker', 'boot-end-marker', '!');
    if (platform.archive) body.push('archive', ' path flash:archive', ' maximum 14', '!');
    // VLANs and the VTP mode appear in the running-config only in transparent/off mode (otherwise they live in vlan.dat)
    if (!vlanDat) body.push(`vtp mode ${platform.vtpMode}`, '!');
    body.push('spanning-tree mode rapid-pvst', 'spanning-tree extend system-id', '!');
    for (const id of vlanDat ? [] : sortedVlanIds(c)) {
      if (id === '1') continue;
      body.push(`vlan ${id}`, ` name ${c.vlans[id].name}`, '!');
    }
  }
  for (const p of sortedPorts(c)) {
    if (onlyInterface && onlyInterface !== p) continue;
    body.push(`interface ${iosLongName(p) ?? p}`, ...interfaceLines(c.ports[p], c.deviceAttributes?.ports?.[p]?.encapsulation), '!');
  }
  if (!onlyInterface) {
    body.push('interface Vlan1', ' no ip address', ' shutdown', '!', 'ip http server', 'ip ssh version 2', '!');
    body.push('line con 0', 'line vty 0 15', ' login local', ' transport input ssh', '!', 'end');
  }
  const text = body.join('\n') + '\n';
  return `Building configuration...\n\nCurrent configuration : ${text.length} bytes\n${text}`;
}

export function renderShowArchive(archive: boolean): string {
  if (!archive) return 'Archive feature not enabled\n';
  return 'The maximum archive configurations allowed is 14.\nThere are currently 1 archive configurations saved.\nThe next archive file will be named flash:archive-2\n Archive #  Name\n   1        flash:archive-1 <- Most Recent\n';
}

export function renderShowVtpStatus(c: SwitchConfig, mode: string): string {
  const title = mode.charAt(0).toUpperCase() + mode.slice(1);
  return [
    'VTP Version capable             : 1 to 3',
    'VTP version running             : 1',
    'VTP Domain Name                 : ',
    'VTP Pruning Mode                : Disabled',
    'VTP Traps Generation            : Disabled',
    `Device ID                       : ${c.hostname}`,
    '',
    'Feature VLAN:',
    '--------------',
    `VTP Operating Mode                : ${title}`,
    'Maximum VLANs supported locally   : 1005',
    `Number of existing VLANs          : ${Object.keys(c.vlans).length + 4}`,
    'Configuration Revision            : 0',
    '',
  ].join('\n');
}
