/**
 * The configuration of a simulated OPNsense firewall, with OPNsense's
 * semantics for filter rules and aliases (research/opnsense.md; the field
 * lists and defaults of models/26.1.11/Filter.xml and Alias.xml):
 *
 * - staged vs applied: every add/set/del/toggle validates on its own and
 *   saves `config` at once (with a backup of the previous config, like
 *   Config::save); the running firewall (`running`) changes only on
 *   `apply` (rules) and `reconfigure` (aliases);
 * - `setRule`/`setItem` are upserts for a well-formed unknown uuid, a
 *   malformed one gives `{"result":"failed"}` (ApiMutableModelControllerBase::setBase);
 *   `delRule`/`delItem` take comma-separated uuids, `{"result":"not found"}`
 *   for unknown ones;
 * - validation failures are `{"result":"failed","validations":{"rule.<field>": ...}}`
 *   with OPNsense's messages (NetworkAliasField says "source" for the
 *   destination too, as the real one does);
 * - aliases: unique names ("An alias with this name already exists."),
 *   AliasNameField's name rules, renaming through setItem rewrites every
 *   reference, deleting a referenced alias is refused ("Alias in use");
 * - ≤ 26.1 only: `savepoint` (a backup whose revision is printed with two
 *   decimals while the backup file keeps four: the defect of core#10721 and
 *   plugins#2958), `apply/{revision}` arming a rollback timer that, unless
 *   `cancelRollback/{revision}` comes within the window (60 s on the real
 *   firewall, configurable here), copies the Filter rules — and only them —
 *   back from `config-<revision>.xml` and reloads; `revert/{revision}` does
 *   that at once. A revision without a backup file of exactly that name is
 *   "unknown (or removed) savepoint" and the timer does nothing.
 */
import { RULE_PROTOCOLS, WELL_KNOWN_PORTS, portRange, ALIAS_NAME, RESERVED_ALIAS_NAMES, ALIAS_TYPES } from '../vocabulary.js';
import { isIP } from 'node:net';
import { parseCidr } from '../../../../engine/net.js';

export type Fields = Record<string, string>;

/** Filter.xml rule fields in model order, with their defaults (sort_order and prio_group are computed). */
export const RULE_DEFAULTS: Readonly<Fields> = {
  enabled: '1', statetype: 'keep', 'state-policy': '', sequence: '1', sort_order: '', prio_group: '', action: 'pass', quick: '1', interfacenot: '0',
  interface: '', direction: 'in', ipprotocol: 'inet', protocol: 'any', icmptype: '', icmp6type: '', source_net: 'any', source_not: '0',
  source_port: '', destination_net: 'any', destination_not: '0', destination_port: '', 'divert-to': '', gateway: '', replyto: '',
  disablereplyto: '0', log: '0', allowopts: '0', nosync: '0', nopfsync: '0', statetimeout: '', 'udp-first': '', 'udp-multiple': '',
  'udp-single': '', 'max-src-nodes': '', 'max-src-states': '', 'max-src-conn': '', max: '', 'max-src-conn-rate': '',
  'max-src-conn-rates': '', overload: '', adaptivestart: '', adaptiveend: '', prio: '', 'set-prio': '', 'set-prio-low': '', tag: '',
  tagged: '', tcpflags1: '', tcpflags2: '', tcpflags_any: '0', categories: '', sched: '', tos: '', shaper1: '', shaper2: '', description: '',
};

/** Alias.xml fields (without the volatile statistics), with defaults. */
export const ALIAS_DEFAULTS: Readonly<Fields> = {
  enabled: '1', name: '', type: '', path_expression: '', proto: '', interface: '', counters: '0', updatefreq: '', content: '',
  password: '', username: '', authtype: '', expire: '', categories: '', description: '',
};

export type Firmware = '26.1' | '26.7';

export interface ModelOptions {
  firmware: Firmware;
  /** Interface keys the firewall has (InterfaceField refuses others). */
  interfaces: string[];
  /** How long the rollback timer waits for cancelRollback (the real firewall: 60 s). */
  rollbackWindowMs: number;
  /**
   * True: the savepoint revision is the backup file's name (the 1-in-100
   * case where microtime has two decimals). Default false: the defect.
   */
  revisionMatchesBackup?: boolean;
  /** Backups kept (System > Configuration > History: "backup count", default 60). */
  backupCount?: number;
}

export interface Backup {
  /** `config-<microtime>.xml` */
  id: string;
  /** The revision time recorded inside the backup (that of the config it preserves). */
  time: string;
  /** The Filter rules of the preserved config. */
  rules: Map<string, Fields>;
}

