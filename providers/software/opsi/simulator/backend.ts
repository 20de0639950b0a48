/**
 * The in-memory opsi backend behind the simulator: the tables einklang's
 * driver touches (HOST, GROUP, OBJECT_TO_GROUP, PRODUCT, PRODUCT_ON_DEPOT,
 * PRODUCT_ON_CLIENT, the client -> depot config) and the JSON-RPC methods on
 * them, with the semantics opsiconfd 4.3.24.1 has (backend/rpc/*.py,
 * backend/mysql/__init__.py) rather than what would be convenient:
 *
 * - params map to arguments the way execute_rpc does: a dict is keywords; a
 *   list is positional, and for `**filter` methods its last element is the
 *   filter only when the list is at least as long as the declared arguments
 *   *including self* (so `[[], {...}]`, never `[{...}]`); Python's TypeErrors
 *   for missing or surplus arguments;
 * - `createObjects`/`insertObject` overwrite with setDefaults(),
 *   `updateObjects` upserts only non-null attributes (a new row gets the MySQL
 *   column defaults), `updateObject` updates an existing row or silently
 *   nothing; every `*Objects` call is one transaction (all or nothing);
 * - foreign keys: a membership needs its group (IntegrityError), a
 *   ProductOnClient its client host; deleting a group cascades to its
 *   memberships; a membership's objectId is NOT checked against the hosts
 *   (OBJECT_TO_GROUP has no foreign key on it);
 * - `group_delete(id)` deletes groups of every type with that id (it asks
 *   group_getIdents without a type), so it also removes a ProductGroup of the
 *   same name: drivers should use group_deleteObjects with the type;
 * - setProductActionRequest: the client's depot must exist
 *   (BackendConfigurationError "Client 'x' not found") and hold the product
 *   (BackendMissingDataError); setProductActionRequestForHostGroup (deprecated
 *   in 4.3) sets the request on EVERY member of the group, whatever its state
 *   (ext_group_actions.py).
 */
import { compileFilter } from './filter.js';
import { Table } from './table.js';
import { ROW_DEFAULTS, RpcFault, forceActionRequest, forceGroupId, forceGroupType, forceHostId, forceProductId, projector, toObject, valueError, type OpsiObject } from './objects.js';

/** One method as backend_getInterface describes it (names as opsiconfd's get_method_interface). */
export interface MethodInterface {
  name: string;
  params: string[];
  args: string[];
  varargs: null;
  keywords: string | null;
  defaults: unknown[] | null;
  deprecated: boolean;
  alternative_method: string | null;
}

type Impl = (args: Record<string, unknown>, filter: Record<string, unknown>) => unknown;

interface Method {
  iface: MethodInterface;
  argNames: string[];
  write: boolean;
  impl: Impl;
}

const now = () => new Date().toISOString().slice(0, 19).replace('T', ' ');

const asList = (v: unknown): unknown[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);

/** The row key of a group: its table's primary key (type, groupId). */
const groupKey = (type: unknown, id: unknown) => `${type};${id}`;

export class OpsiBackend {
  readonly hosts = new Table(['OpsiClient', 'OpsiDepotserver', 'OpsiConfigserver'], true, 'id');
  readonly groups = new Table(['HostGroup', 'ProductGroup'], true, 'id');
  readonly objectToGroups = new Table(['ObjectToGroup'], false, 'groupId');
  readonly products = new Table(['LocalbootProduct'], true, 'id');
  readonly productOnDepots = new Table(['ProductOnDepot'], false, 'productId');
  /** Keyed by `productId;clientId` (the table's UNIQUE key), whatever the productType. */
  readonly productOnClients = new Table(['ProductOnClient'], false, 'clientId');
  /** configState clientconfig.depot.id per client; clients without one use the config server. */
  readonly clientDepot = new Map<string, string>();
  /** Called before a write method runs; may throw an RpcFault to refuse it (fault injection). */
  beforeWrite?: (method: string) => void;
  private readonly methods = new Map<string, Method>();

  constructor(readonly configServerId: string) {
    this.put(this.hosts, toObject('Host', { type: 'OpsiConfigserver', id: configServerId, depotLocalUrl: 'file:///var/lib/opsi/depot', isMasterDepot: true }, true));
    this.registerMethods();
  }

  // ------------------------------------------------------------------ set-up and inspection (tests, lab)

  private put(t: Table, o: OpsiObject, key = o.ident): void {
    t.set(key, o);
  }

