/**
 * The intune driver's lab side: a simulated tenant for an MdmTenant (for
 * `einklang lab` and the tests), set up as DESIGN.md's lab asks: it accepts
 * the client secret the manifest's secret resolves to, and starts with what
 * the manifests assume exists outside einklang's control:
 * - every serial number a DeviceGroup of this tenant names, enrolled (an iPad,
 *   or a Windows PC / Android device when the profiles and policies assigned
 *   to its group are for that platform), with an Entra ID device object;
 * - every App of this tenant, published (an iOS VPP app, a Win32 app or a
 *   managed Google Play app, by the same rule).
 * Groups, profiles and policies einklang manages start absent. Devices of
 * dynamic groups are not invented: a rule selects among the enrolled devices.
 *
 * Graph and the token endpoint share the connection's loopback port (a
 * different loginPort gets a second listener with the same certificate).
 * Behaviour switches (`faults`): pageSize, replicationDelayMs, requestsPer20s,
 * writesPer20s, omitRetryAfter.
 */
import type { LabContext, RunningSimulator, TargetSpec } from '../../../../engine/contract.js';
import type { Resource } from '../../../../engine/model.js';
import { labCertificate } from '../../../lab/identity.js';
import { startHttpsSim } from '../../../kit/sim/https-sim.js';
import { Router } from '../../../kit/sim/router.js';
import { SUBTYPES, type Platform } from '../odata-types.js';
import { APP, GROUP, POLICY, PROFILE } from '../state.js';
import { startGraphSim, type RunningGraphSim } from './index.js';

export interface RunningIntuneLab extends RunningSimulator {
  graph: RunningGraphSim;
  fingerprint: string;
}

/** The certificate fingerprint the lab tenant of this MdmTenant presents (to pin in committed manifests). */
export function labIntuneFingerprint(address: string): string {
  return labCertificate(address, address).fingerprint256;
}

const APP_TYPES: Record<Platform, string> = { iOS: '#microsoft.graph.iosVppApp', Windows: '#microsoft.graph.win32LobApp', Android: '#microsoft.graph.androidManagedStoreApp' };

/** The platform of a group: that of the profiles and policies assigned to it (iOS when none says). */
function platformOf(groupName: string, resources: Resource[]): Platform {
  for (const r of resources) {
    if (r.kind !== PROFILE && r.kind !== POLICY) continue;
    const assigned = (r.spec?.assignments ?? []).some((a: { group?: string }) => a?.group === groupName);
    const sub = SUBTYPES.get(r.spec?.settings?.['@odata.type']);
    if (assigned && sub) return sub.platform;
  }
  return 'iOS';
}

export async function simulateIntune(target: TargetSpec, ctx: LabContext): Promise<RunningIntuneLab> {
  const c = target.connection;
  const faults = (ctx.faults ?? {}) as Record<string, number | boolean | undefined>;
  const port = Number(c.port ?? 443);
  const graph = await startGraphSim({
    certSeed: target.address,
    port,
    app: { tenantId: String(c.tenantId), clientId: String(c.clientId), clientSecret: String(c.clientSecret) },
    pageSize: faults.pageSize as number | undefined,
    replicationDelayMs: faults.replicationDelayMs as number | undefined,
    throttle: { requests: faults.requestsPer20s as number | undefined, writes: faults.writesPer20s as number | undefined, omitRetryAfter: faults.omitRetryAfter === true },
  });
  const mine = ctx.resources.filter((r) => r.spec?.tenant === target.name && r.env === target.address.split('/')[0]);
  const platforms = new Map<string, Platform>();
  for (const g of mine.filter((r) => r.kind === GROUP)) {
    const platform = platformOf(g.name, mine);
    platforms.set(g.name, platform);
    for (const serial of (g.spec?.devices ?? []) as string[]) graph.tenant.enrol({ serialNumber: serial, operatingSystem: platform });
  }
  for (const a of mine.filter((r) => r.kind === APP)) {
    const groups = ((a.spec?.assignments ?? []) as { group?: string }[]).map((x) => x.group).filter((g): g is string => !!g);
    graph.tenant.addApp({ displayName: String(a.spec.displayName), type: APP_TYPES[platforms.get(groups[0] ?? '') ?? 'iOS'] });
  }
  // a separate token endpoint only when the manifest puts it on another port
  const loginPort = Number(c.loginPort ?? port);
  const login =
    loginPort !== port
      ? await startHttpsSim({ certSeed: target.address, port: loginPort, router: new Router().post('/:tenant/oauth2/v2.0/token', (req) => graph.entra.token(req), { write: false }) })
      : undefined;
  const devices = graph.tenant.devices.size;
  return {
    description: `https://127.0.0.1:${graph.port} (lab Intune tenant for ${target.address}: Graph and token endpoint${login ? ` on ${loginPort}` : ''}; ${devices} enrolled device(s), ${graph.tenant.apps.size} app(s))`,
    port: graph.port,
    fingerprint: graph.fingerprint,
    model: graph.tenant,
    graph,
    stop: async () => {
      await Promise.all([graph.stop(), login?.stop()]);
    },
  };
}

