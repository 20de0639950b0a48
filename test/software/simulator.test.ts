/**
 * The opsi simulator against what opsiconfd does (research/opsi.md, opsiconfd
 * 4.3.24.1) and against the real traffic in /work/shared/corpus/opsi: it is
 * only worth what it refuses, so most checks here are refusals and quirks.
 * Requests go over HTTPS as raw JSON-RPC, not through the driver.
 */
import assert from 'node:assert/strict';
import https from 'node:https';
import { ApiClient } from '../../providers/kit/client.js';
import { CLASSES } from '../../providers/software/opsi/simulator/objects.js';
import type { RunningOpsiSim } from '../../providers/software/opsi/simulator/server.js';
import { corpusJson, corpusJsonFiles } from '../support/shared.js';
import { PASSWORD, USER, clientIds, startSim } from './helpers.js';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** A raw JSON-RPC client over HTTPS that keeps the session cookie (or not). */
class Raw {
  cookie?: string;
  readonly http: ApiClient;
  constructor(
    sim: RunningOpsiSim,
    private readonly o: { password?: string; keepCookie?: boolean; auth?: boolean } = {},
  ) {
    this.http = new ApiClient({ host: '127.0.0.1', port: sim.port, tlsFingerprint: sim.fingerprint, maxSockets: 1 });
  }
  async post(body: unknown) {
    const headers: Record<string, string> = {};
    if (this.cookie) headers.cookie = this.cookie;
    else if (this.o.auth !== false) headers.authorization = basic(USER, this.o.password ?? PASSWORD);
    const res = await this.http.request('POST', '/rpc', { json: body, headers, envelope: false, accept: [400, 401, 403] });
    const set = String(res.headers['set-cookie'] ?? '');
    if (this.o.keepCookie !== false && res.status === 200 && /opsiconfd-session=([0-9a-f]+)/.test(set)) this.cookie = `opsiconfd-session=${/opsiconfd-session=([0-9a-f]+)/.exec(set)![1]}`;
    return res;
  }
  async call(method: string, params: unknown, extra: Record<string, unknown> = {}) {
    return (await this.post({ id: 1, method, params, ...extra })).json;
  }
  /** The result of a 1.0 call, or throws the error envelope's class and message. */
  async ok(method: string, params: unknown = []) {
    const env = await this.call(method, params);
    if (env.error) throw new Error(`${env.error.class}: ${env.error.message}`);
    return env.result;
  }
  close() {
    this.http.close();
  }
}

/** POSTs bytes that are not JSON (the kit client only sends JSON). */
function postText(sim: RunningOpsiSim, text: string, headers: Record<string, string>): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port: sim.port, method: 'POST', path: '/rpc', rejectUnauthorized: false, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let data = '';
      res.on('data', (d) => (data += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(data) }));
    });
    req.on('error', reject);
    req.end(text);
  });
}

