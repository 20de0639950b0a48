/**
 * The security kinds: Firewall (a target, driver `opnsense`), FirewallAlias
 * and FirewallRule.
 *
 * Desired objects (what `expand` produces; the driver maps them to OPNsense
 * fields in opnsense/mapping.ts):
 * - FirewallAlias -> id: the alias name on the firewall (its natural key),
 *   state { type, content (sorted), description, enabled }; aliases named in
 *   content are written as their names on the firewall.
 * - FirewallRule -> id: UUIDv5 of the rule's address (kit resourceUuid: the
 *   id OPNsense's setRule/{uuid} upsert creates it under), state with every
 *   match field, defaults filled in, so that a rule on the firewall is
 *   exactly what the manifest says: { sequence, interface[], direction,
 *   action, quick, protocol, ipProtocol, source[], sourceNot, sourcePort,
 *   destination[], destinationNot, destinationPort, log, enabled, description }.
 *   Address lists are sorted (OPNsense treats them as sets); alias names are
 *   the names on the firewall.
 */
import type { Diagnostic, DesiredObject, ExpandContext, KindDef, LiveObject, Resource } from '../../engine/types.js';
import { diagnosticAt as diag } from '../../engine/positions.js';
import { resourceUuid } from '../kit/uuid.js';
import { classifyAddress, classifyPort, deviceAliasName, findAlias, listOf, listPointers } from './syntax.js';
import { ALIAS_NAME, PORT_PROTOCOLS, RESERVED_ALIAS_NAMES, RULE_PROTOCOLS, SYSTEM_ALIASES } from './opnsense/vocabulary.js';

const firewallAddress = (env: string, name: string) => `${env}/Firewall/${name}`;

/** Printable text without line breaks (OPNsense's DescriptionField is one line). */
function oneLine(res: Resource, pointer: string, value: unknown, out: Diagnostic[]): void {
  if (typeof value === 'string' && /[\u0000-\u001f\u007f]/.test(value)) out.push(diag(res, pointer, 'E_FW_TEXT', 'must be one line of printable text (no line breaks or control characters)'));
}

function firewallRef(res: Resource): { pointer: string; kind: string; name: string }[] {
  return typeof res.spec?.firewall === 'string' ? [{ pointer: '/spec/firewall', kind: 'Firewall', name: res.spec.firewall }] : [];
}

// ------------------------------------------------------------------ Firewall

export const firewallKind: KindDef = {
  kind: 'Firewall',
  area: 'security',
  schema: 'security/Firewall.schema.json',
  isTarget: true,
};

// ------------------------------------------------------------- FirewallAlias

/** Entries of an alias's content that name other aliases (networkgroup members, nested host/network/port aliases). */
function aliasContentRefs(res: Resource): { value: string; pointer: string }[] {
  const type = res.spec?.type;
  return listPointers(res, 'content').filter(({ value }) => {
    if (type === 'networkgroup') return !SYSTEM_ALIASES.has(value) && !value.startsWith('__');
    if (type === 'port') return classifyPort(value).kind === 'alias';
    if (type === 'host' || type === 'network') return classifyAddress(value).kind === 'alias' && !/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(value);
    return false;
  });
}

function validateAliasEntry(res: Resource, type: string, value: string, pointer: string, out: Diagnostic[]): void {
  const bad = (msg: string): void => void out.push(diag(res, pointer, 'E_FW_ALIAS_CONTENT', msg));
  if (/[\s,]/.test(value)) return bad(`entry "${value}" contains white space or a comma; write one entry per list item`);
  switch (type) {
    case 'network': {
      const t = classifyAddress(value);
      if (t.kind === 'invalid') bad(t.reason);
      else if (t.kind === 'any' || t.kind === 'self' || (t.kind === 'alias' && value.includes('.'))) bad(`"${value}" is not a network or an alias name`);
      return;
    }
    case 'host': {
      const t = classifyAddress(value);
      if (t.kind === 'network') bad(`"${value}" is a network; host aliases take addresses and host names (use type network)`);
      else if (t.kind === 'any' || t.kind === 'self' || (t.kind === 'invalid' && !/^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/.test(value))) bad(`"${value}" is not an address, a host name or an alias`);
      return;
    }
    case 'port': {
      const t = classifyPort(value);
      if (t.kind === 'invalid') bad(t.reason);
      return;
    }
    case 'url':
    case 'urltable':
      if (!/^https?:\/\/[^\s]+$/.test(value)) bad(`"${value}" is not an http(s) URL`);
      return;
    case 'geoip':
      if (!/^[A-Z]{2}$/.test(value)) bad(`"${value}" is not a two-letter ISO 3166 country code in upper case (DE, AT, ...)`);
      return;
    case 'mac':
      if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){2,5}$/.test(value)) bad(`"${value}" is not a MAC address (or its first bytes) like 00:11:22:33:44:55`);
      return;
    case 'asn':
      if (!/^\d{1,10}$/.test(value) || Number(value) > 4294967295) bad(`"${value}" is not an AS number`);
      return;
    case 'networkgroup':
      return; // names of other aliases: references
  }
}

