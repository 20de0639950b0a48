/**
 * Reading one environment's share of an opsi server in two JSON-RPC batches
 * (two HTTP requests, whatever the number of groups, clients and products):
 *
 *   batch 1  group_getObjects       host groups (in the OpsiServer's groupScope)
 *            objectToGroup_getObjects  their memberships
 *            host_getObjects        which of the declared clients opsi knows
 *            configState_getClientToDepotserver  each deployed client's depot
 *            productOnClient_getObjects  the deployed products on those clients
 *   batch 2  productOnDepot_getObjects  the deployed products on those depots
 *
 * with attribute lists (only what is compared) and filters (only this
 * environment's clients and products). opsi treats an empty filter list as
 * "no filter" (every row of the table), so a call whose list would be empty
 * is not made at all.
 *
 * Answers: a ClientGroup's live state { clients, description }; a
 * SoftwareDeployment's { clientsNeedingAction, needsAction } from the rule in
 * convergence.ts; host groups in scope nobody asked for as unmanaged. What the
 * manifests got wrong (a client opsi does not know, a product or version that
 * is not on a client's depot) fails the read with one DriverError listing
 * every such problem, so the plan shows them all at once and nothing is applied.
 */
import { DriverError, type ReadRequest } from '../../../engine/contract.js';
import { objectKey, type LiveObject, type ReadResult } from '../../../engine/model.js';
import { NaturalKeyIndex } from '../../kit/natural-key.js';
import type { RpcCall } from '../../kit/jsonrpc.js';
import { CLIENT_GROUP, SOFTWARE_DEPLOYMENT } from '../kinds.js';
import { isConverged, type ClientProductState } from './convergence.js';
import { joinVersion, type DeploymentAction } from './ids.js';
import type { OpsiRpc } from './rpc.js';

interface GroupRow {
  id: string;
  description: string | null;
}
interface MemberRow {
  groupId: string;
  objectId: string;
}
interface PocRow extends ClientProductState {
  productId: string;
  clientId: string;
}
interface PodRow {
  productId: string;
  productType: string;
  productVersion: string;
  packageVersion: string;
  depotId: string;
}

/** A deployment as the read request carries it (the desired state from kinds.ts). */
export interface DeploymentRequest {
  name: string;
  product: string;
  version?: string;
  action: DeploymentAction;
  clients: string[];
}

/** What apply needs to set the action requests of one deployment. */
export interface DeploymentPlan {
  request: DeploymentRequest;
  /** Clients that need the action, with the product type of their depot's package. */
  targets: { clientId: string; productType: string }[];
}

export interface OpsiReadResult extends ReadResult {
  deployments: Map<string, DeploymentPlan>;
}

const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();

export function deploymentRequest(name: string, state: Record<string, unknown>): DeploymentRequest {
  const a = state.action;
  return {
    name,
    product: String(state.product),
    version: typeof state.version === 'string' ? state.version : undefined,
    action: a === 'uninstall' || a === 'always' ? a : 'setup',
    clients: Array.isArray(state.clients) ? state.clients.map((c) => String(c).toLowerCase()) : [],
  };
}

/** Problems with what the manifests ask for, collected so the user sees all of them in one error. */
class Problems {
  private readonly unknown = new Map<string, Set<string>>();
  private readonly other: { code: string; text: string }[] = [];

  unknownClient(client: string, who: string): void {
    (this.unknown.get(client) ?? this.unknown.set(client, new Set()).get(client)!).add(who);
  }

  add(code: string, text: string): void {
    this.other.push({ code, text });
  }

  throwIfAny(): void {
    const lines = [...this.unknown].map(([c, who]) => ({ code: 'E_OPSI_UNKNOWN_CLIENT', text: `client ${c} is not known to the opsi server (named by ${[...who].join(', ')}); enroll it in opsi first` }));
    const all = [...lines, ...this.other];
    if (!all.length) return;
    throw new DriverError(all.map((p) => p.text).join('; '), { code: all[0].code });
  }
}

