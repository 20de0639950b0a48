/**
 * License management: kinds LicenseServer and License, and the driver
 * `snipeit` (Snipe-IT REST API v1). Driver and simulator code load only when
 * a run uses them; validate loads only the connection checks. Seat
 * compliance across areas is a plan policy (policies/license-seats.ts).
 */
import type { DriverEntry, KindDef } from '../../engine/contract.js';
import { licenseKinds } from './kinds.js';
import { validateSnipeitConnection } from './snipeit/connection.js';

export const kinds: KindDef[] = licenseKinds;

export const drivers: DriverEntry[] = [
  {
    name: 'snipeit',
    validateConnection: validateSnipeitConnection,
    load: async () => (await import('./snipeit/driver.js')).snipeitDriver,
    loadLab: async () => {
      const { simulateSnipeit } = await import('./snipeit/lab.js');
      return { simulate: simulateSnipeit };
    },
  },
];
