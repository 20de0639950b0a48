/**
 * The issue's "done when" items through the real CLI against lab firewalls
 * started in this process:
 * 1. two aliases and three rules: plan (2), apply (0), re-plan (0), and the
 *    firewall's own REST API shows the rules applied, in order, as declared;
 * 2. a change that cuts the management path is rolled back by the firewall
 *    itself and apply says so; on 26.7 the plan warns and apply refuses
 *    without allowWithoutRollback;
 * 3. a school pass rule into an administration subnet fails validate and
 *    plan (1) naming both resources with positions; a pass to any after a
 *    block of the administration's networks is fine;
 * 4. a wrong key or secret, a wrong certificate fingerprint and a field
 *    OPNsense refuses each give one clear error and change nothing.
 */
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resourceUuid } from '../../providers/kit/uuid.js';
import type { OpnsenseSimOptions, RunningOpnsenseSim } from '../../providers/security/opnsense/simulator/server.js';
import { startOpnsenseSim } from '../../providers/security/opnsense/simulator/server.js';
import { hasStackTrace, runCli, writeTree } from '../support/cli.js';
import { modelSnapshot } from './helpers.js';

const ENV = 'schule-fw';
const KEY = 'lab-key-2f6c1a';
const SECRET = 'lab-secret-7d0b93e4';
const SECRETS = { EINKLANG_SECRET_SCHOOL_OPN_KEY: KEY, EINKLANG_SECRET_SCHOOL_OPN_SECRET: SECRET };

const ALIASES = `apiVersion: einklang/v1
kind: FirewallAlias
metadata: { name: schueler-netz }
spec: { firewall: fw-01, type: network, content: ["10.101.40.0/22"], description: "Schuelernetz" }
---
apiVersion: einklang/v1
kind: FirewallAlias
metadata: { name: verwaltung }
spec: { firewall: fw-01, type: network, content: ["10.99.0.0/16"], description: "Verwaltung" }
`;

const RULES = `apiVersion: einklang/v1
kind: FirewallRule
metadata: { name: block-verwaltung }
spec: { firewall: fw-01, sequence: 10, interface: lan, direction: in, action: block, protocol: any,
        source: schueler-netz, destination: verwaltung, description: "Schulnetz nie in die Verwaltung" }
---
apiVersion: einklang/v1
kind: FirewallRule
metadata: { name: web }
spec: { firewall: fw-01, sequence: 20, interface: lan, direction: in, action: pass, protocol: TCP,
        source: schueler-netz, destination: any, destinationPort: "443", description: "Web" }
---
apiVersion: einklang/v1
kind: FirewallRule
metadata: { name: dns }
spec: { firewall: fw-01, sequence: 30, interface: lan, action: pass, protocol: TCP/UDP,
        source: schueler-netz, destination: 10.101.20.10, destinationPort: domain, description: "DNS" }
`;

interface Lab {
  root: string;
  env: string;
  planFile: string;
  sim: RunningOpnsenseSim;
  writeFirewall(extra?: string, connection?: string): void;
  stop(): Promise<void>;
}

