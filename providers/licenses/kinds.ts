/**
 * The license kinds: LicenseServer (a target, driver `snipeit`) and License
 * (a pool on it, and what consumes the pool).
 *
 * A License expands to one desired object on its server: id = the pool's name
 * on the server (`spec.name`, default metadata.name), state
 *   { name, seats, category, manufacturer?, expires? }
 * (`expires: null` manages "does not expire"; a field the manifest leaves out
 * is not managed). The driver's live state adds `assignedSeats` (seats checked
 * out on the server), which the seat policies read from the plan's observed
 * states and which is never compared.
 *
 * `covers` names SoftwareDeployments and Apps of the same environment. They
 * are references with `reverse: true`: a change of the pool is applied before
 * the rollouts it covers, and a failed pool change holds them back. A covered
 * kind that this build does not register (the software or endpoints area is
 * missing) is E_REF_KIND_UNKNOWN at validate; one of the other zone
 * E_CROSS_ZONE (both from the engine's resolver). Demand and expiry are plan
 * policies (policies/license-seats.ts), not checks of one resource.
 */
import type { DesiredObject, Diagnostic, KindDef, LiveObject, Resource } from '../../engine/types.js';
import { diagnosticAt as diag } from '../../engine/positions.js';

export const LICENSE = 'License';
export const LICENSE_SERVER = 'LicenseServer';
/** The kinds a License may cover (schemas/licenses/License.schema.json). */
export const COVERABLE_KINDS = ['SoftwareDeployment', 'App'] as const;

/** State fields of a License that einklang manages (assignedSeats is live-only). */
export type LicenseState = {
  name: string;
  seats: number;
  category?: string;
  manufacturer?: string;
  expires?: string | null;
};

export function licenseServerAddress(res: Resource): string {
  return `${res.env}/${LICENSE_SERVER}/${res.spec?.server}`;
}

/** The pool's name on its server: spec.name, else metadata.name. */
export function poolName(res: Resource): string {
  return typeof res.spec?.name === 'string' ? res.spec.name : res.name;
}

/**
 * How Snipe-IT's database compares names (utf8mb4_unicode_ci in config/database.php:
 * case-insensitive, trailing spaces ignored): two pools whose names differ only so are one.
 */
export function poolKey(name: string): string {
  return name.replace(/ +$/, '').toLowerCase();
}

/** `YYYY-MM-DD` that is a real calendar day. */
export function isCalendarDate(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.getUTCFullYear() === Number(m[1]) && d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]);
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Why a name sent to Snipe-IT would not come back as written, or null:
 * Laravel's TrimStrings middleware trims every input string, so surrounding
 * spaces would be a difference on every plan; control characters are refused.
 */
function nameProblem(value: string): string | null {
  if (CONTROL.test(value)) return 'contains a control character (newline, tab, ...)';
  if (value !== value.trim()) return 'starts or ends with whitespace, which Snipe-IT trims away';
  return null;
}

/** Pool names per server, for the duplicate check; cached per run. */
const poolIndex = new WeakMap<Map<string, Resource>, Map<string, Resource[]>>();
function samePool(res: Resource, byAddress: Map<string, Resource>): Resource[] {
  let index = poolIndex.get(byAddress);
  if (!index) {
    index = new Map();
    for (const r of byAddress.values()) {
      if (r.kind !== LICENSE || typeof r.spec?.server !== 'string') continue;
      const k = `${licenseServerAddress(r)}\u0000${poolKey(poolName(r))}`;
      index.set(k, [...(index.get(k) ?? []), r]);
    }
    poolIndex.set(byAddress, index);
  }
  return (index.get(`${licenseServerAddress(res)}\u0000${poolKey(poolName(res))}`) ?? []).filter((r) => r.address !== res.address);
}

