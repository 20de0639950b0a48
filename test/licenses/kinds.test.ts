/**
 * The License and LicenseServer kinds at validate time (schema, Snipe-IT's
 * rules, positions), their references (covers runs the other way: the pool
 * first; the other zone is E_CROSS_ZONE), expansion and import.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { parseAllDocuments } from 'yaml';
import { schemasDir } from '../../engine/paths.js';
import { sharedPath } from '../support/shared.js';
import { defaultCatalog } from '../../cli/catalog.js';
import { resolveReferences } from '../../engine/resolve.js';
import type { Diagnostic, KindDef } from '../../engine/types.js';
import { loadWorkspace } from '../../engine/workspace.js';
import { licenseKind, licenseKinds } from '../../providers/licenses/kinds.js';
import { writeTree } from '../support/cli.js';
import { testResource } from '../support/resource.js';

const SERVER = `apiVersion: einklang/v1
kind: LicenseServer
metadata: { name: snipeit }
spec:
  connection: { driver: snipeit, host: 127.0.0.1, port: 8445, token: "\${secret:SNIPEIT_TOKEN}", tlsFingerprint: "${'AB:'.repeat(31)}AB" }
`;

async function diagnostics(licenses: string, server = SERVER): Promise<Diagnostic[]> {
  const root = writeTree({
    'envs/s/environment.yaml': 'apiVersion: einklang/v1\nkind: Environment\nmetadata: { name: s }\nspec: { zone: school }\n',
    'envs/s/server.yaml': server,
    'envs/s/licenses.yaml': licenses,
  });
  try {
    return (await loadWorkspace(defaultCatalog(), [join(root, 'envs/s')])).diagnostics.filter((d) => d.severity === 'error');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const lic = (name: string, spec: string) => `---\napiVersion: einklang/v1\nkind: License\nmetadata: { name: ${name} }\nspec: ${spec}\n`;
const codesAt = (ds: Diagnostic[]) => ds.map((d) => `${d.code}@${d.pos?.line}:${d.pos?.col}`);

describe('License and LicenseServer kinds', () => {
  it("DESIGN.md's pinned example fits the schemas as written (its fingerprint placeholder aside)", () => {
    const block = [...readFileSync(sharedPath('DESIGN.md'), 'utf8').matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]).find((b) => /^kind: LicenseServer$/m.test(b));
    assert.ok(block, 'DESIGN.md has the license example');
    const docs = parseAllDocuments(block.replace('"AB:CD:..."', `"${'AB:'.repeat(31)}CD"`)).map((d) => d.toJS());
    assert.deepEqual(docs.map((d) => d.kind), ['LicenseServer', 'License']);
    for (const d of docs) {
      const { $schema: _s, ...schema } = JSON.parse(readFileSync(join(schemasDir, 'licenses', `${d.kind}.schema.json`), 'utf8'));
      const validate = new Ajv({ strict: false }).compile(schema);
      assert.ok(validate(d.spec), `${d.kind}: ${JSON.stringify(validate.errors)}`);
    }
  });

  it('a valid pool validates', async () => {
    assert.deepEqual(await diagnostics(lic('office', '{ server: snipeit, name: "Microsoft 365 A3", seats: 300, expires: "2027-07-31", manufacturer: Microsoft, category: Office }')), []);
  });

  it("Snipe-IT's rules with positions: at least 1 seat, a calendar date, names without surrounding space, 3 to 255 characters", async () => {
    const text =
      lic('zero', '{ server: snipeit, seats: 0, category: Office }') +
      lic('feb', '{ server: snipeit, seats: 1, category: Office, expires: "2027-02-30" }') +
      lic('space', '{ server: snipeit, name: "Office ", seats: 1, category: " Office" }') +
      lic('ab', '{ server: snipeit, seats: 1, category: Office }');
    const ds = await diagnostics(text);
    const lines = text.split('\n');
    const pointedAt = (d: Diagnostic) => `${d.code}@${lines[d.pos!.line - 1].slice(d.pos!.col - 1).split(/[,}]/)[0].trim()}`;
    assert.deepEqual(ds.map(pointedAt), ['E_LICENSE_SEATS_MIN@0', 'E_LICENSE_DATE@"2027-02-30"', 'E_LICENSE_NAME@"Office "', 'E_LICENSE_NAME@" Office"', 'E_LICENSE_NAME@ab']);
    assert.ok(ds.every((d) => d.pos?.file.endsWith('envs/s/licenses.yaml')), codesAt(ds).join());
    assert.match(ds[0].message, /Snipe-IT keeps at least 1 seat per pool/);
    assert.match(ds[2].message, /pool name "Office " starts or ends with whitespace, which Snipe-IT trims away/);
    assert.match(ds[4].message, /pool name "ab" must be 3 to 255 characters/);
  });

  it('the schema refuses what is not a pool: negative seats, a date in another format, a covered kind that consumes no license, missing category', async () => {
    const ds = await diagnostics(lic('bad', '{ server: snipeit, seats: -1, expires: "31.07.2027", covers: [ { kind: Vlan, name: x } ] }'));
    assert.ok(ds.length >= 3 && ds.every((d) => d.code === 'E_SCHEMA'), JSON.stringify(ds));
    assert.ok(ds.some((d) => /category/.test(d.message)));
  });

  it('two pools with one name on one server (as Snipe-IT compares: case-insensitively) are one pool declared twice', async () => {
    const ds = await diagnostics(lic('a', '{ server: snipeit, name: "Office Pool", seats: 1, category: Office }') + lic('b', '{ server: snipeit, name: "office pool", seats: 1, category: Office }'));
    assert.deepEqual(ds.map((d) => d.code), ['E_DUPLICATE_OBJECT', 'E_DUPLICATE_OBJECT']);
    assert.match(ds[0].message, /s\/License\/a: pool "Office Pool" on s\/LicenseServer\/snipeit is also declared by s\/License\/b \(/);
  });

  it('a dangling server and a loopback server without a pin are errors at validate', async () => {
    const unpinned = SERVER.replace(/, tlsFingerprint: "[^"]+"/, '');
    const ds = await diagnostics(lic('xyz', '{ server: nowhere, seats: 1, category: Office }'), unpinned);
    assert.deepEqual(ds.map((d) => d.code).sort(), ['E_REF_DANGLING', 'E_TLS_FINGERPRINT']);
    assert.ok(ds.find((d) => d.code === 'E_TLS_FINGERPRINT')!.message.includes('tlsFingerprint is required for a loopback (lab) host'));
  });

  it('covers: the pool comes first (reverse edge), and a deployment of the other zone is E_CROSS_ZONE', () => {
    const deployment: KindDef = { kind: 'SoftwareDeployment', area: 'software', schema: '' };
    const kinds = (k: string) => [...licenseKinds, deployment].find((d) => d.kind === k);
    const server = testResource('gs', 'LicenseServer', 'snipeit', { connection: {} });
    const office = testResource('gs', 'SoftwareDeployment', 'office', {});
    const pool = testResource('gs', 'License', 'office', { server: 'snipeit', seats: 3, category: 'Office', covers: [{ kind: 'SoftwareDeployment', name: 'office' }, { kind: 'SoftwareDeployment', name: 'verwaltung-office' }] });
    const admin = testResource('verwaltung', 'SoftwareDeployment', 'verwaltung-office', {}, { zone: 'administration' });
    const r = resolveReferences([server, office, pool], kinds, [server, office, pool, admin]);
    assert.deepEqual([...r.graph.deps.get(office.address)!], [pool.address], 'the deployment waits for its pool');
    assert.deepEqual([...r.graph.deps.get(pool.address)!], [server.address]);
    assert.deepEqual(r.diagnostics.map((d) => d.code), ['E_CROSS_ZONE']);
    assert.match(r.diagnostics[0].message, /school resource gs\/License\/office references administration SoftwareDeployment "verwaltung-office"/);
  });

  it('expands to one object on its server, keyed by the pool name; import writes back what is live', () => {
    const pool = testResource('gs', 'License', 'office', { server: 'snipeit', name: 'Microsoft 365 A3', seats: 3, category: 'Office', expires: null, covers: [] });
    const [o] = licenseKind.expand!(pool, { byAddress: new Map(), resources: [pool], lookup: () => undefined });
    assert.deepEqual([o.target, o.id, o.state, o.dependsOn], ['gs/LicenseServer/snipeit', 'Microsoft 365 A3', { name: 'Microsoft 365 A3', seats: 3, category: 'Office', expires: null }, ['gs/LicenseServer/snipeit']]);
    const server = testResource('gs', 'LicenseServer', 'snipeit', {});
    const live = { kind: 'License', id: 'Adobe CC', state: { name: 'Adobe CC', seats: 20, category: 'Graphics', manufacturer: 'Adobe', expires: null, assignedSeats: 4 } };
    assert.deepEqual(licenseKind.importAs!(live, server), { name: 'Adobe CC', spec: { server: 'snipeit', name: 'Adobe CC', seats: 20, category: 'Graphics', manufacturer: 'Adobe' } });
  });
});
