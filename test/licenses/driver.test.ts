/**
 * The snipeit driver beyond the conformance suite: what Snipe-IT does that a
 * naive client gets wrong (escaped names, case-insensitive identity, errors
 * inside HTTP 200, a silent refusal to shrink, deletes refused while seats
 * are out), names that must exist, and staying inside the rate limit.
 */
import assert from 'node:assert/strict';
import { changeFor } from '../../engine/plan.js';
import { Secrets } from '../../engine/secrets.js';
import { DriverError, objectKey, type Change, type DesiredObject, type ReadResult } from '../../engine/types.js';
import { VirtualClock } from '../../providers/kit/clock.js';
import { licenseKind } from '../../providers/licenses/kinds.js';
import { snipeitDriverWith } from '../../providers/licenses/snipeit/driver.js';
import type { RunningSnipeitSim } from '../../providers/licenses/snipeit/simulator.js';
import { SERVER, startSim, target } from './helpers.js';

const noSecrets = new Secrets({ zone: 'school' });

function pool(name: string, state: Record<string, unknown>): DesiredObject {
  return {
    address: `lic/License/${name}`,
    resource: `lic/License/${name}`,
    kind: 'License',
    target: SERVER,
    id: name,
    ensure: 'present',
    state: { name, seats: 3, category: 'Office', ...state },
    dependsOn: [],
    pos: { file: 'lic/licenses.yaml', line: 1, col: 1 },
  };
}

