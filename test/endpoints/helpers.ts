/**
 * A simulated Intune tenant and the intune driver on one virtual clock
 * (throttling windows, backoff and replication waits take no real time), and
 * the engine's own plan step for desired objects, for the endpoint tests.
 */
import assert from 'node:assert/strict';
import type { Change, DesiredObject, ReadResult, TargetSpec } from '../../engine/types.js';
import { objectKey } from '../../engine/types.js';
import { changeFor } from '../../engine/plan.js';
import { Secrets } from '../../engine/secrets.js';
import { defaultCatalog } from '../../cli/catalog.js';
import { VirtualClock } from '../../providers/kit/clock.js';
import type { ApiClient } from '../../providers/kit/client.js';
import { createIntuneDriver, type IntuneLimits } from '../../providers/endpoints/intune/driver.js';
import { startGraphSim, type GraphSimOptions, type RunningGraphSim } from '../../providers/endpoints/intune/sim/index.js';

export const TENANT_ID = '3f2a9c3e-5b1d-4c8e-9a7b-2d6f1e0c4b5a';
export const CLIENT_ID = '6b1e2f4a-9c3d-4e5f-8a7b-1c2d3e4f5a6b';
export const CLIENT_SECRET = 'lab-graph-client-secret-7Qx~';
export const ADDRESS = 'schule/MdmTenant/intune';
export const IOS_PROFILE = '#microsoft.graph.iosGeneralDeviceConfiguration';
export const IOS_COMPLIANCE = '#microsoft.graph.iosCompliancePolicy';

export interface Lab {
  sim: RunningGraphSim;
  clock: VirtualClock;
  /** The target as the engine hands it over (secret resolved), with connection overrides. */
  target(extra?: Record<string, unknown>, spec?: Record<string, unknown>): TargetSpec;
  /** A driver on the lab's clock; `sessions` collects each session's client (request counters). */
  driver(limits?: Partial<IntuneLimits>, sessions?: ApiClient[]): ReturnType<typeof createIntuneDriver>;
  stop(): Promise<void>;
}

export async function startLab(o: Partial<Omit<GraphSimOptions, 'certSeed' | 'app' | 'clock'>> & { roles?: string[] } = {}): Promise<Lab> {
  const clock = new VirtualClock();
  const sim = await startGraphSim({ certSeed: ADDRESS, app: { tenantId: TENANT_ID, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, roles: o.roles }, clock, ...o });
  return {
    sim,
    clock,
    target: (extra = {}, spec = {}) => ({
      address: ADDRESS,
      kind: 'MdmTenant',
      name: 'intune',
      zone: 'school',
      spec,
      connection: {
        driver: 'intune',
        host: '127.0.0.1',
        port: sim.port,
        loginHost: '127.0.0.1',
        loginPort: sim.port,
        tenantId: TENANT_ID,
        clientId: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
        tlsFingerprint: sim.fingerprint,
        ...extra,
      },
    }),
    driver: (limits, sessions) => createIntuneDriver({ clock, random: () => 0.5, limits, onSession: (h) => sessions?.push(h) }),
    stop: () => sim.stop(),
  };
}

export function desired(kind: string, id: string, state: Record<string, unknown>, ensure: 'present' | 'absent' = 'present'): DesiredObject {
  return {
    address: `schule/${kind}/${id.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`,
    resource: `schule/${kind}/${id.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`,
    kind,
    target: ADDRESS,
    id,
    ensure,
    state: ensure === 'absent' ? {} : defaultCatalog().kind(kind)?.normalize?.(state) ?? state,
    dependsOn: [],
    pos: { file: 'schule/intune.yaml', line: 1, col: 1 },
  };
}

export const requests = (ds: DesiredObject[]) => ds.map((o) => ({ kind: o.kind, id: o.id, state: o.state }));

const noSecrets = new Secrets({ zone: 'school' });

/** The engine's plan step: one Change per desired object that differs from what was read. */
export function planOf(ds: DesiredObject[], read: ReadResult): Change[] {
  return ds.flatMap((o) => {
    const live = read.objects[objectKey(o.kind, o.id)];
    assert.ok(live !== undefined, `read result lacks ${o.kind} ${o.id}`);
    const c = changeFor(defaultCatalog().kind(o.kind), o, o.state, live, noSecrets);
    return c ? [c] : [];
  });
}

/** Plan and apply through one writer session; returns the changes applied. */
export async function apply(lab: Lab, ds: DesiredObject[], o: { limits?: Partial<IntuneLimits>; target?: TargetSpec } = {}): Promise<Change[]> {
  const w = await lab.driver(o.limits).connectWriter(o.target ?? lab.target(), { timeoutMs: 10_000 });
  try {
    const changes = planOf(ds, await w.read(requests(ds)));
    if (w.mode !== 'change') throw new Error('intune writes change by change');
    for (const c of changes) await w.applyChange(c);
    return changes;
  } finally {
    await w.close();
  }
}

/** Read through a reader session. */
export async function read(lab: Lab, ds: DesiredObject[], target?: TargetSpec): Promise<ReadResult> {
  const r = await lab.driver().connectReader(target ?? lab.target(), { timeoutMs: 10_000 });
  try {
    return await r.read(requests(ds));
  } finally {
    await r.close();
  }
}

/** A static security group made out of band (by hand in the tenant). */
export function handMadeGroup(sim: RunningGraphSim, displayName: string): string {
  return sim.tenant.createGroup({ displayName, mailEnabled: false, mailNickname: 'hand-made', securityEnabled: true }).id;
}