describe('opsi simulator', function () {
  this.timeout(20_000);
  let sim: RunningOpsiSim;
  let now = 1_000_000;
  beforeEach(async () => {
    now = 1_000_000;
    sim = await startSim({ now: () => now });
  });
  afterEach(async () => {
    await sim.stop();
  });

  describe('envelopes (application/jsonrpc.py)', () => {
    it('answers 1.0 with result and error: null, 2.0 with jsonrpc and no error key; ids are echoed (a string id too)', async () => {
      const r = new Raw(sim);
      const v1 = await r.call('accessControl_authenticated', []);
      assert.deepEqual(v1, { id: 1, result: true, error: null });
      const v2 = (await r.post({ jsonrpc: '2.0', id: '1', method: 'accessControl_authenticated', params: [] })).json;
      assert.deepEqual(v2, { id: '1', result: true, jsonrpc: '2.0' });
      const noId = (await r.post({ method: 'authenticated', params: [] })).json;
      assert.equal(noId.id, 0, 'a missing id answers 0');
      r.close();
    });

    it('puts method errors inside HTTP 200 with their Python class, in both styles', async () => {
      const r = new Raw(sim);
      const res = await r.post({ id: 7, method: 'no_such_method', params: [] });
      assert.equal(res.status, 200);
      assert.deepEqual(res.json, { id: 7, result: null, error: { message: "Invalid method 'no_such_method'", class: 'ValueError', details: null } });
      const v2 = (await r.post({ jsonrpc: '2.0', id: 8, method: 'setProductActionRequest', params: ['firefox', 'pc-404.gs-nord.schule.local', 'setup'] })).json;
      assert.deepEqual(v2, { id: 8, error: { message: "Client 'pc-404.gs-nord.schule.local' not found", code: 0, data: { class: 'BackendConfigurationError', details: null } }, jsonrpc: '2.0' });
      r.close();
    });

    it('answers a batch in order, and a batch of one with the bare object', async () => {
      const r = new Raw(sim);
      const many = (await r.post([
        { id: 1, method: 'authenticated', params: [] },
        { id: 2, method: 'nope', params: [] },
        { id: 3, method: 'group_getObjects', params: [] },
      ])).json;
      assert.deepEqual(many.map((e: { id: number }) => e.id), [1, 2, 3]);
      assert.equal(many[1].error.class, 'ValueError');
      const one = (await r.post([{ id: 9, method: 'authenticated', params: [] }])).json;
      assert.deepEqual(one, { id: 9, result: true, error: null });
      r.close();
    });

    it('refuses a body that is not JSON with HTTP 400', async () => {
      const res = await postText(sim, '{"id": 1, "method": ', { authorization: basic(USER, PASSWORD) });
      assert.equal(res.status, 400);
      assert.equal(res.body.error.class, 'DecodeError');
    });

    it('maps positional params like execute_rpc: [attributes, filter] filters, a lone dict is not a filter', async () => {
      sim.backend.addClient('pc-001.gs-nord.schule.local');
      const r = new Raw(sim);
      assert.equal((await r.ok('host_getObjects', [[], { type: 'OpsiClient' }])).length, 1);
      const lone = await r.ok('host_getObjects', [{ type: 'OpsiClient' }]);
      assert.deepEqual(lone.map((h: { id: string }) => h.id).sort(), ['opsi.lab.invalid', 'pc-001.gs-nord.schule.local'], 'a lone dict is taken as the attributes (its keys), not as a filter');
      const kw = await r.call('host_getObjects', [[], ['not', 'a', 'dict']]);
      assert.equal(kw.error.class, 'TypeError');
      assert.match(kw.error.message, /kwargs param is not a dict/);
      const missing = await r.call('group_delete', []);
      assert.match(missing.error.message, /missing 1 required positional argument: 'id'/);
      r.close();
    });
  });

  describe('authentication, sessions and the brute-force block (session.py)', () => {
    it('answers 401 with opsi body and headers, never 2.0-style', async () => {
      const r = new Raw(sim, { password: 'wrong', keepCookie: false });
      for (const body of [{ id: 1, method: 'authenticated', params: [] }, { jsonrpc: '2.0', id: 1, method: 'authenticated', params: [] }]) {
        const res = await r.post(body);
        assert.equal(res.status, 401);
        assert.deepEqual(res.json, { id: null, result: null, error: 'Authentication error' });
        assert.equal(res.headers['www-authenticate'], 'Basic realm="opsi", charset="UTF-8"');
        assert.equal(res.headers['x-opsi-error'], 'Authentication error');
      }
      const none = await new Raw(sim, { auth: false }).post({ id: 1, method: 'authenticated', params: [] });
      assert.equal(none.status, 401);
      assert.equal(none.json.error, 'Authorization header missing');
      r.close();
    });

    it('after 10 failures in 120 s the next login marks the address blocked: 403 even with the right password, until the block time is over', async () => {
      const bad = new Raw(sim, { password: 'wrong', keepCookie: false });
      for (let i = 0; i < 10; i++) assert.equal((await bad.post({ id: 1, method: 'authenticated', params: [] })).status, 401);
      const eleventh = await new Raw(sim, { keepCookie: false }).post({ id: 1, method: 'authenticated', params: [] });
      assert.equal(eleventh.status, 200, 'the check that sets the block lets its own request through');
      const blocked = await new Raw(sim, { keepCookie: false }).post({ id: 1, method: 'authenticated', params: [] });
      assert.equal(blocked.status, 403);
      assert.deepEqual(blocked.json, { id: null, result: null, error: "Client '127.0.0.1' is blocked" });
      now += 120_001;
      assert.equal((await new Raw(sim, { keepCookie: false }).post({ id: 1, method: 'authenticated', params: [] })).status, 200);
      bad.close();
    });

    it('opens a session per cookie-less request and refuses the 31st live one; a cookie reuses its session; backend_exit ends it', async () => {
      const loose = new Raw(sim, { keepCookie: false });
      for (let i = 0; i < 30; i++) assert.equal((await loose.post({ id: i, method: 'authenticated', params: [] })).status, 200);
      const refused = await loose.post({ id: 31, method: 'authenticated', params: [] });
      assert.equal(refused.status, 403);
      assert.match(refused.json.error, /^Too many sessions from 127\.0\.0\.1 \/ .*, maximum is: 30$/);
      now += 120_001; // sessions expire 120 s after their last use
      const kept = new Raw(sim);
      for (let i = 0; i < 40; i++) assert.equal((await kept.post({ id: i, method: 'authenticated', params: [] })).status, 200);
      assert.equal(sim.sessions(), 1, 'one session for a client that sends its cookie');
      const exit = await kept.post({ id: 1, method: 'backend_exit', params: [] });
      assert.match(String(exit.headers['set-cookie']), /Max-Age=0/);
      assert.equal(sim.sessions(), 0);
      loose.close();
      kept.close();
    });
  });

  describe('filters (backend/mysql get_where)', () => {
    beforeEach(() => {
      for (const c of clientIds(12)) sim.backend.addClient(c);
      sim.backend.addClient('lehrer-01.gs-nord.schule.local');
    });

    it('ANDs attributes, ORs list values, takes * as a wildcard and compares case-insensitively', async () => {
      const r = new Raw(sim);
      const ids = async (filter: Record<string, unknown>) => ((await r.ok('host_getObjects', [['id'], filter])) as { id: string }[]).map((h) => h.id).sort();
      assert.deepEqual(await ids({ type: 'OpsiClient', id: ['pc-001.gs-nord.schule.local', 'PC-002.GS-NORD.SCHULE.LOCAL'] }), ['pc-001.gs-nord.schule.local', 'pc-002.gs-nord.schule.local']);
      assert.deepEqual(await ids({ type: 'OpsiClient', id: 'lehrer-*' }), ['lehrer-01.gs-nord.schule.local']);
      assert.deepEqual(await ids({ type: 'OpsiDepotserver' }), ['opsi.lab.invalid'], 'OpsiDepotserver includes the config server');
      assert.deepEqual(await ids({ type: 'OpsiClient', id: 'lehrer-*', description: 'x' }), [], 'attributes AND together');
      r.close();
    });

    it('treats an empty list as no filter, and more than 10 values as IN without wildcards', async () => {
      const r = new Raw(sim);
      assert.equal((await r.ok('host_getObjects', [['id'], { type: 'OpsiClient', id: [] }])).length, 13, 'an empty list returns every row');
      const eleven = [...clientIds(10), 'lehrer-*'];
      assert.equal((await r.ok('host_getObjects', [['id'], { id: eleven }])).length, 10, 'the wildcard is literal inside IN');
      assert.equal((await r.ok('host_getObjects', [['id'], { id: eleven.slice(9) }])).length, 2, 'with few values it is a pattern');
      r.close();
    });

    it('refuses an unknown attribute, ignores `type` where the table has none, and nulls attributes not asked for', async () => {
      const r = new Raw(sim);
      const bad = await r.call('productOnClient_getObjects', [[], { nosuch: 1 }]);
      assert.equal(bad.error.class, 'ValueError');
      assert.match(bad.error.message, /^Invalid filter 'nosuch'=1 used, possible attributes are: productId, productType, clientId, /);
      assert.deepEqual(await r.ok('productOnClient_getObjects', [[], { type: 'ProductOnClient' }]), []);
      const [h] = await r.ok('host_getObjects', [['description'], { id: 'pc-001.gs-nord.schule.local' }]);
      assert.equal(h.id, 'pc-001.gs-nord.schule.local', 'ident attributes always come');
      assert.equal(h.opsiHostKey, null, 'attributes not asked for are null');
      assert.equal(h.description, '');
      r.close();
    });
  });

  describe('writes (rpc mixins, MySQL schema)', () => {
    const pc = 'pc-001.gs-nord.schule.local';
    beforeEach(() => {
      sim.backend.addClient(pc);
      sim.backend.addProduct('firefox', '128.0.3', '1');
    });

    it('createObjects overwrites, updateObjects upserts without nulling, updateObject ignores what does not exist', async () => {
      const r = new Raw(sim);
      await r.ok('group_createObjects', [[{ type: 'HostGroup', id: 'klasse-5a', description: 'first', notes: 'n' }]]);
      await r.ok('group_updateObjects', [[{ type: 'HostGroup', id: 'klasse-5a', description: 'second' }]]);
      let [g] = await r.ok('group_getObjects', [[], { id: 'klasse-5a' }]);
      assert.deepEqual([g.description, g.notes], ['second', 'n']);
      await r.ok('group_createObjects', [[{ type: 'HostGroup', id: 'klasse-5a' }]]);
      [g] = await r.ok('group_getObjects', [[], { id: 'klasse-5a' }]);
      assert.deepEqual([g.description, g.notes], ['', ''], 'create sets defaults over what was there');
      await r.ok('group_updateObject', [{ type: 'HostGroup', id: 'not-there' }]);
      assert.deepEqual(await r.ok('group_getObjects', [[], { id: 'not-there' }]), []);
      r.close();
    });

    it('refuses bad ids and action requests with opsi ValueErrors, and a whole call when one object is bad', async () => {
      const r = new Raw(sim);
      const bad = await r.call('group_createObjects', [[{ type: 'HostGroup', id: 'ok' }, { type: 'HostGroup', id: '-bad' }]]);
      assert.equal(bad.error.class, 'ValueError');
      assert.match(bad.error.message, /Bad (object|group) id: '-bad'/);
      assert.deepEqual(await r.ok('group_getObjects', [[], { id: 'ok' }]), [], 'nothing of a refused call was written');
      const ar = await r.call('productOnClient_updateObjects', [[{ type: 'ProductOnClient', productId: 'firefox', productType: 'LocalbootProduct', clientId: pc, actionRequest: 'install' }]]);
      assert.equal(ar.error.message, "Bad action request: 'install'");
      const fqdn = await r.call('productOnClient_updateObjects', [[{ type: 'ProductOnClient', productId: 'firefox', productType: 'LocalbootProduct', clientId: 'pc-001', actionRequest: 'setup' }]]);
      assert.equal(fqdn.error.message, "Bad fqdn: 'pc-001'");
      r.close();
    });

    it('keeps foreign keys: memberships need their group, product states their client; deleting a group takes its memberships', async () => {
      const r = new Raw(sim);
      const orphan = await r.call('objectToGroup_createObjects', [[{ type: 'ObjectToGroup', groupType: 'HostGroup', groupId: 'nope', objectId: pc }]]);
      assert.equal(orphan.error.class, 'IntegrityError');
      const ghost = await r.call('productOnClient_updateObjects', [[{ type: 'ProductOnClient', productId: 'firefox', productType: 'LocalbootProduct', clientId: 'pc-404.gs-nord.schule.local', actionRequest: 'setup' }]]);
      assert.equal(ghost.error.class, 'IntegrityError');
      await r.ok('group_createHostGroup', ['klasse-5a']);
      await r.ok('objectToGroup_create', ['hostgroup', 'klasse-5a', pc]);
      await r.ok('objectToGroup_create', ['HostGroup', 'klasse-5a', 'not-a-client-at-all']);
      assert.deepEqual(sim.backend.members('klasse-5a'), ['not-a-client-at-all', pc].sort(), 'a membership objectId is not checked against the hosts');
      await r.ok('group_deleteObjects', [[{ type: 'HostGroup', id: 'klasse-5a' }]]);
      assert.deepEqual(sim.backend.members('klasse-5a'), []);
      r.close();
    });

    it('group_delete(id) deletes a ProductGroup of the same id too; group_deleteObjects with the type does not', async () => {
      const r = new Raw(sim);
      await r.ok('group_createObjects', [[{ type: 'HostGroup', id: 'office' }, { type: 'ProductGroup', id: 'office' }]]);
      await r.ok('group_deleteObjects', [[{ type: 'HostGroup', id: 'office' }]]);
      assert.deepEqual((await r.ok('group_getObjects', [['id'], { id: 'office' }])).map((g: { type: string }) => g.type), ['ProductGroup']);
      await r.ok('group_createHostGroup', ['office']);
      await r.ok('group_delete', ['office']);
      assert.deepEqual(await r.ok('group_getObjects', [['id'], { id: 'office' }]), []);
      r.close();
    });

    it('setProductActionRequest checks depot and product; updateObjects creates a missing ProductOnClient with the MySQL defaults', async () => {
      const r = new Raw(sim);
      const missing = await r.call('setProductActionRequest', ['thunderbird', pc, 'setup']);
      assert.deepEqual(missing.error, { message: "Product 'thunderbird' not found on depot 'opsi.lab.invalid'", class: 'BackendMissingDataError', details: null });
      assert.equal(await r.ok('setProductActionRequest', ['firefox', pc, 'setup']), null);
      const [poc] = await r.ok('productOnClient_getObjects', [[], { clientId: pc }]);
      assert.deepEqual([poc.actionRequest, poc.installationStatus, poc.actionResult, poc.productType, poc.ident], ['setup', 'not_installed', 'none', 'LocalbootProduct', `firefox;LocalbootProduct;${pc}`]);
      sim.backend.runPendingActions();
      const [after] = await r.ok('productOnClient_getObjects', [[], { clientId: pc }]);
      assert.deepEqual([after.installationStatus, after.actionRequest, after.productVersion, after.packageVersion, after.lastAction], ['installed', 'none', '128.0.3', '1', 'setup']);
      r.close();
    });

    it('setProductActionRequestForHostGroup (deprecated) sets the request on every member, installed or not', async () => {
      const [a, b] = clientIds(3).slice(1);
      for (const c of [a, b]) sim.backend.addClient(c);
      const r = new Raw(sim);
      await r.ok('group_createHostGroup', ['klasse-5a']);
      for (const c of [pc, a, b]) await r.ok('objectToGroup_create', ['HostGroup', 'klasse-5a', c]);
      await r.ok('setProductActionRequest', ['firefox', pc, 'setup']);
      sim.backend.runPendingActions();
      await r.ok('setProductActionRequestForHostGroup', ['klasse-5a', 'firefox', 'setup']);
      assert.deepEqual([pc, a, b].map((c) => sim.backend.productOnClient('firefox', c)?.actionRequest), ['setup', 'setup', 'setup'], 'the installed client gets setup again');
      assert.equal(sim.backend.interface().find((m) => m.name === 'setProductActionRequestForHostGroup')?.deprecated, true);
      r.close();
    });
  });

  describe('against the corpus (/work/shared/corpus/opsi)', () => {
    it('offers only methods a real opsi server has, each with its real signature (backend_getInterface)', async () => {
      const real = new Map<string, Record<string, unknown>>(corpusJson('opsi', 'python-opsi-common', 'backend_getInterface_response.subset.json').response_body.result.map((m: { name: string }) => [m.name, m]));
      const r = new Raw(sim);
      const mine = (await r.ok('backend_getInterface')) as Record<string, unknown>[];
      assert.ok(mine.length >= 25);
      for (const m of mine) {
        const theirs = real.get(m.name as string);
        assert.ok(theirs, `${m.name} is not a method of opsi`);
        for (const k of ['params', 'args', 'varargs', 'keywords', 'defaults']) assert.deepEqual(m[k], theirs[k], `${m.name}.${k}`);
      }
      const env = (await r.post({ jsonrpc: '2.0', id: 1, method: 'backend_getInterface', params: [] })).json;
      assert.deepEqual(Object.keys(env).sort(), Object.keys(corpusJson('opsi', 'python-opsi-common', 'backend_getInterface_response.subset.json').response_body).sort());
      r.close();
    });

    it('builds the idents and attribute sets of the documented objects', () => {
      const newer = new Set(['systemUUID', 'workbenchLocalUrl', 'workbenchRemoteUrl']); // added after the 2012 servers the manual shows
      let checked = 0;
      for (const f of corpusJsonFiles('opsi', 'docs')) {
        const doc = corpusJson('opsi', 'docs', f);
        for (const o of Array.isArray(doc.result) ? doc.result : []) {
          const cls = CLASSES[o?.type];
          if (!cls) continue;
          assert.equal(cls.ident.map((a) => String(o[a])).join(';'), o.ident, `${f}: ident of ${o.type}`);
          const ours = new Set([...cls.attributes, 'type', 'ident']);
          for (const k of Object.keys(o)) assert.ok(ours.has(k), `${f}: ${o.type}.${k} is missing in the simulator`);
          for (const k of ours) assert.ok(k in o || newer.has(k), `${f}: the simulator invents ${o.type}.${k}`);
          checked++;
        }
      }
      assert.ok(checked >= 8, `checked ${checked} documented objects`);
    });

    it('answers the manual\'s product state and depot calls with objects shaped like the documented results', async () => {
      const pocDoc = corpusJson('opsi', 'docs', 'productOnClient_getObjects.json');
      const podDoc = corpusJson('opsi', 'docs', 'productOnDepot_getObjects.json');
      const want = pocDoc.result[0];
      sim.backend.addClient(want.clientId);
      sim.backend.addProduct(want.productId, want.productVersion, want.packageVersion);
      const r = new Raw(sim);
      await r.ok('productOnClient_createObjects', [[{ ...want, ident: undefined }]]);
      const [got] = await r.ok(pocDoc.method, pocDoc.params);
      assert.deepEqual({ ...got, modificationTime: want.modificationTime }, want);
      const depot = podDoc.result.find((p: { depotId: string }) => p.depotId === 'depotserver.vmnat.local');
      sim.backend.addDepot(depot.depotId);
      sim.backend.addProduct(depot.productId, depot.productVersion, depot.packageVersion, depot.depotId);
      const pods = await r.ok(podDoc.method, podDoc.params);
      assert.deepEqual(pods.find((p: { depotId: string }) => p.depotId === depot.depotId), depot);
      r.close();
    });

    it('runs the manual\'s group tutorial (opsi-admin calls) with the documented effects', async () => {
      const step = (name: string) => corpusJson('opsi', 'docs', `group-tutorial_${name}.request.json`);
      const r = new Raw(sim);
      for (const name of ['group_createHostGroup', 'group_createHostGroup_2', 'host_createOpsiClient', 'objectToGroup_create']) {
        const s = step(name);
        assert.equal(await r.ok(s.method, s.params), null, name);
      }
      const groups = await r.ok(step('group_getObjects').method, step('group_getObjects').params);
      assert.deepEqual(groups.map((g: { id: string; description: string }) => [g.id, g.description]), [['windows-clients', 'Windows clients']]);
      const [sub] = await r.ok('group_getObjects', [[], { id: 'win10-clients' }]);
      assert.equal(sub.parentGroupId, 'windows-clients');
      const members = await r.ok(step('objectToGroup_getObjects').method, step('objectToGroup_getObjects').params);
      assert.deepEqual(members.map((m: { objectId: string; ident: string }) => m.ident), ['HostGroup;win10-clients;client1.company.internal']);
      for (const name of ['objectToGroup_delete', 'group_delete']) assert.equal(await r.ok(step(name).method, step(name).params), null, name);
      assert.deepEqual(await r.ok('group_getObjects', [[], { id: 'win10-clients' }]), []);
      r.close();
    });

    it('takes every read call opsi-configed 4.2 makes at start-up that it implements, and the manual\'s curl request as sent', async () => {
      const recorded = corpusJson('opsi', 'opsiconfd', 'configed_4.2.19.2_startup_calls.subset.json').calls as { method: string; params: unknown[] }[];
      const known = new Set(sim.backend.interface().map((m) => m.name));
      const r = new Raw(sim);
      let ran = 0;
      for (const c of recorded.filter((x) => known.has(x.method))) {
        await r.ok(c.method, c.params);
        ran++;
      }
      assert.ok(ran >= 8, `ran ${ran} recorded calls`);
      const curl = corpusJson('opsi', 'docs', 'rpc_request_jsonrpc2_curl.json').request;
      const res = await r.post(curl.body);
      assert.deepEqual(Object.keys(res.json).sort(), ['id', 'jsonrpc', 'result']);
      assert.equal(res.json.id, curl.body.id);
      r.close();
    });
  });
});
