/**
 * The OPNsense simulator against the real system: its answers have the
 * structure of the recorded ones (/work/shared/corpus/opnsense), and it
 * refuses and behaves as OPNsense does (research/opnsense.md): auth and
 * error bodies, snake_case and camelCase, staged vs applied, upserts, alias
 * rename and delete refusal, savepoint with its automatic revert and the
 * revision-precision defect, and the 26.7 switch.
 */
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import { corpusJson, corpusJsonFiles, corpusPath } from '../support/shared.js';
import { ALIAS_DEFAULTS, RULE_DEFAULTS } from '../../providers/security/opnsense/simulator/model.js';
import type { RunningOpnsenseSim } from '../../providers/security/opnsense/simulator/server.js';
import { API_KEY, API_SECRET, startSim } from './helpers.js';

interface Answer {
  status: number;
  body: any;
}

/** A raw HTTPS call (the simulator's own certificate trusted), so the tests see exactly what the firewall answers. */
function call(sim: RunningOpnsenseSim, method: string, path: string, o: { body?: string; json?: unknown; auth?: string; contentType?: string } = {}): Promise<Answer> {
  const body = o.json !== undefined ? JSON.stringify(o.json) : o.body;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: sim.sim.port,
        method,
        path,
        rejectUnauthorized: false,
        agent: false, // a new connection every time: what a packet filter sees
        headers: {
          authorization: o.auth ?? `Basic ${Buffer.from(`${API_KEY}:${API_SECRET}`).toString('base64')}`,
          ...(body !== undefined || o.contentType ? { 'content-type': o.contentType ?? 'application/json' } : {}),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const rule = (o: Record<string, string> = {}) => ({ rule: { interface: 'lan', action: 'pass', source_net: 'any', destination_net: 'any', sequence: '10', description: 'test', ...o } });
const keysOf = (o: object) => Object.keys(o).sort();

describe('OPNsense simulator', function () {
  this.timeout(20_000);
  let sim: RunningOpnsenseSim;
  beforeEach(async () => {
    sim = await startSim({ rollbackWindowMs: 200, interfaces: ['lan', 'wan', 'opt1'] });
  });
  afterEach(() => sim.stop());

  describe('answers with the structure of the recorded ones', () => {
    it('searchRule rows: the keys, order and display fields of a 26.1.9 appliance', async () => {
      const real = corpusJson('opnsense', 'lib-opnsense', '26.1.9', 'fw-filter-rule__search.json');
      await call(sim, 'POST', '/api/firewall/alias/addItem', { json: { alias: { name: 'port_dns', type: 'port', content: '53', description: 'DNS' } } });
      await call(sim, 'POST', '/api/firewall/filter/addRule', { json: rule({ destination_port: 'port_dns', protocol: 'TCP/UDP', interface: 'lan,opt1' }) });
      const mine = (await call(sim, 'GET', '/api/firewall/filter/search_rule?current=1&rowCount=-1')).body;
      assert.deepEqual(Object.keys(mine), Object.keys(real), 'top-level keys in the same order');
      const row = mine.rows.find((r: any) => r.description === 'test');
      const realRow = real.rows[0];
      const plain = (keys: string[]) => keys.filter((k) => !k.startsWith('alias_meta_'));
      assert.deepEqual(plain(Object.keys(row)), plain(Object.keys(realRow)), 'same fields in the same order');
      for (const k of Object.keys(realRow)) if (typeof realRow[k] === 'string' && !k.startsWith('%')) assert.equal(typeof row[k], 'string', k);
      assert.deepEqual(row.category_colors, []);
      assert.equal(row.sort_order, '200000.0000010', 'two interfaces: floating priority, as the recorded multi-interface rule');
      assert.equal(row.prio_group, '200000');
      assert.deepEqual(keysOf(row.alias_meta_destination_port[0]), keysOf(realRow.alias_meta_destination_port[0]));
      assert.equal(row.alias_meta_destination_port[0].isAlias, true);
    });

    it('keeps the fields and defaults of the rule and alias models (models/26.1.11/Filter.xml, Alias.xml)', () => {
      /** Child elements of the first `<tag type=...>` block and their <Default>, from the model XML. */
      const fields = (file: string, container: string) => {
        const xml = readFileSync(corpusPath('opnsense', 'models', '26.1.11', file), 'utf8');
        const start = xml.indexOf(`<${container} type=`);
        const body = xml.slice(xml.indexOf('>', start) + 1, xml.indexOf(`</${container}>`, start));
        const out: Record<string, string> = {};
        const re = /<([A-Za-z0-9_-]+)(?: [^>]*)?(\/>|>([\s\S]*?)<\/\1>)/g;
        for (const m of body.matchAll(re)) out[m[1]] = /<Default>([^<]*)<\/Default>/.exec(m[3] ?? '')?.[1] ?? '';
        return out;
      };
      const filter = fields('Filter.xml', 'rule');
      assert.deepEqual(Object.keys(RULE_DEFAULTS), Object.keys(filter), 'the same rule fields in model order');
      for (const [k, d] of Object.entries(filter)) if (d !== '') assert.equal(RULE_DEFAULTS[k], d, `default of ${k}`);
      const alias = fields('Alias.xml', 'alias');
      assert.deepEqual(Object.keys(ALIAS_DEFAULTS).filter((k) => !(k in alias)), [], 'no alias field the model lacks');
      assert.deepEqual(Object.keys(alias).filter((k) => !(k in ALIAS_DEFAULTS) && !/^(current_items|last_updated|eval_|in_|out_)/.test(k)), [], 'every non-volatile alias field');
    });

    it('getRule without a uuid: the template of a 26.1.9 appliance (option maps with selected, plain categories)', async () => {
      const real = corpusJson('opnsense', 'lib-opnsense', '26.1.9', 'fw-filter-rule__schema.json').rule;
      const mine = (await call(sim, 'GET', '/api/firewall/filter/getRule')).body.rule;
      assert.deepEqual(Object.keys(mine), Object.keys(real));
      for (const f of ['action', 'direction', 'ipprotocol', 'protocol', 'interface', 'statetype']) {
        assert.deepEqual(keysOf(Object.values(mine[f])[0] as object), keysOf(Object.values(real[f])[0] as object), f);
        if (f !== 'interface') assert.deepEqual(Object.keys(mine[f]).filter((k) => !(k in real[f])), [], `${f}: no option the real one lacks`);
      }
      assert.deepEqual(mine.categories, []);
      assert.equal(mine.action.pass.selected, 1);
      assert.equal((await call(sim, 'GET', '/api/firewall/filter/getRule/11111111-2222-4333-8444-555555555555')).body.length, 0, 'unknown uuid: []');
    });

    it('searchItem rows and getItem: the shapes of a 26.7 appliance, system aliases included', async () => {
      const real = corpusJson('opnsense', 'lib-opnsense', '26.7', 'fw-alias__search.json');
      const mine = (await call(sim, 'GET', '/api/firewall/alias/searchItem')).body;
      assert.deepEqual(Object.keys(mine), Object.keys(real), 'rows first, as the alias grid answers');
      const bogons = mine.rows.find((r: any) => r.uuid === 'bogons');
      assert.deepEqual(Object.keys(bogons), Object.keys(real.rows[0]));
      assert.equal(bogons.description, real.rows[0].description);
      const tpl = corpusJson('opnsense', 'lib-opnsense', '26.7', 'fw-alias__schema.json').alias;
      const item = (await call(sim, 'GET', '/api/firewall/alias/getItem')).body.alias;
      assert.deepEqual(keysOf(item), keysOf(tpl));
      assert.deepEqual(keysOf(item.type), keysOf(tpl.type));
    });

    it('alias export: uuid keys with a uuid field inside each entry (opn-cli alias_export.json)', async () => {
      const real = corpusJson('opnsense', 'opn-cli', 'alias_export.json').response.body;
      const mine = (await call(sim, 'GET', '/api/firewall/alias/export')).body;
      assert.deepEqual(keysOf(mine.aliases.alias.bogons), keysOf({ ...real.aliases.alias.bogons, path_expression: '', interface: '', password: '', username: '', authtype: '', expire: '', categories: '' }));
      assert.equal(mine.aliases.alias.bogons.uuid, 'bogons');
    });

    it('firmware status: product.product_version always; the top-level version only where the recording has it', async () => {
      for (const [firmware, folder] of [['26.1', '26.1.9'], ['26.7', '26.7']] as const) {
        const s = await startSim({ firmware });
        try {
          const real = corpusJson('opnsense', 'lib-opnsense', folder, 'core-firmware-status__global.json');
          const mine = (await call(s, 'GET', '/api/core/firmware/status')).body;
          assert.equal(mine.product.product_version, real.product.product_version);
          assert.equal(mine.product.product_series, real.product.product_series);
          assert.equal('product_version' in mine, 'product_version' in real, folder);
          assert.deepEqual(Object.keys(mine.product).filter((k) => !(k in real.product)), [], 'no product key the real one lacks');
        } finally {
          await s.stop();
        }
      }
    });

    it('answers every recorded request of the opn-cli fixtures with a body of the same shape', async () => {
      const files = corpusJsonFiles('opnsense', 'opn-cli').filter((f) => !['filter_get.json', 'unknown_controller_400.json'].includes(f));
      assert.ok(files.length >= 15);
      // the state the fixtures assume: an alias and a rule exist, a savepoint was taken
      const aliasUuid = (await call(sim, 'POST', '/api/firewall/alias/addItem', { json: { alias: { name: 'example_alias', type: 'host', content: 'www.example.com' } } })).body.uuid;
      const ruleUuid = (await call(sim, 'POST', '/api/firewall/filter/addRule', { json: rule() })).body.uuid;
      const revision = (await call(sim, 'POST', '/api/firewall/filter/savepoint')).body.revision;
      const fill = (p: string) => p.replace('{uuid}', p.includes('/alias/') ? aliasUuid : ruleUuid).replace('{name}', 'example_alias').replace('{alias}', 'example_alias').replace('{revision}', revision);
      const bodies: Record<string, unknown> = {
        'alias_addItem_saved.json': { alias: { name: 'another', type: 'network', content: '10.0.0.0/8' } },
        'alias_addItem_name_exists.json': { alias: { name: 'example_alias', type: 'host', content: '10.0.0.1' } },
        'alias_addItem_validation_failed.json': { alias: { name: 'bad_one', type: 'networkgroup', content: 'test' } },
        'alias_setItem_saved.json': { alias: { description: 'changed' } },
        'alias_setItem_failed.json': { alias: { description: 'x' } },
        'filter_addRule_saved.json': rule(),
        'filter_addRule_validation_failed.json': rule({ source_net: 'alias_not_exists' }),
        'filter_setRule_saved.json': rule({ description: 'changed' }),
        'filter_setRule_failed.json': rule(),
      };
      const order = [...files].sort((a, b) => Number(a.includes('delItem') || a.includes('delRule')) - Number(b.includes('delItem') || b.includes('delRule')));
      for (const f of order) {
        const fx = corpusJson('opnsense', 'opn-cli', f);
        let path = fill(fx.request.path);
        if (f.endsWith('_failed.json') && f.includes('set')) path = path.replace(/[^/]+$/, 'not-a-uuid');
        if (f.includes('not_found')) path = path.replace(/[^/]+$/, '99999999-9999-4999-8999-999999999999');
        const got = await call(sim, fx.request.method, path, bodies[f] !== undefined ? { json: bodies[f] } : {});
        assert.equal(got.status, 200, `${f}: ${JSON.stringify(got.body)}`);
        assert.deepEqual(keysOf(got.body), keysOf(fx.response.body), `${f}: ${JSON.stringify(got.body)}`);
        for (const k of ['result', 'status']) if (k in fx.response.body && !/revision|cancel|reconfigure/.test(f)) assert.equal(got.body[k], fx.response.body[k], `${f}: ${k}`);
        if (fx.response.body.validations) assert.deepEqual(keysOf(got.body.validations), keysOf(fx.response.body.validations), f);
      }
    });
  });

  describe('behaves as OPNsense does', () => {
    it('refuses wrong credentials, foreign ACL paths, broken JSON and unknown endpoints with the exact bodies', async () => {
      assert.deepEqual(await call(sim, 'GET', '/api/firewall/filter/searchRule', { auth: `Basic ${Buffer.from(`${API_KEY}:wrong`).toString('base64')}` }), { status: 401, body: { status: 401, message: 'Authentication Failed' } });
      assert.deepEqual(await call(sim, 'POST', '/api/firewall/filter/addRule', { body: '{"rule":' }), { status: 400, body: { status: 400, message: 'Invalid JSON syntax' } });
      assert.deepEqual(await call(sim, 'POST', '/api/firewall/filter/apply', { contentType: 'application/json' }), { status: 400, body: { status: 400, message: 'Invalid JSON syntax' } }, 'an empty JSON body');
      assert.deepEqual(await call(sim, 'GET', '/api/firewall/filter/noSuchThing'), { status: 404, body: { errorMessage: 'Endpoint not found' } });
      const limited = await startSim({ forbidden: ['/api/core/backup'] });
      try {
        assert.deepEqual(await call(limited, 'GET', '/api/core/backup/backups/this'), { status: 403, body: { status: 403, message: 'Forbidden' } });
      } finally {
        await limited.stop();
      }
    });

    it('takes snake_case and camelCase command names, and refuses writes that are not POST', async () => {
      assert.equal((await call(sim, 'POST', '/api/firewall/filter/add_rule', { json: rule() })).body.result, 'saved');
      assert.equal((await call(sim, 'GET', '/api/firewall/filter/SearchRule')).body.total, 2);
      assert.equal((await call(sim, 'GET', '/api/firewall/alias_util/list/bogons')).status, 200);
      assert.deepEqual((await call(sim, 'GET', '/api/firewall/filter/addRule')).body, { result: 'failed' });
      assert.deepEqual((await call(sim, 'GET', '/api/firewall/filter/apply')).body, { status: 'error' });
    });

    it('stages every write and changes the running firewall only on apply and reconfigure', async () => {
      const u = (await call(sim, 'POST', '/api/firewall/filter/addRule', { json: rule() })).body.uuid;
      await call(sim, 'POST', '/api/firewall/alias/addItem', { json: { alias: { name: 'staged', type: 'network', content: '10.1.0.0/16' } } });
      assert.ok(sim.model.config.rules.has(u) && !sim.model.running.rules.has(u));
      assert.equal([...sim.model.running.aliases.values()].some((a) => a.name === 'staged'), false);
      assert.deepEqual((await call(sim, 'POST', '/api/firewall/filter/apply')).body, { status: 'OK\n\n' });
      assert.ok(sim.model.running.rules.has(u));
      assert.deepEqual((await call(sim, 'POST', '/api/firewall/alias/reconfigure')).body, { status: 'ok' });
      assert.equal([...sim.model.running.aliases.values()].some((a) => a.name === 'staged'), true);
    });

    it('upserts on setRule/setItem with a new well-formed uuid, deletes comma-separated uuids, toggles', async () => {
      const u = '3f0e2d1c-5b4a-4c3d-8e2f-1a2b3c4d5e6f';
      assert.deepEqual((await call(sim, 'POST', `/api/firewall/filter/setRule/${u}`, { json: rule() })).body, { result: 'saved' });
      assert.ok(sim.model.config.rules.has(u), 'created under the given uuid');
      assert.deepEqual((await call(sim, 'POST', '/api/firewall/filter/setRule/not-a-uuid', { json: rule() })).body, { result: 'failed' });
      assert.deepEqual((await call(sim, 'POST', `/api/firewall/filter/toggleRule/${u}`)).body, { result: 'Disabled', changed: true });
      assert.deepEqual((await call(sim, 'POST', `/api/firewall/filter/toggleRule/${u}/0`)).body, { result: 'Disabled', changed: false });
      const v = (await call(sim, 'POST', '/api/firewall/filter/addRule', { json: rule() })).body.uuid;
      assert.deepEqual((await call(sim, 'POST', `/api/firewall/filter/delRule/${u},${v}`)).body, { result: 'deleted' });
      assert.ok(!sim.model.config.rules.has(u) && !sim.model.config.rules.has(v));
      const a = '4a0e2d1c-5b4a-4c3d-8e2f-1a2b3c4d5e6f';
      assert.deepEqual((await call(sim, 'POST', `/api/firewall/alias/setItem/${a}`, { json: { alias: { name: 'upserted', type: 'host', content: '10.0.0.1' } } })).body, { result: 'saved' });
      assert.deepEqual((await call(sim, 'GET', '/api/firewall/alias/getAliasUUID/upserted')).body, { uuid: a });
      assert.deepEqual((await call(sim, 'GET', '/api/firewall/alias/getAliasUUID/nothing')).body, []);
    });

    it('validates with OPNsense messages inside HTTP 200 (NetworkAliasField says "source" for the destination too)', async () => {
      const bad = await call(sim, 'POST', '/api/firewall/filter/addRule', { json: rule({ destination_net: 'nope', interface: 'opt9', destination_port: '443', sequence: '0' }) });
      assert.equal(bad.status, 200);
      assert.equal(bad.body.result, 'failed');
      assert.deepEqual(bad.body.validations, {
        'rule.sequence': 'Sequence shall be between 1 and 999999.',
        'rule.interface': 'Option not in list.',
        'rule.destination_net': 'nope is not a valid source IP address or alias.',
        'rule.destination_port': 'Destination ports are only valid for tcp or udp type rules.',
      });
      const six = await call(sim, 'POST', '/api/firewall/filter/addRule', { json: rule({ destination_net: 'fd00::/64' }) });
      assert.equal(six.body.validations['rule.destination_net'], 'Destination address type should match selected TCP/IP protocol version.');
      const name = await call(sim, 'POST', '/api/firewall/alias/addItem', { json: { alias: { name: 'schueler-netz', type: 'network', content: '10.0.0.0/8' } } });
      assert.match(name.body.validations['alias.name'], /must start with a letter or single underscore/);
      assert.equal(sim.model.config.rules.size, 1, 'nothing saved but the management rule');
    });

    it('renames an alias with setItem everywhere it is used, and refuses to delete one in use (HTTP 500 "Alias in use")', async () => {
      const a = (await call(sim, 'POST', '/api/firewall/alias/addItem', { json: { alias: { name: 'lehrer', type: 'network', content: '10.1.30.0/24' } } })).body.uuid;
      await call(sim, 'POST', '/api/firewall/alias/addItem', { json: { alias: { name: 'gruppe', type: 'networkgroup', content: 'lehrer' } } });
      const r = (await call(sim, 'POST', '/api/firewall/filter/addRule', { json: rule({ source_net: 'lehrer' }) })).body.uuid;
      await call(sim, 'POST', `/api/firewall/alias/setItem/${a}`, { json: { alias: { name: 'kollegium' } } });
      assert.equal(sim.model.config.rules.get(r)!.source_net, 'kollegium');
      assert.equal([...sim.model.config.aliases.values()].find((x) => x.name === 'gruppe')!.content, 'kollegium');
      const refused = await call(sim, 'POST', `/api/firewall/alias/delItem/${a}`);
      assert.equal(refused.status, 500);
      assert.equal(refused.body.errorTitle, 'Alias in use');
      assert.match(refused.body.errorMessage, /^Cannot delete alias\. Currently in use by/);
      assert.ok(sim.model.config.aliases.has(a));
      assert.deepEqual((await call(sim, 'POST', '/api/firewall/alias/delItem/99999999-9999-4999-8999-999999999999')).body, { result: 'not found' });
    });

    it('26.1: the savepoint revision has two decimals, its backup file four, so apply/{revision} does not revert (the core#10721 defect)', async () => {
      const sp = (await call(sim, 'POST', '/api/firewall/filter/savepoint')).body;
      assert.match(sp.revision, /^\d+\.\d{2}$/);
      assert.equal(sp.retention, '60');
      const backups = (await call(sim, 'GET', '/api/core/backup/backups/this')).body.items.map((i: any) => i.id);
      assert.ok(!backups.includes(`config-${sp.revision}.xml`), 'no file of that name');
      const file = backups.find((b: string) => Math.abs(Number(b.slice(7, -4)) - Number(sp.revision)) <= 0.005);
      assert.match(file, /^config-\d+\.\d{4}\.xml$/);
      const u = (await call(sim, 'POST', '/api/firewall/filter/addRule', { json: rule() })).body.uuid;
      await call(sim, 'POST', `/api/firewall/filter/apply/${sp.revision}`);
      await new Promise((r) => setTimeout(r, 400));
      assert.ok(sim.model.running.rules.has(u), 'the timer found no backup: nothing was reverted');
      assert.match(sim.model.syslog.join('\n'), /unable to revert to unexisting revision/);
      assert.deepEqual((await call(sim, 'POST', `/api/firewall/filter/revert/${sp.revision}`)).body, { status: 'unknown (or removed) savepoint' });
    });

    it('26.1: with the backup file\'s own revision the timer reverts the filter rules — and only them — unless cancelled', async () => {
      const sp = (await call(sim, 'POST', '/api/firewall/filter/savepoint')).body.revision;
      const exact = (await call(sim, 'GET', '/api/core/backup/backups/this')).body.items.map((i: any) => i.id.slice(7, -4)).find((t: string) => Math.abs(Number(t) - Number(sp)) <= 0.005);
      const u = (await call(sim, 'POST', '/api/firewall/filter/addRule', { json: rule() })).body.uuid;
      await call(sim, 'POST', '/api/firewall/alias/addItem', { json: { alias: { name: 'kept', type: 'host', content: '10.0.0.1' } } });
      await call(sim, 'POST', '/api/firewall/alias/reconfigure');
      await call(sim, 'POST', `/api/firewall/filter/apply/${exact}`);
      assert.ok(sim.model.running.rules.has(u));
      await new Promise((r) => setTimeout(r, 400));
      assert.ok(!sim.model.running.rules.has(u) && !sim.model.config.rules.has(u), 'rule reverted, staged and running');
      assert.ok([...sim.model.config.aliases.values()].some((a) => a.name === 'kept'), 'aliases are not reverted');
      // cancelled in time: stays
      const sp2 = (await call(sim, 'POST', '/api/firewall/filter/savepoint')).body.revision;
      const exact2 = (await call(sim, 'GET', '/api/core/backup/backups/this')).body.items.map((i: any) => i.id.slice(7, -4)).find((t: string) => Math.abs(Number(t) - Number(sp2)) <= 0.005);
      const w = (await call(sim, 'POST', '/api/firewall/filter/addRule', { json: rule() })).body.uuid;
      await call(sim, 'POST', `/api/firewall/filter/apply/${exact2}`);
      assert.deepEqual((await call(sim, 'POST', `/api/firewall/filter/cancelRollback/${exact2}`)).body, { status: '\n\n' });
      await new Promise((r) => setTimeout(r, 400));
      assert.ok(sim.model.running.rules.has(w));
    });

    it('26.7: no savepoint, cancelRollback or revert (404), and apply ignores a trailing revision; automatic rules merged into the search', async () => {
      const s = await startSim({ firmware: '26.7' });
      try {
        for (const p of ['savepoint', 'cancelRollback/1.23', 'revert/1.23', 'cancel_rollback/1.23']) assert.deepEqual(await call(s, 'POST', `/api/firewall/filter/${p}`), { status: 404, body: { errorMessage: 'Endpoint not found' } }, p);
        assert.deepEqual((await call(s, 'POST', '/api/firewall/filter/apply/1786899650.62')).body, { status: 'OK\n\n' });
        assert.equal(s.model.timers.size, 0, 'no timer armed');
        const rows = (await call(s, 'GET', '/api/firewall/filter/searchRule?rowCount=-1')).body.rows;
        const real = corpusJson('opnsense', 'lib-opnsense', '26.7', 'fw-filter-rule__search.json').rows[0];
        const auto = rows.find((r: any) => r.is_automatic === true);
        assert.deepEqual(keysOf(auto), keysOf(real));
        assert.equal(typeof auto.quick, 'boolean');
        assert.match(auto.uuid, /^[0-9a-f]{32}$/);
        const refused = await call(s, 'POST', '/api/firewall/alias/delItem/x', {});
        assert.deepEqual(refused.body, { result: 'not found' });
      } finally {
        await s.stop();
      }
    });

    it('lets the management station in through its rule, and drops new connections once an applied block cuts the path', async () => {
      const hello = () => call(sim, 'GET', '/api/core/firmware/status');
      assert.equal((await hello()).status, 200);
      await call(sim, 'POST', '/api/firewall/filter/addRule', { json: rule({ interface: 'wan', action: 'block', sequence: '5', description: 'cut' }) });
      assert.equal((await hello()).status, 200, 'staged only');
      await call(sim, 'POST', '/api/firewall/filter/apply');
      const cut = await Promise.race([hello().then(() => 'answered', () => 'failed'), new Promise((r) => setTimeout(() => r('no answer'), 500))]);
      assert.equal(cut, 'no answer', 'dropped, as a block does');
      assert.equal(sim.sim.counters.refusedConnections > 0, true);
    });
  });
});
