/**
 * Bench case `ssh` (issue 2): einklang against Ansible on the same real
 * OpenSSH hosts.
 *
 * Starts `hosts` sshd processes on free 127.0.0.1 ports (test/support/sshd.ts:
 * host and client keys generated per host), each with its own temp tree, and
 * writes for them an einklang environment (one Server and `files` File
 * resources per host) and the equivalent Ansible inventory and playbook
 * (ansible.builtin.copy with content/mode/dest; forks=10, pipelining, host
 * key checking against a generated known_hosts). Half the files are already
 * on the hosts with the declared content and mode, half are missing, so both
 * tools have the same diff to show.
 *
 * Order (the einklang plan must see the hosts unchanged, and apply uses it):
 *   1. einklang plan, `runs` times (exit 2): half before Ansible, half after
 *   2. ansible-playbook --check --diff, once without fact gathering and once
 *      as the default play (gathers facts); both change nothing
 *   3. einklang apply of the last plan (exit 0), then the hosts are checked
 *   4. einklang plan again, `runs` times (exit 0: no-op)
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { stringify } from 'yaml';
import { sshdUnavailableReason, startSshd, type RunningSshd } from '../test/support/sshd.js';
import { deferCleanup, fmtMB, fmtRuns, fmtSeconds, median, repeatEinklang, runEinklang, tempDir, timingRows, type BenchReport, type Row } from './harness.js';

export interface SshBenchOptions {
  hosts: number;
  files: number;
  /** einklang runs per measurement (median reported). */
  runs: number;
  /** Run the Ansible baseline (false: --no-ansible). */
  ansible: boolean;
  ansibleTimeoutSeconds?: number;
}

export const ANSIBLE_PLAYBOOK = process.env.ANSIBLE_PLAYBOOK ?? '/usr/bin/ansible-playbook';

const PLAN_TARGET_RATIO = 50;
const RSS_TARGET_BYTES = 300 * 1024 * 1024;
/** The CLI prints its stage timings (engine/timings.ts) for the breakdown rows. */
const TIMINGS = { EINKLANG_TIMINGS: '1' };

interface Host {
  name: string;
  sshd: RunningSshd;
  tree: string;
  files: { name: string; path: string; content: string; mode: string; present: boolean }[];
}

/** Starts one sshd, registered for cleanup at once (also killed via its pid file if the bench dies). */
async function startHost(): Promise<RunningSshd> {
  const sshd = await startSshd();
  const pidFile = join(sshd.dir, 'sshd.pid');
  deferCleanup(`sshd on port ${sshd.port}`, () => sshd.stop(), () => {
    try {
      process.kill(Number(readFileSync(pidFile, 'utf8').trim()), 'SIGTERM');
    } catch {
      // already gone
    }
    rmSync(sshd.dir, { recursive: true, force: true });
  });
  return sshd;
}

async function startHosts(n: number, filesPerHost: number): Promise<Host[]> {
  const started = await Promise.allSettled(Array.from({ length: n }, () => startHost()));
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
  const width = String(n).length < 2 ? 2 : String(n).length;
  return started.map((s, i) => {
    const sshd = (s as PromiseFulfilledResult<RunningSshd>).value;
    const name = `host-${String(i + 1).padStart(width, '0')}`;
    const tree = join(sshd.dir, 'tree');
    mkdirSync(join(tree, 'etc'), { recursive: true });
    const files = Array.from({ length: filesPerHost }, (_, j) => {
      const fname = `app-${String(j + 1).padStart(2, '0')}.conf`;
      return {
        name: `${name}-${fname.replace('.conf', '')}`,
        path: join(tree, 'etc', fname),
        content: fileContent(name, j),
        mode: j % 2 ? '0640' : '0644',
        present: j < filesPerHost / 2,
      };
    });
    for (const f of files) {
      if (!f.present) continue;
      writeFileSync(f.path, f.content);
      chmodSync(f.path, parseInt(f.mode, 8));
    }
    return { name, sshd, tree, files };
  });
}

/** A config file of a few hundred bytes, different per host and file. */
function fileContent(host: string, j: number): string {
  const lines = [`# managed by einklang bench`, `[service]`, `host = ${host}`, `instance = ${j + 1}`];
  for (let k = 0; k < 12; k++) lines.push(`option_${k} = value-${host}-${j}-${k}`);
  return lines.join('\n') + '\n';
}

