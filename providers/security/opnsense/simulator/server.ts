/**
 * A simulated OPNsense firewall speaking its REST API over HTTPS (the kit's
 * simulator base: 127.0.0.1, the target's lab certificate), for the lab and
 * the tests. What it reproduces (research/opnsense.md, "What a faithful
 * simulator must reproduce"):
 *
 * - HTTP Basic with key:secret; 401 `{"status":401,"message":"Authentication Failed"}`,
 *   403 `{"status":403,"message":"Forbidden"}` for paths outside the key's
 *   ACL (`forbidden`); 400 `{"status":400,"message":"Invalid JSON syntax"}`
 *   for an empty or broken JSON body sent as application/json;
 * - `/api/<module>/<controller>/<command>/<params…>` with snake_case and
 *   camelCase command names (OPNsense's Router camelizes; PHP method names
 *   are case-insensitive); unknown endpoints 404 `{"errorMessage":"Endpoint not found"}`;
 *   a UserException is HTTP 500 `{"errorMessage","errorTitle"}` (26.7 adds `errorLevel`);
 * - mutating commands answer `{"result":"failed"}` (models) or
 *   `{"status":"error"}` (filter apply/savepoint/...) to anything but POST;
 * - the model's semantics (simulator/model.ts): staged vs applied, upserts,
 *   alias rename and delete refusal, savepoint with the automatic rollback
 *   and its revision-precision defect;
 * - a firmware switch: "26.1" offers savepoint/cancelRollback/revert,
 *   "26.7" answers them 404 and ignores a revision on apply;
 * - what is applied, not only staged: GET /api/diagnostics/firewall/list_rule_ids
 *   lists the running rules' labels and descriptions in pf's order
 *   (`{"items":[{"id","descr"}]}`, Diagnostics\Api\FirewallController::listRuleIdsAction);
 * - a packet filter in front (simulator/management.ts): after an apply that
 *   cuts the management path, new connections are dropped (block) or reset
 *   (reject); open ones keep working.
 */
import { Router } from '../../../kit/sim/router.js';
import { startHttpsSim, type RunningHttpsSim } from '../../../kit/sim/https-sim.js';
import { jsonResponse, type SimRequest, type SimResponse } from '../../../kit/sim/types.js';
import { managementVerdict, type ManagementPath } from './management.js';
import { OpnsenseModel, RULE_DEFAULTS, UserException, randomUuid, sortOrder, type Fields, type Firmware } from './model.js';
import { aliasRow, aliasView, automaticRuleRows, firmwareStatus, page, ruleRow, ruleView } from './views.js';

export interface OpnsenseSimOptions {
  /** Seed of the lab certificate: the target's address. */
  certSeed: string;
  port?: number;
  apiKey: string;
  apiSecret: string;
  /** "26.1" (default): savepoint and rollback; "26.7": without. */
  firmware?: Firmware;
  /** Interface keys the firewall has (default lan, wan, opt1). */
  interfaces?: string[];
  /** The rollback window (default 60 s, as OPNsense's rollback_timer.php). */
  rollbackWindowMs?: number;
  /** The savepoint revision names its backup file (default false: the core#10721 defect). */
  revisionMatchesBackup?: boolean;
  /** How einklang reaches the firewall (default: over WAN from 192.0.2.10 to 192.0.2.1:443). */
  management?: Partial<ManagementPath>;
  /** Path prefixes the API key's ACL does not allow (403). */
  forbidden?: string[];
  /** The pre-existing rule that lets the management station in (default true). */
  managementRule?: boolean;
}

export interface RunningOpnsenseSim {
  sim: RunningHttpsSim;
  model: OpnsenseModel;
  management: ManagementPath;
  /** The uuid of the pre-existing management rule. */
  managementRuleUuid?: string;
  stop(): Promise<void>;
}

const DEFAULT_MANAGEMENT: ManagementPath = { iface: 'wan', source: '192.0.2.10', self: '192.0.2.1', ifaceNetwork: '192.0.2.0/24', port: 443 };

