/**
 * The value grammar of FirewallRule and FirewallAlias manifests, shared by
 * the kinds (validation, expansion) and the driver (mapping to OPNsense).
 *
 * Addresses (`source`, `destination`, network/host alias content):
 *   `any`, `(self)` (the firewall itself), an IPv4/IPv6 address, a network
 *   in CIDR notation with the host bits zero, a system alias the firewall
 *   has by itself (`bogons`, `__lan_network`, ...), or the metadata.name of a
 *   FirewallAlias on the same firewall.
 * Ports (`sourcePort`, `destinationPort`, port alias content):
 *   a number, a range `low-high`, a well-known service name (`https`), or
 *   the metadata.name of a port alias.
 *
 * Alias names on the firewall follow OPNsense's AliasNameField (letters,
 * digits, underscores); manifests name resources in lower case with '-' and
 * '.', so a FirewallAlias's name on the firewall is `spec.name`, else its
 * metadata.name with '-' and '.' written as '_'.
 */
import { isIP } from 'node:net';
import type { Resource } from '../../engine/model.js';
import { parseCidr } from '../../engine/net.js';
import { WELL_KNOWN_PORTS, isSystemAliasName, portRange } from './opnsense/vocabulary.js';

export type AddressToken =
  | { kind: 'any' }
  | { kind: 'self' }
  | { kind: 'address'; family: 4 | 6 }
  | { kind: 'network'; family: 4 | 6 }
  | { kind: 'system' }
  | { kind: 'alias'; name: string }
  | { kind: 'invalid'; reason: string };

/** metadata.name as the loader allows it (engine/validate.ts NAME_PATTERN). */
const RESOURCE_NAME = /^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/;

export function classifyAddress(value: string): AddressToken {
  if (value === 'any') return { kind: 'any' };
  if (value === '(self)') return { kind: 'self' };
  const ip = isIP(value);
  if (ip) return { kind: 'address', family: ip as 4 | 6 };
  if (value.includes('/')) {
    const [addr] = value.split('/');
    const range = parseCidr(value);
    const family = isIP(addr);
    if (!range || !family) return { kind: 'invalid', reason: `"${value}" is not a network in CIDR notation` };
    if (range.start !== parseCidr(`${addr}/${family === 4 ? 32 : 128}`)!.start) {
      return { kind: 'invalid', reason: `"${value}" has host bits set; write the network address` };
    }
    return { kind: 'network', family: range.family };
  }
  if (isSystemAliasName(value)) return { kind: 'system' };
  if (RESOURCE_NAME.test(value)) return { kind: 'alias', name: value };
  return { kind: 'invalid', reason: `"${value}" is neither any, (self), an address, a network nor the name of a FirewallAlias` };
}

export type PortToken = { kind: 'port'; range: [number, number] } | { kind: 'service'; port: number } | { kind: 'alias'; name: string } | { kind: 'invalid'; reason: string };

export function classifyPort(value: string): PortToken {
  const range = portRange(value);
  if (range) return { kind: 'port', range };
  const colon = /^(\d+):(\d+)$/.exec(value);
  if (colon) return { kind: 'invalid', reason: `"${value}" is not a port; write a range as ${colon[1]}-${colon[2]}` };
  if (/^\d/.test(value)) return { kind: 'invalid', reason: `"${value}" is not a port (1-65535) or a range low-high with low < high` };
  const known = WELL_KNOWN_PORTS[value];
  if (known !== undefined) return { kind: 'service', port: known };
  if (RESOURCE_NAME.test(value)) return { kind: 'alias', name: value };
  return { kind: 'invalid', reason: `"${value}" is not a port, a range low-high, a service name or the name of a port FirewallAlias` };
}

/** A string or a list of strings as a list (anything else: empty, the schema reports it). */
export function listOf(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** JSON pointers of the entries of a string-or-list field. */
export function listPointers(res: Resource, field: string): { value: string; pointer: string }[] {
  const v = res.spec?.[field];
  if (typeof v === 'string') return [{ value: v, pointer: `/spec/${field}` }];
  return Array.isArray(v) ? v.flatMap((x, i) => (typeof x === 'string' ? [{ value: x, pointer: `/spec/${field}/${i}` }] : [])) : [];
}

/** The alias name on the firewall for a FirewallAlias resource. */
export function deviceAliasName(alias: Resource): string {
  return typeof alias.spec?.name === 'string' ? alias.spec.name : alias.name.replace(/[-.]/g, '_');
}

/** The FirewallAlias a rule or alias names, in its environment, on its firewall. */
export function findAlias(byAddress: Map<string, Resource>, from: Resource, name: string): Resource | undefined {
  const a = byAddress.get(`${from.env}/FirewallAlias/${name}`);
  return a && a.spec?.firewall === from.spec?.firewall ? a : undefined;
}