async function startLab(o: Partial<OpnsenseSimOptions> = {}, files: Record<string, string> = {}): Promise<Lab> {
  const address = `${ENV}/Firewall/fw-01`;
  const sim = await startOpnsenseSim({ certSeed: address, apiKey: KEY, apiSecret: SECRET, ...o });
  const root = writeTree({
    [`envs/${ENV}/environment.yaml`]: `apiVersion: einklang/v1\nkind: Environment\nmetadata: { name: ${ENV} }\nspec: { zone: school }\n`,
    [`envs/${ENV}/aliases.yaml`]: ALIASES,
    [`envs/${ENV}/rules.yaml`]: RULES,
    ...files,
  });
  const env = join(root, 'envs', ENV);
  const writeFirewall = (extra = '', connection = '') =>
    writeFileSync(
      join(env, 'firewall.yaml'),
      `apiVersion: einklang/v1
kind: Firewall
metadata: { name: fw-01 }
spec:
  connection: { driver: opnsense, host: 127.0.0.1, port: ${sim.sim.port}, apiKey: "\${secret:OPN_KEY}", apiSecret: "\${secret:OPN_SECRET}",
                tlsFingerprint: "${sim.sim.fingerprint}", timeoutSeconds: 2, rollbackWaitSeconds: 90${connection} }
${extra}`,
    );
  writeFirewall();
  return {
    root,
    env,
    planFile: join(root, 'plan.json'),
    sim,
    writeFirewall,
    async stop() {
      await sim.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

const cli = (lab: Lab, args: string[], env: Record<string, string> = SECRETS) => runCli(args, { cwd: lab.root, env });

async function plan(lab: Lab, expect: number, env?: Record<string, string>) {
  const r = await cli(lab, ['plan', lab.env, '--out', lab.planFile], env);
  assert.equal(r.code, expect, `plan exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  assert.ok(!hasStackTrace(r.stdout + r.stderr));
  return r;
}

async function apply(lab: Lab, expect: number) {
  const r = await cli(lab, ['apply', lab.planFile]);
  assert.equal(r.code, expect, `apply exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  assert.ok(!hasStackTrace(r.stdout + r.stderr));
  return r;
}

/** GET on the simulated firewall's REST API, as anyone with the key would ask it. */
function ask(sim: RunningOpnsenseSim, path: string): Promise<any> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: sim.sim.port, path, rejectUnauthorized: false, agent: false, headers: { authorization: `Basic ${Buffer.from(`${KEY}:${SECRET}`).toString('base64')}` } }, (res) => {
      let t = '';
      res.on('data', (d) => (t += d));
      res.on('end', () => resolve(JSON.parse(t)));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('security through the CLI against a lab OPNsense', function () {
  this.timeout(90_000);
  let lab: Lab | undefined;
  afterEach(async () => {
    await lab?.stop();
    lab = undefined;
  });

  it('1: two aliases and three rules plan (2), apply (0), re-plan (0); the firewall shows them applied, in order, as declared', async () => {
    lab = await startLab();
    const first = await plan(lab, 2);
    assert.match(first.stdout, /warning W_TARGET: schule-fw\/Firewall\/fw-01: OPNsense 26\.1\.9: changes are applied with a savepoint.*reverts filter rules only/);
    await apply(lab, 0);
    const again = await plan(lab, 0);
    assert.match(again.stdout, /No changes/);

    const ids = ['block-verwaltung', 'web', 'dns'].map((n) => resourceUuid(`${ENV}/FirewallRule/${n}`));
    const running = (await ask(lab.sim, '/api/diagnostics/firewall/list_rule_ids')).items.map((i: { id: string }) => i.id);
    assert.deepEqual(running.filter((id: string) => ids.includes(id)), ids, 'applied (loaded by pf), in sequence order');
    const rows = (await ask(lab.sim, '/api/firewall/filter/search_rule?rowCount=-1')).rows;
    const byId = new Map(rows.map((r: any) => [r.uuid, r]));
    assert.deepEqual(
      ids.map((id) => {
        const r: any = byId.get(id);
        return [r.sequence, r.interface, r.direction, r.action, r.protocol, r.source_net, r.destination_net, r.destination_port, r.description];
      }),
      [
        ['10', 'lan', 'in', 'block', 'any', 'schueler_netz', 'verwaltung', '', 'Schulnetz nie in die Verwaltung'],
        ['20', 'lan', 'in', 'pass', 'TCP', 'schueler_netz', 'any', '443', 'Web'],
        ['30', 'lan', 'in', 'pass', 'TCP/UDP', 'schueler_netz', '10.101.20.10', 'domain', 'DNS'],
      ],
    );
    const aliases = (await ask(lab.sim, '/api/firewall/alias/search_item')).rows.filter((a: any) => ['schueler_netz', 'verwaltung'].includes(a.name));
    assert.deepEqual(aliases.map((a: any) => [a.name, a.type, a.content]), [['schueler_netz', 'network', '10.101.40.0/22'], ['verwaltung', 'network', '10.99.0.0/16']]);
    assert.deepEqual([...lab.sim.model.running.rules.keys()].sort(), [...lab.sim.model.config.rules.keys()].sort(), 'nothing left only staged');
  });

  it('2: a change that cuts the management path is rolled back by the firewall itself, and apply says so', async () => {
    lab = await startLab({ rollbackWindowMs: 1500 });
    await plan(lab, 2);
    await apply(lab, 0);
    const before = modelSnapshot(lab.sim);
    writeFileSync(
      join(lab.env, 'lockout.yaml'),
      'apiVersion: einklang/v1\nkind: FirewallRule\nmetadata: { name: wan-dicht }\nspec: { firewall: fw-01, sequence: 1, interface: wan, action: block, description: "WAN dicht" }\n',
    );
    await plan(lab, 2);
    const r = await apply(lab, 1);
    assert.match(r.stdout, /FAILED\s+schule-fw\/FirewallRule\/wan-dicht: schule-fw\/Firewall\/fw-01: einklang lost its access after applying .*the firewall rolled back its filter rules by itself \(savepoint [\d.]+\).*rolled back/);
    assert.deepEqual(modelSnapshot(lab.sim), before, 'the firewall is as before the change');
    await plan(lab, 2); // the cutting rule is still wanted by the manifests, and still absent
  });

  it('2: on 26.7 the plan warns and apply refuses without allowWithoutRollback; with it, apply goes through', async () => {
    lab = await startLab({ firmware: '26.7' });
    const p = await plan(lab, 2);
    assert.match(p.stdout, /W_TARGET: schule-fw\/Firewall\/fw-01: OPNsense 26\.7 has no savepoint\/rollback API \(removed in 26\.7\): apply will refuse this firewall unless it sets allowWithoutRollback: true/);
    const before = modelSnapshot(lab.sim);
    const writes = lab.sim.sim.counters.writes;
    const refused = await apply(lab, 1);
    assert.match(refused.stdout, /OPNsense 26\.7 has no savepoint\/rollback API \(removed in 26\.7\): refusing to apply without it; nothing was changed/);
    assert.equal(lab.sim.sim.counters.writes, writes);
    assert.deepEqual(modelSnapshot(lab.sim), before);
    lab.writeFirewall('  allowWithoutRollback: true\n');
    const p2 = await plan(lab, 2);
    assert.match(p2.stdout, /allowWithoutRollback is set: einklang snapshots the rules and aliases and restores them itself/);
    await apply(lab, 0);
    await plan(lab, 0);
  });

  it('3: a school pass towards an administration subnet fails validate and plan, naming both resources and positions; a pass to any after a block passes', async () => {
    const admin = {
      'envs/verwaltung/environment.yaml': 'apiVersion: einklang/v1\nkind: Environment\nmetadata: { name: verwaltung }\nspec: { zone: administration }\n',
      'envs/verwaltung/network.yaml': 'apiVersion: einklang/v1\nkind: Vlan\nmetadata: { name: rechenzentrum }\nspec: { id: 120, subnet: 10.99.12.0/24, switches: [rz] }\n',
    };
    lab = await startLab({}, admin);
    writeFileSync(
      join(lab.env, 'rz.yaml'),
      'apiVersion: einklang/v1\nkind: FirewallRule\nmetadata: { name: rz-zugang }\nspec: { firewall: fw-01, sequence: 5, interface: lan, action: pass, source: schueler-netz,\n        destination: 10.99.12.0/25, description: "RZ" }\n',
    );
    const rzFile = join('envs', ENV, 'rz.yaml');
    for (const verb of ['validate', 'plan']) {
      const r = await cli(lab, [verb, lab.env]);
      assert.equal(r.code, 1, `${verb}: ${r.stdout}${r.stderr}`);
      const out = r.stdout + r.stderr;
      const line = out.split('\n').find((l) => l.includes('builtin/firewall-separation'));
      assert.ok(line, out);
      assert.match(line!, new RegExp(`^${rzFile.replace(/[/.]/g, '\\$&')}:5:22: error E_POLICY: \\[builtin/firewall-separation\\] schule-fw/FirewallRule/rz-zugang: pass rule`));
      assert.match(line!, /10\.99\.12\.0\/25.*verwaltung\/Vlan\/rechenzentrum \(10\.99\.12\.0\/24\) at envs\/verwaltung\/network\.yaml:4:\d+/);
    }
    // the same pass after the block of the administration's networks (sequence 10) is covered
    writeFileSync(join(lab.env, 'rz.yaml'), readFileSync(join(lab.env, 'rz.yaml'), 'utf8').replace('sequence: 5', 'sequence: 15').replace('source: schueler-netz', 'source: schueler-netz'));
    const ok = await cli(lab, ['validate', lab.env]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    writeFileSync(join(lab.env, 'rz.yaml'), readFileSync(join(lab.env, 'rz.yaml'), 'utf8').replace('10.99.12.0/25', 'any'));
    const any = await cli(lab, ['validate', lab.env]);
    assert.equal(any.code, 0, any.stdout + any.stderr);
  });

  it('4: a wrong key, a wrong secret and a wrong certificate give one clear error and change nothing', async () => {
    lab = await startLab();
    const before = modelSnapshot(lab.sim);
    const requests = lab.sim.sim.counters.requests;
    for (const [name, env] of [
      ['key', { ...SECRETS, EINKLANG_SECRET_SCHOOL_OPN_KEY: 'wrong-key-value' }],
      ['secret', { ...SECRETS, EINKLANG_SECRET_SCHOOL_OPN_SECRET: 'wrong-secret-value' }],
    ] as const) {
      const r = await plan(lab, 1, env);
      const out = r.stdout + r.stderr;
      // the plan's report (the progress line "read ...: failed" repeats it as it happens)
      const errors = out.split('\n').filter((l) => !l.startsWith('read ') && /schule-fw\/Firewall\/fw-01.*credentials rejected/.test(l));
      assert.equal(errors.length, 1, `${name}: one error\n${out}`);
      assert.match(errors[0], /HTTP 401: Authentication Failed/);
      for (const v of [KEY, SECRET, 'wrong-key-value', 'wrong-secret-value']) assert.ok(!out.includes(v), `${name}: output shows a credential`);
    }
    assert.ok(lab.sim.sim.counters.requests > requests);
    writeFileSync(join(lab.env, 'firewall.yaml'), readFileSync(join(lab.env, 'firewall.yaml'), 'utf8').replace(/tlsFingerprint: "[^"]+"/, `tlsFingerprint: "${'AB:'.repeat(31)}AB"`));
    const seen = lab.sim.sim.counters.requests;
    const pin = await plan(lab, 1);
    const out = pin.stdout + pin.stderr;
    assert.equal(out.split('\n').filter((l) => !l.startsWith('read ') && /schule-fw\/Firewall\/fw-01.*fingerprint/i.test(l)).length, 1, out);
    assert.match(out, /nothing was sent/i);
    assert.equal(lab.sim.sim.counters.requests, seen, 'not a single request reached the firewall');
    assert.deepEqual(modelSnapshot(lab.sim), before);
  });

  it('4: a field OPNsense refuses gives one error naming the rule and the field, and the firewall is as it was', async () => {
    lab = await startLab({ interfaces: ['lan', 'wan'] });
    writeFileSync(
      join(lab.env, 'guests.yaml'),
      'apiVersion: einklang/v1\nkind: FirewallRule\nmetadata: { name: gaeste }\nspec: { firewall: fw-01, sequence: 40, interface: opt7, action: pass, destination: any, description: "Gaeste-WLAN" }\n',
    );
    const before = modelSnapshot(lab.sim);
    await plan(lab, 2);
    const r = await apply(lab, 1);
    const failed = r.stdout.split('\n').filter((l) => /FAILED/.test(l));
    assert.ok(failed.length >= 1);
    assert.ok(failed.every((l) => /schule-fw\/FirewallRule\/gaeste: the firewall refused the FirewallRule — interface \(rule\.interface\): Option not in list\.; nothing was applied and the staged changes were undone \(rolled back\)/.test(l)), failed.join('\n'));
    assert.deepEqual(modelSnapshot(lab.sim), before, 'nothing changed on the firewall');
  });
});
