/**
 * The lab of one environment folder, in the test process: what `einklang lab`
 * starts (every target's simulator through its registered LabDriver, seeded
 * from the environment's resources), so tests can reach into the simulators.
 * Manifests are written first with placeholder pins of the right format,
 * then rewritten with `fingerprints` once the simulators run.
 */
import { defaultCatalog } from '../../cli/catalog.js';
import { Secrets } from '../../engine/secrets.js';
import { driverName, isTargetResource, plannedTarget, targetSpec } from '../../engine/targets.js';
import type { RunningSimulator } from '../../engine/types.js';
import { loadWorkspace } from '../../engine/workspace.js';

/** A well-formed certificate pin that matches nothing (until the lab's real one replaces it). */
export function placeholderPin(n: number): string {
  return Array.from({ length: 32 }, (_, i) => (i === 31 ? n : 0xee).toString(16).padStart(2, '0').toUpperCase()).join(':');
}

export interface EnvLab {
  sims: Map<string, RunningSimulator>;
  /** Target address -> the certificate fingerprint its simulator presents. */
  fingerprints: Record<string, string>;
  stop(): Promise<void>;
}

export async function startEnvLab(envDir: string, secretsDir: string): Promise<EnvLab> {
  const catalog = defaultCatalog();
  const ws = await loadWorkspace(catalog, [envDir]);
  const errors = ws.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) throw new Error(`the lab's environment does not validate: ${errors.map((d) => `${d.code} ${d.message}`).join('; ')}`);
  const sims = new Map<string, RunningSimulator>();
  const stop = () => Promise.all([...sims.values()].map((s) => s.stop())).then(() => undefined);
  try {
    for (const r of ws.resources.filter((x) => isTargetResource(catalog, x))) {
      const lab = await catalog.driverEntry(driverName(r))?.loadLab?.();
      if (!lab) throw new Error(`no lab simulator for ${r.address}`);
      const target = targetSpec(plannedTarget(r), new Secrets({ zone: r.zone, dir: secretsDir }));
      sims.set(r.address, await lab.simulate(target, { resources: ws.resources.filter((x) => x.env === r.env) }));
    }
  } catch (e) {
    await stop();
    throw e;
  }
  const fingerprints = Object.fromEntries([...sims].map(([a, s]) => [a, String(s.fingerprint)]));
  return { sims, fingerprints, stop };
}
