/**
 * AOS-CX details against the lab switch: PUT is a strict replace (so only a
 * writable-merge PUT keeps what einklang does not manage), sessions are
 * logged out (a run of transactions stays within a small session limit), and
 * the simulator refuses what the real API refuses.
 */
import assert from 'node:assert/strict';
import { DriverError, type Resource, type TransactionWriter } from '../../engine/types.js';
import { asTransactionWriter } from '../support/writers.js';
import { AoscxClient } from '../../providers/network/aoscx/client.js';
import { aoscxCertFingerprint } from '../../providers/network/aoscx/simulator/index.js';
import type { RunningSwitchSimulator } from '../../providers/network/simcore.js';
import { ENV, change, res, targetSpec } from './helpers.js';
import { aoscxLab } from './labs.js';

const ACL = { aclv4_in_cfg: { 'gast/ipv4': '/rest/v10.09/system/acls/gast,ipv4' }, aclv4_in_cfg_version: 2 };

describe('aoscx driver details', function () {
  this.timeout(20_000);
  let sim: RunningSwitchSimulator;
  let sw: Resource;
  const address = `${ENV}/Switch/sw`;
  const switchRes = () =>
    res('Switch', 'sw', {
      connection: { driver: 'aoscx', host: '127.0.0.1', user: 'admin', password: 'pw', revertMinutes: 1, rollbackWaitSeconds: 10, ...aoscxLab.connection(sim, address, 'sw') },
    });
  const client = async () => {
    const c = new AoscxClient({ host: '127.0.0.1', port: sim.port, user: 'admin', password: 'pw', tlsFingerprint: aoscxCertFingerprint({ address, name: 'sw' }) }, { timeoutMs: 3000, label: address });
    await c.login();
    return c;
  };

  async function start(options: Record<string, unknown>): Promise<TransactionWriter> {
    sw = switchRes();
    sim = await aoscxLab.start(sw, { minuteMs: 2000, ...options });
    sw = switchRes();
    return asTransactionWriter(await aoscxLab.driver.connectWriter(targetSpec(sw), { timeoutMs: 3000 }));
  }
  afterEach(() => sim?.stop());

  it('the lab switch replaces strictly: a PUT without the other writable attributes drops them, one with a read-only attribute is refused', async () => {
    await (await start({ portAttributes: { '1/1/5': ACL } })).close();
    const c = await client();
    try {
      const w = await c.ok('GET', '/system/interfaces/1%2F1%2F5?selector=writable');
      assert.deepEqual({ aclv4_in_cfg: w.aclv4_in_cfg, aclv4_in_cfg_version: w.aclv4_in_cfg_version }, ACL);
      assert.equal(w.name, undefined, 'name is not writable');
      assert.equal((await c.request('PUT', '/system/interfaces/1%2F1%2F5', { ...w, name: '1/1/5' })).status, 400);
      assert.equal((await c.request('PUT', '/system/interfaces/1%2F1%2F5', { vlan_mode: 'access', vlan_tag: '/rest/v10.09/system/vlans/1' })).status, 204);
      assert.deepEqual(sim.model.running.deviceAttributes?.ports?.['1/1/5'], {}, 'a bare PUT reset what it left out');
    } finally {
      await c.close();
    }
  });

  it('a change of VLAN keeps the port attributes einklang does not manage (GET writable, merge, PUT)', async () => {
    const writer = await start({ portAttributes: { '1/1/5': ACL }, vlanAttributes: { '1': { description: 'Standard' } } });
    try {
      await writer.applyTransaction([
        change('Vlan', '20', ['create'], { id: 20, name: 'SCHUELER' }),
        change('Vlan', '1', ['update'], { id: 1, name: 'DEFAULT' }),
        change('SwitchPort', '1/1/5', ['update'], { mode: 'access', accessVlan: 20, description: 'Raum 5' }),
      ]);
      assert.equal(sim.model.running.ports['1/1/5'].accessVlan, 20);
      assert.deepEqual(sim.model.running.deviceAttributes?.ports?.['1/1/5'], ACL);
      assert.deepEqual(sim.model.running.deviceAttributes?.vlans?.['1'], { description: 'Standard' }, 'the VLAN rename kept its description');
    } finally {
      await writer.close();
    }
  });

  it('a CLI whose SSH host key does not match the pin: nothing changes, no auto checkpoint, no checkpoint left', async () => {
    await (await start({})).close();
    const bad = switchRes();
    bad.spec.connection.hostKeyFingerprint = 'SHA256:' + 'B'.repeat(43);
    const writer = asTransactionWriter(await aoscxLab.driver.connectWriter(targetSpec(bad), { timeoutMs: 3000 }));
    const before = structuredClone(sim.model.running);
    try {
      const err = await writer.applyTransaction([change('Vlan', '20', ['create'], { id: 20, name: 'SCHUELER' })]).catch((e) => e);
      assert.ok(err instanceof DriverError && err.opts.code === 'E_HOSTKEY_MISMATCH', String(err));
      assert.match(err.message, /host key mismatch.*nothing was sent/);
    } finally {
      await writer.close();
    }
    assert.deepEqual(sim.model.running, before);
    assert.equal(sim.model.revertPending, false);
    assert.equal(sim.model.checkpoints.size, 0);
  });

  it('logs every session out: twenty reads and five transactions (with a management check each) fit a limit of two sessions', async () => {
    const writer = await start({ sessionLimit: 2 });
    try {
      for (let i = 0; i < 20; i++) {
        const r = await aoscxLab.driver.connectReader(targetSpec(sw), { timeoutMs: 3000 });
        await r.read([{ kind: 'Vlan', id: '1', state: {} }]);
        await r.close();
      }
      for (let i = 0; i < 5; i++) await writer.applyTransaction([change('Vlan', String(30 + i), ['create'], { id: 30 + i, name: `V${i}` })]);
      sim.model.faults.dropAfterWrites = 1; // the rollback reconnects: the replaced session is logged out too
      await assert.rejects(writer.applyTransaction([change('Vlan', '40', ['create'], { id: 40, name: 'X' })]));
      assert.equal(sim.model.openSessions, 1, 'only the writer is logged in');
    } finally {
      await writer.close();
    }
    assert.equal(sim.model.openSessions, 0);
  });
});
