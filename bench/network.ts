/**
 * Network bench support: N simulated switches in this process, for the
 * `npm run bench` network case (bench/cases.ts writes the manifests and runs
 * einklang as a child process against them).
 *
 * `benchNetworkSimulators(n)` returns `{ targets, stop }`:
 * - `targets[i]`: one switch —
 *     name            Switch metadata.name (`sw-001`, ...)
 *     env             the environment name the identities were derived for
 *                     (default `bench-network`: the Switch must live in an
 *                     environment of that name, since host key and
 *                     certificate are derived from `<env>/Switch/<name>`)
 *     address         `<env>/Switch/<name>`
 *     zone            `school`
 *     driver          `ios` | `aoscx` (alternating unless opts.mix says otherwise)
 *     password        the switch password (put it into the zone's secrets)
 *     passwordSecret  the secret name used in connection.password
 *     connection      ready for Switch spec.connection (password as ${secret:...}, pinned key/cert, lab port)
 *     managementVlan  10 (carried by `uplinkPort`; a change that cuts it is rolled back)
 *     accessPorts     the 48 access ports as a range (`Gi1/0/1-48` or `1/1/1-1/1/48`)
 *     uplinkPort      the uplink (`Te1/1/1` or `1/1/49`)
 *     switchSpec      the whole Switch spec (connection, managementVlan, prune: false)
 * - `stop()`: stops every simulator.
 * - `stats()`: sessions, commands and writes summed over the simulators.
 *
 * `networkBenchManifests(targets)` gives a ready multi-document YAML for all
 * of them: the Switches, five school VLANs selected by label, and per switch
 * 48 access ports plus a trunk uplink (49 SwitchPort objects per switch).
 */
import { stringify } from 'yaml';
import type { TargetSpec } from '../engine/types.js';
import { aoscxCertFingerprint, startAoscxSimulator } from '../providers/network/aoscx/simulator/index.js';
import { iosHostKeyFingerprint, startIosSimulator } from '../providers/network/ios/simulator/index.js';
import type { RunningSwitchSimulator, SwitchSimFaults } from '../providers/network/simcore.js';

export interface NetworkBenchTarget {
  name: string;
  env: string;
  address: string;
  zone: 'school';
  driver: 'ios' | 'aoscx';
  password: string;
  passwordSecret: string;
  connection: Record<string, unknown>;
  managementVlan: number;
  accessPorts: string;
  uplinkPort: string;
  switchSpec: Record<string, unknown>;
}

export interface NetworkBenchOptions {
  /** Environment name the switch identities are derived for (default `bench-network`). */
  env?: string;
  /** `mixed` (alternating, default), `ios` or `aoscx`. */
  mix?: 'mixed' | 'ios' | 'aoscx';
  /** Simulator options (latency, timer minute length, ...). Default minuteMs 10000. */
  faults?: SwitchSimFaults;
}

const PASSWORD = 'bench-switch-password';
const SECRET = 'SWITCH_PASSWORD';
const MGMT_VLAN = 10;

export async function benchNetworkSimulators(n = 200, opts: NetworkBenchOptions = {}) {
  const env = opts.env ?? 'bench-network';
  const sims: RunningSwitchSimulator[] = [];
  const targets: NetworkBenchTarget[] = [];
  const stop = async () => {
    await Promise.all(sims.map((s) => s.stop().catch(() => undefined)));
  };
  try {
    for (let i = 0; i < n; i++) {
      const driver: 'ios' | 'aoscx' = opts.mix === 'ios' ? 'ios' : opts.mix === 'aoscx' ? 'aoscx' : i % 2 === 0 ? 'ios' : 'aoscx';
      const name = `sw-${String(i + 1).padStart(3, '0')}`;
      const address = `${env}/Switch/${name}`;
      const uplinkPort = driver === 'ios' ? 'Te1/1/1' : '1/1/49';
      const spec: TargetSpec = {
        address,
        kind: 'Switch',
        name,
        zone: 'school',
        spec: { managementVlan: MGMT_VLAN },
        connection: { driver, host: '127.0.0.1', port: 0, user: 'admin', password: PASSWORD },
      };
      const simOpts = { minuteMs: 10_000, ...(opts.faults ?? {}), managementPort: uplinkPort, listenPort: 0, sshListenPort: 0 };
      const sim = driver === 'ios' ? await startIosSimulator(spec, simOpts) : await startAoscxSimulator(spec, simOpts);
      sims.push(sim);
      const connection: Record<string, unknown> = {
        driver,
        host: '127.0.0.1',
        port: sim.port,
        user: 'admin',
        password: `\${secret:${SECRET}}`,
        hostKeyFingerprint: iosHostKeyFingerprint(address),
        ...(driver === 'aoscx' ? { tlsFingerprint: aoscxCertFingerprint({ address, name }), sshPort: sim.sshPort } : {}),
      };
      targets.push({
        name,
        env,
        address,
        zone: 'school',
        driver,
        password: PASSWORD,
        passwordSecret: SECRET,
        connection,
        managementVlan: MGMT_VLAN,
        accessPorts: driver === 'ios' ? 'Gi1/0/1-48' : '1/1/1-1/1/48',
        uplinkPort,
        switchSpec: { connection, managementVlan: MGMT_VLAN, prune: false },
      });
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const stats = () => {
    const sum = { sessions: 0, commands: 0, writes: 0, reverts: 0, confirms: 0, saves: 0 };
    for (const s of sims) for (const k of Object.keys(sum) as (keyof typeof sum)[]) sum[k] += s.model.stats[k];
    return sum;
  };
  return { targets, stop, stats };
}

/** Multi-document YAML for the bench environment: switches, school VLANs, 48 access ports and an uplink per switch. */
export function networkBenchManifests(targets: NetworkBenchTarget[], opts: { description?: string } = {}): string {
  const doc = (kind: string, name: string, spec: unknown, labels?: Record<string, string>) =>
    stringify({ apiVersion: 'einklang/v1', kind, metadata: labels ? { name, labels } : { name }, spec });
  const docs: string[] = [];
  for (const t of targets) docs.push(doc('Switch', t.name, t.switchSpec, { role: 'access' }));
  const all = { matchLabels: { role: 'access' } };
  const vlans: [string, number, string, string][] = [
    ['management', MGMT_VLAN, 'MGMT', 'management'],
    ['servers', 20, 'SERVER', 'servers'],
    ['teachers', 30, 'LEHRER', 'teachers'],
    ['students', 40, 'SCHUELER', 'students'],
    ['guests', 50, 'GAESTE', 'guests'],
  ];
  for (const [name, id, vname, role] of vlans) docs.push(doc('Vlan', name, { id, name: vname, role, switches: all }));
  for (const t of targets) {
    docs.push(doc('SwitchPort', `${t.name}-access`, { switch: t.name, ports: t.accessPorts, mode: 'access', vlan: 'students', description: opts.description ?? 'Klassenraum', enabled: true }));
    docs.push(doc('SwitchPort', `${t.name}-uplink`, { switch: t.name, ports: t.uplinkPort, mode: 'trunk', nativeVlan: 'management', allowedVlans: vlans.map((v) => v[0]), description: 'Uplink' }));
  }
  return docs.join('---\n');
}
