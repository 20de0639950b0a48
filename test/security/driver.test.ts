/**
 * The opnsense driver's transactions against the simulator: the savepoint
 * flow with the revision-precision defect handled, the management check over
 * a fresh connection, a change that cuts the path rolled back by the
 * firewall itself, 26.7 refused without allowWithoutRollback and restored by
 * einklang with it, fields OPNsense refuses, any failing write leaving the
 * firewall as it was, and what reads report.
 */
import assert from 'node:assert/strict';
import type { Change, Resource, TargetSpec, TransactionWriter } from '../../engine/types.js';
import { DriverError, objectKey } from '../../engine/types.js';
import { changeFor, prunedChange } from '../../engine/plan.js';
import { expandAll } from '../../engine/targets.js';
import { Secrets } from '../../engine/secrets.js';
import { defaultCatalog } from '../../cli/catalog.js';
import { createOpnsenseDriver } from '../../providers/security/opnsense/driver.js';
import type { RunningOpnsenseSim } from '../../providers/security/opnsense/simulator/server.js';
import { testResource } from '../support/resource.js';
import { firewallTarget, modelSnapshot, startSim } from './helpers.js';

const catalog = defaultCatalog();
const secrets = new Secrets({ zone: 'school' });
const driver = createOpnsenseDriver({ pollMs: 25 });

const alias = (name: string, spec: Record<string, unknown>) => testResource('conf', 'FirewallAlias', name, { firewall: 'fw', ...spec });
const rule = (name: string, spec: Record<string, unknown>) => testResource('conf', 'FirewallRule', name, { firewall: 'fw', interface: 'lan', ...spec });

/** Two aliases and three rules: the lab firewall. */
function manifest(): Resource[] {
  return [
    alias('schueler-netz', { type: 'network', content: ['10.101.40.0/22'], description: 'Schuelernetz' }),
    alias('verwaltung', { type: 'network', content: ['10.200.0.0/16'], description: 'Verwaltung' }),
    rule('block-verwaltung', { sequence: 10, action: 'block', source: 'schueler-netz', destination: 'verwaltung', description: 'Schulnetz nie in die Verwaltung' }),
    rule('web', { sequence: 20, action: 'pass', protocol: 'TCP', source: 'schueler-netz', destination: 'any', destinationPort: 'https', description: 'Web' }),
    rule('dns', { sequence: 30, action: 'pass', protocol: 'TCP/UDP', source: 'schueler-netz', destination: '10.101.20.10', destinationPort: '53', description: 'DNS' }),
  ];
}

async function plan(target: TargetSpec, resources: Resource[]): Promise<Change[]> {
  const desired = expandAll(catalog, resources, new Map(resources.map((r) => [r.address, r])));
  const r = await driver.connectReader(target);
  try {
    const read = await r.read(desired.map((o) => ({ kind: o.kind, id: o.id, state: o.state })));
    return desired.flatMap((o) => {
      const c = changeFor(catalog.kind(o.kind), o, o.state, read.objects[objectKey(o.kind, o.id)] ?? null, secrets);
      return c ? [c] : [];
    });
  } finally {
    await r.close();
  }
}

/** Plans and applies; returns the error (if any) and the changes. */
async function apply(target: TargetSpec, resources: Resource[]): Promise<{ changes: Change[]; error?: DriverError }> {
  const changes = await plan(target, resources);
  const w = await driver.connectWriter(target);
  try {
    if (w.mode !== 'transaction') throw new Error('a firewall is transactional');
    await w.applyTransaction(changes);
    return { changes };
  } catch (e) {
    assert.ok(e instanceof DriverError, String(e));
    return { changes, error: e };
  } finally {
    await w.close();
  }
}

