/**
 * The CI templates docs/ci.md explains (issue 15 item 1):
 * - ci/gitlab-ci.yml through gitlab-ci-local (npm; 4.73.0, the last release
 *   that runs on Node 20: 4.74 uses Set.prototype.union), which parses it,
 *   validates it against GitLab's CI schema and evaluates the rules: the job
 *   graph of a merge request, a push to main, a schedule and an emergency run;
 * - ci/github-actions.yml against SchemaStore's github-workflow JSON Schema,
 *   as bundled (offline) in @action-validator/core: its validate_as_workflow
 *   compiles schemastore/src/schemas/json/github-workflow.json into the
 *   package (mpalmer/action-validator, src/schemas.rs);
 * - ci/einklang-ci.sh, the steps both share, in a real git repository with the
 *   real CLI: which environments a change touches, the one comment (with the
 *   violations of a refused plan), and the approvals gate.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { keygen, signPlan } from '../../engine/governance/approvals.js';
import { CLI, writeTree } from '../support/cli.js';
import { repositoryPlan } from '../support/plans.js';

const require = createRequire(import.meta.url);
const GITLAB_CI_LOCAL = join(dirname(require.resolve('gitlab-ci-local/package.json')), 'dist', 'index.js');
const SCRIPT = resolve('ci/einklang-ci.sh');

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.email=ci@example.org', '-c', 'user.name=ci', ...args], { cwd, encoding: 'utf8' });
}

interface ListedJob {
  name: string;
  stage: string;
  when: string;
  allow_failure: boolean;
  needs?: { job: string }[];
}

describe('ci/gitlab-ci.yml through gitlab-ci-local', function () {
  this.timeout(120_000);
  let repo: string;
  before(() => {
    repo = writeTree({});
    git(repo, 'init', '-q', '-b', 'main');
    copyFileSync('ci/gitlab-ci.yml', join(repo, '.gitlab-ci.yml'));
    git(repo, 'add', '.');
    git(repo, 'commit', '-qm', 'pipeline');
  });
  after(() => rmSync(repo, { recursive: true, force: true }));

  const gcl = (...args: string[]) =>
    spawnSync(process.execPath, [GITLAB_CI_LOCAL, ...args], {
      cwd: repo,
      encoding: 'utf8',
      // the pipeline source is what the test varies; gitlab-ci-local warns about overriding it
      env: { ...process.env, GCL_IGNORE_PREDEFINED_VARS: 'CI_PIPELINE_SOURCE,CI_COMMIT_BRANCH', NO_COLOR: '1' },
      timeout: 60_000,
    });

  function jobs(source: string, ...variables: string[]): ListedJob[] {
    const r = gcl('--list-json', '--variable', `CI_PIPELINE_SOURCE=${source}`, ...variables.flatMap((v) => ['--variable', v]));
    assert.equal(r.status, 0, r.stderr + r.stdout);
    return (JSON.parse(r.stdout) as ListedJob[]).filter((j) => j.when !== 'never');
  }
  const names = (js: ListedJob[]) => js.map((j) => j.name).sort();

  it('--list accepts the file (YAML, GitLab CI schema)', () => {
    const r = gcl('--list', '--variable', 'CI_PIPELINE_SOURCE=merge_request_event');
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.match(r.stderr + r.stdout, /json schema validated/);
    assert.match(r.stdout, /plan: \[school\]/);
  });

  it('merge request: plan per zone, one comment always, approvals per zone blocking the merge', () => {
    const mr = jobs('merge_request_event');
    assert.deepEqual(names(mr), ['approvals: [administration]', 'approvals: [school]', 'comment', 'plan: [administration]', 'plan: [school]']);
    const comment = mr.find((j) => j.name === 'comment')!;
    assert.equal(comment.when, 'always', 'the comment is posted also when a plan failed');
    assert.deepEqual(comment.needs?.map((n) => n.job), ['plan']);
    for (const j of mr.filter((x) => x.name.startsWith('approvals'))) {
      assert.equal(j.when, 'on_success', `${j.name} is not manual`);
      assert.equal(j.allow_failure, false, `${j.name} blocks the merge`);
      assert.deepEqual(j.needs?.map((n) => n.job), ['plan']);
    }
    const chain = gcl('--validate-dependency-chain', '--variable', 'CI_PIPELINE_SOURCE=merge_request_event');
    assert.equal(chain.status, 0, chain.stderr + chain.stdout);
  });

  it('main: only apply per zone; schedule: only drift per zone; a manual run applies only as an emergency', () => {
    assert.deepEqual(names(jobs('push')), ['apply: [administration]', 'apply: [school]']);
    assert.deepEqual(names(jobs('push', 'CI_COMMIT_BRANCH=feature')), [], 'no pipeline for a push to another branch');
    assert.deepEqual(names(jobs('schedule')), ['drift: [administration]', 'drift: [school]']);
    assert.deepEqual(names(jobs('web')), []);
    assert.deepEqual(names(jobs('web', 'EMERGENCY=1')), ['apply: [administration]', 'apply: [school]']);
  });
});

describe('ci/github-actions.yml against the github-workflow JSON Schema', () => {
  const { validateWorkflow } = require('@action-validator/core') as { validateWorkflow(src: string): { errors: unknown[] } };
  const text = readFileSync('ci/github-actions.yml', 'utf8');

  it('validates, and the same schema refuses a broken copy', () => {
    assert.deepEqual(validateWorkflow(text).errors, []);
    assert.notDeepEqual(validateWorkflow(text.replace('runs-on: ubuntu-latest', 'runs_on: ubuntu-latest')).errors, []);
    assert.notDeepEqual(validateWorkflow(text.replace('  workflow_dispatch:', '  workflow_dispatched:')).errors, [], 'an unknown event');
  });

  it('passes the trusted ref to plan, the approvals check and apply', () => {
    assert.match(text, /plan "\$ZONE" --trusted-ref "\$\{\{ github\.base_ref \}\}"/);
    assert.match(text, /approvals "\$ZONE" notes\.jsonl --trusted-ref "\$\{\{ github\.event\.repository\.default_branch \}\}"/);
    assert.match(text, /apply "einklang\/approved-\$ZONE\.json" --trusted-ref "\$\{\{ github\.event\.repository\.default_branch \}\}"/);
  });
});

describe('ci/einklang-ci.sh, the steps both pipelines share', function () {
  this.timeout(60_000);
  let repo: string;
  const env = (name: string, zone: string, extra = '') => `apiVersion: einklang/v1\nkind: Environment\nmetadata: { name: ${name} }\nspec: { zone: ${zone}${extra} }\n`;
  beforeEach(() => {
    repo = writeTree({
      'envs/schule-a/environment.yaml': env('schule-a', 'school'),
      'envs/schule-b/environment.yaml': `# a comment\napiVersion: einklang/v1\nkind: Environment\nmetadata:\n  name: schule-b\nspec:\n  zone: school   # pädagogisches Netz\n`,
      'envs/verwaltung/environment.yaml': env('verwaltung', 'administration'),
      'envs/profiles/shared/readme.txt': 'shared\n',
    });
    git(repo, 'init', '-q', '-b', 'main');
    git(repo, 'add', '.');
    git(repo, 'commit', '-qm', 'base');
  });
  afterEach(() => rmSync(repo, { recursive: true, force: true }));

  const runWith = (extra: NodeJS.ProcessEnv, ...args: string[]) =>
    spawnSync('sh', [SCRIPT, ...args], { cwd: repo, encoding: 'utf8', env: { ...process.env, EINKLANG_ROOT: 'envs', EINKLANG: `${process.execPath} ${CLI}`, NO_COLOR: '1', CI: 'true', ...extra } });
  const run = (...args: string[]) => runWith({}, ...args);
  const lines = (s: string) => s.split('\n').filter(Boolean);

  it('names the environments of a zone, and those a change touches (all of them when a profile changes)', () => {
    assert.deepEqual(lines(run('envs', 'school').stdout), ['envs/schule-a', 'envs/schule-b']);
    assert.deepEqual(lines(run('envs', 'administration').stdout), ['envs/verwaltung']);
    const base = git(repo, 'rev-parse', 'HEAD').trim();
    assert.deepEqual(lines(run('changed', 'school', base).stdout), []);
    writeFileSync(join(repo, 'envs/schule-b/vlans.yaml'), '# new\n');
    git(repo, 'add', '.');
    git(repo, 'commit', '-qm', 'b');
    assert.deepEqual(lines(run('changed', 'school', base).stdout), ['envs/schule-b']);
    assert.deepEqual(lines(run('changed', 'administration', base).stdout), []);
    writeFileSync(join(repo, 'envs/profiles/shared/readme.txt'), 'changed\n');
    git(repo, 'add', '.');
    git(repo, 'commit', '-qm', 'profile');
    assert.deepEqual(lines(run('changed', 'school', base).stdout), ['envs/schule-a', 'envs/schule-b']);
    assert.deepEqual(lines(run('changed', 'administration', base).stdout), ['envs/verwaltung']);
  });

  it('plans, and a refused plan (mandatory policy) fails the job and its violations are the comment', () => {
    assert.equal(run('plan', 'administration', '--').status, 0);
    assert.equal(readFileSync(join(repo, 'einklang/status-administration'), 'utf8').trim(), 'none');
    const ok = run('plan', 'school', '--author', 'dev@example.org', '--', 'envs/schule-a');
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(readFileSync(join(repo, 'einklang/status-school'), 'utf8').trim(), 'unchanged');

    writeFileSync(
      join(repo, 'envs/schule-b/switch.yaml'),
      'apiVersion: einklang/v1\nkind: Switch\nmetadata: { name: core-01 }\nspec: { connection: { driver: ios, host: 127.0.0.1, user: admin, password: "geheim123", hostKeyFingerprint: "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" } }\n',
    );
    const refused = run('plan', 'school', '--', 'envs/schule-b');
    assert.equal(refused.status, 1);
    assert.equal(readFileSync(join(repo, 'einklang/status-school'), 'utf8').trim(), 'failed');
    const comment = run('comment');
    assert.equal(comment.status, 0, comment.stderr);
    assert.match(comment.stdout, /^<!-- einklang-plan -->\n/);
    assert.match(comment.stdout, /## Zone administration: none\n\nNo environment of zone administration changed/);
    assert.match(comment.stdout, /## Zone school: failed[\s\S]*einklang refused to plan zone school[\s\S]*switch\.yaml:\d+:\d+: error/);
    assert.doesNotMatch(comment.stdout, /geheim123/);
  });

  it('approvals: counts only listed reviewers\' signatures of this plan, then checks them like apply', async () => {
    const keys = join(repo, 'keys');
    mkdirSync(keys);
    const anna = keygen(keys, 'anna');
    const ben = keygen(keys, 'ben');
    writeFileSync(join(repo, 'envs/schule-a/environment.yaml'), env('schule-a', 'school', ', approvals: { required: 2, groups: [net] }'));
    writeFileSync(
      join(repo, 'envs/schule-a/reviewers.yaml'),
      [anna, ben].map((k, i) => `apiVersion: einklang/v1\nkind: Reviewer\nmetadata: { name: ${['anna', 'ben'][i]} }\nspec: { publicKey: "${k.publicKey}", groups: [net] }\n`).join('---\n'),
    );
    writeFileSync(
      join(repo, 'envs/schule-a/switch.yaml'),
      'apiVersion: einklang/v1\nkind: Switch\nmetadata: { name: core-01 }\nspec: { connection: { driver: ios, host: 127.0.0.1, port: 2201, user: admin, password: "${secret:SWITCH_PASSWORD}", hostKeyFingerprint: "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" } }\n',
    );
    // Reviewers and approval rules count from the trusted branch: they are on main before the change is planned.
    git(repo, 'add', 'envs');
    git(repo, 'commit', '-qm', 'reviewers');
    const plan = await repositoryPlan(repo, ['envs/schule-a'], { approvalsRequired: { count: 2, groups: ['net'] } });
    mkdirSync(join(repo, 'einklang'));
    writeFileSync(join(repo, 'einklang/plan-school.json'), JSON.stringify(plan));
    writeFileSync(join(repo, 'einklang/status-school'), 'changes\n');
    const sig = (keyFile: string, name: string, hash = plan.hash) => `einklang-approval ${JSON.stringify({ hash, ...signPlan(plan, readFileSync(keyFile, 'utf8'), name) })}`;
    const note = (login: string, body: string) => JSON.stringify({ login, body });
    const spawnWith = (notes: string[]) => {
      writeFileSync(join(repo, 'notes.jsonl'), notes.join('\n') + '\n');
      return runWith({ EINKLANG_REVIEWER_LOGINS: 'anna ben' }, 'approvals', 'school', 'notes.jsonl');
    };
    // anna's signature posted by someone who is no listed reviewer, ben's for an older plan, a comment without one
    const weak = spawnWith([note('mallory', sig(anna.keyFile, 'anna')), note('ben', sig(ben.keyFile, 'ben', 'sha256:older')), note('anna', 'LGTM')]);
    assert.equal(weak.status, 1, weak.stderr);
    assert.match(weak.stderr, /approvals missing/);
    assert.equal(JSON.parse(readFileSync(join(repo, 'einklang/approved-school.json'), 'utf8')).approvals.length, 0);

    const good = spawnWith([note('anna', `looks right\n${sig(anna.keyFile, 'anna')}`), note('ben', sig(ben.keyFile, 'ben')), note('ben', sig(ben.keyFile, 'ben'))]);
    assert.equal(good.status, 0, good.stderr);
    assert.match(good.stderr, /approvals complete: 2 valid of 2 required \(anna, ben\)/);
    assert.equal(JSON.parse(readFileSync(join(repo, 'einklang/approved-school.json'), 'utf8')).approvals.length, 2);

    // a zone without changes needs no approvals
    writeFileSync(join(repo, 'einklang/status-administration'), 'unchanged\n');
    assert.equal(run('approvals', 'administration', 'notes.jsonl').status, 0);
  });
});

describe('docs/ci.md', () => {
  it('includes the templates and the shared script exactly as they are', () => {
    const doc = readFileSync('docs/ci.md', 'utf8');
    for (const [file, lang] of [['ci/gitlab-ci.yml', 'yaml'], ['ci/github-actions.yml', 'yaml'], ['ci/einklang-ci.sh', 'sh']]) {
      assert.ok(doc.includes('```' + lang + '\n' + readFileSync(file, 'utf8') + '```\n'), `docs/ci.md does not include the current ${file}: copy it into its block`);
    }
  });
});
