/**
 * The bench cases built on other modules (bench/network.ts, bench/winrm.ts,
 * bench/policies.ts). Each module is loaded only if bench/NAME.ts exists (and
 * was compiled) and exports the expected function; otherwise the case reports
 * "not available". The modules are imported by a computed path and described
 * by local types, so this file compiles whether they exist or not.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
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
  const plan = await runEinklang(['plan', envDir, '--out', planFile], { cwd, env, expect: [2] });
  const apply = await runEinklang(['apply', planFile], { cwd, env, expect: [0] });
  const noops = await repeatEinklang(runs, ['plan', envDir], { cwd, env, expect: [0] });
  const applied = /\d+ applied, \d+ failed, \d+ skipped/.exec(apply.stdout)?.[0] ?? 'no summary line';
  const peak = Math.max(plan.peakRssBytes, apply.peakRssBytes, ...noops.map((r) => r.peakRssBytes));
  return { plan, apply, noops, applied, peak, noopMedian: median(noops.map((r) => r.seconds)) };
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

export async function winrmCase(n: number, runs: number): Promise<BenchReport> {
  const loaded = await load('winrm', 'benchWinrmSimulators');
  if ('unavailable' in loaded) return loaded.unavailable;
  const title = `case winrm: ${n} simulated Windows hosts (WinRM over HTTPS, NTLM) x 20 resources`;
  // Simulators in this process, einklang as a child.
  const sims = (await loaded.fn(n)) as { targets: WinrmBenchTarget[]; stop: () => Promise<void> };
  deferCleanup('winrm simulators', () => sims.stop());
  const dir = tempDir('einklang-bench-winrm-');
  const envDir = join(dir, 'bench-winrm');
  mkdirSync(envDir);
  const zone = sims.targets[0].zone;
  writeFileSync(join(envDir, 'environment.yaml'), stringify({ apiVersion: 'einklang/v1', kind: 'Environment', metadata: { name: 'bench-winrm' }, spec: { zone } }));
  sims.targets.forEach((t, i) => writeFileSync(join(envDir, `${t.name}.yaml`), winrmHostManifest(t, i)));
  const t0 = sims.targets[0];
  const env = { [`EINKLANG_SECRET_${zone.toUpperCase()}_${t0.passwordSecret}`]: t0.password };
  const r = await planApplyReplan(envDir, dir, env, runs);
  const rows: Row[] = [
    { metric: 'einklang plan (fresh hosts)', value: fmtRuns([r.plan.seconds]) },
    { metric: `einklang apply (${r.applied.split(',')[0]})`, value: fmtRuns([r.apply.seconds]) },
    { metric: 'einklang no-op plan', value: fmtRuns(r.noops.map((x) => x.seconds)), target: '< 5 s', ok: r.noopMedian < 5 },
    { metric: 'einklang peak RSS (max of runs)', value: fmtMB(r.peak) },
  ];
  return { title, notes: [machineNote(), `apply: ${r.applied}`], rows };
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

export async function networkCase(n: number): Promise<BenchReport> {
  const loaded = await load('network', 'benchNetworkSimulators');
  if ('unavailable' in loaded) return loaded.unavailable;
  const result = await loaded.fn(n);
  const stop = (result as { stop?: unknown })?.stop;
  if (typeof stop === 'function') deferCleanup('network simulators', () => (stop as () => Promise<void>).call(result));
  return reportFromObject(`case network: benchNetworkSimulators(${n})`, result);
}