const posts = (sim: RunningOpnsenseSim, from: number) => sim.sim.log.slice(from).filter((e) => e.method === 'POST').map((e) => e.path.replace(/^\/api\//, ''));

describe('opnsense driver: transactions', function () {
  this.timeout(30_000);
  let sim: RunningOpnsenseSim;
  afterEach(() => sim?.stop());

  it('applies two aliases and three rules in one savepoint transaction, armed with the backup file\'s own revision; the running rules are the declared ones, in order', async () => {
    sim = await startSim();
    const target = firewallTarget(sim);
    const from = sim.sim.log.length;
    const handshakes = sim.sim.counters.tlsHandshakes;
    const { changes, error } = await apply(target, manifest());
    assert.equal(error, undefined, error?.message);
    assert.equal(changes.length, 5);
    const calls = posts(sim, from);
    const revision = sim.model.backups.map((b) => b.id.slice(7, -4)).find((t) => calls.includes(`firewall/filter/apply/${t}`));
    assert.ok(revision, `apply armed with a backup's name: ${calls.join(', ')}`);
    assert.match(revision!, /^\d+\.\d{4}$/, 'full precision, not the rounded savepoint revision');
    assert.deepEqual(
      calls.map((c) => c.replace(/\/[0-9a-f-]{36}$/, '/{uuid}').replace(revision!, '{revision}')),
      [
        'firewall/filter/savepoint',
        'firewall/alias/setItem/{uuid}',
        'firewall/alias/setItem/{uuid}',
        'firewall/filter/setRule/{uuid}',
        'firewall/filter/setRule/{uuid}',
        'firewall/filter/setRule/{uuid}',
        'firewall/alias/reconfigure',
        'firewall/filter/apply/{revision}',
        'firewall/filter/cancelRollback/{revision}',
      ],
    );
    assert.ok(sim.sim.counters.tlsHandshakes - handshakes >= 2, 'the management check opened a connection of its own');
    assert.equal(sim.model.timers.size, 0, 'the rollback timer was cancelled');
    const running = [...sim.model.running.rules.values()].filter((r) => r.description !== 'Management access (web GUI and API)').sort((a, b) => Number(a.sequence) - Number(b.sequence));
    assert.deepEqual(
      running.map((r) => [r.sequence, r.action, r.interface, r.protocol, r.source_net, r.destination_net, r.destination_port, r.description]),
      [
        ['10', 'block', 'lan', 'any', 'schueler_netz', 'verwaltung', '', 'Schulnetz nie in die Verwaltung'],
        ['20', 'pass', 'lan', 'TCP', 'schueler_netz', 'any', 'https', 'Web'],
        ['30', 'pass', 'lan', 'TCP/UDP', 'schueler_netz', '10.101.20.10', '53', 'DNS'],
      ],
    );
    assert.deepEqual([...sim.model.running.aliases.values()].filter((a) => !/^(__|bogons|sshlockout|virusprot)/.test(a.name)).map((a) => [a.name, a.content]).sort(), [
      ['schueler_netz', '10.101.40.0/22'],
      ['verwaltung', '10.200.0.0/16'],
    ]);
    assert.deepEqual(await plan(target, manifest()), [], 're-plan is empty');
    // rule ids: UUIDv5 of the address, stable without any state
    const again = await plan(firewallTarget(sim), manifest().map((r) => (r.name === 'web' ? { ...r, spec: { ...r.spec, description: 'Web (HTTPS)' } } : r)));
    assert.deepEqual(again.map((c) => [c.address, c.actions.join()]), [['conf/FirewallRule/web', 'update']]);
  });

  it('arms the timer with the savepoint revision itself when it names its file', async () => {
    sim = await startSim({ revisionMatchesBackup: true });
    const from = sim.sim.log.length;
    assert.equal((await apply(firewallTarget(sim), manifest())).error, undefined);
    const rev = posts(sim, from).find((p) => p.startsWith('firewall/filter/apply/'))!.split('/').pop()!;
    assert.match(rev, /^\d+\.\d{2}$/);
    assert.ok(sim.model.backups.some((b) => b.id === `config-${rev}.xml`));
  });

  it('does not apply when the savepoint names no backup it can find (the firewall would not roll back), unless allowWithoutRollback', async () => {
    sim = await startSim({ forbidden: ['/api/core/backup'] });
    const before = modelSnapshot(sim);
    const { error } = await apply(firewallTarget(sim), manifest());
    assert.equal(error?.opts.code, 'E_NO_ROLLBACK');
    assert.match(error!.message, /names no backup file .*core#10721.*not readable.*Configuration History/);
    assert.deepEqual(modelSnapshot(sim), before, 'nothing changed');
    const allowed = await apply(firewallTarget(sim, { allowWithoutRollback: true }), manifest());
    assert.equal(allowed.error, undefined, allowed.error?.message);
    assert.ok(!sim.sim.log.some((e) => /filter\/apply\/\d/.test(e.path)), 'applied without arming a timer that would not work');
  });

  it('a change that cuts the management path is rolled back by the firewall itself, and apply says so (aliases restored by einklang)', async () => {
    sim = await startSim({ rollbackWindowMs: 400 });
    const target = firewallTarget(sim, {}, { timeoutSeconds: 1, rollbackWaitSeconds: 10 });
    const before = modelSnapshot(sim);
    const cut = [...manifest(), rule('lockout', { sequence: 1, interface: 'wan', action: 'block', description: 'cuts the path' })];
    const from = sim.sim.log.length;
    const t0 = Date.now();
    const { error } = await apply(target, cut);
    assert.ok(error, 'apply fails');
    assert.equal(error!.opts.rolledBack, true, error!.message);
    assert.match(error!.message, /lost its access after applying.*rolled back its filter rules by itself \(savepoint [\d.]+\).*rolled back/);
    assert.ok(Date.now() - t0 >= 400, 'waited for the firewall\'s own timer');
    assert.ok(!posts(sim, from).some((p) => p.includes('/revert/')), 'einklang did not revert: the firewall did');
    assert.equal(sim.model.syslog.length, 0, 'the timer found its backup');
    assert.deepEqual(modelSnapshot(sim), before, 'rules (by the firewall) and aliases (by einklang) as before');
  });

  it('a management check that fails while the firewall still answers: einklang reverts at once and leaves no rollback timer armed', async () => {
    sim = await startSim({ rollbackWindowMs: 20_000 });
    const target = firewallTarget(sim, {}, { timeoutSeconds: 1, rollbackWaitSeconds: 10 });
    const before = modelSnapshot(sim);
    const changes = await plan(target, manifest());
    const w = await driver.connectWriter(target);
    sim.sim.faults.add({ kind: 'drop' }, { match: { method: 'GET', path: '/api/core/firmware/status' } }); // the check's connection dies
    const error = await (w.mode === 'transaction' ? w.applyTransaction(changes) : Promise.resolve()).then(() => undefined, (e: DriverError) => e);
    await w.close();
    assert.equal(error?.opts.rolledBack, true, error?.message);
    assert.match(error!.message, /einklang reverted the filter rules to savepoint [\d.]+ when the firewall answered again and einklang restored the aliases: rolled back/);
    assert.equal(sim.model.timers.size, 0, 'the timer would revert a later change');
    assert.deepEqual(modelSnapshot(sim), before);
  });

  it('26.7: the plan warns, and apply refuses without allowWithoutRollback before sending anything', async () => {
    sim = await startSim({ firmware: '26.7' });
    const target = firewallTarget(sim);
    const r = await driver.connectReader(target);
    const read = await r.read([]);
    await r.close();
    assert.match(read.warnings!.join('\n'), /26\.7 has no savepoint\/rollback API.*allowWithoutRollback: true/);
    const writes = sim.sim.counters.writes;
    const { error } = await apply(target, manifest());
    assert.equal(error?.opts.code, 'E_NO_ROLLBACK');
    assert.match(error!.message, /refusing to apply without it; nothing was changed/);
    assert.equal(sim.sim.counters.writes, writes, 'not a single write');
  });

  it('26.7 with allowWithoutRollback: applies, and restores its own snapshot when the change cuts the path but the open session still answers', async () => {
    sim = await startSim({ firmware: '26.7' });
    const target = firewallTarget(sim, { allowWithoutRollback: true }, { timeoutSeconds: 1 });
    assert.equal((await apply(target, manifest())).error, undefined);
    assert.ok(!sim.sim.log.some((e) => /savepoint|cancelRollback/.test(e.path)));
    const before = modelSnapshot(sim);
    const { error } = await apply(target, [...manifest(), rule('lockout', { sequence: 1, interface: 'wan', action: 'reject', description: 'cuts the path' })]);
    assert.equal(error?.opts.rolledBack, true, error?.message);
    assert.match(error!.message, /einklang restored its snapshot/);
    assert.deepEqual(modelSnapshot(sim), before);
  });

  it('a field OPNsense refuses: one error naming the rule and the field, and the firewall as it was', async () => {
    sim = await startSim({ interfaces: ['lan', 'wan'] });
    const before = modelSnapshot(sim);
    const { error } = await apply(firewallTarget(sim), [...manifest(), rule('guests', { sequence: 40, interface: 'opt7', action: 'pass', description: 'Gaeste' })]);
    assert.equal(error?.opts.code, 'E_FIREWALL_REFUSED');
    assert.match(error!.message, /^conf\/FirewallRule\/guests: the firewall refused the FirewallRule — interface \(rule\.interface\): Option not in list\.; nothing was applied and the staged changes were undone \(rolled back\)$/);
    assert.equal(error!.opts.rolledBack, true);
    assert.deepEqual(modelSnapshot(sim), before);
  });

  it('leaves the firewall as it was whichever write of a rules-and-aliases transaction fails', async () => {
    sim = await startSim();
    const target = firewallTarget(sim);
    const steps: string[] = [];
    for (let nth = 1; nth < 40; nth++) {
      const before = modelSnapshot(sim);
      sim.sim.faults.add({ kind: 'status', status: 200, body: { result: 'failed', validations: { 'rule.description': 'injected failure' } } }, { match: { method: 'POST' }, skip: nth - 1 });
      const { error } = await apply(target, manifest());
      sim.sim.faults.clear();
      if (!error) break;
      steps.push(error.message.slice(0, 60));
      assert.ok(error.opts.rolledBack === true || /nothing was changed/.test(error.message), error.message);
      assert.deepEqual(modelSnapshot(sim), before, `write ${nth} failed (${error.message})`);
      assert.equal(sim.model.timers.size, 0, 'no rollback timer left running');
    }
    assert.ok(steps.length >= 9, `every write of the transaction was made to fail once (${steps.length})`);
    assert.deepEqual(await plan(target, manifest()), []);
  });

  it('prunes unmanaged rules and aliases (the rules first); pruning the rule einklang comes in by is rolled back', async () => {
    sim = await startSim({ rollbackWindowMs: 300 });
    const target = firewallTarget(sim, { prune: true }, { timeoutSeconds: 1, rollbackWaitSeconds: 10 });
    const fw = testResource('conf', 'Firewall', 'fw', { prune: true, connection: {} });
    // by hand on the firewall: an alias and a rule that uses it
    const handAlias = '7d1c0c39-6f55-4c2b-9a3b-1d2e3f405162';
    const handRule = '8e2d1d4a-7066-4d3c-8b4c-2e3f40516273';
    assert.equal(sim.model.setAlias(handAlias, { name: 'alt_netz', type: 'network', content: '10.7.0.0/16', description: 'von Hand' }).result, 'saved');
    assert.equal(sim.model.setRule(handRule, { interface: 'lan', action: 'pass', source_net: 'alt_netz', sequence: '500', description: 'von Hand' }).result, 'saved');
    sim.model.reconfigure();
    sim.model.apply();
    const pruneAll = async (keep: (id: string) => boolean) => {
      const w = await driver.connectWriter(target);
      try {
        const read = await w.read([]);
        const changes = read.unmanaged!.filter((u) => !keep(u.id)).map((u) => prunedChange(u, fw));
        return await (w as TransactionWriter).applyTransaction(changes).then(() => undefined, (e: DriverError) => e);
      } finally {
        await w.close();
      }
    };
    assert.equal(await pruneAll((id) => id === sim.managementRuleUuid), undefined);
    assert.ok(!sim.model.config.rules.has(handRule) && !sim.model.running.rules.has(handRule));
    assert.ok(![...sim.model.config.aliases.values()].some((a) => a.name === 'alt_netz'), 'the alias went after the rule that used it');
    const before = modelSnapshot(sim);
    const e = await pruneAll(() => false);
    assert.equal(e?.opts.rolledBack, true, e?.message);
    assert.match(e!.message, /rolled back its filter rules by itself/);
    assert.deepEqual(modelSnapshot(sim), before, 'the management rule is back');
  });

  it('reads in three GETs, reports unmanaged rules and aliases, never the firewall\'s own', async () => {
    sim = await startSim({ firmware: '26.7' });
    const r = await driver.connectReader(firewallTarget(sim));
    const from = sim.sim.log.length;
    const res = await r.read([{ kind: 'FirewallRule', id: '0b5e6f2a-1c3d-5e4f-8a9b-0c1d2e3f4a5b', state: {} }]);
    await r.close();
    assert.deepEqual(sim.sim.log.slice(from).map((e) => e.method), ['GET', 'GET']);
    assert.equal(res.objects[objectKey('FirewallRule', '0b5e6f2a-1c3d-5e4f-8a9b-0c1d2e3f4a5b')], null);
    assert.deepEqual(res.unmanaged!.map((u) => [u.kind, u.id]), [['FirewallRule', sim.managementRuleUuid]]);
  });
});
