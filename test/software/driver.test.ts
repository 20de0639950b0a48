/**
 * The opsi driver against its simulator, beyond the conformance suite:
 * deployments converge by action requests (not one change per client), reads
 * are a constant number of requests, mistakes in manifests are one clear
 * error before anything is written, and a server's refusals are respected
 * (no hammering a blocked server, no session pile-up).
 */
import assert from 'node:assert/strict';
import type { DesiredObject, LiveObject, ReadResult, TargetSpec } from '../../engine/types.js';
import { DriverError, objectKey } from '../../engine/types.js';
import { changeFor } from '../../engine/plan.js';
import { Secrets } from '../../engine/secrets.js';
import { defaultCatalog } from '../../cli/catalog.js';
import { isConverged } from '../../providers/software/opsi/convergence.js';
import { opsiDriver } from '../../providers/software/opsi/driver.js';
import { OpsiRpc } from '../../providers/software/opsi/rpc.js';
import type { RunningOpsiSim } from '../../providers/software/opsi/simulator/server.js';
import { applyChanges } from '../support/api-conformance.js';
import { clientIds, deploymentState, desiredObject, startSim, targetOf } from './helpers.js';

const driver = opsiDriver();
const noSecrets = new Secrets({ zone: 'school' });

async function read(target: TargetSpec, desired: DesiredObject[]): Promise<ReadResult> {
  const r = await driver.connectReader(target);
  try {
    return await r.read(desired.map((o) => ({ kind: o.kind, id: o.id, state: o.state })));
  } finally {
    await r.close();
  }
}

/** Plan (the engine's changeFor), apply, and return the changes applied. */
async function converge(target: TargetSpec, desired: DesiredObject[]) {
  const w = await driver.connectWriter(target);
  try {
    const res = await w.read(desired.map((o) => ({ kind: o.kind, id: o.id, state: o.state })));
    const changes = desired.flatMap((o) => changeFor(defaultCatalog().kind(o.kind), o, o.state, res.objects[objectKey(o.kind, o.id)] ?? null, noSecrets) ?? []);
    if (w.mode === 'change') await applyChanges(w, changes);
    return changes;
  } finally {
    await w.close();
  }
}

const live = (res: ReadResult, kind: string, id: string): LiveObject | null | undefined => res.objects[objectKey(kind, id)];

