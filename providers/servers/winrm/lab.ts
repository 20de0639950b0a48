/**
 * The winrm driver's lab side: a simulated Windows host for a target (for
 * `einklang lab` and the tests), and the certificate fingerprint it presents.
 */
import type { RunningSimulator, TargetSpec } from '../../../engine/contract.js';
import { WinrmSimulator, type WinrmFaults } from './simulator/server.js';
import type { WinrmServiceConfig } from './simulator/host-auth.js';
import { labCertificate } from '../../lab/identity.js';
import { winrmConnection } from './connection.js';

/** A running lab simulator with access to the simulator itself (faults, stats). */
export interface RunningWinrmSimulator extends RunningSimulator {
  model: WinrmSimulator['model'];
  simulator: WinrmSimulator;
  /** SHA-256 fingerprint of its certificate (https), as tlsFingerprint wants it. */
  fingerprint: string | null;
}

/**
 * The certificate fingerprint the lab simulator of this Server presents (to
 * pin in committed manifests): derived from the Server's address and its
 * spec.hostname (or metadata.name), like the simulator does.
 */
export function labWinrmFingerprint(address: string, hostname: string): string {
  return labCertificate(address, hostname).fingerprint256;
}

/**
 * A lab Windows host for a Server. It is set up as Windows leaves WinRM
 * (AllowUnencrypted=false, Basic off, CbtHardeningLevel Relaxed) except where
 * the manifest says the real host differs: `auth: basic` means its Basic auth
 * is on, `allowUnencrypted: true` (with Basic over HTTP) means the host
 * accepts unencrypted messages. `service` overrides that (tests).
 */
export async function simulateWinrm(
  target: TargetSpec,
  opts: { faults?: Record<string, unknown>; port?: number; service?: Partial<WinrmServiceConfig> } = {},
): Promise<RunningWinrmSimulator> {
  const c = winrmConnection(target);
  const sim = new WinrmSimulator({
    host: '127.0.0.1',
    port: opts.port ?? c.port,
    https: c.https,
    user: c.user,
    password: c.password,
    certSeed: target.address,
    hostname: target.spec?.hostname ?? target.name,
    service: { basic: c.auth === 'basic', allowUnencrypted: c.auth === 'basic' && c.allowUnencrypted, ...opts.service },
    faults: (opts.faults ?? {}) as WinrmFaults,
  });
  await sim.start();
  return {
    description: `winrm+${c.https ? 'https' : 'http'}://127.0.0.1:${sim.port} (lab windows host for ${target.address})`,
    port: sim.port,
    stop: () => sim.stop(),
    model: sim.model,
    simulator: sim,
    fingerprint: sim.fingerprint,
  };
}
