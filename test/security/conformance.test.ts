/**
 * The opnsense driver passes the API-target conformance suite against its
 * simulator, on a firewall with OPNsense's rollback API (26.1) and on one
 * without (26.7, with allowWithoutRollback). The suite's kind is
 * FirewallAlias: aliases are the objects OPNsense identifies by a natural key
 * (their name); rules are identified by einklang's own UUIDv5 and have their
 * own tests (driver.test.ts).
 */
import type { DesiredObject } from '../../engine/types.js';
import { createOpnsenseDriver } from '../../providers/security/opnsense/driver.js';
import type { Firmware } from '../../providers/security/opnsense/simulator/model.js';
import { apiTargetConformance, type ApiTargetFixture } from '../support/api-conformance.js';
import { FIREWALL, firewallTarget, modelSnapshot, startSim } from './helpers.js';

function desired(key: string, variant: 'a' | 'b' | 'absent'): DesiredObject {
  const state =
    variant === 'b'
      ? { type: 'host', content: ['10.1.0.5', '10.1.0.6'], description: 'variant b', enabled: false }
      : { type: 'network', content: ['10.1.0.0/24'], description: 'variant a', enabled: true };
  return {
    address: `conf/FirewallAlias/${key}`,
    resource: `conf/FirewallAlias/${key}`,
    kind: 'FirewallAlias',
    target: FIREWALL,
    id: key,
    ensure: variant === 'absent' ? 'absent' : 'present',
    state: variant === 'absent' ? {} : state,
    dependsOn: [],
    pos: { file: 'conf/aliases.yaml', line: 1, col: 1 },
  };
}

function fixture(firmware: Firmware) {
  return async (): Promise<ApiTargetFixture> => {
    const sim = await startSim({ firmware });
    return {
      driver: createOpnsenseDriver({ pollMs: 20 }),
      target: firewallTarget(sim, firmware === '26.7' ? { allowWithoutRollback: true } : {}),
      kind: 'FirewallAlias',
      desired,
      // OPNsense alias names: letters, digits and '_'
      keyFor: (text) => text.replace(/[^A-Za-z0-9]+/g, '_'),
      secretFields: ['apiKey', 'apiSecret'],
      sim: {
        writes: () => sim.sim.counters.writes,
        requests: () => sim.sim.counters.requests,
        snapshot: () => modelSnapshot(sim),
        failNthWrite: (n) =>
          sim.sim.faults.add(
            { kind: 'status', status: 200, body: { result: 'failed', validations: { 'alias.content': 'injected failure: the server refused this write' } } },
            { match: { method: 'POST' }, skip: n - 1 },
          ),
        clearFaults: () => sim.sim.faults.clear(),
        // out of band, as a restored or synchronised config.xml would carry it (OPNsense checks names only on the node it saves)
        createLive: async (key) => {
          const uuid = globalThis.crypto.randomUUID();
          const a = { enabled: '1', name: key, type: 'host', path_expression: '', proto: '', interface: '', counters: '0', updatefreq: '', content: '10.9.9.9', password: '', username: '', authtype: '', expire: '', categories: '', description: 'made by hand' };
          sim.model.config.aliases.set(uuid, a);
          sim.model.running.aliases.set(uuid, { ...a });
          return uuid;
        },
      },
      cleanup: () => sim.stop(),
    };
  };
}

apiTargetConformance('opnsense (26.1, savepoint and rollback)', fixture('26.1'));
apiTargetConformance('opnsense (26.7, allowWithoutRollback)', fixture('26.7'));
