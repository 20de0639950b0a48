/**
 * The device-management issue's "done when" through the real CLI, against a
 * lab tenant started in this process the way `einklang lab` starts it:
 * 1. a tenant with a device group (serial numbers), a configuration profile,
 *    a compliance policy and an app assignment plans (2), applies (0) and
 *    re-plans (0); Graph itself (token, then GET) shows exactly the declared
 *    objects, members and assignments; an assignment made by hand before the
 *    plan is removed as the plan says, one made after the plan makes apply
 *    refuse the stale plan;
 * 3. a wrong client secret, a wrong certificate fingerprint, an unknown
 *    @odata.type, an unenrolled serial number and a duplicate displayName in
 *    the tenant each give one clear error and change nothing;
 * and `einklang import --kind` for the three kinds einklang creates.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadWorkspace } from '../../engine/workspace.js';
import { defaultCatalog } from '../../cli/catalog.js';
import { ApiClient } from '../../providers/kit/client.js';
import { bearerAuth } from '../../providers/kit/auth.js';
import { labIntuneFingerprint, simulateIntune, type RunningIntuneLab } from '../../providers/endpoints/intune/sim/lab.js';
import { hasStackTrace, runCli, writeTree } from '../support/cli.js';
import { freePort } from '../support/sshd.js';
import { CLIENT_ID, TENANT_ID } from './helpers.js';

const ENV = 'gs-nord';
const ADDRESS = `${ENV}/MdmTenant/intune-schulen`;
const SECRET = 'lab-graph-secret-gs-nord';
const SECRETS = { EINKLANG_SECRET_SCHOOL_GRAPH_CLIENT_SECRET: SECRET };

function tenantYaml(port: number, pin = labIntuneFingerprint(ADDRESS)): string {
  return `apiVersion: einklang/v1
kind: MdmTenant
metadata: { name: intune-schulen }
spec:
  connection:
    driver: intune
    host: 127.0.0.1
    port: ${port}
    loginHost: 127.0.0.1
    loginPort: ${port}
    tenantId: ${TENANT_ID}
    clientId: ${CLIENT_ID}
    clientSecret: "\${secret:GRAPH_CLIENT_SECRET}"
    tlsFingerprint: "${pin}"
`;
}

function objectsYaml(o: { serials?: string[]; profileType?: string; cameraBlocked?: boolean } = {}): string {
  return `apiVersion: einklang/v1
kind: DeviceGroup
metadata: { name: ipads-5a }
spec: { tenant: intune-schulen, displayName: "GS Nord iPads 5a", devices: [${(o.serials ?? ['DMPXK0001', 'DMPXK0002']).join(', ')}] }
---
apiVersion: einklang/v1
kind: ConfigurationProfile
metadata: { name: ipad-restrictions }
spec:
  tenant: intune-schulen
  displayName: "GS Nord iPad restrictions"
  settings: { "@odata.type": "${o.profileType ?? '#microsoft.graph.iosGeneralDeviceConfiguration'}",
              appStoreBlockInAppPurchases: true, cameraBlocked: ${o.cameraBlocked ?? false} }
  assignments: [ { group: ipads-5a } ]
---
apiVersion: einklang/v1
kind: CompliancePolicy
metadata: { name: ipad-min-os }
spec:
  tenant: intune-schulen
  displayName: "GS Nord iPad minimum iOS"
  settings: { "@odata.type": "#microsoft.graph.iosCompliancePolicy", osMinimumVersion: "17.0", passcodeRequired: true }
  actions: [ { action: block, gracePeriodHours: 72 } ]
  assignments: [ { group: ipads-5a } ]
---
apiVersion: einklang/v1
kind: App
metadata: { name: anton }
spec: { tenant: intune-schulen, displayName: "ANTON", assignments: [ { group: ipads-5a, intent: required } ] }
`;
}

interface Lab {
  root: string;
  env: string;
  lab: RunningIntuneLab;
  port: number;
  stop(): Promise<void>;
}

async function startLab(): Promise<Lab> {
  const port = await freePort();
  const root = writeTree({
    [`envs/${ENV}/environment.yaml`]: `apiVersion: einklang/v1\nkind: Environment\nmetadata: { name: ${ENV} }\nspec: { zone: school }\n`,
    [`envs/${ENV}/tenant.yaml`]: tenantYaml(port),
    [`envs/${ENV}/objects.yaml`]: objectsYaml(),
  });
  const env = join(root, 'envs', ENV);
  // as `einklang lab` does: the environment's resources tell the simulator what exists outside einklang
  const ws = await loadWorkspace(defaultCatalog(), [env], { repositoryWide: false });
  assert.deepEqual(ws.diagnostics.filter((d) => d.severity === 'error'), []);
  const t = ws.resources.find((r) => r.kind === 'MdmTenant')!;
  const lab = await simulateIntune(
    { address: t.address, kind: t.kind, name: t.name, zone: 'school', spec: {}, connection: { ...t.spec.connection, clientSecret: SECRET } },
    { resources: ws.resources },
  );
  return { root, env, lab, port, stop: async () => (await lab.stop(), rmSync(root, { recursive: true, force: true })) };
}

const cli = (lab: Lab, args: string[], env: Record<string, string> = SECRETS) => runCli(args, { cwd: lab.root, env });

/** Graph itself, as any client sees it: a token, then GETs. */
async function graphView(lab: Lab) {
  const login = new ApiClient({ host: '127.0.0.1', port: lab.port, tlsFingerprint: lab.lab.fingerprint });
  const t = await login.request('POST', `/${TENANT_ID}/oauth2/v2.0/token`, {
    form: { client_id: CLIENT_ID, client_secret: SECRET, scope: 'https://graph.microsoft.com/.default', grant_type: 'client_credentials' },
    anonymous: true,
  });
  login.close();
  const g = new ApiClient({ host: '127.0.0.1', port: lab.port, tlsFingerprint: lab.lab.fingerprint, basePath: '/v1.0', auth: bearerAuth(t.json.access_token) });
  try {
    const groups = (await g.get('/groups')).value;
    const name = (id: string) => groups.find((x: { id: string }) => x.id === id)?.displayName ?? id;
    const members = Object.fromEntries(
      await Promise.all(groups.map(async (x: { id: string; displayName: string }) => [x.displayName, (await g.get(`/groups/${x.id}/members`)).value.map((m: { id: string }) => m.id).length])),
    );
    const targets = (list: { target: { groupId?: string }; intent?: string }[]) => list.map((a) => `${a.intent ? `${a.intent} ` : ''}${name(a.target.groupId!)}`).sort();
    const profiles = (await g.get('/deviceManagement/deviceConfigurations', { query: { $expand: 'assignments' } })).value;
    const policies = (await g.get('/deviceManagement/deviceCompliancePolicies', { query: { $expand: 'assignments,scheduledActionsForRule($expand=scheduledActionConfigurations)' } })).value;
    const apps = await Promise.all((await g.get('/deviceAppManagement/mobileApps')).value.map((a: { id: string }) => g.get(`/deviceAppManagement/mobileApps/${a.id}`, { query: { $expand: 'assignments' } })));
    return {
      groups: groups.map((x: { displayName: string }) => x.displayName).sort(),
      members,
      profiles: profiles.map((p: any) => ({ name: p.displayName, cameraBlocked: p.cameraBlocked, inApp: p.appStoreBlockInAppPurchases, to: targets(p.assignments) })),
      policies: policies.map((p: any) => ({ name: p.displayName, os: p.osMinimumVersion, actions: p.scheduledActionsForRule[0].scheduledActionConfigurations.map((c: any) => `${c.actionType} ${c.gracePeriodHours}h`), to: targets(p.assignments) })),
      apps: apps.map((a: any) => ({ name: a.displayName, to: targets(a.assignments) })),
    };
  } finally {
    g.close();
  }
}

