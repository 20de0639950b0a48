/**
 * Network management: kinds Switch, Vlan, SwitchPort and the switch drivers
 * `ios` (Cisco IOS/IOS-XE CLI over SSH) and `aoscx` (HPE Aruba AOS-CX REST, with
 * the CLI over SSH for its auto checkpoint). Driver and simulator code loads
 * only when a run uses it.
 */
import type { DriverEntry, KindDef, LabDriver, RunningSimulator, TargetSpec } from '../../engine/contract.js';
import { networkKinds } from './kinds.js';
import { connectionDiagnostics } from './connection.js';

export const kinds: KindDef[] = networkKinds;

/** Lab switches run timer minutes of 5 s unless `faults.minuteMs` says otherwise. */
function switchLab(start: (target: TargetSpec, faults: Record<string, unknown>) => Promise<RunningSimulator>): LabDriver {
  return { simulate: (target, ctx) => start(target, { minuteMs: 5000, ...(ctx.faults ?? {}) }) };
}

export const drivers: DriverEntry[] = [
  {
    name: 'ios',
    validateConnection: (res) => connectionDiagnostics(res, 'ios'),
    load: async () => (await import('./ios/driver.js')).iosDriver,
    loadLab: async () => switchLab((await import('./ios/simulator/index.js')).startIosSimulator),
  },
  {
    name: 'aoscx',
    validateConnection: (res) => connectionDiagnostics(res, 'aoscx'),
    load: async () => (await import('./aoscx/driver.js')).aoscxDriver,
    loadLab: async () => switchLab((await import('./aoscx/simulator/index.js')).startAoscxSimulator),
  },
];
