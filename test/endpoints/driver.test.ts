/**
 * The intune driver against the Graph simulator, on one virtual clock: how
 * few requests a read takes, throttling (429 with and without Retry-After,
 * a tenant's write limit never exceeded), token expiry, missing permissions,
 * directory replication after a group is created, concurrent members,
 * `/assign` as read-modify-write (assignments made by hand, another school's
 * app assignments), dynamic groups, and the refusals at plan time (an
 * unenrolled serial, an app not in the tenant, two objects with one name).
 */
import assert from 'node:assert/strict';
import { DriverError, objectKey } from '../../engine/types.js';
import { prunedChange } from '../../engine/plan.js';
import { testResource } from '../support/resource.js';
import type { ApiClient } from '../../providers/kit/client.js';
import { IOS_COMPLIANCE, IOS_PROFILE, apply, desired, handMadeGroup, planOf, read, requests, startLab, type Lab } from './helpers.js';

const serials = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${String(i + 1).padStart(3, '0')}`);
const group = (name: string, members: string[]) => desired('DeviceGroup', name, { membershipRule: null, members });
const profile = (name: string, assignments: unknown[], camera = false) => desired('ConfigurationProfile', name, { 'settings.@odata.type': IOS_PROFILE, 'settings.cameraBlocked': camera, assignments });
const app = (name: string, assignments: unknown[]) => desired('App', name, { assignments });

/** A school: `n` classes, each a group of iPads with a profile and a compliance policy, and an app for all of them. */
function school(lab: Lab, short: string, n: number, perClass = 3) {
  const out = [];
  for (let c = 1; c <= n; c++) {
    const ipads = serials(`${short.replace(/\W/g, '')}C${c}X`, perClass);
    for (const s of ipads) lab.sim.tenant.enrol({ serialNumber: s });
    const g = `${short} iPads ${c}`;
    out.push(group(g, ipads), profile(`${short} iPad ${c}`, [{ group: g }]));
    out.push(
      desired('CompliancePolicy', `${short} Compliance ${c}`, {
        'settings.@odata.type': IOS_COMPLIANCE,
        'settings.passcodeRequired': true,
        actions: [{ action: 'block', gracePeriodHours: 24 }],
        assignments: [{ group: g }],
      }),
    );
  }
  return out;
}

describe('intune driver', function () {
  this.timeout(30_000);
  let lab: Lab;
  afterEach(async () => {
    await lab?.stop();
  });

  it('reads a whole school in a handful of requests, following every next link', async () => {
    lab = await startLab({ pageSize: 2 });
    lab.sim.tenant.addApp({ displayName: 'ANTON' });
    const ds = [...school(lab, 'GS Nord', 6), app('ANTON', [{ group: 'GS Nord iPads 1', intent: 'required' }])];
    await apply(lab, ds);
    const sessions: ApiClient[] = [];
    const before = lab.sim.http.counters.requests;
    const logged = lab.sim.http.log.length;
    const r = await lab.driver(undefined, sessions).connectReader(lab.target());
    const result = await r.read(requests(ds));
    await r.close();
    const sent = lab.sim.http.counters.requests - before;
    assert.equal(planOf(ds, result).length, 0, 'nothing to change');
    assert.equal(Object.values(result.objects).filter(Boolean).length, ds.length, 'every object found');
    // 19 objects with 18 iPads, read with pages of 2: lists page, member lists go 20 to a batch
    assert.ok(sent < ds.length + 18, `${sent} requests for ${ds.length} objects and 18 devices`);
    const tokens = lab.sim.http.log.slice(logged).filter((e) => e.path.endsWith('/oauth2/v2.0/token')).length;
    assert.equal(tokens, 1, 'one token for the session');
    assert.equal(sessions[0].counters().budgetRequests + tokens, sent, 'every request but the token passed the Graph budget');
    assert.ok(lab.sim.http.log.some((e) => e.path === '/v1.0/$batch'), 'members and app assignments are batched');
  });

  it('converges under throttling: 429s with and without Retry-After, never more writes per 20 s than the tenant allows', async () => {
    // a tenant that allows 8 writes and 60 requests per 20 s; the driver is told the same limits
    lab = await startLab({ pageSize: 5, throttle: { writes: 8, requests: 60 } });
    const ds = school(lab, 'GY Süd', 6);
    let injected = 0;
    lab.sim.throttleNext(2, '3'); // the first requests of the run are refused with Retry-After: 3
    const limits = { writes: 8, requests: 60 };
    const w = await lab.driver(limits).connectWriter(lab.target());
    try {
      const changes = planOf(ds, await w.read(requests(ds)));
      assert.equal(changes.length, 18);
      for (const [i, c] of changes.entries()) {
        if (i % 5 === 0) {
          lab.sim.throttleNext(1); // now and then a 429 without Retry-After (Intune does that)
          injected++;
        }
        if (w.mode === 'change') await w.applyChange(c);
      }
    } finally {
      await w.close();
    }
    assert.deepEqual(planOf(ds, await read(lab, ds)), [], 're-plan after apply is empty');
    assert.equal(lab.sim.http.faults.injected.status, 2 + injected, 'every injected 429 was met');
    assert.equal(lab.sim.throttle.refused, 0, "the driver's budget kept it inside the tenant's limits: the tenant never refused");
    assert.ok(lab.sim.throttle.maxWritesInWindow() <= 8, `at most 8 writes in any 20 s (saw ${lab.sim.throttle.maxWritesInWindow()})`);
    assert.ok(lab.clock.slept >= 3000, 'the driver waited as told');
  });

  it('a tenant stricter than the budget answers 429 with Retry-After; the apply still converges', async () => {
    lab = await startLab({ throttle: { writes: 3 } });
    const ds = school(lab, 'GS Ost', 3);
    await apply(lab, ds);
    assert.ok(lab.sim.throttle.refused > 0, 'the tenant refused some writes');
    assert.deepEqual(planOf(ds, await read(lab, ds)), []);
    assert.ok(lab.sim.throttle.maxWritesInWindow() <= 3);
  });

  it('one token per session, renewed when it expires and once after a 401', async () => {
    lab = await startLab();
    const ds = school(lab, 'GS West', 1);
    const w = await lab.driver().connectWriter(lab.target());
    try {
      const changes = planOf(ds, await w.read(requests(ds)));
      assert.equal(lab.sim.entra.issued, 1);
      lab.sim.entra.expireTokens(); // revoked early: Graph answers 401, the driver renews once
      if (w.mode === 'change') await w.applyChange(changes[0]);
      assert.equal(lab.sim.entra.issued, 2);
      lab.clock.advance(3600_000); // the token's lifetime ran out: renewed before use
      if (w.mode === 'change') for (const c of changes.slice(1)) await w.applyChange(c);
      assert.equal(lab.sim.entra.issued, 3);
    } finally {
      await w.close();
    }
    assert.ok(lab.sim.http.log.some((e) => e.status === 401), 'Graph refused the revoked token once');
  });

  it('a missing permission is E_FORBIDDEN naming the scope the app needs, and nothing is written', async () => {
    lab = await startLab({ roles: ['Group.ReadWrite.All', 'GroupMember.ReadWrite.All', 'Device.Read.All', 'DeviceManagementManagedDevices.Read.All', 'DeviceManagementApps.ReadWrite.All'] });
    await assert.rejects(read(lab, school(lab, 'GS Süd', 1)), (e: Error) => {
      assert.ok(e instanceof DriverError && e.opts.code === 'E_FORBIDDEN', String(e));
      assert.match(e.message, /DeviceManagementConfiguration\.Read\.All, DeviceManagementConfiguration\.ReadWrite\.All/);
      return true;
    });
    assert.equal(lab.sim.http.counters.writes, 0);
  });

  it('retries member writes while a new group is still replicating', async () => {
    lab = await startLab({ replicationDelayMs: 5000 });
    const ipads = serials('REPL', 25);
    for (const s of ipads) lab.sim.tenant.enrol({ serialNumber: s });
    await apply(lab, [group('GS Nord iPads 9', ipads)]);
    assert.ok(lab.sim.http.log.some((e) => e.method === 'PATCH' && e.status === 400), 'the directory said the new group does not exist yet');
    assert.ok(lab.clock.slept >= 1000);
    assert.deepEqual(planOf([group('GS Nord iPads 9', ipads)], await read(lab, [group('GS Nord iPads 9', ipads)])), []);
  });

  it('a device someone else just added is "already a member": done, not an error', async () => {
    const ipads = serials('RACE', 5);
    let raced = false;
    lab = await startLab({
      onRequest: (method, path) => {
        // a colleague adds the third iPad in the portal while einklang binds the others
        if (!raced && method === 'PATCH' && /^\/v1\.0\/groups\/[^/]+$/.test(path)) {
          raced = true;
          const g = [...lab.sim.tenant.groups.values()].find((x) => x.displayName === 'Race')!;
          const d = [...lab.sim.tenant.devices.values()].find((x) => x.serialNumber === ipads[2])!;
          g.members.add(d.objectId!);
        }
      },
    });
    for (const s of ipads) lab.sim.tenant.enrol({ serialNumber: s });
    await apply(lab, [group('Race', ipads.slice(0, 2))]);
    await apply(lab, [group('Race', ipads)]);
    assert.ok(raced);
    assert.ok(lab.sim.http.log.some((e) => e.method === 'POST' && e.path.endsWith('/members/$ref') && e.status === 400), 'the $ref for the raced device said "already exist"');
    assert.deepEqual(planOf([group('Race', ipads)], await read(lab, [group('Race', ipads)])), []);
  });

  it('assign is read-modify-write: an assignment made by hand shows in the plan and is removed, or kept when declared', async () => {
    lab = await startLab();
    for (const s of serials('HAND', 2)) lab.sim.tenant.enrol({ serialNumber: s });
    const ds = [group('GS Nord iPads 5a', serials('HAND', 2)), profile('GS Nord iPad', [{ group: 'GS Nord iPads 5a' }])];
    await apply(lab, ds);
    const byHand = handMadeGroup(lab.sim, 'Lehrer-iPads');
    const p = [...lab.sim.tenant.policies.values()][0];
    p.assignments = lab.sim.tenant.assignmentsFrom(p.id, [...p.assignments, { target: { '@odata.type': '#microsoft.graph.groupAssignmentTarget', groupId: byHand } }], false);
    const [change] = planOf(ds, await read(lab, ds));
    assert.deepEqual(change.diff, [{ path: '/assignments', before: [{ group: 'GS Nord iPads 5a' }, { group: 'Lehrer-iPads' }], after: [{ group: 'GS Nord iPads 5a' }] }]);
    await apply(lab, ds);
    assert.deepEqual(p.assignments.map((a) => a.target.groupId), [lab.sim.tenant.groups.get([...lab.sim.tenant.groups.keys()][0])!.id]);
    // declared, it stays (and keeps its id)
    p.assignments = lab.sim.tenant.assignmentsFrom(p.id, [...p.assignments, { target: { '@odata.type': '#microsoft.graph.groupAssignmentTarget', groupId: byHand } }], false);
    const both = [ds[0], profile('GS Nord iPad', [{ group: 'GS Nord iPads 5a' }, { group: 'Lehrer-iPads' }])];
    assert.deepEqual(planOf(both, await read(lab, both)), []);
  });

  it('in a tenant shared by prefix, an app keeps the assignments of the other schools', async () => {
    lab = await startLab();
    lab.sim.tenant.addApp({ displayName: 'ANTON' });
    const sued = handMadeGroup(lab.sim, 'GY Süd iPads 7b');
    const a = [...lab.sim.tenant.apps.values()][0];
    a.assignments = lab.sim.tenant.assignmentsFrom(a.id, [{ intent: 'required', target: { '@odata.type': '#microsoft.graph.groupAssignmentTarget', groupId: sued } }], true);
    for (const s of serials('PFX', 2)) lab.sim.tenant.enrol({ serialNumber: s });
    const nord = lab.target({}, { displayNamePrefix: 'GS Nord ' });
    const ds = [group('GS Nord iPads 4a', serials('PFX', 2)), app('ANTON', [{ group: 'GS Nord iPads 4a', intent: 'required' }])];
    const first = await read(lab, ds, nord);
    assert.deepEqual(first.objects[objectKey('App', 'ANTON')]?.state, { assignments: [] }, "GY Süd's assignment is not this school's");
    assert.deepEqual(first.unmanaged, [], "GY Süd's group is outside the prefix: not unmanaged here");
    await apply(lab, ds, { target: nord });
    assert.deepEqual(a.assignments.map((x) => lab.sim.tenant.groups.get(String(x.target.groupId))!.displayName).sort(), ['GS Nord iPads 4a', 'GY Süd iPads 7b']);
    assert.deepEqual(planOf(ds, await read(lab, ds, nord)), []);
  });

  it('dynamic groups: live members are what the rule selects; static and dynamic convert both ways', async () => {
    lab = await startLab();
    for (const s of serials('DYN', 3)) lab.sim.tenant.enrol({ serialNumber: s, physicalIds: ['[OrderID]:GSNORD-5A'] });
    lab.sim.tenant.enrol({ serialNumber: 'OTHER001', physicalIds: ['[OrderID]:GSNORD-6B'] });
    const rule = '(device.devicePhysicalIds -any (_ -eq "[OrderID]:GSNORD-5A"))';
    const dynamic = desired('DeviceGroup', 'GS Nord 5a', { membershipRule: rule });
    await apply(lab, [dynamic]);
    const live = (await read(lab, [dynamic])).objects[objectKey('DeviceGroup', 'GS Nord 5a')]!;
    assert.deepEqual(live.state, { membershipRule: rule, members: serials('DYN', 3) }, 'members for the license seat count');
    const fixed = group('GS Nord 5a', ['DYN001', 'OTHER001']);
    assert.deepEqual((await apply(lab, [fixed])).map((c) => c.actions.join()), ['update']);
    assert.deepEqual(planOf([fixed], await read(lab, [fixed])), []);
    await apply(lab, [dynamic]);
    assert.deepEqual(planOf([dynamic], await read(lab, [dynamic])), []);
  });

  it('refuses at plan time, in one error, serials that cannot be members; nothing is written', async () => {
    lab = await startLab();
    lab.sim.tenant.enrol({ serialNumber: 'TWICE001' });
    lab.sim.tenant.enrol({ serialNumber: 'twice001' }); // re-enrolled: the stale record is still there
    lab.sim.tenant.enrol({ serialNumber: 'NOENTRA1', entra: false });
    lab.sim.tenant.enrol({ serialNumber: 'GOOD0001' });
    await assert.rejects(read(lab, [group('GS Nord iPads', ['GOOD0001', 'MISSING1', 'TWICE001', 'NOENTRA1', 'MISSING2'])]), (e: Error) => {
      assert.ok(e instanceof DriverError && e.opts.code === 'E_DEVICE_NOT_ENROLLED', String(e));
      for (const s of ['MISSING1', 'MISSING2', 'TWICE001', 'NOENTRA1']) assert.ok(e.message.includes(s), `names ${s}: ${e.message}`);
      assert.ok(!e.message.includes('GOOD0001'));
      assert.match(e.message, /DeviceGroup "GS Nord iPads": serial number MISSING1 is not enrolled in Intune/);
      return true;
    });
    assert.equal(lab.sim.http.counters.writes, 0);
  });

  it('refuses an app that is not in the tenant or not published', async () => {
    lab = await startLab();
    lab.sim.tenant.addApp({ displayName: 'GeoGebra', publishingState: 'processing' });
    await assert.rejects(read(lab, [app('ANTON', [])]), (e: Error) => e instanceof DriverError && e.opts.code === 'E_APP_NOT_FOUND' && /App "ANTON" is not in the tenant/.test(e.message));
    handMadeGroup(lab.sim, 'G');
    await assert.rejects(read(lab, [app('GeoGebra', [{ group: 'G', intent: 'required' }])]), (e: Error) => e instanceof DriverError && e.opts.code === 'E_APP_NOT_PUBLISHED');
  });

  it('another @odata.type replaces the profile (delete, then create)', async () => {
    lab = await startLab();
    await apply(lab, [profile('Schulrechner', [])]);
    const win = desired('ConfigurationProfile', 'Schulrechner', { 'settings.@odata.type': '#microsoft.graph.windows10GeneralConfiguration', 'settings.cameraBlocked': true, assignments: [] });
    const [change] = await apply(lab, [win]);
    assert.deepEqual(change.actions, ['delete', 'create']);
    assert.deepEqual([...lab.sim.tenant.policies.values()].map((p) => p.type), ['#microsoft.graph.windows10GeneralConfiguration']);
  });

  it('prune deletes what no manifest declares, and in a shared tenant only what has the prefix', async () => {
    lab = await startLab();
    lab.sim.tenant.createPolicy('deviceConfigurations', { '@odata.type': IOS_PROFILE, displayName: 'GS Nord Alt' });
    lab.sim.tenant.createPolicy('deviceConfigurations', { '@odata.type': IOS_PROFILE, displayName: 'GY Süd Alt' });
    handMadeGroup(lab.sim, 'GS Nord Altgeräte');
    const nord = lab.target({}, { displayNamePrefix: 'GS Nord ', prune: true });
    const tenantResource = testResource('schule', 'MdmTenant', 'intune', { prune: true, displayNamePrefix: 'GS Nord ' });
    const result = await read(lab, [], nord);
    assert.deepEqual(result.unmanaged!.map((u) => `${u.kind} ${u.id}`).sort(), ['ConfigurationProfile GS Nord Alt', 'DeviceGroup GS Nord Altgeräte']);
    const w = await lab.driver().connectWriter(nord);
    try {
      for (const u of result.unmanaged!) if (w.mode === 'change') await w.applyChange(prunedChange(u, tenantResource));
    } finally {
      await w.close();
    }
    assert.deepEqual([...lab.sim.tenant.policies.values()].map((p) => p.displayName), ['GY Süd Alt'], "the other school's profile stays");
    assert.equal(lab.sim.tenant.groups.size, 0);
  });

  it('a group whose name differs only in case is the declared one, in assignments too (no endless diff)', async () => {
    lab = await startLab();
    const id = handMadeGroup(lab.sim, 'gs nord ipads 5A');
    const p = lab.sim.tenant.createPolicy('deviceConfigurations', { '@odata.type': IOS_PROFILE, displayName: 'GS Nord iPad', cameraBlocked: false });
    p.assignments = lab.sim.tenant.assignmentsFrom(p.id, [{ target: { '@odata.type': '#microsoft.graph.groupAssignmentTarget', groupId: id } }], false);
    const ds = [group('GS Nord iPads 5a', []), profile('GS Nord iPad', [{ group: 'GS Nord iPads 5a' }])];
    assert.deepEqual(planOf(ds, await read(lab, ds)), []);
  });

  it('a new group whose second batch of members fails is deleted again: the tenant is as before', async () => {
    lab = await startLab();
    const ipads = serials('UNDO', 25);
    for (const s of ipads) lab.sim.tenant.enrol({ serialNumber: s });
    const before = structuredClone(lab.sim.tenant.snapshot());
    lab.sim.failNthWrite(2); // POST /groups (with 20 bound) succeeds, the PATCH with the other 5 fails
    await assert.rejects(apply(lab, [group('GS Nord iPads 6c', ipads)]), (e: Error) => {
      assert.ok(e instanceof DriverError && e.opts.rolledBack === true, String(e));
      assert.match(e.message, /DeviceGroup "GS Nord iPads 6c": .*Injected failure.*the earlier steps were undone/);
      return true;
    });
    assert.deepEqual(lab.sim.tenant.snapshot(), before);
  });

  it('managed devices are never written; reading them leaves them as they are', async () => {
    lab = await startLab();
    for (const s of serials('RO', 3)) lab.sim.tenant.enrol({ serialNumber: s });
    const before = JSON.stringify([...lab.sim.tenant.devices.values()]);
    await apply(lab, [group('RO', serials('RO', 3))]);
    await apply(lab, [group('RO', serials('RO', 1))]);
    assert.equal(JSON.stringify([...lab.sim.tenant.devices.values()]), before);
    assert.ok(!lab.sim.http.log.some((e) => e.path.includes('/managedDevices') && e.method !== 'GET'));
  });
});
