/**
 * The opsi lab: what `einklang lab` starts for an OpsiServer on loopback. It
 * presents the certificate the demo manifests pin, accepts the credentials
 * the manifest's secret resolves to, and starts with the clients and
 * products the manifests assume (everything einklang manages absent).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { readFileSync } from 'node:fs';
import { packageRoot } from '../../engine/paths.js';
import { loadWorkspace } from '../../engine/workspace.js';
import { defaultCatalog } from '../../cli/catalog.js';
import { plannedTarget, targetSpec } from '../../engine/targets.js';
import { Secrets } from '../../engine/secrets.js';
import { labOpsiFingerprint, simulateOpsi } from '../../providers/software/opsi/lab.js';
import type { RunningOpsiSim } from '../../providers/software/opsi/simulator/server.js';
import { opsiDriver } from '../../providers/software/opsi/driver.js';

const DEMO = join(packageRoot, 'environments/demo-city');
const docs = (file: string) => parseAllDocuments(readFileSync(join(DEMO, file), 'utf8')).map((d) => d.toJS());

describe('opsi lab', function () {
  this.timeout(20_000);

  it('the fingerprints the demo manifests pin are the ones the lab presents', () => {
    for (const env of ['schule-nord', 'gymnasium-sued']) {
      const profile = docs(`${env}/environment.yaml`)[0].spec.profiles.find((p: { path: string }) => p.path === 'profiles/school-software');
      assert.equal(profile.params.opsiCert, labOpsiFingerprint(`${env}/OpsiServer/opsi`), env);
    }
    const server = docs('verwaltung/software.yaml').find((d) => d.kind === 'OpsiServer');
    assert.equal(server.spec.connection.tlsFingerprint, labOpsiFingerprint(`verwaltung/OpsiServer/${server.metadata.name}`));
  });

  it('starts with the manifests\' clients and products, accepts the resolved secret, and manages nothing yet', async () => {
    const ws = await loadWorkspace(defaultCatalog(), [join(DEMO, 'schule-nord')], { repositoryWide: false });
    const res = ws.resources.find((r) => r.kind === 'OpsiServer')!;
    process.env.EINKLANG_SECRET_SCHOOL_OPSI_PASSWORD = 'lab-test-password';
    const target = targetSpec(plannedTarget(res), new Secrets({ zone: 'school' }));
    delete process.env.EINKLANG_SECRET_SCHOOL_OPSI_PASSWORD;
    assert.equal(target.connection.password, 'lab-test-password');
    const lab = await simulateOpsi({ ...target, connection: { ...target.connection, port: 0 } }, { resources: ws.resources.filter((r) => r.env === res.env) });
    try {
      const sim = lab.model as RunningOpsiSim;
      const group = ws.resources.find((r) => r.kind === 'ClientGroup')!;
      const hosts = [...sim.backend.hosts.rows.values()].filter((h) => h.type === 'OpsiClient').map((h) => h.id);
      assert.deepEqual(hosts.sort(), [...group.spec.clients].sort());
      const pods = [...sim.backend.productOnDepots.rows.values()].map((p) => `${p.productId} ${p.productVersion}-${p.packageVersion}`).sort();
      assert.deepEqual(pods, ['firefox 128.0.3-1', 'libreoffice 24.8.4-1']);
      assert.equal(sim.backend.groups.rows.size, 0);
      assert.equal(sim.backend.productOnClients.rows.size, 0);
      assert.equal(lab.fingerprint, labOpsiFingerprint(res.address));
      const reader = await opsiDriver().connectReader({ ...target, connection: { ...target.connection, port: lab.port } });
      await reader.close();
    } finally {
      await lab.stop();
    }
  });

  it('with EINKLANG_LAB_OPSI_INSTALL_SECONDS its clients run pending requests by themselves and report back', async () => {
    const ws = await loadWorkspace(defaultCatalog(), [join(DEMO, 'schule-nord')], { repositoryWide: false });
    const res = ws.resources.find((r) => r.kind === 'OpsiServer')!;
    process.env.EINKLANG_SECRET_SCHOOL_OPSI_PASSWORD = 'lab-test-password';
    process.env.EINKLANG_LAB_OPSI_INSTALL_SECONDS = '0';
    const target = targetSpec(plannedTarget(res), new Secrets({ zone: 'school' }));
    let lab;
    try {
      lab = await simulateOpsi({ ...target, connection: { ...target.connection, port: 0 } }, { resources: ws.resources.filter((r) => r.env === res.env) });
    } finally {
      delete process.env.EINKLANG_SECRET_SCHOOL_OPSI_PASSWORD;
      delete process.env.EINKLANG_LAB_OPSI_INSTALL_SECONDS;
    }
    try {
      assert.match(lab.description, /clients install 0 s after a request/);
      const sim = lab.model as RunningOpsiSim;
      const client = [...sim.backend.hosts.rows.values()].find((h) => h.type === 'OpsiClient')!.id as string;
      const http = await opsiDriver().connectWriter({ ...target, connection: { ...target.connection, port: lab.port } });
      if (http.mode === 'change') {
        await http.applyChange({
          address: 'schule-nord/SoftwareDeployment/firefox', resource: 'schule-nord/SoftwareDeployment/firefox', kind: 'SoftwareDeployment', target: res.address, id: 'firefox',
          actions: ['update'], before: null, after: { product: 'firefox', version: '128.0.3-1', action: 'setup', clients: [client], clientsNeedingAction: 0, needsAction: [] }, diff: [], liveFingerprint: '', dependsOn: [],
        });
      }
      await http.close();
      await new Promise((r) => setTimeout(r, 0)); // after the clients' own timer
      const poc = sim.backend.productOnClient('firefox', client)!;
      assert.deepEqual([poc.installationStatus, poc.actionRequest, poc.productVersion], ['installed', 'none', '128.0.3']);
    } finally {
      await lab.stop();
    }
  });
});
