/**
 * `einklang lab PATH...`: runs a simulator for every target of those
 * environments whose host is loopback, so the quickstart and tests never
 * touch a real device or the user's own machine. Prints one line per
 * simulator: its address and the identities it presents, as the manifest
 * fields that pin them (`hostKeyFingerprint "SHA256:..."`,
 * `tlsFingerprint "AB:CD:..."`), so a new lab host is written by copying them;
 * then `ready`, and stops on SIGINT/SIGTERM.
 */
import type { RunningSimulator, Zone } from '../engine/types.js';
import type { Workspace } from '../engine/workspace.js';
import type { Secrets } from '../engine/secrets.js';
import { isTargetResource, plannedTarget, targetSpec } from '../engine/targets.js';
import { visible } from '../engine/render/escape.js';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/;

/** `  pinned: tlsFingerprint "AB:..", hostKeyFingerprint "SHA256:.."`: each identity under the connection field that pins it. */
export function pins(sim: RunningSimulator): string {
  const ids = [sim.fingerprint, sim.sshFingerprint].filter((f): f is string => typeof f === 'string' && f.length > 0);
  if (!ids.length) return '';
  return '  pinned: ' + ids.map((f) => `${f.startsWith('SHA256:') ? 'hostKeyFingerprint' : 'tlsFingerprint'} "${f}"`).join(', ');
}

export async function runLab(ws: Workspace, secretsFor: (zone: Zone) => Secrets): Promise<number> {
  const running: RunningSimulator[] = [];
  const stopAll = async () => {
    await Promise.all(running.map((s) => s.stop().catch(() => undefined)));
  };
  const targets = ws.resources.filter((r) => isTargetResource(ws.catalog, r)).filter((r) => LOOPBACK.test(String(r.spec?.connection?.host ?? '')));
  try {
    for (const r of targets) {
      const entry = ws.catalog.driverEntry(String(r.spec?.connection?.driver));
      const lab = await entry?.loadLab?.();
      if (!lab) {
        process.stderr.write(`lab: no simulator for ${r.address} (driver ${r.spec?.connection?.driver}); skipped\n`);
        continue;
      }
      const sim = await lab.simulate(targetSpec(plannedTarget(r), secretsFor(r.zone)), { resources: ws.resources.filter((x) => x.env === r.env) });
      running.push(sim);
      process.stdout.write(`${sim.description}${pins(sim)}\n`);
    }
  } catch (e) {
    process.stderr.write(`lab: cannot start: ${visible((e as Error).message)}\n`);
    await stopAll();
    return 1;
  }
  if (!running.length) {
    process.stderr.write('lab: no target with a loopback host in these environments\n');
    return 1;
  }
  process.stdout.write('ready\n');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await stopAll();
  process.stdout.write('stopped\n');
  return 0;
}
