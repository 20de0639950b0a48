/**
 * The lab side of the opsi driver: a simulated opsi server for an OpsiServer
 * target on loopback, set up the way DESIGN.md's lab says: it accepts the
 * user and password the manifest's secrets resolve to, and starts with what
 * the manifests assume exists outside einklang's control: the opsi clients
 * every ClientGroup of this server names (enrolled, on the config server's
 * depot) and every product a SoftwareDeployment asks for, at that version, on
 * the depot. What einklang manages (host groups, memberships, action
 * requests) starts absent.
 *
 * The lab's clients do not install anything by themselves unless
 * EINKLANG_LAB_OPSI_INSTALL_SECONDS is set: then they run their pending
 * action requests that many seconds after einklang set them (as opsiclientd
 * does at a client's next event) and report back, so a re-plan can be seen
 * to stay converged. A client can also be made to report over JSON-RPC, as
 * opsi-script does: productOnClient_updateObjects with installationStatus
 * "installed", actionRequest "none" and the versions.
 */
import type { LabDriver, LabContext, RunningSimulator, TargetSpec } from '../../../engine/contract.js';
import type { Resource } from '../../../engine/types.js';
import { CLIENT_GROUP, SOFTWARE_DEPLOYMENT, groupClients } from '../kinds.js';
import { OPSI_PORT } from './connection.js';
import { PRODUCT_ID, splitVersion } from './ids.js';
import { startOpsiSimulator, type RunningOpsiSim } from './simulator/server.js';
import { labCertificate } from '../../lab/identity.js';

/** The config server's id in the lab: a valid opsi FQDN derived from the target. */
export function labConfigServerId(target: { name: string }): string {
  const host = target.name.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63) || 'opsi';
  return `${host}.lab.invalid`;
}

/** The certificate fingerprint the lab presents for a target (what a demo manifest pins). */
export function labOpsiFingerprint(address: string): string {
  return labCertificate(address, address).fingerprint256;
}

/** Seeds the backend from the environment's resources (see the module comment). */
export function seedFromManifests(sim: RunningOpsiSim, target: TargetSpec, resources: Resource[]): void {
  const mine = (r: Resource) => r.spec?.server === target.name;
  for (const g of resources.filter((r) => r.kind === CLIENT_GROUP && mine(r))) for (const c of groupClients(g)) sim.backend.addClient(c);
  for (const d of resources.filter((r) => r.kind === SOFTWARE_DEPLOYMENT && mine(r))) {
    const product = d.spec?.product;
    if (typeof product !== 'string' || !PRODUCT_ID.test(product)) continue;
    const v = typeof d.spec?.version === 'string' ? splitVersion(d.spec.version) : { productVersion: '1.0', packageVersion: '1' };
    const already = [...sim.backend.productOnDepots.rows.values()].some((p) => p.productId === product);
    if (v && !already) sim.backend.addProduct(product, v.productVersion, v.packageVersion); // a depot holds one version of a product
  }
}

/** EINKLANG_LAB_OPSI_INSTALL_SECONDS as milliseconds, or undefined (see the module comment). */
function installAfterMs(): number | undefined {
  const v = process.env.EINKLANG_LAB_OPSI_INSTALL_SECONDS;
  const n = v === undefined || v === '' ? NaN : Number(v);
  return Number.isFinite(n) && n >= 0 ? n * 1000 : undefined;
}

export async function simulateOpsi(target: TargetSpec, ctx: LabContext): Promise<RunningSimulator> {
  const c = target.connection;
  const install = installAfterMs();
  const sim = await startOpsiSimulator({
    certSeed: target.address,
    port: Number(c.port ?? OPSI_PORT),
    user: String(c.user),
    password: String(c.password),
    configServerId: labConfigServerId(target),
    ...(install !== undefined ? { installAfterMs: install } : {}),
    ...((ctx.faults ?? {}) as object),
  });
  seedFromManifests(sim, target, ctx.resources);
  return {
    description: `https://127.0.0.1:${sim.port}/rpc (lab opsi server for ${target.address}${install !== undefined ? `; clients install ${install / 1000} s after a request` : ''})`,
    port: sim.port,
    fingerprint: sim.fingerprint,
    model: sim,
    stop: () => sim.stop(),
  };
}

export const opsiLab: LabDriver = { simulate: simulateOpsi };
