/**
 * The command line's basics through the real `einklang` binary: --version,
 * per-verb help, usage errors in our words, --no-color / NO_COLOR on a real
 * terminal (util-linux `script` gives the child a pty), drift's exit codes and
 * --out against a lab switch, the unlock hint of a refused apply, and the
 * merge gate `show --require-approvals`.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { engineVersion } from '../../engine/paths.js';
import { FileLockStore } from '../../engine/governance/locks.js';
import { keygen } from '../../engine/governance/approvals.js';
import { iosHostKeyFingerprint, startIosSimulator } from '../../providers/network/ios/simulator/index.js';
import { parseCommandLine, usageError, VERBS } from '../../cli/usage.js';
import { CLI, hasStackTrace, runCli, writeTree } from '../support/cli.js';
import { repositoryPlan } from '../support/plans.js';

/** A plan file as `plan --out` writes it: with its (here empty) list of targets, which the hash covers. */

/** A switch on loopback (never connected to: these tests are refused before apply opens a connection). */
const SWITCH = 'apiVersion: einklang/v1\nkind: Switch\nmetadata: { name: core-01 }\nspec: { connection: { driver: ios, host: 127.0.0.1, port: 2201, user: admin, password: "${secret:SWITCH_PASSWORD}", hostKeyFingerprint: "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" } }\n';
const ENVIRONMENT = (name: string, extra = '') => `apiVersion: einklang/v1\nkind: Environment\nmetadata: { name: ${name} }\nspec: { zone: school${extra} }\n`;

/** Runs the CLI on a pseudo-terminal, as a user at a shell would, without NO_COLOR unless given. */
function runOnTerminal(args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<{ code: number; out: string }> {
  const quoted = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const childEnv = { ...process.env, ...env };
  delete childEnv.NO_COLOR;
  delete childEnv.CI;
  Object.assign(childEnv, env);
  return new Promise((resolve, reject) => {
    const p = spawn('script', ['-qefc', quoted, '/dev/null'], { cwd, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? -1, out }));
  });
}

describe('cli: version, help and usage errors', function () {
  this.timeout(30_000);

  it('--version prints the package version and exits 0', async () => {
    const r = await runCli(['--version']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `einklang ${engineVersion}\n`);
    assert.equal(JSON.parse(readFileSync('package.json', 'utf8')).version, engineVersion);
  });

  it('plan --help and help plan print plan\'s usage, with its options and exit codes', async () => {
    const a = await runCli(['plan', '--help']);
    const b = await runCli(['help', 'plan']);
    assert.equal(a.code, 0);
    assert.equal(b.code, 0);
    assert.equal(a.stdout, b.stdout);
    assert.match(a.stdout, /^Usage: einklang plan PATH\.\.\. \[--out FILE\]/);
    for (const opt of ['--out FILE', '--format FORMAT', '--author WHO', '--secrets-dir DIR', '--no-color', '--quiet']) assert.ok(a.stdout.includes(opt), opt);
    assert.match(a.stdout, /Exit codes: 0 no changes, 2 changes, 1 error or mandatory policy violation\./);
    // --help wins over missing arguments: nothing is read or planned
    assert.doesNotMatch(a.stdout + a.stderr, /needs at least one PATH/);
  });

  it('every verb has its own usage page', async () => {
    // in-process: the same parser main.ts runs, without a process per verb
    for (const v of VERBS) {
      const r = parseCommandLine(['help', v.verb], engineVersion);
      assert.equal(r.kind, 'print', v.verb);
      if (r.kind !== 'print') continue;
      assert.equal(r.code, 0);
      assert.ok(r.text.startsWith(`Usage: einklang ${v.verb}`), r.text);
      assert.match(r.text, /Exit codes: /);
      assert.deepEqual(parseCommandLine([v.verb, '--help'], engineVersion), r);
    }
    const all = await runCli(['help']);
    assert.equal(all.code, 0);
    for (const v of VERBS) assert.match(all.stdout, new RegExp(`^  einklang ${v.verb}\\b`, 'm'));
  });

  it('answers a mistake with the verb\'s usage, never with Node\'s parser message', async () => {
    const cases: [string[], RegExp][] = [
      [['plan', 'envs', '--bogus'], /^einklang plan: unknown option --bogus\nUsage:\n  einklang plan PATH\.\.\./],
      [['plan', 'envs', '--out'], /^einklang plan: --out needs a value: --out FILE\n/],
      [['plan', 'envs', '--out', '--format', 'json'], /^einklang plan: --out needs a value/],
      [['validate', 'envs', '--key', 'k'], /^einklang validate: --key is not an option of validate\n/],
      [['apply', 'p.json', '--emergency=yes'], /^einklang apply: --emergency takes no value\n/],
      [['plna', 'envs'], /^einklang: unknown verb "plna"\nRun 'einklang help' for the verbs\.\n$/],
      [['help', 'plna'], /^einklang help: help takes one verb, one of: validate, plan,/],
    ];
    // the parser's verdicts in-process; two of them and the verbs' own checks through the binary
    for (const [args, expected] of cases) {
      const r = parseCommandLine(args, engineVersion);
      assert.equal(r.kind, 'error', args.join(' '));
      if (r.kind === 'error') assert.match(usageError(r.message, r.verb), expected, args.join(' '));
    }
    const through: [string[], RegExp][] = [
      cases[0],
      cases[5],
      [['show'], /^einklang show: show needs exactly one plan FILE\nUsage:\n  einklang show FILE/],
      [['plan'], /^einklang plan: plan needs at least one PATH\n/],
    ];
    for (const [args, expected] of through) {
      const r = await runCli(args);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, expected, args.join(' '));
      assert.equal(r.stdout, '', args.join(' '));
      assert.doesNotMatch(r.stderr, /ERR_PARSE_ARGS|To specify a positional argument|TypeError/, args.join(' '));
      assert.ok(!hasStackTrace(r.stderr), r.stderr);
    }
  });

  it('takes options before the verb, and no verb prints the overview on stderr with exit 1', async () => {
    const r = await runCli(['--quiet', 'help', 'show']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: einklang show FILE/);
    const none = await runCli([]);
    assert.equal(none.code, 1);
    assert.equal(none.stdout, '');
    assert.match(none.stderr, /^einklang — desired state/);
  });
});