  addClient(id: string, depotId?: string): string {
    const o = toObject('Host', { type: 'OpsiClient', id }, true);
    this.put(this.hosts, o);
    if (depotId) this.clientDepot.set(o.id as string, forceHostId(depotId));
    return o.id as string;
  }

  addDepot(id: string): string {
    const o = toObject('Host', { type: 'OpsiDepotserver', id, isMasterDepot: true }, true);
    this.put(this.hosts, o);
    return o.id as string;
  }

  /** A LocalbootProduct at a version, on a depot (default: the config server). A depot holds one version of a product. */
  addProduct(productId: string, productVersion: string, packageVersion: string, depotId = this.configServerId): void {
    const p = toObject('Product', { type: 'LocalbootProduct', id: productId, productVersion, packageVersion }, true);
    this.put(this.products, p);
    const pod = toObject('ProductOnDepot', { productId, productType: 'LocalbootProduct', productVersion, packageVersion, depotId }, true);
    for (const [k, v] of this.productOnDepots.rows) if (v.productId === pod.productId && v.depotId === pod.depotId) this.productOnDepots.delete(k);
    this.put(this.productOnDepots, pod);
  }

  depotOf(clientId: string): string {
    return this.clientDepot.get(clientId) ?? this.configServerId;
  }

  productOnClient(productId: string, clientId: string): OpsiObject | undefined {
    return this.productOnClients.rows.get(`${productId};${clientId}`);
  }

  /** Members of a host group. */
  members(groupId: string): string[] {
    return [...this.objectToGroups.rows.values()].filter((m) => m.groupType === 'HostGroup' && m.groupId === groupId).map((m) => m.objectId as string).sort();
  }

  /**
   * The clients run their pending action requests (what opsiclientd does at
   * the next event): setup/always/once/update install the depot's version
   * (always stays requested), uninstall removes. Returns how many ran.
   */
  runPendingActions(filter: { clientIds?: string[]; productIds?: string[] } = {}): number {
    let ran = 0;
    for (const poc of this.productOnClients.rows.values()) {
      const request = poc.actionRequest as string | null;
      if (!request || request === 'none') continue;
      if (filter.clientIds && !filter.clientIds.includes(poc.clientId as string)) continue;
      if (filter.productIds && !filter.productIds.includes(poc.productId as string)) continue;
      const pod = [...this.productOnDepots.rows.values()].find((p) => p.productId === poc.productId && p.depotId === this.depotOf(poc.clientId as string));
      if (request === 'uninstall') Object.assign(poc, { installationStatus: 'not_installed', productVersion: null, packageVersion: null });
      else Object.assign(poc, { installationStatus: 'installed', productVersion: pod?.productVersion ?? null, packageVersion: pod?.packageVersion ?? null });
      Object.assign(poc, { lastAction: request, actionResult: 'successful', actionProgress: '', actionRequest: request === 'always' ? 'always' : 'none', modificationTime: now() });
      ran++;
    }
    return ran;
  }

  /** Everything as plain data (equal before and after a refused write). */
  snapshot(): unknown {
    const rows = (t: Table) => [...t.rows.values()].map((o) => ({ ...o, modificationTime: undefined })).sort((a, b) => a.ident.localeCompare(b.ident));
    return { hosts: rows(this.hosts), groups: rows(this.groups), objectToGroups: rows(this.objectToGroups), productOnDepots: rows(this.productOnDepots), productOnClients: rows(this.productOnClients), clientDepot: [...this.clientDepot] };
  }

  // ------------------------------------------------------------------ calling

  interface(): MethodInterface[] {
    return [...this.methods.values()].map((m) => m.iface).sort((a, b) => a.name.localeCompare(b.name));
  }

  isWrite(method: string): boolean {
    return this.methods.get(method)?.write ?? false;
  }

