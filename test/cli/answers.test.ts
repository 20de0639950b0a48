/**
 * Issue 15 items 4 and 5 through the real CLI: answers that point at the fix.
 *
 * - `--format json` of validate, plan and drift prints JSON whatever happens
 *   (schema errors, a failed validate-time policy, a usage mistake), with the
 *   diagnostics text mode prints on stderr.
 * - A misspelt kind, field, enum value or reference gets "did you mean" at
 *   its file:line:col, once, without follow-on errors.
 * - A plan applied before is answered with one line from the journal, exit 0;
 *   an edited copy of it, or a journal that no longer verifies, goes through
 *   apply's own checks as before.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasStackTrace, runCli, writeTree } from '../support/cli.js';
import { startLabServer, type LabServer } from '../support/lab-server.js';

const ENVIRONMENT = 'kind: Environment\nmetadata: { name: schule }\nspec: { zone: school }\n';
const SWITCH = 'kind: Switch\nmetadata: { name: core-01 }\nspec: { connection: { driver: ios, host: 127.0.0.1, port: 1, user: admin, password: "${secret:SWITCH_PASSWORD}", hostKeyFingerprint: "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" } }\n';

describe('cli: --format json always prints JSON', function () {
  this.timeout(60_000);
  let root: string;
  before(() => {
    root = writeTree({
      'bad/environment.yaml': ENVIRONMENT,
      'bad/network.yaml': SWITCH + '---\nkind: Vlna\nmetadata: { name: students }\nspec: { id: 20, switches: [core-01] }\n',
      'policy/environment.yaml': ENVIRONMENT,
      // passes the schema (a Server's password has no pattern) but not the mandatory no-literal-secrets policy
      'policy/server.yaml':
        'kind: Server\nmetadata: { name: web }\nspec: { os: linux, connection: { driver: ssh, host: 127.0.0.1, port: 1, user: root, password: "Sommer2024", hostKeyFingerprint: "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" } }\n',
    });
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  const json = (stdout: string) => JSON.parse(stdout) as { valid: boolean; diagnostics: { code: string; message: string; pos?: { file: string; line: number; col: number } }[] };

  it('schema errors: validate, plan and drift', async () => {
    for (const verb of ['validate', 'plan', 'drift']) {
      const r = await runCli([verb, 'bad', '--format', 'json'], { cwd: root });
      assert.equal(r.code, 1, `${verb}: ${r.stderr}`);
      const doc = json(r.stdout);
      assert.equal(doc.valid, false);
      assert.deepEqual(doc.diagnostics.map((d) => [d.code, d.pos?.file, d.pos?.line, d.pos?.col]), [['E_UNKNOWN_KIND', 'bad/network.yaml', 5, 7]], verb);
      assert.match(doc.diagnostics[0].message, /did you mean Vlan\?$/);
      const text = await runCli([verb, 'bad'], { cwd: root });
      assert.match(text.stderr, /^bad\/network\.yaml:5:7: error E_UNKNOWN_KIND: unknown kind "Vlna"; did you mean Vlan\?$/m, 'what text mode prints on stderr');
    }
  });

  it('a mandatory validate-time policy violation of plan and drift (which printed nothing before)', async () => {
    for (const verb of ['plan', 'drift']) {
      const r = await runCli([verb, 'policy', '-f', 'json'], { cwd: root });
      assert.equal(r.code, 1, r.stderr);
      const doc = json(r.stdout);
      assert.equal(doc.valid, false);
      assert.equal(doc.diagnostics[0].code, 'E_POLICY');
      assert.deepEqual(doc.diagnostics[0].pos, { file: 'policy/server.yaml', line: 3, col: 95 });
      assert.doesNotMatch(r.stdout + r.stderr, /Sommer2024/, 'the literal is never echoed');
    }
  });

  it('usage mistakes and run errors', async () => {
    const usage = await runCli(['plan', 'policy', '--format=json', '--bogus'], { cwd: root });
    assert.equal(usage.code, 1);
    assert.deepEqual(json(usage.stdout).diagnostics.map((d) => d.code), ['E_USAGE']);
    assert.match(usage.stderr, /^einklang plan: unknown option --bogus$/m);
    const missing = await runCli(['validate', 'nowhere', '--format', 'json'], { cwd: root });
    assert.equal(missing.code, 1);
    assert.equal(json(missing.stdout).valid, false);
    const text = await runCli(['plan', 'policy', '--bogus'], { cwd: root });
    assert.equal(text.stdout, '', 'without --format json, stdout stays empty');
    for (const r of [usage, missing, text]) assert.ok(!hasStackTrace(r.stdout + r.stderr));
  });
});

describe('cli: a plan applied before', function () {
  this.timeout(90_000);
  let lab: LabServer;
  const cli = (args: string[]) => runCli(args, { cwd: lab.root });

  before(async () => {
    lab = await startLabServer({ manifests: 'kind: File\nmetadata: { name: motd }\nspec: { server: server, path: /etc/motd, content: "Schule A\\n" }\n' });
  });
  after(async () => {
    await lab?.sim.stop();
    if (lab) rmSync(lab.root, { recursive: true, force: true });
  });

  it('is answered with one line from the journal, exit 0; an edited copy and a broken journal go through the checks', async () => {
    assert.equal((await cli(['plan', lab.env, '--out', lab.planFile])).code, 2);
    const first = await cli(['apply', lab.planFile]);
    assert.equal(first.code, 0, first.stdout + first.stderr);
    lab.sim.model.writeFile('/etc/motd', 'changed by hand\n'); // the plan would now be stale as well

    const again = await cli(['apply', lab.planFile]);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /^already applied \(journal entry 3, envs\/schule-a\/\.einklang\/journal\.jsonl:3, \d{4}-\d\d-\d\dT[\d:.]+Z\); nothing to do\. Re-plan to see the live state now\.\n$/);
    assert.equal(again.stderr, '', 'not a single stale line');
    assert.equal(lab.sim.model.readFile('/etc/motd')?.toString(), 'changed by hand\n', 'nothing was applied again');

    // An edited copy keeps the hash field but not the content it covers: refused as before.
    const edited = JSON.parse(readFileSync(lab.planFile, 'utf8'));
    edited.changes[0].after.content = 'edited\n';
    const editedFile = join(lab.root, 'edited.json');
    writeFileSync(editedFile, JSON.stringify(edited));
    const refused = await cli(['apply', editedFile]);
    assert.equal(refused.code, 1);
    assert.doesNotMatch(refused.stdout, /already applied/);
    assert.match(refused.stderr, /hash/);

    // A journal that does not verify is not believed: apply's own checks answer (the plan is stale now).
    const journal = join(lab.env, '.einklang/journal.jsonl');
    writeFileSync(journal, readFileSync(journal, 'utf8').replace('"applied"', '"Applied"'));
    const unbelieved = await cli(['apply', lab.planFile]);
    assert.equal(unbelieved.code, 1);
    assert.doesNotMatch(unbelieved.stdout, /already applied/);
    assert.match(unbelieved.stderr, /stale/);
  });
});

describe('cli: did you mean', function () {
  this.timeout(60_000);
  it('suggests the kind, field, enum value and reference at file:line:col, one diagnostic each, no follow-on errors', async () => {
    const root = writeTree({
      'schule/environment.yaml': ENVIRONMENT,
      'schule/network.yaml': [
        SWITCH.trim(),
        '---',
        'kind: Vlna',
        'metadata: { name: schueler }',
        'spec: { id: 20, switches: [core-01] }',
        '---',
        'kind: Vlan',
        'metadata: { name: lehrer }',
        'spec: { id: 30, switches: [core-01] }',
        '---',
        'kind: SwitchPort',
        'metadata: { name: a }',
        'spec: { switch: core-01, ports: "Gi1/0/1", mode: access, vlan: schueler }',
        '---',
        'kind: SwitchPort',
        'metadata: { name: b }',
        'spec: { switch: core-01, ports: "Gi1/0/2", modus: access, vlan: lehrer }',
        '---',
        'kind: SwitchPort',
        'metadata: { name: c }',
        'spec: { switch: core-01, ports: "Gi1/0/3", mode: acess, vlan: lehrer }',
        '---',
        'kind: SwitchPort',
        'metadata: { name: d }',
        'spec: { switch: core-1, ports: "Gi1/0/4", mode: access, vlan: lehrer }',
        '',
      ].join('\n'),
    });
    try {
      const r = await runCli(['validate', 'schule'], { cwd: root });
      assert.equal(r.code, 1);
      const lines = r.stderr.trim().split('\n');
      assert.deepEqual(lines, [
        'schule/network.yaml:5:7: error E_UNKNOWN_KIND: unknown kind "Vlna"; did you mean Vlan?',
        'schule/network.yaml:19:44: error E_SCHEMA: unknown field "modus" in spec; did you mean "mode"?',
        'schule/network.yaml:23:50: error E_SCHEMA: mode must be one of "access", "trunk"; did you mean "access"?',
        'schule/network.yaml:27:17: error E_REF_DANGLING: no Switch named "core-1" in environment schule; did you mean "core-01"?',
        'einklang: 4 error(s)',
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