describe('cli: colour on a terminal', function () {
  this.timeout(30_000);
  let root: string;
  before(() => {
    root = writeTree({ 'envs/schule-farbe/environment.yaml': ENVIRONMENT('schule-farbe') });
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('colours plan output on a terminal, and neither --no-color nor NO_COLOR does', async () => {
    const env = join(root, 'envs/schule-farbe');
    const coloured = await runOnTerminal(['plan', env], {}, root);
    assert.equal(coloured.code, 0, coloured.out);
    assert.match(coloured.out, /\u001b\[1mPlan for schule-farbe/);
    const flag = await runOnTerminal(['plan', env, '--no-color'], {}, root);
    assert.equal(flag.code, 0, flag.out);
    assert.match(flag.out, /Plan for schule-farbe/);
    assert.doesNotMatch(flag.out, /\u001b\[/);
    const variable = await runOnTerminal(['plan', env], { NO_COLOR: '1' }, root);
    assert.equal(variable.code, 0, variable.out);
    assert.doesNotMatch(variable.out, /\u001b\[/);
  });
});

describe('cli: drift exit codes and --out', function () {
  this.timeout(60_000);

  it('exits 0 without drift, 2 for an unmanaged VLAN (never saying "No drift"), and writes the report with --out', async () => {
    const env = 'schule-drift';
    const address = `${env}/Switch/core-01`;
    const password = 'lab-switch-password';
    const sim = await startIosSimulator(
      { address, kind: 'Switch', name: 'core-01', zone: 'school', spec: {}, connection: { driver: 'ios', host: '127.0.0.1', port: 0, user: 'admin', password } },
      { listenPort: 0 },
    );
    const root = writeTree({
      [`envs/${env}/environment.yaml`]: ENVIRONMENT(env),
      [`envs/${env}/switch.yaml`]: `apiVersion: einklang/v1
kind: Switch
metadata: { name: core-01 }
spec:
  connection: { driver: ios, host: 127.0.0.1, port: ${sim.port}, user: admin, password: "\${secret:SWITCH_PASSWORD}", hostKeyFingerprint: "${iosHostKeyFingerprint(address)}" }
`,
    });
    const cli = (args: string[]) => runCli(args, { cwd: root, env: { EINKLANG_SECRET_SCHOOL_SWITCH_PASSWORD: password } });
    try {
      const clean = await cli(['drift', `envs/${env}`, '--out', 'clean.json']);
      assert.equal(clean.code, 0, clean.stdout + clean.stderr);
      assert.match(clean.stdout, /No drift/);
      assert.deepEqual(JSON.parse(readFileSync(join(root, 'clean.json'), 'utf8')).unmanaged, []);

      sim.model.setVlan(99, 'ROGUE');
      const drift = await cli(['drift', `envs/${env}`, '--out', 'drift.json']);
      assert.equal(drift.code, 2, drift.stdout + drift.stderr);
      assert.match(drift.stdout, /unmanaged Vlan 99 on schule-drift\/Switch\/core-01/);
      assert.doesNotMatch(drift.stdout, /No drift/);
      const report = JSON.parse(readFileSync(join(root, 'drift.json'), 'utf8'));
      assert.deepEqual(report.unmanaged.map((u: { id: string }) => u.id), ['99']);
      assert.equal(typeof report.hash, 'string');

      const json = await cli(['drift', `envs/${env}`, '--format', 'json']);
      assert.equal(json.code, 2);
      assert.deepEqual(JSON.parse(json.stdout).unmanaged.map((u: { id: string }) => u.id), ['99']);
    } finally {
      await sim.stop();
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('cli: a refused apply names every locked environment with an unlock command that works as printed', function () {
  this.timeout(30_000);

  it('prints one copy-pasteable unlock command per locked environment', async () => {
    const root = writeTree({
      'environments/stadt/schule-a/environment.yaml': ENVIRONMENT('schule-a'),
      'environments/stadt/schule-b/environment.yaml': ENVIRONMENT('schule-b'),
      'environments/stadt/schule-c/environment.yaml': ENVIRONMENT('schule-c'),
      'environments/stadt/schule-a/switch.yaml': SWITCH,
    });
    try {
      const paths = ['environments/stadt/schule-a', 'environments/stadt/schule-b', 'environments/stadt/schule-c'];
      const plan = await repositoryPlan(root, paths, { approvalsRequired: { count: 0, groups: [] } });
      writeFileSync(join(root, 'plan.json'), JSON.stringify(plan));
      const held = [];
      for (const e of ['schule-a', 'schule-c']) held.push(await new FileLockStore(join(root, 'environments/stadt', e)).acquire(e, { holder: 'ci-job-41' }));

      const refused = await runCli(['apply', 'plan.json'], { cwd: root });
      assert.equal(refused.code, 1, refused.stdout + refused.stderr);
      const commands = [...refused.stderr.matchAll(/einklang unlock (\S+) --id (\S+)/g)];
      assert.deepEqual(commands.map((m) => [m[1], m[2]]), [
        ['environments/stadt/schule-a', held[0].id],
        ['environments/stadt/schule-c', held[1].id],
      ]);
      assert.doesNotMatch(refused.stderr, /schule-b is locked/);

      // exactly as printed, from the folder the apply ran in
      for (const m of commands) {
        const r = await runCli(['unlock', m[1], '--id', m[2]], { cwd: root });
        assert.equal(r.code, 0, r.stderr);
      }
      for (const e of ['schule-a', 'schule-c']) assert.equal(existsSync(join(root, 'environments/stadt', e, '.einklang/locks', `${e}.lock`)), false);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('cli: show --require-approvals (the merge gate of CI)', function () {
  this.timeout(30_000);

  it('fails until the plan carries the approvals apply will demand, and ignores the change window', async () => {
    const root = writeTree({});
    try {
      const anna = keygen(join(root, 'keys'), 'anna');
      const ben = keygen(join(root, 'keys'), 'ben');
      // a change window that is never now: the merge gate must not care, apply must
      const notToday = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'].filter((_, i) => i !== new Date().getDay() && i !== (new Date().getDay() + 6) % 7 && i !== (new Date().getDay() + 1) % 7);
      writeTree(
        {
          'envs/schule-a/environment.yaml': ENVIRONMENT('schule-a', `, approvals: { required: 2, groups: [school-net] }, changeWindows: [ { days: [${notToday.join(', ')}], start: "03:00", end: "03:01" } ]`),
          'envs/schule-a/reviewers.yaml': ['anna', 'ben']
            .map((n, i) => `apiVersion: einklang/v1\nkind: Reviewer\nmetadata: { name: ${n} }\nspec: { publicKey: "${[anna, ben][i].publicKey}", groups: [school-net], email: ${n}@example.org }\n`)
            .join('---\n'),
          'envs/schule-a/switch.yaml': SWITCH,
        },
        root,
      );
      const plan = await repositoryPlan(root, ['envs/schule-a'], { approvalsRequired: { count: 2, groups: ['school-net'] } });
      writeFileSync(join(root, 'plan.json'), JSON.stringify(plan));
      const gate = () => runCli(['show', 'plan.json', '--require-approvals'], { cwd: root });

      const none = await gate();
      assert.equal(none.code, 1, none.stderr);
      assert.match(none.stdout, /Plan for schule-a/);
      assert.match(none.stderr, /^einklang: approvals missing: schule-a: .*2/m);

      assert.equal((await runCli(['approve', 'plan.json', '--key', anna.keyFile], { cwd: root })).code, 0);
      assert.equal((await gate()).code, 1);
      assert.equal((await runCli(['approve', 'plan.json', '--key', ben.keyFile], { cwd: root })).code, 0);
      const both = await gate();
      assert.equal(both.code, 0, both.stderr);
      assert.match(both.stderr, /approvals complete: 2 valid of 2 required \(anna, ben\)/);

      // apply checks the window the merge gate leaves out
      const apply = await runCli(['apply', 'plan.json'], { cwd: root });
      assert.equal(apply.code, 1);
      assert.match(apply.stderr, /outside every change window/);

      // an edited plan fails the gate
      const edited = JSON.parse(readFileSync(join(root, 'plan.json'), 'utf8'));
      edited.changes[0].after = { a: 3 };
      writeFileSync(join(root, 'plan.json'), JSON.stringify(edited));
      const forged = await gate();
      assert.equal(forged.code, 1);
      assert.match(forged.stderr, /hash does not match/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