  /** Runs one call the way opsiconfd's execute_rpc does; throws RpcFault. */
  call(name: string, params: unknown): unknown {
    const m = this.methods.get(name);
    if (!m) throw valueError(`Invalid method '${name}'`);
    let positional: unknown[] = [];
    let keywords: Record<string, unknown> = {};
    if (params && typeof params === 'object' && !Array.isArray(params)) keywords = params as Record<string, unknown>;
    else {
      positional = Array.isArray(params) ? [...params] : [];
      if (m.iface.keywords && positional.length >= m.iface.args.length) {
        const kw = positional.pop();
        if (!kw || typeof kw !== 'object' || Array.isArray(kw)) throw new RpcFault('TypeError', `kwargs param is not a dict: <class '${Array.isArray(kw) ? 'list' : typeof kw}'>`);
        keywords = kw as Record<string, unknown>;
      }
    }
    const args: Record<string, unknown> = {};
    const filter: Record<string, unknown> = {};
    if (positional.length > m.argNames.length) {
      throw new RpcFault('TypeError', `${name}() takes from 1 to ${m.argNames.length + 1} positional arguments but ${positional.length + 1} were given`);
    }
    positional.forEach((v, i) => (args[m.argNames[i]] = v));
    for (const [k, v] of Object.entries(keywords)) {
      if (m.argNames.includes(k)) {
        if (k in args) throw new RpcFault('TypeError', `${name}() got multiple values for argument '${k}'`);
        args[k] = v;
      } else if (m.iface.keywords) filter[k] = v;
      else throw new RpcFault('TypeError', `${name}() got an unexpected keyword argument '${k}'`);
    }
    const required = m.argNames.length - (m.iface.defaults?.length ?? 0);
    const missing = m.argNames.slice(0, required).filter((a) => !(a in args));
    if (missing.length) throw new RpcFault('TypeError', `${name}() missing ${missing.length} required positional argument${missing.length > 1 ? 's' : ''}: ${missing.map((a) => `'${a}'`).join(' and ')}`);
    m.argNames.forEach((a, i) => {
      if (!(a in args) && i >= required) args[a] = structuredClone(m.iface.defaults![i - required]);
    });
    if (m.write) this.beforeWrite?.(name);
    return m.impl(args, filter);
  }

  // ------------------------------------------------------------------ methods

  private def(name: string, argNames: string[], o: { defaults?: unknown[]; filter?: boolean; write?: boolean; deprecated?: boolean }, impl: Impl): void {
    const nDefaults = o.defaults?.length ?? 0;
    const iface: MethodInterface = {
      name,
      params: [...argNames.map((a, i) => (i >= argNames.length - nDefaults ? `*${a}` : a)), ...(o.filter ? ['**filter'] : [])],
      args: ['self', ...argNames],
      varargs: null,
      keywords: o.filter ? 'filter' : null,
      defaults: o.defaults ?? null,
      deprecated: o.deprecated ?? false,
      alternative_method: null,
    };
    this.methods.set(name, { iface, argNames, write: o.write ?? false, impl });
  }

  private getter(name: string, t: Table): void {
    this.def(name, ['attributes'], { defaults: [[]], filter: true }, (a, f) => {
      // a dict where the attribute list belongs is iterated for its keys, as Python's list(dict) does
      const attrs = a.attributes && typeof a.attributes === 'object' && !Array.isArray(a.attributes) ? Object.keys(a.attributes) : asList(a.attributes);
      const attributes = attrs.map(String);
      const match = compileFilter(f, t.columns, t.hasType);
      const out: OpsiObject[] = [];
      let shape: ((o: OpsiObject) => OpsiObject) | undefined;
      let shapeType = '';
      for (const o of t.candidates(f)) {
        if (!match(o)) continue;
        if (o.type !== shapeType) [shape, shapeType] = [projector(o.type, attributes), o.type];
        out.push(shape!(o));
      }
      return out;
    });
  }

