/**
 * Test helpers for the network area: resources without YAML, expansion, and
 * a small planner that builds Change objects from DesiredObjects and a
 * ReadResult with the engine's own plan-stage functions.
 */
import { changeFor, prunedChange } from '../../engine/plan.js';
import { Secrets } from '../../engine/secrets.js';
import type { Change, DesiredObject, ExpandContext, KindDef, LiveObject, Resource, TargetReader, TargetSpec } from '../../engine/types.js';
import { objectKey } from '../../engine/types.js';
import { networkKinds } from '../../providers/network/kinds.js';
import { testResource } from '../support/resource.js';

export const ENV = 'schule-test';
export const defs = new Map<string, KindDef>(networkKinds.map((k) => [k.kind, k]));

export function res(kind: string, name: string, spec: any, labels: Record<string, string> = {}): Resource {
  return testResource(ENV, kind, name, spec, { labels, file: `${ENV}/network.yaml` });
}

export function byAddress(resources: Resource[]): Map<string, Resource> {
  return new Map(resources.map((r) => [r.address, r]));
}

export function expand(resources: Resource[]): DesiredObject[] {
  const map = byAddress(resources);
  const ctx: ExpandContext = { byAddress: map, resources, lookup: (kind, name) => map.get(`${ENV}/${kind}/${name}`) };
  return resources.flatMap((r) => defs.get(r.kind)?.expand?.(r, ctx) ?? []);
}

export function validate(resources: Resource[]) {
  const map = byAddress(resources);
  return resources.flatMap((r) => defs.get(r.kind)?.validate?.(r, { byAddress: map }) ?? []);
}

export function targetSpec(sw: Resource): TargetSpec {
  const { connection, ...rest } = sw.spec;
  return { address: sw.address, kind: 'Switch', name: sw.name, zone: 'school', spec: rest, connection: { ...connection } };
}

export interface TargetPlan {
  changes: Change[];
  unmanaged: LiveObject[];
}

/** Plan one switch: read what the manifests declare, diff, and prune unmanaged VLANs when the Switch says so. */
export async function planSwitch(reader: TargetReader, sw: Resource, resources: Resource[]): Promise<TargetPlan> {
  const desired = expand(resources).filter((d) => d.target === sw.address);
  const read = await reader.read(desired.map((d) => ({ kind: d.kind, id: d.id, state: d.state })));
  const changes: Change[] = [];
  const secrets = new Secrets({ zone: 'school' });
  for (const d of desired) {
    const live = read.objects[objectKey(d.kind, d.id)];
    if (live === undefined) throw new Error(`reader returned nothing for ${d.kind} ${d.id}`);
    const c = changeFor(defs.get(d.kind), d, d.state, live, secrets);
    if (c) changes.push(c);
  }
  const unmanaged: LiveObject[] = [];
  for (const u of read.unmanaged ?? []) {
    if (sw.spec.prune === true && !defs.get(u.kind)?.protectedLive?.(u, sw)) changes.push(prunedChange(u, sw));
    else unmanaged.push(u);
  }
  return { changes, unmanaged };
}

/** A Change written by hand (for faults and refusals the planner would not produce). */
export function change(kind: string, id: string, actions: Change['actions'], after: Record<string, unknown> | null): Change {
  return {
    address: `${ENV}/${kind}/manual[${id}]`,
    resource: `${ENV}/${kind}/manual`,
    kind,
    target: `${ENV}/Switch/sw`,
    id,
    actions,
    before: null,
    after,
    diff: [],
    liveFingerprint: '',
    dependsOn: [],
  };
}
