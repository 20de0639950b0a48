/**
 * The software kinds at validate time (through the CLI, so positions are the
 * real file:line:col): DESIGN.md's opsi example as written, opsi's own rules,
 * and the manifests that would fight over a client. And what they expand to.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultCatalog } from '../../cli/catalog.js';
import type { ExpandContext, Resource } from '../../engine/types.js';
import { hasStackTrace, runCli, writeTree } from '../support/cli.js';
import { SHARED } from '../support/shared.js';

const PIN = 'AB:'.repeat(31) + 'AB';
const ENV = 'kind: Environment\nmetadata: { name: s }\nspec: { zone: school }\n';

const server = (name: string, extra = '') => `kind: OpsiServer
metadata: { name: ${name} }
spec: { ${extra}connection: { driver: opsi, host: 127.0.0.1, port: 4447, user: einklang, password: "\${secret:OPSI_PASSWORD}", tlsFingerprint: "${PIN}" } }
`;
const group = (name: string, groupId: string, clients: string[], extra = '') => `kind: ClientGroup
metadata: { name: ${name} }
spec: { server: opsi, groupId: "${groupId}", clients: [${clients.join(', ')}]${extra} }
`;
const deployment = (name: string, spec: string) => `kind: SoftwareDeployment
metadata: { name: ${name} }
spec: { server: opsi, ${spec} }
`;

async function validate(files: Record<string, string>) {
  const root = writeTree({ 's/environment.yaml': ENV, ...files });
  const r = await runCli(['validate', 's'], { cwd: root });
  assert.ok(!hasStackTrace(r.stdout + r.stderr), r.stdout + r.stderr);
  return { ...r, out: r.stdout + r.stderr };
}

describe('software kinds', function () {
  this.timeout(30_000);

  it('DESIGN.md\'s opsi example validates as written', async function () {
    const design = join(SHARED, 'DESIGN.md');
    if (!existsSync(design)) this.skip();
    const block = [...readFileSync(design, 'utf8').matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]).find((b) => /^kind: OpsiServer$/m.test(b));
    assert.ok(block, 'DESIGN.md has the opsi example');
    const r = await validate({ 's/example.yaml': block!.replace('"AB:CD:..."', `"${PIN}"`) });
    assert.equal(r.code, 0, r.out);
    assert.match(r.stdout, /valid: 1 environment\(s\), 4 resource\(s\)/);
  });

  it('refuses what opsi would refuse or what would fight over a client, each at its position', async () => {
    const a = 'pc-001.gs-nord.schule.local';
    const b = 'pc-002.gs-nord.schule.local';
    const r = await validate({
      's/servers.yaml': [server('opsi', 'groupScope: "gs-nord-*", '), server('other'), 'kind: OpsiServer\nmetadata: { name: nopin }\nspec: { connection: { driver: opsi, host: 127.0.0.1, user: u, password: "${secret:P}" } }\n'].join('---\n'),
      's/groups.yaml': [
        group('pcs', 'gs-nord-pcs', [a, b]),
        group('twin', 'gs-nord-pcs', [a]),
        group('outside', 'gy-sued-pcs', [a]),
        group('lehrer', 'gs-nord-lehrer', [b]),
        group('gone', 'gs-nord-alt', [], ', ensure: absent'),
        'kind: ClientGroup\nmetadata: { name: elsewhere }\nspec: { server: other, groupId: x, clients: [] }\n',
      ].join('---\n'),
      's/deployments.yaml': [
        deployment('ff', 'product: firefox, version: "128.0.3-1", group: pcs'),
        deployment('ff-again', 'product: firefox, version: "128.0.3-1", group: pcs'),
        deployment('ff-old', 'product: firefox, version: "115.0-1", group: lehrer'),
        deployment('on-absent', 'product: vlc, version: "3.0-1", group: gone'),
        deployment('mismatch', 'product: vlc, version: "3.0-1", group: elsewhere'),
        deployment('no-version', 'product: vlc, group: pcs'),
        deployment('remove', 'product: flash, action: uninstall, group: lehrer'),
      ].join('---\n'),
    });
    assert.equal(r.code, 1);
    const at = (file: string, code: string, text: RegExp) => assert.match(r.out, new RegExp(`s/${file}\\.yaml:\\d+:\\d+: error ${code}: .*${text.source}`), `${code} ${text}`);
    at('servers', 'E_OPSI_TLS_PIN', /tlsFingerprint is required for a loopback/);
    at('groups', 'E_OPSI_GROUP_DUPLICATE', /s\/ClientGroup\/pcs declares the same opsi group "gs-nord-pcs"/);
    at('groups', 'E_OPSI_GROUP_SCOPE', /"gy-sued-pcs" is outside the groupScope "gs-nord-\*"/);
    at('deployments', 'E_OPSI_DEPLOYMENT_DUPLICATE', /also deploys firefox to ClientGroup pcs/);
    at('deployments', 'E_OPSI_DEPLOYMENT_CONFLICT', /both deploy firefox to pc-002\.gs-nord\.schule\.local/);
    at('deployments', 'E_OPSI_GROUP_ABSENT', /ClientGroup gone is declared ensure: absent/);
    at('deployments', 'E_OPSI_SERVER_MISMATCH', /lives on OpsiServer other, not on opsi/);
    at('deployments', 'E_SCHEMA', /version/);
    assert.doesNotMatch(r.out, /SoftwareDeployment\/remove/, 'uninstall needs no version');
  });

  it('expands a deployment to one object with the group\'s declared clients, compared only by what needs action', () => {
    const catalog = defaultCatalog();
    const res = (kind: string, name: string, spec: Record<string, unknown>): Resource => ({ address: `s/${kind}/${name}`, env: 's', zone: 'school', apiVersion: 'einklang/v1', kind, name, labels: {}, spec, pos: { file: 'x.yaml', line: 1, col: 1 }, positions: {}, dir: '.' });
    const g = res('ClientGroup', 'pcs', { server: 'opsi', groupId: 'gs-nord-pcs', clients: ['PC-002.gs-nord.schule.local', 'pc-001.gs-nord.schule.local'] });
    const d = res('SoftwareDeployment', 'ff', { server: 'opsi', product: 'firefox', version: '128.0.3-1', group: 'pcs' });
    const ctx: ExpandContext = { byAddress: new Map([g, d].map((r) => [r.address, r])), resources: [g, d], lookup: (k, n) => [g, d].find((r) => r.kind === k && r.name === n) };
    const [go] = catalog.kind('ClientGroup')!.expand!(g, ctx);
    assert.deepEqual([go.id, go.target, go.state], ['gs-nord-pcs', 's/OpsiServer/opsi', { clients: ['pc-001.gs-nord.schule.local', 'pc-002.gs-nord.schule.local'] }]);
    const [dobj] = catalog.kind('SoftwareDeployment')!.expand!(d, ctx);
    assert.deepEqual(dobj.state, { product: 'firefox', version: '128.0.3-1', action: 'setup', clients: ['pc-001.gs-nord.schule.local', 'pc-002.gs-nord.schule.local'], clientsNeedingAction: 0, needsAction: [] });
    assert.deepEqual(dobj.dependsOn, ['s/OpsiServer/opsi', 's/ClientGroup/pcs']);
    assert.deepEqual(catalog.kind('SoftwareDeployment')!.normalize!(dobj.state), { clientsNeedingAction: 0, needsAction: [] });
  });
});
