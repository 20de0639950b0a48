/**
 * Device management: kinds MdmTenant, DeviceGroup, ConfigurationProfile,
 * CompliancePolicy and App, and the driver `intune` (Microsoft Intune over
 * Microsoft Graph v1.0). Driver and simulator code load only when a run uses
 * them; validate needs only the kinds and intune/connection.ts.
 */
import type { DriverEntry, KindDef } from '../../engine/contract.js';
import { endpointKinds } from './kinds.js';
import { intuneHosts, validateIntuneConnection } from './intune/connection.js';

export const kinds: KindDef[] = endpointKinds;

export const drivers: DriverEntry[] = [
  {
    name: 'intune',
    validateConnection: validateIntuneConnection,
    hosts: intuneHosts,
    load: async () => (await import('./intune/driver.js')).intuneDriver,
    loadLab: async () => {
      const { simulateIntune } = await import('./intune/sim/lab.js');
      return { simulate: (target, ctx) => simulateIntune(target, ctx) };
    },
  },
];
