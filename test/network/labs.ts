/**
 * How the switch tests start each driver's lab switch and pin it: one
 * SwitchLab per driver, used by the conformance suite, the driver-specific
 * tests and the CLI tests.
 */
import type { Driver, Resource } from '../../engine/types.js';
import { aoscxDriver } from '../../providers/network/aoscx/driver.js';
import { aoscxCertFingerprint, aoscxHostKeyFingerprint, startAoscxSimulator, type AoscxSimulatorOptions } from '../../providers/network/aoscx/simulator/index.js';
import { iosDriver } from '../../providers/network/ios/driver.js';
import { iosHostKeyFingerprint, startIosSimulator, type IosSimulatorOptions } from '../../providers/network/ios/simulator/index.js';
import type { RunningSwitchSimulator } from '../../providers/network/simcore.js';
import { targetSpec } from './helpers.js';

export interface SwitchLab<O = Record<string, unknown>> {
  name: 'ios' | 'aoscx';
  driver: Driver;
  port(n: number): string;
  range(a: number, b: number): string;
  /** The first port number the lab switch does not have. */
  firstMissingPort: number;
  /** Connection fields that depend on the running simulator and the target: listen ports, pins. */
  connection(sim: RunningSwitchSimulator | undefined, address: string, name: string): Record<string, unknown>;
  /** A pin the switch does not match. */
  badPin: Record<string, string>;
  start(sw: Resource, options: O): Promise<RunningSwitchSimulator>;
}

export const iosLab: SwitchLab<IosSimulatorOptions> = {
  name: 'ios',
  driver: iosDriver,
  port: (n) => `Gi1/0/${n}`,
  range: (a, b) => `Gi1/0/${a}-${b}`,
  firstMissingPort: 49,
  connection: (sim, address) => ({ port: sim?.port ?? 1, hostKeyFingerprint: iosHostKeyFingerprint(address) }),
  badPin: { hostKeyFingerprint: 'SHA256:' + 'A'.repeat(43) },
  start: (sw, options) => startIosSimulator(targetSpec(sw), { ...options, listenPort: 0 }),
};

export const aoscxLab: SwitchLab<AoscxSimulatorOptions> = {
  name: 'aoscx',
  driver: aoscxDriver,
  port: (n) => `1/1/${n}`,
  range: (a, b) => `1/1/${a}-1/1/${b}`,
  firstMissingPort: 53,
  connection: (sim, address, name) => ({
    port: sim?.port ?? 1,
    sshPort: sim?.sshPort ?? 1,
    tlsFingerprint: aoscxCertFingerprint({ address, name }),
    hostKeyFingerprint: aoscxHostKeyFingerprint(address),
  }),
  badPin: { tlsFingerprint: '00'.repeat(32) },
  start: (sw, options) => startAoscxSimulator(targetSpec(sw), { ...options, listenPort: 0, sshListenPort: 0 }),
};