export const firewallAliasKind: KindDef = {
  kind: 'FirewallAlias',
  area: 'security',
  schema: 'security/FirewallAlias.schema.json',

  references(res) {
    return [...firewallRef(res), ...aliasContentRefs(res).map((r) => ({ pointer: r.pointer, kind: 'FirewallAlias', name: r.value }))];
  },

  validate(res, ctx) {
    const out: Diagnostic[] = [];
    const s = res.spec ?? {};
    const name = deviceAliasName(res);
    const namePtr = s.name !== undefined ? '/spec/name' : '/metadata/name';
    if (!ALIAS_NAME.test(name)) {
      out.push(diag(res, namePtr, 'E_FW_ALIAS_NAME', `alias name "${name}" is not valid on OPNsense: a letter or one underscore first, then letters, digits and underscores, at most 31 characters (set spec.name)`));
    } else if (RESERVED_ALIAS_NAMES.has(name) || SYSTEM_ALIASES.has(name) || name.startsWith('__')) {
      out.push(diag(res, namePtr, 'E_FW_ALIAS_NAME', `alias name "${name}" is reserved on OPNsense (a pf keyword or one of the firewall's own aliases); set spec.name`));
    }
    if (typeof s.type === 'string') for (const e of listPointers(res, 'content')) validateAliasEntry(res, s.type, e.value, e.pointer, out);
    oneLine(res, '/spec/description', s.description, out);
    for (const ref of aliasContentRefs(res)) {
      const other = findAlias(ctx.byAddress, res, ref.value);
      if (!other) continue; // a dangling name is reported by the engine
      const wantPort = s.type === 'port';
      if (wantPort !== (other.spec?.type === 'port')) {
        out.push(diag(res, ref.pointer, 'E_FW_ALIAS_TYPE', `alias ${ref.value} is of type ${other.spec?.type}; a ${s.type} alias can only contain ${wantPort ? 'port' : 'address'} aliases`));
      }
    }
    // two aliases with one name on the same firewall
    for (const other of ctx.byAddress.values()) {
      if (other === res || other.kind !== 'FirewallAlias' || other.env !== res.env || other.spec?.firewall !== s.firewall) continue;
      if (deviceAliasName(other) === name && other.address < res.address) {
        out.push(diag(res, namePtr, 'E_FW_ALIAS_DUPLICATE', `${other.address} has the same name "${name}" on firewall ${s.firewall}`));
      }
    }
    return out;
  },

  expand(res: Resource, ctx: ExpandContext): DesiredObject[] {
    if (typeof res.spec?.firewall !== 'string') return [];
    const target = firewallAddress(res.env, res.spec.firewall);
    const refs = new Set(aliasContentRefs(res).map((r) => r.value));
    const content = listOf(res.spec.content).map((v) => {
      const a = refs.has(v) ? ctx.lookup('FirewallAlias', v) : undefined;
      return a ? deviceAliasName(a) : v;
    });
    return [
      {
        address: res.address,
        resource: res.address,
        kind: 'FirewallAlias',
        target,
        id: deviceAliasName(res),
        ensure: 'present',
        state: { type: res.spec.type, content: [...content].sort(), description: res.spec.description ?? '', enabled: res.spec.enabled !== false },
        dependsOn: [target],
        pos: res.pos,
      },
    ];
  },

  normalize(state) {
    const s = { ...state };
    if (Array.isArray(s.content)) s.content = [...(s.content as string[])].sort();
    return s;
  },

  importAs(obj: LiveObject, target: Resource) {
    const st = obj.state as { type?: string; content?: string[]; description?: string; enabled?: boolean };
    const name = obj.id.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'alias';
    return {
      name,
      spec: {
        firewall: target.name,
        ...(name.replace(/[-.]/g, '_') !== obj.id ? { name: obj.id } : {}),
        type: st.type,
        content: st.content ?? [],
        ...(st.description ? { description: st.description } : {}),
        ...(st.enabled === false ? { enabled: false } : {}),
      },
    };
  },
};

