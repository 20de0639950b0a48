/**
 * Seat compliance over plain resources (the pinned fields of DESIGN.md),
 * without the software or endpoints code: demand from opsi client groups and
 * Intune device groups (static members from manifests, dynamic ones from the
 * plan's live reads), expiry, seats below those checked out, prune of a pool
 * in use; the diagnostics they print and the markdown license table.
 */
import assert from 'node:assert/strict';
import type { ObservedObject, PolicyResult, Resource } from '../../engine/types.js';
import { renderMarkdown } from '../../engine/render/markdown.js';
import { evaluatePlanPolicies, policyDiagnostics } from '../../policies/index.js';
import { LICENSE_SEATS, LICENSE_WARNINGS, licensePolicies } from '../../policies/license-seats.js';
import { change, environment, makePlan, res } from '../governance/helpers.js';
import { unescapeMarkdown } from '../support/markdown.js';

const ENV = 'gs-nord';
const TODAY = '2025-06-01';
const r = (kind: string, name: string, spec: any) => res(ENV, 'school', kind, name, spec);

const server = r('LicenseServer', 'snipeit', { connection: { driver: 'snipeit', host: '127.0.0.1', token: '${secret:SNIPEIT_TOKEN}' } });
const pcs = r('ClientGroup', 'gs-nord-pcs', { server: 'opsi', groupId: 'gs-nord-pcs', clients: ['pc-001.gs-nord.schule.local', 'pc-002.gs-nord.schule.local', 'pc-003.gs-nord.schule.local'] });
const office = r('SoftwareDeployment', 'office-gs-nord', { server: 'opsi', product: 'office', version: '2024-1', group: 'gs-nord-pcs', action: 'setup' });

function license(name: string, spec: any): Resource {
  return r('License', name, { server: 'snipeit', seats: 2, category: 'Office', ...spec });
}

function run(resources: Resource[], o: { observed?: ObservedObject[]; changes?: Parameters<typeof licensePolicies>[0]['changes'] } = {}): { seats: PolicyResult; warnings: PolicyResult } {
  const [seats, warnings] = licensePolicies({ zoneResources: [environment(ENV, 'school'), server, ...resources], changes: o.changes ?? [], observed: o.observed, today: TODAY });
  assert.deepEqual([seats.name, warnings.name], [LICENSE_SEATS, LICENSE_WARNINGS]);
  return { seats, warnings };
}

const codes = (p: PolicyResult) => p.violations.map((v) => v.code);
const demandOf = (p: PolicyResult, address: string) => p.licenses!.find((l) => l.address === address)!;

function observedGroup(group: Resource, members: string[] | null): ObservedObject {
  return { address: group.address, resource: group.address, kind: 'DeviceGroup', target: `${ENV}/MdmTenant/intune`, id: String(group.spec.displayName), state: members ? { displayName: group.spec.displayName, members } : null };
}

