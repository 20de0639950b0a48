/**
 * The opnsense driver's lab side: a simulated firewall for a Firewall target
 * (`einklang lab` and tests), set up as the manifests assume it exists: it
 * accepts the key and secret the manifest's secrets resolve to, has the
 * interfaces the environment's rules use (besides lan and wan), and a rule
 * that lets the management station in; every alias and rule einklang manages
 * starts absent.
 *
 * Behaviour switches, from the lab context's `faults` (tests) or, for
 * `einklang lab`, from labels on the Firewall resource (read only by the lab):
 *   einklang.lab/firmware: "26.7"        (default "26.1": savepoint and rollback)
 *   einklang.lab/rollback-seconds: "5"   (default 60, as the real firewall)
 */
import type { LabDriver, RunningSimulator, TargetSpec } from '../../../../engine/contract.js';
import type { Resource } from '../../../../engine/model.js';
import { listOf } from '../../syntax.js';
import { startOpnsenseSim, type OpnsenseSimOptions, type RunningOpnsenseSim } from './server.js';

export interface RunningOpnsenseLab extends RunningSimulator {
  opnsense: RunningOpnsenseSim;
}

export const FIRMWARE_LABEL = 'einklang.lab/firmware';
export const ROLLBACK_LABEL = 'einklang.lab/rollback-seconds';

/** Interfaces the environment's rules on this firewall use, plus lan and wan. */
function interfacesOf(target: TargetSpec, resources: Resource[]): string[] {
  const out = new Set(['lan', 'wan']);
  for (const r of resources) if (r.kind === 'FirewallRule' && r.spec?.firewall === target.name) for (const i of listOf(r.spec?.interface)) out.add(i);
  return [...out].sort();
}

export async function simulateOpnsense(target: TargetSpec, ctx: { resources: Resource[]; faults?: Record<string, unknown> }): Promise<RunningOpnsenseLab> {
  const me = ctx.resources.find((r) => r.address === target.address);
  const labels = me?.labels ?? {};
  const faults = (ctx.faults ?? {}) as Partial<OpnsenseSimOptions>;
  const seconds = Number(labels[ROLLBACK_LABEL]);
  const c = target.connection ?? {};
  const sim = await startOpnsenseSim({
    certSeed: target.address,
    port: typeof c.port === 'number' ? c.port : 443,
    apiKey: String(c.apiKey ?? ''),
    apiSecret: String(c.apiSecret ?? ''),
    firmware: labels[FIRMWARE_LABEL] === '26.7' ? '26.7' : '26.1',
    rollbackWindowMs: Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 60_000,
    interfaces: interfacesOf(target, ctx.resources),
    ...faults,
  });
  return {
    description: `https://127.0.0.1:${sim.sim.port} (lab OPNsense ${sim.model.o.firmware} for ${target.address})`,
    port: sim.sim.port,
    fingerprint: sim.sim.fingerprint,
    model: sim.model,
    opnsense: sim,
    stop: () => sim.stop(),
  };
}

export const opnsenseLab: LabDriver = { simulate: simulateOpnsense };