  private registerMethods(): void {
    const trueFn = () => true;
    this.def('accessControl_authenticated', [], {}, trueFn);
    this.def('authenticated', [], {}, trueFn);
    this.def('backend_exit', [], {}, () => null); // the server layer ends the session
    this.def('backend_getInterface', [], {}, () => this.interface());
    this.def('backend_info', [], {}, () => ({ opsiVersion: '4.3.24.1', modules: {}, realmodules: {} }));

    this.getter('host_getObjects', this.hosts);
    this.getter('group_getObjects', this.groups);
    this.getter('objectToGroup_getObjects', this.objectToGroups);
    this.getter('product_getObjects', this.products);
    this.getter('productOnDepot_getObjects', this.productOnDepots);
    this.getter('productOnClient_getObjects', this.productOnClients);

    const w = { write: true };
    this.def('host_createOpsiClient', ['id', 'opsiHostKey', 'description', 'notes', 'hardwareAddress', 'ipAddress', 'inventoryNumber', 'oneTimePassword', 'created', 'lastSeen'], { ...w, defaults: Array(9).fill(null) }, (a) => {
      this.put(this.hosts, toObject('Host', { ...a, type: 'OpsiClient' }, true));
      return null;
    });

    // groups
    const insertGroups = (list: unknown[], setNull: boolean, create: boolean) => {
      const objs = list.map((g) => toObject('Group', g, setNull));
      for (const o of objs) {
        const key = groupKey(o.type, o.id);
        const old = this.groups.rows.get(key);
        if (!old && !create) continue;
        this.groups.set(key, setNull || !old ? o : merge(old, o));
      }
      return null;
    };
    this.def('group_createObjects', ['groups'], w, (a) => insertGroups(asList(a.groups), true, true));
    this.def('group_insertObject', ['group'], w, (a) => insertGroups([a.group], true, true));
    this.def('group_updateObjects', ['groups'], w, (a) => insertGroups(asList(a.groups), false, true));
    this.def('group_updateObject', ['group'], w, (a) => insertGroups([a.group], false, false));
    this.def('group_createHostGroup', ['id', 'description', 'notes', 'parentGroupId'], { ...w, defaults: [null, null, null] }, (a) => insertGroups([{ ...a, type: 'HostGroup' }], true, true));
    const deleteGroups = (keys: { type?: string; id: string }[]) => {
      for (const k of keys) {
        for (const [key, g] of this.groups.rows) {
          if (g.id !== k.id || (k.type && g.type !== k.type)) continue;
          this.groups.delete(key);
          for (const m of [...this.objectToGroups.candidates({ groupId: g.id })]) if (m.groupType === g.type && m.groupId === g.id) this.objectToGroups.delete(m.ident); // ON DELETE CASCADE
        }
      }
      return null;
    };
    this.def('group_deleteObjects', ['groups'], w, (a) =>
      deleteGroups(
        asList(a.groups).map((g) => {
          if (typeof g === 'string') return { id: forceGroupId(g) };
          const o = (g ?? {}) as Record<string, unknown>;
          return { type: o.type === undefined ? undefined : String(o.type), id: forceGroupId(o.id) };
        }),
      ),
    );
    this.def('group_delete', ['id'], w, (a) => deleteGroups(asList(a.id).map((id) => ({ id: forceGroupId(id) }))));

    // memberships
    const createMemberships = (list: unknown[]) => {
      const objs = list.map((m) => toObject('ObjectToGroup', m, true));
      for (const o of objs) {
        if (!this.groups.rows.has(groupKey(o.groupType, o.groupId))) {
          throw new RpcFault(
            'IntegrityError',
            "(MySQLdb.IntegrityError) (1452, 'Cannot add or update a child row: a foreign key constraint fails (`opsi`.`OBJECT_TO_GROUP`, CONSTRAINT `OBJECT_TO_GROUP_ibfk_1` FOREIGN KEY (`groupType`, `groupId`) REFERENCES `GROUP` (`type`, `groupId`) ON DELETE CASCADE ON UPDATE CASCADE)')",
          );
        }
      }
      for (const o of objs) this.put(this.objectToGroups, o);
      return null;
    };
    const deleteMemberships = (list: unknown[]) => {
      const objs = list.map((m) => toObject('ObjectToGroup', m, false));
      for (const o of objs) this.objectToGroups.delete(o.ident);
      return null;
    };
    this.def('objectToGroup_createObjects', ['objectToGroups'], w, (a) => createMemberships(asList(a.objectToGroups)));
    this.def('objectToGroup_create', ['groupType', 'groupId', 'objectId'], w, (a) => createMemberships([{ ...a, groupType: forceGroupType(a.groupType) }]));
    this.def('objectToGroup_deleteObjects', ['objectToGroups'], w, (a) => deleteMemberships(asList(a.objectToGroups)));
    this.def('objectToGroup_delete', ['groupType', 'groupId', 'objectId'], w, (a) => {
      const match = compileFilter({ groupType: a.groupType, groupId: a.groupId, objectId: a.objectId }, this.objectToGroups.columns, false);
      for (const [k, m] of [...this.objectToGroups.rows]) if (match(m)) this.objectToGroups.delete(k);
      return null;
    });

    // product states
    const upsertPocs = (list: unknown[], setNull: boolean) => {
      const objs = list.map((p) => toObject('ProductOnClient', p, setNull));
      for (const o of objs) {
        const host = this.hosts.rows.get(o.clientId as string);
        if (!host) {
          throw new RpcFault(
            'IntegrityError',
            "(MySQLdb.IntegrityError) (1452, 'Cannot add or update a child row: a foreign key constraint fails (`opsi`.`PRODUCT_ON_CLIENT`, CONSTRAINT `PRODUCT_ON_CLIENT_ibfk_1` FOREIGN KEY (`clientId`) REFERENCES `HOST` (`hostId`) ON DELETE CASCADE ON UPDATE CASCADE)')",
          );
        }
      }
      for (const o of objs) {
        const key = `${o.productId};${o.clientId}`;
        const old = this.productOnClients.rows.get(key);
        const row = setNull ? o : merge(old ?? ({ ...o, ...ROW_DEFAULTS.ProductOnClient() } as OpsiObject), o);
        row.modificationTime = now();
        this.productOnClients.set(key, row);
      }
      return null;
    };
    this.def('productOnClient_updateObjects', ['productOnClients'], w, (a) => upsertPocs(asList(a.productOnClients), false));
    this.def('productOnClient_createObjects', ['productOnClients'], w, (a) => upsertPocs(asList(a.productOnClients), true));

    this.def('configState_getClientToDepotserver', ['depotIds', 'clientIds', 'masterOnly', 'productIds'], { defaults: [[], [], true, []] }, (a) => this.clientToDepot(asList(a.depotIds), asList(a.clientIds)));

    this.def('setProductActionRequest', ['productId', 'clientId', 'actionRequest'], w, (a) => {
      const clientId = forceHostId(a.clientId);
      const productId = forceProductId(a.productId);
      const depot = this.clientToDepot([], [clientId])[0]?.depotId;
      if (!depot) throw new RpcFault('BackendConfigurationError', `Client '${clientId}' not found`);
      const pod = this.podOn(productId, depot);
      if (!pod) throw new RpcFault('BackendMissingDataError', `Product '${productId}' not found on depot '${depot}'`);
      const request = forceActionRequest(a.actionRequest);
      return upsertPocs([{ productId, productType: pod.productType, clientId, actionRequest: request, actionProgress: '', ...(request && request !== 'none' ? { actionResult: 'none' } : {}) }], false);
    });

    this.def('setProductActionRequestForHostGroup', ['hostGroupId', 'productId', 'actionRequest'], { ...w, deprecated: true }, (a) => {
      const productId = forceProductId(a.productId);
      const members = this.members(forceGroupId(a.hostGroupId));
      const byDepot = new Map<string, string[]>();
      for (const m of this.clientToDepot([], members)) (byDepot.get(m.depotId) ?? byDepot.set(m.depotId, []).get(m.depotId)!).push(m.clientId);
      for (const [depot, clients] of byDepot) {
        const pod = this.podOn(productId, depot);
        if (!pod) throw new RpcFault('BackendMissingDataError', `Product '${productId}' not found on depot server '${depot}'`);
        upsertPocs(
          clients.map((clientId) => ({ productId, productType: pod.productType, clientId, actionRequest: forceActionRequest(a.actionRequest) })),
          false,
        );
      }
      return null;
    });
  }

