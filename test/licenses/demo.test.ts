/**
 * The demo city's license pools: the pins its manifests carry are what the
 * lab Snipe-IT presents, the second demo variant (Grundschule Nord one
 * office seat short) is the demo but for that one seat, and planning the
 * demo school against its lab counts the pools' demand; the variant's plan
 * fails with E_LICENSE_SEATS once the pool covers the school's office
 * deployment (pending until the software area is part of the build).
 *
 * The demo is planned from a copy with free ports (the committed ones are the
 * quickstart's); the lab certificates depend on target addresses only, so
 * the committed pins stay valid.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import type { LicenseUsage, PolicyResult } from '../../engine/types.js';
import { packageRoot } from '../../engine/paths.js';
import { ed25519FromRawSeed, openSshPrivateKey } from '../../providers/lab/identity.js';
import { snipeitLabFingerprint } from '../../providers/licenses/snipeit/lab.js';
import { hasStackTrace, runCli } from '../support/cli.js';
import { freePort } from '../support/sshd.js';
import { startEnvLab } from './lab-env.js';

const DEMO = join(packageRoot, 'environments/demo-city');
const VARIANT = join(DEMO, 'variants/one-seat-short/schule-nord/environment.yaml');
const OFFICE = 'schule-nord/License/office';

const licensesParams = (envYaml: string) => parse(envYaml).spec.profiles.find((p: { path: string }) => p.path === 'profiles/school-licenses').params;

/** Every ${secret:NAME} the demo's manifests use (whatever areas the build has). */
function secretNames(dir: string): Set<string> {
  const out = new Set<string>();
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name.endsWith('.yaml')) for (const m of readFileSync(join(e.parentPath, e.name), 'utf8').matchAll(/\$\{secret:([A-Za-z0-9_]+)\}/g)) out.add(m[1]);
  }
  return out;
}

/**
 * Plans Grundschule Nord of a copy of the demo whose environment.yaml is
 * `envYaml`, against its lab on free ports; returns the CLI's result and the
 * plan's license table.
 */
async function planDemoSchool(envYaml: string): Promise<{ code: number; out: string; pools: LicenseUsage[] }> {
  const root = mkdtempSync(join(tmpdir(), 'einklang-demo-'));
  const city = join(root, 'demo-city');
  try {
    cpSync(DEMO, city, { recursive: true, filter: (src) => !/\/(keys|variants|\.einklang)(\/|$)/.test(src.slice(DEMO.length)) });
    mkdirSync(join(city, 'keys'));
    writeFileSync(join(city, 'keys/id_ed25519'), openSshPrivateKey(ed25519FromRawSeed(randomBytes(32))), { mode: 0o600 });
    let env = envYaml;
    for (const m of new Set([...env.matchAll(/^(\s+\w*[Pp]ort): (\d+)/gm)].map((x) => x[2]))) env = env.replaceAll(`Port: ${m}\n`, `Port: ${await freePort()}\n`);
    writeFileSync(join(city, 'schule-nord/environment.yaml'), env);
    mkdirSync(join(root, 'secrets/school'), { recursive: true });
    for (const n of secretNames(city)) writeFileSync(join(root, 'secrets/school', n), `lab-${n.toLowerCase()}-${randomBytes(4).toString('hex')}`, { mode: 0o600 });
    const lab = await startEnvLab(join(city, 'schule-nord'), join(root, 'secrets'));
    try {
      const planFile = join(root, 'plan.json');
      const r = await runCli(['plan', 'demo-city/schule-nord', '--out', planFile, '--secrets-dir', join(root, 'secrets')], { cwd: root });
      assert.ok(!hasStackTrace(r.stdout + r.stderr), r.stdout + r.stderr);
      const plan = JSON.parse(readFileSync(planFile, 'utf8')) as { policy: PolicyResult[] };
      return { code: r.code, out: r.stdout + r.stderr, pools: plan.policy.flatMap((p) => p.licenses ?? []) };
    } finally {
      await lab.stop();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

describe('demo city: license pools', function () {
  this.timeout(60_000);
  const demoEnv = () => readFileSync(join(DEMO, 'schule-nord/environment.yaml'), 'utf8');

  it('pins the certificates the lab Snipe-IT of each license server presents', () => {
    for (const env of ['schule-nord', 'gymnasium-sued']) {
      assert.equal(licensesParams(readFileSync(join(DEMO, env, 'environment.yaml'), 'utf8')).licenseCert, snipeitLabFingerprint(`${env}/LicenseServer/snipeit`), env);
    }
    const server = parseAllDocuments(readFileSync(join(DEMO, 'verwaltung/licenses.yaml'), 'utf8')).map((d) => d.toJS()).find((d) => d.kind === 'LicenseServer');
    assert.equal(server.spec.connection.tlsFingerprint, snipeitLabFingerprint('verwaltung/LicenseServer/snipeit'));
  });

  it('the second variant is the demo school with fewer office seats, nothing else', () => {
    const demo = parse(demoEnv());
    const variant = parse(readFileSync(VARIANT, 'utf8'));
    assert.ok(licensesParams(readFileSync(VARIANT, 'utf8')).officeSeats < licensesParams(demoEnv()).officeSeats);
    variant.spec.profiles.find((p: { path: string }) => p.path === 'profiles/school-licenses').params.officeSeats = licensesParams(demoEnv()).officeSeats;
    assert.deepEqual(variant, demo, 'keep variants/one-seat-short/schule-nord/environment.yaml equal to schule-nord/environment.yaml but for officeSeats');
  });

  let demand: number | undefined;

  it('the demo school plans against its lab with every pool within its seats, and the plan counts their demand', async () => {
    const r = await planDemoSchool(demoEnv());
    assert.equal(r.code, 2, r.out);
    const office = r.pools.find((p) => p.address === OFFICE);
    assert.ok(office, JSON.stringify(r.pools));
    assert.deepEqual([office.pool, office.seats, office.assigned], ['Office Grundschule Nord', licensesParams(demoEnv()).officeSeats, null]);
    assert.ok(r.pools.every((p) => p.demand <= p.seats));
    demand = office.demand;
  });

  it('the variant one seat short fails plan with E_LICENSE_SEATS naming the pool, the demand and the seats', async function () {
    const covers = parseAllDocuments(readFileSync(join(DEMO, 'profiles/school-licenses/licenses.yaml'), 'utf8')).map((d) => d.toJS()).find((d) => d.metadata?.name === 'office').spec.covers;
    if (!covers?.length || demand === undefined) {
      // Pending on purpose: the office pool covers the school's office deployment once the software area (issue 11) is merged.
      this.test!.title += ' [PENDING: the demo office pool covers nothing yet; add covers: [ { kind: SoftwareDeployment, name: office } ] once the software area is registered]';
      this.skip();
    }
    const seats = licensesParams(readFileSync(VARIANT, 'utf8')).officeSeats;
    assert.equal(seats, demand! - 1, `set officeSeats in ${VARIANT} to ${demand! - 1}: one short of the demo's demand ${demand}`);
    const r = await planDemoSchool(readFileSync(VARIANT, 'utf8'));
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, new RegExp(`E_LICENSE_SEATS builtin/license-seats: ${OFFICE}: pool "Office Grundschule Nord": demand ${demand} device\\(s\\) exceeds ${seats} seat\\(s\\) by 1`));
  });
});
