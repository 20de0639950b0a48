/**
 * The intune lab as `einklang lab` runs it for the demo city: the pinned
 * fingerprints are the ones the lab presents, each tenant starts with the
 * devices and apps its manifests assume (iPads for the schools, Windows PCs
 * for the administration), and a token endpoint on another port than Graph
 * works with the same certificate.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { packageRoot } from '../../engine/paths.js';
import { loadWorkspace } from '../../engine/workspace.js';
import type { Resource } from '../../engine/types.js';
import { defaultCatalog } from '../../cli/catalog.js';
import { VirtualClock } from '../../providers/kit/clock.js';
import { createIntuneDriver } from '../../providers/endpoints/intune/driver.js';
import { labIntuneFingerprint, simulateIntune } from '../../providers/endpoints/intune/sim/lab.js';
import { freePort } from '../support/sshd.js';

const DEMO = join(packageRoot, 'environments/demo-city');

async function demo(env: string): Promise<Resource[]> {
  const ws = await loadWorkspace(defaultCatalog(), [join(DEMO, env)], { repositoryWide: false });
  assert.deepEqual(ws.diagnostics.filter((d) => d.severity === 'error'), [], env);
  return ws.resources;
}

describe('intune lab', function () {
  this.timeout(30_000);

  it('the demo pins the certificates its lab tenants present, on the assigned ports', async () => {
    const ports = new Set<number>();
    for (const env of ['schule-nord', 'gymnasium-sued', 'verwaltung']) {
      const tenants = (await demo(env)).filter((r) => r.kind === 'MdmTenant');
      assert.equal(tenants.length, 1, env);
      const c = tenants[0].spec.connection;
      assert.equal(c.tlsFingerprint, labIntuneFingerprint(tenants[0].address), env);
      assert.ok(c.port >= 42301 && c.port <= 42309, `${env}: port ${c.port} in the intune range`);
      ports.add(c.port);
    }
    assert.equal(ports.size, 3, 'one port per lab tenant');
  });

  it('a lab tenant starts with the devices and apps the manifests assume, and nothing einklang manages', async () => {
    for (const [env, os, devices, apps] of [
      ['schule-nord', 'iOS', 3, ['ANTON']],
      ['verwaltung', 'Windows', 3, []],
    ] as const) {
      const resources = await demo(env);
      const t = resources.find((r) => r.kind === 'MdmTenant')!;
      const lab = await simulateIntune({ address: t.address, kind: t.kind, name: t.name, zone: t.zone, spec: {}, connection: { ...t.spec.connection, port: 0, clientSecret: 'x' } }, { resources });
      try {
        const model = lab.graph.tenant;
        assert.equal(model.devices.size, devices, env);
        assert.ok([...model.devices.values()].every((d) => d.operatingSystem === os && d.objectId), `${env}: ${os} devices with Entra ID objects`);
        assert.deepEqual([...model.apps.values()].map((a) => `${a.displayName} ${a.publishingState}`), apps.map((a) => `${a} published`));
        assert.deepEqual([model.groups.size, model.policies.size], [0, 0], 'what einklang manages starts absent');
        assert.match(lab.description, new RegExp(`lab Intune tenant for ${t.address}`));
      } finally {
        await lab.stop();
      }
    }
  });

  it('serves the token endpoint on its own port when loginPort differs', async () => {
    const [port, loginPort] = [await freePort(), await freePort()];
    const address = 'x/MdmTenant/t';
    const connection = {
      driver: 'intune',
      host: '127.0.0.1',
      port,
      loginHost: '127.0.0.1',
      loginPort,
      tenantId: 'lab.onmicrosoft.com',
      clientId: '6b1e2f4a-9c3d-4e5f-8a7b-1c2d3e4f5a6b',
      clientSecret: 'sekret',
      tlsFingerprint: labIntuneFingerprint(address),
    };
    const target = { address, kind: 'MdmTenant', name: 't', zone: 'school' as const, spec: {}, connection };
    const lab = await simulateIntune(target, { resources: [] });
    try {
      const r = await createIntuneDriver({ clock: new VirtualClock() }).connectReader(target);
      const result = await r.read([]);
      await r.close();
      assert.deepEqual(result.objects, {});
      assert.equal(lab.graph.entra.issued, 1);
      assert.ok(!lab.graph.http.log.some((e) => e.path.includes('oauth2')), 'the token came from the login port');
    } finally {
      await lab.stop();
    }
  });
});