export type Outcome = Record<string, unknown>;

/** A UserException: HTTP 500 with errorMessage/errorTitle. */
export class UserException extends Error {
  constructor(
    message: string,
    readonly title: string,
  ) {
    super(message);
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const clone = (m: Map<string, Fields>) => new Map([...m].map(([k, v]) => [k, { ...v }]));

/** OPNsense's rule priority (FilterRuleField::getPriority): several or no interfaces = floating 200000, one interface 400000. */
export function rulePriority(r: Fields): number {
  return r.interface.split(',').filter(Boolean).length === 1 ? 400000 : 200000;
}

/** sort_order as FilterRuleField computes it: "%d.0%06d" of priority and sequence. */
export function sortOrder(r: Fields): string {
  return `${rulePriority(r)}.0${String(Number(r.sequence) || 0).padStart(6, '0')}`;
}

export class OpnsenseModel {
  /** Staged: config.xml. */
  readonly config = { rules: new Map<string, Fields>(), aliases: new Map<string, Fields>() };
  /** What the running firewall has loaded. */
  readonly running = { rules: new Map<string, Fields>(), aliases: new Map<string, Fields>() };
  readonly backups: Backup[] = [];
  /** revision/time of config.xml (two decimals). */
  revision: string;
  /** Lock files of armed rollback timers (revision argument -> timer). */
  readonly timers = new Map<string, NodeJS.Timeout>();
  /** syslog lines of the rollback scripts. */
  readonly syslog: string[] = [];
  private clockMs = Date.now();
  private tick = 0;

  constructor(readonly o: ModelOptions) {
    this.revision = (this.clockMs / 1000).toFixed(2);
  }

  get rollbackApi(): boolean {
    return this.o.firmware === '26.1';
  }

  // ------------------------------------------------------------ config saves

  /**
   * A microtime as PHP prints a float: four decimals, trailing zeros dropped.
   * The last decimal is never 0, so "%0.2f" of it never names the file (the
   * defect) — unless revisionMatchesBackup, where it has exactly two.
   */
  private microtime(): string {
    const lucky = this.o.revisionMatchesBackup === true;
    this.clockMs = Math.max(this.clockMs + (lucky ? 10 : 1), Date.now());
    const sec = Math.floor(this.clockMs / 1000);
    const milli = this.clockMs % 1000;
    if (lucky) {
      const c = Math.floor(milli / 10);
      return `${sec}.${String(c % 10 === 0 ? c + 1 : c).padStart(2, '0')}`;
    }
    return `${sec}.${String(milli * 10 + 1 + (this.tick++ % 9)).padStart(4, '0')}`;
  }

  /** Config::save: back up the current config as config-<microtime>.xml, then record the revision with two decimals. */
  save(): void {
    const t = this.microtime();
    this.backups.unshift({ id: `config-${t}.xml`, time: this.revision, rules: clone(this.config.rules) });
    this.backups.splice(this.o.backupCount ?? 60);
    this.revision = Number(t).toFixed(2);
  }

  /** Config::getBackupFilename($revision): the file of exactly that name, if it is still there. */
  backupOf(revision: string): Backup | undefined {
    const clean = revision.replace(/[^0-9.]/g, '');
    return this.backups.find((b) => b.id === `config-${clean}.xml`);
  }

  // ------------------------------------------------------------ rules

  private validateRule(r: Fields): Record<string, string | string[]> {
    const v: Record<string, string | string[]> = {};
    const add = (field: string, msg: string) => {
      const k = `rule.${field}`;
      const prev = v[k];
      v[k] = prev === undefined ? msg : Array.isArray(prev) ? [...prev, msg] : [prev, msg];
    };
    const option = (field: string, allowed: readonly string[]) => {
      if (!allowed.includes(r[field])) add(field, 'Option not in list.');
    };
    option('action', ['pass', 'block', 'reject']);
    option('direction', ['in', 'out', 'any']);
    option('ipprotocol', ['inet', 'inet6', 'inet46']);
    option('statetype', ['keep', 'sloppy', 'modulate', 'synproxy', 'none']);
    for (const b of ['enabled', 'quick', 'interfacenot', 'source_not', 'destination_not', 'log', 'disablereplyto', 'allowopts', 'nosync', 'nopfsync']) {
      if (r[b] !== '0' && r[b] !== '1') add(b, 'Value must be 0 or 1.');
    }
    if (!(RULE_PROTOCOLS as readonly string[]).includes(r.protocol)) add('protocol', 'Option not in list.');
    const seq = r.sequence;
    if (!/^\d+$/.test(seq) || Number(seq) < 1 || Number(seq) > 999999) add('sequence', 'Sequence shall be between 1 and 999999.');
    for (const i of r.interface.split(',').filter(Boolean)) if (!this.o.interfaces.includes(i)) add('interface', 'Option not in list.');
    for (const f of ['source_net', 'destination_net']) {
      const values = r[f].split(',');
      for (const value of values) if (!this.isNetworkOrAlias(value)) add(f, `${r[f]} is not a valid source IP address or alias.`);
      if (values.length > 1 && values.includes('any')) add(f, 'Any can not be combined with other aliases');
    }
    for (const f of ['source_port', 'destination_port']) {
      if (r[f] !== '' && !this.isPort(r[f])) add(f, 'Please specify a valid portnumber, name, alias or range.');
    }
    const portProtos = ['TCP', 'UDP', 'TCP/UDP'];
    if (r.source_port !== '' && !portProtos.includes(r.protocol)) add('source_port', 'Source ports are only valid for tcp or udp type rules.');
    if (r.destination_port !== '' && !portProtos.includes(r.protocol)) add('destination_port', 'Destination ports are only valid for tcp or udp type rules.');
    for (const [f, what] of [['destination_net', 'Destination'], ['source_net', 'Source']] as const) {
      const net = r[f];
      const isAddr = isIP(net) !== 0 || (net.includes('/') && parseCidr(net) !== null);
      const proto = net.includes(':') ? 'inet6' : 'inet';
      if (isAddr && proto !== r.ipprotocol) add(f, `${what} address type should match selected TCP/IP protocol version.`);
    }
    if (r.source_net.includes(',') && r.source_not === '1') add('source_not', 'Inverting sources is only allowed for single targets to avoid mis-interpretations');
    if (r.destination_net.includes(',') && r.destination_not === '1') add('destination_net', 'Inverting destinations is only allowed for single targets to avoid mis-interpretations');
    return v;
  }

  private aliasByName(name: string, where = this.config.aliases): Fields | undefined {
    for (const a of where.values()) if (a.name === name) return a;
    return undefined;
  }

  /** NetworkAliasField: any, (self), an address, a network, an alias that is not a port alias. */
  private isNetworkOrAlias(value: string): boolean {
    if (value === 'any' || value === '(self)') return true;
    if (isIP(value)) return true;
    if (value.includes('/')) return parseCidr(value) !== null && isIP(value.split('/')[0]) !== 0;
    const a = this.aliasByName(value);
    return !!a && a.type !== 'port';
  }

  /** PortField with well-known names, ranges and port aliases. */
  private isPort(value: string): boolean {
    if (value === 'any' || WELL_KNOWN_PORTS[value] !== undefined || portRange(value)) return true;
    return this.aliasByName(value)?.type === 'port';
  }

  /** Body fields onto a rule (BaseField setNodes: unknown keys are ignored, values are strings). */
  private merge(base: Fields, post: Record<string, unknown>, defaults: Readonly<Fields>): Fields {
    const out = { ...base };
    for (const [k, v] of Object.entries(post ?? {})) {
      if (!(k in defaults) || k === 'sort_order' || k === 'prio_group') continue;
      out[k] = Array.isArray(v) ? v.join(',') : v === null || v === undefined ? '' : String(v);
    }
    return out;
  }

  private withOrder(r: Fields): Fields {
    return { ...r, sort_order: sortOrder(r), prio_group: String(rulePriority(r)) };
  }

  addRule(post: Record<string, unknown>): Outcome {
    return this.upsertRule(randomUuid(), post);
  }

  setRule(uuid: string, post: Record<string, unknown>): Outcome {
    if (!this.config.rules.has(uuid) && !UUID.test(uuid)) return { result: 'failed' };
    return this.upsertRule(uuid, post, true);
  }

  private upsertRule(uuid: string, post: Record<string, unknown>, isSet = false): Outcome {
    const base = this.config.rules.get(uuid) ?? { ...RULE_DEFAULTS };
    const next = this.withOrder(this.merge(base, post, RULE_DEFAULTS));
    const validations = this.validateRule(next);
    if (Object.keys(validations).length) return { result: 'failed', validations };
    this.save();
    this.config.rules.set(uuid, next);
    return isSet ? { result: 'saved' } : { result: 'saved', uuid };
  }

  delRule(uuids: string): Outcome {
    let found = false;
    const list = uuids.split(',');
    for (const u of list) if (this.config.rules.has(u)) found = true;
    if (!found) return { result: 'not found' };
    this.save();
    for (const u of list) this.config.rules.delete(u);
    return { result: 'deleted' };
  }

  toggleRule(uuid: string, enabled?: string): Outcome {
    const r = this.config.rules.get(uuid);
    if (!r) return { result: 'failed' };
    if (enabled !== undefined && enabled !== '0' && enabled !== '1') return { result: 'failed', changed: false };
    const want = enabled ?? (r.enabled === '1' ? '0' : '1');
    const changed = r.enabled !== want;
    if (changed) {
      this.save();
      this.config.rules.set(uuid, { ...r, enabled: want });
    }
    return { result: want === '1' ? 'Enabled' : 'Disabled', changed };
  }

  /** `filter reload`: the running rules become the configured ones. */
  reloadFilter(): void {
    this.running.rules.clear();
    for (const [k, v] of this.config.rules) this.running.rules.set(k, { ...v });
  }

  /** POST apply[/revision]: arms the rollback timer (≤ 26.1, with a revision), then reloads. */
  apply(revision?: string): Outcome {
    if (revision !== undefined && this.rollbackApi) this.armTimer(revision);
    this.reloadFilter();
    return { status: 'OK\n\n' };
  }

  savepoint(): Outcome {
    this.save();
    return { status: 'ok', retention: String(this.o.backupCount ?? 60), revision: this.revision };
  }

  /** rollback_timer.php: lock file, wait for the API to call back, else revert the Filter rules. Single instance. */
  private armTimer(revision: string): void {
    const clean = revision.replace(/[^0-9.]/g, '');
    if (!clean || this.timers.size > 0) return;
    const t = setTimeout(() => {
      this.timers.delete(clean);
      if (!this.rollback(clean)) this.syslog.push(`unable to revert to unexisting revision : ${clean}`);
    }, this.o.rollbackWindowMs);
    t.unref?.();
    this.timers.set(clean, t);
  }

  /** rollback_cancel.php: removes the lock file. */
  cancelRollback(revision: string): Outcome {
    const clean = revision.replace(/[^0-9.]/g, '');
    const t = this.timers.get(clean);
    if (t) clearTimeout(t);
    this.timers.delete(clean);
    return { status: '\n\n' };
  }

  /** Filter::rollback: the Filter rules of config-<revision>.xml back into config.xml, saved and reloaded. */
  private rollback(revision: string): boolean {
    const b = this.backupOf(revision);
    if (!b) return false;
    this.save();
    this.config.rules.clear();
    for (const [k, v] of b.rules) this.config.rules.set(k, { ...v });
    this.reloadFilter();
    return true;
  }

  revert(revision: string): Outcome {
    return this.rollback(revision) ? { status: 'ok' } : { status: 'unknown (or removed) savepoint' };
  }

  // ------------------------------------------------------------ aliases

  private validateAlias(uuid: string, a: Fields): Record<string, string | string[]> {
    const v: Record<string, string | string[]> = {};
    const add = (field: string, msg: string) => {
      v[`alias.${field}`] = msg;
    };
    if (a.name === '') add('name', 'alias name required');
    else if (RESERVED_ALIAS_NAMES.has(a.name)) add('name', `The name cannot be the internally reserved keyword "${a.name}".`);
    else if (!ALIAS_NAME.test(a.name)) add('name', 'The name must start with a letter or single underscore, be less than 32 characters and only consist of alphanumeric characters or underscores.');
    else if (WELL_KNOWN_PORTS[a.name] !== undefined || (RULE_PROTOCOLS as readonly string[]).some((p) => p.toLowerCase() === a.name.toLowerCase())) add('name', 'Reserved protocol or service names may not be used');
    else if ([...this.config.aliases].some(([u, x]) => u !== uuid && x.name === a.name)) add('name', 'An alias with this name already exists.');
    if (!(ALIAS_TYPES as readonly string[]).includes(a.type)) add('type', 'Option not in list.');
    const bad = a.content.split('\n').filter((e) => e !== '' && !this.validAliasEntry(a.type, e, a.name));
    if (bad.length) add('content', `Entry "${bad.join('|')}" is not a valid ${a.type === 'port' ? 'port number' : 'alias'}.`);
    return v;
  }

  private validAliasEntry(type: string, e: string, self: string): boolean {
    const alias = e !== self ? this.aliasByName(e) : undefined;
    switch (type) {
      case 'port':
        return portRange(e) !== null || WELL_KNOWN_PORTS[e] !== undefined || alias?.type === 'port';
      case 'network':
        return (e.includes('/') && parseCidr(e) !== null && isIP(e.split('/')[0]) !== 0) || isIP(e) !== 0 || (!!alias && alias.type !== 'port');
      case 'host':
        return isIP(e) !== 0 || /^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/.test(e) || (!!alias && alias.type !== 'port');
      case 'networkgroup':
        return !!alias && ['network', 'host', 'networkgroup', 'internal'].includes(alias.type);
      case 'geoip':
        return /^[A-Z]{2}$/.test(e);
      case 'mac':
        return /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){2,5}$/.test(e);
      case 'asn':
        return /^\d{1,10}$/.test(e);
      case 'url':
      case 'urltable':
      case 'urljson':
        return /^https?:\/\/\S+$/.test(e);
      default:
        return true;
    }
  }

  addAlias(post: Record<string, unknown>): Outcome {
    return this.upsertAlias(randomUuid(), post);
  }

  /** setItem: an upsert like setRule; a new name rewrites every reference to the old one (Alias::refactor). */
  setAlias(uuid: string, post: Record<string, unknown>): Outcome {
    const old = this.config.aliases.get(uuid);
    if (!old && !UUID.test(uuid)) return { result: 'failed' };
    const out = this.upsertAlias(uuid, post, true);
    const renamed = old && out.result === 'saved' && this.config.aliases.get(uuid)!.name !== old.name;
    if (renamed) this.refactor(old.name, this.config.aliases.get(uuid)!.name);
    return out;
  }

  private upsertAlias(uuid: string, post: Record<string, unknown>, isSet = false): Outcome {
    const base = this.config.aliases.get(uuid) ?? { ...ALIAS_DEFAULTS };
    const next = this.merge(base, post, ALIAS_DEFAULTS);
    const validations = this.validateAlias(uuid, next);
    if (Object.keys(validations).length) return { result: 'failed', validations };
    this.save();
    this.config.aliases.set(uuid, next);
    return isSet ? { result: 'saved' } : { result: 'saved', uuid };
  }

  private refactor(from: string, to: string): void {
    const swap = (list: string, sep: string) => list.split(sep).map((x) => (x === from ? to : x)).join(sep);
    for (const [k, r] of this.config.rules) {
      this.config.rules.set(k, { ...r, source_net: swap(r.source_net, ','), destination_net: swap(r.destination_net, ','), source_port: swap(r.source_port, ','), destination_port: swap(r.destination_port, ',') });
    }
    for (const [k, a] of this.config.aliases) this.config.aliases.set(k, { ...a, content: swap(a.content, '\n') });
  }

  /** Alias::whereUsed: rules and aliases that name it. */
  private whereUsed(name: string): string[] {
    const uses: string[] = [];
    for (const [k, r] of this.config.rules) {
      if ([r.source_net, r.destination_net, r.source_port, r.destination_port].some((f) => f.split(',').includes(name))) uses.push(`[${k}] ${r.description || 'filter rule'}`);
    }
    for (const a of this.config.aliases.values()) if (a.content.split('\n').includes(name)) uses.push(`[${a.name}] alias`);
    return uses;
  }

  delAlias(uuids: string): Outcome {
    for (const u of uuids.split(',')) {
      const a = this.config.aliases.get(u);
      if (!a) continue;
      const uses = this.whereUsed(a.name);
      if (uses.length) throw new UserException(`Cannot delete alias. Currently in use by ${uses.map((x) => `\n${x}`).join('')}`, 'Alias in use');
    }
    let found = false;
    for (const u of uuids.split(',')) if (this.config.aliases.has(u)) found = true;
    if (!found) return { result: 'not found' };
    this.save();
    for (const u of uuids.split(',')) this.config.aliases.delete(u);
    return { result: 'deleted' };
  }

  aliasUuid(name: string): Outcome | [] {
    for (const [k, a] of this.config.aliases) if (a.name === name) return { uuid: k };
    return [];
  }

  /** POST alias/reconfigure: the running alias tables become the configured ones. */
  reconfigure(): Outcome {
    this.running.aliases.clear();
    for (const [k, v] of this.config.aliases) this.running.aliases.set(k, { ...v });
    return { status: 'ok' };
  }

  /** Stops the timers (simulator shutdown). */
  stop(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}

export function randomUuid(): string {
  return globalThis.crypto.randomUUID();
}
