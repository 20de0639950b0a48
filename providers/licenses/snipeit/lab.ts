/**
 * The snipeit driver's lab side (`einklang lab`, tests): a simulated
 * Snipe-IT for a LicenseServer, set up as DESIGN.md's lab promises. It
 * accepts the token the manifest's secret resolves to and starts with what
 * the manifests assume exists outside einklang's control: the manufacturers
 * and license categories the server's License resources name. License pools
 * (what einklang manages) start absent.
 *
 * Faults (`einklang lab` passes `ctx.faults`): `perMinute` (the server's
 * API_THROTTLE_PER_MINUTE), `maxResults` (its page size).
 */
import type { LabContext, RunningSimulator, TargetSpec } from '../../../engine/contract.js';
import { labCertificate } from '../../lab/identity.js';
import { LICENSE, licenseServerAddress } from '../kinds.js';
import { SNIPEIT_LAB_CN, startSnipeitSimulator, type RunningSnipeitSim } from './simulator.js';

/** The certificate fingerprint the lab Snipe-IT of this LicenseServer presents (what a manifest pins). */
export function snipeitLabFingerprint(address: string): string {
  return labCertificate(address, SNIPEIT_LAB_CN).fingerprint256;
}

export interface RunningSnipeitLab extends RunningSimulator {
  model: RunningSnipeitSim['model'];
  simulator: RunningSnipeitSim;
  fingerprint: string;
}

/** Manufacturers and categories the License resources of this server name, each once (case as the first manifest writes it). */
export function assumedNames(target: TargetSpec, resources: LabContext['resources']): { manufacturers: string[]; categories: string[] } {
  const manufacturers = new Map<string, string>();
  const categories = new Map<string, string>();
  for (const r of resources) {
    if (r.kind !== LICENSE || licenseServerAddress(r) !== target.address) continue;
    const m = r.spec?.manufacturer;
    const c = r.spec?.category;
    if (typeof m === 'string' && !manufacturers.has(m.toLowerCase())) manufacturers.set(m.toLowerCase(), m);
    if (typeof c === 'string' && !categories.has(c.toLowerCase())) categories.set(c.toLowerCase(), c);
  }
  return { manufacturers: [...manufacturers.values()], categories: [...categories.values()] };
}

export async function simulateSnipeit(target: TargetSpec, ctx: LabContext): Promise<RunningSnipeitLab> {
  const c = target.connection ?? {};
  const faults = ctx.faults ?? {};
  const simulator = await startSnipeitSimulator({
    token: String(c.token ?? ''),
    certSeed: target.address,
    port: Number(c.port ?? 443),
    perMinute: typeof faults.perMinute === 'number' ? faults.perMinute : undefined,
    maxResults: typeof faults.maxResults === 'number' ? faults.maxResults : undefined,
  });
  const names = assumedNames(target, ctx.resources);
  for (const m of names.manufacturers) simulator.model.addManufacturer(m);
  for (const k of names.categories) simulator.model.addCategory(k, 'license');
  return {
    description: `https://127.0.0.1:${simulator.sim.port} (lab Snipe-IT for ${target.address})`,
    port: simulator.sim.port,
    fingerprint: simulator.sim.fingerprint,
    model: simulator.model,
    simulator,
    stop: () => simulator.stop(),
  };
}
