/**
 * The opsi driver passes the API-target conformance suite against its
 * simulator, with ClientGroup (an opsi host group and its members) as the
 * object under test. opsi keeps group ids unique per type (GROUP's primary
 * key is (type, groupId)), so the suite checks "merged, never duplicated"
 * instead of E_AMBIGUOUS_LIVE.
 */
import { VirtualClock } from '../../providers/kit/clock.js';
import { opsiDriver } from '../../providers/software/opsi/driver.js';
import { apiTargetConformance, type ApiTargetFixture } from '../support/api-conformance.js';
import { clientIds, desiredObject, startSim, targetOf } from './helpers.js';

apiTargetConformance('opsi (ClientGroup)', async (): Promise<ApiTargetFixture> => {
  const sim = await startSim();
  const [c1, c2, c3] = clientIds(3, 'conf');
  for (const c of [c1, c2, c3]) sim.backend.addClient(c);
  return {
    driver: opsiDriver({ clock: new VirtualClock() }),
    target: targetOf(sim),
    kind: 'ClientGroup',
    desired: (key, variant) =>
      variant === 'absent'
        ? desiredObject('ClientGroup', key, {}, 'absent')
        : desiredObject('ClientGroup', key, variant === 'a' ? { clients: [c1], description: 'first' } : { clients: [c2, c3], description: 'second' }),
    secretFields: ['password'],
    uniqueNaturalKey: 'an opsi host group id is the primary key of its table (GROUP: type, groupId); creating it again overwrites it',
    sim: {
      writes: () => sim.sim.counters.writes,
      requests: () => sim.sim.counters.requests,
      snapshot: () => sim.backend.snapshot(),
      failNthWrite: (n) => sim.failNthWrite(n),
      clearFaults: () => sim.clearFaults(),
      createLive: async (key) => {
        sim.backend.call('group_createHostGroup', [key, 'made by hand']);
        return key;
      },
    },
    cleanup: () => sim.stop(),
  };
});