  private podOn(productId: string, depotId: string): OpsiObject | undefined {
    return [...this.productOnDepots.rows.values()].find((p) => p.productId === productId && p.depotId === depotId);
  }

  /** configState_getClientToDepotserver: known clients only (unknown ones are left out, not refused). */
  private clientToDepot(depotIds: unknown[], clientIds: unknown[]): { depotId: string; alternativeDepotIds: string[]; clientId: string }[] {
    const depots = new Set([...this.hosts.rows.values()].filter((h) => h.type !== 'OpsiClient').map((h) => h.id as string));
    const wantDepots = depotIds.length ? new Set(depotIds.map(forceHostId)) : depots;
    const hosts = clientIds.length ? [...new Set(clientIds.map(forceHostId))].flatMap((id) => this.hosts.rows.get(id) ?? []) : [...this.hosts.rows.values()];
    const out: { depotId: string; alternativeDepotIds: string[]; clientId: string }[] = [];
    for (const h of hosts) {
      if (h.type !== 'OpsiClient') continue;
      const depotId = this.depotOf(h.id as string);
      if (depots.has(depotId) && wantDepots.has(depotId)) out.push({ depotId, alternativeDepotIds: [], clientId: h.id as string });
    }
    return out;
  }
}

/** An update without nulling: the non-null attributes of `update` over `old`. */
function merge(old: OpsiObject, update: OpsiObject): OpsiObject {
  const out = { ...old };
  for (const [k, v] of Object.entries(update)) if (v !== null && v !== undefined) out[k] = v;
  return out;
}
