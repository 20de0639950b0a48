/**
 * AOS-CX: the REST v10.x JSON for VLANs and interfaces to and from the
 * switch model, and a parser for the CLI `show vlan` (checked against the
 * real output in ../shared/corpus/network/ntc-templates/aruba_aoscx).
 *
 * REST shapes (as the driver sends and the simulator serves them):
 *   GET  /system/vlans?depth=2      { "20": { "id": 20, "name": "SCHUELER", "type": "static", ... }, ... }
 *   GET  /system/interfaces?depth=2 { "1/1/1": { "name": "1/1/1", "description": "...",
 *          "vlan_mode": "access" | "native-untagged" | "native-tagged",
 *          "vlan_tag": { "20": "/rest/v10.09/system/vlans/20" }  (or the URI string),
 *          "vlan_trunks": { "10": "...", ... } (or a URI list; empty = all VLANs),
 *          "user_config": { "admin": "up" | "down" }, "routing": false }, ... }
 */
import { defaultPort, type PortConfig, type SwitchConfig } from '../model.js';
import { canonicalPort } from '../ports.js';

// ---------------------------------------------------------------- CLI

export interface AoscxVlanEntry {
  vlanId: string;
  name: string;
  status: string;
  reason: string;
  type: string;
  /** As printed: single ports or ranges (`1/1/34-1/1/52`). */
  interfaces: string[];
}

/** CLI `show vlan`. Columns are located from the header line. */
export function parseAoscxShowVlan(text: string): AoscxVlanEntry[] {
  const ls = text.replace(/\r/g, '').split('\n');
  const h = ls.findIndex((l) => /^VLAN\s+Name\s+Status\s+Reason\s+Type\s+Interfaces/.test(l));
  if (h < 0) return [];
  const header = ls[h];
  const cols = ['VLAN', 'Name', 'Status', 'Reason', 'Type', 'Interfaces'].map((w) => header.indexOf(w));
  const cut = (l: string, k: number) => l.slice(cols[k], k + 1 < cols.length ? cols[k + 1] : undefined).trim();
  const out: AoscxVlanEntry[] = [];
  let cur: AoscxVlanEntry | undefined;
  for (const l of ls.slice(h + 1)) {
    if (/^-+$/.test(l.trim()) || l.trim() === '') continue;
    const ifs = cut(l, 5)
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (/^\d+/.test(l)) {
      cur = { vlanId: cut(l, 0), name: cut(l, 1), status: cut(l, 2), reason: cut(l, 3), type: cut(l, 4), interfaces: ifs };
      out.push(cur);
    } else if (cur) {
      cur.interfaces.push(...ifs);
    }
  }
  return out;
}

/** Expand `1/1/2-1/1/4` style items into single ports. */
export function expandAoscxInterfaces(items: string[]): string[] {
  const out: string[] = [];
  for (const it of items) {
    const m = /^(\d+)\/(\d+)\/(\d+)-(\d+)\/(\d+)\/(\d+)$/.exec(it);
    if (m && m[1] === m[4] && m[2] === m[5]) {
      for (let p = Number(m[3]); p <= Number(m[6]); p++) out.push(`${m[1]}/${m[2]}/${p}`);
    } else out.push(it);
  }
  return out;
}

// ---------------------------------------------------------------- REST

/** VLAN ids named by a REST reference: a URI string, a list of URIs, or an `{id: uri}` map. */
export function vlanRefIds(ref: unknown): number[] {
  const ids: number[] = [];
  const one = (s: unknown) => {
    const m = typeof s === 'string' ? /(\d+)\/?$/.exec(s) : typeof s === 'number' ? [String(s), String(s)] : null;
    if (m) ids.push(Number(m[1]));
  };
  if (ref == null) return ids;
  if (typeof ref === 'string' || typeof ref === 'number') one(ref);
  else if (Array.isArray(ref)) ref.forEach(one);
  else if (typeof ref === 'object') {
    for (const [k, v] of Object.entries(ref as Record<string, unknown>)) {
      if (/^\d+$/.test(k)) ids.push(Number(k));
      else if (v && typeof v === 'object' && 'id' in (v as object)) one((v as { id: unknown }).id);
      else one(v);
    }
  }
  return [...new Set(ids)].sort((a, b) => a - b);
}

export function portFromRest(i: Record<string, any>): PortConfig {
  const p = defaultPort('access');
  const tag = vlanRefIds(i.vlan_tag)[0] ?? 1;
  if (i.vlan_mode === 'native-untagged' || i.vlan_mode === 'native-tagged') {
    p.mode = 'trunk';
    p.nativeVlan = tag;
    const trunks = vlanRefIds(i.vlan_trunks);
    p.allowedVlans = trunks.length ? trunks : 'all';
  } else {
    p.accessVlan = tag;
  }
  p.description = typeof i.description === 'string' ? i.description : '';
  p.enabled = (i.user_config?.admin ?? i.admin ?? 'up') !== 'down';
  return p;
}

/** The REST body (PUT /system/interfaces/{name}) for a port configuration. */
export function restBodyFromPort(p: PortConfig, base: string): Record<string, unknown> {
  const uri = (id: number) => `${base}/system/vlans/${id}`;
  const trunk = p.mode === 'trunk';
  return {
    description: p.description === '' ? null : p.description,
    routing: false,
    user_config: { admin: p.enabled ? 'up' : 'down' },
    vlan_mode: trunk ? 'native-untagged' : 'access',
    vlan_tag: uri(trunk ? p.nativeVlan : p.accessVlan),
    vlan_trunks: trunk && p.allowedVlans !== 'all' ? p.allowedVlans.map(uri) : [],
  };
}

/** What AOS-CX can express of a port (one VLAN tag, trunks only on trunks): sims store ports in this form. */
export function aoscxNormalPort(p: PortConfig): PortConfig {
  const trunk = p.mode === 'trunk';
  return {
    mode: trunk ? 'trunk' : 'access',
    accessVlan: trunk ? 1 : p.accessVlan,
    nativeVlan: trunk ? p.nativeVlan : 1,
    allowedVlans: trunk && p.allowedVlans !== 'all' && p.allowedVlans.length ? [...p.allowedVlans] : 'all',
    description: p.description,
    enabled: p.enabled,
  };
}

/** The switch model from GET /system (hostname), /system/vlans?depth=2 and /system/interfaces?depth=2. */
export function switchConfigFromRest(system: any, vlans: Record<string, any>, interfaces: Record<string, any>): SwitchConfig {
  const config: SwitchConfig = { hostname: String(system?.hostname ?? ''), vlans: {}, ports: {} };
  for (const [k, v] of Object.entries(vlans ?? {})) {
    const id = String(v?.id ?? k);
    config.vlans[id] = { name: String(v?.name ?? '') };
  }
  for (const [k, i] of Object.entries(interfaces ?? {})) {
    if (!i || typeof i !== 'object' || i.routing === true) continue;
    const name = canonicalPort(decodeURIComponent(String(i.name ?? k)));
    if (!name || !/^\d+\/\d+\/\d+$/.test(name)) continue; // physical ports only (no lag/vlan/loopback)
    config.ports[name] = portFromRest(i);
  }
  return config;
}
