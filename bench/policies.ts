/**
 * Policy bench: the built-in policies (and one environment Policy per school)
 * over n generated resources of a city (1 administration + 95 schools), once
 * per CEL library, each in its own child process so that peak memory is
 * that library's alone.
 *
 *   import { benchPolicies } from './policies.js'; await benchPolicies(200000);
 *   node dist/bench/policies.js [n]
 *
 * Target (issue 5): under 5 s and under 1 GB for 200,000 resources.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Change, Resource, Zone } from '../engine/types.js';
import type { CelEngineName } from '../policies/cel.js';
import { evaluatePlanPolicies, loadCel, mandatoryFailed } from '../policies/index.js';

export interface PolicyBenchResult {
  engine: CelEngineName;
  resources: number;
  changes: number;
  /** evaluatePlanPolicies (everything validate checks + plan-time policies), wall clock, best of the runs. */
  ms: number;
  /** CPU time (user + system, all threads incl. GC) of the best run: steadier than wall clock on a busy machine. */
  cpuMs: number;
  /** RSS after generating the input, before policies ran. */
  baseRssMB: number;
  /** Peak RSS of the process (getrusage maxrss). */
  peakRssMB: number;
  violations: number;
}

const SCHOOLS = 95;

/** Generate a city of about n resources; deterministic. */
export function generateCity(n: number): { resources: Resource[]; zoneResources: Resource[]; changes: Change[] } {
  const envNames = ['verwaltung', ...Array.from({ length: SCHOOLS }, (_, i) => `schule-${String(i + 1).padStart(3, '0')}`)];
  const perEnv = Math.max(8, Math.floor(n / envNames.length));
  const resources: Resource[] = [];
  let line = 1;
  const mk = (env: string, zone: Zone, kind: string, name: string, spec: any, labels: Record<string, string> = {}): Resource => {
    const l = (line += 6);
    return {
      address: `${env}/${kind}/${name}`, env, zone, apiVersion: 'einklang/v1', kind, name, labels, spec,
      pos: { file: `environments/${env}/${kind.toLowerCase()}.yaml`, line: l, col: 1 },
      positions: { '/metadata/name': [l + 2, 9], '/spec/subnet': [l + 4, 11], '/spec/connection/host': [l + 4, 15], '/spec/rule': [l + 4, 9] },
      dir: `environments/${env}`,
    };
  };
  envNames.forEach((env, e) => {
    const zone: Zone = e === 0 ? 'administration' : 'school';
    const start = resources.length;
    resources.push(mk(env, zone, 'Environment', env, { zone, approvals: { required: 2 }, policies: zone === 'school' ? { naming: 'linuxmuster' } : {} }));
    if (zone === 'school') {
      resources.push(mk(env, zone, 'Policy', 'port-description', {
        match: { kinds: ['SwitchPort'] },
        rule: '!has(resource.spec.description) || (resource.spec.description.size() <= 80 && !resource.spec.description.contains("\\n"))',
        message: 'port descriptions are at most 80 characters on one line',
        enforcement: 'mandatory',
      }));
    }
    let i = 0;
    while (resources.length - start < perEnv) {
      const k = i % 10;
      const b = e * 4096 + i; // unique per environment and index
      if (k === 0) {
        resources.push(mk(env, zone, 'Switch', `sw-${i}`, {
          connection: { driver: 'ios', host: `10.${e}.${(i >> 8) & 255}.${i & 255}`, user: 'admin', password: '${secret:SWITCH_PASSWORD}', hostKeyFingerprint: 'SHA256:x' },
        }));
      } else if (k === 1) {
        resources.push(mk(env, zone, 'Server', `srv-${i}`, {
          os: i % 20 === 1 ? 'windows' : 'linux', hostname: `srv-${i}`.slice(0, 15),
          connection: { driver: i % 20 === 1 ? 'winrm' : 'ssh', host: `172.${16 + (e >> 6)}.${((e & 63) << 2) | ((i >> 8) & 3)}.${i & 255}`, user: 'root', privateKeyFile: 'keys/id' },
        }));
      } else if (k === 2 || k === 3) {
        resources.push(mk(env, zone, 'Vlan', `vlan-${i}`, {
          id: 10 + (i % 4000), name: `V${i}`, switches: [`sw-${i - (i % 10)}`], subnet: `${100 + (b >> 16)}.${(b >> 8) & 255}.${b & 255}.0/24`,
        }));
      } else if (k < 7) {
        resources.push(mk(env, zone, 'SwitchPort', `port-${i}`, {
          switch: `sw-${i - (i % 10)}`, ports: 'Gi1/0/1-24', mode: 'access', vlan: `vlan-${i - (i % 10) + 2}`, description: 'Klassenraum', enabled: true,
        }));
      } else if (k < 9) {
        resources.push(mk(env, zone, 'File', `file-${i}`, { server: `srv-${i - (i % 10) + 1}`, path: `/etc/einklang/${i}`, content: 'x\n', mode: '0644', ensure: 'present' }));
      } else {
        resources.push(mk(env, zone, 'User', `user-${i}`, { server: `srv-${i - (i % 10) + 1}`, uid: 2000 + i, groups: ['staff'], ensure: 'present' }));
      }
      i++;
    }
  });
  // The loader indexes resources by address (ExpandContext.byAddress); do the same so
  // that the bench measures policies, not V8 flattening freshly concatenated strings.
  const byAddress = new Map(resources.map((r) => [r.address, r]));
  if (byAddress.size !== resources.length) throw new Error('generated duplicate addresses');
  const zoneResources = resources.filter((r) => r.zone === 'school');
  // 2 % of the run's resources change, a tenth of them deletes.
  const changes: Change[] = [];
  for (let j = 0; j < zoneResources.length; j += 50) {
    const r = zoneResources[j];
    const del = (j / 50) % 10 === 0;
    changes.push({
      address: r.address, resource: r.address, kind: r.kind, target: '', id: r.name,
      actions: del ? ['delete'] : ['update'], before: { a: 1 }, after: del ? null : { a: 2 }, diff: [],
      liveFingerprint: 'sha256:x', dependsOn: [],
    });
  }
  return { resources, zoneResources, changes };
}

