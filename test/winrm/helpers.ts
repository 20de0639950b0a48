/** Shared helpers of the WinRM tests: a lab target, and the conformance module's plan stage bound to the winrm driver and a Windows Server. */
import type { Change, DesiredObject, Resource, TargetSpec, ChangeWriter } from '../../engine/types.js';
import { simulateWinrm, winrmDriver, type RunningWinrmSimulator } from '../../providers/servers/winrm/index.js';
import type { WinrmServiceConfig } from '../../providers/servers/winrm/simulator/host-auth.js';
import type { WindowsModel } from '../../providers/servers/winrm/simulator/model.js';
import {
  ENV,
  SERVER,
  TARGET_ADDRESS,
  converge as confConverge,
  expand as confExpand,
  planChanges,
  planOnly as confPlanOnly,
  readRequest,
  resource as baseResource,
  windowsServer,
  withWriter as confWithWriter,
  type HostAccess,
} from '../servers/conformance.js';

export { ENV, SERVER, TARGET_ADDRESS, planChanges, readRequest, windowsServer };
export const PASSWORD = 'Lab-Passw0rd!';

export interface Lab {
  sim: RunningWinrmSimulator;
  target: TargetSpec;
  stop(): Promise<void>;
}

/**
 * A simulated Windows host and a target pointing at it (pinned fingerprint for
 * https). Basic over HTTP gets allowUnencrypted (and so a host that allows
 * it); `service` sets the host's WinRM service otherwise.
 */
export async function startLab(
  opts: { transport?: 'http' | 'https'; auth?: 'basic' | 'ntlm'; faults?: Record<string, unknown>; service?: Partial<WinrmServiceConfig> } = {},
): Promise<Lab> {
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
      ...(transport === 'http' && opts.auth === 'basic' ? { allowUnencrypted: true } : {}),
    },
  };
  const sim = await simulateWinrm(target, { faults: opts.faults, service: opts.service });
  target.connection.port = sim.port;
  if (sim.fingerprint) target.connection.tlsFingerprint = sim.fingerprint;
  return { sim, target, stop: () => sim.stop() };
}

/** Out-of-band access to the simulated Windows host, for the conformance suite. */
export function windowsHostAccess(model: WindowsModel): HostAccess {
  const under = (dir: string, path: string) => path.toLowerCase().startsWith(dir.toLowerCase() + '\\') && !path.slice(dir.length + 1).includes('\\');
  return {
    async readFile(p) {
      return model.files.get(p)?.content;
    },
    async writeFile(p, d) {
      const old = model.files.get(p);
      model.files.set(p, { path: old?.path ?? p, content: Buffer.from(d), owner: old?.owner ?? 'Administrators', group: old?.group ?? 'None' });
    },
    async stat(p) {
      const f = model.files.get(p);
      if (f) return { owner: f.owner, group: f.group, type: 'file' };
      const d = model.directories.get(p);
      return d ? { owner: d.owner, group: d.group, type: 'dir' } : undefined;
    },
    async listDir(p) {
      return [...model.files.keys(), ...model.directories.keys()].filter((k) => under(p, k)).map((k) => k.slice(p.length + 1));
    },
    async user(n) {
      const u = model.users.get(n);
      if (!u) return undefined;
      const groups = model.groups.values().filter((g) => g.members.some((m) => m.toLowerCase() === u.name.toLowerCase()));
      return { comment: u.fullName, groups: groups.map((g) => g.name) };
    },
    async group(n) {
      const g = model.groups.get(n);
      return g ? { members: [...g.members] } : undefined;
    },
    async service(n) {
      const s = model.services.get(n);
      // Disabled is what ensure: absent makes of a service; Manual is enabled: false
      return !s || (s.startType === 'Disabled' && s.status === 'Stopped') ? undefined : { enabled: s.startType === 'Automatic', running: s.status === 'Running' };
    },
  };
}

/** A resource on the test server (conformance suite's helper, with spec.server filled in). */
export function resource(kind: string, name: string, spec: Record<string, unknown>): Resource {
  return baseResource(kind, name, { server: SERVER, ...spec });
}

/** validate (must be clean) + expand, as the engine does, with a Windows Server. */
export function expand(resources: Resource[]): DesiredObject[] {
  return confExpand(resources, windowsServer());
}

export function withWriter<T>(target: TargetSpec, fn: (w: ChangeWriter) => Promise<T>): Promise<T> {
  return confWithWriter({ driver: winrmDriver, target }, fn);
}

/** Plan, apply (deletes first, then the rest in order), re-plan: must be empty. Returns the applied changes. */
export function converge(target: TargetSpec, desired: DesiredObject[]): Promise<Change[]> {
  return confConverge({ driver: winrmDriver, target }, desired);
}

export function planOnly(target: TargetSpec, desired: DesiredObject[]): Promise<Change[]> {
  return confPlanOnly({ driver: winrmDriver, target }, desired);
}