describe('snipeit driver', function () {
  this.timeout(20_000);
  let sim: RunningSnipeitSim;
  let clock: VirtualClock;
  const driver = () => snipeitDriverWith({ clock });
  beforeEach(async () => {
    clock = new VirtualClock();
    sim = await startSim({ now: () => clock.now() });
  });
  afterEach(async () => {
    await sim.stop();
  });

  async function read(objects: DesiredObject[], extra: Record<string, unknown> = {}): Promise<ReadResult> {
    const r = await driver().connectReader(target(sim, extra));
    try {
      return await r.read(objects.map((o) => ({ kind: o.kind, id: o.id, state: o.state })));
    } finally {
      await r.close();
    }
  }

  /** The engine's plan of these objects against what the driver reads. */
  async function plan(objects: DesiredObject[]): Promise<Change[]> {
    const res = await read(objects);
    return objects.flatMap((o) => changeFor(licenseKind, o, o.state, res.objects[objectKey(o.kind, o.id)], noSecrets) ?? []);
  }

  async function apply(changes: Change[]): Promise<void> {
    const w = await driver().connectWriter(target(sim));
    try {
      for (const c of changes) if (w.mode === 'change') await w.applyChange(c);
    } finally {
      await w.close();
    }
  }

  const converge = async (objects: DesiredObject[]) => {
    await apply(await plan(objects));
    assert.deepEqual(await plan(objects), [], 'converged');
  };

  /** A live pool made by hand, with `out` seats checked out. */
  function handMade(name: string, seats: number, out = 0): number {
    const r = sim.model.createLicense({ name, seats, category_id: 1, manufacturer_id: 1 });
    assert.ok(r.ok);
    for (const s of sim.model.seatsOf(r.license.id).slice(0, out)) sim.model.updateSeat(s, { assigned_to: 1 });
    return r.license.id;
  }

  it('writes plain names and reads them back through the HTML escaping: a name with & and quotes converges', async () => {
    const name = `Tom & Jerry's "Schul" Office`;
    await converge([pool(name, { manufacturer: 'Microsoft', expires: '2027-07-31' })]);
    assert.equal([...sim.model.licenses.values()][0].name, name);
  });

  it('finds a pool whatever the case of its name (as MySQL compares) and corrects the case', async () => {
    handMade('office 365 a3', 3);
    const changes = await plan([pool('Office 365 A3', {})]);
    assert.deepEqual(changes.map((c) => [c.actions.join(), c.diff.map((d) => d.path)]), [['update', ['/name']]]);
    await apply(changes);
    assert.equal(sim.model.licenses.get(1)!.name, 'Office 365 A3');
    assert.equal(sim.model.licenses.size, 1, 'no second pool');
  });

  it('a manufacturer or category that does not exist is an error of the plan naming each, before any write', async () => {
    const writes = sim.sim.counters.writes;
    await assert.rejects(read([pool('Pool One', { manufacturer: 'Microsft' }), pool('Pool Two', { category: 'Laptops' })]), (e: Error) => {
      assert.ok(e instanceof DriverError && e.opts.code === 'E_LICENSE_REFERENCE', String(e));
      assert.match(e.message, /pool "Pool One": manufacturer "Microsft" does not exist in Snipe-IT/);
      assert.match(e.message, /pool "Pool Two": license category "Laptops" does not exist in Snipe-IT \(a category of type "Asset" has this name; licenses need one of type license\)/);
      return true;
    });
    assert.equal(sim.sim.counters.writes, writes);
  });

  it('reads only what it needs: a probe and one page for 3 pools that already carry their names, plus one list per name kind otherwise', async () => {
    for (const n of ['Pool A', 'Pool B', 'Pool C']) handMade(n, 2);
    const before = sim.sim.counters.requests;
    await read(['Pool A', 'Pool B', 'Pool C'].map((n) => pool(n, { manufacturer: 'Microsoft' })));
    assert.equal(sim.sim.counters.requests - before, 2);
    const list = sim.sim.log.filter((l) => l.path === '/api/v1/licenses').at(-1)!;
    assert.match(list.query, /sort=id&order=asc/, 'a stable order: pools created during the read do not shift the pages');
    const before2 = sim.sim.counters.requests;
    await read(['Pool A', 'Pool B'].map((n) => pool(n, { manufacturer: 'Adobe', category: 'Graphics' })));
    assert.equal(sim.sim.counters.requests - before2, 4, 'probe, licenses, manufacturers, license categories');
  });

  it('a validation error inside HTTP 200 is an error naming the pool and the server\'s words, and nothing is created', async () => {
    const [c] = await plan([pool('ab', {})]);
    await assert.rejects(apply([c]), (e: Error) => {
      assert.ok(e instanceof DriverError && e.opts.code === 'E_API_ERROR', String(e));
      assert.match(e.message, /creating pool "ab": POST \/api\/v1\/licenses: the server reported an error inside HTTP 200: name: The name field must be at least 3 characters\./);
      return true;
    });
    assert.equal(sim.model.licenses.size, 0);
  });

  it('refuses to lower seats below those checked out, before writing, and says why', async () => {
    handMade('Busy Pool', 5, 4);
    const changes = await plan([pool('Busy Pool', { seats: 2 })]);
    assert.equal(changes[0].before?.assignedSeats, 4, 'the live state carries the seats in use');
    const writes = sim.sim.counters.writes;
    await assert.rejects(apply(changes), (e: Error) => {
      assert.ok(e instanceof DriverError && e.opts.code === 'E_LICENSE_SEATS_ASSIGNED', String(e));
      assert.match(e.message, /pool "Busy Pool": cannot lower seats to 2: 4 seat\(s\) are checked out/);
      return true;
    });
    assert.equal(sim.sim.counters.writes, writes, 'nothing sent');
    await converge([pool('Busy Pool', { seats: 4 })]);
  });

  it("explains Snipe-IT's empty refusal of a seat reduction (seats checked out between the check and the write)", async () => {
    handMade('Race Pool', 5);
    const changes = await plan([pool('Race Pool', { seats: 2 })]);
    sim.sim.faults.add({ kind: 'status', status: 200, body: { status: 'error', messages: [], payload: null } }, { match: { method: 'PATCH' } });
    await assert.rejects(apply(changes), /updating pool "Race Pool": .*status "error" without a message \(Snipe-IT refuses to lower seats to 2 when fewer than 3 seats are free; check seats in first\)/);
    assert.equal(sim.model.licenses.get(1)!.seats, 5);
  });

  it('deletes a pool only while no seat is checked out (E_LICENSE_IN_USE, nothing sent)', async () => {
    handMade('Old Pool', 3, 1);
    const gone = { ...pool('Old Pool', {}), ensure: 'absent' as const };
    const del = changeFor(licenseKind, gone, {}, (await read([gone])).objects[objectKey('License', 'Old Pool')], noSecrets)!;
    assert.deepEqual(del.actions, ['delete']);
    const writes = sim.sim.counters.writes;
    await assert.rejects(apply([del]), (e: Error) => e instanceof DriverError && e.opts.code === 'E_LICENSE_IN_USE' && /1 seat\(s\) checked out/.test(e.message));
    assert.equal(sim.sim.counters.writes, writes);
    sim.model.updateSeat(sim.model.seatsOf(1)[0], { assigned_to: null });
    await apply([del]);
    assert.ok(sim.model.licenses.get(1)!.deleted_at, 'soft-deleted');
  });

  it('stays inside 120 requests per minute by its budget (waits, no 429) and backs off from a 429 without Retry-After', async () => {
    await sim.stop();
    sim = await startSim({ now: () => clock.now(), perMinute: 5, maxResults: 1 });
    for (let i = 0; i < 8; i++) handMade(`Pool ${i}`, 1);
    const res = await read([pool('Pool 7', {})], { requestsPerMinute: 5 }); // probe + 8 one-row pages
    assert.equal(res.unmanaged?.length, 7);
    assert.equal(sim.limiter.refused, 0, 'no 429');
    assert.ok(clock.slept >= 60_000, `waited for the next window (${clock.slept} ms virtual)`);
    clock.advance(60_000); // a fresh window: the 429s below are the injected ones
    sim.sim.faults.add({ kind: 'status', status: 429, body: { status: 'error', messages: 'Too many requests', payload: null } }, { times: 2 });
    const again = await read([pool('Pool 7', {})], { requestsPerMinute: 5 });
    assert.ok(again.objects[objectKey('License', 'Pool 7')]);
    assert.equal(sim.sim.faults.injected.status, 2);
  });

  it('a token that may only view licenses: the plan reads, the write is E_FORBIDDEN and changes nothing', async () => {
    await sim.stop();
    sim = await startSim({ now: () => clock.now(), readOnlyToken: 'viewer-token-5e2a' });
    const changes = await plan([pool('New Pool', {})]);
    const w = await driver().connectWriter(target(sim, { token: 'viewer-token-5e2a' }));
    try {
      await assert.rejects(w.mode === 'change' ? w.applyChange(changes[0]) : Promise.resolve(), (e: Error) => {
        assert.ok(e instanceof DriverError && e.opts.code === 'E_FORBIDDEN', String(e));
        assert.match(e.message, /POST \/api\/v1\/licenses: forbidden \(HTTP 403: This action is unauthorized\.\)/);
        assert.ok(!e.message.includes('viewer-token-5e2a'));
        return true;
      });
    } finally {
      await w.close();
    }
    assert.equal(sim.model.licenses.size, 0);
  });

  it('refuses a loopback target without a pin, before connecting', async () => {
    await assert.rejects(driver().connectReader(target(sim, { tlsFingerprint: undefined })), /tlsFingerprint is required for a loopback/);
    assert.equal(sim.sim.counters.connections, 0);
  });
});
