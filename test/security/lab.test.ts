/**
 * The demo's firewalls in the lab: the certificate fingerprints the demo
 * manifests pin are the ones the lab presents, and the lab firewall is set
 * up as the manifests assume (their interfaces, the manifest's credentials,
 * a management rule; nothing einklang manages), with its behaviour switches
 * on the Firewall's labels.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { packageRoot } from '../../engine/paths.js';
import { labCertificate } from '../../providers/lab/identity.js';
import { simulateOpnsense, FIRMWARE_LABEL, ROLLBACK_LABEL } from '../../providers/security/opnsense/simulator/index.js';
import { res } from '../governance/helpers.js';

describe('opnsense lab', () => {
  it('the fingerprints the demo manifests pin are the ones the lab presents, on the school firewall ports', () => {
    const ports = new Set<number>();
    for (const env of ['schule-nord', 'gymnasium-sued']) {
      const [e] = parseAllDocuments(readFileSync(join(packageRoot, 'environments/demo-city', env, 'environment.yaml'), 'utf8')).map((d) => d.toJS());
      const params = e.spec.profiles.find((p: { path: string }) => p.path === 'profiles/school-firewall').params;
      const address = `${env}/Firewall/fw-01`;
      assert.equal(params.firewallCert, labCertificate(address, address).fingerprint256, env);
      assert.ok(params.firewallPort >= 42321 && params.firewallPort <= 42329, 'the lab ports of the security area');
      ports.add(params.firewallPort);
    }
    assert.equal(ports.size, 2);
  });

  it('starts as the manifests assume, switched by the Firewall\'s labels', async () => {
    const fw = res('lab', 'school', 'Firewall', 'fw', {}, { labels: { [FIRMWARE_LABEL]: '26.7', [ROLLBACK_LABEL]: '5' } });
    const rule = res('lab', 'school', 'FirewallRule', 'r', { firewall: 'fw', sequence: 1, interface: ['lan', 'opt3'], action: 'pass' });
    const sim = await simulateOpnsense(
      { address: fw.address, kind: 'Firewall', name: 'fw', zone: 'school', spec: {}, connection: { host: '127.0.0.1', port: 0, apiKey: 'k', apiSecret: 's' } },
      { resources: [fw, rule] },
    );
    try {
      const m = sim.opnsense.model;
      assert.equal(m.o.firmware, '26.7');
      assert.equal(m.o.rollbackWindowMs, 5000);
      assert.deepEqual(m.o.interfaces, ['lan', 'opt3', 'wan']);
      assert.deepEqual([...m.config.rules.values()].map((r) => r.description), ['Management access (web GUI and API)']);
      assert.ok([...m.config.aliases.keys()].every((k) => !/^[0-9a-f]{8}-/.test(k)), 'only the firewall\'s own aliases');
      assert.equal(sim.fingerprint, labCertificate(fw.address, fw.address).fingerprint256);
      assert.match(sim.description, /lab OPNsense 26\.7 for lab\/Firewall\/fw/);
    } finally {
      await sim.stop();
    }
  });
});
