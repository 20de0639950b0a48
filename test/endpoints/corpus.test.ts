/**
 * The Graph simulator against /work/shared/corpus/graph: the requests that
 * Microsoft's documentation and its own PowerShell samples send are answered
 * with the documented status, and every answer is shaped like the documented
 * one: each property the simulator sends exists in the documented object with
 * the same JSON type (null fits anything), recursively; `@odata.context`,
 * `@odata.count` and `@odata.nextLink` are Graph's collection envelope and
 * always allowed. The simulator invents no properties.
 *
 * Documented discrepancies, asserted as such:
 * - the docs' single-entity GET examples wrap the entity in "value"; Graph
 *   returns the entity itself (corpus common/user_get_with_response_headers.json);
 * - the v1.0 create examples of compliance policies omit
 *   `scheduledActionsForRule`, which the resource page calls required on
 *   create and Microsoft's samples always send: the simulator refuses the bare
 *   example and accepts it with the samples' rule;
 * - the Android compliance sample sends `requireAppVerify`, a property v1.0 no
 *   longer has (securityRequireVerifyApps): refused as Graph refuses unknown properties.
 */
import assert from 'node:assert/strict';
import { ApiClient } from '../../providers/kit/client.js';
import { bearerAuth } from '../../providers/kit/auth.js';
import { corpusJson } from '../support/shared.js';
import { CLIENT_ID, CLIENT_SECRET, TENANT_ID, startLab, type Lab } from './helpers.js';

const ENVELOPE = new Set(['@odata.context', '@odata.count', '@odata.nextLink']);
const ALL_STATUSES = Array.from({ length: 300 }, (_, i) => 300 + i);

const jsonType = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/** Where `actual` has a property `expected` lacks, or one of another JSON type. */
function shapeProblems(actual: unknown, expected: unknown, at = ''): string[] {
  if (actual === null || expected === null || expected === undefined) return [];
  if (jsonType(actual) !== jsonType(expected)) return [`${at || '/'}: ${jsonType(actual)} where the corpus has ${jsonType(expected)}`];
  if (Array.isArray(actual)) {
    const model = (expected as unknown[])[0];
    return model === undefined ? [] : actual.flatMap((x, i) => shapeProblems(x, model, `${at}/${i}`));
  }
  if (typeof actual !== 'object') return [];
  const e = expected as Record<string, unknown>;
  return Object.entries(actual as Record<string, unknown>).flatMap(([k, v]) => {
    if (ENVELOPE.has(k) && at === '') return [];
    if (!(k in e)) return [`${at}/${k}: not in the corpus`];
    return shapeProblems(v, e[k], `${at}/${k}`);
  });
}

/** The union of documented examples: one object with every property any of them has. */
function union(...examples: Record<string, unknown>[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const ex of examples) for (const [k, v] of Object.entries(ex)) if (out[k] === undefined || out[k] === null) out[k] = v;
  return out;
}

const corpus = (file: string) => corpusJson('graph', ...file.split('/'));
const response = (file: string) => corpus(file).response;
/** A documented single-entity answer, unwrapped from the docs' "value". */
const entity = (file: string) => {
  const b = response(file).body;
  return b && b.value && !Array.isArray(b.value) ? b.value : b;
};
const item = (file: string) => response(file).body.value[0];
/** A documented assignment whose target may also be a group (the samples assign groups: groupId). */
function assignmentShape(listFile: string, sampleFile: string, list: 'assignments' | 'mobileAppAssignments') {
  const documented = response(listFile).body.value[0];
  return { ...documented, target: union(documented.target, corpus(sampleFile).request.body[list][0].target) };
}

/** Graph's error body: the documented examples differ in innerError (requestId, request-id, ...), so their union. */
function errorShape() {
  const a = corpus('common/error_envelope_body.json').error;
  const b = response('common/throttling_429.json').body.error;
  return { error: { ...union(a, b), innerError: union(a.innerError, b.innerError) } };
}

