/** Shared helpers of the WinRM tests: a lab target, the plan stage in miniature, Windows resources. */
import assert from 'node:assert/strict';
import type { Change, DesiredObject, KindDef, ReadResult, Resource, TargetSpec, TargetWriter } from '../../engine/types.js';
import { objectKey } from '../../engine/types.js';
import { diffObject } from '../../engine/diff.js';
import { liveFingerprint } from '../../engine/hash.js';
import { serverKindDef } from '../../providers/servers/kinds.js';
import { winrmDriver, winrmKinds, type RunningWinrmSimulator } from '../../providers/servers/winrm/index.js';
import { ENV, SERVER, TARGET_ADDRESS, resource as baseResource, serverResource } from '../servers/conformance.js';

export { ENV, SERVER, TARGET_ADDRESS };
export const PASSWORD = 'Lab-Passw0rd!';

export function kindDef(kind: string): KindDef | undefined {
  return serverKindDef(kind) ?? winrmKinds.find((k) => k.kind === kind);
}

export interface Lab {
  sim: RunningWinrmSimulator;
  target: TargetSpec;
  stop(): Promise<void>;
}

/** A simulated Windows host and a target pointing at it (pinned fingerprint for https). */
export async function startLab(opts: { transport?: 'http' | 'https'; auth?: 'basic' | 'ntlm'; faults?: Record<string, unknown> } = {}): Promise<Lab> {
  const transport = opts.transport ?? 'https';
  const target: TargetSpec = {
    address: TARGET_ADDRESS,
    kind: 'Server',
    name: SERVER,
    zone: 'administration',
    spec: { os: 'windows', hostname: 'WIN-01' },
    connection: {
      driver: 'winrm',
      host: '127.0.0.1',
      port: 0,
      transport,
      auth: opts.auth ?? 'ntlm',
      user: 'Administrator',
      password: PASSWORD,
      ...(transport === 'http' ? { allowUnencrypted: true } : {}),
    },
  };
  const sim = (await winrmDriver.simulate!(target, { faults: opts.faults })) as RunningWinrmSimulator;
  target.connection.port = sim.port;
  if (sim.fingerprint) target.connection.tlsFingerprint = sim.fingerprint;
  return { sim, target, stop: () => sim.stop() };
}

/** A resource on the test server (conformance suite's helper, with spec.server filled in). */
export function resource(kind: string, name: string, spec: Record<string, unknown>): Resource {
  return baseResource(kind, name, { server: SERVER, ...spec });
}

/** The Windows Server resource the objects refer to (validation looks up its os). */
export function windowsServer(): Resource {
  const r = serverResource('windows');
  return { ...r, spec: { ...r.spec, connection: { ...r.spec.connection, user: 'Administrator', password: '${secret:WIN_PASSWORD}', tlsFingerprint: 'AB'.repeat(32) } } };
}

/** validate (must be clean) + expand, as the engine does, with a Windows Server. */
export function expand(resources: Resource[]): DesiredObject[] {
  const all = [windowsServer(), ...resources];
  const byAddress = new Map(all.map((r) => [r.address, r]));
  const ctx = { byAddress, resources: all, lookup: (kind: string, name: string) => byAddress.get(`${ENV}/${kind}/${name}`) };
  const out: DesiredObject[] = [];
  for (const r of resources) {
    const def = kindDef(r.kind)!;
    assert.deepEqual(def.validate?.(r, { byAddress }) ?? [], [], `${r.address} should be valid`);
    out.push(...def.expand!(r, ctx));
  }
  return out;
}

/** The plan stage in miniature: one Change per desired object that differs. */
export function planChanges(desired: DesiredObject[], read: ReadResult): Change[] {
  const changes: Change[] = [];
  for (const o of desired) {
    const live = read.objects[objectKey(o.kind, o.id)];
    assert.ok(live !== undefined, `read result lacks ${o.kind} ${o.id}`);
    const d = diffObject(kindDef(o.kind), o.ensure === 'present' ? o.state : null, live?.state ?? null);
    if (!d.actions.length) continue;
    changes.push({
      address: o.address,
      resource: o.resource,
      kind: o.kind,
      target: o.target,
      id: o.id,
      actions: d.actions,
      before: live?.state ?? null,
      after: o.ensure === 'present' ? o.state : null,
      diff: d.diff,
      liveFingerprint: liveFingerprint(live?.state ?? null),
      dependsOn: o.dependsOn,
    });
  }
  return changes;
}

export const readRequest = (desired: DesiredObject[]) => desired.map((o) => ({ kind: o.kind, id: o.id, state: o.state }));

export async function withWriter<T>(target: TargetSpec, fn: (w: TargetWriter) => Promise<T>): Promise<T> {
  const w = await winrmDriver.connectWriter(target, { timeoutMs: 10_000 });
  try {
    return await fn(w);
  } finally {
    await w.close();
  }
}

/** Plan, apply (deletes first, then the rest in order), re-plan: must be empty. Returns the applied changes. */
export async function converge(target: TargetSpec, desired: DesiredObject[]): Promise<Change[]> {
  return withWriter(target, async (w) => {
    const changes = planChanges(desired, await w.read(readRequest(desired)));
    const isDelete = (c: Change) => c.actions.length === 1 && c.actions[0] === 'delete';
    for (const c of [...changes.filter(isDelete), ...changes.filter((c) => !isDelete(c))]) await w.applyChange!(c);
    const again = planChanges(desired, await w.read(readRequest(desired)));
    assert.deepEqual(again.map((c) => ({ address: c.address, diff: c.diff })), [], 'a re-plan right after apply shows no changes');
    return changes;
  });
}

export async function planOnly(target: TargetSpec, desired: DesiredObject[]): Promise<Change[]> {
  const r = await winrmDriver.connectReader(target, { timeoutMs: 10_000 });
  try {
    return planChanges(desired, await r.read(readRequest(desired)));
  } finally {
    await r.close();
  }
}
