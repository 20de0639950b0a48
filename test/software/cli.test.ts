/**
 * Issue 11's "done when" through the real CLI against an opsi simulator in
 * this process: a client group of several clients and two deployments plan
 * (2), apply (0), re-plan (0); the server, asked over JSON-RPC itself, shows
 * the members and action requests as declared; still 0 after the clients
 * install; a version bump plans exactly the clients that need it. A product
 * missing on the depot, an unknown client, wrong credentials and a wrong
 * certificate fingerprint each give one clear error and change nothing.
 * `import --kind ClientGroup` writes manifests for existing host groups.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { basicAuth } from '../../providers/kit/auth.js';
import { ApiClient } from '../../providers/kit/client.js';
import { JsonRpcClient } from '../../providers/kit/jsonrpc.js';
import type { RunningOpsiSim } from '../../providers/software/opsi/simulator/server.js';
import { hasStackTrace, runCli, writeTree } from '../support/cli.js';
import { PASSWORD, USER, clientIds, startSim } from './helpers.js';

const ENV = 'schule-nord';
const SECRETS = { EINKLANG_SECRET_SCHOOL_OPSI_PASSWORD: PASSWORD };
const clients = clientIds(4);

interface Manifest {
  port: number;
  fingerprint: string;
  clients?: string[];
  firefox?: string;
  office?: string;
  prune?: boolean;
}

function opsiYaml(m: Manifest): string {
  return `apiVersion: einklang/v1
kind: OpsiServer
metadata: { name: opsi-schulen }
spec:
  groupScope: "gs-nord-*"
  prune: ${m.prune ?? false}
  connection: { driver: opsi, host: 127.0.0.1, port: ${m.port}, user: ${USER}, password: "\${secret:OPSI_PASSWORD}", tlsFingerprint: "${m.fingerprint}" }
---
apiVersion: einklang/v1
kind: ClientGroup
metadata: { name: gs-nord-pcs }
spec:
  server: opsi-schulen
  groupId: gs-nord-pcs
  clients:
${(m.clients ?? clients).map((c) => `    - ${c}`).join('\n')}
---
apiVersion: einklang/v1
kind: SoftwareDeployment
metadata: { name: firefox-gs-nord }
spec: { server: opsi-schulen, product: ${m.firefox ?? 'firefox'}, version: "128.0.3-1", group: gs-nord-pcs, action: setup }
---
apiVersion: einklang/v1
kind: SoftwareDeployment
metadata: { name: office-gs-nord }
spec: { server: opsi-schulen, product: libreoffice, version: "${m.office ?? '24.8.4-2'}", group: gs-nord-pcs }
`;
}

describe('opsi through the CLI', function () {
  this.timeout(60_000);
  let sim: RunningOpsiSim;
  let root: string;
  const env = () => join(root, ENV);
  const write = (m: Partial<Manifest> = {}) => writeFileSync(join(env(), 'opsi.yaml'), opsiYaml({ port: sim.port, fingerprint: sim.fingerprint, ...m }));
  const cli = (args: string[], secrets: Record<string, string> = SECRETS) => runCli(args, { cwd: root, env: secrets });
  const planJson = () => JSON.parse(readFileSync(join(root, 'plan.json'), 'utf8'));

  async function plan(expect: number, secrets?: Record<string, string>) {
    const r = await cli(['plan', ENV, '--out', 'plan.json'], secrets);
    assert.equal(r.code, expect, `plan exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    assert.ok(!hasStackTrace(r.stdout + r.stderr), r.stdout + r.stderr);
    return r;
  }

  /** The server's own answer over JSON-RPC (not through the driver). */
  async function ask<T>(method: string, params: unknown[]): Promise<T> {
    const http = new ApiClient({ host: '127.0.0.1', port: sim.port, tlsFingerprint: sim.fingerprint, auth: basicAuth(USER, PASSWORD) });
    try {
      return await new JsonRpcClient(http, { version: '1.0' }).call<T>(method, params);
    } finally {
      http.close();
    }
  }

  beforeEach(async () => {
    sim = await startSim();
    for (const c of clients) sim.backend.addClient(c);
    sim.backend.addProduct('firefox', '128.0.3', '1');
    sim.backend.addProduct('libreoffice', '24.8.4', '2');
    root = writeTree({ [`${ENV}/environment.yaml`]: `apiVersion: einklang/v1\nkind: Environment\nmetadata: { name: ${ENV} }\nspec: { zone: school }\n` });
    write();
  });
  afterEach(async () => {
    await sim.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('plans 2, applies 0, re-plans 0; the server shows what was declared; clients installing and a version bump', async () => {
    const first = await plan(2);
    assert.match(first.stdout, /~ +schule-nord\/SoftwareDeployment\/firefox-gs-nord/);
    assert.match(first.stdout, /clientsNeedingAction: 4 -> 0/);
    assert.equal(planJson().summary.update, 2, 'one change per deployment, not one per client');
    const applied = await cli(['apply', 'plan.json']);
    assert.equal(applied.code, 0, applied.stdout + applied.stderr);
    await plan(0);

    const members = await ask<{ objectId: string }[]>('objectToGroup_getObjects', [[], { groupType: 'HostGroup', groupId: 'gs-nord-pcs' }]);
    assert.deepEqual(members.map((m) => m.objectId).sort(), clients);
    const pocs = await ask<{ productId: string; clientId: string; actionRequest: string }[]>('productOnClient_getObjects', [[], { clientId: clients }]);
    assert.deepEqual(pocs.map((p) => `${p.productId} ${p.clientId} ${p.actionRequest}`).sort(), ['firefox', 'libreoffice'].flatMap((p) => clients.map((c) => `${p} ${c} setup`)).sort());

    assert.equal(sim.backend.runPendingActions({ clientIds: clients.slice(0, 3) }), 6);
    await plan(0);

    sim.backend.addProduct('libreoffice', '24.8.5', '1');
    write({ office: '24.8.5-1' });
    await plan(2);
    const [change] = planJson().changes;
    assert.equal(planJson().changes.length, 1);
    assert.equal(change.address, `${ENV}/SoftwareDeployment/office-gs-nord`);
    assert.deepEqual(change.before.needsAction, clients.slice(0, 3), 'the three that installed 24.8.4-2; the fourth still has setup pending');
  });

  for (const [name, edit, message] of [
    ['a product missing on the depot', { firefox: 'thunderbird' }, /SoftwareDeployment\/firefox-gs-nord: product thunderbird is not on depot opsi\.lab\.invalid/],
    ['an unknown client', { clients: [...clients, 'pc-099.gs-nord.schule.local'] }, /client pc-099\.gs-nord\.schule\.local is not known to the opsi server/],
    ['a version that is not on the depot', { office: '25.2.0-1' }, /has libreoffice 24\.8\.4-2, not 25\.2\.0-1/],
  ] as const) {
    it(`${name}: one clear error at plan time, nothing changed`, async () => {
      write(edit as Partial<Manifest>);
      const r = await plan(1);
      assert.equal(r.stdout.split('\n').filter((l) => message.test(l)).length, 1, `the plan names the problem once:\n${r.stdout}`);
      assert.equal(planJson().applyable, false);
      assert.match(planJson().errored[0].message, message);
      assert.equal(sim.sim.counters.writes, 0);
    });
  }

  it('wrong credentials and a wrong certificate fingerprint: one clear error each, no secret shown, nothing sent to a wrong server', async () => {
    const wrong = await plan(1, { EINKLANG_SECRET_SCHOOL_OPSI_PASSWORD: 'Wrong-Passw0rd-42' });
    assert.match(wrong.stdout + wrong.stderr, /credentials rejected \(HTTP 401: Authentication error\)/);
    assert.ok(!(wrong.stdout + wrong.stderr).includes('Wrong-Passw0rd-42'));
    const requests = sim.sim.counters.requests;
    write({ fingerprint: '00:'.repeat(31) + '00' });
    const pinned = await plan(1);
    assert.match(pinned.stdout + pinned.stderr, /certificate/i);
    assert.equal(sim.sim.counters.requests, requests, 'no request reached the server');
    assert.equal(sim.sim.counters.writes, 0);
  });

  it('refuses opsi-invalid values at validate with file:line:col', async () => {
    writeFileSync(join(env(), 'bad.yaml'), `apiVersion: einklang/v1
kind: SoftwareDeployment
metadata: { name: bad }
spec: { server: opsi-schulen, product: "Fire Fox", version: "128", group: gs-nord-pcs }
---
apiVersion: einklang/v1
kind: ClientGroup
metadata: { name: bad-group }
spec: { server: opsi-schulen, groupId: "-x", clients: [pc-001, PC-002.GS-NORD.SCHULE.LOCAL, pc-002.gs-nord.schule.local] }
`);
    const r = await cli(['validate', ENV]);
    assert.equal(r.code, 1);
    const out = r.stdout + r.stderr;
    for (const code of ['E_OPSI_PRODUCT_ID', 'E_OPSI_VERSION', 'E_OPSI_GROUP_ID', 'E_OPSI_CLIENT_ID', 'E_OPSI_CLIENT_DUPLICATE']) {
      assert.match(out, new RegExp(`bad\\.yaml:\\d+:\\d+: error ${code}: `), code);
    }
    assert.ok(!hasStackTrace(out));
  });

  it('reports host groups in scope that no manifest declares, and deletes them with prune: true (never groups outside the scope)', async () => {
    sim.backend.call('group_createHostGroup', ['gs-nord-alt']);
    sim.backend.call('group_createHostGroup', ['gy-sued-pcs']);
    await plan(2);
    assert.deepEqual(planJson().unmanaged.map((u: { id: string }) => u.id), ['gs-nord-alt']);
    write({ prune: true });
    await plan(2);
    const prune = planJson().changes.filter((c: { actions: string[] }) => c.actions.join() === 'delete');
    assert.deepEqual(prune.map((c: { kind: string; id: string }) => `${c.kind} ${c.id}`), ['ClientGroup gs-nord-alt']);
    const applied = await cli(['apply', 'plan.json']);
    assert.equal(applied.code, 0, applied.stdout + applied.stderr);
    assert.deepEqual([...sim.backend.groups.rows.values()].map((g) => g.id).sort(), ['gs-nord-pcs', 'gy-sued-pcs']);
  });

  it('imports existing host groups as ClientGroup manifests that then plan without changes', async () => {
    sim.backend.call('group_createHostGroup', ['gs-nord-lehrer', 'Lehrerzimmer']);
    sim.backend.call('objectToGroup_createObjects', [[clients[0], clients[1]].map((objectId) => ({ type: 'ObjectToGroup', groupType: 'HostGroup', groupId: 'gs-nord-lehrer', objectId }))]);
    const r = await cli(['import', '--env', ENV, '--kind', 'ClientGroup']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const file = readdirSync(env()).find((f) => f.startsWith('imported-clientgroup'))!;
    const text = readFileSync(join(env(), file), 'utf8');
    assert.match(text, /groupId: gs-nord-lehrer/);
    assert.match(text, /description: Lehrerzimmer/);
    assert.match(text, new RegExp(`- ${clients[1].replace(/\./g, '\\.')}`));
    const applied = (await cli(['plan', ENV, '--out', 'plan.json'])).code;
    assert.equal(applied, 2);
    assert.deepEqual(planJson().changes.filter((c: { kind: string; id: string }) => c.id === 'gs-nord-lehrer'), [], 'the imported group is declared exactly as it is');
  });
});
