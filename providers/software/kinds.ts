/**
 * The software kinds: OpsiServer (a target), ClientGroup and SoftwareDeployment.
 *
 * Desired objects (what `expand` produces):
 * - ClientGroup -> one object on its OpsiServer, id = the opsi groupId, state
 *   { clients: [lowercased FQDNs, sorted], description? } (description only
 *   when the manifest sets it).
 * - SoftwareDeployment -> one object on its OpsiServer, id = the resource's
 *   name (opsi has no "deployment" object: it is einklang's view of the
 *   product states of a group's clients), state
 *   { product, version?, action, clients, clientsNeedingAction: 0, needsAction: [] }.
 *   product, version, action and clients (the group's declared members, so a
 *   client added in the same plan is covered) tell the driver what to check;
 *   the driver answers with how many and which clients are not converged.
 *   `normalize` keeps only the answer, so a plan shows per deployment
 *   "clientsNeedingAction: 3 -> 0" and the clients, not one change per client.
 *
 * Checks beyond the schema follow opsi's own rules (ids.ts) and catch what
 * would make two manifests fight over one client (the same product at two
 * versions or actions on a client through two groups).
 */
import type { DesiredObject, Diagnostic, ExpandContext, KindDef, LiveObject, Resource } from '../../engine/types.js';
import { diagnosticAt as diag } from '../../engine/positions.js';
import { GROUP_ID, PRODUCT_ID, normalizeHostId, splitVersion, type DeploymentAction } from './opsi/ids.js';

export const OPSI_SERVER = 'OpsiServer';
export const CLIENT_GROUP = 'ClientGroup';
export const SOFTWARE_DEPLOYMENT = 'SoftwareDeployment';

const serverAddress = (env: string, name: string) => `${env}/${OPSI_SERVER}/${name}`;
const groupAddress = (env: string, name: string) => `${env}/${CLIENT_GROUP}/${name}`;

/** The deployment's action (default setup). */
export function deploymentAction(res: Resource): DeploymentAction {
  const a = res.spec?.action;
  return a === 'uninstall' || a === 'always' ? a : 'setup';
}

const clientsOf = new WeakMap<Resource, string[]>();

/**
 * A ClientGroup's clients as opsi stores them (lowercased, unique, sorted);
 * invalid names are left out (validate reports them). Computed once per group:
 * every deployment to the group needs them (25 deployments x 300 clients per school).
 */
export function groupClients(group: Resource | undefined): string[] {
  if (!group) return [];
  const known = clientsOf.get(group);
  if (known) return known;
  const list = group.spec?.clients;
  const out = new Set<string>();
  for (const c of Array.isArray(list) ? list : []) {
    const id = typeof c === 'string' ? normalizeHostId(c) : undefined;
    if (id) out.add(id);
  }
  const sorted = [...out].sort();
  clientsOf.set(group, sorted);
  return sorted;
}

const isAbsent = (res: Resource) => res.spec?.ensure === 'absent';

