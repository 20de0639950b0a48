/**
 * The opsi objects the simulator stores, as opsi serialises them: every
 * attribute of the class plus `type` and `ident` (the constructor's mandatory
 * arguments joined with ';'), ids lowercased and checked the way
 * python-opsi-common does (opsicommon/objects.py, opsicommon/types.py at
 * 74105b0), bad values refused with opsi's ValueError messages, and the
 * defaults `setDefaults()` fills in for create/insert (set_null) writes.
 */
import { ACTION_REQUESTS, GROUP_ID, INSTALLATION_STATUSES, PACKAGE_VERSION, PRODUCT_ID, PRODUCT_VERSION, normalizeHostId } from '../ids.js';

export type OpsiObject = Record<string, unknown> & { type: string; ident: string };

/** An error the backend raises; the JSON-RPC layer puts `class` and `message` into the envelope. */
export class RpcFault extends Error {
  constructor(
    readonly cls: string,
    message: string,
  ) {
    super(message);
  }
}

export const valueError = (message: string) => new RpcFault('ValueError', message);

/** One opsi class: its attributes (serialisation order), the ident attributes, and the defaults of setDefaults(). */
export interface ObjectClass {
  type: string;
  /** The abstract class a concrete type belongs to, for `forceObjectClass` (HostGroup is a Group). */
  base: string;
  attributes: string[];
  ident: string[];
  defaults: (o: Record<string, unknown>) => Record<string, unknown>;
}

const now = () => new Date().toISOString().slice(0, 19).replace('T', ' ');
const randomHex = (n: number) => [...Array(n)].map(() => Math.floor(Math.random() * 16).toString(16)).join('');

const HOST_BASE = ['id', 'description', 'notes', 'hardwareAddress', 'ipAddress', 'inventoryNumber', 'systemUUID', 'opsiHostKey'];
const DEPOT_EXTRA = [
  'depotLocalUrl',
  'depotRemoteUrl',
  'depotWebdavUrl',
  'repositoryLocalUrl',
  'repositoryRemoteUrl',
  'workbenchLocalUrl',
  'workbenchRemoteUrl',
  'networkAddress',
  'maxBandwidth',
  'isMasterDepot',
  'masterDepotId',
];
const PRODUCT_ATTRS = [
  'id',
  'productVersion',
  'packageVersion',
  'name',
  'licenseRequired',
  'setupScript',
  'uninstallScript',
  'updateScript',
  'alwaysScript',
  'onceScript',
  'customScript',
  'userLoginScript',
  'priority',
  'description',
  'advice',
  'changelog',
  'productClassIds',
  'windowsSoftwareIds',
];
const hostDefaults = (o: Record<string, unknown>) => ({ description: '', notes: '', inventoryNumber: '', opsiHostKey: o.opsiHostKey ?? randomHex(32) });
const depotDefaults = (o: Record<string, unknown>) => ({ ...hostDefaults(o), maxBandwidth: 0, isMasterDepot: true });