function writeEinklangEnvironment(dir: string, hosts: Host[]): string {
  const env = join(dir, 'einklang', 'bench');
  mkdirSync(env, { recursive: true });
  const doc = (kind: string, name: string, spec: unknown) => stringify({ apiVersion: 'einklang/v1', kind, metadata: { name }, spec });
  writeFileSync(join(env, 'environment.yaml'), doc('Environment', 'bench', { zone: 'school', description: 'npm run bench: ssh case' }));
  // Client keys must lie inside the repository (engine/local-files.ts): a copy per host beside the environment.
  const keys = join(dir, 'einklang', 'keys');
  mkdirSync(keys, { recursive: true });
  for (const h of hosts) {
    const keyFile = join(keys, h.name);
    writeFileSync(keyFile, readFileSync(h.sshd.privateKeyFile), { mode: 0o600 });
    const docs = [
      doc('Server', h.name, {
        os: 'linux',
        connection: {
          driver: 'ssh',
          host: '127.0.0.1',
          port: h.sshd.port,
          user: 'root',
          privateKeyFile: keyFile,
          hostKeyFingerprint: h.sshd.hostKeyFingerprint,
        },
      }),
      ...h.files.map((f) => doc('File', f.name, { server: h.name, path: f.path, content: f.content, mode: f.mode })),
    ];
    writeFileSync(join(env, `${h.name}.yaml`), docs.join('---\n'));
  }
  return env;
}

function writeAnsibleProject(dir: string, hosts: Host[]): string {
  const a = join(dir, 'ansible');
  for (const d of ['', 'home', 'local-tmp', 'remote-tmp', 'cp']) mkdirSync(join(a, d), { recursive: true });
  const knownHosts = hosts.map((h) => {
    const [type, key] = readFileSync(join(h.sshd.dir, 'host_ed25519.pub'), 'utf8').trim().split(/\s+/);
    return `[127.0.0.1]:${h.sshd.port} ${type} ${key}`;
  });
  writeFileSync(join(a, 'known_hosts'), knownHosts.join('\n') + '\n');
  writeFileSync(
    join(a, 'ansible.cfg'),
    [
      '[defaults]',
      'forks = 10',
      'host_key_checking = True',
      'interpreter_python = /usr/bin/python3',
      `local_tmp = ${join(a, 'local-tmp')}`,
      `remote_tmp = ${join(a, 'remote-tmp')}`,
      'retry_files_enabled = False',
      'nocolor = True',
      '',
      '[ssh_connection]',
      'pipelining = True',
      `control_path_dir = ${join(a, 'cp')}`,
      `ssh_args = -C -o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=${join(a, 'known_hosts')} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes`,
      '',
    ].join('\n'),
  );
  const inventory = {
    all: {
      vars: { ansible_user: 'root' },
      hosts: Object.fromEntries(
        hosts.map((h) => [
          h.name,
          {
            ansible_host: '127.0.0.1',
            ansible_port: h.sshd.port,
            ansible_ssh_private_key_file: h.sshd.privateKeyFile,
            bench_files: h.files.map((f) => ({ dest: f.path, content: f.content, mode: f.mode })),
          },
        ]),
      ),
    },
  };
  writeFileSync(join(a, 'inventory.yml'), stringify(inventory));
  const playbook = [
    {
      name: 'bench files',
      hosts: 'all',
      // Like einklang's plan, read and compare only: no fact gathering.
      gather_facts: false,
      tasks: [
        {
          name: 'files',
          'ansible.builtin.copy': { dest: '{{ item.dest }}', content: '{{ item.content }}', mode: '{{ item.mode }}' },
          loop: '{{ bench_files }}',
          loop_control: { label: '{{ item.dest }}' },
        },
      ],
    },
  ];
  writeFileSync(join(a, 'playbook.yml'), stringify(playbook));
  // The same play as most playbooks are written: Ansible's default, gathering facts first.
  const { gather_facts: _off, ...withFacts } = playbook[0];
  writeFileSync(join(a, 'playbook-default.yml'), stringify([withFacts]));
  return a;
}

interface AnsibleRun {
  seconds: number;
  code: number;
  changedItems: number;
  okItems: number;
  recap: string;
  logFile: string;
}