async function runChild(engine: CelEngineName, n: number, runs: number): Promise<PolicyBenchResult> {
  await loadCel();
  const { resources, zoneResources, changes } = generateCity(n);
  if (global.gc) global.gc();
  const baseRss = process.memoryUsage().rss;
  let best = Infinity;
  let bestCpu = Infinity;
  let violations = 0;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const results = evaluatePlanPolicies({ resources, zoneResources, changes, engine });
    const c = process.cpuUsage(c0);
    best = Math.min(best, performance.now() - t0);
    bestCpu = Math.min(bestCpu, (c.user + c.system) / 1000);
    violations = results.reduce((s, x) => s + x.violations.length, 0);
    if (mandatoryFailed(results)) throw new Error('generated city violates a mandatory policy: ' + JSON.stringify(results.filter((x) => !x.passed)).slice(0, 500));
  }
  return {
    engine,
    resources: resources.length,
    changes: changes.length,
    ms: Math.round(best),
    cpuMs: Math.round(bestCpu),
    baseRssMB: Math.round(baseRss / 2 ** 20),
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    violations,
  };
}

function spawnChild(engine: CelEngineName, n: number, runs: number): Promise<PolicyBenchResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child', engine, String(n), String(runs)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0) return reject(new Error(`policy bench child (${engine}) exited ${code}: ${out}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()!));
      } catch (e) {
        reject(e);
      }
    });
  });
}

/** Run the policy bench for both CEL libraries; prints a table and returns the numbers. */
export async function benchPolicies(n = 200000, opts: { runs?: number; print?: boolean } = {}): Promise<PolicyBenchResult[]> {
  const runs = opts.runs ?? 3;
  const results: PolicyBenchResult[] = [];
  for (const engine of ['cel-js', 'bufbuild'] as CelEngineName[]) results.push(await spawnChild(engine, n, runs));
  if (opts.print !== false) {
    console.log(`policies: built-in + environment policies over ${results[0].resources} resources, ${results[0].changes} changes (best of ${runs})`);
    for (const r of results) {
      const ok = r.ms < 5000 && r.peakRssMB < 1024 ? 'ok' : 'OVER TARGET';
      console.log(`  ${r.engine.padEnd(9)} ${String(r.ms).padStart(6)} ms (cpu ${r.cpuMs} ms)   peak RSS ${String(r.peakRssMB).padStart(5)} MB (input alone ${r.baseRssMB} MB)   ${ok}`);
    }
    console.log('  production engine: cel-js (policies/cel.ts)');
  }
  return results;
}

const isMain = process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  if (process.argv[2] === '--child') {
    const [, , , engine, n, runs] = process.argv;
    runChild(engine as CelEngineName, Number(n), Number(runs)).then(
      (r) => console.log(JSON.stringify(r)),
      (e) => {
        console.error(e);
        process.exit(1);
      },
    );
  } else {
    benchPolicies(Number(process.argv[2] ?? 200000)).catch((e) => {
      console.error(e);
      process.exit(1);
    });
  }
}