export const CLASSES: Record<string, ObjectClass> = {
  OpsiClient: {
    type: 'OpsiClient',
    base: 'Host',
    attributes: [...HOST_BASE, 'oneTimePassword', 'created', 'lastSeen'],
    ident: ['id'],
    defaults: (o) => ({ ...hostDefaults(o), oneTimePassword: '', created: now(), lastSeen: now() }),
  },
  OpsiDepotserver: { type: 'OpsiDepotserver', base: 'Host', attributes: [...HOST_BASE, ...DEPOT_EXTRA], ident: ['id'], defaults: depotDefaults },
  OpsiConfigserver: { type: 'OpsiConfigserver', base: 'Host', attributes: [...HOST_BASE, ...DEPOT_EXTRA], ident: ['id'], defaults: depotDefaults },
  HostGroup: { type: 'HostGroup', base: 'Group', attributes: ['id', 'description', 'notes', 'parentGroupId'], ident: ['id'], defaults: () => ({ description: '', notes: '' }) },
  ProductGroup: { type: 'ProductGroup', base: 'Group', attributes: ['id', 'description', 'notes', 'parentGroupId'], ident: ['id'], defaults: () => ({ description: '', notes: '' }) },
  ObjectToGroup: { type: 'ObjectToGroup', base: 'ObjectToGroup', attributes: ['groupType', 'groupId', 'objectId'], ident: ['groupType', 'groupId', 'objectId'], defaults: () => ({}) },
  LocalbootProduct: {
    type: 'LocalbootProduct',
    base: 'Product',
    attributes: PRODUCT_ATTRS,
    ident: ['id', 'productVersion', 'packageVersion'],
    defaults: (o) => ({ name: o.id, licenseRequired: false, priority: 0, productClassIds: [], windowsSoftwareIds: [], setupScript: '', uninstallScript: '', updateScript: '', alwaysScript: '', onceScript: '', customScript: '', userLoginScript: '', description: '', advice: '', changelog: '' }),
  },
  ProductOnDepot: {
    type: 'ProductOnDepot',
    base: 'ProductOnDepot',
    attributes: ['productId', 'productType', 'productVersion', 'packageVersion', 'depotId', 'locked'],
    ident: ['productId', 'productType', 'productVersion', 'packageVersion', 'depotId'],
    defaults: () => ({ locked: false }),
  },
  ProductOnClient: {
    type: 'ProductOnClient',
    base: 'ProductOnClient',
    attributes: [
      'productId',
      'productType',
      'clientId',
      'targetConfiguration',
      'installationStatus',
      'actionRequest',
      'lastAction',
      'actionProgress',
      'actionResult',
      'productVersion',
      'packageVersion',
      'modificationTime',
      'actionSequence',
    ],
    ident: ['productId', 'productType', 'clientId'],
    defaults: () => ({ installationStatus: 'not_installed', actionRequest: 'none', actionProgress: '', actionSequence: -1, modificationTime: now() }),
  },
};

/** The defaults the MySQL schema gives a new row that an update (set_null=False) creates (opsiconfd backend/mysql/schema.py). */
export const ROW_DEFAULTS: Record<string, () => Record<string, unknown>> = {
  ProductOnClient: () => ({ installationStatus: 'not_installed', actionRequest: 'none', modificationTime: now() }),
  ProductOnDepot: () => ({ locked: false }),
};

// ------------------------------------------------------------ value forcing (opsicommon/types.py)

const str = (v: unknown) => (typeof v === 'string' ? v : String(v));

export function forceObjectId(v: unknown, what = 'object id'): string {
  const s = str(v).toLowerCase().trim();
  if (!/^[a-z0-9][a-z0-9-_. ]*$/.test(s)) throw valueError(`Bad ${what}: '${s}'`);
  return s;
}

export function forceHostId(v: unknown): string {
  const s = str(v).toLowerCase();
  const id = normalizeHostId(s);
  if (!id) throw valueError(`Bad fqdn: '${s}'`);
  return id;
}

export function forceProductId(v: unknown): string {
  const s = forceObjectId(v);
  if (!PRODUCT_ID.test(s)) throw valueError(`Bad product id: '${s}'`);
  return s;
}

export function forceGroupId(v: unknown): string {
  const s = forceObjectId(v);
  if (!GROUP_ID.test(s)) throw valueError(`Bad group id: '${s}'`);
  return s;
}

export function forceGroupType(v: unknown): string {
  const s = str(v).toLowerCase();
  if (s === 'hostgroup') return 'HostGroup';
  if (s === 'productgroup') return 'ProductGroup';
  throw valueError(`Unknown group type: '${str(v)}'`);
}

export function forceProductType(v: unknown): string {
  const s = str(v).toLowerCase();
  if (s === 'localboot' || s === 'localbootproduct') return 'LocalbootProduct';
  if (s === 'netboot' || s === 'netbootproduct') return 'NetbootProduct';
  throw valueError(`Unknown product type: '${str(v)}'`);
}

export function forceActionRequest(v: unknown): string | null {
  const s = str(v).toLowerCase();
  if (s === 'undefined') return null;
  if (s && !(ACTION_REQUESTS as readonly string[]).includes(s)) throw valueError(`Bad action request: '${s}'`);
  return s;
}

