/**
 * Issue 15 item 7 through the real CLI: the lab names the identity each
 * simulator presents, as the manifest fields that pin it, so a new lab host
 * is written by copying them; the demo's secrets file reads as a shell reads
 * it; and `npm start` (the quickstart) tells a short story per zone, under
 * 120 lines, naming the full plans it wrote.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../engine/paths.js';
import { ed25519FromRawSeed, openSshPrivateKey } from '../../providers/lab/identity.js';
import { labHostKeyFingerprint } from '../../providers/servers/linux/simulator/server.js';
import { aoscxCertFingerprint } from '../../providers/network/aoscx/simulator/index.js';
import { readLabSecrets } from '../../cli/lab-secrets.js';
import { CLI, runCli, writeTree } from '../support/cli.js';
import { freePort } from '../support/sshd.js';

const WRONG_KEY = 'SHA256:' + 'A'.repeat(43);
const WRONG_CERT = Array(32).fill('00').join(':');

/** Runs `einklang lab` until it says ready; returns its simulator lines and a stop function. */
async function lab(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ lines: string[]; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [CLI, 'lab', ...args], { cwd, env: { ...process.env, CI: 'true', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const lines = await new Promise<string[]>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      if (/^ready$/m.test(out)) resolve(out.split('\n').filter((l) => l && l !== 'ready'));
    });
    child.on('exit', (code) => reject(new Error(`lab exited ${code}: ${err}`)));
  });
  return { lines, stop: () => new Promise<void>((r) => (child.once('exit', () => r()), child.kill('SIGTERM'))) };
}

