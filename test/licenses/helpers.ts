/** Shared pieces of the license tests: a started Snipe-IT simulator and the target that reaches it. */
import type { TargetSpec } from '../../engine/types.js';
import { startSnipeitSimulator, type RunningSnipeitSim, type SnipeitSimOptions } from '../../providers/licenses/snipeit/simulator.js';

export const TOKEN = 'snipeit-test-token-7d1e0b';
export const SERVER = 'lic/LicenseServer/snipeit';

/** A simulator seeded with the manufacturers and license categories the tests name. */
export async function startSim(o: Partial<SnipeitSimOptions> = {}): Promise<RunningSnipeitSim> {
  const sim = await startSnipeitSimulator({ token: TOKEN, certSeed: SERVER, ...o });
  for (const m of ['Microsoft', 'Adobe']) sim.model.addManufacturer(m);
  for (const c of ['Office', 'Graphics']) sim.model.addCategory(c, 'license');
  sim.model.addCategory('Laptops', 'asset');
  return sim;
}

export function target(sim: RunningSnipeitSim, extra: Record<string, unknown> = {}): TargetSpec {
  return {
    address: SERVER,
    kind: 'LicenseServer',
    name: 'snipeit',
    zone: 'school',
    spec: {},
    connection: { driver: 'snipeit', host: '127.0.0.1', port: sim.sim.port, token: TOKEN, tlsFingerprint: sim.sim.fingerprint, ...extra },
  };
}
