/**
 * Security systems: kinds Firewall, FirewallAlias and FirewallRule, and the
 * driver `opnsense` (OPNsense REST API, transactions with the firewall's own
 * rollback where the firmware has one). Driver and simulator code load only
 * when a run uses them.
 */
import type { DriverEntry, KindDef } from '../../engine/contract.js';
import { securityKinds } from './kinds.js';
import { validateOpnsenseConnection } from './opnsense/connection.js';

export const kinds: KindDef[] = securityKinds;

export const drivers: DriverEntry[] = [
  {
    name: 'opnsense',
    validateConnection: validateOpnsenseConnection,
    load: async () => (await import('./opnsense/driver.js')).opnsenseDriver,
    loadLab: async () => (await import('./opnsense/simulator/index.js')).opnsenseLab,
  },
];