function validateLicense(res: Resource, ctx: { byAddress: Map<string, Resource> }): Diagnostic[] {
  const out: Diagnostic[] = [];
  const s = res.spec ?? {};
  const namePtr = s.name !== undefined ? '/spec/name' : '/metadata/name';
  const name = poolName(res);
  if (typeof name === 'string') {
    const problem = nameProblem(name);
    if (problem) out.push(diag(res, namePtr, 'E_LICENSE_NAME', `${res.address}: pool name ${JSON.stringify(name)} ${problem}`));
    else if (name.length < 3 || name.length > 255) out.push(diag(res, namePtr, 'E_LICENSE_NAME', `${res.address}: pool name ${JSON.stringify(name)} must be 3 to 255 characters (Snipe-IT's rule)`));
  }
  for (const field of ['manufacturer', 'category'] as const) {
    const v = s[field];
    const problem = typeof v === 'string' ? nameProblem(v) : null;
    if (problem) out.push(diag(res, `/spec/${field}`, 'E_LICENSE_NAME', `${res.address}: ${field} ${JSON.stringify(v)} ${problem}`));
  }
  // License.php rules: 'seats' => 'required|min:1|integer'; the kind allows 0, the server does not store it.
  if (s.seats === 0) {
    out.push(diag(res, '/spec/seats', 'E_LICENSE_SEATS_MIN', `${res.address}: Snipe-IT keeps at least 1 seat per pool; to retire the pool, remove the manifest (with prune: true on the LicenseServer it is deleted once no seat is checked out)`));
  }
  if (typeof s.expires === 'string' && !isCalendarDate(s.expires)) {
    out.push(diag(res, '/spec/expires', 'E_LICENSE_DATE', `${res.address}: expires ${JSON.stringify(s.expires)} is not a calendar date (YYYY-MM-DD)`));
  }
  const server = typeof s.server === 'string' ? ctx.byAddress.get(licenseServerAddress(res)) : undefined;
  if (server) {
    const twins = samePool(res, ctx.byAddress);
    if (twins.length) {
      out.push(diag(res, namePtr, 'E_DUPLICATE_OBJECT', `${res.address}: pool ${JSON.stringify(name)} on ${server.address} is also declared by ${twins.map((t) => `${t.address} (${t.pos.file}:${t.pos.line}:${t.pos.col})`).join(', ')}; Snipe-IT compares names case-insensitively`));
    }
  }
  return out;
}

function licenseState(res: Resource): LicenseState {
  const s = res.spec ?? {};
  const state: LicenseState = { name: poolName(res), seats: s.seats };
  if (s.category !== undefined) state.category = s.category;
  if (s.manufacturer !== undefined) state.manufacturer = s.manufacturer;
  if (s.expires !== undefined) state.expires = s.expires;
  return state;
}

export const licenseServerKind: KindDef = {
  kind: LICENSE_SERVER,
  area: 'licenses',
  schema: 'licenses/LicenseServer.schema.json',
  isTarget: true,
};

export const licenseKind: KindDef = {
  kind: LICENSE,
  area: 'licenses',
  schema: 'licenses/License.schema.json',

  references(res) {
    const out: { pointer: string; kind: string; name: string; reverse?: boolean }[] = [];
    if (typeof res.spec?.server === 'string') out.push({ pointer: '/spec/server', kind: LICENSE_SERVER, name: res.spec.server });
    const covers = Array.isArray(res.spec?.covers) ? res.spec.covers : [];
    covers.forEach((c: { kind?: unknown; name?: unknown }, i: number) => {
      if (c && typeof c.kind === 'string' && typeof c.name === 'string') out.push({ pointer: `/spec/covers/${i}/name`, kind: c.kind, name: c.name, reverse: true });
    });
    return out;
  },

  validate: validateLicense,

  expand(res): DesiredObject[] {
    return [
      {
        address: res.address,
        resource: res.address,
        kind: LICENSE,
        target: licenseServerAddress(res),
        id: poolName(res),
        ensure: 'present',
        state: licenseState(res),
        dependsOn: [licenseServerAddress(res)],
        pos: res.pos,
      },
    ];
  },

  importAs(obj: LiveObject, target: Resource) {
    const s = obj.state;
    const spec: Record<string, unknown> = { server: target.name, name: obj.id, seats: s.seats };
    for (const f of ['category', 'manufacturer', 'expires'] as const) if (s[f] !== undefined && s[f] !== null) spec[f] = s[f];
    return { name: obj.id, spec };
  },
};

export const licenseKinds: KindDef[] = [licenseServerKind, licenseKind];
