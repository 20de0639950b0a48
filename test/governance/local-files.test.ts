/**
 * Issue 9 item 6: local files. Manifests are regular files read through a
 * bounded reader (a /dev/zero or FIFO environment.yaml is refused at once);
 * profile folders, manifests and connection files resolve (realpath) inside
 * the repository (the git top level, or the folder holding the environments)
 * or --keys-dir; a missing privateKeyFile is a validate error with its
 * position. Reproduced through the CLI.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localRoots, pathProblem, readRegularFile, type LocalFileError } from '../../engine/local-files.js';
import { computePlanHash } from '../../engine/plan-file.js';
import { hasStackTrace, runCli } from '../support/cli.js';
import { startLabServer, type LabServer } from '../support/lab-server.js';

/** The error readRegularFile throws for `path`, or undefined. */
function refusal(path: string, max = 1024): LocalFileError | undefined {
  try {
    readRegularFile(path, max);
    return undefined;
  } catch (e) {
    return e as LocalFileError;
  }
}

describe('local files: the bounded reader and the path rules', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'einklang-local-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads regular files up to the limit and refuses devices, FIFOs, folders and larger files', () => {
    writeFileSync(join(dir, 'ok'), 'abc');
    assert.equal(readRegularFile(join(dir, 'ok'), 3).toString(), 'abc');
    assert.equal(refusal(join(dir, 'ok'), 2)?.code, 'E_FILE_TOO_LARGE');
    assert.equal(refusal('/dev/zero')?.code, 'E_NOT_REGULAR');
    assert.equal(refusal('/dev/null')?.code, 'E_NOT_REGULAR');
    assert.equal(refusal(dir)?.code, 'E_NOT_REGULAR');
    assert.equal(refusal(join(dir, 'missing'))?.code, 'E_READ');
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    assert.equal(refusal(join(dir, 'fifo'))?.code, 'E_NOT_REGULAR', 'returns at once, without a writer');
    symlinkSync('/dev/zero', join(dir, 'zero-link'));
    assert.match(refusal(join(dir, 'zero-link'))!.message, /character device, not a regular file/);
  });

  it('resolves every symlink before deciding whether a path is inside the repository or --keys-dir', () => {
    const repo = join(dir, 'repo');
    const keys = join(dir, 'keys');
    mkdirSync(join(repo, 'envs'), { recursive: true });
    mkdirSync(keys);
    writeFileSync(join(repo, 'envs', 'inside'), 'x');
    writeFileSync(join(keys, 'id'), 'k');
    symlinkSync(join(keys, 'id'), join(repo, 'envs', 'link-out'));
    symlinkSync(join(repo, 'envs', 'inside'), join(repo, 'envs', 'link-in'));
    const roots = localRoots([join(repo, 'envs')], keys);
    assert.equal(pathProblem(join(repo, 'envs', 'inside'), roots, { keysDir: false }), null);
    assert.equal(pathProblem(join(repo, 'envs', 'link-in'), roots, { keysDir: false }), null);
    assert.match(pathProblem(join(repo, 'envs', 'link-out'), roots, { keysDir: false })!, /outside the repository/);
    assert.equal(pathProblem(join(repo, 'envs', 'link-out'), roots, { keysDir: true }), null, 'a key may be in --keys-dir');
    assert.match(pathProblem(join(repo, 'envs', '..', '..', 'keys', 'id'), localRoots([join(repo, 'envs')]), { keysDir: true })!, /outside the repository .* or a --keys-dir/);
    assert.equal(pathProblem(join(repo, 'envs', 'nope'), roots, { keysDir: true }), 'does not exist');
    assert.match(pathProblem('/etc/hostname', roots, { keysDir: true })!, /resolves to \/etc\/hostname, outside/);
    // inside git, the repository is the top level (a key beside the environments folder is inside)
    const git = join(dir, 'git');
    mkdirSync(join(git, 'envs'), { recursive: true });
    writeFileSync(join(git, 'top-level-key'), 'k');
    assert.notEqual(pathProblem(join(git, 'top-level-key'), localRoots([join(git, 'envs')]), { keysDir: false }), null);
    execFileSync('git', ['init', '-q', git]);
    const gitRoots = localRoots([join(git, 'envs')]);
    assert.equal(pathProblem(join(git, 'top-level-key'), gitRoots, { keysDir: false }), null);
    assert.notEqual(pathProblem(join(keys, 'id'), gitRoots, { keysDir: true }), null);
  });
});

