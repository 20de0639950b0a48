/**
 * Issue 13's "done when" through the real CLI, against lab simulators started
 * in this process the way `einklang lab` starts them:
 *   1. two licenses on a lab Snipe-IT: plan 2, apply 0, re-plan 0, and the
 *      server itself (GET /api/v1/licenses) shows the declared seats and expiry;
 *   2. 2 seats covering a deployment to 3 clients: plan 1 with E_LICENSE_SEATS
 *      naming pool, demand, seats and the deployment's file:line:col; 3 seats
 *      pass (needs the software area's kinds: pending until they are registered);
 *   3. a validation error inside HTTP 200 is reported as an error; a wrong token
 *      and a wrong certificate fingerprint are clear errors and change nothing.
 * Plus seats below those checked out (plan warning, apply refusal), prune, and
 * the license table of the markdown plan.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { defaultCatalog } from '../../cli/catalog.js';
import { ApiClient } from '../../providers/kit/client.js';
import { bearerAuth } from '../../providers/kit/auth.js';
import { statusErrorEnvelope } from '../../providers/kit/errors.js';
import type { RunningSnipeitLab } from '../../providers/licenses/snipeit/lab.js';
import { hasStackTrace, runCli, writeTree } from '../support/cli.js';
import { freePort } from '../support/sshd.js';
import { placeholderPin, startEnvLab, type EnvLab } from './lab-env.js';

const ENV = 'schule';
const TOKEN = 'lab-snipeit-token-3c9f';
const SERVER = `${ENV}/LicenseServer/snipeit`;

const doc = (kind: string, name: string, spec: string) => `apiVersion: einklang/v1\nkind: ${kind}\nmetadata: { name: ${name} }\nspec: ${spec}\n`;

function licenseServer(port: number, pin: string, prune = false): string {
  return doc('LicenseServer', 'snipeit', `\n  prune: ${prune}\n  connection: { driver: snipeit, host: 127.0.0.1, port: ${port}, token: "\${secret:SNIPEIT_TOKEN}", tlsFingerprint: "${pin}" }`);
}

function pools(officeSeats = 300): string {
  return [
    doc('License', 'office', `{ server: snipeit, name: "Microsoft 365 A3 Schulen", seats: ${officeSeats}, expires: "2030-07-31", manufacturer: Microsoft, category: Office }`),
    doc('License', 'anton', `{ server: snipeit, name: "ANTON Schullizenz", seats: 120, expires: "2031-01-31", manufacturer: "solocode GmbH", category: Lern-Apps }`),
  ].join('---\n');
}

interface Lab {
  root: string;
  env: string;
  planFile: string;
  port: number;
  lab: EnvLab;
  snipeit: RunningSnipeitLab;
  writeServer(o?: { pin?: string; prune?: boolean }): void;
  stop(): Promise<void>;
}

/** An environment with a lab Snipe-IT and the files `extra`, started like `einklang lab` would. */
async function startLab(files: Record<string, string>, extraSecrets: Record<string, string> = {}): Promise<Lab> {
  const port = await freePort();
  const root = writeTree({
    // a small environment: pruning one pool would otherwise exceed the destructive-change cap (20 %)
    [`envs/${ENV}/environment.yaml`]: doc('Environment', ENV, '{ zone: school, policies: { maxDeletePercent: 100 } }'),
    [`envs/${ENV}/server.yaml`]: licenseServer(port, placeholderPin(1)),
    ...Object.fromEntries(Object.entries(files).map(([f, t]) => [`envs/${ENV}/${f}`, t])),
  });
  mkdirSync(join(root, 'secrets/school'), { recursive: true });
  for (const [k, v] of Object.entries({ SNIPEIT_TOKEN: TOKEN, ...extraSecrets })) writeFileSync(join(root, 'secrets/school', k), v, { mode: 0o600 });
  const env = join(root, 'envs', ENV);
  const lab = await startEnvLab(env, join(root, 'secrets'));
  const writeServer = (o: { pin?: string; prune?: boolean } = {}) => writeFileSync(join(env, 'server.yaml'), licenseServer(port, o.pin ?? lab.fingerprints[SERVER], o.prune));
  writeServer();
  return {
    root,
    env,
    port,
    lab,
    planFile: join(root, 'plan.json'),
    snipeit: lab.sims.get(SERVER) as RunningSnipeitLab,
    writeServer,
    async stop() {
      await lab.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

const cli = (lab: Lab, args: string[]) => runCli([...args, '--secrets-dir', join(lab.root, 'secrets')], { cwd: lab.root });

async function expectCode(lab: Lab, args: string[], code: number) {
  const r = await cli(lab, args);
  assert.equal(r.code, code, `${args[0]} exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  assert.ok(!hasStackTrace(r.stdout + r.stderr), r.stdout + r.stderr);
  assert.ok(!(r.stdout + r.stderr).includes(TOKEN), 'the token never appears');
  return r;
}

/** GET /api/v1/licenses on the simulator itself, over HTTPS with the token, as any Snipe-IT client would. */
async function liveLicenses(lab: Lab): Promise<{ name: string; seats: number; expiration_date: { date: string } | null; manufacturer: { name: string } | null; category: { name: string } | null }[]> {
  const http = new ApiClient({ host: '127.0.0.1', port: lab.port, tlsFingerprint: lab.snipeit.fingerprint, basePath: '/api/v1', auth: bearerAuth(TOKEN), envelope: statusErrorEnvelope });
  try {
    return (await http.get('/licenses', { query: { sort: 'name', order: 'asc' } })).rows;
  } finally {
    http.close();
  }
}

describe('licenses through the CLI against a lab Snipe-IT', function () {
  this.timeout(60_000);
  let lab: Lab | undefined;
  afterEach(async () => {
    await lab?.stop();
    lab = undefined;
  });

  it('plans (2), applies (0), re-plans (0); the server lists both pools with the declared seats and expiry', async () => {
    lab = await startLab({ 'licenses.yaml': pools() });
    const first = await expectCode(lab, ['plan', lab.env, '--out', lab.planFile], 2);
    assert.match(first.stdout, /\+\s+schule\/License\/office/);
    assert.match(first.stdout, /seats: 300/);
    await expectCode(lab, ['apply', lab.planFile], 0);
    const again = await expectCode(lab, ['plan', lab.env], 0);
    assert.match(again.stdout, /No changes/);
    const live = await liveLicenses(lab);
    assert.deepEqual(
      live.map((l) => [l.name, l.seats, l.expiration_date?.date, l.manufacturer?.name, l.category?.name]),
      [
        ['ANTON Schullizenz', 120, '2031-01-31', 'solocode GmbH', 'Lern-Apps'],
        ['Microsoft 365 A3 Schulen', 300, '2030-07-31', 'Microsoft', 'Office'],
      ],
    );
    assert.equal(lab.snipeit.model.seats.size, 420, 'Snipe-IT made the seat rows');
    const md = await expectCode(lab, ['plan', lab.env, '--format', 'markdown'], 0);
    assert.match(md.stdout, /\| Microsoft 365 A3 Schulen \(`schule\/License\/office`\) \| 300 \| 0 \| 0 \| 2030-07-31 \|/);
  });

  it('a validation error inside HTTP 200 fails the change, names the pool and what the server said; the rest goes on, nothing is taken for a success', async () => {
    lab = await startLab({ 'licenses.yaml': pools() });
    await expectCode(lab, ['plan', lab.env, '--out', lab.planFile], 2);
    // the category went away between plan and apply: Snipe-IT's `exists` rule answers inside HTTP 200
    lab.snipeit.simulator.sim.faults.add(
      { kind: 'status', status: 200, body: { status: 'error', messages: { category_id: ['The selected category id is invalid.'] } } },
      { match: { method: 'POST', path: '/api/v1/licenses' } },
    );
    const r = await expectCode(lab, ['apply', lab.planFile], 1);
    const out = r.stdout + r.stderr;
    assert.match(out, /creating pool "(ANTON Schullizenz|Microsoft 365 A3 Schulen)": POST \/api\/v1\/licenses: the server reported an error inside HTTP 200: category_id: The selected category id is invalid\./);
    assert.equal((await liveLicenses(lab)).length, 1, 'one pool created, the refused one not');
    const again = await expectCode(lab, ['plan', lab.env, '--out', lab.planFile], 2);
    assert.equal((JSON.parse(readFileSync(lab.planFile, 'utf8')).changes as unknown[]).length, 1, again.stdout);
  });

  it('a wrong token and a wrong certificate fingerprint are clear errors and change nothing', async () => {
    lab = await startLab({ 'licenses.yaml': pools() });
    const before = lab.snipeit.model.snapshot();
    writeFileSync(join(lab.root, 'secrets/school/SNIPEIT_TOKEN'), 'not-the-token-1234', { mode: 0o600 });
    const badToken = await expectCode(lab, ['plan', lab.env], 1);
    assert.match(badToken.stdout + badToken.stderr, /schule\/LicenseServer\/snipeit: .*credentials rejected \(HTTP 401: Unauthorized or unauthenticated\.\)/);
    assert.ok(!(badToken.stdout + badToken.stderr).includes('not-the-token-1234'));
    writeFileSync(join(lab.root, 'secrets/school/SNIPEIT_TOKEN'), TOKEN, { mode: 0o600 });

    lab.writeServer({ pin: placeholderPin(2) });
    const requests = lab.snipeit.simulator.sim.counters.requests;
    const badPin = await expectCode(lab, ['plan', lab.env], 1);
    assert.match(badPin.stdout + badPin.stderr, /certificate.*(fingerprint|pin)/i);
    assert.match(badPin.stdout + badPin.stderr, /nothing was sent/i);
    assert.equal(lab.snipeit.simulator.sim.counters.requests, requests, 'not one request reached the server');
    assert.deepEqual(lab.snipeit.model.snapshot(), before, 'nothing changed');
  });

  it('lowering seats below those checked out: the plan warns, the apply is refused before any write and says why', async () => {
    lab = await startLab({ 'licenses.yaml': pools() });
    await expectCode(lab, ['plan', lab.env, '--out', lab.planFile], 2);
    await expectCode(lab, ['apply', lab.planFile], 0);
    const office = [...lab.snipeit.model.licenses.values()].find((l) => l.name === 'Microsoft 365 A3 Schulen')!;
    for (const s of lab.snipeit.model.seatsOf(office.id).slice(0, 5)) lab.snipeit.model.updateSeat(s, { assigned_to: 1 });
    writeFileSync(join(lab.env, 'licenses.yaml'), pools(3));
    const p = await expectCode(lab, ['plan', lab.env, '--out', lab.planFile], 2);
    assert.match(p.stdout, /policy advisory W_LICENSE_SEATS_ASSIGNED builtin\/license-warnings: schule\/License\/office: pool "Microsoft 365 A3 Schulen": the plan lowers seats to 3, but 5 seat\(s\) are checked out/);
    const writes = lab.snipeit.simulator.sim.counters.writes;
    const a = await expectCode(lab, ['apply', lab.planFile], 1);
    assert.match(a.stdout + a.stderr, /pool "Microsoft 365 A3 Schulen": cannot lower seats to 3: 5 seat\(s\) are checked out/);
    assert.equal(lab.snipeit.simulator.sim.counters.writes, writes);
    assert.equal(office.seats, 300);
  });

  it('unmanaged pools are reported; with prune they are deleted, but never while a seat is checked out', async () => {
    lab = await startLab({ 'licenses.yaml': pools() });
    const m = lab.snipeit.model;
    const old = m.createLicense({ name: 'Altlizenz Lernsoftware', seats: 2, category_id: 1 });
    assert.ok(old.ok);
    const drift = await expectCode(lab, ['plan', lab.env], 2);
    assert.match(drift.stdout, /unmanaged License Altlizenz Lernsoftware on schule\/LicenseServer\/snipeit/);
    lab.writeServer({ prune: true });
    m.updateSeat(m.seatsOf(old.license.id)[0], { assigned_to: 1 });
    const refused = await expectCode(lab, ['plan', lab.env], 1);
    assert.match(refused.stdout, /E_LICENSE_IN_USE builtin\/license-seats: .*deletes pool "Altlizenz Lernsoftware" .*1 seat\(s\) are checked out/);
    m.updateSeat(m.seatsOf(old.license.id)[0], { assigned_to: null });
    await expectCode(lab, ['plan', lab.env, '--out', lab.planFile], 2);
    await expectCode(lab, ['apply', lab.planFile], 0);
    assert.ok(old.license.deleted_at, 'pruned');
    await expectCode(lab, ['plan', lab.env], 0);
  });

  it('import writes manifests for pools that exist only in Snipe-IT; the next plan has nothing to do', async () => {
    lab = await startLab({ 'licenses.yaml': pools() });
    await expectCode(lab, ['plan', lab.env, '--out', lab.planFile], 2);
    await expectCode(lab, ['apply', lab.planFile], 0);
    const m = lab.snipeit.model;
    assert.ok(m.createLicense({ name: 'GeoGebra & Co. "Mathe"', seats: 25, category_id: 1, manufacturer_id: 1, expiration_date: '2029-12-31' }).ok);
    const r = await expectCode(lab, ['import', '--env', lab.env, '--kind', 'License'], 0);
    assert.match(r.stdout, /wrote 1 License manifest\(s\) to .*imported-license\.yaml/);
    const written = parse(readFileSync(join(lab.env, 'imported-license.yaml'), 'utf8'));
    assert.deepEqual(written.spec, { server: 'snipeit', name: 'GeoGebra & Co. "Mathe"', seats: 25, category: 'Office', manufacturer: 'Microsoft', expires: '2029-12-31' });
    await expectCode(lab, ['plan', lab.env], 0);
  });

  describe('seat compliance across areas', () => {
    const OPSI = `${ENV}/OpsiServer/opsi`;
    const clients = ['pc-001', 'pc-002', 'pc-003'].map((c) => `${c}.schule.local`);
    const software = (port: number, pin: string) =>
      [
        doc('OpsiServer', 'opsi', `{ connection: { driver: opsi, host: 127.0.0.1, port: ${port}, user: einklang, password: "\${secret:OPSI_PASSWORD}", tlsFingerprint: "${pin}" } }`),
        doc('ClientGroup', 'klasse-5a', `{ server: opsi, groupId: klasse-5a, clients: [${clients.join(', ')}] }`),
        doc('SoftwareDeployment', 'office-5a', '{ server: opsi, product: office365, version: "16.0-1", group: klasse-5a, action: setup }'),
      ].join('---\n');
    const license = (seats: number) => doc('License', 'office', `{ server: snipeit, name: "Microsoft 365 A3 Schulen", seats: ${seats}, category: Office, covers: [ { kind: SoftwareDeployment, name: office-5a } ] }`);

    it('a License with 2 seats covering a deployment to a group of 3 clients fails plan (E_LICENSE_SEATS, demand 3, seats 2, the deployment at file:line:col); 3 seats pass', async function () {
      if (!defaultCatalog().kind('SoftwareDeployment') || !defaultCatalog().driverEntry('opsi')?.loadLab) {
        // Pending on purpose: the opsi kinds (issue 11) are built on another branch; this runs as soon as they are merged.
        this.test!.title += ' [PENDING: the software area (SoftwareDeployment, ClientGroup, driver opsi; issue 11) is not registered in this build]';
        this.skip();
      }
      const opsiPort = await freePort();
      lab = await startLab({ 'software.yaml': software(opsiPort, placeholderPin(3)), 'licenses.yaml': license(2) }, { OPSI_PASSWORD: 'lab-opsi-password' });
      writeFileSync(join(lab.env, 'software.yaml'), software(opsiPort, lab.lab.fingerprints[OPSI]));
      const text = readFileSync(join(lab.env, 'software.yaml'), 'utf8').split('\n');
      const line = text.findIndex((l) => l === 'kind: SoftwareDeployment') + 1;
      const over = await expectCode(lab, ['plan', lab.env], 1);
      assert.match(over.stdout, /E_LICENSE_SEATS builtin\/license-seats: schule\/License\/office: pool "Microsoft 365 A3 Schulen": demand 3 device\(s\) exceeds 2 seat\(s\)/);
      assert.match(over.stdout, new RegExp(`SoftwareDeployment office-5a \\(envs/${ENV}/software\\.yaml:${line}:\\d+\\)`), over.stdout);
      writeFileSync(join(lab.env, 'licenses.yaml'), license(3));
      const fits = await expectCode(lab, ['plan', lab.env], 2);
      assert.doesNotMatch(fits.stdout, /E_LICENSE_SEATS/);
    });

    it('covering a kind this build does not register yet is a clear error at validate', async function () {
      if (defaultCatalog().kind('SoftwareDeployment')) this.skip(); // the software area is here: the test above covers it
      const root = writeTree({
        'envs/s/environment.yaml': doc('Environment', 's', '{ zone: school }'),
        'envs/s/licenses.yaml': licenseServer(443, placeholderPin(1)) + '---\n' + license(2),
      });
      try {
        const r = await runCli(['validate', 'envs/s'], { cwd: root });
        assert.equal(r.code, 1, r.stdout + r.stderr);
        assert.match(r.stderr, /envs\/s\/licenses\.yaml:\d+:\d+: error E_REF_KIND_UNKNOWN: s\/License\/office references SoftwareDeployment "office-5a", but this einklang has no kind SoftwareDeployment/);
        assert.ok(!hasStackTrace(r.stdout + r.stderr));
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    });
  });
});