function runAnsible(dir: string, timeoutSeconds: number, playbook = 'playbook.yml'): Promise<AnsibleRun> {
  const logFile = join(dir, `ansible-output-${playbook.replace(/\.yml$/, '')}.txt`);
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(ANSIBLE_PLAYBOOK, ['-i', 'inventory.yml', playbook, '--check', '--diff'], {
      cwd: dir,
      env: {
        ...process.env,
        ANSIBLE_CONFIG: join(dir, 'ansible.cfg'),
        ANSIBLE_HOME: join(dir, 'home'),
        ANSIBLE_NOCOLOR: '1',
        ANSIBLE_FORCE_COLOR: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stopChild = deferCleanup('ansible-playbook', () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutSeconds * 1000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      void stopChild();
      const seconds = (performance.now() - t0) / 1000;
      writeFileSync(logFile, out);
      const recapAt = out.indexOf('PLAY RECAP');
      resolve({
        seconds,
        code: code ?? -1,
        changedItems: (out.match(/^changed: \[[^\]]+\] => \(item=/gm) ?? []).length,
        okItems: (out.match(/^ok: \[[^\]]+\] => \(item=/gm) ?? []).length,
        recap: recapAt >= 0 ? out.slice(recapAt) : out.split('\n').slice(-30).join('\n'),
        logFile,
      });
    });
  });
}

/** After apply: every file has its declared content and mode. Returns the mismatches. */
function checkHosts(hosts: Host[]): string[] {
  const bad: string[] = [];
  for (const h of hosts) {
    for (const f of h.files) {
      if (!existsSync(f.path)) bad.push(`${f.path}: missing`);
      else if (readFileSync(f.path, 'utf8') !== f.content) bad.push(`${f.path}: content differs`);
      else if ((statSync(f.path).mode & 0o7777) !== parseInt(f.mode, 8)) bad.push(`${f.path}: mode ${(statSync(f.path).mode & 0o7777).toString(8)}`);
    }
  }
  return bad;
}

