/**
 * Targets: the devices a run talks to. Builds the TargetSpec a driver gets
 * (secrets resolved, key files made absolute) and groups desired objects by
 * target.
 */
import { isAbsolute, relative, resolve } from 'node:path';
import type { Catalog, DesiredObject, ExpandContext, Plan, Resource, TargetSpec } from './types.js';
import type { Secrets } from './secrets.js';
import { redactRefs } from './secrets.js';
import { CONNECTION_FILE_FIELDS as FILE_FIELDS } from './local-files.js';

export function isTargetResource(catalog: Catalog, r: Resource): boolean {
  return !!catalog.kind(r.kind)?.isTarget;
}

/** The driver name a target resource asks for (`spec.connection.driver`). */
export function driverName(r: Resource): string {
  return String(r.spec?.connection?.driver);
}

/** Connection as stored in a plan: secrets as placeholders, files relative to the working directory. */
export function planConnection(r: Resource): Record<string, unknown> {
  const c = { ...(r.spec.connection ?? {}) } as Record<string, unknown>;
  for (const f of FILE_FIELDS) {
    if (typeof c[f] === 'string') c[f] = relative(process.cwd(), resolve(r.dir, c[f] as string)) || '.';
  }
  return redactRefs(c);
}

/** A target as stored in a plan, so that apply needs nothing but the plan (and the secrets). */
export interface PlannedTarget {
  address: string;
  kind: string;
  name: string;
  zone: TargetSpec['zone'];
  driver: string;
  spec: Record<string, unknown>;
  connection: Record<string, unknown>;
}

/** A plan as computed and stored: the plan file's fields plus the targets it touches. */
export type PlanWithTargets = Plan & { targets: PlannedTarget[] };

export function plannedTarget(r: Resource): PlannedTarget {
  const { connection: _c, ...rest } = r.spec ?? {};
  return { address: r.address, kind: r.kind, name: r.name, zone: r.zone, driver: driverName(r), spec: redactRefs(rest), connection: planConnection(r) };
}

/** The TargetSpec a driver gets: secrets resolved, files absolute. */
export function targetSpec(t: PlannedTarget, secrets: Secrets): TargetSpec {
  const connection = secrets.resolve(t.connection, 'plan') as Record<string, unknown>;
  for (const f of FILE_FIELDS) {
    if (typeof connection[f] === 'string' && !isAbsolute(connection[f] as string)) connection[f] = resolve(process.cwd(), connection[f] as string);
  }
  return { address: t.address, kind: t.kind, name: t.name, zone: t.zone, spec: t.spec, connection };
}

export function expandAll(catalog: Catalog, resources: Resource[], byAddress: Map<string, Resource>): DesiredObject[] {
  const byEnvKindName = new Map<string, Resource>();
  for (const r of resources) byEnvKindName.set(r.address, r);
  const out: DesiredObject[] = [];
  const perEnv = new Map<string, Resource[]>();
  for (const r of resources) (perEnv.get(r.env) ?? perEnv.set(r.env, []).get(r.env)!).push(r);
  for (const [env, rs] of perEnv) {
    const ctx: ExpandContext = { byAddress, resources: rs, lookup: (kind, name) => byEnvKindName.get(`${env}/${kind}/${name}`) };
    for (const r of rs) {
      const def = catalog.kind(r.kind);
      if (!def || def.isMeta || def.isTarget || !def.expand) continue;
      out.push(...def.expand(r, ctx));
    }
  }
  return out;
}
