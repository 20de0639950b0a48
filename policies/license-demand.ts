/**
 * Seat demand of a license pool: the distinct devices that what a License
 * `covers` reaches, counted from plain resource data and the plan's live
 * reads. Written against DESIGN.md's pinned field names, so it needs none of
 * the software or endpoints code:
 *
 * - SoftwareDeployment (opsi): every client of its `group` (the ClientGroup's
 *   `clients`, FQDNs, compared lowercased as opsi stores them). A deployment
 *   with `action: uninstall` removes the product and consumes no seat.
 * - App (Intune): the devices of every group in its `assignments` whose
 *   `intent` is not `uninstall` (required and available both count: an
 *   available app may be installed on any device it is offered to), minus
 *   the devices of groups assigned with `exclude: true`. A DeviceGroup's
 *   devices are its `devices` (serial numbers, upper-cased) from the
 *   manifest, or for a `membershipRule` group the `members` the Intune driver
 *   read live (ObservedObject.state.members). `allDevices: true` reaches
 *   every device of the tenant, which no manifest lists: the devices of the
 *   tenant's declared groups are counted as a lower bound and the demand is
 *   marked incomplete.
 *
 * Devices are keyed per kind of identity (`client:<fqdn>`, `device:<serial>`),
 * so one device reached by two covers counts once; a PC known to opsi by name
 * and to Intune by serial counts twice (nothing in the manifests ties them).
 */
import type { ObservedObject, Resource } from '../engine/types.js';

export interface CoverDemand {
  /** The covered SoftwareDeployment or App (undefined when it does not exist: validate reports that). */
  resource?: Resource;
  kind: string;
  name: string;
  devices: Set<string>;
  /** How the devices were found, for messages: "3 clients of ClientGroup gs-nord-pcs". */
  via: string;
  /** False for what removes software (uninstall) and consumes no seat. */
  consumes: boolean;
}

export interface PoolDemand {
  license: Resource;
  devices: Set<string>;
  covers: CoverDemand[];
  /** Why part of the demand could not be counted (empty: the count is exact). */
  unknown: string[];
}

/** Live members of dynamic device groups, by DeviceGroup address, from what the plan read (null: the group does not exist yet). */
export function liveGroupMembers(observed: ObservedObject[] = []): Map<string, string[] | null> {
  const out = new Map<string, string[] | null>();
  for (const o of observed) {
    if (o?.kind !== 'DeviceGroup' || typeof o.resource !== 'string') continue;
    const members = o.state && Array.isArray(o.state.members) ? o.state.members.filter((m): m is string => typeof m === 'string') : null;
    const prev = out.get(o.resource);
    out.set(o.resource, members === null ? (prev ?? null) : [...(prev ?? []), ...members]);
  }
  return out;
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

export class DemandCounter {
  private readonly byAddress: Map<string, Resource>;

  constructor(
    resources: Resource[],
    private readonly members: Map<string, string[] | null>,
  ) {
    this.byAddress = new Map(resources.map((r) => [r.address, r]));
  }

  private lookup(env: string, kind: string, name: unknown): Resource | undefined {
    return typeof name === 'string' ? this.byAddress.get(`${env}/${kind}/${name}`) : undefined;
  }

  /** Devices of a DeviceGroup; `unknown` gets a note when they cannot be known before apply. */
  private groupDevices(group: Resource, unknown: string[]): string[] {
    if (Array.isArray(group.spec?.devices)) return strings(group.spec.devices).map((s) => `device:${s.toUpperCase()}`);
    const live = this.members.get(group.address);
    if (!live) {
      unknown.push(`DeviceGroup ${group.name} has a membershipRule and ${live === null ? 'does not exist yet' : 'was not read'}: its members count once it exists (re-plan after apply)`);
      return [];
    }
    return live.map((s) => `device:${s.toUpperCase()}`);
  }

  private deployment(d: Resource): Omit<CoverDemand, 'kind' | 'name' | 'resource'> {
    const group = this.lookup(d.env, 'ClientGroup', d.spec?.group);
    if (d.spec?.action === 'uninstall') return { devices: new Set(), via: 'uninstalls the product (consumes no seat)', consumes: false };
    const clients = group ? strings(group.spec?.clients).map((c) => `client:${c.toLowerCase()}`) : [];
    const devices = new Set(clients);
    return { devices, via: `${devices.size} client(s) of ClientGroup ${String(d.spec?.group)}`, consumes: true };
  }

  private app(a: Resource, unknown: string[]): Omit<CoverDemand, 'kind' | 'name' | 'resource'> {
    const assignments = Array.isArray(a.spec?.assignments) ? a.spec.assignments.filter((x: unknown) => x && typeof x === 'object') : [];
    const included = new Set<string>();
    const excluded = new Set<string>();
    const parts: string[] = [];
    let consumes = false;
    for (const as of assignments) {
      if (as.intent === 'uninstall') continue;
      const into = as.exclude === true ? excluded : included;
      if (as.exclude !== true) consumes = true;
      if (as.allDevices === true) {
        const tenantGroups = [...this.byAddress.values()].filter((r) => r.kind === 'DeviceGroup' && r.env === a.env && r.spec?.tenant === a.spec?.tenant);
        unknown.push(`App ${a.name} is assigned to all devices of tenant ${String(a.spec?.tenant)}: only the devices of its ${tenantGroups.length} declared group(s) are counted`);
        for (const g of tenantGroups) for (const d of this.groupDevices(g, unknown)) into.add(d);
        parts.push(as.exclude === true ? 'all devices excluded' : 'all devices');
        continue;
      }
      const g = this.lookup(a.env, 'DeviceGroup', as.group);
      if (!g) continue;
      const devices = this.groupDevices(g, unknown);
      for (const d of devices) into.add(d);
      parts.push(`${as.exclude === true ? 'minus ' : ''}${devices.length} device(s) of DeviceGroup ${g.name}`);
    }
    for (const d of excluded) included.delete(d);
    return { devices: included, via: parts.length ? parts.join(', ') : 'no assignment that installs it', consumes };
  }

  /** The demand of one License. */
  pool(license: Resource): PoolDemand {
    const unknown: string[] = [];
    const covers: CoverDemand[] = [];
    const all = new Set<string>();
    for (const c of Array.isArray(license.spec?.covers) ? license.spec.covers : []) {
      if (!c || typeof c.kind !== 'string' || typeof c.name !== 'string') continue;
      const r = this.lookup(license.env, c.kind, c.name);
      let d: Omit<CoverDemand, 'kind' | 'name' | 'resource'>;
      if (!r) d = { devices: new Set(), via: 'not declared', consumes: false };
      else if (c.kind === 'SoftwareDeployment') d = this.deployment(r);
      else if (c.kind === 'App') d = this.app(r, unknown);
      else continue;
      covers.push({ resource: r, kind: c.kind, name: c.name, ...d });
      for (const x of d.devices) all.add(x);
    }
    return { license, devices: all, covers, unknown };
  }
}