/** Mutating commands, by controller (their non-POST answer differs). */
const MODEL_WRITES = new Set(['addrule', 'setrule', 'delrule', 'togglerule', 'additem', 'setitem', 'delitem', 'toggleitem']);
const FILTER_ACTIONS = new Set(['apply', 'savepoint', 'cancelrollback', 'revert']);
const ROLLBACK_COMMANDS = new Set(['savepoint', 'cancelrollback', 'revert']);

/** OPNsense's Router: snake_case segments to CamelCase class names. */
const controllerName = (s: string) => s.split('_').map((p) => (p ? p[0].toUpperCase() + p.slice(1) : p)).join('');
/** Action names: camelized, then matched case-insensitively (PHP). */
const commandName = (s: string) => s.replace(/_/g, '').toLowerCase();

const notFound = () => jsonResponse(404, { errorMessage: 'Endpoint not found' });

export async function startOpnsenseSim(o: OpnsenseSimOptions): Promise<RunningOpnsenseSim> {
  const firmware = o.firmware ?? '26.1';
  const model = new OpnsenseModel({
    firmware,
    interfaces: o.interfaces ?? ['lan', 'wan', 'opt1'],
    rollbackWindowMs: o.rollbackWindowMs ?? 60_000,
    revisionMatchesBackup: o.revisionMatchesBackup,
  });
  const mgmt: ManagementPath = { ...DEFAULT_MANAGEMENT, ...o.management };
  seedSystemAliases(model);
  let managementRuleUuid: string | undefined;
  if (o.managementRule !== false) {
    managementRuleUuid = randomUuid();
    const r: Fields = { ...RULE_DEFAULTS, interface: mgmt.iface, protocol: 'TCP', source_net: mgmt.ifaceNetwork, destination_net: '(self)', destination_port: 'https', sequence: '1000', description: 'Management access (web GUI and API)' };
    model.config.rules.set(managementRuleUuid, r);
    model.reloadFilter();
  }

  const userException = (e: UserException) =>
    jsonResponse(500, { errorMessage: e.message, errorTitle: e.title, ...(firmware === '26.7' ? { errorLevel: 'error' } : {}) });

  function params(req: SimRequest): Record<string, any> {
    const q: Record<string, any> = Object.fromEntries(req.query);
    const sort: Record<string, string> = {};
    for (const [k, v] of req.query) {
      const m = /^sort\[(.+)\]$/.exec(k);
      if (m) sort[m[1]] = v;
    }
    const body = req.method === 'POST' && req.body.length && /json/i.test(String(req.headers['content-type'] ?? '')) ? req.json() : {};
    return { ...q, ...(body && typeof body === 'object' ? body : {}), sort: { ...sort, ...(body?.sort ?? {}) } };
  }

  function post(req: SimRequest, key: string): Record<string, unknown> | undefined {
    const b = req.body.length ? req.json() : undefined;
    return b && typeof b === 'object' && b[key] && typeof b[key] === 'object' ? b[key] : undefined;
  }

  function filter(req: SimRequest, cmd: string, args: string[]): SimResponse {
    const isPost = req.method === 'POST';
    if (ROLLBACK_COMMANDS.has(cmd) && !model.rollbackApi) return notFound();
    if (MODEL_WRITES.has(cmd)) {
      req.markWrite();
      if (!isPost) return jsonResponse(200, { result: 'failed' });
    }
    if (FILTER_ACTIONS.has(cmd)) {
      req.markWrite();
      if (!isPost) return jsonResponse(200, { status: 'error' });
    }
    switch (cmd) {
      case 'searchrule': {
        const ordered = [...model.config.rules].sort(([, a], [, b]) => sortOrder(a).localeCompare(sortOrder(b)));
        const rows: Record<string, unknown>[] = ordered.map(([u, r]) => ruleRow(model, u, r));
        if (firmware === '26.7') rows.unshift(...automaticRuleRows());
        const p = page(rows, params(req));
        return jsonResponse(200, { total: p.total, rowCount: p.rowCount, current: p.current, rows: p.rows });
      }
      case 'getrule': {
        if (args[0] === undefined) {
          const max = Math.max(0, ...[...model.config.rules.values()].map((r) => Number(r.sequence)));
          return jsonResponse(200, { rule: ruleView({ ...RULE_DEFAULTS, sequence: String(max + 100) }, model.o.interfaces) });
        }
        const r = model.config.rules.get(args[0]);
        return jsonResponse(200, r ? { rule: ruleView(r, model.o.interfaces) } : []);
      }
      case 'addrule': {
        const p = post(req, 'rule');
        return jsonResponse(200, p ? model.addRule(p) : { result: 'failed' });
      }
      case 'setrule': {
        const p = post(req, 'rule');
        return jsonResponse(200, p && args[0] ? model.setRule(args[0], p) : { result: 'failed' });
      }
      case 'delrule':
        return jsonResponse(200, args[0] ? model.delRule(args[0]) : { result: 'failed' });
      case 'togglerule':
        return jsonResponse(200, args[0] ? model.toggleRule(args[0], args[1]) : { result: 'failed' });
      case 'apply':
        // 26.7: applyAction() takes no argument, a trailing revision is ignored
        return jsonResponse(200, model.apply(model.rollbackApi ? args[0] : undefined));
      case 'savepoint':
        return jsonResponse(200, model.savepoint());
      case 'cancelrollback':
        return jsonResponse(200, model.cancelRollback(args[0] ?? ''));
      case 'revert':
        return jsonResponse(200, model.revert(args[0] ?? ''));
      default:
        return notFound();
    }
  }

  function alias(req: SimRequest, cmd: string, args: string[]): SimResponse {
    if (MODEL_WRITES.has(cmd) || cmd === 'reconfigure') {
      req.markWrite();
      if (req.method !== 'POST') return jsonResponse(200, cmd === 'reconfigure' ? { status: 'failed' } : { result: 'failed' });
    }
    switch (cmd) {
      case 'searchitem': {
        const rows = [...model.config.aliases].map(([u, a]) => aliasRow(u, a)).sort((a, b) => String(a.name).localeCompare(String(b.name)));
        const p = page(rows, params(req));
        return jsonResponse(200, { rows: p.rows, rowCount: p.rowCount, total: p.total, current: p.current });
      }
      case 'getitem': {
        if (args[0] === undefined) return jsonResponse(200, { alias: aliasView({ enabled: '1', name: '', type: '', path_expression: '', proto: '', interface: '', counters: '0', updatefreq: '', content: '', password: '', username: '', authtype: '', expire: '', categories: '', description: '' }, model) });
        const a = model.config.aliases.get(args[0]);
        return jsonResponse(200, a ? { alias: aliasView(a, model) } : []);
      }
      case 'getaliasuuid':
        return jsonResponse(200, model.aliasUuid(args[0] ?? ''));
      case 'additem': {
        const p = post(req, 'alias');
        return jsonResponse(200, p ? model.addAlias(p) : { result: 'failed' });
      }
      case 'setitem': {
        const p = post(req, 'alias');
        return jsonResponse(200, p && args[0] ? model.setAlias(args[0], p) : { result: 'failed' });
      }
      case 'delitem':
        return jsonResponse(200, args[0] ? model.delAlias(args[0]) : { result: 'failed' });
      case 'reconfigure':
        return jsonResponse(200, model.reconfigure());
      case 'export': {
        if (req.method !== 'GET') throw new UserException('Unsupported request type', 'Error');
        const alias = Object.fromEntries([...model.config.aliases].map(([u, a]) => [u, { ...a, uuid: u }]));
        return jsonResponse(200, { aliases: { alias } });
      }
      default:
        return notFound();
    }
  }

  function route(req: SimRequest): SimResponse {
    const segs = req.params.path.split('/').filter(Boolean);
    if (segs.length < 3) return notFound();
    const [module, controller, command, ...args] = segs;
    if ((o.forbidden ?? []).some((p) => req.path.startsWith(p))) return jsonResponse(403, { status: 403, message: 'Forbidden' });
    if (/json/i.test(String(req.headers['content-type'] ?? ''))) {
      try {
        JSON.parse(req.body.toString('utf8'));
      } catch {
        return jsonResponse(400, { status: 400, message: 'Invalid JSON syntax' });
      }
    }
    const where = `${module}/${controllerName(controller)}`;
    const cmd = commandName(command);
    try {
      if (where === 'firewall/Filter') return filter(req, cmd, args);
      if (where === 'firewall/Alias') return alias(req, cmd, args);
      if (where === 'firewall/AliasUtil' && cmd === 'list') {
        const a = [...model.running.aliases.values()].find((x) => x.name === args[0]);
        const rows = (a?.content.split('\n').filter(Boolean) ?? []).map((ip) => ({ ip }));
        return jsonResponse(200, { total: rows.length, rowCount: -1, current: 1, rows });
      }
      if (where === 'core/Firmware' && cmd === 'status') return jsonResponse(200, firmwareStatus(firmware));
      if (where === 'diagnostics/Firewall' && cmd === 'listruleids') {
        // Diagnostics\Api\FirewallController::listRuleIdsAction: `filter list rule_ids` of the RUNNING ruleset, in pf's order
        if (req.method !== 'GET') return jsonResponse(200, { items: [] });
        return jsonResponse(200, { items: runningRuleIds(model) });
      }
      if (where === 'core/Backup' && cmd === 'backups') {
        if (args[0] !== 'this') return jsonResponse(200, { items: [] });
        const items = model.backups.map((b) => ({ time: b.time, time_iso: new Date(Number(b.time) * 1000).toISOString(), description: '/api/firewall/filter/savepoint made changes', username: 'root@127.0.0.1', filesize: 40000, id: b.id }));
        return jsonResponse(200, { items });
      }
      return notFound();
    } catch (e) {
      if (e instanceof UserException) return userException(e);
      throw e; // HttpError (a broken body) and simulator bugs: the simulator base answers them
    }
  }

  const router = new Router();
  for (const m of ['GET', 'POST', 'PUT', 'DELETE']) router.on(m, '/api/*path', route, { write: false });
  const sim = await startHttpsSim({
    certSeed: o.certSeed,
    port: o.port,
    router,
    gate: (req) => {
      const a = req.auth;
      if (a?.scheme !== 'basic' || a.user !== o.apiKey || a.password !== o.apiSecret) return jsonResponse(401, { status: 401, message: 'Authentication Failed' });
      return undefined;
    },
    notFound,
    admit: () => {
      const v = managementVerdict(model.running.rules.values(), model.running.aliases.values(), mgmt);
      return v === 'pass' ? 'accept' : v === 'reject' ? 'reset' : 'drop';
    },
  });
  return {
    sim,
    model,
    management: mgmt,
    managementRuleUuid,
    stop: async () => {
      model.stop();
      await sim.stop();
    },
  };
}

