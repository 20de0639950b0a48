/**
 * Bench support for the `winrm` case (issue 4): N simulated Windows hosts.
 *
 * `benchWinrmSimulators(n)` starts n WinRM simulators (HTTPS, NTLM; or the
 * HTTP listener with NTLM-sealed messages, `transport: 'http'`) on free
 * 127.0.0.1 ports and returns, per host, everything a manifest needs: the
 * Server's address (the TLS certificate is derived from it, so the pinned
 * fingerprint is valid for exactly that address), port, user, the password
 * and the secret name to pass it as, and the certificate fingerprint (https).
 * `stop()` stops them all. The bench's main module writes the manifests
 * (one Server plus 20 resources per host) and times `einklang plan/apply`.
 *
 * `benchWinrmDriver(n)` is a driver-level measurement without the CLI: a
 * no-op read of 20 objects per host on all hosts at once, and an apply.
 */
import { performance } from 'node:perf_hooks';
import type { TargetSpec, Zone } from '../engine/types.js';
import { objectKey } from '../engine/types.js';
import { simulateWinrm, winrmDriver, type RunningWinrmSimulator } from '../providers/servers/winrm/index.js';
import { asChangeWriter } from '../test/support/writers.js';

export interface WinrmBenchTarget {
  /** `<env>/Server/<name>`: use exactly this env and name in the manifest. */
  address: string;
  env: string;
  name: string;
  zone: Zone;
  host: string;
  port: number;
  transport: 'http' | 'https';
  auth: 'ntlm';
  user: string;
  /** The password the simulator accepts. */
  password: string;
  /** Write `password: ${secret:<passwordSecret>}` and set EINKLANG_SECRET_<ZONE>_<passwordSecret>. */
  passwordSecret: string;
  /** SHA-256 certificate fingerprint for `connection.tlsFingerprint` (https). */
  tlsFingerprint: string | null;
  /** `spec.connection` as a manifest would write it. */
  connection: Record<string, unknown>;
  /** The same as the driver gets it (secret resolved). */
  target: TargetSpec;
  simulator: RunningWinrmSimulator;
}

export interface WinrmBenchOptions {
  env?: string;
  zone?: Zone;
  /** Host names are `<prefix>-001`, ... */
  prefix?: string;
  user?: string;
  password?: string;
  passwordSecret?: string;
  /** https (default): pinned certificate, NTLM with channel binding; http: NTLM with sealed messages. */
  transport?: 'http' | 'https';
}

export async function benchWinrmSimulators(n: number, opts: WinrmBenchOptions = {}): Promise<{ targets: WinrmBenchTarget[]; stop: () => Promise<void> }> {
  const env = opts.env ?? 'bench-winrm';
  const zone = opts.zone ?? 'administration';
  const user = opts.user ?? 'Administrator';
  const password = opts.password ?? 'Bench-Passw0rd!';
  const passwordSecret = opts.passwordSecret ?? 'WINRM_PASSWORD';
  const transport = opts.transport ?? 'https';
  const width = Math.max(3, String(n).length);
  const started = await Promise.allSettled(
    Array.from({ length: n }, async (_, i) => {
      const name = `${opts.prefix ?? 'win'}-${String(i + 1).padStart(width, '0')}`;
      const target: TargetSpec = {
        address: `${env}/Server/${name}`,
        kind: 'Server',
        name,
        zone,
        spec: { os: 'windows', hostname: name.toUpperCase() },
        connection: { driver: 'winrm', host: '127.0.0.1', port: 0, transport, auth: 'ntlm', user, password },
      };
      const sim = await simulateWinrm(target, { port: 0 });
      target.connection.port = sim.port;
      if (sim.fingerprint) target.connection.tlsFingerprint = sim.fingerprint;
      return { name, target, sim };
    }),
  );
  const ok = started.filter((s) => s.status === 'fulfilled').map((s) => (s as PromiseFulfilledResult<{ name: string; target: TargetSpec; sim: RunningWinrmSimulator }>).value);
  const stop = async () => {
    await Promise.all(ok.map((h) => h.sim.stop()));
  };
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    await stop();
    throw (failed as PromiseRejectedResult).reason;
  }
  // `target` and `simulator` are not enumerable, so printing the result field by field stays small
  const targets = ok.map(({ name, target, sim }) => Object.defineProperties({
    address: target.address,
    env,
    name,
    zone,
    host: '127.0.0.1',
    port: sim.port,
    transport,
    auth: 'ntlm' as const,
    user,
    password,
    passwordSecret,
    tlsFingerprint: sim.fingerprint,
    connection: {
      driver: 'winrm',
      host: '127.0.0.1',
      port: sim.port,
      transport,
      auth: 'ntlm',
      user,
      password: `\${secret:${passwordSecret}}`,
      ...(sim.fingerprint ? { tlsFingerprint: sim.fingerprint } : {}),
    },
  }, { target: { value: target, enumerable: false }, simulator: { value: sim, enumerable: false } }) as unknown as WinrmBenchTarget);
  return { targets, stop };
}

