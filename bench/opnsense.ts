/**
 * `npm run bench -- --case opnsense`: N simulated OPNsense firewalls (26.1)
 * in this process, each with 4 aliases and `rules` filter rules (one school
 * firewall of the demo, scaled): einklang plan, apply (one savepoint
 * transaction per firewall), no-op re-plans, as child processes; the
 * requests a read costs per firewall against what one GET per object would;
 * and how long a change that cuts the management path takes to be rolled
 * back by the firewall itself (its window shortened to `window` seconds; the
 * real one is 60 s). Numbers are printed, never asserted.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { stringify } from 'yaml';
import { changeFor } from '../engine/plan.js';
import { Secrets } from '../engine/secrets.js';
import { expandAll } from '../engine/targets.js';
import { DriverError, objectKey, type Resource } from '../engine/types.js';
import { defaultCatalog } from '../cli/catalog.js';
import { createOpnsenseDriver } from '../providers/security/opnsense/driver.js';
import { startOpnsenseSim, type RunningOpnsenseSim } from '../providers/security/opnsense/simulator/server.js';
import { deferCleanup, fmtMB, fmtRuns, median, repeatEinklang, runEinklang, tempDir, type BenchReport, type Row } from './harness.js';

const ENV = 'bench-fw';
const KEY = 'bench-opnsense-key';
const SECRET = 'bench-opnsense-secret';

function firewallDocs(name: string, sim: RunningOpnsenseSim, rules: number): Record<string, unknown>[] {
  const doc = (kind: string, n: string, spec: Record<string, unknown>) => ({ apiVersion: 'einklang/v1', kind, metadata: { name: n }, spec });
  const docs = [
    doc('Firewall', name, {
      connection: { driver: 'opnsense', host: '127.0.0.1', port: sim.sim.port, apiKey: '${secret:OPN_KEY}', apiSecret: '${secret:OPN_SECRET}', tlsFingerprint: sim.sim.fingerprint },
    }),
    doc('FirewallAlias', `${name}-schueler`, { firewall: name, type: 'network', content: ['10.101.40.0/22'] }),
    doc('FirewallAlias', `${name}-lehrer`, { firewall: name, type: 'network', content: ['10.101.30.0/24'] }),
    doc('FirewallAlias', `${name}-verwaltung`, { firewall: name, type: 'network', content: ['10.200.0.0/16'] }),
    doc('FirewallAlias', `${name}-ports`, { firewall: name, type: 'port', content: ['80', '443'] }),
    doc('FirewallRule', `${name}-block`, { firewall: name, sequence: 10, interface: 'lan', action: 'block', destination: `${name}-verwaltung`, description: 'Verwaltung' }),
  ];
  for (let i = 1; i < rules; i++) {
    docs.push(
      doc('FirewallRule', `${name}-r${i}`, {
        firewall: name,
        sequence: 10 + i * 10,
        interface: 'lan',
        action: 'pass',
        protocol: 'TCP',
        source: i % 2 ? `${name}-schueler` : `${name}-lehrer`,
        destination: `10.101.${20 + (i % 200)}.0/24`,
        destinationPort: `${name}-ports`,
        description: `Regel ${i}`,
      }),
    );
  }
  return docs;
}

/** How long a lockout takes to be rolled back by the firewall, through the driver (window shortened). */
async function lockoutRecovery(windowMs: number): Promise<{ ms: number; rolledBack: boolean }> {
  const sim = await startOpnsenseSim({ certSeed: `${ENV}/Firewall/lock`, apiKey: KEY, apiSecret: SECRET, rollbackWindowMs: windowMs });
  try {
    const mk = (kind: string, name: string, spec: Record<string, unknown>): Resource => ({
      address: `${ENV}/${kind}/${name}`, env: ENV, zone: 'school', apiVersion: 'einklang/v1', kind, name, labels: {}, spec, pos: { file: 'bench', line: 1, col: 1 }, positions: {}, dir: '.',
    });
    const resources = [mk('FirewallRule', 'wan-dicht', { firewall: 'lock', sequence: 1, interface: 'wan', action: 'block' })];
    const catalog = defaultCatalog();
    const desired = expandAll(catalog, resources, new Map(resources.map((r) => [r.address, r])));
    const target = {
      address: `${ENV}/Firewall/lock`, kind: 'Firewall', name: 'lock', zone: 'school' as const, spec: {},
      connection: { host: '127.0.0.1', port: sim.sim.port, apiKey: KEY, apiSecret: SECRET, tlsFingerprint: sim.sim.fingerprint, timeoutSeconds: 2, rollbackWaitSeconds: 120 },
    };
    const driver = createOpnsenseDriver({ pollMs: 250 });
    const w = await driver.connectWriter(target);
    try {
      const read = await w.read(desired.map((o) => ({ kind: o.kind, id: o.id, state: o.state })));
      const changes = desired.flatMap((o) => changeFor(catalog.kind(o.kind), o, o.state, read.objects[objectKey(o.kind, o.id)] ?? null, new Secrets({ zone: 'school' })) ?? []);
      const t0 = performance.now();
      let rolledBack = false;
      try {
        if (w.mode === 'transaction') await w.applyTransaction(changes);
      } catch (e) {
        rolledBack = e instanceof DriverError && e.opts.rolledBack === true;
      }
      return { ms: performance.now() - t0, rolledBack };
    } finally {
      await w.close();
    }
  } finally {
    await sim.stop();
  }
}