describe('local files through the CLI', function () {
  this.timeout(60_000);
  let lab: LabServer;
  let outside: string;
  const SECRET = 'TOPSECRET-outside-the-repository';
  beforeEach(async () => {
    lab = await startLabServer({ manifests: 'apiVersion: einklang/v1\nkind: File\nmetadata: { name: motd }\nspec: { server: server, path: /etc/motd, content: "hi\\n" }\n' });
    outside = mkdtempSync(join(tmpdir(), 'einklang-outside-'));
    writeFileSync(join(outside, 'leak.yaml'), `apiVersion: einklang/v1\nkind: File\nmetadata: { name: leak }\nspec: { server: server, path: /etc/leak, content: "${SECRET}" }\n`);
  });
  afterEach(async () => {
    await lab.sim.stop();
    rmSync(lab.root, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });
  const serverFile = () => join(lab.env, 'server.yaml');
  const setKey = (v: string) => writeFileSync(serverFile(), readFileSync(serverFile(), 'utf8').replace('privateKeyFile: ../keys/id', `privateKeyFile: ${v}`));
  const keyLine = () => readFileSync(serverFile(), 'utf8').split('\n').findIndex((l) => l.includes('privateKeyFile')) + 1;

  for (const [what, make, error] of [
    ['a symlink to /dev/zero', (f: string) => symlinkSync('/dev/zero', f), /E_LOCAL_PATH: manifest resolves to \/dev\/zero, outside the repository/],
    // the same device as a node inside the repository (root only: mknod)
    ['a character device (as /dev/zero)', (f: string) => execFileSync('mknod', [f, 'c', '1', '5']), /E_NOT_REGULAR: manifest is a character device, not a regular file/],
    ['a FIFO', (f: string) => execFileSync('mkfifo', [f]), /E_NOT_REGULAR: manifest is a FIFO, not a regular file/],
  ] as [string, (f: string) => void, RegExp][]) {
    it(`refuses an environment.yaml that is ${what}, at once, for validate and plan`, async function () {
      if (what.includes('device') && process.getuid?.() !== 0) this.skip();
      const envFile = join(lab.env, 'environment.yaml');
      unlinkSync(envFile);
      make(envFile);
      for (const verb of ['validate', 'plan']) {
        // killed after 20 s: a reader that blocks or reads without bound fails here
        const r = await runCli([verb, lab.env], { cwd: lab.root, timeoutMs: 20_000 });
        assert.equal(r.code, 1, `${verb}: ${r.stderr}`);
        assert.match(r.stderr, /envs\/schule-a\/environment\.yaml:1:1: error /);
        assert.match(r.stderr, error);
        assert.ok(!hasStackTrace(r.stderr));
      }
      assert.equal(lab.sim.model.authAttempts, 0, 'nothing was sent anywhere');
    });
  }

  it('refuses an environment.yaml that links out of the repository without reading it', async () => {
    const envFile = join(lab.env, 'environment.yaml');
    writeFileSync(join(outside, 'environment.yaml'), `apiVersion: einklang/v1\nkind: Environment\nmetadata: { name: schule-a }\nspec: { zone: school, description: "${SECRET}" }\n`);
    unlinkSync(envFile);
    symlinkSync(join(outside, 'environment.yaml'), envFile);
    const r = await runCli(['validate', lab.env], { cwd: lab.root });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /environment\.yaml:1:1: error E_LOCAL_PATH: manifest resolves to .*, outside the repository/);
    assert.ok(!(r.stdout + r.stderr).includes(SECRET));
  });

  for (const [what, path] of [
    ['a relative path out of the repository', '../../../../../../../../etc/hostname'],
    ['an absolute path', '/etc/hostname'],
  ]) {
    it(`refuses a privateKeyFile that is ${what}, at its position, before any connection`, async () => {
      setKey(path);
      for (const verb of ['validate', 'plan']) {
        const r = await runCli([verb, lab.env], { cwd: lab.root });
        assert.equal(r.code, 1, verb);
        assert.match(r.stderr, new RegExp(`envs/schule-a/server\\.yaml:${keyLine()}:\\d+: error E_LOCAL_PATH: schule-a/Server/server: privateKeyFile .* resolves to /etc/hostname, outside the repository`));
      }
      assert.equal(lab.sim.model.authAttempts, 0, 'no connection, no key sent');
    });
  }

  it('accepts a key outside the repository only from --keys-dir', async () => {
    const keys = mkdtempSync(join(tmpdir(), 'einklang-keys-'));
    try {
      writeFileSync(join(keys, 'id'), readFileSync(join(lab.root, 'envs/keys/id')), { mode: 0o600 });
      setKey(join(keys, 'id'));
      assert.equal((await runCli(['plan', lab.env], { cwd: lab.root })).code, 1);
      const r = await runCli(['plan', lab.env, '--keys-dir', keys, '--out', lab.planFile], { cwd: lab.root });
      assert.equal(r.code, 2, r.stderr);
      // apply opens the key again: the same rule, from the same option
      const refused = await runCli(['apply', lab.planFile], { cwd: lab.root });
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /privateKeyFile .* outside the repository/);
      assert.equal(lab.sim.model.readFile('/etc/motd'), undefined);
      const applied = await runCli(['apply', lab.planFile, '--keys-dir', keys], { cwd: lab.root });
      assert.equal(applied.code, 0, applied.stderr);
      assert.equal(lab.sim.model.readFile('/etc/motd')?.toString(), 'hi\n');
    } finally {
      rmSync(keys, { recursive: true, force: true });
    }
  });

  it('apply refuses a plan whose target names a key outside the repository, even with a recomputed hash', async () => {
    const r = await runCli(['plan', lab.env, '--out', lab.planFile], { cwd: lab.root });
    assert.equal(r.code, 2, r.stderr);
    const plan = JSON.parse(readFileSync(lab.planFile, 'utf8'));
    plan.targets[0].connection.privateKeyFile = '/etc/hostname';
    plan.hash = computePlanHash(plan);
    writeFileSync(lab.planFile, JSON.stringify(plan));
    const before = lab.sim.model.authAttempts;
    const a = await runCli(['apply', lab.planFile], { cwd: lab.root });
    assert.equal(a.code, 1);
    // apply connects to the targets as the repository declares them: a plan that names another key file is refused as such
    assert.match(a.stderr, /apply refused: target schule-a\/Server\/server in the plan differs from the repository's declaration/);
    assert.equal(lab.sim.model.authAttempts, before, 'nothing was sent');
  });

  it('a missing privateKeyFile is a validate error at its position', async () => {
    setKey('../keys/no-such-key');
    const r = await runCli(['validate', lab.env], { cwd: lab.root });
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`envs/schule-a/server\\.yaml:${keyLine()}:\\d+: error E_LOCAL_FILE_MISSING: schule-a/Server/server: privateKeyFile "\\.\\./keys/no-such-key" \\(.*\\) does not exist`));
  });

  it('refuses a profile folder that is a symlink out of the repository, without reading it', async () => {
    mkdirSync(join(lab.root, 'envs/profiles'), { recursive: true });
    symlinkSync(outside, join(lab.root, 'envs/profiles/base'));
    const envFile = join(lab.env, 'environment.yaml');
    writeFileSync(envFile, readFileSync(envFile, 'utf8').replace('zone: school', 'zone: school, profiles: [ { path: profiles/base } ]'));
    const r = await runCli(['validate', lab.env], { cwd: lab.root });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /envs\/schule-a\/environment\.yaml:4:\d+: error E_PROFILE_PATH: profile folder .*profiles\/base resolves to .*, outside the repository/);
    assert.ok(!(r.stdout + r.stderr).includes(SECRET));
    // the same folder inside the repository is fine
    unlinkSync(join(lab.root, 'envs/profiles/base'));
    mkdirSync(join(lab.root, 'envs/profiles/real'));
    writeFileSync(join(lab.root, 'envs/profiles/real/leak.yaml'), readFileSync(join(outside, 'leak.yaml')));
    symlinkSync(join(lab.root, 'envs/profiles/real'), join(lab.root, 'envs/profiles/base'));
    const ok = await runCli(['validate', lab.env], { cwd: lab.root });
    assert.equal(ok.code, 0, ok.stderr);
  });

  it('inside git, a key anywhere in the work tree is inside the repository', async () => {
    execFileSync('git', ['init', '-q', lab.root]);
    writeFileSync(join(lab.root, 'top-key'), readFileSync(join(lab.root, 'envs/keys/id')), { mode: 0o600 });
    setKey('../../top-key');
    const r = await runCli(['validate', lab.env], { cwd: lab.root });
    assert.equal(r.code, 0, r.stderr);
  });
});