/** 20 objects per host: files, a directory, a user, a group, a service, a feature, registry values. */
function objectsFor(i: number): { kind: string; id: string; state: Record<string, unknown> }[] {
  const objs: { kind: string; id: string; state: Record<string, unknown> }[] = [
    { kind: 'Directory', id: 'C:\\Shares', state: {} },
    { kind: 'Group', id: 'Verwaltung', state: { members: ['sachbearbeitung'] } },
    { kind: 'User', id: 'sachbearbeitung', state: { comment: 'Sachbearbeitung', groups: ['Verwaltung'] } },
    { kind: 'Service', id: 'W32Time', state: { enabled: true, state: 'running' } },
    { kind: 'WindowsFeature', id: 'FS-FileServer', state: { name: 'FS-FileServer' } },
  ];
  for (let j = 0; j < 10; j++) objs.push({ kind: 'File', id: `C:\\Shares\\datei-${j}.txt`, state: { content: `host ${i} file ${j}\r\n` } });
  for (let j = 0; j < 5; j++) {
    objs.push({ kind: 'RegistryValue', id: `HKLM:\\SOFTWARE\\Policies\\Stadt\\Wert${j}`, state: { path: 'HKLM:\\SOFTWARE\\Policies\\Stadt', name: `Wert${j}`, type: 'DWord', data: j } });
  }
  return objs;
}

/** Driver-level timings: apply 20 objects on n hosts, then a no-op read of them (all hosts in parallel). */
export async function benchWinrmDriver(n: number, transport: 'http' | 'https' = 'https'): Promise<Record<string, string>> {
  const { targets, stop } = await benchWinrmSimulators(n, { transport });
  try {
    const t0 = performance.now();
    await Promise.all(
      targets.map(async (t, i) => {
        const w = asChangeWriter(await winrmDriver.connectWriter(t.target));
        try {
          const objs = objectsFor(i);
          const live = await w.read(objs);
          // in dependency order: group before user is fine here (members are set by the user's groups later)
          for (const o of objs) {
            const l = live.objects[objectKey(o.kind, o.id)];
            await w.applyChange({ address: o.id, resource: o.id, kind: o.kind, target: t.address, id: o.id, actions: l ? ['update'] : ['create'], before: l?.state ?? null, after: o.kind === 'Group' ? {} : o.state, diff: [], liveFingerprint: '', dependsOn: [] });
          }
        } finally {
          await w.close();
        }
      }),
    );
    const applySeconds = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    await Promise.all(
      targets.map(async (t, i) => {
        const r = await winrmDriver.connectReader(t.target);
        try {
          await r.read(objectsFor(i));
        } finally {
          await r.close();
        }
      }),
    );
    const readSeconds = (performance.now() - t1) / 1000;
    return { hosts: String(n), transport, objectsPerHost: '20', applySeconds: applySeconds.toFixed(2), noopReadSeconds: readSeconds.toFixed(2) };
  } finally {
    await stop();
  }
}