function ansibleVersion(): string {
  const r = spawnSync(ANSIBLE_PLAYBOOK, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n')[0].trim() : 'ansible-playbook';
}

export async function benchSsh(o: SshBenchOptions): Promise<BenchReport> {
  const title = `case ssh: ${o.hosts} hosts x ${o.files} files, real OpenSSH sshd on 127.0.0.1`;
  const why = sshdUnavailableReason();
  if (why) return { title, notes: [`not available: ${why}`], rows: [] };
  const notes: string[] = [];
  const rows: Row[] = [];
  const log = (s: string) => process.stdout.write(`   [ssh] ${s}\n`);

  const dir = tempDir('einklang-bench-ssh-');
  log(`starting ${o.hosts} sshd hosts...`);
  const hosts = await startHosts(o.hosts, o.files);
  const env = writeEinklangEnvironment(dir, hosts);
  const ansibleDir = writeAnsibleProject(dir, hosts);
  const total = o.hosts * o.files;
  const present = hosts.reduce((n, h) => n + h.files.filter((f) => f.present).length, 0);
  notes.push(`hosts: sshd on ports ${hosts.map((h) => h.sshd.port).join(', ')}`);
  notes.push(`machine: ${cpus().length} CPUs, load average ${loadavg()[0].toFixed(1)} at start (other work on the machine slows both tools)`);
  notes.push(`state before: ${present} of ${total} files present and correct, ${total - present} to create`);

  // 1. einklang plan, before anything touches the hosts: half the runs before
  //    Ansible and half after (check mode changes nothing), so that both tools
  //    are sampled under the same load on a shared machine.
  const planFile = join(dir, 'plan.json');
  const planArgs = ['plan', env, '--out', planFile];
  const before = Math.ceil(o.runs / 2);
  log(`einklang plan x${before}...`);
  const plans = await repeatEinklang(before, planArgs, { cwd: dir, expect: [2], env: TIMINGS });
  const plan = JSON.parse(readFileSync(planFile, 'utf8')) as { summary: Record<string, number>; changes: unknown[] };
  notes.push(`einklang plan: exit 2, ${plan.changes.length} changes, summary ${JSON.stringify(plan.summary)}`);

  // 2. Ansible baselines (check mode: changes nothing): the tight one without
  //    fact gathering (the same read-and-compare work as einklang's plan), and
  //    the default play, which gathers facts first as most playbooks do.
  let ansible: AnsibleRun | undefined;
  let ansibleDefault: AnsibleRun | undefined;
  if (!o.ansible) {
    notes.push('ansible: skipped (--no-ansible)');
  } else if (!existsSync(ANSIBLE_PLAYBOOK)) {
    notes.push(`ansible: ${ANSIBLE_PLAYBOOK} not found; install it with: apt-get install ansible  (einklang's numbers below stand alone)`);
  } else {
    log(`${ansibleVersion()} --check --diff (forks=10, pipelining; this takes a while)...`);
    ansible = await runAnsible(ansibleDir, o.ansibleTimeoutSeconds ?? 900);
    log('ansible-playbook --check --diff again, default play (gathers facts)...');
    ansibleDefault = await runAnsible(ansibleDir, o.ansibleTimeoutSeconds ?? 900, 'playbook-default.yml');
    for (const [label, run] of [['gather_facts: false', ansible], ['default play', ansibleDefault]] as const) {
      notes.push(
        `ansible-playbook --check --diff (${label}): exit ${run.code}, ${run.changedItems} files would change, ${run.okItems} ok` +
          (run.code === 0 ? '' : ` -- FAILED, output in ${run.logFile} (removed at cleanup):\n${run.recap}`),
      );
    }
  }

  if (o.runs > before) {
    log(`einklang plan x${o.runs - before}...`);
    plans.push(...(await repeatEinklang(o.runs - before, planArgs, { cwd: dir, expect: [2], env: TIMINGS })));
  }
  const planMedian = median(plans.map((r) => r.seconds));
  const planRss = Math.max(...plans.map((r) => r.peakRssBytes));

  notes.push(`load average ${loadavg()[0].toFixed(1)} after the plan runs`);

  // 3. apply the last plan, then look at the hosts.
  log('einklang apply...');
  const apply = await runEinklang(['apply', planFile], { cwd: dir, expect: [0] });
  const summary = /\d+ applied, \d+ failed, \d+ skipped/.exec(apply.stdout)?.[0] ?? 'no summary line';
  const bad = checkHosts(hosts);
  notes.push(`einklang apply: exit 0, ${summary}; hosts checked: ${bad.length ? `${bad.length} mismatches: ${bad.slice(0, 5).join('; ')}` : `all ${total} files with declared content and mode`}`);

  // 4. no-op re-plan.
  log(`einklang no-op plan x${o.runs}...`);
  const noops = await repeatEinklang(o.runs, ['plan', env], { cwd: dir, expect: [0], env: TIMINGS });

  rows.push({ metric: `einklang plan (${total - present} to create)`, value: fmtRuns(plans.map((r) => r.seconds)) });
  if (ansible && ansibleDefault) {
    for (const [label, run] of [['gather_facts: false', ansible], ['default play, gathers facts', ansibleDefault]] as const) {
      rows.push({ metric: `ansible --check --diff (${label})`, value: fmtSeconds(run.seconds) + (run.code === 0 ? '' : ` (exit ${run.code})`) });
      const ratio = run.seconds / planMedian;
      rows.push({ metric: `  ratio to einklang plan`, value: `${ratio.toFixed(0)}x faster`, target: `>= ${PLAN_TARGET_RATIO}x`, ok: run.code === 0 && ratio >= PLAN_TARGET_RATIO });
    }
  } else {
    rows.push({ metric: 'ratio ansible / einklang plan', value: 'n/a (no ansible run)', target: `>= ${PLAN_TARGET_RATIO}x` });
  }
  rows.push({ metric: 'einklang plan peak RSS (max of runs)', value: fmtMB(planRss), target: '< 300 MB', ok: planRss < RSS_TARGET_BYTES });
  rows.push({ metric: `einklang apply (${summary.split(',')[0]})`, value: fmtSeconds(apply.seconds) });
  rows.push({ metric: 'einklang apply peak RSS', value: fmtMB(apply.peakRssBytes), target: '< 300 MB', ok: apply.peakRssBytes < RSS_TARGET_BYTES });
  rows.push({ metric: 'einklang no-op re-plan', value: fmtRuns(noops.map((r) => r.seconds)) });
  rows.push(...timingRows(plans, 'plan'), ...timingRows(noops, 'no-op plan'));
  if (bad.length) rows.push({ metric: 'hosts after apply', value: `${bad.length} mismatches`, ok: false });
  return { title, notes, rows };
}
