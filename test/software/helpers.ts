/** Shared set-up of the opsi tests: a simulator with clients and products, and targets pointing at it. */
import type { DesiredObject, TargetSpec } from '../../engine/types.js';
import { startOpsiSimulator, type OpsiSimOptions, type RunningOpsiSim } from '../../providers/software/opsi/simulator/server.js';

export const USER = 'einklang';
export const PASSWORD = 'opsi-Lab-Passw0rd';
export const ADDRESS = 'schule-nord/OpsiServer/opsi';

/** `n` client FQDNs of a school. */
export function clientIds(n: number, school = 'gs-nord'): string[] {
  return Array.from({ length: n }, (_, i) => `pc-${String(i + 1).padStart(3, '0')}.${school}.schule.local`);
}

export async function startSim(o: Partial<OpsiSimOptions> = {}): Promise<RunningOpsiSim> {
  return startOpsiSimulator({ certSeed: ADDRESS, user: USER, password: PASSWORD, authFailureDelayMs: 0, ...o });
}

export function targetOf(sim: RunningOpsiSim, connection: Record<string, unknown> = {}, spec: Record<string, unknown> = {}): TargetSpec {
  return {
    address: ADDRESS,
    kind: 'OpsiServer',
    name: 'opsi',
    zone: 'school',
    spec,
    connection: { driver: 'opsi', host: '127.0.0.1', port: sim.port, user: USER, password: PASSWORD, tlsFingerprint: sim.fingerprint, ...connection },
  };
}

/** A desired object as the kinds expand it (kinds.ts), on the test target. */
export function desiredObject(kind: 'ClientGroup' | 'SoftwareDeployment', id: string, state: Record<string, unknown>, ensure: 'present' | 'absent' = 'present'): DesiredObject {
  const address = `schule-nord/${kind}/${id}`;
  return { address, resource: address, kind, target: ADDRESS, id, ensure, state, dependsOn: [], pos: { file: 'test.yaml', line: 1, col: 1 } };
}

/** A deployment's desired state (what kinds.ts expands). */
export function deploymentState(product: string, version: string | undefined, clients: string[], action = 'setup'): Record<string, unknown> {
  return { product, ...(version ? { version } : {}), action, clients, clientsNeedingAction: 0, needsAction: [] };
}