/** `*` filter of an OpsiServer's groupScope as a RegExp (opsi turns `*` into SQL LIKE `%`). */
export function scopePattern(scope: string): RegExp {
  return new RegExp('^' + scope.split('*').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
}

// ------------------------------------------------------------ per-environment index

/** Deployments and groups of one environment, built once per validate run (validate is called per resource). */
interface EnvIndex {
  groupsByServer: Map<string, Resource[]>;
  deploymentsByServerProduct: Map<string, Resource[]>;
}

const indexes = new WeakMap<Map<string, Resource>, Map<string, EnvIndex>>();

function envIndex(byAddress: Map<string, Resource>, env: string): EnvIndex {
  let perEnv = indexes.get(byAddress);
  if (!perEnv) indexes.set(byAddress, (perEnv = new Map()));
  let ix = perEnv.get(env);
  if (ix) return ix;
  ix = { groupsByServer: new Map(), deploymentsByServerProduct: new Map() };
  const push = (m: Map<string, Resource[]>, k: string, r: Resource) => (m.get(k) ?? m.set(k, []).get(k)!).push(r);
  for (const r of byAddress.values()) {
    if (r.env !== env) continue;
    if (r.kind === CLIENT_GROUP) push(ix.groupsByServer, String(r.spec?.server), r);
    if (r.kind === SOFTWARE_DEPLOYMENT) push(ix.deploymentsByServerProduct, `${r.spec?.server}\u0000${r.spec?.product}`, r);
  }
  perEnv.set(env, ix);
  return ix;
}

// ------------------------------------------------------------------ OpsiServer

export const opsiServerKind: KindDef = {
  kind: OPSI_SERVER,
  area: 'software',
  schema: 'software/OpsiServer.schema.json',
  isTarget: true,
};

// ------------------------------------------------------------------ ClientGroup

export const clientGroupKind: KindDef = {
  kind: CLIENT_GROUP,
  area: 'software',
  schema: 'software/ClientGroup.schema.json',

  references(res) {
    return typeof res.spec?.server === 'string' ? [{ pointer: '/spec/server', kind: OPSI_SERVER, name: res.spec.server }] : [];
  },

  validate(res, ctx) {
    const out: Diagnostic[] = [];
    const s = res.spec ?? {};
    if (typeof s.groupId === 'string') {
      if (!GROUP_ID.test(s.groupId)) {
        out.push(diag(res, '/spec/groupId', 'E_OPSI_GROUP_ID', `${res.address}: groupId ${JSON.stringify(s.groupId)} is not an opsi group id (lower case letters, digits, '-', '_', '.' and inner spaces, starting with a letter or digit)`));
      }
      const server = ctx.byAddress.get(serverAddress(res.env, String(s.server)));
      const scope = server?.spec?.groupScope;
      if (typeof scope === 'string' && !scopePattern(scope).test(s.groupId)) {
        out.push(diag(res, '/spec/groupId', 'E_OPSI_GROUP_SCOPE', `${res.address}: groupId ${JSON.stringify(s.groupId)} is outside the groupScope ${JSON.stringify(scope)} of ${server!.address}`));
      }
      const twin = (envIndex(ctx.byAddress, res.env).groupsByServer.get(String(s.server)) ?? []).find((g) => g !== res && g.spec?.groupId === s.groupId);
      if (twin) out.push(diag(res, '/spec/groupId', 'E_OPSI_GROUP_DUPLICATE', `${res.address}: ${twin.address} declares the same opsi group ${JSON.stringify(s.groupId)}`));
    }
    if (Array.isArray(s.clients)) {
      const seen = new Map<string, number>();
      s.clients.forEach((c: unknown, i: number) => {
        if (typeof c !== 'string') return;
        const id = normalizeHostId(c);
        if (!id) {
          out.push(diag(res, `/spec/clients/${i}`, 'E_OPSI_CLIENT_ID', `${res.address}: ${JSON.stringify(c)} is not a fully qualified opsi client name (host.domain.tld)`));
          return;
        }
        if (seen.has(id)) out.push(diag(res, `/spec/clients/${i}`, 'E_OPSI_CLIENT_DUPLICATE', `${res.address}: client ${id} is listed twice (entries ${seen.get(id)! + 1} and ${i + 1}; opsi compares names in lower case)`));
        else seen.set(id, i);
      });
    }
    return out;
  },

  expand(res: Resource): DesiredObject[] {
    if (typeof res.spec?.groupId !== 'string' || typeof res.spec?.server !== 'string') return [];
    const state: Record<string, unknown> = { clients: [...groupClients(res)] };
    if (typeof res.spec.description === 'string') state.description = res.spec.description;
    return [
      {
        address: res.address,
        resource: res.address,
        kind: CLIENT_GROUP,
        target: serverAddress(res.env, res.spec.server),
        id: res.spec.groupId,
        ensure: isAbsent(res) ? 'absent' : 'present',
        state: isAbsent(res) ? {} : state,
        dependsOn: [serverAddress(res.env, res.spec.server)],
        pos: res.pos,
      },
    ];
  },

  normalize(state) {
    const s = { ...state };
    if (Array.isArray(s.clients)) s.clients = [...new Set(s.clients.map((c) => String(c).toLowerCase()))].sort();
    return s;
  },

  importAs(obj: LiveObject, target: Resource) {
    const spec: Record<string, unknown> = { server: target.name, groupId: obj.id, clients: obj.state.clients ?? [] };
    if (typeof obj.state.description === 'string' && obj.state.description !== '') spec.description = obj.state.description;
    return { name: obj.id, spec };
  },
};

// ---------------------------------------------------------- SoftwareDeployment

/** The clients a deployment reaches: the declared members of its ClientGroup. */
function deploymentClients(res: Resource, lookup: (kind: string, name: string) => Resource | undefined): string[] | undefined {
  const group = typeof res.spec?.group === 'string' ? lookup(CLIENT_GROUP, res.spec.group) : undefined;
  if (!group || isAbsent(group)) return undefined;
  return [...groupClients(group)]; // a copy per deployment: desired states are never shared
}

export const softwareDeploymentKind: KindDef = {
  kind: SOFTWARE_DEPLOYMENT,
  area: 'software',
  schema: 'software/SoftwareDeployment.schema.json',

  references(res) {
    const out: { pointer: string; kind: string; name: string }[] = [];
    if (typeof res.spec?.server === 'string') out.push({ pointer: '/spec/server', kind: OPSI_SERVER, name: res.spec.server });
    if (typeof res.spec?.group === 'string') out.push({ pointer: '/spec/group', kind: CLIENT_GROUP, name: res.spec.group });
    return out;
  },

  validate(res, ctx) {
    const out: Diagnostic[] = [];
    const s = res.spec ?? {};
    if (typeof s.product === 'string' && !PRODUCT_ID.test(s.product)) {
      out.push(diag(res, '/spec/product', 'E_OPSI_PRODUCT_ID', `${res.address}: product ${JSON.stringify(s.product)} is not an opsi product id (lower case letters, digits, '-', '_' and '.', starting with a letter or digit, at most 128)`));
    }
    if (typeof s.version === 'string' && !splitVersion(s.version)) {
      out.push(diag(res, '/spec/version', 'E_OPSI_VERSION', `${res.address}: version ${JSON.stringify(s.version)} is not <productVersion>-<packageVersion> as opsi writes it (128.0.3-1: letters, digits and '.', at most 32 and 16 characters)`));
    }
    const group = typeof s.group === 'string' ? ctx.byAddress.get(groupAddress(res.env, s.group)) : undefined;
    if (group && group.spec?.server !== s.server) {
      out.push(diag(res, '/spec/group', 'E_OPSI_SERVER_MISMATCH', `${res.address}: ClientGroup ${s.group} lives on OpsiServer ${group.spec?.server}, not on ${s.server}`));
    }
    if (group && isAbsent(group)) {
      out.push(diag(res, '/spec/group', 'E_OPSI_GROUP_ABSENT', `${res.address}: ClientGroup ${s.group} is declared ensure: absent; a deployment needs a group that exists`));
    }
    if (group) out.push(...conflicts(res, group, ctx.byAddress));
    return out;
  },

  expand(res: Resource, ctx: ExpandContext): DesiredObject[] {
    const s = res.spec ?? {};
    if (typeof s.server !== 'string' || typeof s.product !== 'string') return [];
    const clients = deploymentClients(res, ctx.lookup);
    if (!clients) return []; // dangling or absent group: reported at validate
    const state: Record<string, unknown> = { product: s.product, action: deploymentAction(res), clients, clientsNeedingAction: 0, needsAction: [] };
    if (typeof s.version === 'string') state.version = s.version;
    return [
      {
        address: res.address,
        resource: res.address,
        kind: SOFTWARE_DEPLOYMENT,
        target: serverAddress(res.env, s.server),
        id: res.name,
        ensure: 'present',
        state,
        dependsOn: [serverAddress(res.env, s.server), groupAddress(res.env, String(s.group))],
        pos: res.pos,
      },
    ];
  },

  normalize(state) {
    const needs = Array.isArray(state.needsAction) ? [...state.needsAction].map(String).sort() : state.needsAction;
    return { clientsNeedingAction: state.clientsNeedingAction, needsAction: needs };
  },
};

/**
 * Two deployments of one product that want different things (version or
 * action) on a shared client would undo each other on every apply: refused,
 * naming the other deployment and one shared client.
 */
function conflicts(res: Resource, group: Resource, byAddress: Map<string, Resource>): Diagnostic[] {
  const s = res.spec;
  const mine = new Set(groupClients(group));
  const wants = (r: Resource) => `${deploymentAction(r)} ${r.spec?.version ?? ''}`;
  for (const other of envIndex(byAddress, res.env).deploymentsByServerProduct.get(`${s.server}\u0000${s.product}`) ?? []) {
    if (other === res) continue;
    const otherGroup = byAddress.get(groupAddress(res.env, String(other.spec?.group)));
    if (!otherGroup) continue;
    if (other.spec?.group === s.group) {
      return [diag(res, '/spec/product', 'E_OPSI_DEPLOYMENT_DUPLICATE', `${res.address}: ${other.address} also deploys ${s.product} to ClientGroup ${s.group}`)];
    }
    // a conflict is one mistake: reported once, at the deployment that sorts last
    if (wants(other) === wants(res) || other.address > res.address) continue;
    const shared = groupClients(otherGroup).find((c) => mine.has(c));
    if (shared) {
      return [
        diag(
          res,
          '/spec/product',
          'E_OPSI_DEPLOYMENT_CONFLICT',
          `${res.address} (${wants(res).trim()}) and ${other.address} (${wants(other).trim()}) both deploy ${s.product} to ${shared} (in ClientGroups ${s.group} and ${other.spec?.group}); one client can only have one version and action of a product`,
        ),
      ];
    }
  }
  return [];
}

export const softwareKinds: KindDef[] = [opsiServerKind, clientGroupKind, softwareDeploymentKind];
