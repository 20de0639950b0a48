/**
 * Software distribution: kinds OpsiServer, ClientGroup and SoftwareDeployment,
 * and the driver `opsi` (JSON-RPC). Driver and simulator code load only when a
 * run uses them.
 */
import type { DriverEntry, KindDef } from '../../engine/contract.js';
import { softwareKinds } from './kinds.js';
import { validateOpsiConnection } from './opsi/connection.js';

export const kinds: KindDef[] = softwareKinds;

export const drivers: DriverEntry[] = [
  {
    name: 'opsi',
    validateConnection: validateOpsiConnection,
    load: async () => (await import('./opsi/driver.js')).opsiDriver(),
    loadLab: async () => (await import('./opsi/lab.js')).opsiLab,
  },
];