const DECLARED = {
  groups: ['GS Nord iPads 5a'],
  members: { 'GS Nord iPads 5a': 2 },
  profiles: [{ name: 'GS Nord iPad restrictions', cameraBlocked: false, inApp: true, to: ['GS Nord iPads 5a'] }],
  policies: [{ name: 'GS Nord iPad minimum iOS', os: '17.0', actions: ['block 72h'], to: ['GS Nord iPads 5a'] }],
  apps: [{ name: 'ANTON', to: ['required GS Nord iPads 5a'] }],
};

describe('intune through the CLI', function () {
  this.timeout(120_000);
  let lab: Lab;
  afterEach(async () => {
    await lab?.stop();
  });

  it('plan 2, apply 0, re-plan 0; Graph shows exactly what is declared; hand-made assignments go as planned, late ones make the plan stale', async () => {
    lab = await startLab();
    // a teacher assigned ANTON to another group by hand before the plan
    const tenant = lab.lab.graph.tenant;
    const teachers = tenant.createGroup({ displayName: 'Lehrer-iPads', mailEnabled: false, mailNickname: 'lehrer', securityEnabled: true });
    const anton = [...tenant.apps.values()][0];
    anton.assignments = tenant.assignmentsFrom(anton.id, [{ intent: 'available', target: { '@odata.type': '#microsoft.graph.groupAssignmentTarget', groupId: teachers.id } }], true);

    const planFile = join(lab.root, 'plan.json');
    const plan = await cli(lab, ['plan', lab.env, '--out', planFile]);
    assert.equal(plan.code, 2, plan.stdout + plan.stderr);
    assert.match(plan.stdout, /~ +gs-nord\/App\/anton[^\n]*\n +assignments: \[\{group: "Lehrer-iPads", intent: "available"\}\] -> \[\{group: "GS Nord iPads 5a", intent: "required"\}\]/);
    assert.match(plan.stdout, /\? +unmanaged DeviceGroup Lehrer-iPads/);
    const applied = await cli(lab, ['apply', planFile]);
    assert.equal(applied.code, 0, applied.stdout + applied.stderr);
    const again = await cli(lab, ['plan', lab.env]);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    const view = await graphView(lab);
    assert.deepEqual({ ...view, groups: view.groups.filter((g: string) => g !== 'Lehrer-iPads') }, { ...DECLARED, members: { ...DECLARED.members, 'Lehrer-iPads': 0 } });

    // a change is planned; then someone assigns the profile by hand: apply refuses the stale plan and changes nothing
    writeFileSync(join(lab.env, 'objects.yaml'), objectsYaml({ cameraBlocked: true }));
    const second = join(lab.root, 'plan2.json');
    assert.equal((await cli(lab, ['plan', lab.env, '--out', second])).code, 2);
    const profile = [...tenant.policies.values()].find((p) => p.collection === 'deviceConfigurations')!;
    profile.assignments = tenant.assignmentsFrom(profile.id, [...profile.assignments, { target: { '@odata.type': '#microsoft.graph.allDevicesAssignmentTarget' } }], false);
    const writes = lab.lab.graph.http.counters.writes;
    const stale = await cli(lab, ['apply', second]);
    assert.equal(stale.code, 1, stale.stdout + stale.stderr);
    assert.match(stale.stdout + stale.stderr, /plan is stale: re-plan \(gs-nord\/ConfigurationProfile\/ipad-restrictions/);
    assert.equal(lab.lab.graph.http.counters.writes, writes, 'nothing written');
    assert.equal(profile.settings.cameraBlocked, false);
  });

  it('each of five mistakes gives one clear error and changes nothing', async () => {
    lab = await startLab();
    const writes = () => lab.lab.graph.http.counters.writes;
    const expectOneError = async (args: string[], env: Record<string, string>, code: string | RegExp, what: string) => {
      const before = writes();
      const r = await cli(lab, args, env);
      const out = r.stdout + r.stderr;
      assert.equal(r.code, 1, `${what}: exit 1\n${out}`);
      assert.ok(!hasStackTrace(out), `${what}: no stack trace\n${out}`);
      const errors = out.split('\n').filter((l) => /^\s+! |error E_/.test(l));
      assert.equal(errors.length, 1, `${what}: one error line\n${out}`);
      assert.match(errors[0], code instanceof RegExp ? code : new RegExp(code), what);
      assert.ok(!out.includes(SECRET) && !out.includes('wrong-S3cret'), `${what}: no secret in the output`);
      assert.equal(writes(), before, `${what}: nothing written`);
    };
    await expectOneError(['plan', lab.env], { EINKLANG_SECRET_SCHOOL_GRAPH_CLIENT_SECRET: 'wrong-S3cret' }, /rejected \(HTTP 401: invalid_client: AADSTS7000215: Invalid client secret/, 'wrong client secret');

    writeFileSync(join(lab.env, 'tenant.yaml'), tenantYaml(lab.port, '00:'.repeat(31) + '00'));
    const requests = lab.lab.graph.http.counters.requests;
    await expectOneError(['plan', lab.env], SECRETS, /TLS certificate fingerprint mismatch: expected 00:00:.*Nothing was sent \(no credentials\)/, 'wrong fingerprint');
    assert.equal(lab.lab.graph.http.counters.requests, requests, 'not even the token request reached the tenant');
    writeFileSync(join(lab.env, 'tenant.yaml'), tenantYaml(lab.port));

    writeFileSync(join(lab.env, 'objects.yaml'), objectsYaml({ profileType: '#microsoft.graph.iosFancyConfiguration' }));
    await expectOneError(['plan', lab.env], SECRETS, /objects\.yaml:\d+:\d+: error E_SCHEMA: settings\.@odata\.type must be one of "#microsoft\.graph\.iosGeneralDeviceConfiguration", "#microsoft\.graph\.windows10GeneralConfiguration"/, 'unknown @odata.type');

    writeFileSync(join(lab.env, 'objects.yaml'), objectsYaml({ serials: ['DMPXK0001', 'DMPXK0002', 'DMPXK0404'] }));
    await expectOneError(['plan', lab.env], SECRETS, /DeviceGroup "GS Nord iPads 5a": serial number DMPXK0404 is not enrolled in Intune/, 'unenrolled serial');

    writeFileSync(join(lab.env, 'objects.yaml'), objectsYaml());
    const a = lab.lab.graph.tenant.createPolicy('deviceConfigurations', { '@odata.type': '#microsoft.graph.iosGeneralDeviceConfiguration', displayName: 'GS Nord iPad restrictions' });
    const b = lab.lab.graph.tenant.createPolicy('deviceConfigurations', { '@odata.type': '#microsoft.graph.iosGeneralDeviceConfiguration', displayName: 'GS Nord iPad restrictions' });
    await expectOneError(['plan', lab.env], SECRETS, new RegExp(`2 live ConfigurationProfile objects share the natural key "GS Nord iPad restrictions": server ids (${a.id} and ${b.id}|${b.id} and ${a.id})`), 'duplicate displayName');
  });

  it('import writes manifests for what the tenant has and no manifest declares', async () => {
    lab = await startLab();
    const tenant = lab.lab.graph.tenant;
    tenant.enrol({ serialNumber: 'OLD00001' });
    const old = tenant.createGroup({ displayName: 'GS Nord Altgeräte', mailEnabled: false, mailNickname: 'alt', securityEnabled: true });
    old.members.add([...tenant.devices.values()].find((d) => d.serialNumber === 'OLD00001')!.objectId!);
    const p = tenant.createPolicy('deviceConfigurations', { '@odata.type': '#microsoft.graph.iosGeneralDeviceConfiguration', displayName: 'GS Nord Alt-Profil', cameraBlocked: true, safariBlocked: true });
    p.assignments = tenant.assignmentsFrom(p.id, [{ target: { '@odata.type': '#microsoft.graph.groupAssignmentTarget', groupId: old.id } }], false);
    tenant.createPolicy('deviceCompliancePolicies', {
      '@odata.type': '#microsoft.graph.iosCompliancePolicy',
      displayName: 'GS Nord Alt-Compliance',
      passcodeRequired: true,
      scheduledActionsForRule: [{ ruleName: 'PasswordRequired', scheduledActionConfigurations: [{ actionType: 'block', gracePeriodHours: 12 }] }],
    });
    for (const kind of ['DeviceGroup', 'ConfigurationProfile', 'CompliancePolicy']) {
      const r = await cli(lab, ['import', '--env', lab.env, '--kind', kind]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
    }
    const imported = readdirSync(lab.env).filter((f) => f.startsWith('imported-'));
    assert.deepEqual(imported.sort(), ['imported-compliancepolicy.yaml', 'imported-configurationprofile.yaml', 'imported-devicegroup.yaml']);
    const text = imported.map((f) => readFileSync(join(lab.env, f), 'utf8')).join('\n');
    for (const want of ['displayName: GS Nord Altgeräte', '- OLD00001', 'cameraBlocked: true', 'safariBlocked: true', 'group: gs-nord-altger-te', 'passcodeRequired: true', 'gracePeriodHours: 12']) {
      assert.ok(text.includes(want), `imported manifests contain ${want}\n${text}`);
    }
    // what was imported is now declared: valid, and a plan has nothing to change
    const v = await cli(lab, ['validate', lab.env]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    const applied = join(lab.root, 'plan.json');
    assert.equal((await cli(lab, ['plan', lab.env, '--out', applied])).code, 2, 'the declared objects of the first manifest are still to create');
    assert.equal((await cli(lab, ['apply', applied])).code, 0);
    const again = await cli(lab, ['plan', lab.env]);
    assert.equal(again.code, 0, again.stdout);
    assert.doesNotMatch(again.stdout, /unmanaged/);
  });
});