// -------------------------------------------------------------- FirewallRule

const ADDRESS_FIELDS = ['source', 'destination'] as const;
const PORT_FIELDS = ['sourcePort', 'destinationPort'] as const;

function ruleAliasRefs(res: Resource): { value: string; pointer: string; port: boolean }[] {
  const out: { value: string; pointer: string; port: boolean }[] = [];
  for (const f of ADDRESS_FIELDS) for (const e of listPointers(res, f)) if (classifyAddress(e.value).kind === 'alias') out.push({ ...e, port: false });
  for (const f of PORT_FIELDS) {
    const v = res.spec?.[f];
    if (typeof v === 'string' && classifyPort(v).kind === 'alias') out.push({ value: v, pointer: `/spec/${f}`, port: true });
  }
  return out;
}

export const firewallRuleKind: KindDef = {
  kind: 'FirewallRule',
  area: 'security',
  schema: 'security/FirewallRule.schema.json',

  references(res) {
    return [...firewallRef(res), ...ruleAliasRefs(res).map((r) => ({ pointer: r.pointer, kind: 'FirewallAlias', name: r.value }))];
  },

  validate(res, ctx) {
    const out: Diagnostic[] = [];
    const s = res.spec ?? {};
    const protocol = s.protocol ?? 'any';
    if (typeof protocol === 'string' && !(RULE_PROTOCOLS as readonly string[]).includes(protocol)) {
      const hint = (RULE_PROTOCOLS as readonly string[]).find((p) => p.toLowerCase() === protocol.toLowerCase());
      out.push(diag(res, '/spec/protocol', 'E_FW_PROTOCOL', `protocol "${protocol}" is not one of OPNsense's protocol names${hint ? ` (write "${hint}")` : ' (any, TCP, UDP, TCP/UDP, ICMP, IPV6-ICMP, ESP, GRE, ...)'}`));
    }
    const ipProtocol = s.ipProtocol ?? 'inet';
    for (const f of ADDRESS_FIELDS) {
      const entries = listPointers(res, f);
      for (const e of entries) {
        const t = classifyAddress(e.value);
        if (t.kind === 'invalid') out.push(diag(res, e.pointer, 'E_FW_ADDRESS', t.reason));
        else if (t.kind === 'any' && entries.length > 1) out.push(diag(res, e.pointer, 'E_FW_ADDRESS', 'any can not be combined with other values'));
        else if ((t.kind === 'address' || t.kind === 'network') && ipProtocol !== 'inet46' && (t.family === 4) !== (ipProtocol === 'inet')) {
          out.push(diag(res, e.pointer, 'E_FW_ADDRESS', `"${e.value}" is IPv${t.family} but ipProtocol is ${ipProtocol}`));
        }
      }
      const notField = `${f}Not`;
      if (s[notField] === true && entries.length > 1) out.push(diag(res, `/spec/${notField}`, 'E_FW_INVERT', `${notField} needs a single ${f} (OPNsense inverts only single targets)`));
    }
    for (const f of PORT_FIELDS) {
      const v = s[f];
      if (typeof v !== 'string') continue;
      const t = classifyPort(v);
      if (t.kind === 'invalid') out.push(diag(res, `/spec/${f}`, 'E_FW_PORT', t.reason));
      if (!(PORT_PROTOCOLS as readonly string[]).includes(protocol)) out.push(diag(res, `/spec/${f}`, 'E_FW_PORT', `ports are only valid with protocol TCP, UDP or TCP/UDP (this rule has ${protocol})`));
    }
    for (const ref of ruleAliasRefs(res)) {
      const alias = findAlias(ctx.byAddress, res, ref.value);
      if (!alias) {
        const elsewhere = ctx.byAddress.get(`${res.env}/FirewallAlias/${ref.value}`);
        if (elsewhere) out.push(diag(res, ref.pointer, 'E_FW_ALIAS_FIREWALL', `alias ${ref.value} lives on firewall ${elsewhere.spec?.firewall}, not on ${s.firewall}`));
        continue;
      }
      const isPort = alias.spec?.type === 'port';
      if (ref.port !== isPort) out.push(diag(res, ref.pointer, 'E_FW_ALIAS_TYPE', ref.port ? `alias ${ref.value} is of type ${alias.spec?.type}, not a port alias` : `alias ${ref.value} is a port alias; use it in sourcePort/destinationPort`));
    }
    oneLine(res, '/spec/description', s.description, out);
    // two rules with one sequence on one firewall and interface set: their order on the firewall is not defined
    for (const other of ctx.byAddress.values()) {
      if (other === res || other.kind !== 'FirewallRule' || other.env !== res.env || other.spec?.firewall !== s.firewall) continue;
      if (other.spec?.sequence === s.sequence && sameSet(listOf(other.spec?.interface), listOf(s.interface)) && other.address < res.address) {
        out.push(diag(res, '/spec/sequence', 'W_FW_SEQUENCE', `${other.address} has the same sequence ${s.sequence} on the same interfaces: their order on the firewall is undefined`, 'warning'));
      }
    }
    return out;
  },

  expand(res: Resource, ctx: ExpandContext): DesiredObject[] {
    const s = res.spec ?? {};
    if (typeof s.firewall !== 'string') return [];
    const target = firewallAddress(res.env, s.firewall);
    const device = (v: string) => {
      const a = ctx.lookup('FirewallAlias', v);
      return a && a.spec?.firewall === s.firewall ? deviceAliasName(a) : v;
    };
    const addresses = (v: unknown) => (v === undefined ? ['any'] : listOf(v).map((x) => (classifyAddress(x).kind === 'alias' ? device(x) : x)).sort());
    const port = (v: unknown) => (typeof v !== 'string' ? '' : classifyPort(v).kind === 'alias' ? device(v) : v);
    return [
      {
        address: res.address,
        resource: res.address,
        kind: 'FirewallRule',
        target,
        id: resourceUuid(res.address),
        ensure: 'present',
        state: {
          sequence: s.sequence,
          interface: listOf(s.interface).sort(),
          direction: s.direction ?? 'in',
          action: s.action,
          quick: s.quick !== false,
          protocol: s.protocol ?? 'any',
          ipProtocol: s.ipProtocol ?? 'inet',
          source: addresses(s.source),
          sourceNot: s.sourceNot === true,
          sourcePort: port(s.sourcePort),
          destination: addresses(s.destination),
          destinationNot: s.destinationNot === true,
          destinationPort: port(s.destinationPort),
          log: s.log === true,
          enabled: s.enabled !== false,
          description: s.description ?? '',
        },
        dependsOn: [target],
        pos: res.pos,
      },
    ];
  },

  normalize(state) {
    const s = { ...state };
    for (const f of ['interface', 'source', 'destination']) if (Array.isArray(s[f])) s[f] = [...(s[f] as string[])].sort();
    return s;
  },

  importAs(obj: LiveObject, target: Resource) {
    const st = obj.state as Record<string, any>;
    const slug = String(st.description ?? '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40).replace(/-+$/, '');
    const one = (v: string[]) => (v.length === 1 ? v[0] : v);
    return {
      name: `${slug || 'rule'}-${obj.id.slice(0, 8)}`,
      spec: {
        firewall: target.name,
        sequence: st.sequence,
        interface: one(st.interface ?? []),
        direction: st.direction,
        action: st.action,
        ...(st.quick === false ? { quick: false } : {}),
        protocol: st.protocol,
        ...(st.ipProtocol !== 'inet' ? { ipProtocol: st.ipProtocol } : {}),
        source: one(st.source ?? ['any']),
        ...(st.sourceNot ? { sourceNot: true } : {}),
        ...(st.sourcePort ? { sourcePort: st.sourcePort } : {}),
        destination: one(st.destination ?? ['any']),
        ...(st.destinationNot ? { destinationNot: true } : {}),
        ...(st.destinationPort ? { destinationPort: st.destinationPort } : {}),
        ...(st.log ? { log: true } : {}),
        ...(st.enabled === false ? { enabled: false } : {}),
        ...(st.description ? { description: st.description } : {}),
      },
    };
  },
};

function sameSet(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

export const securityKinds: KindDef[] = [firewallKind, firewallAliasKind, firewallRuleKind];
