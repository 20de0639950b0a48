/**
 * Server management: kinds Server, File, Directory, User, Group, Package,
 * Service (shared by Linux and Windows), WindowsFeature and RegistryValue,
 * and the drivers `ssh` (Linux) and `winrm` (Windows). Driver code loads
 * only when a run uses it.
 */
import type { DriverEntry, KindDef } from '../../engine/contract.js';
import { serverKinds } from './kinds.js';
import { winrmKinds } from './winrm/kinds.js';
import { validateSshConnection } from './linux/connection.js';
import { validateWinrmConnection } from './winrm/driver.js';

export const kinds: KindDef[] = [...serverKinds, ...winrmKinds];

export const drivers: DriverEntry[] = [
  {
    name: 'ssh',
    validateConnection: validateSshConnection,
    load: async () => (await import('./linux/driver.js')).sshDriver,
    loadLab: async () => {
      const { startLinuxSimulator } = await import('./linux/simulator/server.js');
      return { simulate: (target, ctx) => startLinuxSimulator(target, { faults: ctx.faults }) };
    },
  },
  {
    name: 'winrm',
    validateConnection: validateWinrmConnection,
    load: async () => (await import('./winrm/driver.js')).winrmDriver,
    loadLab: async () => {
      const { simulateWinrm } = await import('./winrm/driver.js');
      return { simulate: (target, ctx) => simulateWinrm(target, { faults: ctx.faults }) };
    },
  },
];