describe('opsi driver', function () {
  this.timeout(20_000);
  let sim: RunningOpsiSim;
  let now = 1_000_000;
  const clients = clientIds(3);
  const [pc1, pc2, pc3] = clients;
  const group = () => desiredObject('ClientGroup', 'gs-nord-pcs', { clients });
  const firefox = (version = '128.0.3-1', cs = clients) => desiredObject('SoftwareDeployment', 'firefox', deploymentState('firefox', version, cs));
  const office = () => desiredObject('SoftwareDeployment', 'office', deploymentState('libreoffice', '24.8.4-2', clients));

  beforeEach(async () => {
    now = 1_000_000;
    sim = await startSim({ now: () => now });
    for (const c of clients) sim.backend.addClient(c);
    sim.backend.addProduct('firefox', '128.0.3', '1');
    sim.backend.addProduct('libreoffice', '24.8.4', '2');
  });
  afterEach(async () => {
    await sim.stop();
  });

  describe('deployments', () => {
    it('plans one change per deployment naming the clients, applies action requests, and stays converged when the clients install', async () => {
      const desired = [group(), firefox(), office()];
      const first = await converge(targetOf(sim), desired);
      assert.deepEqual(first.map((c) => `${c.kind} ${c.id}: ${c.actions}`), ['ClientGroup gs-nord-pcs: create', 'SoftwareDeployment firefox: update', 'SoftwareDeployment office: update']);
      const ff = first[1];
      assert.deepEqual(ff.diff, [
        { path: '/clientsNeedingAction', before: 3, after: 0 },
        { path: '/needsAction', before: clients, after: [] },
      ]);
      // what the server itself says
      assert.deepEqual(sim.backend.members('gs-nord-pcs'), clients);
      for (const p of ['firefox', 'libreoffice']) for (const c of clients) assert.equal(sim.backend.productOnClient(p, c)?.actionRequest, 'setup', `${p} on ${c}`);
      assert.deepEqual(await converge(targetOf(sim), desired), [], 'pending requests are converged');
      assert.equal(sim.backend.runPendingActions(), 6);
      assert.equal(sim.backend.productOnClient('firefox', pc1)?.installationStatus, 'installed');
      assert.deepEqual(await converge(targetOf(sim), desired), [], 'installed at the version is converged');
    });

    it('plans exactly the clients a version bump needs (a pending setup installs the new version anyway)', async () => {
      await converge(targetOf(sim), [group(), firefox()]);
      sim.backend.runPendingActions({ clientIds: [pc1, pc2] }); // pc3 was switched off
      sim.backend.addProduct('firefox', '128.0.4', '1');
      const changes = await converge(targetOf(sim), [group(), firefox('128.0.4-1')]);
      assert.equal(changes.length, 1);
      assert.deepEqual(changes[0].before, { clientsNeedingAction: 2, needsAction: [pc1, pc2] });
      assert.equal(sim.backend.productOnClient('firefox', pc3)?.actionRequest, 'setup');
      assert.equal(sim.backend.runPendingActions(), 3);
      assert.deepEqual([pc1, pc2, pc3].map((c) => sim.backend.productOnClient('firefox', c)?.productVersion), ['128.0.4', '128.0.4', '128.0.4']);
    });

    it('uninstall and always follow the convergence rule', () => {
      const installed = { installationStatus: 'installed', actionRequest: 'none', productVersion: '1.0', packageVersion: '1' };
      assert.equal(isConverged('setup', '1.0-1', installed), true);
      assert.equal(isConverged('setup', '1.0-2', installed), false);
      assert.equal(isConverged('setup', '1.0-1', { ...installed, actionRequest: 'uninstall' }), false, 'a pending uninstall would remove it');
      assert.equal(isConverged('setup', '2.0-1', { ...installed, actionRequest: 'setup' }), true);
      assert.equal(isConverged('setup', '1.0-1', undefined), false);
      assert.equal(isConverged('always', '1.0-1', installed), false, 'always must stay requested');
      assert.equal(isConverged('always', '1.0-1', { ...installed, actionRequest: 'always' }), true);
      assert.equal(isConverged('uninstall', undefined, undefined), true, 'never installed');
      assert.equal(isConverged('uninstall', undefined, installed), false);
      assert.equal(isConverged('uninstall', undefined, { installationStatus: 'not_installed', actionRequest: 'setup' }), false, 'a pending setup would install it');
      assert.equal(isConverged('uninstall', undefined, { installationStatus: 'unknown', actionRequest: 'none' }), false);
    });

    it('sets the requests of a deployment in one call, and a refused call changes nothing', async () => {
      await converge(targetOf(sim), [group()]);
      const before = sim.backend.snapshot();
      sim.failNthWrite(1);
      await assert.rejects(converge(targetOf(sim), [firefox()]), (e: Error) => e instanceof DriverError && e.opts.rolledBack === true && /productOnClient_updateObjects/.test(e.message) && /nothing was changed/.test(e.message));
      assert.deepEqual(sim.backend.snapshot(), before);
      sim.clearFaults();
      const callsBefore = sim.calls.get('productOnClient_updateObjects') ?? 0;
      await converge(targetOf(sim), [firefox()]);
      assert.equal(sim.calls.get('productOnClient_updateObjects'), callsBefore + 1, 'one call for all clients');
    });

    it('says so when the answer to a write was lost (the server may have acted on it)', async () => {
      await converge(targetOf(sim), [group()]);
      // the write batch reaches the server, which runs it; the connection drops before the answer
      sim.sim.faults.add({ kind: 'drop', when: 'after' }, { match: { method: 'POST' }, skip: 7 }); // re-read (login, batch, depot products, exit), then the change's login, batch, depot products: the 8th is the write
      await assert.rejects(converge(targetOf(sim), [firefox()]), (e: Error) => e instanceof DriverError && /answer was lost.*re-plan/.test(e.message) && e.opts.rolledBack !== true);
      sim.clearFaults();
      assert.equal(sim.backend.productOnClient('firefox', pc1)?.actionRequest, 'setup', 'the server did act on it');
      assert.deepEqual(await converge(targetOf(sim), [firefox()]), [], 'a re-plan sees it');
    });
  });

  describe('reads', () => {
    it('reads 300 clients x 5 deployments in a constant number of requests', async () => {
      const many = clientIds(300, 'gy-sued');
      for (const c of many) sim.backend.addClient(c);
      for (let i = 0; i < 5; i++) sim.backend.addProduct(`app-${i}`, '1.0', '1');
      const desired = [desiredObject('ClientGroup', 'gy-sued-pcs', { clients: many }), ...[0, 1, 2, 3, 4].map((i) => desiredObject('SoftwareDeployment', `app-${i}`, deploymentState(`app-${i}`, '1.0-1', many)))];
      const requests = sim.sim.counters.requests;
      const res = await read(targetOf(sim), desired);
      assert.equal(sim.sim.counters.requests - requests, 4, 'login, one batch, the depot products, backend_exit');
      assert.equal(sim.sim.counters.writes, 0);
      assert.equal(live(res, 'SoftwareDeployment', 'app-3')?.state.clientsNeedingAction, 300);
      assert.equal(sim.sessions(), 0, 'the session was ended with backend_exit');
    });

    it('manages membership exactly, and reports groups in scope that no manifest declares', async () => {
      await converge(targetOf(sim), [group()]);
      sim.backend.addClient('lehrer-01.gs-nord.schule.local');
      sim.backend.call('objectToGroup_create', ['HostGroup', 'gs-nord-pcs', 'lehrer-01.gs-nord.schule.local']);
      sim.backend.call('group_createHostGroup', ['gs-nord-lehrer']);
      sim.backend.call('group_createHostGroup', ['gy-sued-pcs']);
      const res = await read(targetOf(sim, {}, { groupScope: 'gs-nord-*' }), [group()]);
      assert.deepEqual(live(res, 'ClientGroup', 'gs-nord-pcs')?.state.clients, [...clients, 'lehrer-01.gs-nord.schule.local'].sort());
      assert.deepEqual(res.unmanaged?.map((u) => u.id), ['gs-nord-lehrer'], 'another environment\'s group is outside the scope');
      const changes = await converge(targetOf(sim), [group()]);
      assert.deepEqual(changes[0].diff[0].after, clients);
      assert.deepEqual(sim.backend.members('gs-nord-pcs'), clients, 'the extra member was removed');
    });
  });

  describe('mistakes are one error at plan time, and nothing is written', () => {
    it('a product that is not on the client\'s depot', async () => {
      const writes = sim.sim.counters.writes;
      await assert.rejects(read(targetOf(sim), [group(), desiredObject('SoftwareDeployment', 'tb', deploymentState('thunderbird', '115.0-1', clients))]), (e: Error) => {
        assert.ok(e instanceof DriverError && e.opts.code === 'E_OPSI_PRODUCT_NOT_ON_DEPOT', String(e));
        assert.match(e.message, /schule-nord\/SoftwareDeployment\/tb: product thunderbird is not on depot opsi\.lab\.invalid \(clients pc-001/);
        return true;
      });
      await assert.rejects(read(targetOf(sim), [firefox('129.0-1')]), /depot opsi\.lab\.invalid has firefox 128\.0\.3-1, not 129\.0-1/);
      assert.equal(sim.sim.counters.writes, writes);
    });

    it('a client opsi does not know, named once with everything that names it', async () => {
      const ghost = 'pc-999.gs-nord.schule.local';
      const desired = [desiredObject('ClientGroup', 'gs-nord-pcs', { clients: [...clients, ghost] }), firefox('128.0.3-1', [...clients, ghost])];
      await assert.rejects(read(targetOf(sim), desired), (e: Error) => {
        assert.ok(e instanceof DriverError && e.opts.code === 'E_OPSI_UNKNOWN_CLIENT', String(e));
        assert.equal(e.message, `client ${ghost} is not known to the opsi server (named by ClientGroup gs-nord-pcs, schule-nord/SoftwareDeployment/firefox); enroll it in opsi first`);
        return true;
      });
    });
  });

  describe('the server\'s refusals', () => {
    it('wrong credentials fail once; further sessions with them are refused without asking the server again', async () => {
      const wrong = targetOf(sim, { password: 'Not-The-Passw0rd' });
      const failed = () => sim.sim.log.filter((l) => l.status === 401).length;
      for (let i = 0; i < 12; i++) {
        await assert.rejects(driver.connectReader(wrong), (e: Error) => e instanceof DriverError && e.opts.code === 'E_AUTH' && !e.message.includes('Not-The-Passw0rd'));
      }
      assert.equal(failed(), 1, 'one failed login reached opsi, far from its block after 10');
      await (await driver.connectReader(targetOf(sim))).close();
    });

    it('a blocked client is told so (E_FORBIDDEN) and does not contact the server again during the block', async () => {
      // someone else on this address tried 10 wrong passwords
      for (let i = 0; i < 11; i++) await driver.connectReader(targetOf(sim, { password: `guess-${i}` })).catch(() => undefined);
      await assert.rejects(driver.connectReader(targetOf(sim)), (e: Error) => e instanceof DriverError && e.opts.code === 'E_FORBIDDEN' && /is blocked/.test(e.message));
      const requests = sim.sim.counters.requests;
      await assert.rejects(driver.connectReader(targetOf(sim)), /is blocked.*not sent again/);
      assert.equal(sim.sim.counters.requests, requests, 'no request during the block');
    });

    it('keeps within opsi\'s sessions per address when many environments read one server at once', async () => {
      const busy = await startSim({ maxSessionsPerIp: 8 });
      for (const c of clients) busy.backend.addClient(c);
      try {
        const results = await Promise.allSettled(Array.from({ length: 40 }, () => read(targetOf(busy, { maxSessions: 8 }), [group()])));
        assert.deepEqual(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason)), []);
        assert.equal(busy.sessions(), 0);
      } finally {
        await busy.stop();
      }
    });

    it('an apply that keeps one einklang session per target open never waits for server sessions other targets hold', async () => {
      const busy = await startSim({ maxSessionsPerIp: 4 });
      for (const c of clients) busy.backend.addClient(c);
      try {
        const desired = (i: number) => desiredObject('ClientGroup', `klasse-${i}`, { clients: [clients[i % 3]] });
        // as apply does: connect and re-read every target at once, keep the sessions, then write, then verify
        const writers = await Promise.all(
          Array.from({ length: 12 }, async (_, i) => {
            const w = await driver.connectWriter(targetOf(busy, { maxSessions: 4 }));
            const res = await w.read([desired(i)].map((o) => ({ kind: o.kind, id: o.id, state: o.state })));
            return { w, i, live: res.objects[objectKey('ClientGroup', `klasse-${i}`)] ?? null };
          }),
        );
        assert.equal(busy.sessions(), 0, 'no server session is held between operations');
        await Promise.all(
          writers.map(async ({ w, i, live: l }) => {
            const c = changeFor(defaultCatalog().kind('ClientGroup'), desired(i), desired(i).state, l, noSecrets)!;
            if (w.mode === 'change') await w.applyChange(c);
          }),
        );
        await Promise.all(writers.map(({ w }) => w.close()));
        assert.equal(busy.backend.groups.rows.size, 12);
      } finally {
        await busy.stop();
      }
    });

    it('holds a server session only while an operation runs, and logs in again once when the server dropped it', async () => {
      const w = await driver.connectReader(targetOf(sim));
      try {
        await w.read([group()].map((o) => ({ kind: o.kind, id: o.id, state: o.state })));
        assert.equal(sim.sessions(), 0, 'backend_exit right after the read');
        now += 3_600_000; // idle for an hour: nothing to expire
        assert.equal(live(await w.read([group()].map((o) => ({ kind: o.kind, id: o.id, state: o.state }))), 'ClientGroup', 'gs-nord-pcs'), null);
      } finally {
        await w.close();
      }
      const from = sim.sim.log.length;
      const rpc = await OpsiRpc.open(targetOf(sim));
      try {
        const answer = await rpc.operation(async () => {
          await rpc.call('accessControl_authenticated');
          sim.expireSessions(); // the server lost the session in the middle of an operation
          return rpc.call('accessControl_authenticated');
        });
        assert.equal(answer, true);
      } finally {
        await rpc.close();
      }
      assert.deepEqual(sim.sim.log.slice(from).map((l) => l.status), [200, 200, 401, 200, 200, 200], 'login, call, 401, login again, call, backend_exit');
    });
  });
});
