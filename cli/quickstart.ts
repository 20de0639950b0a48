/**
 * `npm start`: the whole workflow once, against the built-in lab, so that a
 * new colleague sees plan -> approve -> apply -> converged re-plan without
 * touching a real device or this machine:
 *
 *   1. start `einklang lab environments/demo-city` (simulated servers and
 *      switches; each line names the identity the manifests pin),
 *   2. per zone: plan (exit 2), approve as two demo reviewers, apply (exit 0),
 *      apply the same plan again (one line: already applied), plan again
 *      (exit 0: converged),
 *   3. stop the lab.
 *
 * Every step runs the real CLI as a child process, exactly as CI would, with
 * the lab secrets of environments/demo-city/lab-secrets.env (a variable
 * already set in the environment wins). The output is a short story per zone;
 * the full plans (text, markdown, JSON) and apply reports are written to
 * .einklang/quickstart/, and the story names them.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, relative } from 'node:path';
import { ed25519FromRawSeed, openSshPrivateKey } from '../providers/lab/identity.js';
import { packageRoot } from '../engine/paths.js';
import type { Plan } from '../engine/types.js';
import { riskItems } from '../engine/render/view.js';
import { prepareDemoApprovals } from './quickstart-approvals.js';
import { readLabSecrets } from './lab-secrets.js';

const CLI = join(packageRoot, 'dist/cli/main.js');
const DEMO = join(packageRoot, 'environments/demo-city');
const SECRETS_FILE = join(DEMO, 'lab-secrets.env');
const WORK = join(packageRoot, '.einklang/quickstart');
const AUTHOR = 'quickstart@demo.invalid';

const ZONES: { zone: string; envs: string[] }[] = [
  { zone: 'administration', envs: ['verwaltung'] },
  { zone: 'school', envs: ['schule-nord', 'gymnasium-sued'] },
];

const rel = (p: string) => relative(packageRoot, p) || '.';

function say(s: string): void {
  process.stdout.write(s + '\n');
}

/** One step of the story: `  plan     27 to create, ...`. */
function step(name: string, text: string): void {
  say(`  ${name.padEnd(8)} ${text}`);
}

function ensureLabKey(): void {
  const keyFile = join(DEMO, 'keys/id_ed25519');
  if (existsSync(keyFile)) return;
  mkdirSync(join(DEMO, 'keys'), { recursive: true });
  // A fresh key for this checkout; the lab authorises whatever key the manifests name.
  writeFileSync(keyFile, openSshPrivateKey(ed25519FromRawSeed(randomBytes(32)), 'einklang-quickstart'), { mode: 0o600 });
  say(`generated the lab's client key ${rel(keyFile)}`);
}

function run(args: string[], env: NodeJS.ProcessEnv): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: packageRoot, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status ?? 1, out: r.stdout, err: r.stderr };
}

/** What went wrong, briefly: a step's first lines of stderr (or stdout). */
function why(r: { out: string; err: string }): void {
  for (const line of (r.err.trim() || r.out.trim()).split('\n').slice(0, 8)) say(`           ${line}`);
}

/** The last line of `text` that starts with `prefix` (`Plan: `, `Apply: `), without the prefix and the full stop. */
const summary = (text: string, prefix: string) =>
  text
    .split('\n')
    .filter((l) => l.startsWith(prefix))
    .pop()
    ?.slice(prefix.length)
    .replace(/\.$/, '');

/** Starts the lab; resolves with its lines (one per simulator) once it says `ready`, or undefined. */
function startLab(env: NodeJS.ProcessEnv): { lab: ReturnType<typeof spawn>; ready: Promise<string[] | undefined> } {
  const lab = spawn(process.execPath, [CLI, 'lab', DEMO], { cwd: packageRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const ready = new Promise<string[] | undefined>((resolve) => {
    const lines: string[] = [];
    let buf = '';
    let err = '';
    const timer = setTimeout(() => resolve(undefined), 60_000);
    lab.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    lab.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line !== 'ready') lines.push(line);
        else {
          clearTimeout(timer);
          resolve(lines);
        }
      }
    });
    lab.on('exit', () => {
      clearTimeout(timer);
      if (err.trim()) for (const l of err.trim().split('\n').slice(0, 8)) say(`  lab: ${l}`);
      resolve(undefined);
    });
  });
  return { lab, ready };
}