describe('license seat policies', () => {
  it('2 seats covering a deployment to 3 clients: E_LICENSE_SEATS naming the pool, demand 3, seats 2 and the deployment with file:line:col; 3 seats pass', () => {
    const lic = license('office', { name: 'Microsoft 365 A3 Schulen', covers: [{ kind: 'SoftwareDeployment', name: 'office-gs-nord' }] });
    const { seats } = run([pcs, office, lic]);
    assert.equal(seats.passed, false);
    const [v] = seats.violations;
    assert.equal(v.code, 'E_LICENSE_SEATS');
    assert.equal(v.address, lic.address);
    assert.match(v.message, /pool "Microsoft 365 A3 Schulen": demand 3 device\(s\) exceeds 2 seat\(s\) by 1/);
    assert.ok(v.message.includes(`SoftwareDeployment office-gs-nord (${office.pos.file}:${office.pos.line}:${office.pos.col}): 3 client(s) of ClientGroup gs-nord-pcs`), v.message);
    assert.deepEqual(v.pos, { file: lic.pos.file, line: lic.positions['/spec/seats'][0], col: lic.positions['/spec/seats'][1] });
    assert.deepEqual(v.related, [{ address: office.address, pos: office.pos }]);
    const [d] = policyDiagnostics([seats]);
    assert.deepEqual([d.severity, d.code], ['error', 'E_LICENSE_SEATS'], 'the diagnostic carries the specific code');
    assert.deepEqual(demandOf(seats, lic.address), { address: lic.address, pool: 'Microsoft 365 A3 Schulen', seats: 2, assigned: null, demand: 3, expires: null });

    const enough = run([pcs, office, license('office', { name: 'Microsoft 365 A3 Schulen', seats: 3, covers: [{ kind: 'SoftwareDeployment', name: 'office-gs-nord' }] })]);
    assert.equal(enough.seats.passed, true);
    assert.equal(demandOf(enough.seats, lic.address).demand, 3);
  });

  it('counts devices once: overlapping groups, FQDNs in any case; an uninstall deployment consumes nothing', () => {
    const more = r('ClientGroup', 'lehrer-pcs', { server: 'opsi', groupId: 'lehrer-pcs', clients: ['PC-003.GS-NORD.SCHULE.LOCAL', 'pc-004.gs-nord.schule.local'] });
    const teachers = r('SoftwareDeployment', 'office-lehrer', { server: 'opsi', product: 'office', version: '2024-1', group: 'lehrer-pcs', action: 'always' });
    const removal = r('SoftwareDeployment', 'office-alt', { server: 'opsi', product: 'office-old', version: '1', group: 'lehrer-pcs', action: 'uninstall' });
    const lic = license('office', { seats: 4, covers: ['office-gs-nord', 'office-lehrer', 'office-alt'].map((name) => ({ kind: 'SoftwareDeployment', name })) });
    const { seats } = run([pcs, more, office, teachers, removal, lic]);
    assert.equal(demandOf(seats, lic.address).demand, 4, 'pc-001..004');
    assert.equal(seats.passed, true);
  });

  it('apps: static group members, exclusions, uninstall ignored, dynamic groups from the live read', () => {
    const static5a = r('DeviceGroup', 'ipads-5a', { tenant: 'intune', displayName: 'GS Nord iPads 5a', devices: ['dmpxk0001', 'DMPXK0002', 'DMPXK0003'] });
    const broken = r('DeviceGroup', 'ipads-defekt', { tenant: 'intune', displayName: 'GS Nord iPads defekt', devices: ['DMPXK0003'] });
    const dynamic = r('DeviceGroup', 'ipads-5b', { tenant: 'intune', displayName: 'GS Nord iPads 5b', membershipRule: '(device.devicePhysicalIds -any (_ -eq "[OrderID]:GSNORD-5B"))' });
    const old = r('DeviceGroup', 'ipads-alt', { tenant: 'intune', displayName: 'GS Nord iPads alt', devices: ['OLD0001', 'OLD0002'] });
    const anton = r('App', 'anton', {
      tenant: 'intune',
      displayName: 'ANTON',
      assignments: [
        { group: 'ipads-5a', intent: 'required' },
        { group: 'ipads-5b', intent: 'available' },
        { group: 'ipads-defekt', intent: 'required', exclude: true },
        { group: 'ipads-alt', intent: 'uninstall' },
      ],
    });
    const lic = license('anton', { seats: 3, covers: [{ kind: 'App', name: 'anton' }] });
    const live = [observedGroup(dynamic, ['DMPXK0002', 'DMPXK0101'])];
    const { seats, warnings } = run([static5a, broken, dynamic, old, anton, lic], { observed: live });
    // 5a: 0001 0002 0003; 5b live: 0002 0101; minus 0003 (excluded); alt is uninstall -> {0001, 0002, 0101}
    assert.equal(demandOf(seats, lic.address).demand, 3);
    assert.equal(seats.passed, true);
    assert.equal(warnings.passed, true);

    const notYet = run([static5a, broken, dynamic, old, anton, lic], { observed: [observedGroup(dynamic, null)] });
    assert.equal(demandOf(notYet.seats, lic.address).demand, 2);
    assert.equal(demandOf(notYet.seats, lic.address).demandIncomplete, true);
    assert.deepEqual(codes(notYet.warnings), ['W_LICENSE_DEMAND_UNKNOWN']);
    assert.match(notYet.warnings.violations[0].message, /DeviceGroup ipads-5b has a membershipRule and does not exist yet/);
  });

  it('an app for all devices counts the devices of the tenant as a lower bound and says so', () => {
    const a = r('DeviceGroup', 'ipads-5a', { tenant: 'intune', displayName: 'A', devices: ['S1', 'S2'] });
    const b = r('DeviceGroup', 'ipads-5b', { tenant: 'intune', displayName: 'B', devices: ['S2', 'S3'] });
    const other = r('DeviceGroup', 'fremd', { tenant: 'other', displayName: 'C', devices: ['X1'] });
    const app = r('App', 'geogebra', { tenant: 'intune', displayName: 'GeoGebra', assignments: [{ allDevices: true, intent: 'required' }] });
    const lic = license('geogebra', { seats: 2, covers: [{ kind: 'App', name: 'geogebra' }] });
    const { seats, warnings } = run([a, b, other, app, lic]);
    assert.equal(demandOf(seats, lic.address).demand, 3);
    assert.deepEqual(codes(seats), ['E_LICENSE_SEATS'], 'even the lower bound is over');
    assert.match(warnings.violations[0].message, /assigned to all devices of tenant intune: only the devices of its 2 declared group\(s\) are counted/);
  });

  it('expiry: within 60 days a warning; past it while covering something a violation; an expired pool covering nothing is no violation', () => {
    const soon = license('soon', { expires: '2025-07-31', covers: [{ kind: 'SoftwareDeployment', name: 'office-gs-nord' }], seats: 5 });
    const later = license('later', { expires: '2025-08-01', seats: 5 });
    const past = license('past', { expires: '2025-05-31', covers: [{ kind: 'SoftwareDeployment', name: 'office-gs-nord' }], seats: 5 });
    const idle = license('idle', { expires: '2024-01-01', seats: 5 });
    const { seats, warnings } = run([pcs, office, soon, later, past, idle]);
    assert.deepEqual(seats.violations.map((v) => [v.code, v.address]), [['E_LICENSE_EXPIRED', past.address]]);
    assert.match(seats.violations[0].message, /pool "past" expired on 2025-05-31 but still covers SoftwareDeployment office-gs-nord \(/);
    assert.deepEqual(warnings.violations.map((v) => [v.code, v.address, v.message]), [['W_LICENSE_EXPIRING', soon.address, 'pool "soon" expires on 2025-07-31, in 60 day(s)']]);
    assert.equal(policyDiagnostics([warnings])[0].severity, 'warning');
  });

  it('warns when the plan lowers seats below those checked out on the server (from the live read), and shows them in the table', () => {
    const lic = license('office', { seats: 2 });
    const live: ObservedObject = { address: lic.address, resource: lic.address, kind: 'License', target: server.address, id: 'office', state: { name: 'office', seats: 10, assignedSeats: 6 } };
    const { seats, warnings } = run([lic], { observed: [live] });
    assert.equal(demandOf(seats, lic.address).assigned, 6);
    assert.deepEqual(codes(warnings), ['W_LICENSE_SEATS_ASSIGNED']);
    assert.match(warnings.violations[0].message, /lowers seats to 2, but 6 seat\(s\) are checked out/);
  });

  it('refuses a plan that prunes a pool with seats checked out (E_LICENSE_IN_USE)', () => {
    const pruned = { ...change(`${ENV}/License/unmanaged:Alt[snipeit]`, ['delete'], 'License'), id: 'Alt', target: server.address, before: { name: 'Alt', seats: 3, assignedSeats: 2 } };
    const free = { ...pruned, address: `${ENV}/License/unmanaged:Frei[snipeit]`, id: 'Frei', before: { name: 'Frei', seats: 3, assignedSeats: 0 } };
    const { seats } = run([], { changes: [pruned, free] });
    assert.deepEqual(codes(seats), ['E_LICENSE_IN_USE']);
    assert.match(seats.violations[0].message, /deletes pool "Alt" .*2 seat\(s\) are checked out/);
  });

  it('plans without pools get no license results; the built-in set runs them at plan time', () => {
    assert.deepEqual(licensePolicies({ zoneResources: [server, pcs], changes: [], today: TODAY }), []);
    const lic = license('office', { covers: [{ kind: 'SoftwareDeployment', name: 'office-gs-nord' }] });
    const all = [environment(ENV, 'school'), server, pcs, office, lic];
    const results = evaluatePlanPolicies({ resources: all, zoneResources: all, changes: [] });
    assert.equal(results.find((p) => p.name === LICENSE_SEATS)?.passed, false);
  });

  it('the markdown plan shows the license table: pools over their seats first, assigned from the server, incomplete demand marked', () => {
    const policy: PolicyResult[] = [
      {
        name: LICENSE_SEATS,
        enforcement: 'mandatory',
        passed: false,
        violations: [{ address: 'gs-nord/License/office', code: 'E_LICENSE_SEATS', message: 'pool "Office | A3": demand 3 device(s) exceeds 2 seat(s) by 1' }],
        licenses: [
          { address: 'gs-nord/License/anton', pool: 'ANTON', seats: 30, assigned: 12, demand: 25, demandIncomplete: true, expires: '2026-07-31' },
          { address: 'gs-nord/License/office', pool: 'Office | A3', seats: 2, assigned: null, demand: 3, expires: null },
        ],
      },
    ];
    const md = renderMarkdown(makePlan({ policy, applyable: false }));
    const lines = md.split('\n');
    const head = lines.findIndex((l) => l.startsWith('| license pool |'));
    assert.ok(head > 0, md);
    assert.deepEqual(lines.slice(head, head + 4), [
      '| license pool | seats | assigned (server) | demand (plan) | expires |',
      '|---|---:|---:|---:|---|',
      '| Office \\| A3 (`gs-nord/License/office`) | 2 | – | 3 ❌ | never |',
      '| ANTON (`gs-nord/License/anton`) | 30 | 12 | ≥ 25 | 2026-07-31 |',
    ]);
    assert.match(unescapeMarkdown(md), /\*\*builtin\/license-seats\*\* E_LICENSE_SEATS `gs-nord\/License\/office`/);
  });
});