export async function benchOpnsense(firewalls: number, rules: number, runs: number, windowSeconds: number): Promise<BenchReport> {
  const sims: RunningOpnsenseSim[] = [];
  deferCleanup('opnsense simulators', async () => {
    await Promise.all(sims.map((s) => s.stop()));
  });
  for (let i = 0; i < firewalls; i++) sims.push(await startOpnsenseSim({ certSeed: `${ENV}/Firewall/fw-${String(i + 1).padStart(3, '0')}`, apiKey: KEY, apiSecret: SECRET }));
  const root = tempDir('einklang-bench-fw-');
  const envDir = join(root, ENV);
  mkdirSync(envDir, { recursive: true });
  writeFileSync(join(envDir, 'environment.yaml'), stringify({ apiVersion: 'einklang/v1', kind: 'Environment', metadata: { name: ENV }, spec: { zone: 'school' } }));
  const docs = sims.flatMap((s, i) => firewallDocs(`fw-${String(i + 1).padStart(3, '0')}`, s, rules));
  writeFileSync(join(envDir, 'firewalls.yaml'), docs.map((d) => stringify(d)).join('---\n'));
  const env = { EINKLANG_SECRET_SCHOOL_OPN_KEY: KEY, EINKLANG_SECRET_SCHOOL_OPN_SECRET: SECRET };
  const requests = () => sims.reduce((n, s) => n + s.sim.counters.requests, 0);

  const planFile = join(root, 'plan.json');
  const r0 = requests();
  const plan = await runEinklang(['plan', envDir, '--out', planFile], { cwd: root, env, expect: [2] });
  const planRequests = (requests() - r0) / firewalls;
  const a0 = requests();
  const apply = await runEinklang(['apply', planFile], { cwd: root, env, expect: [0] });
  const applyRequests = (requests() - a0) / firewalls;
  const noops = await repeatEinklang(runs, ['plan', envDir], { cwd: root, env, expect: [0] });
  const objects = 4 + rules;
  const lock = await lockoutRecovery(windowSeconds * 1000);

  const rows: Row[] = [
    { metric: `plan: ${firewalls} firewalls x (${rules} rules + 4 aliases), everything to create`, value: fmtRuns([plan.seconds]) },
    { metric: 'apply: one savepoint transaction per firewall (savepoint, writes, reconfigure, apply, fresh-connection check, cancelRollback)', value: fmtRuns([apply.seconds]) },
    { metric: `no-op re-plan (median of ${runs})`, value: fmtRuns(noops.map((r) => r.seconds)) },
    { metric: 'no-op re-plan per firewall', value: `${((median(noops.map((r) => r.seconds)) / firewalls) * 1000).toFixed(1)} ms` },
    { metric: 'HTTP requests per firewall for a plan (connect + read)', value: `${planRequests.toFixed(1)} (one GET per object would be ${objects + 1}: ${((objects + 1) / planRequests).toFixed(1)}x)` },
    { metric: 'HTTP requests per firewall for apply (re-read, transaction, check, verify)', value: `${applyRequests.toFixed(1)} for ${objects} objects` },
    { metric: `lockout: a rule that cuts the path, rolled back by the firewall itself (window ${windowSeconds} s; real: 60 s)`, value: `${(lock.ms / 1000).toFixed(1)} s until apply reported it${lock.rolledBack ? ', rolled back' : ', NOT rolled back'} (${(lock.ms / 1000 - windowSeconds).toFixed(1)} s over the window)` },
    { metric: 'peak RSS of einklang (plan, apply, no-op plans)', value: fmtMB(Math.max(plan.peakRssBytes, apply.peakRssBytes, ...noops.map((r) => r.peakRssBytes))) },
  ];
  return { title: `case opnsense: ${firewalls} simulated OPNsense 26.1 firewalls (127.0.0.1, pinned lab certificates)`, rows };
}