/** plan -> approve -> apply -> apply again -> re-plan for one zone; true when it converged. */
function zoneStory(z: { zone: string; envs: string[] }, env: NodeJS.ProcessEnv): boolean {
  const paths = z.envs.map((e) => rel(join(DEMO, e)));
  const file = (ext: string) => join(WORK, `${z.zone}.${ext}`);
  const planFile = file('plan.json');
  say(`\nzone ${z.zone} (${z.envs.join(', ')})`);

  const planned = run(['plan', ...paths, '--out', planFile, '--author', AUTHOR, '--quiet'], env);
  writeFileSync(file('plan.txt'), planned.out);
  if (planned.code !== 2) {
    step('plan', `exit ${planned.code}, expected 2 (changes)`);
    why(planned);
    return false;
  }
  const markdown = run(['show', planFile, '--format', 'markdown'], env);
  writeFileSync(file('plan.md'), markdown.out);
  step('plan', `${summary(planned.out, 'Plan: ') ?? '?'} (exit 2)`);
  step('', `full plan: ${rel(file('plan.txt'))}, also .md (merge request) and .json (what apply takes)`);
  const risks = riskItems(JSON.parse(readFileSync(planFile, 'utf8')) as Plan);
  step('risk', risks.length ? `${risks.length} item(s) a reviewer reads first: see the top of the full plan` : 'none: no rule changes, deletes, prunes or flagged switch changes');

  for (const args of prepareDemoApprovals(planFile, WORK, z.zone)) {
    const r = run(args, env);
    if (r.code !== 0) {
      step('approve', `exit ${r.code}`);
      why(r);
      return false;
    }
  }
  const signed = JSON.parse(readFileSync(planFile, 'utf8')) as Plan;
  step('approve', `${signed.approvals.map((a) => a.reviewer).join(', ')} signed: ${signed.approvals.length} approval(s), ${signed.approvalsRequired.count} needed (exit 0)`);

  const applied = run(['apply', planFile, '--quiet'], env);
  writeFileSync(file('apply.txt'), applied.out + applied.err);
  step('apply', `${summary(applied.out, 'Apply: ') ?? 'refused'} (exit ${applied.code}); report: ${rel(file('apply.txt'))}`);
  if (applied.code !== 0) why(applied);

  const again = run(['apply', planFile, '--quiet'], env);
  step('again', `${again.out.trim().split('\n')[0] || again.err.trim().split('\n')[0]} (exit ${again.code})`);

  const replan = run(['plan', ...paths, '--author', AUTHOR, '--quiet'], env);
  const converged = applied.code === 0 && replan.code === 0;
  step('re-plan', converged ? 'no changes: the live state matches the manifests (exit 0)' : `exit ${replan.code}: NOT converged`);
  if (!converged && replan.code !== 0) why(replan);
  return converged;
}

async function main(): Promise<number> {
  say('einklang quickstart: the demo city (environments/demo-city) against the built-in lab; nothing leaves this machine.');
  ensureLabKey();
  mkdirSync(WORK, { recursive: true });
  const secrets = readLabSecrets(SECRETS_FILE);
  for (const s of secrets.skipped) say(`${rel(SECRETS_FILE)}: ${s}; skipped`);
  const env: NodeJS.ProcessEnv = { ...secrets.values, ...process.env };
  say(`secrets: ${Object.keys(secrets.values).length} lab value(s) from ${rel(SECRETS_FILE)}`);

  const { lab, ready } = startLab(env);
  const sims = await ready;
  if (!sims) {
    say('the lab did not start');
    lab.kill('SIGTERM');
    return 1;
  }
  say(`lab: ${sims.length} simulated systems on 127.0.0.1, each with the identity its manifest pins:`);
  for (const line of sims) say(`  ${line}`);
  let ok = true;
  try {
    for (const z of ZONES) ok = zoneStory(z, env) && ok;
  } finally {
    lab.kill('SIGTERM');
    await new Promise((r) => lab.once('exit', r));
  }
  say('');
  say(ok ? 'All zones converged: re-plan shows no changes. The lab is stopped.' : 'Quickstart FAILED (see above). The lab is stopped.');
  say(`Next: node dist/cli/main.js show ${rel(join(WORK, 'school.plan.json'))} --format markdown   (the plan as a merge-request comment)`);
  return ok ? 0 : 1;
}

main().then(
  (c) => process.exit(c),
  (e) => {
    process.stderr.write(`quickstart: ${(e as Error).message}\n`);
    process.exit(1);
  },
);