function filterCall(method: string, attributes: string[], filter: Record<string, unknown>): RpcCall {
  return { method, params: [attributes, filter] };
}

function byTwoKeys<T>(rows: T[], first: (r: T) => string, second: (r: T) => string): Map<string, Map<string, T>> {
  const out = new Map<string, Map<string, T>>();
  for (const r of rows) {
    const k = first(r);
    (out.get(k) ?? out.set(k, new Map()).get(k)!).set(second(r), r);
  }
  return out;
}

const versions = new WeakMap<PodRow, string>();
/** `productVersion-packageVersion` of a depot's package, computed once per package. */
function versionOf(pod: PodRow): string {
  let v = versions.get(pod);
  if (v === undefined) versions.set(pod, (v = joinVersion(pod.productVersion, pod.packageVersion)!));
  return v;
}

/** Reads everything `requests` need (see the module comment). `scope` is the OpsiServer's groupScope. */
export async function readOpsi(rpc: OpsiRpc, requests: ReadRequest[], scope: string | undefined, env: string): Promise<OpsiReadResult> {
  const groupRequests = requests.filter((r) => r.kind === CLIENT_GROUP);
  const deployments = requests.filter((r) => r.kind === SOFTWARE_DEPLOYMENT).map((r) => deploymentRequest(r.id, r.state));
  for (const r of requests) {
    if (r.kind !== CLIENT_GROUP && r.kind !== SOFTWARE_DEPLOYMENT) throw new DriverError(`the opsi driver does not manage ${r.kind}`, { code: 'E_UNSUPPORTED' });
  }
  const groupFilter = { type: 'HostGroup', ...(scope ? { id: scope } : {}) };
  const deployed = new Set<string>();
  for (const d of deployments) for (const c of d.clients) deployed.add(c);
  const declared = new Set(deployed);
  for (const r of groupRequests) for (const c of Array.isArray(r.state.clients) ? r.state.clients : []) declared.add(String(c).toLowerCase());
  const declaredClients = [...declared].sort();
  const deployedClients = [...deployed].sort();
  const products = sorted(deployments.map((d) => d.product));

  // named calls of the first batch; the ones a run does not need are not sent
  const calls: Record<string, RpcCall | undefined> = {
    groups: filterCall('group_getObjects', ['id', 'description'], groupFilter),
    members: filterCall('objectToGroup_getObjects', ['groupId', 'objectId'], { groupType: 'HostGroup', ...(scope ? { groupId: scope } : {}) }),
    hosts: declaredClients.length ? filterCall('host_getObjects', ['id'], { type: 'OpsiClient', id: declaredClients }) : undefined,
    depots: deployedClients.length ? { method: 'configState_getClientToDepotserver', params: [[], deployedClients] } : undefined,
    pocs: deployedClients.length ? filterCall('productOnClient_getObjects', ['productId', 'clientId', 'installationStatus', 'actionRequest', 'productVersion', 'packageVersion'], { clientId: deployedClients, productId: products }) : undefined,
  };
  const names = Object.keys(calls).filter((k) => calls[k]);
  const results = await rpc.batchResults(names.map((k) => calls[k]!));
  const got = <T>(name: string): T[] => (results[names.indexOf(name)] as T[] | undefined) ?? [];
  const groups = got<GroupRow>('groups');
  const members = got<MemberRow>('members');
  const hosts = got<{ id: string }>('hosts');
  const clientDepots = got<{ clientId: string; depotId: string }>('depots');
  const pocs = got<PocRow>('pocs');

  const problems = new Problems();
  const known = new Set(hosts.map((h) => h.id));
  for (const r of groupRequests) {
    for (const c of Array.isArray(r.state.clients) ? r.state.clients : []) if (!known.has(String(c).toLowerCase())) problems.unknownClient(String(c).toLowerCase(), `${CLIENT_GROUP} ${r.id}`);
  }
  for (const d of deployments) for (const c of d.clients) if (!known.has(c)) problems.unknownClient(c, `${env}/${SOFTWARE_DEPLOYMENT}/${d.name}`);
  problems.throwIfAny();

  const depotOf = new Map(clientDepots.map((x) => [x.clientId, x.depotId]));
  const depots = sorted(depotOf.values());
  const pods = products.length && depots.length ? ((await rpc.call('productOnDepot_getObjects', [['productId', 'productType', 'productVersion', 'packageVersion', 'depotId'], { productId: products, depotId: depots }])) as PodRow[]) : [];

  // groups and memberships
  const membersOf = new Map<string, string[]>();
  for (const m of members) (membersOf.get(m.groupId) ?? membersOf.set(m.groupId, []).get(m.groupId)!).push(m.objectId);
  const groupState = (g: GroupRow) => ({ clients: sorted(membersOf.get(g.id) ?? []), description: g.description ?? null });
  const index = new NaturalKeyIndex(groups, { kind: CLIENT_GROUP, keyOf: (g) => g.id, idOf: (g) => g.id });
  const out: OpsiReadResult = { objects: {}, deployments: new Map() };
  for (const r of groupRequests) {
    const g = index.get(r.id);
    out.objects[objectKey(CLIENT_GROUP, r.id)] = g ? { kind: CLIENT_GROUP, id: r.id, state: groupState(g) } : null;
  }
  out.unmanaged = index.unclaimed().map((g): LiveObject => ({ kind: CLIENT_GROUP, id: g.id, state: groupState(g) }));

  // deployments (two-level maps: a city-wide plan looks up 700 000 product states, and composed string keys cost more than the lookups)
  const podOf = byTwoKeys(pods, (p) => p.productId, (p) => p.depotId);
  const pocOf = byTwoKeys(pocs, (p) => p.productId, (p) => p.clientId);
  for (const d of deployments) {
    const who = `${env}/${SOFTWARE_DEPLOYMENT}/${d.name}`;
    const missing = new Map<string, string[]>();
    const wrongVersion = new Map<string, { have: string; clients: string[] }>();
    const targets: DeploymentPlan['targets'] = [];
    const podOnDepot = podOf.get(d.product);
    const pocOnClient = pocOf.get(d.product);
    for (const c of d.clients) {
      const depot = depotOf.get(c);
      if (!depot) {
        problems.add('E_OPSI_NO_DEPOT', `${who}: opsi names no depot for client ${c} (configState clientconfig.depot.id)`);
        continue;
      }
      const pod = podOnDepot?.get(depot);
      if (!pod) {
        (missing.get(depot) ?? missing.set(depot, []).get(depot)!).push(c);
        continue;
      }
      const have = versionOf(pod);
      if (d.version && have !== d.version) {
        (wrongVersion.get(depot) ?? wrongVersion.set(depot, { have, clients: [] }).get(depot)!).clients.push(c);
        continue;
      }
      if (!isConverged(d.action, d.version, pocOnClient?.get(c))) targets.push({ clientId: c, productType: pod.productType });
    }
    const some = (cs: string[]) => `${cs.slice(0, 3).join(', ')}${cs.length > 3 ? ` and ${cs.length - 3} more` : ''}`;
    for (const [depot, cs] of missing) problems.add('E_OPSI_PRODUCT_NOT_ON_DEPOT', `${who}: product ${d.product} is not on depot ${depot} (clients ${some(cs)})`);
    for (const [depot, w] of wrongVersion) problems.add('E_OPSI_VERSION_NOT_ON_DEPOT', `${who}: depot ${depot} has ${d.product} ${w.have}, not ${d.version} (clients ${some(w.clients)}); upload the package first`);
    const needsAction = targets.map((t) => t.clientId).sort();
    out.objects[objectKey(SOFTWARE_DEPLOYMENT, d.name)] = { kind: SOFTWARE_DEPLOYMENT, id: d.name, state: { clientsNeedingAction: needsAction.length, needsAction } };
    out.deployments.set(d.name, { request: d, targets });
  }
  problems.throwIfAny();
  return out;
}
