/**
 * The device-management kinds: what validate refuses (unknown @odata.type
 * with the supported list, settings of the wrong type or unknown to the
 * subtype, one displayName per kind and tenant, a shared tenant's prefix,
 * malformed assignments and rules, literal client secrets, pins), what they
 * expand to, and import — through the engine's loader where positions matter.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DesiredObject, ExpandContext, Resource } from '../../engine/types.js';
import { loadWorkspace } from '../../engine/workspace.js';
import { schemasDir } from '../../engine/paths.js';
import { defaultCatalog } from '../../cli/catalog.js';
import { endpointKinds, membershipRuleProblem } from '../../providers/endpoints/kinds.js';
import { drivers } from '../../providers/endpoints/index.js';
import { supportedTypes } from '../../providers/endpoints/intune/odata-types.js';
import { testResource } from '../support/resource.js';
import { runCli, writeTree } from '../support/cli.js';
import { sharedPath } from '../support/shared.js';
import { CLIENT_ID, IOS_COMPLIANCE, IOS_PROFILE, TENANT_ID } from './helpers.js';

const ENV = 'schule';
const defs = new Map(endpointKinds.map((k) => [k.kind, k]));
const res = (kind: string, name: string, spec: any): Resource => testResource(ENV, kind, name, spec, { file: `${ENV}/intune.yaml` });

const tenant = (extra: Record<string, unknown> = {}, spec: Record<string, unknown> = {}) =>
  res('MdmTenant', 'intune', {
    connection: { driver: 'intune', host: '127.0.0.1', port: 9443, tenantId: TENANT_ID, clientId: CLIENT_ID, clientSecret: '${secret:GRAPH}', tlsFingerprint: 'AB:'.repeat(31) + 'AB', ...extra },
    ...spec,
  });
const group = (name: string, displayName: string, spec: Record<string, unknown> = { devices: ['DMPXK0001'] }) => res('DeviceGroup', name, { tenant: 'intune', displayName, ...spec });
const profile = (settings: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  res('ConfigurationProfile', 'p', { tenant: 'intune', displayName: 'GS Nord iPad', settings: { '@odata.type': IOS_PROFILE, ...settings }, ...extra });

function validate(resources: Resource[]) {
  const byAddress = new Map(resources.map((r) => [r.address, r]));
  return resources.flatMap((r) => defs.get(r.kind)?.validate?.(r, { byAddress }) ?? []);
}
const codes = (resources: Resource[]) => validate(resources).map((d) => d.code);

function expand(resources: Resource[]): DesiredObject[] {
  const byAddress = new Map(resources.map((r) => [r.address, r]));
  const ctx: ExpandContext = { byAddress, resources, lookup: (kind, name) => byAddress.get(`${ENV}/${kind}/${name}`) };
  return resources.flatMap((r) => defs.get(r.kind)?.expand?.(r, ctx) ?? []);
}

describe('endpoint kinds', () => {
  it('accepts the manifests of DESIGN.md', () => {
    const g = group('ipads-5a', 'GS Nord iPads 5a', { devices: ['DMPXK0001', 'DMPXK0002'] });
    const p = profile({ appStoreBlockInAppPurchases: true, cameraBlocked: false }, { assignments: [{ group: 'ipads-5a' }] });
    const c = res('CompliancePolicy', 'ipad-min-os', {
      tenant: 'intune',
      displayName: 'GS Nord iPad minimum iOS',
      settings: { '@odata.type': IOS_COMPLIANCE, osMinimumVersion: '17.0', passcodeRequired: true },
      actions: [{ action: 'block', gracePeriodHours: 72 }],
      assignments: [{ group: 'ipads-5a' }],
    });
    const a = res('App', 'anton', { tenant: 'intune', displayName: 'ANTON', assignments: [{ group: 'ipads-5a', intent: 'required' }] });
    assert.deepEqual(codes([tenant(), g, p, c, a]), []);
    assert.deepEqual(
      defs.get('ConfigurationProfile')!.references!(p),
      [
        { pointer: '/spec/tenant', kind: 'MdmTenant', name: 'intune' },
        { pointer: '/spec/assignments/0/group', kind: 'DeviceGroup', name: 'ipads-5a' },
      ],
    );
    const byId = new Map(expand([tenant(), g, p, c, a]).map((d) => [`${d.kind}/${d.id}`, d]));
    assert.deepEqual(byId.get('DeviceGroup/GS Nord iPads 5a')!.state, { membershipRule: null, members: ['DMPXK0001', 'DMPXK0002'] });
    assert.equal(byId.get('DeviceGroup/GS Nord iPads 5a')!.target, 'schule/MdmTenant/intune');
    assert.deepEqual(byId.get('ConfigurationProfile/GS Nord iPad')!.state, {
      'settings.@odata.type': IOS_PROFILE,
      'settings.appStoreBlockInAppPurchases': true,
      'settings.cameraBlocked': false,
      assignments: [{ group: 'GS Nord iPads 5a' }],
    });
    assert.deepEqual(byId.get('CompliancePolicy/GS Nord iPad minimum iOS')!.state.actions, [{ action: 'block', gracePeriodHours: 72 }]);
    assert.deepEqual(byId.get('App/ANTON')!.state, { assignments: [{ group: 'GS Nord iPads 5a', intent: 'required' }] });
  });

  it('checks settings against the subtype: unknown setting, wrong type, enum value, range', () => {
    const ds = validate([tenant(), profile({ cameraBlocked: 'no', camraBlocked: true, passcodeRequiredType: 'pin', passcodeMinimumLength: 3, safariManagedDomains: ['schule.de'] })]);
    assert.deepEqual(
      ds.map((d) => `${d.code}: ${d.message}`),
      [
        'E_INTUNE_SETTING: cameraBlocked must be a boolean (iosGeneralDeviceConfiguration)',
        'E_INTUNE_SETTING: iosGeneralDeviceConfiguration has no setting "camraBlocked"',
        'E_INTUNE_SETTING: passcodeRequiredType must be one of "deviceDefault", "alphanumeric", "numeric" (iosGeneralDeviceConfiguration)',
        'E_INTUNE_SETTING: passcodeMinimumLength must be between 4 and 14 (iosGeneralDeviceConfiguration)',
      ],
    );
    assert.deepEqual(codes([tenant(), profile({ cameraBlocked: null })]), [], 'null means "not configured"');
  });

  it('refuses an @odata.type it does not support, listing the supported ones, and a compliance type in a profile', () => {
    const [d] = validate([tenant(), profile({}, {}), res('ConfigurationProfile', 'x', { tenant: 'intune', displayName: 'x', settings: { '@odata.type': IOS_COMPLIANCE } })]);
    assert.equal(d.code, 'E_INTUNE_ODATA_TYPE');
    assert.match(d.message, /iosCompliancePolicy" is not supported; supported: #microsoft\.graph\.iosGeneralDeviceConfiguration, #microsoft\.graph\.windows10GeneralConfiguration/);
    // the JSON Schema offers the same list to editors and refuses others at validate
    const schema = JSON.parse(readFileSync(join(schemasDir, 'endpoints/ConfigurationProfile.schema.json'), 'utf8'));
    assert.deepEqual(schema.properties.settings.properties['@odata.type'].enum, supportedTypes('ConfigurationProfile'));
    const compliance = JSON.parse(readFileSync(join(schemasDir, 'endpoints/CompliancePolicy.schema.json'), 'utf8'));
    assert.deepEqual(compliance.properties.settings.properties['@odata.type'].enum, supportedTypes('CompliancePolicy'));
  });

  it('compliance actions: each once, a notification with its template', () => {
    const policy = (actions: unknown[]) => res('CompliancePolicy', 'c', { tenant: 'intune', displayName: 'C', settings: { '@odata.type': IOS_COMPLIANCE }, actions });
    assert.deepEqual(codes([tenant(), policy([{ action: 'block', gracePeriodHours: 0 }, { action: 'block', gracePeriodHours: 24 }])]), ['E_INTUNE_ACTION']);
    assert.deepEqual(codes([tenant(), policy([{ action: 'notification', gracePeriodHours: 0 }])]), ['E_INTUNE_ACTION']);
    assert.deepEqual(codes([tenant(), policy([{ action: 'notification', gracePeriodHours: 0, notificationTemplateId: 't1' }, { action: 'notification', gracePeriodHours: 24, notificationTemplateId: 't2' }])]), []);
  });

  it('one displayName per kind and tenant (ignoring case), inside the tenant prefix', () => {
    assert.deepEqual(codes([tenant(), group('a', 'GS Nord iPads'), group('b', 'gs nord ipads')]), ['E_INTUNE_DUPLICATE_NAME', 'E_INTUNE_DUPLICATE_NAME']);
    assert.deepEqual(codes([tenant(), group('a', 'GS Nord iPads'), res('ConfigurationProfile', 'p', { tenant: 'intune', displayName: 'GS Nord iPads', settings: { '@odata.type': IOS_PROFILE } })]), [], 'another kind may share it');
    const shared = tenant({}, { displayNamePrefix: 'GS Nord ' });
    assert.deepEqual(codes([shared, group('a', 'GS Nord iPads'), group('b', 'GY Süd iPads')]), ['E_INTUNE_PREFIX']);
    const app = res('App', 'anton', { tenant: 'intune', displayName: 'ANTON', assignments: [{ allDevices: true, intent: 'required' }] });
    assert.deepEqual(codes([shared, app]), ['E_INTUNE_PREFIX'], 'in a shared tenant an app assignment to all devices belongs to nobody');
  });

  it('refuses assignments without exactly one target, exclusions of all devices, groups of another tenant', () => {
    const other = res('MdmTenant', 'other', tenant().spec);
    const foreign = res('DeviceGroup', 'g2', { tenant: 'other', displayName: 'G2', devices: [] });
    const ds = validate([tenant(), other, foreign, group('g', 'G'), profile({}, { assignments: [{}, { group: 'g', allDevices: true }, { allDevices: true, exclude: true }, { group: 'g2' }] })]);
    assert.deepEqual(
      ds.map((d) => d.code),
      ['E_INTUNE_ASSIGNMENT', 'E_INTUNE_ASSIGNMENT', 'E_INTUNE_ASSIGNMENT', 'E_INTUNE_TENANT'],
    );
  });

  it('a DeviceGroup is static or dynamic, lists a serial once, and has a device rule', () => {
    assert.deepEqual(codes([tenant(), group('a', 'A', { devices: ['X1'], membershipRule: '(device.deviceOSType -eq "iPad")' })]), ['E_INTUNE_GROUP']);
    assert.deepEqual(codes([tenant(), group('a', 'A', {})]), ['E_INTUNE_GROUP']);
    assert.deepEqual(codes([tenant(), group('a', 'A', { devices: ['dmpx1', 'DMPX1'] })]), ['E_INTUNE_GROUP']);
    assert.equal(membershipRuleProblem('(device.devicePhysicalIds -any (_ -eq "[OrderID]:GSNORD-5A"))'), undefined);
    assert.match(membershipRuleProblem('(user.department -eq "5a")')!, /must select devices/);
    assert.match(membershipRuleProblem('(device.displayName -eq "a"')!, /without its "\)"/);
    assert.match(membershipRuleProblem('(device.displayName -eq "a)')!, /unclosed quote/);
    assert.deepEqual(expand([tenant(), group('d', 'D', { membershipRule: '(device.deviceOSType -eq "iPad")' })])[0].state, { membershipRule: '(device.deviceOSType -eq "iPad")' });
  });

  it('checks the connection without loading the driver: literal secret, pins, ids; two hosts with defaults', () => {
    const entry = drivers.find((d) => d.name === 'intune')!;
    assert.deepEqual(entry.validateConnection!(tenant()), []);
    const bad = entry.validateConnection!(tenant({ clientSecret: 'plain-text', tenantId: 'not a tenant', clientId: 'x', tlsFingerprint: undefined }));
    assert.deepEqual(bad.map((d) => d.code).sort(), ['E_INTUNE_CONNECTION', 'E_INTUNE_CONNECTION', 'E_PLAINTEXT_SECRET', 'E_TLS_FINGERPRINT']);
    assert.ok(!bad.some((d) => d.message.includes('plain-text')), 'the literal secret is not repeated');
    assert.deepEqual(entry.hosts!({}), [
      { field: 'host', host: 'graph.microsoft.com' },
      { field: 'loginHost', host: 'login.microsoftonline.com' },
    ]);
    assert.deepEqual(entry.validateConnection!(tenant({ host: 'graph.microsoft.com', tlsFingerprint: undefined })), [], 'the system CAs decide for Microsoft hosts');
  });

  it('through the loader: positioned diagnostics, and managementNetworks covers both hosts', async () => {
    const root = writeTree({
      'envs/schule/environment.yaml': 'kind: Environment\nmetadata: { name: schule }\nspec: { zone: school, managementNetworks: [graph.microsoft.com] }\n',
      'envs/schule/intune.yaml': [
        'kind: MdmTenant',
        'metadata: { name: intune }',
        'spec:',
        `  connection: { driver: intune, tenantId: ${TENANT_ID}, clientId: ${CLIENT_ID}, clientSecret: "\${secret:GRAPH}" }`,
        '---',
        'kind: ConfigurationProfile',
        'metadata: { name: p }',
        'spec:',
        '  tenant: intune',
        '  displayName: P',
        '  settings:',
        '    "@odata.type": "#microsoft.graph.iosGeneralDeviceConfiguration"',
        '    cameraBlocked: "no"',
        '',
      ].join('\n'),
    });
    const ws = await loadWorkspace(defaultCatalog(), [join(root, 'envs/schule')], { repositoryWide: false });
    const lines = ws.diagnostics.map((d) => `${d.pos?.line}:${d.pos?.col} ${d.code} ${d.message}`);
    assert.ok(lines.some((l) => /^13:20 E_INTUNE_SETTING cameraBlocked must be a boolean/.test(l)), lines.join('\n'));
    assert.ok(lines.some((l) => /E_MANAGEMENT_NETWORK .*connection\.loginHost "login\.microsoftonline\.com" is outside the management networks/.test(l)), lines.join('\n'));
  });

  it("DESIGN.md's device-management example validates as written (with a real fingerprint for its AB:CD:...)", async function () {
    const design = sharedPath('DESIGN.md');
    if (!existsSync(design)) return this.skip();
    const [block] = [...readFileSync(design, 'utf8').matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]).filter((b) => /^kind: MdmTenant/m.test(b));
    assert.ok(block, 'DESIGN.md has the MdmTenant example');
    const root = writeTree({
      'envs/demo/environment.yaml': 'kind: Environment\nmetadata: { name: demo }\nspec: { zone: school }\n',
      'envs/demo/intune.yaml': block.replace('"AB:CD:..."', `"${'AB:'.repeat(31)}CD"`),
    });
    const r = await runCli(['validate', join(root, 'envs/demo')], { cwd: root });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /valid: 1 environment\(s\), 6 resource\(s\)/);
  });

  it('import writes manifests as they would be declared', () => {
    const def = defs.get('ConfigurationProfile')!;
    const m = def.importAs!(
      { kind: 'ConfigurationProfile', id: 'Alt: iPad', state: { 'settings.@odata.type': IOS_PROFILE, 'settings.cameraBlocked': true, assignments: [{ group: 'GS Nord iPads 5a' }, { groupId: 'deleted' }, { allDevices: true }] } },
      tenant(),
    );
    assert.deepEqual(m, { name: 'Alt: iPad', spec: { tenant: 'intune', displayName: 'Alt: iPad', settings: { '@odata.type': IOS_PROFILE, cameraBlocked: true }, assignments: [{ group: 'gs-nord-ipads-5a' }, { allDevices: true }] } });
    const g = defs.get('DeviceGroup')!.importAs!({ kind: 'DeviceGroup', id: 'GS Nord iPads 5a', state: { membershipRule: null, members: ['DMPXK0001', 'device:123'] } }, tenant());
    assert.deepEqual(g.spec, { tenant: 'intune', displayName: 'GS Nord iPads 5a', devices: ['DMPXK0001'] });
  });
});
