/**
 * Drivers and the CEL library load only when a run needs them: a plan of
 * Linux servers never loads the WinRM, switch or CEL code, and no run loads
 * ajv's compiler when the build precompiled the schemas. Checked by tracing
 * every module the CLI process loads (test/support/module-trace.mjs).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../engine/paths.js';
import { ed25519FromRawSeed, openSshPrivateKey } from '../../providers/lab/identity.js';
import { labHostKeyFingerprint, startLinuxSimulator } from '../../providers/servers/linux/simulator/server.js';
import { freePort } from '../support/sshd.js';
import { writeTree } from '../support/cli.js';

/** Runs the CLI with the module tracer; returns the exit code and the loaded module URLs (relative to the package). */
function tracedCli(args: string[], cwd: string): Promise<{ code: number; modules: string[]; stderr: string }> {
  const trace = join(mkdtempSync(join(tmpdir(), 'einklang-trace-')), 'modules.txt');
  writeFileSync(trace, '');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', join(packageRoot, 'test/support/module-trace.mjs'), join(packageRoot, 'dist/cli/main.js'), ...args], {
      cwd,
      env: { ...process.env, EINKLANG_MODULE_TRACE: trace, CI: 'true' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const modules = readFileSync(trace, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((u) => u.replace(`file://${packageRoot}/`, ''));
      rmSync(trace, { force: true });
      resolve({ code: code ?? -1, modules, stderr });
    });
  });
}

const loaded = (modules: string[], re: RegExp) => modules.filter((m) => re.test(m));

describe('lazy loading', function () {
  this.timeout(60_000);

  it('a plan of Linux servers loads the ssh driver and nothing of WinRM, the switches, CEL or the ajv compiler', async () => {
    const port = await freePort();
    const root = writeTree({
      'envs/keys/id': openSshPrivateKey(ed25519FromRawSeed(randomBytes(32))),
      'envs/lab/environment.yaml': 'kind: Environment\nmetadata: { name: lab }\nspec: { zone: school }\n',
      'envs/lab/server.yaml': [
        'kind: Server',
        'metadata: { name: web }',
        'spec:',
        '  os: linux',
        `  connection: { driver: ssh, host: 127.0.0.1, port: ${port}, user: root, privateKeyFile: ../keys/id, hostKeyFingerprint: "${labHostKeyFingerprint('lab/Server/web')}" }`,
        '---',
        'kind: File',
        'metadata: { name: motd }',
        'spec: { server: web, path: /etc/motd, content: "hello\\n" }',
        '',
      ].join('\n'),
    });
    writeFileSync(join(root, 'envs/keys/id'), readFileSync(join(root, 'envs/keys/id')), { mode: 0o600 });
    const sim = await startLinuxSimulator({ address: 'lab/Server/web', kind: 'Server', name: 'web', zone: 'school', spec: {}, connection: { host: '127.0.0.1', port, user: 'root', privateKeyFile: join(root, 'envs/keys/id') } });
    try {
      const r = await tracedCli(['plan', 'envs/lab', '--quiet'], root);
      assert.equal(r.code, 2, r.stderr);
      assert.ok(loaded(r.modules, /^dist\/providers\/servers\/linux\/driver\.js$/).length === 1, 'the ssh driver is loaded');
      assert.deepEqual(loaded(r.modules, /providers\/servers\/winrm\/(driver|transport|session|lab|simulator)/), [], 'no WinRM code');
      assert.deepEqual(loaded(r.modules, /providers\/network\/(ios|aoscx)\//), [], 'no switch driver code');
      assert.deepEqual(loaded(r.modules, /providers\/licenses\/snipeit\/(driver|simulator|sim-model|lab)\.js/), [], 'no Snipe-IT driver code');
      assert.deepEqual(loaded(r.modules, /providers\/security\/opnsense\/(driver|api|transaction|mapping|simulator)/), [], 'no firewall driver code');
      assert.deepEqual(loaded(r.modules, /providers\/endpoints\/intune\/(?!connection|odata-types|state)/), [], 'no Intune driver or simulator code');
      assert.deepEqual(loaded(r.modules, /providers\/software\/opsi\/(driver|rpc|read|lab)\.js/), [], 'no opsi driver code');
      assert.deepEqual(loaded(r.modules, /cel-js|@bufbuild/), [], 'no CEL library');
      assert.deepEqual(loaded(r.modules, /ajv\/dist\/(compile|core)|providers\/.*\/simulator\//), [], 'no ajv compiler, no simulator');
    } finally {
      await sim.stop();
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('a Policy resource loads CEL, and a run without one does not', async () => {
    const root = writeTree({
      'envs/a/environment.yaml': 'kind: Environment\nmetadata: { name: a }\nspec: { zone: school }\n',
      'envs/a/policy.yaml': 'kind: Policy\nmetadata: { name: p }\nspec: { rule: "resource.name != \'x\'", message: no x }\n',
      'envs/b/environment.yaml': 'kind: Environment\nmetadata: { name: b }\nspec: { zone: school }\n',
    });
    try {
      const withPolicy = await tracedCli(['validate', 'envs/a'], root);
      assert.equal(withPolicy.code, 0, withPolicy.stderr);
      assert.ok(loaded(withPolicy.modules, /cel-js/).length > 0, 'CEL is loaded for a Policy');
      const without = await tracedCli(['validate', 'envs/b'], root);
      assert.equal(without.code, 0, without.stderr);
      assert.deepEqual(loaded(without.modules, /cel-js/), []);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
