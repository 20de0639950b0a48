/**
 * The switch conformance suite: every switch driver passes the same cases
 * against its lab switch - create, change and delete VLANs and ports,
 * converge, unmanaged and prune, drift, rollback on a cut management path, on
 * a failed commit and on a dropped connection, refused injection, pinning -
 * and the contract's guarantees: reading never writes, a port the switch
 * lacks is refused at plan time with nothing sent, and a transaction either
 * commits (and is saved) or leaves the switch as it was.
 *
 * A driver registers in one line: `switchConformance(iosLab)` (labs.ts).
 */
import assert from 'node:assert/strict';
import type { Change, Resource, TransactionWriter } from '../../engine/types.js';
import { asTransactionWriter } from '../support/writers.js';
import { DriverError } from '../../engine/types.js';
import type { RunningSwitchSimulator, SwitchSimFaults } from '../../providers/network/simcore.js';
import type { SwitchConfig } from '../../providers/network/model.js';
import { ENV, change, planSwitch, res, targetSpec, validate } from './helpers.js';
import type { SwitchLab } from './labs.js';

/** Timer minutes last 2 s in these tests; revert windows are 1 minute. */
const MINUTE_MS = 2000;
const TIMEOUT_MS = 1500;

/** Wait until `cond` holds (the switch's own timer, for example); fails after `ms`. */
export async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function switchConformance(p: SwitchLab<SwitchSimFaults>): void {
  describe(`switch conformance: ${p.name} driver against its simulator`, function () {
    this.timeout(20_000);
    let sim: RunningSwitchSimulator;
    let sw: Resource;
    let writer: TransactionWriter;

    function switchRes(extra: Record<string, unknown> = {}): Resource {
      const address = `${ENV}/Switch/sw`;
      return res(
        'Switch',
        'sw',
        {
          connection: {
            driver: p.name,
            host: '127.0.0.1',
            port: sim?.port ?? 1,
            user: 'admin',
            password: 'lab-password',
            revertMinutes: 1,
            rollbackWaitSeconds: 20,
            ...p.connection(sim, address, 'sw'),
          },
          managementVlan: 10,
          prune: false,
          ...extra,
        },
        { site: 'test' },
      );
    }

    /** The school network of the tests: management, students, teachers; classroom, staff, uplink and management ports. */
    function base(): Resource[] {
      return [
        sw,
        res('Vlan', 'mgmt', { id: 10, name: 'MGMT', role: 'management', switches: ['sw'] }),
        res('Vlan', 'students', { id: 20, name: 'SCHUELER', role: 'students', subnet: '10.20.0.0/22', switches: ['sw'] }),
        res('Vlan', 'teachers', { id: 30, name: 'LEHRER', role: 'teachers', switches: { matchLabels: { site: 'test' } } }),
        res('SwitchPort', 'classroom', { switch: 'sw', ports: p.range(1, 8), mode: 'access', vlan: 'students', description: 'Klassenraum 101', enabled: true }),
        res('SwitchPort', 'staff', { switch: 'sw', ports: p.port(9), mode: 'access', vlan: 'teachers', enabled: false }),
        res('SwitchPort', 'uplink', { switch: 'sw', ports: p.port(47), mode: 'trunk', nativeVlan: 'mgmt', allowedVlans: ['teachers', 'students', 'mgmt'], description: 'Uplink core-01' }),
        res('SwitchPort', 'mgmt-port', { switch: 'sw', ports: p.port(48), mode: 'access', vlan: 'mgmt', description: 'Management' }),
      ];
    }

    async function converge(resources: Resource[]): Promise<void> {
      assert.deepEqual(validate(resources).filter((d) => d.severity === 'error'), []);
      const plan = await planSwitch(writer, sw, resources);
      await writer.applyTransaction(plan.changes);
      const again = await planSwitch(writer, sw, resources);
      assert.deepEqual(again.changes.map((c) => c.address), [], 'a second plan has no changes');
    }

    function snapshot(): SwitchConfig {
      return structuredClone(sim.model.running);
    }

    async function expectRollback(changes: Change[], before: SwitchConfig, code?: string) {
      const err = await writer.applyTransaction(changes).then(
        () => undefined,
        (e) => e,
      );
      assert.ok(err instanceof DriverError, `expected a DriverError, got ${err}`);
      assert.equal(err.opts.rolledBack, true, err.message);
      if (code) assert.equal(err.opts.code, code, err.message);
      assert.deepEqual(sim.model.running, before, 'the switch is back in its previous configuration');
      assert.equal(sim.model.checkpoints.size, 0, 'no checkpoint of the transaction left on the switch');
      return err as DriverError;
    }

    beforeEach(async () => {
      sw = switchRes();
      sim = await p.start(sw, { minuteMs: MINUTE_MS, managementPort: p.port(48) });
      sw = switchRes();
      writer = asTransactionWriter(await p.driver.connectWriter(targetSpec(sw), { timeoutMs: TIMEOUT_MS }));
    });

    afterEach(async () => {
      await writer?.close();
      await sim?.stop();
    });

    it('creates VLANs and configures port ranges, then converges (plan again: no changes)', async () => {
      const first = await planSwitch(writer, sw, base());
      assert.ok(first.changes.some((c) => c.kind === 'Vlan' && c.id === '20' && c.actions[0] === 'create'));
      assert.equal(first.changes.filter((c) => c.resource.endsWith('/classroom')).length, 8, 'one change per port of the range');
      await converge(base());
      const m = sim.model.running;
      assert.deepEqual(Object.keys(m.vlans).sort(), ['1', '10', '20', '30']);
      assert.equal(m.vlans['20'].name, 'SCHUELER');
      for (let i = 1; i <= 8; i++) {
        assert.deepEqual({ ...m.ports[p.port(i)], nativeVlan: undefined, allowedVlans: undefined }, {
          mode: 'access',
          accessVlan: 20,
          nativeVlan: undefined,
          allowedVlans: undefined,
          description: 'Klassenraum 101',
          enabled: true,
        });
      }
      assert.equal(m.ports[p.port(9)].enabled, false);
      assert.equal(m.ports[p.port(9)].accessVlan, 30);
      assert.deepEqual(m.ports[p.port(47)].allowedVlans, [10, 20, 30]);
      assert.equal(m.ports[p.port(47)].nativeVlan, 10);
      assert.equal(m.ports[p.port(47)].mode, 'trunk');
      assert.ok(sim.model.stats.saves >= 1, 'the configuration was saved');
      assert.deepEqual(sim.model.startup, sim.model.running, 'startup equals running after the save');
    });

    it('changes and deletes VLANs and ports, then converges', async () => {
      await converge(base());
      const next = base().map((r) => {
        if (r.name === 'students') return res('Vlan', 'students', { id: 20, name: 'SCHUELER', switches: ['sw'], ensure: 'absent' });
        if (r.name === 'teachers') return res('Vlan', 'teachers', { id: 30, name: 'LEHRER-NEU', switches: ['sw'] });
        if (r.name === 'classroom') return res('SwitchPort', 'classroom', { switch: 'sw', ports: p.range(1, 8), mode: 'access', vlan: 'teachers', description: 'Lehrerzimmer' });
        if (r.name === 'uplink') return res('SwitchPort', 'uplink', { switch: 'sw', ports: p.port(47), mode: 'trunk', nativeVlan: 'mgmt', allowedVlans: ['teachers', 'mgmt'] });
        return r;
      });
      const plan = await planSwitch(writer, sw, next);
      assert.ok(plan.changes.some((c) => c.kind === 'Vlan' && c.id === '20' && c.actions[0] === 'delete'));
      assert.ok(plan.changes.some((c) => c.kind === 'Vlan' && c.id === '30' && c.actions[0] === 'update'));
      // resetting a port to its defaults is a SwitchPort delete
      await writer.applyTransaction([...plan.changes, change('SwitchPort', p.port(9), ['delete'], null)]);
      const again = await planSwitch(writer, sw, next.filter((r) => r.name !== 'staff'));
      assert.deepEqual(again.changes.map((c) => c.address), []);
      const m = sim.model.running;
      assert.deepEqual(Object.keys(m.vlans).sort(), ['1', '10', '30']);
      assert.equal(m.vlans['30'].name, 'LEHRER-NEU');
      assert.equal(m.ports[p.port(3)].accessVlan, 30);
      assert.equal(m.ports[p.port(3)].description, 'Lehrerzimmer');
      assert.deepEqual(m.ports[p.port(47)].allowedVlans, [10, 30]);
      assert.equal(m.ports[p.port(9)].description, '');
      assert.equal(m.ports[p.port(9)].enabled, true);
      assert.equal(m.ports[p.port(9)].accessVlan, 1);
    });

    it('reports undeclared VLANs as unmanaged, prunes them with prune: true, never the management VLAN or VLAN 1', async () => {
      // no management Vlan resource and no ports on it: VLAN 10 is undeclared but protected
      const small = () => [sw, res('Vlan', 'students', { id: 20, switches: ['sw'] }), res('SwitchPort', 'classroom', { switch: 'sw', ports: p.range(1, 4), mode: 'access', vlan: 'students' })];
      await converge(small());
      sim.model.setVlan(99, 'ROGUE');
      const report = await planSwitch(writer, sw, small());
      assert.deepEqual(report.changes, []);
      assert.deepEqual(report.unmanaged.map((u) => u.id), ['10', '99']);
      assert.deepEqual(report.unmanaged[1].state, { id: 99, name: 'ROGUE' });

      sw = switchRes({ prune: true });
      const prune = await planSwitch(writer, sw, small());
      assert.deepEqual(prune.changes.map((c) => [c.kind, c.id, c.actions.join()]), [['Vlan', '99', 'delete']]);
      assert.deepEqual(prune.unmanaged.map((u) => u.id), ['10']);
      await writer.applyTransaction(prune.changes);
      assert.deepEqual(Object.keys(sim.model.running.vlans).sort(), ['1', '10', '20']);
      assert.deepEqual((await planSwitch(writer, sw, small())).changes, []);
    });

    it('detects drift: a change made on the switch shows up as a difference', async () => {
      await converge(base());
      sim.model.setPort(p.port(2), { description: 'von Hand geaendert' });
      const plan = await planSwitch(writer, sw, base());
      assert.deepEqual(plan.changes.map((c) => c.address), [`${ENV}/SwitchPort/classroom[${p.port(2)}]`]);
      assert.deepEqual(plan.changes[0].diff, [{ path: '/description', before: 'von Hand geaendert', after: 'Klassenraum 101' }]);
    });

    it('rolls back a change that cuts the management path (the switch restores itself)', async () => {
      await converge(base());
      const before = snapshot();
      const cut = base().map((r) =>
        r.name === 'mgmt-port' ? res('SwitchPort', 'mgmt-port', { switch: 'sw', ports: p.port(48), mode: 'access', vlan: 'students', description: 'Management' }) : r,
      );
      cut.push(res('Vlan', 'guests', { id: 40, name: 'GAESTE', switches: ['sw'] }));
      const plan = await planSwitch(writer, sw, cut);
      assert.ok(plan.changes.length >= 2);
      const t0 = Date.now();
      const err = await expectRollback(plan.changes, before);
      assert.match(err.message, /rolled back/);
      assert.ok(Date.now() - t0 < 15_000);
      assert.ok(sim.model.stats.reverts >= 1, 'the revert came from the switch');
      // and the switch answers again, with the old configuration
      assert.deepEqual((await planSwitch(writer, sw, base())).changes, []);
    });

    it('rolls back when deleting the management VLAN', async () => {
      await converge(base());
      const before = snapshot();
      await expectRollback([change('Vlan', '10', ['delete'], null)], before);
    });

    it('rolls back a failed commit', async () => {
      await converge(base());
      const before = snapshot();
      sim.model.faults.failCommit = true;
      const next = [...base(), res('Vlan', 'guests', { id: 40, name: 'GAESTE', switches: ['sw'] })];
      const plan = await planSwitch(writer, sw, next);
      await expectRollback(plan.changes, before, 'E_NET_COMMIT');
      sim.model.faults.failCommit = false;
      await until(() => !sim.model.revertPending); // AOS-CX: auto checkpoint mode ends only with its timer after a failed confirm
      await converge(next);
      assert.equal(sim.model.running.vlans['40'].name, 'GAESTE');
    });

    it('rolls back after the connection drops mid-apply, and applies on the next try', async () => {
      await converge(base());
      const before = snapshot();
      sim.model.faults.dropAfterWrites = 3;
      const next = base().map((r) =>
        r.name === 'classroom' ? res('SwitchPort', 'classroom', { switch: 'sw', ports: p.range(1, 8), mode: 'access', vlan: 'students', description: 'Raum 202' }) : r,
      );
      next.push(res('Vlan', 'guests', { id: 40, name: 'GAESTE', switches: ['sw'] }));
      const plan = await planSwitch(writer, sw, next);
      await expectRollback(plan.changes, before);
      assert.equal(sim.model.faults.dropAfterWrites, undefined, 'the fault fired');
      await converge(next);
      assert.equal(sim.model.running.ports[p.port(8)].description, 'Raum 202');
    });

    it('rolls back when the switch refuses a command mid-transaction (unknown port)', async () => {
      await converge(base());
      const before = snapshot();
      await expectRollback(
        [change('Vlan', '40', ['create'], { id: 40, name: 'GAESTE' }), change('SwitchPort', p.port(99), ['update'], { mode: 'access', accessVlan: 40 })],
        before,
        'E_NET_APPLY',
      );
    });

    it('catches a change the switch accepted but did not make in the read-back, and rolls back before confirming', async () => {
      await converge(base());
      const before = snapshot();
      sim.model.faults.silentlyIgnore = ['description'];
      const next = base().map((r) =>
        r.name === 'classroom' ? res('SwitchPort', 'classroom', { switch: 'sw', ports: p.range(1, 8), mode: 'access', vlan: 'teachers', description: 'Raum 303' }) : r,
      );
      const plan = await planSwitch(writer, sw, next);
      const saved = structuredClone(sim.model.startup);
      const err = await expectRollback(plan.changes, before, 'E_NET_READBACK');
      assert.match(err.message, new RegExp(`port ${p.port(1).replace(/[/]/g, '\\/')}: description is "Klassenraum 101", not "Raum 303"`));
      assert.deepEqual(sim.model.startup, saved, 'nothing was saved');
      delete sim.model.faults.silentlyIgnore;
    });

    it('refuses unsafe values before anything is sent', async () => {
      const commands = sim.model.stats.commands;
      const writes = sim.model.stats.writes;
      for (const description of ['ok\nvlan 999', 'ok\rreload', 'ok ! comment', 'x\u001b[2J', ' padded']) {
        const err = await writer.applyTransaction([change('SwitchPort', p.port(1), ['update'], { description })]).then(
          () => undefined,
          (e) => e,
        );
        assert.ok(err instanceof DriverError, JSON.stringify(description));
        assert.equal(err.opts.code, 'E_NET_UNSAFE_VALUE');
      }
      const err = await writer.applyTransaction([change('Vlan', '50', ['create'], { id: 50, name: 'A\nno vlan 10' })]).catch((e) => e);
      assert.equal(err.opts.code, 'E_NET_UNSAFE_VALUE');
      assert.equal(sim.model.stats.commands, commands, 'nothing reached the switch');
      assert.equal(sim.model.stats.writes, writes);
    });

    it('refuses a switch whose identity does not match the pin, before logging in', async () => {
      const sessions = sim.model.stats.sessions;
      const bad = switchRes();
      Object.assign(bad.spec.connection, p.badPin);
      const err = await p.driver.connectReader(targetSpec(bad), { timeoutMs: TIMEOUT_MS }).catch((e) => e);
      assert.ok(err instanceof DriverError);
      assert.match(err.opts.code ?? '', /MISMATCH/);
      assert.match(err.message, /nothing was sent/);
      assert.equal(sim.model.stats.sessions, sessions, 'no login happened');
    });

    it('reading never writes: plans, unmanaged reports and failed reads leave the switch and its counters as they were', async () => {
      await converge(base());
      sim.model.setVlan(99, 'ROGUE');
      const running = snapshot();
      const startup = structuredClone(sim.model.startup);
      const { writes, saves, confirms, reverts } = sim.model.stats;
      const checkpoints = sim.model.checkpoints.size;
      await planSwitch(writer, sw, base());
      await planSwitch(writer, switchRes({ prune: true }), base());
      const reader = await p.driver.connectReader(targetSpec(sw), { timeoutMs: TIMEOUT_MS });
      try {
        const missing = [res('SwitchPort', 'ghost', { switch: 'sw', ports: p.port(p.firstMissingPort), mode: 'access' })];
        await assert.rejects(planSwitch(reader, sw, [sw, ...missing]), DriverError);
        await planSwitch(reader, sw, base());
      } finally {
        await reader.close();
      }
      assert.deepEqual(sim.model.running, running, 'running configuration unchanged');
      assert.deepEqual(sim.model.startup, startup, 'startup configuration unchanged');
      assert.deepEqual({ ...sim.model.stats }, { ...sim.model.stats, writes, saves, confirms, reverts }, 'no write, save, confirm or revert');
      assert.equal(sim.model.checkpoints.size, checkpoints, 'no checkpoint taken');
      assert.equal(sim.model.revertPending, false, 'no rollback timer started');
    });

    it('a port the switch lacks is a plan-time error naming the switch and the port; nothing is sent', async () => {
      const commands = sim.model.stats.commands;
      const missing = p.port(p.firstMissingPort);
      const r = [...base(), res('SwitchPort', 'extra', { switch: 'sw', ports: p.range(p.firstMissingPort - 2, p.firstMissingPort + 1), mode: 'access', vlan: 'students' })];
      const err = await planSwitch(writer, sw, r).catch((e) => e);
      assert.ok(err instanceof DriverError, String(err));
      assert.equal(err.opts.code, 'E_NET_NO_PORT');
      assert.match(err.message, new RegExp(`switch sw has no ports ${missing.replace(/[/]/g, '\\/')}, `));
      assert.match(err.message, /ports are never created/);
      assert.ok(sim.model.stats.commands - commands <= 4, 'only the read reached the switch');
      assert.equal(sim.model.stats.writes, 0);
    });

    it('a transaction either commits and is saved, or leaves the switch as it was (drops after 1, 2, 3 and 5 writes, a failed commit)', async () => {
      await converge(base());
      let round = 0;
      let rolledBack = 0;
      for (const fault of [{ dropAfterWrites: 1 }, { dropAfterWrites: 2 }, { dropAfterWrites: 3 }, { dropAfterWrites: 5 }, { failCommit: true }, {}]) {
        round++;
        const next = base().map((r) =>
          r.name === 'classroom' ? res('SwitchPort', 'classroom', { switch: 'sw', ports: p.range(1, 8), mode: 'access', vlan: round % 2 ? 'teachers' : 'students', description: `Runde ${round}` }) : r,
        );
        next.push(res('Vlan', `extra${round}`, { id: 100 + round, name: `EXTRA${round}`, switches: ['sw'] }));
        const before = snapshot();
        const plan = await planSwitch(writer, sw, next);
        Object.assign(sim.model.faults, fault);
        const outcome = await writer.applyTransaction(plan.changes).then(
          () => 'committed',
          (e) => e,
        );
        sim.model.faults.failCommit = false;
        delete sim.model.faults.dropAfterWrites;
        if (outcome === 'committed') {
          assert.deepEqual((await planSwitch(writer, sw, next)).changes, [], `round ${round}: committed means converged`);
          assert.deepEqual(sim.model.startup, sim.model.running, `round ${round}: committed means saved`);
        } else {
          assert.ok(outcome instanceof DriverError, String(outcome));
          assert.equal(outcome.opts.rolledBack, true, outcome.message);
          assert.deepEqual(sim.model.running, before, `round ${round}: a failed transaction leaves the switch as it was`);
          await until(() => !sim.model.revertPending);
          rolledBack++;
        }
        if (Object.keys(fault).length === 0) assert.equal(outcome, 'committed', 'without a fault the transaction commits');
      }
      assert.equal(rolledBack, 5, 'every injected fault (each transaction has more than 5 writes) ended in a rollback');
    });

    it('works with latency on every answer', async () => {
      sim.model.faults.latencyMs = 5;
      await converge(base());
      assert.equal(sim.model.running.vlans['20'].name, 'SCHUELER');
    });
  });
}