describe('cli: the lab prints the identities the manifests pin', function () {
  this.timeout(60_000);

  it('a Linux host and an AOS-CX switch: printed pins are the simulators\' and a plan with them connects, one with others does not', async () => {
    const [ssh, rest, cli] = [await freePort(), await freePort(), await freePort()];
    const manifests = (serverPin: string, certPin: string, switchPin: string) =>
      [
        'kind: Server',
        'metadata: { name: web }',
        `spec: { os: linux, connection: { driver: ssh, host: 127.0.0.1, port: ${ssh}, user: root, privateKeyFile: ../keys/id, hostKeyFingerprint: "${serverPin}" } }`,
        '---',
        'kind: Switch',
        'metadata: { name: access-01 }',
        `spec: { connection: { driver: aoscx, host: 127.0.0.1, port: ${rest}, sshPort: ${cli}, user: admin, password: "\${secret:SWITCH_PASSWORD}", tlsFingerprint: "${certPin}", hostKeyFingerprint: "${switchPin}" } }`,
        '',
      ].join('\n');
    const root = writeTree({
      'envs/keys/id': openSshPrivateKey(ed25519FromRawSeed(randomBytes(32))),
      'envs/lab/environment.yaml': 'kind: Environment\nmetadata: { name: lab }\nspec: { zone: school }\n',
      'envs/lab/targets.yaml': manifests(WRONG_KEY, WRONG_CERT, WRONG_KEY),
    });
    chmodSync(join(root, 'envs/keys/id'), 0o600);
    const env = { EINKLANG_SECRET_SCHOOL_SWITCH_PASSWORD: 'lab-pw' };
    const running = await lab(['envs/lab'], root, env);
    try {
      const pinned = (address: string) => {
        const line = running.lines.find((l) => l.includes(`for ${address})`));
        assert.ok(line, `no line for ${address}: ${running.lines.join('\n')}`);
        return Object.fromEntries([...line.matchAll(/(hostKeyFingerprint|tlsFingerprint) "([^"]+)"/g)].map((m) => [m[1], m[2]]));
      };
      assert.deepEqual(pinned('lab/Server/web'), { hostKeyFingerprint: labHostKeyFingerprint('lab/Server/web') });
      const sw = pinned('lab/Switch/access-01');
      assert.deepEqual(sw, { tlsFingerprint: aoscxCertFingerprint({ address: 'lab/Switch/access-01', name: 'access-01' }), hostKeyFingerprint: labHostKeyFingerprint('lab/Switch/access-01') });
      assert.match(running.lines.find((l) => l.includes('lab/Server/web'))!, new RegExp(`^ssh://127\\.0\\.0\\.1:${ssh} `), 'the identity is next to the address');

      const wrong = await runCli(['plan', 'envs/lab', '--quiet'], { cwd: root, env });
      assert.equal(wrong.code, 1, 'the placeholder pins are refused');
      writeFileSync(join(root, 'envs/lab/targets.yaml'), manifests(pinned('lab/Server/web').hostKeyFingerprint, sw.tlsFingerprint, sw.hostKeyFingerprint));
      const copied = await runCli(['plan', 'envs/lab', '--quiet'], { cwd: root, env });
      assert.equal(copied.code, 0, `the copied pins connect: ${copied.stdout}${copied.stderr}`);
    } finally {
      await running.stop();
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('the demo secrets file', () => {
  it('reads as a shell reads it: NAME=value, export, quotes, comments; other lines are skipped by number, never echoed', () => {
    const root = writeTree({
      'a.env': [
        '# comment',
        '',
        'EINKLANG_SECRET_SCHOOL_A=plain',
        'export EINKLANG_SECRET_SCHOOL_B="double \\"quoted\\" $"',
        "EINKLANG_SECRET_SCHOOL_C='single # not a comment!'",
        'EINKLANG_SECRET_SCHOOL_D=bare # a comment',
        'PATH=/evil',
        'not a line with hunter2',
        '',
      ].join('\n'),
    });
    try {
      const r = readLabSecrets(join(root, 'a.env'));
      assert.deepEqual(r.values, { EINKLANG_SECRET_SCHOOL_A: 'plain', EINKLANG_SECRET_SCHOOL_B: 'double "quoted" $', EINKLANG_SECRET_SCHOOL_C: 'single # not a comment!', EINKLANG_SECRET_SCHOOL_D: 'bare' });
      assert.deepEqual(r.skipped, ['line 7: PATH is not an EINKLANG_SECRET_<ZONE>_<NAME>', 'line 8: not NAME=value']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('the committed file holds every secret the demo manifests use, for the zones that use them', () => {
    const { values, skipped } = readLabSecrets(join(packageRoot, 'environments/demo-city/lab-secrets.env'));
    assert.deepEqual(skipped, []);
    const used = new Set<string>();
    const walk = (dir: string, zone: string | undefined) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) {
          const envFile = join(p, 'environment.yaml');
          const z = existsSync(envFile) ? /zone: (\w+)/.exec(readFileSync(envFile, 'utf8'))?.[1] : zone;
          walk(p, z);
        } else if (e.name.endsWith('.yaml') && zone) for (const m of readFileSync(p, 'utf8').matchAll(/\$\{secret:([A-Z0-9_]+)\}/g)) used.add(`EINKLANG_SECRET_${zone.toUpperCase()}_${m[1]}`);
      }
    };
    walk(join(packageRoot, 'environments/demo-city'), undefined);
    // profiles are shared by the school environments: their secrets are the school zone's
    for (const m of readdirSync(join(packageRoot, 'environments/demo-city/profiles'), { recursive: true }).map(String).filter((f) => f.endsWith('.yaml'))) {
      for (const s of readFileSync(join(packageRoot, 'environments/demo-city/profiles', m), 'utf8').matchAll(/\$\{secret:([A-Z0-9_]+)\}/g)) used.add(`EINKLANG_SECRET_SCHOOL_${s[1]}`);
    }
    for (const name of used) assert.ok(name in values, `${name} is used by the demo but not in lab-secrets.env`);
  });
});

describe('npm start (the quickstart)', function () {
  this.timeout(180_000);

  it('tells a short story per zone in under 120 lines, converges, and writes the full plans it names', async () => {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('EINKLANG_')) env[k] = v;
    const r = await new Promise<{ code: number | null; out: string; err: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [join(packageRoot, 'dist/cli/quickstart.js')], { cwd: packageRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, out, err }));
    });
    assert.equal(r.code, 0, r.out + r.err);
    const lines = r.out.split('\n').filter((l, i, a) => l || i < a.length - 1);
    assert.ok(lines.length < 120, `${lines.length} lines:\n${r.out}`);
    assert.equal(r.err, '', 'nothing on stderr: no progress lines after the results');
    for (const zone of ['administration', 'school']) {
      const story = r.out.slice(r.out.indexOf(`\nzone ${zone} `));
      for (const s of ['plan', 'risk', 'approve', 'apply', 'again', 're-plan']) assert.match(story, new RegExp(`^  ${s} +\\S`, 'm'), `${zone}: ${s}`);
      assert.match(story, /^ {2}again {4}already applied \(journal entry \d+/m);
      assert.match(story, /^ {2}re-plan {2}no changes/m);
      for (const ext of ['plan.txt', 'plan.md', 'plan.json', 'apply.txt']) {
        const file = `.einklang/quickstart/${zone}.${ext}`;
        assert.ok(existsSync(join(packageRoot, file)), `${file} is missing`);
      }
      assert.ok(r.out.includes(`.einklang/quickstart/${zone}.plan.txt`), 'the story names the full plan');
      assert.match(readFileSync(join(packageRoot, `.einklang/quickstart/${zone}.plan.txt`), 'utf8'), /^Plan for /);
    }
    assert.match(r.out, /^All zones converged/m);
    // every identity the lab printed is one the demo manifests pin (the plans connected with them)
    const demo = readdirSync(join(packageRoot, 'environments/demo-city'), { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => readFileSync(join(packageRoot, 'environments/demo-city', f), 'utf8'))
      .join('\n');
    const pins = [...r.out.matchAll(/(?:hostKeyFingerprint|tlsFingerprint) "([^"]+)"/g)].map((m) => m[1]);
    assert.ok(pins.length >= 10, `${pins.length} pins printed`);
    for (const p of pins) assert.ok(demo.includes(p), `${p} is not pinned in the demo`);
  });
});
