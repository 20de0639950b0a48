/**
 * `npm start`: the whole workflow once, against the built-in lab, so that a
 * new colleague sees plan -> approve -> apply -> converged re-plan without
 * touching a real device or this machine:
 *
 *   1. start `einklang lab environments/demo-city` (simulated servers, switches),
 *   2. per zone: plan (exit 2), approve as two demo reviewers, apply (exit 0),
 *      plan again (exit 0: converged),
 *   3. stop the lab.
 *
 * Every step runs the real CLI as a child process, exactly as CI would.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ed25519FromRawSeed, openSshPrivateKey } from '../providers/lab/identity.js';
import { packageRoot } from '../engine/paths.js';
import { prepareDemoApprovals } from './quickstart-approvals.js';

const CLI = join(packageRoot, 'dist/cli/main.js');
const DEMO = join(packageRoot, 'environments/demo-city');
const WORK = join(packageRoot, '.einklang/quickstart');

/** Lab credentials: the lab accepts whatever the manifests' secrets say; these are the demo's values. */
const LAB_SECRETS: Record<string, string> = {
  EINKLANG_SECRET_SCHOOL_SWITCH_PASSWORD: 'lab-switch-password',
  EINKLANG_SECRET_ADMINISTRATION_SWITCH_PASSWORD: 'lab-switch-password-verwaltung',
  EINKLANG_SECRET_ADMINISTRATION_WINDOWS_ADMIN_PASSWORD: 'Lab-Windows-Passw0rd!',
  EINKLANG_SECRET_SCHOOL_OPSI_PASSWORD: 'lab-opsi-password',
  EINKLANG_SECRET_ADMINISTRATION_OPSI_PASSWORD: 'lab-opsi-password-verwaltung',
};

const ZONES: { zone: string; envs: string[] }[] = [
  { zone: 'administration', envs: ['verwaltung'] },
  { zone: 'school', envs: ['schule-nord', 'gymnasium-sued'] },
];

function say(s: string): void {
  process.stdout.write(s + '\n');
}

function ensureLabKey(): void {
  const keyFile = join(DEMO, 'keys/id_ed25519');
  if (existsSync(keyFile)) return;
  mkdirSync(join(DEMO, 'keys'), { recursive: true });
  // A fresh key for this checkout; the lab authorises whatever key the manifests name.
  writeFileSync(keyFile, openSshPrivateKey(ed25519FromRawSeed(randomBytes(32)), 'einklang-quickstart'), { mode: 0o600 });
  say(`generated the lab's client key ${keyFile}`);
}

function run(args: string[], env: NodeJS.ProcessEnv): { code: number; out: string } {
  say(`\n$ einklang ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: packageRoot, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  say(`(exit ${r.status})`);
  return { code: r.status ?? 1, out: r.stdout };
}

async function main(): Promise<number> {
  ensureLabKey();
  mkdirSync(WORK, { recursive: true });
  const env: NodeJS.ProcessEnv = { ...process.env, ...LAB_SECRETS };
  for (const k of Object.keys(LAB_SECRETS)) if (process.env[k]) env[k] = process.env[k];

  say('$ einklang lab environments/demo-city');
  const lab = spawn(process.execPath, [CLI, 'lab', DEMO], { cwd: packageRoot, env, stdio: ['ignore', 'pipe', 'inherit'] });
  const ready = await new Promise<boolean>((resolve) => {
    let buf = '';
    const timer = setTimeout(() => resolve(false), 60_000);
    lab.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        say(`  lab: ${line}`);
        if (line === 'ready') {
          clearTimeout(timer);
          resolve(true);
        }
      }
    });
    lab.on('exit', () => resolve(false));
  });
  if (!ready) {
    say('the lab did not start');
    lab.kill('SIGTERM');
    return 1;
  }
  const results: string[] = [];
  let ok = true;
  try {
    for (const z of ZONES) {
      const paths = z.envs.map((e) => join('environments/demo-city', e));
      const planFile = join(WORK, `${z.zone}.plan.json`);
      say(`\n=== zone ${z.zone}: ${z.envs.join(', ')} ===`);
      const first = run(['plan', ...paths, '--out', planFile, '--author', 'quickstart@demo.invalid'], env);
      if (first.code !== 2) {
        ok = false;
        results.push(`${z.zone}: plan exited ${first.code}, expected 2 (changes)`);
        continue;
      }
      for (const args of prepareDemoApprovals(planFile, WORK, z.zone)) run(args, env);
      const applied = run(['apply', planFile], env);
      const again = run(['plan', ...paths, '--author', 'quickstart@demo.invalid'], env);
      const converged = applied.code === 0 && again.code === 0;
      ok &&= converged;
      results.push(`${z.zone}: plan 2 -> apply ${applied.code} -> re-plan ${again.code}${converged ? ' (converged)' : ' (NOT converged)'}`);
    }
  } finally {
    lab.kill('SIGTERM');
    await new Promise((r) => lab.once('exit', r));
    say('\nlab stopped');
  }
  say('\nQuickstart summary:');
  for (const r of results) say('  ' + r);
  say(ok ? 'All zones converged: re-plan shows no changes.' : 'Quickstart FAILED.');
  return ok ? 0 : 1;
}

main().then(
  (c) => process.exit(c),
  (e) => {
    process.stderr.write(`quickstart: ${(e as Error).message}\n`);
    process.exit(1);
  },
);