/** The labels pf has loaded: the automatic rules' hashes, then the enabled MVC rules by uuid in evaluation order. */
function runningRuleIds(model: OpnsenseModel): { id: string; descr: string }[] {
  const mvc = [...model.running.rules].filter(([, r]) => r.enabled === '1').sort(([, a], [, b]) => sortOrder(a).localeCompare(sortOrder(b)));
  return [{ id: '02f4bab031b57d1e30553ce08e0ec131', descr: 'Default deny / state violation rule' }, ...mvc.map(([id, r]) => ({ id, descr: r.description }))];
}

/** The aliases every OPNsense has (alias_export.json, 26.7 fw-alias__search.json): ids are their names. */
function seedSystemAliases(model: OpnsenseModel): void {
  const sys = (name: string, type: string, description: string, expire = '') => ({ enabled: '1', name, type, path_expression: '', proto: '', interface: '', counters: '', updatefreq: '', content: '', password: '', username: '', authtype: '', expire, categories: '', description });
  for (const a of [
    sys('bogons', 'external', 'bogon networks (internal)'),
    sys('bogonsv6', 'external', 'bogon networks IPv6 (internal)'),
    sys('sshlockout', 'external', 'abuse lockout table (internal)', '3600'),
    sys('virusprot', 'external', 'overload table for rate limiting (internal)', '3600'),
    ...model.o.interfaces.map((i) => sys(`__${i}_network`, 'internal', `${i} net`)),
  ]) {
    model.config.aliases.set(a.name, a);
  }
  model.reconfigure();
}
