/**
 * The bench cases built on other modules (bench/network.ts, bench/winrm.ts,
 * bench/policies.ts). Each module is loaded only if bench/NAME.ts exists (and
 * was compiled) and exports the expected function; otherwise the case reports
 * "not available". The modules are imported by a computed path and described
 * by local types, so this file compiles whether they exist or not.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { stringify } from 'yaml';
import { packageRoot } from '../engine/paths.js';
import { deferCleanup, fmtMB, fmtRuns, median, repeatEinklang, reportFromObject, runEinklang, tempDir, type BenchReport, type Row } from './harness.js';

type Loaded = { fn: (...args: unknown[]) => Promise<unknown> } | { unavailable: BenchReport };

async function load(name: string, fn: string): Promise<Loaded> {
  const js = join(packageRoot, 'dist', 'bench', `${name}.js`);
  if (!existsSync(join(packageRoot, 'bench', `${name}.ts`)) || !existsSync(js)) {
    return { unavailable: { title: `case ${name}: not available (bench/${name}.ts missing)`, rows: [] } };
  }
  const mod = (await import(pathToFileURL(js).href)) as Record<string, unknown>;
  if (typeof mod[fn] !== 'function') return { unavailable: { title: `case ${name}: not available (bench/${name}.ts does not export ${fn})`, rows: [] } };
  return { fn: mod[fn] as (...args: unknown[]) => Promise<unknown> };
}

function machineNote(): string {
  return `machine: ${cpus().length} CPUs, load average ${loadavg()[0].toFixed(1)} (other work on the machine slows every number)`;
}

/** Plan (exit 2), apply it (exit 0), then `runs` no-op plans (exit 0), each einklang run timed as a child process. */
async function planApplyReplan(envDir: string, cwd: string, env: NodeJS.ProcessEnv, runs: number) {
  const planFile = join(cwd, 'plan.json');
  const log = (s: string) => process.stdout.write(`   [${basename(envDir)}] ${s}\n`);
  log('einklang plan...');
  const plan = await runEinklang(['plan', envDir, '--out', planFile], { cwd, env, expect: [2] });
  log('einklang apply...');
  const apply = await runEinklang(['apply', planFile], { cwd, env, expect: [0] });
  log(`einklang no-op plan x${runs}...`);
  const noops = await repeatEinklang(runs, ['plan', envDir], { cwd, env, expect: [0] });
  const applied = /\d+ applied, \d+ failed, \d+ skipped/.exec(apply.stdout)?.[0] ?? 'no summary line';
  const planned = (JSON.parse(readFileSync(planFile, 'utf8')) as { changes: unknown[] }).changes.length;
  const peak = Math.max(plan.peakRssBytes, apply.peakRssBytes, ...noops.map((r) => r.peakRssBytes));
  return { plan, apply, noops, applied, planned, peak, noopMedian: median(noops.map((r) => r.seconds)) };
}

// ---------------------------------------------------------------- winrm (issue 4)

interface WinrmBenchTarget {
  name: string;
  zone: string;
  password: string;
  passwordSecret: string;
  connection: Record<string, unknown>;
}

/** One Server plus 20 resources: a directory, 10 files, a group, a user, a service, a feature, 5 registry values. */
function winrmHostManifest(t: WinrmBenchTarget, i: number): string {
  const doc = (kind: string, name: string, spec: Record<string, unknown>) =>
    stringify({ apiVersion: 'einklang/v1', kind, metadata: { name }, spec: kind === 'Server' ? spec : { server: t.name, ...spec } });
  const docs = [
    doc('Server', t.name, { os: 'windows', connection: t.connection }),
    doc('Directory', `${t.name}-shares`, { path: 'C:\\Shares' }),
    doc('Group', `${t.name}-verwaltung`, { name: 'Verwaltung' }),
    doc('User', `${t.name}-sachbearbeitung`, { name: 'sachbearbeitung', comment: 'Sachbearbeitung', groups: ['Verwaltung'] }),
    doc('Service', `${t.name}-w32time`, { name: 'W32Time', enabled: true, state: 'running' }),
    doc('WindowsFeature', `${t.name}-fsrm`, { name: 'FS-Resource-Manager' }),
  ];
  for (let j = 0; j < 10; j++) docs.push(doc('File', `${t.name}-datei-${j}`, { path: `C:\\Shares\\datei-${j}.txt`, content: `host ${i} file ${j}\r\n` }));
  for (let j = 0; j < 5; j++) {
    docs.push(doc('RegistryValue', `${t.name}-wert-${j}`, { path: 'HKLM:\\SOFTWARE\\Policies\\Stadt', name: `Wert${j}`, type: 'DWord', data: j }));
  }
  return docs.join('---\n');
}