describe('Graph simulator against the corpus', function () {
  this.timeout(30_000);
  let lab: Lab;
  let http: ApiClient;

  async function call(method: string, pathAndQuery: string, json?: unknown, headers: Record<string, string> = {}) {
    const [path, q] = pathAndQuery.replace(/^\/v1\.0/, '').split('?');
    const query = q ? Object.fromEntries(new URLSearchParams(q)) : undefined;
    const r = await http.request(method, path, { query, json, headers, accept: ALL_STATUSES, envelope: false });
    return { status: r.status, body: r.json as any, headers: r.headers };
  }

  function expectShape(actual: unknown, expected: unknown, what: string) {
    assert.deepEqual(shapeProblems(actual, expected), [], what);
  }

  before(async () => {
    lab = await startLab();
    const token = new ApiClient({ host: '127.0.0.1', port: lab.sim.port, tlsFingerprint: lab.sim.fingerprint });
    const t = await token.request('POST', `/${TENANT_ID}/oauth2/v2.0/token`, {
      form: { client_id: CLIENT_ID, scope: 'https://graph.microsoft.com/.default', client_secret: CLIENT_SECRET, grant_type: 'client_credentials' },
      anonymous: true,
    });
    token.close();
    const doc = response('common/token_client_credentials.json');
    assert.equal(t.status, doc.status);
    for (const k of Object.keys(doc.body)) assert.equal(jsonType(t.json[k]), jsonType(doc.body[k]), `token answer field ${k}`);
    http = new ApiClient({ host: '127.0.0.1', port: lab.sim.port, tlsFingerprint: lab.sim.fingerprint, basePath: '/v1.0', auth: bearerAuth(t.json.access_token), retry: { maxAttempts: 1 } });
  });
  after(async () => {
    http?.close();
    await lab?.stop();
  });

  it('device configurations: create, get, list, update, assign, assignments, delete', async () => {
    const create = corpus('v1.0/iosGeneralDeviceConfiguration_create.json');
    const created = await call('POST', create.request.path, create.request.body);
    assert.equal(created.status, create.response.status);
    expectShape(created.body, create.response.body, 'create answer');
    const id = created.body.id;
    const get = await call('GET', `/deviceManagement/deviceConfigurations/${id}`);
    assert.equal(get.status, 200);
    expectShape(get.body, union(entity('v1.0/iosGeneralDeviceConfiguration_get.json'), entity('v1.0/deviceConfiguration_get.json')), 'get answer');
    const list = await call('GET', '/deviceManagement/deviceConfigurations');
    assert.equal(list.status, response('v1.0/deviceConfigurations_list.json').status);
    expectShape(list.body, { value: [union(item('v1.0/deviceConfigurations_list.json'), entity('v1.0/iosGeneralDeviceConfiguration_get.json'))] }, 'list answer');

    const win = corpus('v1.0/windows10GeneralConfiguration_create.json');
    const w = await call('POST', win.request.path, win.request.body);
    assert.equal(w.status, win.response.status);
    expectShape(w.body, win.response.body, 'windows create answer');
    const upd = corpus('v1.0/windows10GeneralConfiguration_update.json');
    const u = await call('PATCH', `/deviceManagement/deviceConfigurations/${w.body.id}`, upd.request.body);
    assert.equal(u.status, upd.response.status);
    expectShape(u.body, upd.response.body, 'update answer');
    const bare = await call('PATCH', `/deviceManagement/deviceConfigurations/${w.body.id}`, { cameraBlocked: true });
    assert.equal(bare.status, 400, 'a PATCH without @odata.type is read as the base type, which has no settings');
    assert.match(bare.body.error.message, /does not exist on type 'microsoft\.graph\.deviceConfiguration'/);

    const assign = corpus('v1.0/deviceConfiguration_assign.json');
    const a = await call('POST', `/deviceManagement/deviceConfigurations/${id}/assign`, assign.request.body);
    assert.equal(a.status, assign.response.status);
    expectShape(a.body, assign.response.body, 'assign answer');
    const al = await call('GET', `/deviceManagement/deviceConfigurations/${id}/assignments`);
    expectShape(al.body, response('v1.0/deviceConfiguration_assignments_list.json').body, 'assignments list');
    assert.equal(al.body.value.length, 1);

    const del = corpus('v1.0/windows10GeneralConfiguration_delete.json');
    assert.equal((await call('DELETE', `/deviceManagement/deviceConfigurations/${w.body.id}`)).status, del.response.status);
    assert.equal((await call('GET', `/deviceManagement/deviceConfigurations/${w.body.id}`)).status, 404);
  });

  it('compliance policies: create needs scheduledActionsForRule; assign, actions, list', async () => {
    const doc = corpus('v1.0/iosCompliancePolicy_create.json');
    const bare = await call('POST', doc.request.path, doc.request.body);
    assert.equal(bare.status, 400, 'the docs example without scheduledActionsForRule is refused');
    assert.match(bare.body.error.message, /scheduledActionsForRule is required/);
    const rule = corpus('intune-samples/iosCompliancePolicy_create.request.json').request.body.scheduledActionsForRule;
    const created = await call('POST', doc.request.path, { ...doc.request.body, scheduledActionsForRule: rule });
    assert.equal(created.status, doc.response.status);
    expectShape(created.body, doc.response.body, 'create answer');
    const winDoc = corpus('v1.0/windows10CompliancePolicy_create.json');
    const win = await call('POST', winDoc.request.path, { ...winDoc.request.body, scheduledActionsForRule: rule });
    assert.equal(win.status, winDoc.response.status);
    expectShape(win.body, winDoc.response.body, 'windows create answer');
    // Microsoft's own samples: @odata.type without '#', and the rule
    const sample = corpus('intune-samples/iosCompliancePolicy_create.request.json').request;
    assert.equal((await call('POST', sample.path, sample.body)).status, 201);
    const android = corpus('intune-samples/androidCompliancePolicy_create.request.json').request;
    const refused = await call('POST', android.path, android.body);
    assert.equal(refused.status, 400);
    assert.match(refused.body.error.message, /The property 'requireAppVerify' does not exist on type 'microsoft\.graph\.androidCompliancePolicy'/);
    expectShape(refused.body, errorShape(), 'error body');

    const id = created.body.id;
    const assign = corpus('v1.0/deviceCompliancePolicy_assign.json');
    const a = await call('POST', `/deviceManagement/deviceCompliancePolicies/${id}/assign`, assign.request.body);
    assert.equal(a.status, assign.response.status);
    expectShape(a.body, assign.response.body, 'assign answer');
    const g = lab.sim.tenant.createGroup({ displayName: 'Target', mailEnabled: false, mailNickname: 't', securityEnabled: true });
    const sampleAssign = corpus('intune-samples/deviceCompliancePolicy_assign.request.json').request;
    const s = await call('POST', `/deviceManagement/deviceCompliancePolicies/${id}/assign`, JSON.parse(JSON.stringify(sampleAssign.body).replace('$TargetGroupId', g.id)));
    assert.equal(s.status, 200);
    const assignment = assignmentShape('v1.0/deviceCompliancePolicy_assignments_list.json', 'intune-samples/deviceCompliancePolicy_assign.request.json', 'assignments');
    expectShape((await call('GET', `/deviceManagement/deviceCompliancePolicies/${id}/assignments`)).body, { value: [assignment] }, 'assignments list');
    const noRoute = await call('POST', `/deviceManagement/deviceCompliancePolicies/${id}/assignments`, assign.request.body.assignments[0]);
    assert.equal(noRoute.status, 400);
    assert.match(noRoute.body.error.message, /No OData route exists/);

    const sched = corpus('v1.0/deviceCompliancePolicy_scheduleActionsForRules.json');
    const body = JSON.parse(JSON.stringify(sched.request.body));
    body.deviceComplianceScheduledActionForRules[0].scheduledActionConfigurations = rule[0].scheduledActionConfigurations;
    assert.equal((await call('POST', `/deviceManagement/deviceCompliancePolicies/${id}/scheduleActionsForRules`, body)).status, sched.response.status);
    const list = await call('GET', '/deviceManagement/deviceCompliancePolicies?$expand=assignments,scheduledActionsForRule($expand=scheduledActionConfigurations)');
    assert.equal(list.status, response('v1.0/deviceCompliancePolicies_list.json').status);
    const action = corpus('v1.0/deviceComplianceActionItem_create.json').response.body;
    expectShape(
      list.body,
      {
        value: [
          union(item('v1.0/deviceCompliancePolicies_list.json'), doc.response.body, winDoc.response.body, {
            assignments: [assignment],
            scheduledActionsForRule: [{ ...sched.request.body.deviceComplianceScheduledActionForRules[0], scheduledActionConfigurations: [action] }],
          }),
        ],
      },
      'expanded list',
    );
  });

  it('groups and members: create, list, $filter/$count/$orderby, $ref and @odata.bind', async () => {
    const users = [lab.sim.tenant.addUser('Anna'), lab.sim.tenant.addUser('Ben'), lab.sim.tenant.addUser('Cleo')];
    const doc = corpus('v1.0/groups_create_security_group.json');
    const text = JSON.stringify(doc.request.body).replace('ff7cb387-6688-423c-8188-3da9532a73cc', users[0].id).replace('69456242-0067-49d3-ba96-9de6f2728e14', users[1].id);
    const created = await call('POST', doc.request.path, JSON.parse(text));
    assert.equal(created.status, doc.response.status);
    const groupShape = union(doc.response.body, item('v1.0/groups_list.json'));
    expectShape(created.body, groupShape, 'create answer');
    expectShape((await call('GET', '/groups')).body, { value: [groupShape] }, 'list');
    const id = created.body.id;

    const add = corpus('v1.0/group_members_add_ref.json');
    const r = await call('POST', `/groups/${id}/members/$ref`, { '@odata.id': add.request.body['@odata.id'].replace('{id}', users[2].id) });
    assert.equal(r.status, add.response.status);
    const again = await call('POST', `/groups/${id}/members/$ref`, { '@odata.id': add.request.body['@odata.id'].replace('{id}', users[2].id) });
    assert.equal(again.status, 400, 'already a member');
    assert.match(again.body.error.message, /already exist/);
    const unknown = await call('POST', `/groups/${id}/members/$ref`, { '@odata.id': add.request.body['@odata.id'].replace('{id}', 'a0b1c2d3-0000-0000-0000-000000000000') });
    assert.equal(unknown.status, 404, 'unknown object');

    const filtered = corpus('v1.0/group_members_list_filter.json');
    const f = await call('GET', filtered.request.path.replace('{id}', id), undefined, filtered.request.headers);
    assert.equal(f.status, filtered.response.status);
    assert.equal(f.body['@odata.count'], 1, 'Anna');
    assert.equal((await call('GET', filtered.request.path.replace('{id}', id))).status, 400, '$count without ConsistencyLevel: eventual');
    const top = corpus('v1.0/groups_list_filter_count_top.json');
    const t = await call('GET', top.request.path.replace('startswith(displayName, \'a\')', "startswith(displayName, 'o')"), undefined, top.request.headers);
    assert.equal(t.status, top.response.status);
    assert.equal(t.body['@odata.count'], 1);

    const bind = corpus('v1.0/group_members_add_odata_bind.json');
    const second = lab.sim.tenant.createGroup({ displayName: 'Second', mailEnabled: false, mailNickname: 's', securityEnabled: true });
    const b = await call('PATCH', bind.request.path.replace('{group-id}', second.id), { 'members@odata.bind': users.map((u) => bind.request.body['members@odata.bind'][0].replace('{id}', u.id)) });
    assert.equal(b.status, bind.response.status);
    const remove = corpus('v1.0/group_members_remove_ref.json');
    assert.equal((await call('DELETE', remove.request.path.replace('{group-id}', second.id).replace('{directory-object-id}', users[0].id))).status, remove.response.status);
    assert.deepEqual((await call('GET', `/groups/${second.id}/members`)).body.value.map((m: { id: string }) => m.id).sort(), [users[1].id, users[2].id].sort());
  });

  it('managed devices: read-only, shaped as documented, paged by 1000', async () => {
    for (let i = 0; i < 1001; i++) lab.sim.tenant.enrol({ serialNumber: `PAGE${String(i).padStart(4, '0')}` });
    const p1 = await call('GET', '/deviceManagement/managedDevices');
    assert.equal(p1.status, response('v1.0/managedDevices_list.json').status);
    assert.equal(p1.body.value.length, 1000);
    assert.match(p1.body['@odata.nextLink'], /^https:\/\/127\.0\.0\.1:\d+\/v1\.0\/deviceManagement\/managedDevices\?\$skiptoken=/);
    expectShape(p1.body, response('v1.0/managedDevices_list.json').body, 'list');
    expectShape((await call('GET', `/deviceManagement/managedDevices/${p1.body.value[0].id}`)).body, entity('v1.0/managedDevice_get.json'), 'get');
    const bySerial = await call('GET', "/deviceManagement/managedDevices?$filter=serialNumber eq 'PAGE0007'&$select=id,serialNumber");
    assert.deepEqual(bySerial.body.value.map((d: { serialNumber: string }) => d.serialNumber), ['PAGE0007']);
    const write = await call('PATCH', `/deviceManagement/managedDevices/${p1.body.value[0].id}`, { notes: 'x' });
    assert.equal(write.status, 403, 'einklang reads devices: its app has DeviceManagementManagedDevices.Read.All only');
    assert.match(write.body.error.message, /Application is not authorized to perform this operation/);
    assert.equal((await call('GET', '/deviceManagement/managedDevices?$select=nonsense')).status, 400);
    assert.equal((await call('GET', '/deviceManagement/managedDevices?$filter=serialNumber gt 1')).status, 400);
  });

  it('apps: list (no $expand=assignments), get with assignments, assign 204 replacing the set', async () => {
    const app = lab.sim.tenant.addApp({ displayName: 'ANTON' });
    const list = await call('GET', '/deviceAppManagement/mobileApps');
    assert.equal(list.status, response('v1.0/mobileApps_list.json').status);
    expectShape(list.body, response('v1.0/mobileApps_list.json').body, 'list');
    assert.equal((await call('GET', '/deviceAppManagement/mobileApps?$expand=assignments')).status, 400);
    const assign = corpus('v1.0/mobileApp_assign.json');
    const a = await call('POST', `/deviceAppManagement/mobileApps/${app.id}/assign`, assign.request.body);
    assert.equal(a.status, assign.response.status);
    const g = lab.sim.tenant.createGroup({ displayName: 'Apps', mailEnabled: false, mailNickname: 'a', securityEnabled: true });
    const sample = corpus('intune-samples/mobileApp_assign.request.json').request.body;
    const s = await call('POST', `/deviceAppManagement/mobileApps/${app.id}/assign`, JSON.parse(JSON.stringify(sample).replace('$TargetGroupId', g.id).replace('$InstallIntent', 'required')));
    assert.equal(s.status, 204);
    const got = await call('GET', `/deviceAppManagement/mobileApps/${app.id}?$expand=assignments`);
    const assignment = assignmentShape('v1.0/mobileApp_assignments_list.json', 'intune-samples/mobileApp_assign.request.json', 'mobileAppAssignments');
    expectShape(got.body, union(entity('v1.0/iosVppApp_get.json'), { assignments: [assignment] }), 'get with assignments');
    assert.deepEqual(got.body.assignments.map((x: { target: { groupId?: string } }) => x.target.groupId), [g.id], 'the second assign replaced the first');
    expectShape((await call('GET', `/deviceAppManagement/mobileApps/${app.id}/assignments`)).body, { value: [assignment] }, 'assignments list');
  });

  it('JSON batching, errors and throttling as documented', async () => {
    const doc = corpus('common/batch.json');
    const batch = await call('POST', '/$batch', {
      requests: [
        { id: '1', method: 'GET', url: '/deviceManagement/deviceConfigurations' },
        { id: '2', method: 'GET', url: '/groups/no-such-group' },
        { id: '3', method: 'GET', url: '/deviceAppManagement/mobileApps' },
        { id: '4', method: 'PATCH', url: `/groups/${[...lab.sim.tenant.groups.keys()][0]}`, body: { description: 'x' }, headers: { 'Content-Type': 'application/json' } },
      ],
    });
    assert.equal(batch.status, doc.response.status);
    assert.deepEqual(batch.body.responses.map((r: { status: number }) => r.status), [200, 404, 200, 204]);
    for (const r of batch.body.responses) assert.deepEqual(Object.keys(r).filter((k) => !['id', 'status', 'headers', 'body'].includes(k)), []);
    expectShape(batch.body.responses[1].body, errorShape(), 'error inside a batch');
    const sample = corpus('intune-samples/batch_intune.request.json').request;
    const s = await call('POST', '/$batch', sample.body);
    assert.deepEqual(s.body.responses.map((r: { status: number }) => r.status), [200, 200, 200]);
    assert.equal((await call('POST', '/$batch', { requests: Array.from({ length: 21 }, (_, i) => ({ id: String(i), method: 'GET', url: '/groups' })) })).status, 400, 'more than 20');

    const throttled = response('common/throttling_429.json');
    lab.sim.throttleNext(1, '2.128');
    const t = await call('GET', '/groups');
    assert.equal(t.status, throttled.status);
    assert.equal(t.headers['retry-after'], throttled.headers['Retry-After']);
    assert.deepEqual(shapeProblems(t.body, throttled.body), []);
    assert.deepEqual(shapeProblems(throttled.body, t.body), [], 'the same fields both ways');

    const bad = await http.request('GET', '/groups', { headers: { authorization: 'Bearer forged' }, accept: ALL_STATUSES, anonymous: true });
    assert.equal(bad.status, 401);
    expectShape(bad.json, errorShape(), '401 body');
    assert.equal(bad.json.error.code, 'InvalidAuthenticationToken');
  });
});