function forceInstallationStatus(v: unknown): string {
  const s = str(v).toLowerCase();
  if (s && !(INSTALLATION_STATUSES as readonly string[]).includes(s)) throw valueError(`Bad installation status: '${s}'`);
  return s;
}

function forceVersion(v: unknown, re: RegExp, what: string): string {
  const s = str(v);
  if (!re.test(s)) throw valueError(`Bad ${what}: '${s}'`);
  return s;
}

/** Attribute forcing per attribute name, as the classes' setters do. */
const FORCE: Record<string, (v: unknown) => unknown> = {
  productId: forceProductId,
  clientId: forceHostId,
  depotId: forceHostId,
  objectId: forceObjectId,
  groupId: forceGroupId,
  parentGroupId: forceGroupId,
  groupType: forceGroupType,
  productType: forceProductType,
  actionRequest: forceActionRequest,
  lastAction: forceActionRequest,
  installationStatus: forceInstallationStatus,
  productVersion: (v) => forceVersion(v, PRODUCT_VERSION, 'product version'),
  packageVersion: (v) => forceVersion(v, PACKAGE_VERSION, 'package version'),
  actionProgress: (v) => str(v).slice(0, 250),
};

/**
 * forceObjectClass for a dict: the class from its `type` (which must belong to
 * `base`, or be absent for a concrete base), attributes forced, unknown
 * attributes ignored (fromHash does), ident built. `setNull` (create/insert)
 * fills setDefaults(); without it (update) unset attributes stay null.
 */
export function toObject(base: string, value: unknown, setNull: boolean): OpsiObject {
  const shown = () => JSON.stringify(value)?.slice(0, 200);
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw valueError(`${shown()} is not a <class '${base}'>`);
  const v = value as Record<string, unknown>;
  const type = v.type === undefined ? base : str(v.type);
  const cls = CLASSES[type];
  if (!cls) throw valueError(v.type === undefined ? `${shown()} is not a <class '${base}'>: abstract class` : `Invalid object type: ${type}`);
  if (cls.base !== base) throw valueError(`${shown()} is not a <class '${base}'>`);
  const out: Record<string, unknown> = { type };
  for (const a of cls.attributes) {
    const raw = a === 'id' ? v.id : v[a];
    if (raw === undefined || raw === null) {
      out[a] = null;
      continue;
    }
    const force = a === 'id' ? (cls.base === 'Host' ? forceHostId : cls.base === 'Group' ? forceGroupId : forceProductId) : FORCE[a];
    out[a] = force ? force(raw) : raw;
  }
  for (const a of cls.ident) if (out[a] === null || out[a] === '') throw new RpcFault('TypeError', `${type}.__init__() missing 1 required positional argument: '${a}'`);
  if (setNull) for (const [k, d] of Object.entries(cls.defaults(out))) if (out[k] === null) out[k] = d;
  out.ident = cls.ident.map((a) => str(out[a])).join(';');
  return out as OpsiObject;
}

const projectors = new Map<string, (o: OpsiObject) => OpsiObject>();

/**
 * A copy with only `attributes` (plus ident attributes, type and ident) set,
 * the rest null, as opsiconfd serialises a partial select. Built once per class
 * and attribute list (a city-wide read projects 700 000 rows).
 */
export function projector(type: string, attributes: string[] | undefined): (o: OpsiObject) => OpsiObject {
  const key = `${type}\u0000${attributes?.join(',') ?? ''}`;
  let f = projectors.get(key);
  if (f) return f;
  const cls = CLASSES[type];
  const all = ['type', ...cls.attributes, 'ident'];
  const keep = attributes?.length ? new Set([...attributes, ...cls.ident, 'type', 'ident']) : new Set(all);
  f = (o) => {
    const out: Record<string, unknown> = {};
    for (const k of all) out[k] = keep.has(k) ? o[k] : null;
    return out as OpsiObject;
  };
  projectors.set(key, f);
  return f;
}
