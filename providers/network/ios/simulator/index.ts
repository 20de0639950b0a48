/**
 * IOS switch simulator: an SSH server with an interactive IOS-like shell
 * (cli.ts) over a SwitchSim. Host key derived from the target address, so
 * manifests can pin its fingerprint (labHostKeyFingerprint).
 *
 * Lab options beyond the shared faults (simcore.ts), each a documented
 * behaviour of real IOS switches:
 * - `archive: false`: no `archive` configured; `show archive` says "Archive
 *   feature not enabled" and the revert timer is refused.
 * - `vtpMode`: `transparent` (default), `off`, `server` (VLANs live in
 *   vlan.dat: the revert timer does not restore them), `client` (VLAN
 *   commands refused without a `%`).
 * - `islCapable`: the platform also speaks ISL; a port's trunk encapsulation
 *   is negotiated until `switchport trunk encapsulation dot1q`, and
 *   `switchport mode trunk` before that is "Command rejected" (no `%`).
 *   Without it (2960-like) the encapsulation command does not exist.
 * - `hostname`: the switch's hostname (default the target name); config-mode
 *   prompts show only its first 20 characters.
 * - `informational`: accepted VLAN changes print the informational
 *   "% Applying VLAN changes may take few minutes.  Please wait..." line.
 * - `rejectCommands`: configuration lines starting with one of these are
 *   answered "Command rejected: ..." (no `%`) and not applied.
 */
import type { TargetSpec } from '../../../../engine/types.js';
import { defaultPort } from '../../model.js';
import { labHostKeyFingerprint, startSshShell } from '../../sim-ssh.js';
import { SwitchSim, type RunningSwitchSimulator, type SwitchSimFaults } from '../../simcore.js';
import { IosCli, type IosPlatform } from './cli.js';

export interface IosSimulatorOptions extends SwitchSimFaults, Partial<IosPlatform> {
  /** Port ids; default Gi1/0/1-48 and Te1/1/1-4. */
  ports?: string[];
  /** Listen port override (0 = any free port); default target.connection.port. */
  listenPort?: number;
  hostname?: string;
}

export function iosDefaultPorts(n = 48): string[] {
  const out: string[] = [];
  for (let i = 1; i <= n; i++) out.push(`Gi1/0/${i}`);
  for (let i = 1; i <= 4; i++) out.push(`Te1/1/${i}`);
  return out;
}

/** The pinned host key of a lab ios switch. */
export const iosHostKeyFingerprint = labHostKeyFingerprint;

export async function startIosSimulator(target: TargetSpec, opts: IosSimulatorOptions = {}): Promise<RunningSwitchSimulator> {
  const conn = target.connection ?? {};
  const mgmt = target.spec?.managementVlan;
  const platform: IosPlatform = {
    archive: opts.archive ?? true,
    vtpMode: opts.vtpMode ?? 'transparent',
    islCapable: opts.islCapable ?? false,
    informational: opts.informational ?? false,
    rejectCommands: opts.rejectCommands ?? [],
  };
  const sim = new SwitchSim({
    hostname: opts.hostname ?? target.name,
    managementVlan: typeof mgmt === 'number' ? mgmt : undefined,
    ports: opts.ports ?? iosDefaultPorts(),
    portDefault: () => defaultPort('dynamic auto'),
    // VTP server/client: VLANs are in vlan.dat, which the revert timer (an archive of the running-config) does not touch
    vlansSurviveRevert: () => platform.vtpMode === 'server' || platform.vtpMode === 'client',
    faults: opts,
  });
  const shell = await startSshShell(sim, {
    address: target.address,
    host: conn.host ?? '127.0.0.1',
    port: opts.listenPort ?? conn.port ?? 0,
    user: conn.user,
    password: conn.password,
    newCli: () => new IosCli(sim, platform),
  });
  return {
    description: `ssh://${conn.host ?? '127.0.0.1'}:${shell.port} (lab ios switch for ${target.address})`,
    port: shell.port,
    fingerprint: iosHostKeyFingerprint(target.address),
    model: sim,
    async stop() {
      sim.close();
      await shell.stop();
    },
  };
}