export async function winrmCase(n: number, runs: number, transport: 'http' | 'https' = 'https'): Promise<BenchReport> {
  const loaded = await load('winrm', 'benchWinrmSimulators');
  if ('unavailable' in loaded) return loaded.unavailable;
  // Simulators in this process, einklang as a child.
  const sims = (await loaded.fn(n, { transport })) as { targets: WinrmBenchTarget[]; stop: () => Promise<void> };
  deferCleanup('winrm simulators', () => sims.stop());
  return simulatedCase({
    title: `case winrm: ${n} simulated Windows hosts (${transport === 'https' ? 'WinRM over HTTPS, NTLM with channel binding' : 'WinRM over HTTP, NTLM-sealed messages'}) x 20 resources`,
    env: 'bench-winrm',
    target: sims.targets[0],
    files: Object.fromEntries(sims.targets.map((t, i) => [`${t.name}.yaml`, winrmHostManifest(t, i)])),
    runs,
    noopTarget: 5,
  });
}

/**
 * Writes an environment for simulators running in this process (`files`: name
 * -> YAML), passes their password as the zone's secret, and times einklang
 * plan, apply and no-op plans against them.
 */
async function simulatedCase(c: {
  title: string;
  env: string;
  target: { zone: string; password: string; passwordSecret: string };
  files: Record<string, string>;
  runs: number;
  noopTarget: number;
  rssTargetMB?: number;
}): Promise<BenchReport> {
  const dir = tempDir(`einklang-${c.env}-`);
  const envDir = join(dir, c.env);
  mkdirSync(envDir);
  const zone = c.target.zone;
  writeFileSync(join(envDir, 'environment.yaml'), stringify({ apiVersion: 'einklang/v1', kind: 'Environment', metadata: { name: c.env }, spec: { zone } }));
  for (const [name, text] of Object.entries(c.files)) writeFileSync(join(envDir, name), text);
  const secrets = { [`EINKLANG_SECRET_${zone.toUpperCase()}_${c.target.passwordSecret}`]: c.target.password };
  const r = await planApplyReplan(envDir, dir, secrets, c.runs);
  const rss = c.rssTargetMB;
  const rows: Row[] = [
    { metric: `einklang plan (${r.planned} changes)`, value: fmtRuns([r.plan.seconds]) },
    { metric: `einklang apply (${r.applied.split(',')[0]})`, value: fmtRuns([r.apply.seconds]) },
    { metric: 'einklang no-op plan', value: fmtRuns(r.noops.map((x) => x.seconds)), target: `< ${c.noopTarget} s`, ok: r.noopMedian < c.noopTarget },
    { metric: 'einklang peak RSS (max of runs)', value: fmtMB(r.peak), ...(rss ? { target: `< ${rss} MB`, ok: r.peak < rss * 1024 * 1024 } : {}) },
  ];
  return { title: c.title, notes: [machineNote(), `apply: ${r.applied}`], rows };
}

// ---------------------------------------------------------------- policies (issue 5)

/** The fields of bench/policies.ts's PolicyBenchResult that this case prints. */
type PolicyBenchResult = { engine: string } & Record<'resources' | 'changes' | 'ms' | 'cpuMs' | 'baseRssMB' | 'peakRssMB' | 'violations', number>;

export async function policiesCase(n: number): Promise<BenchReport> {
  const loaded = await load('policies', 'benchPolicies');
  if ('unavailable' in loaded) return loaded.unavailable;
  const results = (await loaded.fn(n, { print: false })) as PolicyBenchResult[];
  if (!Array.isArray(results)) return reportFromObject(`case policies: benchPolicies(${n})`, results);
  const rows: Row[] = [];
  for (const r of results) {
    rows.push({ metric: `${r.engine}: time (cpu ${(r.cpuMs / 1000).toFixed(2)} s)`, value: `${(r.ms / 1000).toFixed(3)} s`, target: '< 5 s', ok: r.ms < 5000 });
    rows.push({ metric: `${r.engine}: peak RSS (input alone ${r.baseRssMB} MB)`, value: `${r.peakRssMB} MB`, target: '< 1 GB', ok: r.peakRssMB < 1024 });
  }
  const first = results[0];
  return {
    title: `case policies: built-in policies over ${first?.resources ?? n} generated resources, ${first?.changes ?? '?'} changes, per CEL library`,
    notes: [machineNote(), `violations found: ${results.map((r) => `${r.engine} ${r.violations}`).join(', ')}`],
    rows,
  };
}

// ---------------------------------------------------------------- network (issue 3)

interface NetworkBenchTarget {
  zone: string;
  password: string;
  passwordSecret: string;
}

export async function networkCase(n: number, runs: number): Promise<BenchReport> {
  const loaded = await load('network', 'benchNetworkSimulators');
  if ('unavailable' in loaded) return loaded.unavailable;
  const manifests = (await import(pathToFileURL(join(packageRoot, 'dist', 'bench', 'network.js')).href)).networkBenchManifests as (t: NetworkBenchTarget[]) => string;
  // Simulators in this process, einklang as a child.
  const sims = (await loaded.fn(n)) as { targets: NetworkBenchTarget[]; stop: () => Promise<void> };
  deferCleanup('network simulators', () => sims.stop());
  return simulatedCase({
    title: `case network: ${n} simulated switches (ios over SSH, aoscx over HTTPS) x 48 access ports + uplink`,
    env: 'bench-network',
    target: sims.targets[0],
    files: { 'network.yaml': manifests(sims.targets) },
    runs,
    noopTarget: 10,
    rssTargetMB: 500,
  });
}
