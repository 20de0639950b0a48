/** The snipeit driver passes the API-target conformance suite against its simulator (pages of 2 rows, so every read pages). */
import type { DesiredObject } from '../../engine/types.js';
import { VirtualClock } from '../../providers/kit/clock.js';
import { snipeitDriverWith } from '../../providers/licenses/snipeit/driver.js';
import { apiTargetConformance, type ApiTargetFixture } from '../support/api-conformance.js';
import { SERVER, startSim, target } from './helpers.js';

function desired(key: string, variant: 'a' | 'b' | 'absent'): DesiredObject {
  const state =
    variant === 'b'
      ? { name: key, seats: 7, expires: '2028-01-31', manufacturer: 'Adobe', category: 'Graphics' }
      : { name: key, seats: 5, expires: '2027-07-31', manufacturer: 'Microsoft', category: 'Office' };
  return {
    address: `lic/License/${key}`,
    resource: `lic/License/${key}`,
    kind: 'License',
    target: SERVER,
    id: key,
    ensure: variant === 'absent' ? 'absent' : 'present',
    state: variant === 'absent' ? {} : state,
    dependsOn: [],
    pos: { file: 'lic/licenses.yaml', line: 1, col: 1 },
  };
}

async function fixture(): Promise<ApiTargetFixture> {
  const clock = new VirtualClock();
  const sim = await startSim({ maxResults: 2, now: () => clock.now() });
  return {
    driver: snipeitDriverWith({ clock }),
    target: target(sim),
    kind: 'License',
    desired,
    secretFields: ['token'],
    sim: {
      writes: () => sim.sim.counters.writes,
      requests: () => sim.sim.counters.requests,
      snapshot: () => sim.model.snapshot(),
      failNthWrite: (n) => sim.failNthWrite(n),
      clearFaults: () => sim.sim.faults.clear(),
      createLive: async (key) => {
        const out = sim.model.createLicense({ name: key, seats: 3, category_id: 1 });
        if (!out.ok) throw new Error(JSON.stringify(out.messages));
        return String(out.license.id);
      },
    },
    cleanup: () => sim.stop(),
  };
}

apiTargetConformance('snipeit (Snipe-IT license pools)', fixture);
