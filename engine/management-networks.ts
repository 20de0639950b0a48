/**
 * Where an environment's targets may be: `Environment.spec.managementNetworks`
 * (CIDRs, host names, `*.suffix` wildcards). Checked at validate, before any
 * connection is opened or any secret is read, so a change under review cannot
 * point a device resource at an attacker's host and receive the zone's
 * credentials during `plan`. An environment without the list may only have
 * loopback targets (the lab). Host names are compared as written, never
 * resolved: DNS is not asked during validation.
 */
import type { Catalog } from './contract.js';
import type { Diagnostic, Resource } from './model.js';
import { isLoopback, normalizeHost, parseCidr, type Range } from './net.js';
import { posOf } from './positions.js';

/** Every host a target's driver will contact: the driver entry says (defaults included), else `host` and `*Host` fields. */
export function targetHosts(catalog: Catalog, target: Resource): { field: string; host: unknown }[] {
  const c = (target.spec?.connection ?? {}) as Record<string, unknown>;
  const entry = catalog.driverEntry(String(c.driver));
  if (entry?.hosts) return entry.hosts(c);
  return Object.entries(c)
    .filter(([k]) => k === 'host' || /^[a-z][A-Za-z]*Host$/.test(k))
    .map(([field, host]) => ({ field, host }));
}

interface Rule {
  text: string;
  range?: Range;
  name?: string;
  suffix?: string;
}

/** One entry of the list, or an error message. */
export function parseNetworkEntry(text: unknown): Rule | string {
  if (typeof text !== 'string' || !text.trim()) return 'an entry must be a CIDR (10.20.0.0/16), an address, a host name or *.domain';
  const t = text.trim();
  const cidr = parseCidr(t.includes('/') ? t : normalizeHost(t)?.startsWith('v6:') || t.includes(':') ? `${t.replace(/^\[|\]$/g, '')}/128` : `${t}/32`);
  if (cidr) return { text: t, range: cidr };
  if (t.includes('/')) return `${JSON.stringify(t)} is not a CIDR`;
  if (/^\*\.[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/i.test(t)) return { text: t, suffix: t.slice(1).toLowerCase() };
  if (/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/i.test(t)) return { text: t, name: normalizeHost(t)! };
  return `${JSON.stringify(t)} is neither a CIDR, an address, a host name nor *.domain`;
}

function inRange(host: string, r: Range): boolean {
  if (r.family === 4) {
    if (!/^\d+\.\d+\.\d+\.\d+$/.test(host)) return false;
    const v = host.split('.').reduce((a, p) => a * 256 + Number(p), 0);
    return v >= r.start && v <= r.end;
  }
  if (!host.startsWith('v6:')) return false;
  const v = BigInt('0x' + host.slice(3));
  return v >= r.start && v <= r.end;
}

function allowed(host: string, rules: Rule[]): boolean {
  return rules.some((r) => (r.range ? inRange(host, r.range) : r.name ? r.name === host : !!r.suffix && host.endsWith(r.suffix)));
}

/**
 * Diagnostics for targets outside their environment's management networks.
 * `networksOf` gives an environment's list (undefined: none declared); the
 * caller decides where it comes from (the working tree at validate, the
 * trusted revision at plan and apply).
 */
export function checkManagementNetworks(
  catalog: Catalog,
  resources: Resource[],
  networksOf: (env: string) => { list: unknown[] | undefined; pos?: Resource },
): Diagnostic[] {
  const out: Diagnostic[] = [];
  const parsed = new Map<string, Rule[] | undefined>();
  const rulesOf = (env: string): Rule[] | undefined => {
    if (!parsed.has(env)) {
      const { list, pos } = networksOf(env);
      if (list === undefined) parsed.set(env, undefined);
      else {
        const rules: Rule[] = [];
        list.forEach((e, i) => {
          const r = parseNetworkEntry(e);
          if (typeof r === 'string') {
            if (pos) out.push({ severity: 'error', code: 'E_MANAGEMENT_NETWORK', message: `managementNetworks[${i}]: ${r}`, pos: posOf(pos, `/spec/managementNetworks/${i}`) });
          } else rules.push(r);
        });
        parsed.set(env, rules);
      }
    }
    return parsed.get(env);
  };
  for (const t of resources) {
    if (!catalog.kind(t.kind)?.isTarget) continue;
    const rules = rulesOf(t.env);
    for (const { field, host } of targetHosts(catalog, t)) {
      const pos = posOf(t, `/spec/connection/${field}`);
      if (typeof host !== 'string' || /\$\{secret:/.test(host)) {
        out.push({ severity: 'error', code: 'E_MANAGEMENT_NETWORK', message: `${t.address}: connection.${field} must be a literal host name or address (it decides where credentials go)`, pos });
        continue;
      }
      const h = normalizeHost(host);
      if (h === null) continue; // the schema reports an empty host
      if (rules === undefined) {
        if (!isLoopback(h)) {
          out.push({
            severity: 'error',
            code: 'E_MANAGEMENT_NETWORK',
            message: `${t.address}: connection.${field} ${JSON.stringify(host)} is not loopback, and environment ${t.env} declares no spec.managementNetworks; list where its devices may be (CIDRs, host names) in its environment.yaml`,
            pos,
          });
        }
      } else if (!allowed(h, rules)) {
        out.push({
          severity: 'error',
          code: 'E_MANAGEMENT_NETWORK',
          message: `${t.address}: connection.${field} ${JSON.stringify(host)} is outside the management networks of environment ${t.env} (${rules.map((r) => r.text).join(', ') || 'none'}); nothing is sent to it`,
          pos,
        });
      }
    }
  }
  return out;
}
